"""VE vs k, VE vs L1 and evaluate_model against direct NNLS / encode computations."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import nnls
from sklearn.linear_model import lars_path

from dfecs_app.core.aumodel import AUModel
from dfecs_app.core.encoding import encode, reconstruct
from dfecs_app.core.evaluation import evaluate_model, path_curves, ve_vs_k, ve_vs_l1
from dfecs_app.core.landmarks import point_mask_to_feature_mask
from dfecs_app.core.metrics import sample_variance_explained, variance_explained
from dfecs_app.core.progress import TaskState
from dfecs_app.core.synthetic import make_kpm_dataset
from dfecs_app.errors import Cancelled, InputError


@pytest.fixture(scope="module")
def data():
    X, mask, comps, _ = make_kpm_dataset(600, n_components=12, random_state=3)
    return X, mask, comps


@pytest.fixture(scope="module")
def masked_data():
    X, mask, comps, _ = make_kpm_dataset(400, n_components=10, missing="bp4d", random_state=4)
    return X, mask, comps


def _nnls_fit(Y, comps, mask=None):
    fm = np.ones(Y.shape, bool) if mask is None else point_mask_to_feature_mask(mask)
    out = np.zeros_like(Y)
    for i, y in enumerate(Y):
        U = comps.T * fm[i][:, None]
        x, _ = nnls(U, y * fm[i])
        out[i] = comps.T @ x
    return out


def test_ve_vs_k_is_monotone_and_ends_at_nnls(data) -> None:
    X, _, comps = data
    q = comps.shape[0]
    ks, ve = ve_vs_k(X, comps)
    assert ks.tolist() == list(range(q + 1))
    assert ve[0] == 0.0
    assert (np.diff(ve) >= -1e-12).all()
    Xhat = _nnls_fit(X, comps)
    assert ve[-1] == pytest.approx(np.nanmean(sample_variance_explained(X, Xhat)), abs=1e-8)
    _, pooled = ve_vs_k(X, comps, average="pooled")
    assert pooled[-1] == pytest.approx(variance_explained(X, Xhat), abs=1e-8)
    assert (np.diff(pooled) >= -1e-12).all()
    # ks beyond q stay at the NNLS value; custom ks keep their order
    ks2, ve2 = ve_vs_k(X, comps, ks=[q + 5, 1, 3])
    assert ks2.tolist() == [q + 5, 1, 3]
    np.testing.assert_allclose(ve2, [ve[-1], ve[1], ve[3]])


def test_ve_vs_k_against_sklearn_paths(data) -> None:
    """Per sample: the best VE among scikit-learn's breakpoints (and scipy's NNLS solution)
    with at most k non-zero coefficients — averaged, it is ve_vs_k."""
    X, _, comps = data
    Y = X[:80]
    _, ve = ve_vs_k(Y, comps)
    q = comps.shape[0]
    per = np.zeros((len(Y), q + 1))
    for i, y in enumerate(Y):
        alphas, _, coefs = lars_path(comps.T, y, method="lasso", positive=True)
        pts = [coefs[:, b] for b in np.flatnonzero(alphas > 0)] + [nnls(comps.T, y)[0]]
        for beta in pts:
            r = y - comps.T @ beta
            v = 100 * (1 - r @ r / (y @ y))
            nz = int((beta > 0).sum())
            per[i, nz:] = np.maximum(per[i, nz:], v)
    np.testing.assert_allclose(ve, per.mean(axis=0), rtol=1e-9, atol=1e-9)


def test_ve_vs_l1_starts_at_zero_and_approaches_nnls(data) -> None:
    X, _, comps = data
    l1, ve = ve_vs_l1(X, comps)
    assert l1[0] == 0.0 and ve[0] == pytest.approx(0.0, abs=1e-12)
    assert (np.diff(ve) >= -1e-9).all()
    res = path_curves(X, comps, l1_grid=[0.0, 1e9])
    assert res.ve_l1[-1] == pytest.approx(res.ve_final_mean, abs=1e-10)
    assert ve[-1] <= res.ve_final_mean + 1e-9
    # unsorted grids come back in the caller's order
    l1b, veb = ve_vs_l1(X, comps, l1_grid=l1[::-1])
    np.testing.assert_allclose(veb, ve[::-1])


def test_masked_evaluation_uses_present_keypoints_only(masked_data) -> None:
    X, mask, comps = masked_data
    assert not mask.all()
    res = path_curves(X, comps, mask)
    Xhat = _nnls_fit(X, comps, mask)
    assert res.ve_final_pooled == pytest.approx(variance_explained(X, Xhat, mask), abs=1e-8)
    assert res.ve_k_pooled[-1] == pytest.approx(res.ve_final_pooled, abs=1e-10)
    # garbage in the missing entries changes nothing
    Xg = X + 50.0 * ~point_mask_to_feature_mask(mask)
    res2 = path_curves(Xg, comps, mask)
    np.testing.assert_allclose(res2.ve_k_mean, res.ve_k_mean, atol=1e-9)


def test_evaluate_model_at_alpha_matches_encode(data) -> None:
    X, _, comps = data
    model = AUModel(components=comps, kind="dfecs")
    alpha = 40.0
    res = evaluate_model(model, X, alpha=alpha)
    codes = encode(X, comps, alpha, tol=1e-10, max_iter=100000)
    assert res.ve == pytest.approx(variance_explained(X, reconstruct(codes, comps)), abs=1e-5)
    nn = evaluate_model(model, X)
    assert nn.ve > res.ve
    assert nn.ve == pytest.approx(nn.curves.ve_final_pooled)
    assert nn.ve_vs_k.shape == (comps.shape[0] + 1, 2)
    js = nn.to_json()
    assert set(js) == {"ve", "ve_vs_k", "ve_vs_l1", "n_samples"} and js["n_samples"] == len(X)


def test_zero_samples_are_excluded_and_counted(data) -> None:
    X, _, comps = data
    Xz = np.vstack([X[:100], np.zeros((7, X.shape[1]))])
    res = path_curves(Xz, comps)
    ref = path_curves(X[:100], comps)
    assert res.n_zero == 7 and res.n_samples == 107
    np.testing.assert_allclose(res.ve_k_mean, ref.ve_k_mean, rtol=1e-12, atol=1e-10)
    np.testing.assert_allclose(res.ve_k_pooled, ref.ve_k_pooled, rtol=1e-12, atol=1e-10)


def test_bad_inputs(data) -> None:
    X, _, comps = data
    with pytest.raises(InputError, match="all samples are zero"):
        path_curves(np.zeros((5, 136)), comps)
    Xn = X[:10].copy()
    Xn[3, 7] = np.nan
    with pytest.raises(InputError, match="NaN"):
        ve_vs_k(Xn, comps)
    with pytest.raises(InputError, match="do not fit"):
        ve_vs_k(X, comps[:, :100])


def test_progress_and_cancel(data) -> None:
    X, _, comps = data
    seen = []
    path_curves(np.tile(X, (30, 1)), comps, state=TaskState(seen.append))
    fractions = [p.fraction for p in seen]
    assert fractions[0] == 0.0 and fractions[-1] == 1.0 and len(fractions) >= 3
    assert all(p.stage == "evaluate" for p in seen)
    state = TaskState(lambda p: state.cancel() if p.fraction and p.fraction > 0 else None)
    with pytest.raises(Cancelled):
        path_curves(np.tile(X, (30, 1)), comps, state=state)
