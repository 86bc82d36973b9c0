"""Hierarchical Face Model (paper §2.3.2, eq. 2): an L1-penalised NMF of the stacked PFM codes.

The paper factors the stacked part codes ``V`` (k × m) as ``V ≈ A B`` by

``min_{A, B ≥ 0}  ‖V − A B‖²_F + α_A‖A‖₁ + α_B‖B‖₁``            (eq. 2, no ½)

With samples in rows (scikit-learn's shape) the data are ``Vᵀ`` (n, k) ≈ ``Bᵀ Aᵀ``: the codes
``W = Bᵀ`` (n, q) and the components ``H = Aᵀ`` (q, k). This module keeps the paper's α as
given: the objective it minimises is eq. 2 exactly.

Solver: alternating non-negative lasso by coordinate descent on Gram matrices (the kernel of
:mod:`dfecs_app.core._cd`, a few warm-started sweeps per half-step, i.e. HALS with L1), each
iteration ending with an exact rescaling of every (code, component) pair that minimises the two
L1 terms with ``A B`` unchanged (both penalties make the scale identifiable). Eq. 2
without the ½ equals ``½‖V − AB‖² + (α_A/2)‖A‖₁ + (α_B/2)‖B‖₁`` up to a factor 2, so the kernel
runs with ``λ_B = α_B / 2`` for the codes and ``λ_A = α_A / 2`` for the components.
The loop stops when eq. 2 decreases by less than ``tol`` times its value.

Equivalent scikit-learn call (same minimiser, objective halved)::

    NMF(n_components=q, init="custom", solver="cd", beta_loss="frobenius", l1_ratio=1.0,
        alpha_W=alpha_A / (2 * m), alpha_H=alpha_B / (2 * k)).fit_transform(V, W=A0, H=B0)

on ``V`` (k × m) with ``W = A``, ``H = B``: scikit-learn ≥ 1.2 multiplies ``alpha_W`` by the
number of columns ``m`` and ``alpha_H`` by the number of rows ``k`` of the matrix it factors,
and its loss has the ½. Passing the paper's ``α_A = 5`` as is would zero ``A``.
"""

from __future__ import annotations

import threading

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from dfecs_app.core._cd import kkt_violation, nn_lasso_gram, single_blas_thread

_SKLEARN_LOCK = threading.Lock()
#: Coordinate sweeps per half-step during the alternation, and for ``transform``.
INNER_SWEEPS = 3
FINAL_TOL = 1e-8
FINAL_MAX_ITER = 1000


def nndsvda_init(
    V: np.ndarray, q: int, random_state: np.random.RandomState | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """NNDSVD initialisation with zeros filled by the data mean (Boutsidis & Gallopoulos 2008).

    Parameters
    ----------
    V : ndarray, shape (n, k), non-negative
    q : int

    Returns
    -------
    W : ndarray, shape (n, q)
    H : ndarray, shape (q, k)
    """
    n, k = V.shape
    U, S, Vt = np.linalg.svd(V, full_matrices=False)
    W = np.zeros((n, q))
    H = np.zeros((q, k))
    r = min(q, S.shape[0])
    W[:, 0] = np.sqrt(S[0]) * np.abs(U[:, 0])
    H[0] = np.sqrt(S[0]) * np.abs(Vt[0])
    for j in range(1, r):
        x, y = U[:, j], Vt[j]
        xp, yp = np.maximum(x, 0), np.maximum(y, 0)
        xn, yn = np.maximum(-x, 0), np.maximum(-y, 0)
        nxp, nyp, nxn, nyn = (np.linalg.norm(a) for a in (xp, yp, xn, yn))
        mp, mn = nxp * nyp, nxn * nyn
        if mp > mn:
            u, v, s = xp / nxp, yp / nyp, mp
        else:
            u, v, s = xn / max(nxn, 1e-300), yn / max(nyn, 1e-300), mn
        lbd = np.sqrt(S[j] * s)
        W[:, j] = lbd * u
        H[j] = lbd * v
    avg = V.mean()
    W[W < 1e-12] = avg
    H[H < 1e-12] = avg
    return W, H


def eq2_objective(V: np.ndarray, W: np.ndarray, H: np.ndarray, alpha_A: float,
                  alpha_B: float) -> float:
    """Eq. 2: ``‖V − W H‖² + α_A‖H‖₁ + α_B‖W‖₁`` (``W = Bᵀ``, ``H = Aᵀ``)."""
    R = V - W @ H
    return float(np.einsum("ij,ij->", R, R) + alpha_A * H.sum() + alpha_B * W.sum())


def _rebalance(W: np.ndarray, H: np.ndarray, alpha_A: float, alpha_B: float) -> None:
    """Rescale each pair (W[:, j], H[j]) in place to minimise its L1 penalty, ``W H`` unchanged.

    ``α_A‖H_j‖₁/s + α_B‖W_j‖₁·s`` is smallest at ``s = sqrt(α_A‖H_j‖₁ / (α_B‖W_j‖₁))``. Without
    this exact step the alternation creeps along the scale ambiguity for hundreds of iterations.
    """
    if alpha_A <= 0.0 or alpha_B <= 0.0:
        return
    w1 = W.sum(axis=0)
    h1 = H.sum(axis=1)
    ok = (w1 > 0) & (h1 > 0)
    s = np.ones_like(w1)
    s[ok] = np.sqrt(alpha_A * h1[ok] / (alpha_B * w1[ok]))
    W *= s
    H /= s[:, None]


def factorize(
    V: np.ndarray,
    q: int,
    alpha_A: float,
    alpha_B: float,
    *,
    W_init: np.ndarray | None = None,
    H_init: np.ndarray | None = None,
    max_iter: int = 1000,
    tol: float = 1e-6,
    random_state: np.random.RandomState | None = None,
) -> tuple[np.ndarray, np.ndarray, float, int]:
    """Minimise eq. 2 for ``V`` (n, k) ≈ ``W`` (n, q) ``H`` (q, k); core of the HFM.

    Returns
    -------
    W : ndarray, shape (n, q)
        Codes (``Bᵀ``).
    H : ndarray, shape (q, k)
        Components (``Aᵀ``).
    cost : float
        Eq. 2 at the returned factors.
    n_iter : int
    """
    V = np.ascontiguousarray(V, dtype=np.float64)
    if W_init is None or H_init is None:
        W, H = nndsvda_init(V, q, random_state)
    else:
        W = np.array(W_init, dtype=np.float64, order="C", copy=True)
        H = np.array(H_init, dtype=np.float64, order="C", copy=True)
    lam_W, lam_H = alpha_B / 2.0, alpha_A / 2.0
    vv = float(np.einsum("ij,ij->", V, V))
    prev = np.inf
    n_iter = 0
    cost = np.inf
    for n_iter in range(1, max_iter + 1):  # noqa: B007 - n_iter is returned
        W = nn_lasso_gram(H @ H.T, V @ H.T, lam_W, W, max_iter=INNER_SWEEPS, tol=0.0, n_jobs=1)
        WtW = W.T @ W
        VtW = V.T @ W
        Ht = nn_lasso_gram(WtW, VtW, lam_H, H.T, max_iter=INNER_SWEEPS, tol=0.0, n_jobs=1)
        H = np.ascontiguousarray(Ht.T)
        _rebalance(W, H, alpha_A, alpha_B)
        WtW = W.T @ W
        VtW = V.T @ W
        Ht = H.T
        cost = (vv - 2.0 * np.einsum("ij,ij->", VtW, Ht)
                + np.einsum("ij,ij->", WtW, H @ H.T)
                + alpha_A * H.sum() + alpha_B * W.sum())
        if prev - cost < tol * abs(cost):
            break
        prev = cost
    return W, H, float(cost), n_iter


def random_init(V: np.ndarray, q: int, rng: np.random.RandomState) -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's ``init='random'``: ``sqrt(mean(V) / q) · |N(0, 1)|`` entries.

    Returns ``W`` (n, q) and ``H`` (q, k).
    """
    n, k = V.shape
    avg = np.sqrt(max(float(V.mean()), 1e-12) / q)
    H = avg * np.abs(rng.standard_normal((q, k)))
    W = avg * np.abs(rng.standard_normal((n, q)))
    return W, H


def sklearn_start(V: np.ndarray, q: int, alpha_A: float,
                  alpha_B: float) -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's NMF of eq. 2 under the README's mapping, as a start ``(W, H)``.

    ``NMF(init='nndsvda', solver='cd', l1_ratio=1, alpha_W=α_A/(2m), alpha_H=α_B/(2k))`` on
    ``Vᵀ`` (k × m); its ``W`` is ``A = Hᵀ`` and its ``H`` is ``B = Wᵀ``.
    """
    import warnings

    from sklearn.decomposition import NMF
    from sklearn.exceptions import ConvergenceWarning

    m, k = V.shape
    nmf = NMF(q, init="nndsvda", solver="cd", beta_loss="frobenius", l1_ratio=1.0,
              alpha_W=alpha_A / (2 * m), alpha_H=alpha_B / (2 * k), max_iter=1000,
              random_state=0)
    # warning filters are process-wide: one start at a time may change them
    with _SKLEARN_LOCK, warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        A = nmf.fit_transform(np.ascontiguousarray(V.T))
    return np.ascontiguousarray(nmf.components_.T), np.ascontiguousarray(A.T)


def multi_start_factorize(
    V: np.ndarray,
    q: int,
    alpha_A: float,
    alpha_B: float,
    *,
    n_random: int = 2,
    W_init: np.ndarray | None = None,
    H_init: np.ndarray | None = None,
    start_tol: float = 1e-4,
    tol: float = 1e-7,
    max_iter: int = 2000,
    seed: int | tuple[int, ...] = 0,
) -> tuple[np.ndarray, np.ndarray, float, int]:
    """Eq. 2 from several starts; the start with the smallest objective is refined.

    Starts: ``(W_init, H_init)`` when given (e.g. a loose NNDSVDa fit), else NNDSVDa;
    scikit-learn's own NMF solution of the same problem (:func:`sklearn_start`, the solver the
    authors called); then ``n_random`` random starts (:func:`random_init`, the authors' NMF
    used random starts) drawn from ``np.random.SeedSequence(seed)``. Every start runs to
    ``start_tol``; the one with the smallest eq. 2 objective is continued to ``tol`` (at most
    ``max_iter`` iterations) and returned. Each iteration of :func:`factorize` decreases
    eq. 2, so the result is never worse than scikit-learn's fit.

    Returns
    -------
    W : ndarray, shape (n, q)
    H : ndarray, shape (q, k)
    cost : float
        Eq. 2 at ``(W, H)``.
    n_starts : int
    """
    ss = np.random.SeedSequence([int(s) % (2**32) for s in np.atleast_1d(seed)])
    if W_init is not None and H_init is not None:
        W, H = np.array(W_init, dtype=np.float64), np.array(H_init, dtype=np.float64)
        best = (W, H, eq2_objective(V, W, H, alpha_A, alpha_B))
    else:
        best = factorize(V, q, alpha_A, alpha_B, tol=start_tol)[:3]
    W0, H0 = sklearn_start(V, q, alpha_A, alpha_B)
    out = factorize(V, q, alpha_A, alpha_B, W_init=W0, H_init=H0, tol=start_tol)
    if out[2] < best[2]:
        best = out[:3]
    for child in ss.spawn(int(n_random)):
        W0, H0 = random_init(V, q, np.random.RandomState(np.random.MT19937(child)))
        out = factorize(V, q, alpha_A, alpha_B, W_init=W0, H_init=H0, tol=start_tol)
        if out[2] < best[2]:
            best = out[:3]
    W, H, cost, _ = factorize(V, q, alpha_A, alpha_B, W_init=best[0], H_init=best[1], tol=tol,
                              max_iter=max_iter)
    return W, H, cost, 2 + int(n_random)


def hfm_kkt(V: np.ndarray, W: np.ndarray, H: np.ndarray, alpha_A: float,
            alpha_B: float) -> tuple[float, float]:
    """Largest relative KKT violations of eq. 2 for the components and the codes.

    With the ½-loss form (``λ_A = α_A/2``, ``λ_B = α_B/2``, scikit-learn's ``alpha_W · m``
    and ``alpha_H · k`` under the README's mapping), each factor given the other is a
    non-negative lasso; :func:`dfecs_app.core._cd.kkt_violation` measures, per row, the
    largest ``|g_j|`` over positive entries and ``max(g_j, 0)`` over zero entries of
    ``g = c − λ − G v``, relative to ``max(max_j |c_j|, λ)``.

    Returns
    -------
    kkt_A : float
        Components ``H = Aᵀ`` (q, k), i.e. the columns of ``A``.
    kkt_B : float
        Codes ``W = Bᵀ`` (n, q).
    """
    kb = kkt_violation(H @ H.T, V @ H.T, alpha_B / 2.0, W)
    ka = kkt_violation(W.T @ W, V.T @ W, alpha_A / 2.0, H.T)
    return float(ka.max(initial=0.0)), float(kb.max(initial=0.0))


class HierarchicalFaceModel(TransformerMixin, BaseEstimator):
    """L1-penalised NMF of the stacked PFM codes (eq. 2, paper's α as given).

    Parameters
    ----------
    n_components : int
        ``q``, the number of DFECS AUs.
    alpha_A, alpha_B : float
        L1 penalties of eq. 2 on ``A`` (components) and ``B`` (codes), no ½ on the loss.
    max_iter : int
    tol : float
        Stop when eq. 2 decreases by less than ``tol`` times its value.
    random_state : int, RandomState or None
        Kept for the scikit-learn interface (NNDSVDa is deterministic).

    Attributes
    ----------
    components_ : ndarray, shape (n_components, k)
        ``Aᵀ``.
    A_ : ndarray, shape (k, n_components)
    codes_ : ndarray, shape (n_samples, n_components)
        Training codes ``Bᵀ``.
    objective_ : float
        Eq. 2 at the fitted factors.
    n_iter_ : int
    n_features_in_ : int
    """

    def __init__(
        self,
        n_components: int = 10,
        *,
        alpha_A: float = 0.1,
        alpha_B: float = 0.1,
        max_iter: int = 1000,
        tol: float = 1e-6,
        random_state: int | np.random.RandomState | None = None,
    ) -> None:
        self.n_components = n_components
        self.alpha_A = alpha_A
        self.alpha_B = alpha_B
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state

    def _check_V(self, V: np.ndarray) -> np.ndarray:
        V = np.asarray(V, dtype=np.float64)
        if V.ndim != 2:
            raise ValueError(f"V must be 2-D (n_samples, k), got shape {V.shape}")
        if not np.isfinite(V).all() or (V < 0).any():
            raise ValueError("V must be finite and non-negative")
        return V

    def fit(self, V: np.ndarray, y: None = None, W: np.ndarray | None = None,
            H: np.ndarray | None = None) -> HierarchicalFaceModel:
        """Factor ``V`` (n, k); ``W`` (n, q) and ``H`` (q, k) warm-start when both given."""
        V = self._check_V(V)
        q = int(self.n_components)
        if q < 1:
            raise ValueError(f"n_components must be >= 1, got {self.n_components}")
        for name in ("alpha_A", "alpha_B"):
            if not float(getattr(self, name)) >= 0.0:
                raise ValueError(f"{name} must be >= 0")
        with single_blas_thread():
            Wf, Hf, cost, n_iter = factorize(
                V, q, float(self.alpha_A), float(self.alpha_B), W_init=W, H_init=H,
                max_iter=int(self.max_iter), tol=float(self.tol),
                random_state=check_random_state(self.random_state))
        self.components_ = Hf
        self.A_ = Hf.T.copy()
        self.codes_ = Wf
        self.objective_ = cost
        self.n_iter_ = n_iter
        self.n_features_in_ = V.shape[1]
        return self

    def transform(self, V: np.ndarray) -> np.ndarray:
        """Codes ``Bᵀ`` (n, q) of ``V`` for fixed ``A``: non-negative lasso with penalty α_B (eq. 2)."""
        check_is_fitted(self, "components_")
        V = self._check_V(V)
        H = self.components_
        with single_blas_thread():
            return nn_lasso_gram(H @ H.T, V @ H.T, float(self.alpha_B) / 2.0,
                                 max_iter=FINAL_MAX_ITER, tol=FINAL_TOL)

    def inverse_transform(self, W: np.ndarray) -> np.ndarray:
        """``W @ components_``, shape (n, k)."""
        check_is_fitted(self, "components_")
        return np.asarray(W, dtype=np.float64) @ self.components_
