"""Positive-lasso encoding of KPM samples on an AU matrix (paper §3.2, eq. 3–4).

For each sample ``y_i`` (a row of ``X``) and AUs as rows of ``components`` (``Uᵀ``, shape
(q, n_features)) this solves eq. 4 of the paper,

``min_v  ‖y_i − U v‖² + α‖v‖₁   s.t. v ≥ 0``,

**without** a ½ on the squared error, exactly as written in eq. 3–4. The solver
(:mod:`dfecs_app.core._cd`) works with the ½-scaled loss, so ``encode(..., alpha=α)`` runs it
with ``λ = α / 2``; scikit-learn's ``Lasso(alpha=a, positive=True)``, whose loss is
``1/(2·n_features)‖y − Uv‖² + a‖v‖₁``, gives the same codes for ``a = α / (2·n_features)``.
``alpha = 0`` is non-negative least squares (``scipy.optimize.nnls``).

Missing keypoints (a mask) take no part in the loss: a sample with mask ``m`` solves
``min ‖m ⊙ (y − U v)‖² + α‖v‖₁``. Samples sharing a mask pattern share one masked Gram matrix.
"""

from __future__ import annotations

import numpy as np

from dfecs_app.core._cd import nn_lasso_gram, single_blas_thread
from dfecs_app.core._nnls import encode_batch
from dfecs_app.core.metrics import feature_mask, mask_patterns


def _check_components(components: np.ndarray, n_features: int) -> np.ndarray:
    components = np.asarray(components, dtype=np.float64)
    if components.ndim != 2 or components.shape[1] != n_features:
        raise ValueError(
            f"components must have shape (q, {n_features}), got {components.shape}")
    if not np.isfinite(components).all():
        raise ValueError("components contain NaN or inf")
    return components


def _check_inputs(X: np.ndarray, components: np.ndarray, alpha: float,
                  mask: np.ndarray | None, *, fused: bool = False
                  ) -> tuple[np.ndarray, np.ndarray, float, np.ndarray | None]:
    """``X`` (n, p) finite float64, ``components`` (q, p), ``alpha`` ≥ 0 and the (n, p) feature
    mask (None: all present) of :func:`encode` and :func:`encode_frames`; ValueError otherwise.

    ``fused``: the fused kernel will encode an unmasked ``X`` and finds NaN/inf itself
    (:func:`dfecs_app.core._nnls.encode_batch`), so the separate pass over ``X`` is skipped.
    """
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2:
        raise ValueError(f"X must be 2-D (n_samples, n_features), got shape {X.shape}")
    components = _check_components(components, X.shape[1])
    alpha = float(alpha)
    if not alpha >= 0.0:
        raise ValueError(f"alpha must be >= 0, got {alpha}")
    fmask = feature_mask(mask, X.shape)
    if not (fused and fmask is None) and not np.isfinite(X).all():
        raise ValueError("X contains NaN or inf")
    return X, components, alpha, fmask


def masked_grams(
    components: np.ndarray, fmask: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    """Gram matrices of the AUs over the present features of each mask pattern.

    Patterns are found by :func:`dfecs_app.core.metrics.mask_patterns`.

    Parameters
    ----------
    components : ndarray, shape (q, n_features)
    fmask : ndarray of bool, shape (n, n_features), or None

    Returns
    -------
    G : ndarray, shape (n_patterns, q, q)
        ``Uᵀ diag(m_p) U`` per distinct mask pattern ``m_p`` (one unmasked matrix if no mask).
    gidx : ndarray of int64, shape (n,) or (0,)
        Pattern of each sample (empty when ``fmask`` is None).
    """
    if fmask is None:
        return (components @ components.T)[None], np.zeros(0, dtype=np.int64)
    patterns, gidx = mask_patterns(fmask)
    G = np.einsum("pf,af,bf->pab", patterns.astype(np.float64), components, components,
                  optimize=True)
    return np.ascontiguousarray(G), gidx


def encode(
    X: np.ndarray,
    components: np.ndarray,
    alpha: float = 0.0,
    mask: np.ndarray | None = None,
    *,
    init: np.ndarray | None = None,
    max_iter: int = 1000,
    tol: float = 1e-6,
    n_jobs: int | None = None,
    solver: str = "active_set",
) -> np.ndarray:
    """Non-negative sparse codes of ``X`` on ``components`` (eq. 3–4, no ½).

    Parameters
    ----------
    X : ndarray, shape (n_samples, n_features)
        KPM samples as rows (``n_features`` = 136 for full-face KPMs).
    components : ndarray, shape (q, n_features)
        AUs as rows.
    alpha : float
        The paper's α of eq. 3 (≥ 0); 0 gives non-negative least squares.
    mask : ndarray of bool, shape (n_samples, 68) or (n_samples, n_features), optional
        Present keypoints; missing entries take no part in the loss.
    init : ndarray, shape (n_samples, q), optional
        Warm start.
    max_iter : int
        Maximum coordinate-descent sweeps per sample (``solver='cd'``, or the active-set
        solver's fallback on a degenerate Gram block).
    tol : float
        Coordinate-descent stopping tolerance: largest coordinate change ≤ ``tol · max(v)``.
    n_jobs : int, optional
        Threads (default: all available cores, up to 8).
    solver : {'active_set', 'cd'}
        ``'active_set'`` (default) solves each sample exactly (KKT conditions met to
        ``1e-10`` of the sample's scale, see :func:`dfecs_app.core._cd.nn_lasso_gram`);
        ``'cd'`` runs plain coordinate descent to ``tol``.

    Returns
    -------
    codes : ndarray, shape (n_samples, q)
        Non-negative encodings.
    """
    fused = solver == "active_set" and init is None and n_jobs is None
    X, components, alpha, fmask = _check_inputs(X, components, alpha, mask, fused=fused)
    if init is not None:
        init = np.asarray(init, dtype=np.float64)
        if init.shape != (X.shape[0], components.shape[0]):
            raise ValueError(f"init must have shape {(X.shape[0], components.shape[0])}")
    if fused:
        return _encode_fused(X, components, alpha, fmask, max_iter)[0]
    with single_blas_thread():
        Xm = X if fmask is None else np.where(fmask, X, 0.0)
        C = Xm @ components.T
        G, gidx = masked_grams(components, fmask)
        return nn_lasso_gram(G, C, alpha / 2.0, init, gidx=gidx if fmask is not None else None,
                             max_iter=max_iter, tol=tol, n_jobs=n_jobs, solver=solver)


def encode_frames(
    X: np.ndarray,
    components: np.ndarray,
    alpha: float = 0.0,
    mask: np.ndarray | None = None,
    *,
    max_iter: int = 1000,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Exact codes of eq. 3–4 with each sample's squared norm and residual (one fused pass).

    The default path of :func:`encode` (``solver='active_set'``, no ``init``, no ``n_jobs``):
    the correlations, the active-set solve and the residual of every sample are computed in
    one numba kernel on all cores (:mod:`dfecs_app.core._nnls`), never forming ``X Uᵀ``.

    Parameters
    ----------
    X : ndarray, shape (n_samples, n_features)
    components : ndarray, shape (q, n_features)
    alpha : float
        α of eq. 3 (≥ 0); 0 is NNLS.
    mask : ndarray of bool, shape (n_samples, 68) or (n_samples, n_features), optional
    max_iter : int
        Coordinate sweeps of the fallback on a degenerate support.

    Returns
    -------
    codes : ndarray, shape (n_samples, q)
    yy : ndarray, shape (n_samples,)
        ``‖x‖²`` over present entries.
    rss : ndarray, shape (n_samples,)
        ``‖x − codes·components‖²`` over present entries.
    """
    X, components, alpha, fmask = _check_inputs(X, components, alpha, mask, fused=True)
    return _encode_fused(X, components, alpha, fmask, max_iter)


def _encode_fused(X: np.ndarray, components: np.ndarray, alpha: float,
                  fmask: np.ndarray | None, max_iter: int
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`encode_frames` on inputs :func:`_check_inputs` has checked."""
    Xm = X if fmask is None else np.where(fmask, X, 0.0)
    G, gidx = masked_grams(components, fmask)
    if fmask is None:
        gidx = np.zeros(X.shape[0], dtype=np.int64)
    with single_blas_thread():
        codes, yy, rss, _ = encode_batch(Xm, components, G, gidx, alpha / 2.0, max_iter)
    return codes, yy, rss


def reconstruct(codes: np.ndarray, components: np.ndarray) -> np.ndarray:
    """``codes @ components``: the KPMs the codes stand for, shape (n_samples, n_features)."""
    codes = np.asarray(codes, dtype=np.float64)
    components = np.asarray(components, dtype=np.float64)
    if codes.ndim != 2 or components.ndim != 2 or codes.shape[1] != components.shape[0]:
        raise ValueError(
            f"codes {codes.shape} and components {components.shape} do not fit together")
    return codes @ components


def objective(
    X: np.ndarray, codes: np.ndarray, components: np.ndarray, alpha: float,
    mask: np.ndarray | None = None,
) -> float:
    """Value of eq. 3, ``‖X − V Uᵀ‖²_F + α‖V‖₁`` over present entries."""
    R = np.asarray(X, dtype=np.float64) - reconstruct(codes, components)
    fmask = feature_mask(mask, R.shape)
    if fmask is not None:
        R = np.where(fmask, R, 0.0)
    return float(np.einsum("ij,ij->", R, R) + alpha * np.abs(codes).sum())
