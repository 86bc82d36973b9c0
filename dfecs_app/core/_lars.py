"""Batched non-negative LARS-lasso path on the Gram matrix (numba kernels).

For every sample ``y`` with ``G = UᵀU`` (q, q), ``c = Uᵀy`` (q,) and ``‖y‖²`` the kernel
follows the whole positive lasso path ``min ½‖y − Uβ‖² + λ‖β‖₁, β ≥ 0`` from ``λ = max c``
down to ``λ = 0``, with the semantics of scikit-learn's
``lars_path(X=U, y, method='lasso', positive=True)``:

* a variable enters when its correlation ``u_jᵀ(y − Uβ)`` reaches the common correlation ``C``
  of the active set (the largest positive one);
* a variable leaves when its coefficient reaches zero; a just-dropped variable may not
  re-enter on the next step (it would come back with a negative coefficient);
* the path ends when ``C`` reaches 0 (the least-squares point of the active set).

Breakpoints are the points where the active set changes. Their coefficients agree with
scikit-learn's up to round-off, except scikit-learn's *last* point: once no inactive
correlation is positive it interpolates back towards the previous breakpoint, so its last point
is not the unpenalised solution (RSS up to a few percent high). Here the path ends at the
least-squares point of its last active set, and an active-set (Lawson–Hanson) NNLS on the Gram
matrix, warm-started from it, checks the KKT conditions and finishes the job whenever the path
could not (degenerate columns, iteration cap): the *final point* is the NNLS solution
(``scipy.optimize.nnls``).

Degeneracy is handled deterministically:

* ties in the entering correlation go to the lowest column index;
* a column whose Cholesky pivot is below ``1e-6·‖u_j‖`` (a duplicate of, or a combination of,
  active columns) is excluded from the rest of the path for good (scikit-learn "drops it for
  good" too, with a ConvergenceWarning); the final NNLS step may still use it;
* all-zero columns (e.g. an AU living only on keypoints a sample is missing) never enter.
  With exactly opposite columns (PCA's ``[U, −U]``) both signs can never be active at once.

Coefficients of duplicate columns are not unique; the fit ``Uβ``, ``‖β‖₁`` and the RSS along
the path are.

Only ``(n_breakpoints × 4)`` numbers per sample live in scratch memory; the batched kernel
reduces each path at once to RSS on a grid of "at most k active AUs", on a grid of L1 norms
and at one penalty.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numba import njit, prange

#: Relative pivot below which a column counts as linearly dependent on the active set.
_PIVOT_TOL = 1e-6


@njit(cache=True, nogil=True)
def _chol_solve(L, n, b, out):  # pragma: no cover - numba
    """Solve ``L Lᵀ out = b`` for the leading ``n × n`` block of lower-triangular ``L``.

    The factors of this module keep ``1 / L_ii`` on the diagonal (multiplications, not
    divisions, in the solves).
    """
    for i in range(n):
        s = b[i]
        for k in range(i):
            s -= L[i, k] * out[k]
        out[i] = s * L[i, i]
    for i in range(n - 1, -1, -1):
        s = out[i]
        for k in range(i + 1, n):
            s -= L[k, i] * out[k]
        out[i] = s * L[i, i]


@njit(cache=True, nogil=True)
def _chol_append(G, L, act, n, j, tmp):  # pragma: no cover - numba
    """Append column ``j`` to the Cholesky factor of ``G[act[:n]][:, act[:n]]``.

    Returns False (and leaves ``L`` unchanged) when the pivot is degenerate.
    """
    s2 = 0.0
    for i in range(n):
        s = G[act[i], j]
        for k in range(i):
            s -= L[i, k] * tmp[k]
        tmp[i] = s * L[i, i]
        s2 += tmp[i] * tmp[i]
    d2 = G[j, j] - s2
    if d2 <= (_PIVOT_TOL * _PIVOT_TOL) * G[j, j]:
        return False
    for i in range(n):
        L[n, i] = tmp[i]
    L[n, n] = 1.0 / math.sqrt(d2)
    return True


@njit(cache=True, nogil=True)
def _chol_rebuild(G, L, act, n):  # pragma: no cover - numba
    """Cholesky factor of ``G[act[:n]][:, act[:n]]`` from scratch; False if not positive.

    The diagonal holds ``1 / L_ii`` (see :func:`_chol_solve`).
    """
    for i in range(n):
        for j in range(i + 1):
            s = G[act[i], act[j]]
            for k in range(j):
                s -= L[i, k] * L[j, k]
            if i == j:
                if s <= (_PIVOT_TOL * _PIVOT_TOL) * G[act[i], act[i]]:
                    return False
                L[i, i] = 1.0 / math.sqrt(s)
            else:
                L[i, j] = s * L[j, j]
    return True


@njit(cache=True, nogil=True)
def _solve_support(G, c, beta, act, n, L, tmp, s_buf, max_inner,
                   factored):  # pragma: no cover - numba
    """Lawson–Hanson inner loop: least squares on the support ``act[:n]``, kept feasible.

    ``beta`` must be positive on ``act[:n]`` (except a just-added column, which may be 0) and
    zero elsewhere. Solves ``G_SS s = c_S``; while some ``s`` is not positive, moves ``beta``
    towards ``s`` until the first coefficient hits zero and drops the zeros. ``factored``: ``L``
    already holds the factor of ``act[:n]``. Returns ``(n, ok, factored)``: the new support
    size, False (``beta`` left feasible) when the support's Cholesky pivot was degenerate, and
    whether ``L`` holds the factor of the new support.
    """
    inner = 0
    while inner < max_inner and n > 0:
        inner += 1
        if not factored:
            if not _chol_rebuild(G, L, act, n):
                return n, False, False
        factored = False
        for k in range(n):
            tmp[k] = c[act[k]]
        _chol_solve(L, n, tmp, s_buf)
        ok = True
        for k in range(n):
            if s_buf[k] <= 0.0:
                ok = False
                break
        if ok:
            for k in range(n):
                beta[act[k]] = s_buf[k]
            return n, True, True
        # move towards s until the first coefficient hits zero; drop the zeros
        step = 1.0
        for k in range(n):
            if s_buf[k] <= 0.0:
                b = beta[act[k]]
                t = b / (b - s_buf[k]) if b - s_buf[k] > 0.0 else 0.0
                if t < step:
                    step = t
        m = 0
        for k in range(n):
            i = act[k]
            hit = False
            if s_buf[k] <= 0.0:
                b = beta[i]
                hit = b - s_buf[k] <= 0.0 or b / (b - s_buf[k]) <= step * (1.0 + 1e-12)
            nb = beta[i] + step * (s_buf[k] - beta[i])
            if hit or nb <= 0.0:
                beta[i] = 0.0
            else:
                beta[i] = nb
                act[m] = i
                m += 1
        n = m
    return n, True, n == 0


@njit(cache=True, nogil=True)
def _nnls_finish(G, c, beta, act, L, tmp, s_buf, g, banned, tol_g, max_iter,
                 solve_first):  # pragma: no cover - numba
    """Lawson–Hanson NNLS on the Gram matrix, warm-started at ``beta`` (updated in place).

    ``min ½βᵀGβ − cᵀβ, β ≥ 0``. The warm start must be the least-squares point of its support
    unless ``solve_first`` (then any ``β ≥ 0`` will do: its support is solved first).
    ``banned`` (bool, q) is scratch. Returns the number of columns brought in (0 when ``beta``
    already met the KKT conditions), or −1 when ``solve_first`` met a degenerate support.
    """
    q = c.shape[0]
    for j in range(q):
        banned[j] = G[j, j] <= 0.0
    n = 0
    for j in range(q):
        if beta[j] > 0.0:
            act[n] = j
            n += 1
        else:
            beta[j] = 0.0
    factored = False
    if solve_first and n > 0:
        n, ok, factored = _solve_support(G, c, beta, act, n, L, tmp, s_buf, 3 * q + 3, False)
        if not ok:
            return -1
    added = 0
    outer = 0
    while outer < max_iter:
        outer += 1
        # g = c − G β: minus the gradient of ½‖y − Uβ‖²
        for j in range(q):
            g[j] = c[j]
        for k in range(n):
            i = act[k]
            bi = beta[i]
            for j in range(q):
                g[j] -= G[i, j] * bi
        best = -1
        bestv = tol_g
        for j in range(q):
            if not banned[j] and beta[j] <= 0.0 and g[j] > bestv:
                bestv = g[j]
                best = j
        if best < 0:
            break
        added += 1
        if factored and not _chol_append(G, L, act, n, best, tmp):
            banned[best] = True  # dependent on the support: leave it out for good
            continue
        act[n] = best
        n += 1
        n, ok, factored = _solve_support(G, c, beta, act, n, L, tmp, s_buf, 3 * q + 3,
                                         factored)
        if not ok:
            # a column dependent on the others: leave it out for good
            for k in range(n):
                if act[k] == best:
                    act[k] = act[n - 1]
                    break
            n -= 1
            banned[best] = True
    return added


@njit(cache=True, nogil=True)
def _path_one(G, c, yy, max_bp, beta, cov, act, in_act, excluded, blocked, L, x, w, a, tmp,
              g, s_buf, bp_nnz, bp_l1, bp_rss, bp_corr, bp_coef, store_coef):  # pragma: no cover
    """Positive LARS-lasso path of one sample; final point = NNLS.

    Fills the breakpoint arrays and leaves the final (NNLS) coefficients in ``beta``.

    Returns
    -------
    n_bp : int
        Number of breakpoints (including the zero start and the path's end).
    final_rss, final_l1 : float
    final_nnz : int
    """
    q = c.shape[0]
    cmax_abs = 0.0
    for j in range(q):
        beta[j] = 0.0
        cov[j] = c[j]
        in_act[j] = False
        blocked[j] = False
        excluded[j] = G[j, j] <= 0.0
        if abs(c[j]) > cmax_abs:
            cmax_abs = abs(c[j])
    C = -np.inf
    for j in range(q):
        if not excluded[j] and cov[j] > C:
            C = cov[j]
    tol_c = 1e-13 * cmax_abs
    n = 0
    bp_nnz[0] = 0
    bp_l1[0] = 0.0
    bp_rss[0] = yy
    bp_corr[0] = C if C > 0.0 else 0.0
    if store_coef:
        for j in range(q):
            bp_coef[0, j] = 0.0
    n_bp = 1
    while n_bp < max_bp:
        if C <= tol_c:
            break
        # the eligible inactive column with the largest correlation enters if it is at C
        # (a column dropped on the previous step is not eligible)
        best = -1
        bestv = -np.inf
        for j in range(q):
            if in_act[j] or excluded[j] or blocked[j]:
                continue
            if cov[j] > bestv:
                bestv = cov[j]
                best = j
        if best >= 0 and bestv >= C - 1e-9 * (C + tol_c):
            if _chol_append(G, L, act, n, best, tmp):
                act[n] = best
                in_act[best] = True
                n += 1
            else:
                excluded[best] = True
                continue
        if n == 0:
            break
        # equiangular direction: w = AA · G_AA⁻¹ 1. A column at zero whose direction is not
        # positive (a tie with a just-dropped column, e.g. its duplicate) would go negative:
        # it sits out this step.
        ok = True
        while True:
            for i in range(n):
                tmp[i] = 1.0
            _chol_solve(L, n, tmp, x)
            s = 0.0
            for i in range(n):
                s += x[i]
            if not (s > 0.0) or not math.isfinite(s):
                ok = False
                break
            bad = -1
            for i in range(n):
                if x[i] <= 0.0 and beta[act[i]] <= 0.0:
                    bad = i
                    break
            if bad < 0:
                break
            j = act[bad]
            in_act[j] = False
            blocked[j] = True
            for i in range(bad, n - 1):
                act[i] = act[i + 1]
            n -= 1
            if n == 0 or not _chol_rebuild(G, L, act, n):
                ok = False
                break
        if not ok:
            break
        AA = 1.0 / math.sqrt(s)
        for i in range(n):
            w[i] = AA * x[i]
        # a = G[:, A] w (rows of G: symmetric)
        for j in range(q):
            a[j] = 0.0
        for i in range(n):
            row = act[i]
            wi = w[i]
            for j in range(q):
                a[j] += G[row, j] * wi
        g_end = C / AA
        gamma = g_end
        for j in range(q):
            if in_act[j] or excluded[j] or blocked[j]:
                continue
            num = C - cov[j]
            den = AA - a[j]
            if num > 0.0 and den > 1e-12 * AA:
                t = num / den
                if t < gamma:
                    gamma = t
        zmin = np.inf
        for i in range(n):
            if w[i] < 0.0:
                z = -beta[act[i]] / w[i]
                if z > 0.0 and z < zmin:
                    zmin = z
        drop = zmin < gamma
        if drop:
            gamma = zmin
        for j in range(q):
            blocked[j] = False
        # step
        for i in range(n):
            beta[act[i]] += gamma * w[i]
        for j in range(q):
            if not in_act[j]:
                cov[j] -= gamma * a[j]
        if not drop and gamma == g_end:
            C = 0.0
        else:
            C = C - gamma * AA
            if C < 0.0:
                C = 0.0
        if drop:
            thr = zmin * (1.0 + 1e-12)
            m = 0
            for i in range(n):
                j = act[i]
                if w[i] < 0.0 and -(beta[j] - gamma * w[i]) / w[i] <= thr:
                    beta[j] = 0.0
                    in_act[j] = False
                    blocked[j] = True
                else:
                    act[m] = j
                    m += 1
            n = m
            # columns excluded as dependent on the old active set may be independent now
            for j in range(q):
                excluded[j] = G[j, j] <= 0.0
            # exact correlations of the dropped columns
            for j in range(q):
                if blocked[j]:
                    s = c[j]
                    for i in range(n):
                        s -= G[j, act[i]] * beta[act[i]]
                    cov[j] = s
            if n > 0 and not _chol_rebuild(G, L, act, n):
                break
        for j in range(q):
            if in_act[j]:
                cov[j] = C
        # record the breakpoint
        l1 = 0.0
        cb = 0.0
        for i in range(n):
            bi = beta[act[i]]
            l1 += bi
            cb += c[act[i]] * bi
        rss = yy - cb - C * l1
        if rss < 0.0:
            rss = 0.0
        bp_nnz[n_bp] = n
        bp_l1[n_bp] = l1
        bp_rss[n_bp] = rss
        bp_corr[n_bp] = C
        if store_coef:
            for j in range(q):
                bp_coef[n_bp, j] = beta[j]
        n_bp += 1

    # finish (or confirm) with an active-set NNLS on the Gram matrix
    scale = 0.0
    for j in range(q):
        if G[j, j] > scale:
            scale = G[j, j]
    tol_g = 1e-10 * math.sqrt(scale * yy) if yy > 0.0 else 0.0
    _nnls_finish(G, c, beta, act, L, tmp, s_buf, g, np.zeros(q, dtype=np.bool_), tol_g,
                 3 * q + 10, False)
    # exact RSS of the final point: yy − 2cᵀβ + βᵀGβ = yy − cᵀβ − βᵀ(c − Gβ)
    for j in range(q):
        g[j] = c[j]
    nnz = 0
    l1 = 0.0
    for i in range(q):
        bi = beta[i]
        if bi > 0.0:
            nnz += 1
            l1 += bi
            for j in range(q):
                g[j] -= G[i, j] * bi
    rss = yy
    for j in range(q):
        rss -= beta[j] * (c[j] + g[j])
    if rss < 0.0:
        rss = 0.0
    return n_bp, rss, l1, nnz


@njit(cache=True, nogil=True)
def _scratch(q):  # pragma: no cover - numba
    return (np.zeros(q), np.zeros(q), np.zeros(q, dtype=np.int64), np.zeros(q, dtype=np.bool_),
            np.zeros(q, dtype=np.bool_), np.zeros(q, dtype=np.bool_), np.zeros((q, q)),
            np.zeros(q), np.zeros(q), np.zeros(q), np.zeros(q), np.zeros(q), np.zeros(q))


@njit(cache=True, nogil=True)
def _path_single(G, c, yy, max_bp):  # pragma: no cover - numba
    q = c.shape[0]
    beta, cov, act, in_act, excluded, blocked, L, x, w, a, tmp, g, s_buf = _scratch(q)
    bp_nnz = np.zeros(max_bp, dtype=np.int64)
    bp_l1 = np.zeros(max_bp)
    bp_rss = np.zeros(max_bp)
    bp_corr = np.zeros(max_bp)
    bp_coef = np.zeros((max_bp, q))
    n_bp, rss, l1, nnz = _path_one(G, c, yy, max_bp, beta, cov, act, in_act, excluded, blocked,
                                   L, x, w, a, tmp, g, s_buf, bp_nnz, bp_l1, bp_rss, bp_corr,
                                   bp_coef, True)
    return (bp_coef[:n_bp].copy(), bp_corr[:n_bp].copy(), bp_nnz[:n_bp].copy(),
            bp_l1[:n_bp].copy(), bp_rss[:n_bp].copy(), beta.copy(), rss)


@njit(cache=True, nogil=True)
def _reduce_one(n_bp, bp_nnz, bp_l1, bp_rss, bp_corr, final_rss, final_nnz, yy, l1_grid, lam,
                out_k, out_l1, i):  # pragma: no cover - numba
    """RSS at "≤ k active" for k = 0..K, on the L1 grid and at λ = ``lam``; returns the latter."""
    K = out_k.shape[1] - 1
    for k in range(K + 1):
        out_k[i, k] = np.inf
    for b in range(n_bp):
        k = bp_nnz[b]
        if k <= K and bp_rss[b] < out_k[i, k]:
            out_k[i, k] = bp_rss[b]
    if final_nnz <= K and final_rss < out_k[i, final_nnz]:
        out_k[i, final_nnz] = final_rss
    run = yy
    for k in range(K + 1):
        if out_k[i, k] < run:
            run = out_k[i, k]
        out_k[i, k] = run
    # L1 grid (ascending): quadratic RSS along each linear segment
    nl = l1_grid.shape[0]
    seg = 0
    last_l1 = bp_l1[n_bp - 1]
    for t_i in range(nl):
        t = l1_grid[t_i]
        if t <= 0.0:
            out_l1[i, t_i] = yy
            continue
        if t >= last_l1:
            out_l1[i, t_i] = final_rss
            continue
        while seg < n_bp - 2 and bp_l1[seg + 1] < t:
            seg += 1
        d = bp_l1[seg + 1] - bp_l1[seg]
        u = t - bp_l1[seg]
        if d <= 0.0:
            out_l1[i, t_i] = bp_rss[seg + 1]
            continue
        s = u / d
        quad = bp_rss[seg + 1] - bp_rss[seg] + 2.0 * bp_corr[seg] * d
        r = bp_rss[seg] - 2.0 * bp_corr[seg] * u + s * s * quad
        out_l1[i, t_i] = r if r > 0.0 else 0.0
    # one penalty λ (½-scaled loss): the point where the active correlation equals λ
    if lam < 0.0:
        return final_rss
    if lam >= bp_corr[0]:
        return yy
    for b in range(n_bp - 1):
        if bp_corr[b + 1] <= lam:
            dc = bp_corr[b] - bp_corr[b + 1]
            s = (bp_corr[b] - lam) / dc if dc > 0.0 else 1.0
            d = bp_l1[b + 1] - bp_l1[b]
            quad = bp_rss[b + 1] - bp_rss[b] + 2.0 * bp_corr[b] * d
            r = bp_rss[b] - 2.0 * bp_corr[b] * s * d + s * s * quad
            return r if r > 0.0 else 0.0
    return final_rss


@njit(parallel=True, cache=True, nogil=True)
def _curves_batch(G, gidx, C, yy, l1_grid, lam, max_bp, out_k, out_l1, out_lam, out_final,
                  out_nnz, out_nbp):  # pragma: no cover - numba
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
        bp_coef = np.zeros((1, q))
        for i in range(start, stop):
            Gg = G[gidx[i]]
            n_bp, rss, l1, nnz = _path_one(Gg, C[i], yy[i], max_bp, beta, cov, act, in_act,
                                           excluded, blocked, L, x, w, a, tmp, g, s_buf,
                                           bp_nnz, bp_l1, bp_rss, bp_corr, bp_coef, False)
            out_lam[i] = _reduce_one(n_bp, bp_nnz, bp_l1, bp_rss, bp_corr, rss, nnz, yy[i],
                                     l1_grid, lam, out_k, out_l1, i)
            out_final[i] = rss
            out_nnz[i] = nnz
            out_nbp[i] = n_bp


def default_max_breakpoints(q: int) -> int:
    """Cap on breakpoints per path (scikit-learn's ``max_iter`` is 500)."""
    return max(500, 8 * q + 16)


class LarsPath(NamedTuple):
    """The positive LARS-lasso path of one sample.

    Attributes
    ----------
    coefs : ndarray, shape (n_breakpoints, q)
        Coefficients at each breakpoint, starting at 0.
    corr : ndarray, shape (n_breakpoints,)
        Common correlation ``C`` of the active set there (the ½-loss penalty ``λ``;
        scikit-learn's ``alphas`` are ``C / n_features``).
    nnz : ndarray of int, shape (n_breakpoints,)
        Non-zero coefficients at each breakpoint.
    l1 : ndarray, shape (n_breakpoints,)
    rss : ndarray, shape (n_breakpoints,)
        ``‖y − Uβ‖²`` at each breakpoint.
    final_coef : ndarray, shape (q,)
        The unpenalised end point: the NNLS solution.
    final_rss : float
    """

    coefs: np.ndarray
    corr: np.ndarray
    nnz: np.ndarray
    l1: np.ndarray
    rss: np.ndarray
    final_coef: np.ndarray
    final_rss: float


def lars_path_gram(G: np.ndarray, c: np.ndarray, yy: float,
                   max_breakpoints: int | None = None) -> LarsPath:
    """Positive LARS-lasso path of one sample from its Gram data.

    Parameters
    ----------
    G : ndarray, shape (q, q)
        ``UᵀU`` (AUs as columns of ``U``).
    c : ndarray, shape (q,)
        ``Uᵀy``.
    yy : float
        ``‖y‖²``.
    max_breakpoints : int, optional

    Returns
    -------
    LarsPath
    """
    G = np.ascontiguousarray(G, dtype=np.float64)
    c = np.ascontiguousarray(c, dtype=np.float64)
    q = c.shape[0]
    if G.shape != (q, q):
        raise ValueError(f"G must have shape ({q}, {q}), got {G.shape}")
    mb = default_max_breakpoints(q) if max_breakpoints is None else int(max_breakpoints)
    coefs, corr, nnz, l1, rss, final, frss = _path_single(G, c, float(yy), mb)
    return LarsPath(coefs, corr, nnz, l1, rss, final, float(frss))


def path_curves_gram(
    G: np.ndarray,
    gidx: np.ndarray,
    C: np.ndarray,
    yy: np.ndarray,
    k_max: int,
    l1_grid: np.ndarray,
    lam: float | None = None,
) -> dict[str, np.ndarray]:
    """Follow every sample's path and reduce it to RSS curves (one kernel call, all cores).

    Parameters
    ----------
    G : ndarray, shape (n_patterns, q, q)
        Gram matrices, one per mask pattern.
    gidx : ndarray of int64, shape (n,)
        Pattern of each sample.
    C : ndarray, shape (n, q)
        ``Uᵀy`` per sample (masked).
    yy : ndarray, shape (n,)
        ``‖y‖²`` per sample over present entries.
    k_max : int
        Largest number of active AUs reported (usually q).
    l1_grid : ndarray, shape (n_l1,)
        Ascending L1 norms.
    lam : float, optional
        Penalty of the ½-scaled loss at which to report the RSS (None: the NNLS end point).

    Returns
    -------
    dict
        ``rss_k`` (n, k_max + 1): RSS with at most k active AUs; ``rss_l1`` (n, n_l1);
        ``rss_lam`` (n,); ``rss_final`` (n,) NNLS RSS; ``nnz_final`` (n,); ``n_breakpoints`` (n,).
    """
    n, q = C.shape
    l1_grid = np.ascontiguousarray(l1_grid, dtype=np.float64)
    if l1_grid.size > 1 and np.any(np.diff(l1_grid) < 0):
        raise ValueError("l1_grid must be ascending")
    out = {
        "rss_k": np.empty((n, int(k_max) + 1)),
        "rss_l1": np.empty((n, l1_grid.size)),
        "rss_lam": np.empty(n),
        "rss_final": np.empty(n),
        "nnz_final": np.empty(n, dtype=np.int64),
        "n_breakpoints": np.empty(n, dtype=np.int64),
    }
    if n == 0:
        return out
    _curves_batch(np.ascontiguousarray(G, dtype=np.float64),
                  np.ascontiguousarray(gidx, dtype=np.int64),
                  np.ascontiguousarray(C, dtype=np.float64),
                  np.ascontiguousarray(yy, dtype=np.float64),
                  l1_grid, -1.0 if lam is None else float(lam), default_max_breakpoints(q),
                  out["rss_k"], out["rss_l1"], out["rss_lam"], out["rss_final"],
                  out["nnz_final"], out["n_breakpoints"])
    return out
