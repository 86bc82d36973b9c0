"""The batched positive LARS-lasso path against scikit-learn's lars_path and scipy's nnls."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy.optimize import nnls
from sklearn.linear_model import lars_path

from dfecs_app.core._lars import lars_path_gram, path_curves_gram

N_FEATURES = 136


def _problem(rng: np.random.Generator, q: int, kind: str) -> tuple[np.ndarray, np.ndarray]:
    """A random AU matrix U (136, q) (AUs as columns) and a sample y."""
    if kind == "gaussian":
        U = rng.standard_normal((N_FEATURES, q))
    elif kind == "sparse_nonneg":  # part-localised, non-negative-ish AUs like DFECS/FACS ones
        U = np.abs(rng.standard_normal((N_FEATURES, q))) * (rng.random((N_FEATURES, q)) < 0.25)
        U += 0.02 * rng.standard_normal((N_FEATURES, q))
    elif kind == "pca":  # [U, -U] with orthonormal U: exactly opposite columns
        Q, _ = np.linalg.qr(rng.standard_normal((N_FEATURES, q // 2)))
        U = np.hstack([Q, -Q])
    elif kind == "pm_gaussian":  # [U, -U] with a general U
        U0 = rng.standard_normal((N_FEATURES, q // 2))
        U = np.hstack([U0, -U0])
    else:  # pragma: no cover
        raise ValueError(kind)
    code = np.maximum(rng.standard_normal(q) - 0.3, 0.0)
    y = U @ code * 0.5 + 0.5 * rng.standard_normal(N_FEATURES)
    return U, y


def _sklearn_path(U: np.ndarray, y: np.ndarray):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning on degenerate problems
        alphas, _, coefs = lars_path(U, y, method="lasso", positive=True)
    return alphas, coefs.T


CASES = [(q, kind) for q in (16, 32, 113) for kind in ("gaussian", "sparse_nonneg")] + [
    (16, "pca"), (32, "pca"), (112, "pca"), (32, "pm_gaussian"), (16, "pm_gaussian")]


@pytest.mark.parametrize(("q", "kind"), CASES)
def test_breakpoints_match_sklearn_and_final_point_is_nnls(q: int, kind: str) -> None:
    rng = np.random.default_rng(1000 * q + len(kind))
    n_problems = 30
    for _ in range(n_problems):
        U, y = _problem(rng, q, kind)
        alphas, sk = _sklearn_path(U, y)
        p = lars_path_gram(U.T @ U, U.T @ y, float(y @ y))
        assert (p.coefs >= 0).all()
        assert (np.diff(p.corr) <= 0).all() and (np.diff(p.l1) > 0).all()
        # every scikit-learn breakpoint with alpha > 0 (its last point, interpolated back once
        # no correlation is positive, is not a breakpoint) equals ours
        pts = np.flatnonzero(alphas > 0)
        assert len(p.coefs) >= len(pts)
        for i in pts:
            scale = max(np.abs(sk[i]).max(), 1e-300)
            assert np.abs(p.coefs[i] - sk[i]).max() <= 1e-8 * scale if i else not p.coefs[0].any()
            assert p.corr[i] == pytest.approx(alphas[i] * N_FEATURES, rel=1e-8)
        # RSS recorded along the path is the true RSS
        for b in range(len(p.coefs)):
            r = y - U @ p.coefs[b]
            assert p.rss[b] == pytest.approx(r @ r, rel=1e-9, abs=1e-9 * (y @ y))
        # the final point is the NNLS solution; scikit-learn's last point is never better
        x, rnorm = nnls(U, y)
        r = y - U @ p.final_coef
        assert p.final_rss == pytest.approx(r @ r, rel=1e-9, abs=1e-12 * (y @ y))
        assert p.final_rss <= rnorm**2 * (1 + 1e-8) + 1e-12 * (y @ y)
        sk_last = y - U @ sk[-1]
        assert p.final_rss <= (sk_last @ sk_last) * (1 + 1e-8)
        if kind == "pca":  # unique NNLS solution: coefficients equal too
            np.testing.assert_allclose(p.final_coef, x, rtol=1e-8, atol=1e-10 * np.abs(x).max())


def _kkt_violation(U: np.ndarray, y: np.ndarray, beta: np.ndarray, C: float) -> float:
    """How far ``beta`` is from solving the positive lasso at correlation level ``C``."""
    r = U.T @ (y - U @ beta)
    act = beta > 0
    worst = np.abs(r[act] - C).max() if act.any() else 0.0
    if (~act).any():
        worst = max(worst, r[~act].max() - C)
    return worst / np.abs(U.T @ y).max()


def _at_corr(p, C: float) -> np.ndarray:
    """Our path's coefficients where the active correlation is ``C`` (linear in between)."""
    b = int(np.flatnonzero(p.corr <= C * (1 + 1e-12))[0])
    if b == 0 or p.corr[b] == C:
        return p.coefs[b]
    s = (p.corr[b - 1] - C) / (p.corr[b - 1] - p.corr[b])
    return p.coefs[b - 1] + s * (p.coefs[b] - p.coefs[b - 1])


@pytest.mark.parametrize("q", [16, 32, 113])
def test_degenerate_columns_give_a_valid_lasso_path(q: int) -> None:
    """Duplicates, positive and mixed combinations of other columns: every breakpoint satisfies
    the positive-lasso optimality conditions (so its fit is *the* lasso fit); where
    scikit-learn's own points are optimal, the fits agree; the end point is the NNLS fit."""
    rng = np.random.default_rng(q)
    compared = 0
    for t in range(40):
        U = rng.standard_normal((N_FEATURES, q))
        U[:, q - 1] = U[:, 0]                      # exact duplicate
        U[:, q - 2] = U[:, 1] + U[:, 2]            # positive combination
        if t % 2:
            U[:, q - 3] = 0.5 * (U[:, 3] + U[:, 4])  # convex combination
        if t % 3 == 0:
            U[:, q - 4] = U[:, 5] - U[:, 6]        # mixed-sign combination
        y = U @ np.maximum(rng.standard_normal(q), 0) * 0.5 + 0.5 * rng.standard_normal(N_FEATURES)
        p = lars_path_gram(U.T @ U, U.T @ y, float(y @ y))
        assert (p.coefs >= 0).all()
        for b in range(len(p.coefs)):
            assert _kkt_violation(U, y, p.coefs[b], p.corr[b]) < 1e-9
        alphas, sk = _sklearn_path(U, y)
        for i in np.flatnonzero(alphas > 0):
            C = alphas[i] * N_FEATURES
            if C < 1e-9 * alphas[0] * N_FEATURES:
                continue  # numerically the end point: checked against nnls below
            if _kkt_violation(U, y, sk[i], C) > 1e-9:
                continue  # scikit-learn's 'drop for good' left the lasso path here
            fit, fit_sk = U @ _at_corr(p, C), U @ sk[i]
            assert np.linalg.norm(fit - fit_sk) <= 1e-8 * max(np.linalg.norm(fit_sk), 1e-300)
            compared += 1
        _, rnorm = nnls(U, y)
        assert p.final_rss <= rnorm**2 * (1 + 1e-8) + 1e-12 * (y @ y)
    assert compared > 100


def test_zero_columns_and_no_positive_correlation() -> None:
    rng = np.random.default_rng(5)
    U = rng.standard_normal((N_FEATURES, 8))
    U[:, 3] = 0.0  # an AU living only on keypoints this sample is missing
    y = U[:, [0, 5]] @ np.array([1.0, 2.0])
    p = lars_path_gram(U.T @ U, U.T @ y, float(y @ y))
    assert p.final_coef[3] == 0.0
    np.testing.assert_allclose(p.final_coef, [1, 0, 0, 0, 0, 2, 0, 0], atol=1e-10)
    assert p.final_rss == pytest.approx(0.0, abs=1e-9)
    # every correlation negative: the path is the single point 0
    p = lars_path_gram(U.T @ U, -np.abs(U.T @ y) - 1.0, float(y @ y))
    assert len(p.coefs) == 1 and not p.final_coef.any() and p.final_rss == y @ y


def test_batched_kernel_reduces_each_path_exactly() -> None:
    """rss_k / rss_l1 / rss at λ of the batched kernel against the single-sample path."""
    rng = np.random.default_rng(7)
    q, n = 12, 60
    U = np.abs(rng.standard_normal((N_FEATURES, q))) * (rng.random((N_FEATURES, q)) < 0.3)
    Y = (np.maximum(rng.standard_normal((n, q)) - 0.5, 0) @ U.T) + 0.3 * rng.standard_normal((n, N_FEATURES))
    G = U.T @ U
    grid = np.concatenate([[0.0], np.logspace(-1, 1.5, 25)])
    lam = 1.5
    out = path_curves_gram(G[None], np.zeros(n, dtype=np.int64), Y @ U,
                           np.einsum("ij,ij->i", Y, Y), q, grid, lam)
    for i in range(n):
        y = Y[i]
        p = lars_path_gram(G, U.T @ y, float(y @ y))
        for k in range(q + 1):
            cand = [p.rss[b] for b in range(len(p.rss)) if p.nnz[b] <= k]
            if (p.final_coef > 0).sum() <= k:
                cand.append(p.final_rss)
            assert out["rss_k"][i, k] == pytest.approx(min(cand), rel=1e-12)
        for t, rss in zip(grid, out["rss_l1"][i]):
            if t >= p.l1[-1]:
                beta = p.final_coef
            else:
                b = np.searchsorted(p.l1, t, side="right") - 1
                s = (t - p.l1[b]) / (p.l1[b + 1] - p.l1[b])
                beta = p.coefs[b] + s * (p.coefs[b + 1] - p.coefs[b])
                assert beta.sum() == pytest.approx(t, rel=1e-10)
            r = y - U @ beta
            assert rss == pytest.approx(r @ r, rel=1e-9, abs=1e-9 * (y @ y))
        # λ: the point where the active correlation equals λ
        b = np.flatnonzero(p.corr <= lam)[0]
        if b == 0:
            beta = np.zeros(q)
        else:
            s = (p.corr[b - 1] - lam) / (p.corr[b - 1] - p.corr[b])
            beta = p.coefs[b - 1] + s * (p.coefs[b] - p.coefs[b - 1])
            r = U.T @ (y - U @ beta)
            assert r.max() == pytest.approx(lam, rel=1e-9)
        r = y - U @ beta
        assert out["rss_lam"][i] == pytest.approx(r @ r, rel=1e-9, abs=1e-9 * (y @ y))
        assert out["rss_final"][i] == pytest.approx(p.final_rss, rel=1e-12)
