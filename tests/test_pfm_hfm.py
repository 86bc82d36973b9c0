"""Part Face Model and Hierarchical Face Model against scikit-learn."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.decomposition import NMF, DictionaryLearning
from sklearn.exceptions import ConvergenceWarning, NotFittedError

from dfecs_app.core.hfm import HierarchicalFaceModel, eq2_objective, nndsvda_init
from dfecs_app.core.landmarks import PART_FEATURES
from dfecs_app.core.pfm import PartFaceModel
from dfecs_app.core.synthetic import make_kpm_dataset


@pytest.fixture(scope="module")
def kpm():
    return make_kpm_dataset(2000, random_state=0, noise=0.5)


@pytest.mark.parametrize("part,k,alpha", [("right_brow", 3, 1.0), ("nose", 3, 2.0),
                                          ("right_eye", 4, 1.0)])
def test_pfm_objective_matches_or_beats_sklearn(kpm, part, k, alpha):
    X = kpm[0][:400, PART_FEATURES[part]]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        dl = DictionaryLearning(k, alpha=alpha, fit_algorithm="cd", transform_algorithm="lasso_cd",
                                positive_code=True, random_state=0).fit(X)
        C = dl.transform(X)
    ref = 0.5 * ((X - C @ dl.components_) ** 2).sum() + alpha * C.sum()
    m = PartFaceModel(k, alpha=alpha, random_state=0).fit(X)
    assert m.objective_ <= ref * (1 + 1e-3)
    assert np.all(np.linalg.norm(m.components_, axis=1) <= 1 + 1e-12)
    assert np.all(m.codes_ >= 0)
    # transform solves the same code problem (from a cold start): same objective
    C2 = m.transform(X)
    again = 0.5 * ((X - C2 @ m.components_) ** 2).sum() + alpha * C2.sum()
    assert again == pytest.approx(m.objective_, rel=1e-6)


def test_pfm_estimator_conventions(kpm):
    X = kpm[0][:500]
    m = PartFaceModel(3, alpha=1.0, part="lips", random_state=0)
    with pytest.raises(NotFittedError):
        m.transform(X)
    assert m.fit(X) is m
    assert m.components_.shape == (3, 40) and m.codes_.shape == (500, 3)
    again = PartFaceModel(3, alpha=1.0, part="lips", random_state=0).fit(X)
    np.testing.assert_array_equal(m.components_, again.components_)
    assert m.inverse_transform(m.codes_).shape == (500, 40)
    assert 80 < m.ve_train_ <= 100
    # warm start from the fitted atoms and codes converges at once to the same point
    warm = PartFaceModel(3, alpha=1.0, part="lips", dict_init=m.components_,
                         code_init=m.codes_).fit(X)
    assert warm.objective_ <= m.objective_ * (1 + 1e-6)
    assert warm.n_iter_ < m.n_iter_


def test_pfm_mask():
    X, mask, _, _ = make_kpm_dataset(400, random_state=1, missing="bp4d")
    with pytest.raises(ValueError, match="missing"):
        PartFaceModel(2, alpha=1.0, part="jaw").fit(X, mask=mask)
    # partly missing samples: values behind the mask do not change the fit
    mask = mask.copy()
    mask[::4, 48:55] = False
    feat = np.concatenate([mask, mask], axis=1)
    X = np.where(feat, X, 0.0)
    m = PartFaceModel(4, alpha=1.0, part="lips", tol=1e-5, random_state=0).fit(X, mask=mask)
    noisy = np.where(feat, X, 1e3)
    m2 = PartFaceModel(4, alpha=1.0, part="lips", tol=1e-5, random_state=0).fit(noisy, mask=mask)
    np.testing.assert_allclose(m.components_, m2.components_, atol=1e-10)
    # inner lip corners 60/64 are missing in every sample: they stay 0 in the atoms
    cols = list(PART_FEATURES["lips"])
    for point in (60, 64):
        assert np.all(m.components_[:, cols.index(point)] == 0)
    assert m.ve_train_ > 80


def _stacked_codes(X, k=3):
    Vs = [PartFaceModel(k, alpha=1.0, part=p, random_state=0).fit(X).codes_
          for p in ("right_brow", "left_brow", "lips", "right_eye")]
    return np.hstack(Vs)


def test_hfm_vs_sklearn_nmf_mapped_alphas(kpm):
    V = _stacked_codes(kpm[0][:600])
    n, k = V.shape
    q, aA, aB = 4, 5.0, 5.0
    W0, H0 = nndsvda_init(V, q)
    # eq. 2 on V (k x m) with W = A, H = B  <=>  alpha_W = α_A / (2 m), alpha_H = α_B / (2 k)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        nmf = NMF(q, init="custom", solver="cd", beta_loss="frobenius", l1_ratio=1.0,
                  alpha_W=aA / (2 * n), alpha_H=aB / (2 * k), tol=1e-10, max_iter=3000)
        A = nmf.fit_transform(V.T, W=np.ascontiguousarray(H0.T), H=np.ascontiguousarray(W0.T))
    B = nmf.components_
    sk = eq2_objective(V, B.T, A.T, aA, aB)
    mine = HierarchicalFaceModel(q, alpha_A=aA, alpha_B=aB, tol=1e-8).fit(V, W=W0, H=H0)
    assert mine.objective_ <= sk * 1.02
    # the mapping is exact: sklearn's codes satisfy the KKT conditions of eq. 2 for B
    # (violation relative to α_B) ... and would not with the ½ forgotten (α_B doubled)
    def kkt_B(aB):
        grad = 2 * A.T @ (A @ B - V.T) + aB  # d eq.2 / dB, (q, n)
        viol = np.where(B > 0, np.abs(grad), np.maximum(-grad, 0))
        return viol.max() / aB
    assert kkt_B(aB) < 0.1
    assert kkt_B(2 * aB) > 0.4


def test_hfm_conventions_and_alpha_effect(kpm):
    V = _stacked_codes(kpm[0][:600])
    h = HierarchicalFaceModel(4, alpha_A=0.5, alpha_B=0.5)
    with pytest.raises(NotFittedError):
        h.transform(V)
    assert h.fit(V) is h
    assert h.A_.shape == (V.shape[1], 4) and h.codes_.shape == (600, 4)
    assert np.all(h.A_ >= 0) and np.all(h.codes_ >= 0)
    strong = HierarchicalFaceModel(4, alpha_A=5e4, alpha_B=5e4).fit(V)
    assert np.abs(strong.A_).sum() < np.abs(h.A_).sum()
    with pytest.raises(ValueError, match="non-negative"):
        h.fit(-V)
