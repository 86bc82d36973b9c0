"""Fused batch encoder: correlations, exact non-negative lasso and residuals in one numba pass.

For every sample ``x_i`` (a row of ``X``, missing entries already 0) and AUs ``U`` (rows of
``components``, shape (q, f)) the kernel computes, on all cores (one GIL-free call per thread on
disjoint blocks of samples: under a loaded machine this scaled better than numba's ``prange``),

* ``c = U x_i`` (q dot products of length f, four AUs per pass over ``x_i``) and ``‖x_i‖²``,
* ``v_i = argmin ½vᵀG v − (c − λ)ᵀv, v ≥ 0`` exactly, by block principal pivoting (Kim & Park
  2011) on a *pivoting tableau* (:func:`_bpp_tableau`): the linear complementarity problem
  ``w = G v − b, v ≥ 0, w ≥ 0, vᵀw = 0`` is kept as ``[v_P; w_Z] = M [w_P; v_Z] + r`` for the
  current passive set ``P``, so that ``v_P = r_P`` and ``−w_Z = r_Z`` (the gradient outside
  ``P``) are read off ``r`` and moving one AU in or out of ``P`` is one principal pivot of
  ``M`` (O(q²), fixed-length loops that vectorize). The tableau starts from the unconstrained
  solution (``M = G⁻¹``, precomputed per mask pattern), from the empty set (``M = G``) or
  from the previous row's final tableau, whichever is fewer pivots from the first passive set
  (the AUs with a positive unconstrained coefficient): consecutive video frames mostly share
  their passive set, so a frame of a track costs 3.4 pivots instead of 10.8 (a fresh tableau
  every :data:`WARM_BLOCK` rows). The answer is then certified from ``G`` directly (KKT
  conditions to ``1e-10`` of the sample's scale). A sample the tableau cannot certify (a
  degenerate pivot: dependent AUs, e.g. PCA's ``[U, −U]``; rounding on an ill-conditioned
  Gram matrix) is solved again by the Cholesky form of the same method (:func:`_bpp_one`),
  then by the path of :func:`dfecs_app.core._cd.nn_lasso_gram`'s active-set solver
  (Lawson–Hanson, then coordinate descent when a needed AU was left out),
* the residual ``‖x_i − Uᵀv_i‖² = ‖x_i‖² − 2vᵀc + vᵀGv`` over present entries, with
  ``G v = b − g`` taken from the certified gradient ``g``.

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
    _PIVOT_TOL,
    _chol_rebuild,
    _chol_solve,
    _nnls_finish,
    _path_one,
    _scratch,
    default_max_breakpoints,
)
from dfecs_app.core._numba_cache import drop_stale

drop_stale(__file__, "_cd.py", "_lars.py")  # their kernels are compiled into this one's cache

#: How a sample was solved (``route`` of :func:`encode_batch`): certified on the pivoting
#: tableau; by the Cholesky form or Lawson–Hanson; or coordinate descent was needed.
ROUTE_TABLEAU, ROUTE_CHOLESKY, ROUTE_CD = 0, 1, 2
#: Block principal pivoting rounds before the Lawson–Hanson fallback.
_BPP_ROUNDS = 40
#: Full-exchange rounds allowed without fewer infeasible variables before single exchanges.
_BACKUP_ROUNDS = 3
#: Rows from one fresh tableau: :func:`encode_fused` starts a row from the previous row's
#: tableau (consecutive frames share their passive set) except at multiples of this, where
#: :func:`encode_batch` also splits rows between threads, so that a code depends on the rows
#: before it in its block (in its last bits: the same solution reached by other pivots),
#: never on the number of threads; and the rounding of a tableau pivoted for many rows stays
#: bounded.
WARM_BLOCK = 256


@njit(cache=True, nogil=True, inline="always")
def _exchange_rule(ninf, best_ninf, backup):  # pragma: no cover - numba
    """Kim & Park's exchange rule: ``(full, best_ninf, backup)`` for this round.

    Every infeasible variable is exchanged (``full``) while their count ``ninf`` falls, and
    for :data:`_BACKUP_ROUNDS` more rounds after it stops falling; then one at a time.
    """
    if ninf < best_ninf:
        return True, ninf, _BACKUP_ROUNDS
    if backup > 0:
        return True, best_ninf, backup - 1
    return False, best_ninf, backup


@njit(cache=True, nogil=True, inline="always")
def _infeasible(in_p, r, g_diag, tol_g):  # pragma: no cover - numba
    """Whether an AU breaks complementarity, without a branch, from the tableau's ``r``:
    ``v_j = r ≤ 0`` in the passive set, a gradient ``g_j = −r > tol_g`` outside it (an AU
    with ``G_jj = g_diag = 0`` cannot move). Both block principal pivoting forms use it."""
    return (in_p & (r <= 0.0)) | ((not in_p) & (g_diag > 0.0) & (-r > tol_g))


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
    backup = _BACKUP_ROUNDS
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
        n = 0
        for j in range(q):  # list the infeasible AUs (act is free until the next round)
            act[n] = j
            n += _infeasible(passive[j], v[j] if passive[j] else -g[j], G[j, j], tol_g)
        if n == 0:
            return True
        full, best_ninf, backup = _exchange_rule(n, best_ninf, backup)
        if not full:  # one at a time: the largest index
            act[0] = act[n - 1]
            n = 1
        for t in range(n):
            passive[act[t]] = not passive[act[t]]
    for j in range(q):
        if v[j] < 0.0:
            v[j] = 0.0
    return False


#: A pivot that brings an AU into the passive set needs its Schur complement above this
#: fraction of its Gram diagonal: the Cholesky form's test (core/_lars.py).
_TABLEAU_PIVOT_TOL = _PIVOT_TOL * _PIVOT_TOL


@njit(cache=True, nogil=True, fastmath=True, inline="always")
def _pivot(M, r, k, row):  # pragma: no cover - numba
    """Principal pivot of the tableau ``(M, r)`` on index ``k`` (``row`` scratch, length q).

    ``[y] = M [x] + r`` becomes the tableau with ``x_k`` and ``y_k`` exchanged; O(q²).
    """
    q = r.shape[0]
    inv = 1.0 / M[k, k]
    for j in range(q):
        row[j] = M[k, j] * inv
    rk = r[k] * inv
    for i in range(q):  # row k too (overwritten below): no branch in the loop
        mik = M[i, k]
        for j in range(q):
            M[i, j] -= mik * row[j]
        M[i, k] = mik * inv
        r[i] -= mik * rk
    for j in range(q):
        M[k, j] = -row[j]
    M[k, k] = inv
    r[k] = -rk


@njit(cache=True, nogil=True, fastmath=True, inline="always")
def _bpp_tableau(G, Ginv, has_inv, b, v, in_p, M, r, row, g, tol_g, warm,
                 act):  # pragma: no cover - numba
    """Block principal pivoting for ``min ½vᵀGv − bᵀv, v ≥ 0`` on a pivoting tableau.

    The first passive set: the AUs with a positive unconstrained coefficient ``G⁻¹b`` when
    ``has_inv``, else those where ``v > 0`` on entry. The rounds start from the tableau of
    ``P = ∅`` (``M = G``) or ``P = all`` (``M = G⁻¹``) pivoted to the first passive set, or,
    when ``warm`` (``M`` and ``in_p`` hold the previous sample's final tableau on the same
    ``G``) and the previous passive set is no farther from the first one than either, from
    the previous tableau itself: only ``r`` is recomputed for this ``b``
    (``r_P = M_PP b_P``, ``r_Z = M_ZP b_P − b_Z``, read from rows ``P`` of ``M`` as the
    tableau of a symmetric ``G`` is bisymmetric). Consecutive video frames mostly share their
    passive set, so a frame then costs few or no pivots. Each round exchanges the infeasible
    AUs of one scan of ``r`` (all of them, or the largest index: :func:`_exchange_rule`), in
    index order, skipping one the pivots before it made feasible (9.2 pivots per independent
    frame instead of 10.5). On return ``v`` holds the solution, ``g`` the gradient ``b − G v``
    computed from ``G``, and ``M``, ``r``, ``in_p`` the final tableau (``row``, ``act``:
    scratch of length q). Returns the largest KKT violation (as
    :func:`dfecs_app.core._cd._kkt_one`), or −1.0 when a pivot is degenerate or the rounds
    run out (``v`` and the tableau then undefined). Inlined into :func:`encode_fused`, as is
    the KKT test (5–10 % less time per sample than two calls, measured on 200k frames).
    """
    q = b.shape[0]
    if has_inv:
        for i in range(q):
            r[i] = 0.0
        for k in range(q):
            bk = b[k]
            for i in range(q):
                r[i] += Ginv[k, i] * bk  # G⁻¹ is symmetric: row k is column k
        for j in range(q):
            v[j] = 1.0 if (r[j] > 0.0) & (G[j, j] > 0.0) else 0.0
    # the scans below count and list without branching on the data: on samples drawn
    # independently the branches of a sign test mispredict and cost more than the pivots
    n_pos = 0
    for j in range(q):
        n_pos += v[j] > 0.0
    n_first = min(n_pos, q - n_pos) if has_inv else n_pos  # pivots from a fresh tableau
    if warm:
        d_prev = 0
        for j in range(q):
            d_prev += (v[j] > 0.0) != in_p[j]
        warm = d_prev <= n_first
    if warm:  # the previous sample's tableau, r for this b
        for j in range(q):
            row[j] = 0.0
        for k in range(q):
            bk = b[k] if in_p[k] else 0.0  # every row: no branch in the loop
            for j in range(q):
                row[j] += M[k, j] * bk
        for j in range(q):
            r[j] = row[j] if in_p[j] else -row[j] - b[j]
    elif has_inv and n_pos > q - n_pos:  # start from the unconstrained solution: P = all
        for i in range(q):
            for j in range(q):
                M[i, j] = Ginv[i, j]
            in_p[i] = True
    else:  # start from P = ∅: v = 0, −w = b
        for i in range(q):
            for j in range(q):
                M[i, j] = G[i, j]
            r[i] = -b[i]
            in_p[i] = False
    n = 0
    if not warm:  # pivot the fresh tableau to the first passive set
        for j in range(q):
            act[n] = j
            n += (v[j] > 0.0) != in_p[j]
    best_ninf = q + 1
    backup = _BACKUP_ROUNDS
    for rnd in range(_BPP_ROUNDS + 1):
        for t in range(n):  # exchange the listed AUs, in index order
            j = act[t]
            if rnd > 0 and not _infeasible(in_p[j], r[j], G[j, j], tol_g):
                continue  # feasible again after the pivots before it: one pivot fewer
            if not in_p[j] and not M[j, j] > _TABLEAU_PIVOT_TOL * G[j, j]:
                return -1.0
            _pivot(M, r, j, row)
            in_p[j] = not in_p[j]
        n = 0
        for j in range(q):  # list the infeasible AUs
            act[n] = j
            n += _infeasible(in_p[j], r[j], G[j, j], tol_g)
        if n == 0:
            break
        if rnd == _BPP_ROUNDS:
            return -1.0
        full, best_ninf, backup = _exchange_rule(n, best_ninf, backup)
        if not full:  # one at a time: the largest index
            act[0] = act[n - 1]
            n = 1
    for j in range(q):
        v[j] = r[j] if in_p[j] else 0.0
    return _kkt_one(G, b, v, g, act)  # certified from G itself: g = b − G v


@njit(cache=True, nogil=True, fastmath=True)
def encode_fused(X, U, G, Ginv, has_inv, gidx, lam, V, yy, rss, route, max_iter, start,
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
    r = np.empty(q)
    row = np.empty(q)
    tmp = np.empty(q)
    s_buf = np.empty(q)
    act = np.empty(q, dtype=np.int64)
    banned = np.empty(q, dtype=np.bool_)
    passive = np.empty(q, dtype=np.bool_)
    L = np.empty((q, q))
    M = np.empty((q, q))
    warm = False  # M and passive hold the previous row's certified tableau on G[p_prev]
    p_prev = -1
    for i in range(start, stop):
        if i % WARM_BLOCK == 0:  # a fresh tableau: codes do not depend on the thread split
            warm = False
        s = 0.0
        for t in range(f):
            s += X[i, t] * X[i, t]
        yy[i] = s
        if not s < np.inf:  # NaN or inf in the sample: no code (encode_batch raises)
            rss[i] = np.nan
            warm = False
            continue
        j = 0
        while j + 4 <= q:  # four AUs per pass over the sample
            s0 = 0.0
            s1 = 0.0
            s2 = 0.0
            s3 = 0.0
            for t in range(f):
                xt = X[i, t]
                s0 += U[j, t] * xt
                s1 += U[j + 1, t] * xt
                s2 += U[j + 2, t] * xt
                s3 += U[j + 3, t] * xt
            c[j] = s0
            c[j + 1] = s1
            c[j + 2] = s2
            c[j + 3] = s3
            j += 4
        while j < q:
            s = 0.0
            for t in range(f):
                s += U[j, t] * X[i, t]
            c[j] = s
            j += 1
        scale = lam
        for j in range(q):
            b[j] = c[j] - lam
            a = abs(c[j])
            scale = a if a > scale else scale
        p = gidx[i]
        Gg = G[p]
        v = V[i]
        tol_g = _KKT_TOL * scale
        # first passive set (when G is singular): the AUs correlated with the sample beyond λ
        if not has_inv[p]:
            for j in range(q):
                v[j] = 1.0 if b[j] > 0.0 and Gg[j, j] > 0.0 else 0.0
        worst = _bpp_tableau(Gg, Ginv[p], has_inv[p], b, v, passive, M, r, row, g, tol_g,
                             warm and p == p_prev, act)
        warm = 0.0 <= worst <= tol_g
        p_prev = p
        if worst < 0.0 or worst > tol_g:
            # the Cholesky form, from the AUs positively correlated with the sample
            route[i] = ROUTE_CHOLESKY
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
            if _kkt_one(Gg, b, v, g, act) > tol_g:  # e.g. an ill-conditioned support
                _cd_one(Gg, c, lam, v, h, max_iter, _FALLBACK_TOL)
                route[i] = ROUTE_CD
                _kkt_one(Gg, b, v, g, act)
        # residual over present entries: ‖x‖² − 2 vᵀc + vᵀGv, with G v = b − g
        e = yy[i]
        for j in range(q):
            e += v[j] * (b[j] - g[j] - 2.0 * c[j])
        rss[i] = e if e > 0.0 else 0.0


def inverse_grams(G: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Inverses of the well-conditioned Gram matrices of a stack (the tableau's start).

    Parameters
    ----------
    G : ndarray, shape (n_patterns, q, q)

    Returns
    -------
    Ginv : ndarray, shape (n_patterns, q, q)
        ``G_p⁻¹`` where ``has_inv[p]``, zeros elsewhere.
    has_inv : ndarray of bool, shape (n_patterns,)
        Condition number below ``1e10`` (PCA's ``[U, −U]`` and masked patterns that leave an
        AU without support are singular).
    """
    Ginv = np.zeros_like(G)
    has_inv = np.zeros(G.shape[0], dtype=bool)
    if G.size:
        w = np.linalg.eigvalsh(G)
        has_inv = w[:, 0] > 1e-10 * np.maximum(w[:, -1], 1e-300)
        if has_inv.any():
            Ginv[has_inv] = np.linalg.inv(G[has_inv])
    return Ginv, has_inv


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
    route : ndarray of int8, shape (n,)
        :data:`ROUTE_TABLEAU`, :data:`ROUTE_CHOLESKY` or :data:`ROUTE_CD` per sample.

    Raises
    ------
    ValueError
        ``X`` holds NaN or inf (found by the kernel, no separate pass over ``X``).
    """
    X = np.ascontiguousarray(X, dtype=np.float64)
    n = X.shape[0]
    q = components.shape[0]
    V = np.zeros((n, q))
    yy = np.zeros(n)
    rss = np.zeros(n)
    route = np.zeros(n, dtype=np.int8)
    if n and q:
        G = np.ascontiguousarray(G, dtype=np.float64)
        Ginv, has_inv = inverse_grams(G)
        args = (X, np.ascontiguousarray(components, dtype=np.float64), G, Ginv, has_inv,
                np.ascontiguousarray(gidx, dtype=np.int64), float(lam), V, yy, rss, route,
                int(max_iter))
        jobs = n_threads()
        if jobs == 1 or n < 4096:
            encode_fused(*args, 0, n)
        else:
            blocks = -(-n // WARM_BLOCK)
            bounds = np.linspace(0, blocks, jobs + 1).astype(np.int64) * WARM_BLOCK
            bounds[-1] = n
            with ThreadPoolExecutor(max_workers=jobs) as pool:
                futures = [pool.submit(encode_fused, *args, int(bounds[t]), int(bounds[t + 1]))
                           for t in range(jobs)]
                for fut in futures:
                    fut.result()
        bad = ~np.isfinite(yy)
        if bad.any():
            if not np.isfinite(X[bad]).all():
                raise ValueError("X contains NaN or inf")
            raise ValueError("X holds values too large to square (|x| > 1e154)")
    return V, yy, rss, route


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
