"""Fused batch encoder: correlations, exact non-negative lasso and residuals in one numba pass.

For every sample ``x_i`` (a row of ``X``, missing entries already 0) and AUs ``U`` (rows of
``components``, shape (q, f)) the kernel computes, on all cores (one GIL-free call per thread on
disjoint blocks of samples: under a loaded machine this scaled better than numba's ``prange``),

* ``c = U x_i`` (q dot products of length f),
* ``v_i = argmin ½vᵀG v − (c − λ)ᵀv, v ≥ 0`` exactly: the AUs whose correlation exceeds λ as
  the first support, then block principal pivoting (:func:`_bpp_one`, all infeasible
  variables exchanged at once) until the KKT conditions hold to ``1e-10`` of the sample's
  scale; on a degenerate support (dependent AUs, e.g. PCA's ``[U, −U]``) the sample takes the
  path of :func:`dfecs_app.core._cd.nn_lasso_gram`'s active-set solver instead (Lawson–Hanson,
  then coordinate descent when a needed AU was left out),
* ``‖x_i‖²`` and the residual ``‖x_i − Uᵀv_i‖² = ‖x_i‖² − 2vᵀc + vᵀGv`` over present entries.

Nothing of size ``n × q`` besides the codes is allocated: the correlation matrix ``X Uᵀ`` of
:func:`dfecs_app.core.encoding.encode` is never formed. ``G`` is a stack of Gram matrices, one
per mask pattern (``gidx``), exactly as in :mod:`dfecs_app.core._cd`.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
from numba import njit, prange

from dfecs_app.core._cd import _FALLBACK_TOL, _KKT_TOL, _cd_one, _kkt_one, n_threads
from dfecs_app.core._lars import (
    _chol_rebuild,
    _chol_solve,
    _nnls_finish,
    _path_one,
    _scratch,
    default_max_breakpoints,
)

#: Block principal pivoting rounds before the Lawson–Hanson fallback.
_BPP_ROUNDS = 40


@njit(cache=True, nogil=True)
def _bpp_one(G, b, v, passive, act, L, tmp, s_buf, g, tol_g):  # pragma: no cover - numba
    """Block principal pivoting (Kim & Park 2011) for ``min ½vᵀGv − bᵀv, v ≥ 0``.

    Starts from the support of ``v`` (``v ≥ 0``); each round solves the least-squares system of
    the passive set and exchanges every infeasible variable at once (a coefficient ≤ 0 in the
    passive set, a gradient ``b_j − (G v)_j > tol_g`` outside it), falling back to one
    exchange at a time (the largest index) when the count of infeasible ones stops falling.
    Returns False when the passive set's Gram block is degenerate or no convergence within
    :data:`_BPP_ROUNDS` rounds (``v`` then holds a feasible point, any ``v ≥ 0``).
    """
    q = b.shape[0]
    for j in range(q):
        passive[j] = v[j] > 0.0
    best_ninf = q + 1
    backup = 3
    for _ in range(_BPP_ROUNDS):
        n = 0
        for j in range(q):
            if passive[j]:
                act[n] = j
                n += 1
        if n > 0:
            if not _chol_rebuild(G, L, act, n):
                for j in range(q):
                    v[j] = v[j] if v[j] > 0.0 else 0.0
                return False
            for k in range(n):
                tmp[k] = b[act[k]]
            _chol_solve(L, n, tmp, s_buf)
        for j in range(q):
            v[j] = 0.0
        for k in range(n):
            v[act[k]] = s_buf[k]
        # gradient b − G v outside the passive set
        for j in range(q):
            g[j] = b[j]
        for k in range(n):
            i = act[k]
            vi = v[i]
            for j in range(q):
                g[j] -= G[i, j] * vi
        ninf = 0
        last = -1
        for j in range(q):
            if passive[j]:
                if v[j] <= 0.0:
                    ninf += 1
                    last = j
            elif G[j, j] > 0.0 and g[j] > tol_g:
                ninf += 1
                last = j
        if ninf == 0:
            return True
        if ninf < best_ninf:
            best_ninf = ninf
            backup = 3
            full = True
        elif backup > 0:
            backup -= 1
            full = True
        else:
            full = False
        if full:
            for j in range(q):
                if passive[j]:
                    if v[j] <= 0.0:
                        passive[j] = False
                elif G[j, j] > 0.0 and g[j] > tol_g:
                    passive[j] = True
        else:
            passive[last] = not passive[last]
    for j in range(q):
        if v[j] < 0.0:
            v[j] = 0.0
    return False


@njit(cache=True, nogil=True, fastmath=True)
def encode_fused(X, U, G, gidx, lam, V, yy, rss, fallback, max_iter, start,
                 stop):  # pragma: no cover - numba
    """Encode rows ``start:stop`` of ``X`` (n, f) on ``U`` (q, f); fill ``V``, ``yy``, ``rss``.

    Releases the GIL: :func:`encode_batch` runs one call per thread on disjoint row ranges.
    """
    f = X.shape[1]
    q = U.shape[0]
    c = np.empty(q)
    h = np.empty(q)
    b = np.empty(q)
    g = np.empty(q)
    tmp = np.empty(q)
    s_buf = np.empty(q)
    act = np.empty(q, dtype=np.int64)
    banned = np.empty(q, dtype=np.bool_)
    passive = np.empty(q, dtype=np.bool_)
    L = np.empty((q, q))
    for i in range(start, stop):
        x = X[i]
        s = 0.0
        for t in range(f):
            s += x[t] * x[t]
        yy[i] = s
        scale = lam
        for j in range(q):
            u = U[j]
            s = 0.0
            for t in range(f):
                s += u[t] * x[t]
            c[j] = s
            b[j] = s - lam
            a = abs(s)
            if a > scale:
                scale = a
        Gg = G[gidx[i]]
        v = V[i]
        for j in range(q):
            v[j] = 0.0
        tol_g = _KKT_TOL * scale
        # first passive set: the AUs positively correlated with the sample (beyond λ)
        for j in range(q):
            v[j] = 1.0 if b[j] > 0.0 and Gg[j, j] > 0.0 else 0.0
        if not _bpp_one(Gg, b, v, passive, act, L, tmp, s_buf, g, tol_g):
            # degenerate support (dependent AUs): the path of core/_cd.py's active-set
            # solver, from its own two-sweep guess
            for j in range(q):
                v[j] = 0.0
            _cd_one(Gg, c, lam, v, h, 2, 0.0)
            if _nnls_finish(Gg, b, v, act, L, tmp, s_buf, g, banned, tol_g, 3 * q + 10,
                            True) < 0:
                for j in range(q):
                    v[j] = 0.0
                _nnls_finish(Gg, b, v, act, L, tmp, s_buf, g, banned, tol_g, 3 * q + 10,
                             False)
        if _kkt_one(Gg, b, v, g) > tol_g:  # e.g. an ill-conditioned support
            _cd_one(Gg, c, lam, v, h, max_iter, _FALLBACK_TOL)
            fallback[i] = True
        # residual over present entries: ‖x‖² − 2 vᵀc + vᵀ G v
        r = yy[i]
        for j in range(q):
            vj = v[j]
            if vj != 0.0:
                s = 0.0
                for k in range(q):
                    s += Gg[j, k] * v[k]
                r += vj * (s - 2.0 * c[j])
        rss[i] = r if r > 0.0 else 0.0


def encode_batch(X: np.ndarray, components: np.ndarray, G: np.ndarray, gidx: np.ndarray,
                 lam: float, max_iter: int = 1000
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Run :func:`encode_fused`.

    Parameters
    ----------
    X : ndarray, shape (n, f)
        Samples with missing entries set to 0.
    components : ndarray, shape (q, f)
    G : ndarray, shape (n_patterns, q, q)
        Gram matrices over each mask pattern's present entries.
    gidx : ndarray of int64, shape (n,)
    lam : float
        Penalty of the ½-scaled loss (``α / 2`` for eq. 3).
    max_iter : int
        Coordinate sweeps of the fallback.

    Returns
    -------
    V : ndarray, shape (n, q)
    yy : ndarray, shape (n,)
        ``‖x‖²`` over present entries.
    rss : ndarray, shape (n,)
        ``‖x − Vᵢ U‖²`` over present entries.
    fallback : ndarray of bool, shape (n,)
    """
    X = np.ascontiguousarray(X, dtype=np.float64)
    n = X.shape[0]
    q = components.shape[0]
    V = np.zeros((n, q))
    yy = np.zeros(n)
    rss = np.zeros(n)
    fallback = np.zeros(n, dtype=bool)
    if n and q:
        args = (X, np.ascontiguousarray(components, dtype=np.float64),
                np.ascontiguousarray(G, dtype=np.float64),
                np.ascontiguousarray(gidx, dtype=np.int64), float(lam), V, yy, rss, fallback,
                int(max_iter))
        jobs = n_threads()
        if jobs == 1 or n < 4096:
            encode_fused(*args, 0, n)
        else:
            bounds = np.linspace(0, n, jobs + 1).astype(np.int64)
            with ThreadPoolExecutor(max_workers=jobs) as pool:
                futures = [pool.submit(encode_fused, *args, int(bounds[t]), int(bounds[t + 1]))
                           for t in range(jobs)]
                for fut in futures:
                    fut.result()
    return V, yy, rss, fallback


@njit(parallel=True, cache=True, nogil=True)
def _max_active_batch(G, gidx, C, yy, k_max, max_bp, V, rss):  # pragma: no cover - numba
    """Codes with at most ``k_max`` active AUs: the best point of each sample's LARS path."""
    n = C.shape[0]
    q = C.shape[1]
    n_blocks = min(n, 256)
    for blk in prange(n_blocks):
        start = blk * n // n_blocks
        stop = (blk + 1) * n // n_blocks
        beta, cov, act, in_act, excluded, blocked, L, x, w, a, tmp, g, s_buf = _scratch(q)
        bp_nnz = np.zeros(max_bp, dtype=np.int64)
        bp_l1 = np.zeros(max_bp)
        bp_rss = np.zeros(max_bp)
        bp_corr = np.zeros(max_bp)
        bp_coef = np.zeros((max_bp, q))
        for i in range(start, stop):
            n_bp, final_rss, l1, nnz = _path_one(G[gidx[i]], C[i], yy[i], max_bp, beta, cov, act,
                                                 in_act, excluded, blocked, L, x, w, a, tmp, g,
                                                 s_buf, bp_nnz, bp_l1, bp_rss, bp_corr, bp_coef,
                                                 True)
            if nnz <= k_max:
                for j in range(q):
                    V[i, j] = beta[j]
                rss[i] = final_rss
                continue
            best = 0
            for b in range(n_bp):
                if bp_nnz[b] <= k_max and bp_rss[b] <= bp_rss[best]:
                    best = b
            for j in range(q):
                V[i, j] = bp_coef[best, j]
            rss[i] = bp_rss[best]


def encode_max_active(G: np.ndarray, gidx: np.ndarray, C: np.ndarray, yy: np.ndarray,
                      k_max: int) -> tuple[np.ndarray, np.ndarray]:
    """Codes with at most ``k_max`` non-zero AUs from the positive LARS-lasso path.

    Per sample, the NNLS end point when it has at most ``k_max`` non-zeros, otherwise the path
    breakpoint with at most ``k_max`` non-zeros and the smallest RSS: exactly the point whose
    RSS :func:`dfecs_app.core.evaluation.path_curves` reports as "VE with k or fewer AUs".

    Parameters
    ----------
    G : ndarray, shape (n_patterns, q, q)
    gidx : ndarray of int64, shape (n,)
    C : ndarray, shape (n, q)
        ``U x`` per sample (masked).
    yy : ndarray, shape (n,)
    k_max : int

    Returns
    -------
    V : ndarray, shape (n, q)
    rss : ndarray, shape (n,)
    """
    C = np.ascontiguousarray(C, dtype=np.float64)
    n, q = C.shape
    V = np.zeros((n, q))
    rss = np.zeros(n)
    if n and q:
        _max_active_batch(np.ascontiguousarray(G, dtype=np.float64),
                          np.ascontiguousarray(gidx, dtype=np.int64), C,
                          np.ascontiguousarray(yy, dtype=np.float64), int(k_max),
                          default_max_breakpoints(q), V, rss)
    return V, rss
