"""HFM fits: KKT conditions of eq. 2 through the README's scikit-learn mapping, and multi-start
fits never worse than scikit-learn's NMF on the same problem."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.decomposition import NMF

from dfecs_app.core._cd import single_blas_thread
from dfecs_app.core.hfm import eq2_objective, hfm_kkt, multi_start_factorize


@pytest.fixture(scope="module")
def codes():
    """Non-negative stacked part codes ``V`` (n, k): sparse, correlated, noisy."""
    rng = np.random.RandomState(0)
    n, k, r = 400, 20, 8
    A = np.abs(rng.standard_normal((r, k))) * (rng.uniform(size=(r, k)) < 0.4)
    B = np.abs(rng.standard_normal((n, r))) * (rng.uniform(size=(n, r)) < 0.5) * 5
    return np.maximum(B @ A + 0.3 * np.abs(rng.standard_normal((n, k))), 0.0)


def _sklearn(V, q, aA, aB):
    """scikit-learn NMF under the README mapping: X = Vᵀ (k × m), W = A, H = B."""
    k, m = V.shape[1], V.shape[0]
    nmf = NMF(q, init="nndsvda", solver="cd", beta_loss="frobenius", l1_ratio=1.0,
              alpha_W=aA / (2 * m), alpha_H=aB / (2 * k), max_iter=5000, tol=1e-8,
              random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        Wsk = nmf.fit_transform(V.T)  # (k, q) = A
    return Wsk, nmf.components_  # A (k, q), B (q, m)


def _sk_kkt(X, W, H, alpha_W, alpha_H):
    """Largest relative KKT violation of scikit-learn's objective
    ``½‖X − WH‖² + alpha_W·m‖W‖₁ + alpha_H·k‖H‖₁`` (X is k × m) on both factors."""
    k, m = X.shape
    R = W @ H - X
    gW = R @ H.T + alpha_W * m
    gH = W.T @ R + alpha_H * k
    scale = np.abs(X @ H.T).max()
    out = []
    for F, G in ((W, gW), (H, gH)):
        v = np.where(F > 0, np.abs(G), np.maximum(-G, 0.0))
        out.append(float(v.max() / scale))
    return out


@pytest.mark.slow
@pytest.mark.parametrize("q,aA,aB", [(8, 0.1, 0.1), (6, 5.0, 5.0), (10, 0.5, 2.0)])
def test_multi_start_meets_kkt_and_beats_sklearn(codes, q, aA, aB):
    V = codes
    with single_blas_thread():
        W, H, cost, n_starts = multi_start_factorize(V, q, aA, aB, n_random=2, seed=(0, q))
    assert n_starts == 4 and np.all(W >= 0) and np.all(H >= 0)
    assert cost == pytest.approx(eq2_objective(V, W, H, aA, aB))
    # KKT of both factors in scikit-learn's terms (A = Hᵀ is sklearn's W, B = Wᵀ its H)
    m, k = V.shape
    kkt_A, kkt_B = _sk_kkt(V.T, H.T, W.T, aA / (2 * m), aB / (2 * k))
    assert kkt_A < 1e-3 and kkt_B < 1e-3
    ours_A, ours_B = hfm_kkt(V, W, H, aA, aB)
    assert ours_A < 1e-3 and ours_B < 1e-3
    # never worse than scikit-learn's NMF on the same problem (eq. 2 = 2 × its objective)
    Ask, Bsk = _sklearn(V, q, aA, aB)
    sk_cost = eq2_objective(V, Bsk.T, Ask.T, aA, aB)
    assert cost <= sk_cost * (1 + 1e-6)
