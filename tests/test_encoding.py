"""Positive-lasso encoding (eq. 3-4) against scipy's NNLS and scikit-learn's positive Lasso."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import nnls
from sklearn.linear_model import Lasso

from dfecs_app.core._cd import kkt_violation, nn_lasso_gram
from dfecs_app.core.encoding import encode, objective, reconstruct
from dfecs_app.core.landmarks import N_POINTS, layout_mask
from dfecs_app.core.metrics import mask_patterns
from dfecs_app.core.synthetic import make_kpm_dataset

TIGHT = {"tol": 1e-13, "max_iter": 100_000}


def _problem(rng, n=40, q=16, p=136):
    U = rng.normal(size=(q, p)) * rng.uniform(1, 30)
    codes = rng.exponential(size=(n, q)) * (rng.random_sample((n, q)) < 0.3)
    X = codes @ U + rng.normal(scale=2.0, size=(n, p))
    return X, U


@pytest.mark.parametrize("solver", ["active_set", "cd"])
@pytest.mark.parametrize("seed", range(5))
def test_alpha_zero_is_nnls(seed, solver):
    rng = np.random.RandomState(seed)
    X, U = _problem(rng)
    V = encode(X, U, 0.0, solver=solver, **TIGHT)
    for i in range(X.shape[0]):
        ref, _ = nnls(U.T, X[i], maxiter=10_000)
        np.testing.assert_allclose(V[i], ref, rtol=1e-7, atol=1e-7 * np.abs(ref).max())


@pytest.mark.parametrize("solver", ["active_set", "cd"])
@pytest.mark.parametrize("alpha", [0.5, 5.0, 200.0])
def test_matches_sklearn_positive_lasso(alpha, solver):
    rng = np.random.RandomState(7)
    X, U = _problem(rng, n=25)
    V = encode(X, U, alpha, solver=solver, **TIGHT)
    p = X.shape[1]
    # eq. 4 has no ½; sklearn's Lasso minimises 1/(2 p)‖y − Uv‖² + a‖v‖₁  ->  a = α / (2 p)
    lasso = Lasso(alpha=alpha / (2 * p), positive=True, fit_intercept=False, tol=1e-14,
                  max_iter=200_000)
    for i in range(X.shape[0]):
        ref = lasso.fit(U.T, X[i]).coef_
        np.testing.assert_allclose(V[i], ref, rtol=1e-6, atol=1e-6 * max(1.0, np.abs(ref).max()))
    # and the codes minimise eq. 3: no small move lowers the objective
    base = objective(X, V, U, alpha)
    for _ in range(5):
        moved = np.maximum(V + rng.normal(scale=1e-3, size=V.shape), 0)
        assert objective(X, moved, U, alpha) >= base


def test_larger_alpha_means_sparser_codes():
    X, _, T, _ = make_kpm_dataset(500, random_state=0)
    nnz = [np.count_nonzero(encode(X, T, a)) for a in (0.0, 50.0, 500.0, 5000.0)]
    assert nnz == sorted(nnz, reverse=True) and nnz[-1] < nnz[0]


def test_masked_entries_take_no_part():
    X, mask, T, _ = make_kpm_dataset(300, random_state=1, missing="bp4d")
    V = encode(X, T, 1.0, mask, **TIGHT)
    garbage = X.copy()
    feat = np.concatenate([mask, mask], axis=1)
    garbage[~feat] = np.random.RandomState(0).normal(scale=1e3, size=(~feat).sum())
    np.testing.assert_allclose(encode(garbage, T, 1.0, mask, **TIGHT), V, rtol=1e-9, atol=1e-9)
    # same codes as encoding on the present columns only
    cols = np.concatenate([layout_mask("49"), layout_mask("49")])
    np.testing.assert_allclose(encode(X[:, cols], T[:, cols], 1.0, **TIGHT), V, rtol=1e-9,
                               atol=1e-9)


def test_mixed_mask_patterns_grouped_correctly():
    rng = np.random.RandomState(3)
    X, _, T, _ = make_kpm_dataset(60, random_state=2)
    mask = np.ones((60, N_POINTS), dtype=bool)
    mask[::3, :17] = False  # BP4D-like rows
    mask[1::3, [60, 64]] = False  # DISFA-like rows
    mask[5, rng.choice(68, 10, replace=False)] = False  # one odd row
    V = encode(X, T, 2.0, mask, **TIGHT)
    for i in range(60):
        cols = np.concatenate([mask[i], mask[i]])
        ref = encode(X[i:i + 1, cols], T[:, cols], 2.0, **TIGHT)
        np.testing.assert_allclose(V[i:i + 1], ref, rtol=1e-9, atol=1e-9)


def test_active_set_meets_kkt_on_realistic_aus():
    """The default (active-set) encoder is exact where coordinate descent is slow to converge."""
    X, _, T, _ = make_kpm_dataset(3000, random_state=5)
    G, C, lam = T @ T.T, X @ T.T, 0.5
    V, fallback = nn_lasso_gram(G, C, lam, solver="active_set", return_fallback=True)
    assert not fallback.any()
    assert kkt_violation(G, C, lam, V).max() < 1e-10
    loose = nn_lasso_gram(G, C, lam, solver="cd")  # default tol 1e-6: visibly inexact
    assert kkt_violation(G, C, lam, loose).max() > 1e-8
    tight = nn_lasso_gram(G, C, lam, solver="cd", **TIGHT)
    np.testing.assert_allclose(V, tight, atol=1e-8 * np.abs(tight).max())
    fused = encode(X, T, 2 * lam)  # the fused kernel of core/_nnls.py: the same optimum
    assert kkt_violation(G, C, lam, fused).max() < 1e-10
    np.testing.assert_allclose(fused, V, rtol=0, atol=1e-12 * np.abs(V).max())


def test_degenerate_aus_stay_optimal():
    """Duplicate AUs, an AU on missing keypoints only, and a zero AU: still the optimum."""
    rng = np.random.RandomState(11)
    X, _, T, _ = make_kpm_dataset(200, random_state=6, missing="bp4d")
    jaw_only = np.zeros(136)
    jaw_only[:17] = rng.normal(size=17) * 20  # x of the jaw: missing in BP4D
    U = np.vstack([T, T[3], 0.5 * T[7], jaw_only, np.zeros(136)])
    mask = np.broadcast_to(layout_mask("49"), (200, N_POINTS))
    V = encode(X, U, 1.0, mask)
    ref = encode(X, U, 1.0, mask, solver="cd", **TIGHT)
    assert (V >= 0).all() and not V[:, -2:].any()
    for i in range(0, 200, 7):
        assert objective(X[i:i + 1], V[i:i + 1], U, 1.0, mask[i:i + 1]) <= objective(
            X[i:i + 1], ref[i:i + 1], U, 1.0, mask[i:i + 1]) * (1 + 1e-9)


def test_kernel_threads_give_the_same_answer():
    rng = np.random.RandomState(4)
    X, U = _problem(rng, n=20_000, q=16)
    G, C = U @ U.T, X @ U.T
    for solver in ("cd", "active_set"):
        one = nn_lasso_gram(G, C, 3.0, n_jobs=1, solver=solver)
        two = nn_lasso_gram(G, C, 3.0, n_jobs=2, solver=solver)
        np.testing.assert_array_equal(one, two)
    with pytest.raises(ValueError, match="solver"):
        nn_lasso_gram(G, C, 3.0, solver="lars")


def test_reconstruct_and_bad_input():
    X, _, T, codes = make_kpm_dataset(10, random_state=0, noise=0.0)
    np.testing.assert_allclose(reconstruct(codes, T), X, atol=1e-9)
    bad = X.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        encode(bad, T, 1.0)
    with pytest.raises(ValueError, match="alpha"):
        encode(X, T, -1.0)
    with pytest.raises(ValueError, match="components"):
        encode(X, T[:, :100], 1.0)


@pytest.mark.parametrize("f", [136, 10, 64])
def test_mask_patterns_groups_equal_rows(f):
    rng = np.random.RandomState(f)
    base = rng.random_sample((5, f)) > 0.3
    fmask = base[rng.randint(5, size=400)]
    patterns, inverse = mask_patterns(fmask)
    np.testing.assert_array_equal(patterns[inverse], fmask)
    assert inverse.dtype == np.int64 and inverse.shape == (400,)
    assert len(patterns) == len(np.unique(fmask, axis=0))


def _batch(X, U, lam=0.0):
    from dfecs_app.core._nnls import encode_batch

    return encode_batch(X, U, (U @ U.T)[None], np.zeros(len(X), dtype=np.int64), lam)


def test_tableau_solves_realistic_samples_exactly():
    """The pivoting tableau certifies nearly every sample itself, with scipy's NNLS optimum."""
    from dfecs_app.core._nnls import ROUTE_TABLEAU

    X, _, T, _ = make_kpm_dataset(20_000, random_state=9)
    V, yy, rss, route = _batch(X, T)
    assert (route == ROUTE_TABLEAU).mean() > 0.99
    G, C = T @ T.T, X @ T.T
    assert kkt_violation(G, C, 0.0, V).max() < 1e-10 * np.abs(C).max()
    for i in range(0, 20_000, 997):
        ref, res = nnls(T.T, X[i])
        np.testing.assert_allclose(V[i], ref, rtol=0, atol=1e-9 * np.abs(ref).max())
        assert abs(rss[i] - res**2) <= 1e-12 * yy[i]
        assert yy[i] == pytest.approx(X[i] @ X[i], rel=1e-13)


def test_tableau_on_dependent_and_ill_conditioned_aus():
    """[U, −U] (singular G: the tableau starts from the empty set and refuses degenerate
    pivots) and two nearly parallel AUs (cond ≈ 1e9): every sample is still at the optimum,
    whichever route solved it, and never uses an AU together with its negative."""
    X, _, T, _ = make_kpm_dataset(3000, random_state=4)
    rng = np.random.RandomState(2)
    near = T[5] + 3e-4 * np.abs(T[5]).max() * rng.normal(size=136)
    for U in (np.vstack([T[:8], -T[:8]]), np.vstack([T, near])):
        V, _, rss, route = _batch(X, U)
        ref = encode(X, U, 0.0, solver="cd", **TIGHT)
        obj = ((X - V @ U) ** 2).sum(axis=1)
        np.testing.assert_allclose(rss, obj, rtol=1e-9, atol=1e-9 * obj.max())
        assert (obj <= ((X - ref @ U) ** 2).sum(axis=1) * (1 + 1e-9) + 1e-9).all()
        assert kkt_violation(U @ U.T, X @ U.T, 0.0, V).max() < 1e-9 * np.abs(X @ U.T).max()
    pm = _batch(X, np.vstack([T[:8], -T[:8]]))[0]
    assert not ((pm[:, :8] > 0) & (pm[:, 8:] > 0)).any()


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_fused_kernel_finds_nan_and_inf_itself(value):
    X, _, T, _ = make_kpm_dataset(10_000, random_state=3)  # threaded: two row blocks
    bad = X.copy()
    bad[-1, 135] = value
    with pytest.raises(ValueError, match="NaN or inf"):
        encode(bad, T)
    huge = X.copy()
    huge[7, 0] = 1e200
    with pytest.raises(ValueError, match="too large"):
        encode(huge, T)


def _video_order(n: int = 6000, seed: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """Frames in video order: codes on a slow random walk, clipped at 0 (AUs switch on and off
    every few dozen frames, so consecutive frames mostly share their passive set)."""
    X, _, T, _ = make_kpm_dataset(10, random_state=seed)
    rng = np.random.RandomState(seed)
    walk = np.cumsum(rng.normal(scale=0.15, size=(n, T.shape[0])), axis=0)
    codes = np.clip(walk - walk.mean(axis=0), 0.0, None)
    return codes @ T + rng.normal(scale=0.3, size=(n, T.shape[1])), T


def test_tableau_carried_from_frame_to_frame_is_exact_and_thread_independent(monkeypatch):
    """On frames in video order each frame starts from the previous frame's tableau; it still
    certifies every frame itself (a wrong carried tableau would fail the KKT test and fall
    back to the Cholesky route), reaches scipy's optimum, and gives the same bits on 1, 2 or 3
    threads (fresh tableaux at the thread split); a mask change in the middle of a block (a
    different Gram matrix) restarts it."""
    import dfecs_app.core._nnls as nnls_mod

    X, T = _video_order()
    V, yy, rss, route = _batch(X, T)
    assert (route == nnls_mod.ROUTE_TABLEAU).all()
    for i in range(0, len(X), 37):
        ref, res = nnls(T.T, X[i])
        np.testing.assert_allclose(V[i], ref, rtol=0, atol=1e-9 * np.abs(ref).max())
        assert abs(rss[i] - res**2) <= 1e-12 * yy[i]
    for jobs in (1, 3):
        monkeypatch.setattr(nnls_mod, "n_threads", lambda jobs=jobs: jobs)
        for got, want in zip(_batch(X, T), (V, yy, rss, route)):
            np.testing.assert_array_equal(got, want)
    mask = np.ones((len(X), N_POINTS), dtype=bool)
    mask[3000:3100, 48:] = False  # the mouth missing for 100 frames mid-sequence
    Vm = encode(X, T, 0.0, mask)
    ref = encode(X, T, 0.0, mask, solver="cd", **TIGHT)
    np.testing.assert_allclose(Vm, ref, rtol=0, atol=1e-7 * np.abs(ref).max())
