"""Part Face Model (paper §2.3.1, eq. 1): dictionary learning with non-negative sparse codes.

For the KPM columns ``X_f`` (n, p) of one face part (or of all parts) it solves

``min_{D, V}  ½‖X_f − V D‖²_F + α‖V‖₁   s.t. ‖d_j‖₂ ≤ 1, V ≥ 0``

with samples in rows: ``D`` (k, p) holds the atoms (the paper's ``U_fᵀ``), ``V`` (n, k) the
codes (``V_fᵀ``). The paper's α is used as is (eq. 1 has the ½, like scikit-learn's
``DictionaryLearning``).

Algorithm: alternate (a) the code step, a non-negative lasso on the Gram matrix ``D Dᵀ``
(:mod:`dfecs_app.core._cd`, warm-started from the previous codes) and (b) one pass of block
coordinate descent over the atoms, each projected on the unit ball (scikit-learn's
``_update_dict``; an atom no sample uses is re-drawn from the data). The loop stops when the
objective decreases by less than ``tol`` times its value, as scikit-learn's ``dict_learning``.
The objective is evaluated from ``VᵀV`` and ``VᵀX`` at O(k²p) per iteration.

Each code step runs only a few coordinate sweeps (warm-started, so the objective still
decreases monotonically) and each atom update several passes (they cost O(k²p), independent
of n); the returned codes come from one last, tight code step on the final atoms.

Initialisation: scikit-learn's (singular vectors scaled by the singular values, ``svd_flip``
signs), so a fit starts where ``DictionaryLearning`` starts; ``dict_init`` / ``code_init``
warm-start instead.

Missing keypoints: entries whose mask is False take no part in the loss (codes are solved on
the present entries with one masked Gram matrix per mask pattern; the atom update weighs each
feature by its present entries). Columns missing in every sample are left at 0 in the atoms.
"""

from __future__ import annotations

import numpy as np
from numba import njit
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils import check_random_state
from sklearn.utils.extmath import svd_flip
from sklearn.utils.validation import check_is_fitted

from dfecs_app.core._cd import nn_lasso_gram, single_blas_thread
from dfecs_app.core.encoding import masked_grams
from dfecs_app.core.landmarks import N_FEATURES, PART_FEATURES
from dfecs_app.core.metrics import feature_mask, variance_explained

#: Coordinate-descent settings of the code step (per sample).
CODE_TOL = 1e-6
CODE_MAX_ITER = 3
#: ... and of the final code step that gives the returned codes.
FINAL_CODE_TOL = 1e-8
FINAL_CODE_MAX_ITER = 1000
#: Atom-update passes per code step (cheap: they only use VᵀV and VᵀX).
DICT_PASSES = 5


@njit(cache=True, nogil=True)
def _update_dict(D, A, B):  # pragma: no cover - numba
    """One BCD pass over the atoms ``D`` (k, p) given ``A = VᵀV`` and ``B = VᵀX``.

    Returns a bool array flagging atoms no sample uses (``A_jj ≤ 1e-6``), left unchanged.
    """
    k, p = D.shape
    dead = np.zeros(k, dtype=np.bool_)
    for j in range(k):
        ajj = A[j, j]
        if ajj <= 1e-6:
            dead[j] = True
            continue
        for c in range(p):
            s = B[j, c]
            for m in range(k):
                s -= A[j, m] * D[m, c]
            D[j, c] += s / ajj
        nrm = 0.0
        for c in range(p):
            nrm += D[j, c] * D[j, c]
        nrm = np.sqrt(nrm)
        if nrm > 1.0:
            for c in range(p):
                D[j, c] /= nrm
    return dead


@njit(cache=True, nogil=True)
def _update_dict_masked(D, V, X, M):  # pragma: no cover - numba
    """BCD pass over atoms with a feature mask ``M`` (n, p) (1.0 present, 0.0 missing)."""
    n, p = X.shape
    k = D.shape[0]
    R = np.empty((n, p))
    for i in range(n):
        for c in range(p):
            s = X[i, c]
            for j in range(k):
                s -= V[i, j] * D[j, c]
            R[i, c] = s * M[i, c]
    dead = np.zeros(k, dtype=np.bool_)
    new = np.empty(p)
    for j in range(k):
        used = 0.0
        for i in range(n):
            used += V[i, j] * V[i, j]
        if used <= 1e-6:
            dead[j] = True
            continue
        for c in range(p):
            num = 0.0
            den = 0.0
            for i in range(n):
                w = M[i, c] * V[i, j]
                num += w * R[i, c]
                den += w * V[i, j]
            new[c] = D[j, c] + num / den if den > 1e-12 else D[j, c]
        nrm = 0.0
        for c in range(p):
            nrm += new[c] * new[c]
        nrm = np.sqrt(nrm)
        if nrm > 1.0:
            for c in range(p):
                new[c] /= nrm
        for c in range(p):
            d = new[c] - D[j, c]
            if d != 0.0:
                for i in range(n):
                    R[i, c] -= M[i, c] * V[i, j] * d
                D[j, c] = new[c]
    return dead


def svd_init(X: np.ndarray, k: int) -> np.ndarray:
    """Initial atoms (k, p): the top right singular vectors scaled by their singular values.

    The same start as scikit-learn's ``dict_learning`` (signs fixed by ``svd_flip``; zero
    atoms pad when ``k`` exceeds the rank and are re-drawn from the data once unused).

    Parameters
    ----------
    X : ndarray, shape (n, p)
        Data (missing entries already set to 0).
    k : int

    Returns
    -------
    D : ndarray, shape (k, p)
    """
    U, S, Vt = np.linalg.svd(X, full_matrices=False)
    U, Vt = svd_flip(U, Vt)
    D = S[:, None] * Vt
    if k <= D.shape[0]:
        return np.ascontiguousarray(D[:k])
    return np.ascontiguousarray(np.vstack([D, np.zeros((k - D.shape[0], X.shape[1]))]))


def code_step(
    X: np.ndarray, D: np.ndarray, lam: float, V0: np.ndarray | None, fmask: np.ndarray | None,
    *, final: bool = True,
) -> np.ndarray:
    """Non-negative lasso codes (½ convention, penalty ``lam``) of ``X`` (n, p) on atoms ``D``.

    ``final=False`` runs the few warm-started sweeps of an inner iteration.
    """
    max_iter, tol = (FINAL_CODE_MAX_ITER, FINAL_CODE_TOL) if final else (CODE_MAX_ITER, CODE_TOL)
    if fmask is None:
        return nn_lasso_gram(D @ D.T, X @ D.T, lam, V0, max_iter=max_iter, tol=tol, n_jobs=1)
    G, gidx = masked_grams(D, fmask)
    return nn_lasso_gram(G, np.where(fmask, X, 0.0) @ D.T, lam, V0, gidx=gidx,
                         max_iter=max_iter, tol=tol, n_jobs=1)


def learn_dictionary(
    X: np.ndarray,
    k: int,
    alpha: float,
    *,
    fmask: np.ndarray | None = None,
    dict_init: np.ndarray | None = None,
    code_init: np.ndarray | None = None,
    max_iter: int = 1000,
    tol: float = 1e-8,
    random_state: np.random.RandomState | None = None,
) -> tuple[np.ndarray, np.ndarray, float, int]:
    """Solve eq. 1 on ``X`` (n, p); the core of :class:`PartFaceModel`.

    Parameters
    ----------
    X : ndarray, shape (n, p)
    k : int
        Number of atoms.
    alpha : float
        Sparsity penalty of eq. 1 (½ convention).
    fmask : ndarray of bool, shape (n, p), optional
        Present entries (None: all present).
    dict_init : ndarray, shape (k, p), optional
    code_init : ndarray, shape (n, k), optional
    max_iter, tol : int, float
        Outer iterations and relative objective decrease at which to stop.
    random_state : RandomState, optional
        Draws replacements for unused atoms.

    Returns
    -------
    D : ndarray, shape (k, p)
        Atoms, ``‖d_j‖ ≤ 1``.
    V : ndarray, shape (n, k)
        Codes of ``X`` on the final atoms (one last code step).
    cost : float
        Objective of eq. 1 at ``(D, V)``.
    n_iter : int
    """
    rng = check_random_state(random_state)
    n, p = X.shape
    if fmask is not None:
        X = np.where(fmask, X, 0.0)
        Mf = fmask.astype(np.float64)
    if dict_init is None:
        D = svd_init(X, k)
    else:
        D = np.array(dict_init, dtype=np.float64, order="C", copy=True)
        norms = np.maximum(np.linalg.norm(D, axis=1), 1.0)
        D /= norms[:, None]
    V = None if code_init is None else np.asarray(code_init, dtype=np.float64)
    prev = np.inf
    xx = float(np.einsum("ij,ij->", X, X))
    n_iter = 0
    for n_iter in range(1, max_iter + 1):  # noqa: B007 - n_iter is returned
        V = code_step(X, D, alpha, V, fmask, final=False)
        if fmask is None:
            A = V.T @ V
            B = V.T @ X
            dead = _update_dict(D, A, B)
            for _ in range(DICT_PASSES - 1):
                _update_dict(D, A, B)
            cost = 0.5 * (xx - 2.0 * np.einsum("ij,ij->", B, D)
                          + np.einsum("ij,ij->", D @ D.T, A)) + alpha * V.sum()
        else:
            dead = _update_dict_masked(D, V, X, Mf)
            R = (X - V @ D) * Mf
            cost = 0.5 * float(np.einsum("ij,ij->", R, R)) + alpha * V.sum()
        if dead.any():
            for j in np.flatnonzero(dead):
                row = X[rng.randint(n)]
                noise = rng.normal(0.0, 0.01 * (row.std() or 1.0), size=p)
                D[j] = row + noise
                D[j] /= max(np.linalg.norm(D[j]), 1.0)
                V[:, j] = 0.0
        if prev - cost < tol * cost:
            break
        prev = cost
    V = code_step(X, D, alpha, V, fmask)
    if fmask is None:
        R = X - V @ D
    else:
        R = (X - V @ D) * Mf
    cost = 0.5 * float(np.einsum("ij,ij->", R, R)) + alpha * float(V.sum())
    return D, V, cost, n_iter


class PartFaceModel(TransformerMixin, BaseEstimator):
    """Dictionary learning with unit-norm atoms and non-negative sparse codes (eq. 1).

    Parameters
    ----------
    n_components : int
        Number of atoms ``k_f``.
    alpha : float
        Sparsity penalty α of eq. 1 (½-scaled squared error, as in the paper and scikit-learn).
    part : str, optional
        A face part of :data:`dfecs_app.core.landmarks.FACE_PARTS`: ``fit`` then takes full
        ``(n, 136)`` KPMs and uses that part's columns. None: all columns of ``X`` as given.
    dict_init : ndarray, shape (n_components, p), optional
        Initial atoms (warm start); default: signed-SVD initialisation.
    code_init : ndarray, shape (n_samples, n_components), optional
        Initial codes (warm start).
    max_iter : int
        Maximum alternations (code step + atom update).
    tol : float
        Stop when the objective decreases by less than ``tol`` times its value.
    random_state : int, RandomState or None
        Seeds the re-drawing of unused atoms.

    Attributes
    ----------
    components_ : ndarray, shape (n_components, p)
        Atoms as rows (``U_fᵀ``), ``‖u_j‖ ≤ 1``.
    features_ : ndarray of int, shape (p,)
        Columns of the 136-vector the atoms live on (``arange(p)`` when ``part`` is None).
    codes_ : ndarray, shape (n_samples, n_components)
        Training codes (``V_fᵀ``).
    ve_train_ : float
        Percent variance explained of the training data (present entries).
    objective_ : float
        Final value of eq. 1.
    n_iter_ : int
    n_features_in_ : int
    """

    def __init__(
        self,
        n_components: int = 5,
        *,
        alpha: float = 1.0,
        part: str | None = None,
        dict_init: np.ndarray | None = None,
        code_init: np.ndarray | None = None,
        max_iter: int = 1000,
        tol: float = 1e-8,
        random_state: int | np.random.RandomState | None = None,
    ) -> None:
        self.n_components = n_components
        self.alpha = alpha
        self.part = part
        self.dict_init = dict_init
        self.code_init = code_init
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state

    # -- helpers ------------------------------------------------------------------------------
    def _columns(self, X: np.ndarray, mask: np.ndarray | None):
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2:
            raise ValueError(f"X must be 2-D, got shape {X.shape}")
        if not np.isfinite(X).all():
            raise ValueError("X contains NaN or inf")
        fmask = feature_mask(mask, X.shape)
        if self.part is None:
            return X, fmask, np.arange(X.shape[1])
        if self.part not in PART_FEATURES:
            raise ValueError(f"unknown face part {self.part!r}")
        if X.shape[1] != N_FEATURES:
            raise ValueError(f"part models take (n, {N_FEATURES}) KPMs, got {X.shape}")
        cols = PART_FEATURES[self.part]
        fm = None if fmask is None else fmask[:, cols]
        if fm is not None and fm.all():
            fm = None
        return X[:, cols], fm, cols

    # -- estimator API ------------------------------------------------------------------------
    def fit(self, X: np.ndarray, y: None = None, mask: np.ndarray | None = None) -> PartFaceModel:
        """Learn the atoms from ``X`` (n, p) or (n, 136) with ``part``; ``mask`` marks present keypoints."""
        Xf, fm, cols = self._columns(X, mask)
        k = int(self.n_components)
        if not 1 <= k:
            raise ValueError(f"n_components must be >= 1, got {self.n_components}")
        if not float(self.alpha) >= 0.0:
            raise ValueError(f"alpha must be >= 0, got {self.alpha}")
        if fm is not None and not fm.any():
            raise ValueError("every entry of this face part is missing")
        # columns missing in every sample (e.g. DISFA's 60/64) stay 0 in the atoms
        keep = np.ones(Xf.shape[1], dtype=bool) if fm is None else fm.any(axis=0)
        fk = None if fm is None else fm[:, keep]
        if fk is not None and fk.all():
            fk = None
        dict_init = None if self.dict_init is None else np.asarray(self.dict_init)[:, keep]
        with single_blas_thread():
            Dk, V, cost, n_iter = learn_dictionary(
                Xf[:, keep], k, float(self.alpha), fmask=fk, dict_init=dict_init,
                code_init=self.code_init, max_iter=int(self.max_iter), tol=float(self.tol),
                random_state=check_random_state(self.random_state))
        D = np.zeros((k, Xf.shape[1]))
        D[:, keep] = Dk
        self.components_ = D
        self.codes_ = V
        self.features_ = np.asarray(cols)
        self.objective_ = cost
        self.n_iter_ = n_iter
        self.n_features_in_ = X.shape[1]
        self.ve_train_ = variance_explained(Xf, V @ D, fm)
        return self

    def transform(self, X: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
        """Non-negative lasso codes (eq. 1 convention, penalty ``alpha``), shape (n, k)."""
        check_is_fitted(self, "components_")
        Xf, fm, _ = self._columns(X, mask)
        with single_blas_thread():
            return code_step(Xf if fm is None else np.where(fm, Xf, 0.0), self.components_,
                             float(self.alpha), None, fm)

    def inverse_transform(self, codes: np.ndarray) -> np.ndarray:
        """``codes @ components_``, shape (n, p)."""
        check_is_fitted(self, "components_")
        return np.asarray(codes, dtype=np.float64) @ self.components_
