"""Non-negative lasso by coordinate descent on the Gram matrix (numba kernel).

One kernel serves the PFM sparse-coding step, the HFM updates and the encoding of any KPM set
on any AU matrix. For every sample ``i`` it solves

``min_v  ½‖x_i − U v‖² + λ‖v‖₁   s.t. v ≥ 0``

given only the Gram matrix ``G = UᵀU`` (k, k) and the correlations ``c_i = Uᵀx_i`` (row ``i`` of
``C = X U``, shape (n, k)). Because ``½‖x − Uv‖² = ½vᵀGv − cᵀv + const``, nothing of size
``n × n_features`` enters the inner loop: a coordinate update costs O(k) and a changed
coordinate O(k) more to keep ``h = G v`` current.

Samples with missing keypoints have their own (masked) Gram matrix: ``G`` is a stack
``(n_gram, k, k)`` and ``gidx[i]`` says which one sample ``i`` uses.

Two solvers share the sweep code: plain coordinate descent (``solver='cd'``: a fixed budget of
warm-started sweeps, what the PFM and HFM alternations need) and an exact active-set solver
(``solver='active_set'``: two sweeps guess the support, then the Lawson–Hanson method of
:mod:`dfecs_app.core._lars` solves the KKT system with small Cholesky factors), which
:func:`dfecs_app.core.encoding.encode` uses. CD needs tens to hundreds of sweeps on overlapping
AUs; the active-set solver needs about two small factorisations per sample.

Convention: this module uses the ½-scaled loss with penalty ``lam``. Callers map their own
conventions onto it (eq. 1 of the paper has the ½, ``lam = α``; eq. 3–4 and eq. 2 have none,
``lam = α / 2``).

Numba's on-disk cache does not notice changes in *other* modules; this module calls kernels of
:mod:`dfecs_app.core._lars`, so at import it drops its own cached kernels when ``_lars.py`` is
newer than them (:func:`dfecs_app.core._numba_cache.drop_stale`).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import numpy as np
from numba import njit
from threadpoolctl import threadpool_limits

from dfecs_app.core._lars import _nnls_finish
from dfecs_app.core._numba_cache import drop_stale

drop_stale(__file__, "_lars.py")

#: Work (n · k²) below which the kernel runs in the calling thread only.
_PARALLEL_WORK = 2_000_000
#: The active-set solver stops when every KKT violation is below this times the sample's
#: scale ``max(max_j |c_j|, lam)`` (the gradient's units).
_KKT_TOL = 1e-10
#: Coordinate sweeps that guess the support before the active-set solve.
_GUESS_SWEEPS = 2
#: Stopping tolerance of the active-set solver's coordinate-descent fallback.
_FALLBACK_TOL = 1e-12


@njit(cache=True, nogil=True)
def _cd_one(Gg, c, lam, v, h, max_iter, tol):  # pragma: no cover - numba
    """Coordinate sweeps on one sample (``v`` updated in place); return the sweeps used."""
    k = c.shape[0]
    # h = G v (warm start)
    for a in range(k):
        s = 0.0
        for b in range(k):
            s += Gg[a, b] * v[b]
        h[a] = s
    it = 0
    while it < max_iter:
        it += 1
        dmax = 0.0
        vmax = 0.0
        for j in range(k):
            gjj = Gg[j, j]
            vj = v[j]
            if gjj <= 0.0:
                z = 0.0
            else:
                z = vj - (h[j] - c[j] + lam) / gjj
                if z < 0.0:
                    z = 0.0
            d = z - vj
            if d != 0.0:
                for a in range(k):
                    h[a] += d * Gg[a, j]
                v[j] = z
                if d < 0.0:
                    d = -d
                if d > dmax:
                    dmax = d
            if z > vmax:
                vmax = z
        if dmax <= tol * vmax or vmax == 0.0:
            break
    return it


@njit(cache=True, nogil=True)
def _nn_lasso_cd_gram(G, gidx, C, lam, V, max_iter, tol, start, stop):  # pragma: no cover - numba
    """Solve samples ``start:stop`` in place by coordinate descent; return the most sweeps used."""
    h = np.empty(C.shape[1])
    worst = 0
    for i in range(start, stop):
        it = _cd_one(G[gidx[i]], C[i], lam, V[i], h, max_iter, tol)
        if it > worst:
            worst = it
    return worst


@njit(cache=True, nogil=True, inline="always")
def _kkt_one(Gg, b, v, g, act):  # pragma: no cover - numba
    """Largest KKT violation of ``min ½vᵀGv − bᵀv, v ≥ 0`` at ``v`` (``g``, ``act`` scratch).

    With ``g = b − G v``: ``|g_j|`` where ``v_j > 0``, ``max(g_j, 0)`` where ``v_j = 0``
    (columns with ``G_jj = 0`` cannot move and are skipped). The nonzero ``v_i`` are listed in
    ``act`` first (no branch), then their rows of ``G`` are subtracted in order.
    """
    k = b.shape[0]
    n = 0
    for i in range(k):
        g[i] = b[i]
        act[n] = i
        n += v[i] != 0.0
    for t in range(n):
        i = act[t]
        vi = v[i]
        for j in range(k):
            g[j] -= Gg[i, j] * vi
    worst = 0.0
    for j in range(k):  # selects, not branches: the signs of v and g are data
        e = abs(g[j]) if v[j] > 0.0 else g[j]
        e = e if Gg[j, j] > 0.0 else 0.0
        worst = e if e > worst else worst
    return worst


@njit(cache=True, nogil=True)
def _nn_lasso_as_gram(G, gidx, C, lam, V, n_sweeps, max_iter, tol, start, stop,
                      fallback):  # pragma: no cover - numba
    """Exact solve of samples ``start:stop`` in place (active set); see :func:`nn_lasso_gram`."""
    k = C.shape[1]
    h = np.empty(k)
    b = np.empty(k)
    g = np.empty(k)
    tmp = np.empty(k)
    s_buf = np.empty(k)
    act = np.empty(k, dtype=np.int64)
    banned = np.empty(k, dtype=np.bool_)
    L = np.empty((k, k))
    for i in range(start, stop):
        Gg = G[gidx[i]]
        v = V[i]
        scale = lam
        for j in range(k):
            b[j] = C[i, j] - lam
            a = abs(C[i, j])
            if a > scale:
                scale = a
        tol_g = _KKT_TOL * scale
        if n_sweeps > 0:
            _cd_one(Gg, C[i], lam, v, h, n_sweeps, 0.0)
        if _nnls_finish(Gg, b, v, act, L, tmp, s_buf, g, banned, tol_g, 3 * k + 10, True) < 0:
            # the guessed support is degenerate (dependent AUs): Lawson–Hanson from v = 0,
            # which adds one AU at a time and leaves dependent ones out
            for j in range(k):
                v[j] = 0.0
            _nnls_finish(Gg, b, v, act, L, tmp, s_buf, g, banned, tol_g, 3 * k + 10, False)
        if _kkt_one(Gg, b, v, g, act) > tol_g:
            # a left-out AU was needed, or no convergence: coordinate descent from here
            _cd_one(Gg, C[i], lam, v, h, max_iter, tol)
            fallback[i] = True


def n_threads() -> int:
    """Threads used for large batches: the CPUs available to this process (at most 8)."""
    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        n = os.cpu_count() or 1
    return max(1, min(8, n))


SOLVERS = ("cd", "active_set")


def nn_lasso_gram(
    G: np.ndarray,
    C: np.ndarray,
    lam: float,
    V0: np.ndarray | None = None,
    *,
    gidx: np.ndarray | None = None,
    max_iter: int = 1000,
    tol: float = 1e-6,
    n_jobs: int | None = None,
    solver: str = "cd",
    return_fallback: bool = False,
) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """Batched non-negative lasso ``min ½‖x − Uv‖² + lam‖v‖₁, v ≥ 0`` from Gram matrices.

    Parameters
    ----------
    G : ndarray, shape (k, k) or (n_gram, k, k)
        ``UᵀU`` (one per mask pattern when stacked).
    C : ndarray, shape (n, k)
        ``X U`` — the correlations of each sample with the columns of ``U``.
    lam : float
        L1 penalty (½-loss convention), ``lam ≥ 0``.
    V0 : ndarray, shape (n, k), optional
        Warm start (copied); zeros when omitted.
    gidx : ndarray of int, shape (n,), optional
        Which Gram matrix each sample uses (required when ``G`` is stacked and n_gram > 1).
    max_iter : int
        Maximum coordinate sweeps per sample (``'active_set'``: of its fallback).
    tol : float
        A coordinate-descent sample stops when the largest coordinate change of a sweep is at
        most ``tol · max(v)``.
    n_jobs : int, optional
        Threads for large batches (default: :func:`n_threads`). The kernel releases the GIL.
    solver : {'cd', 'active_set'}
        ``'cd'``: coordinate sweeps until ``tol`` or ``max_iter`` (what the PFM and HFM
        alternations use: a few warm-started sweeps). ``'active_set'``: exact — two sweeps
        guess the support, then a Lawson–Hanson active-set method solves the KKT system of
        ``min ½vᵀGv − (c − lam)ᵀv, v ≥ 0`` by small Cholesky factorisations until every KKT
        violation is below ``1e-10 · max(max_j |c_j|, lam)`` (see :func:`kkt_violation`).
        AUs linearly dependent on the support (a Cholesky pivot ≈ 0) are left out; when one of
        them was needed after all, the sample is finished by coordinate descent to a relative
        step of ``1e-12`` (at most ``max_iter`` sweeps; flagged in the fallback mask).
        ``tol`` does not apply.
    return_fallback : bool
        Also return the fallback mask (``'active_set'``; all False for ``'cd'``).

    Returns
    -------
    V : ndarray, shape (n, k)
        Non-negative codes.
    fallback : ndarray of bool, shape (n,)
        Only with ``return_fallback``: samples finished by coordinate descent.
    """
    if solver not in SOLVERS:
        raise ValueError(f"solver must be one of {SOLVERS}, got {solver!r}")
    C = np.ascontiguousarray(C, dtype=np.float64)
    n, k = C.shape
    G = np.asarray(G, dtype=np.float64)
    if G.ndim == 2:
        G = G[None]
    G = np.ascontiguousarray(G)
    if gidx is None:
        if G.shape[0] != 1:
            raise ValueError("gidx is required with several Gram matrices")
        gidx = np.zeros(n, dtype=np.int64)
    else:
        gidx = np.ascontiguousarray(gidx, dtype=np.int64)
    if V0 is None:
        V = np.zeros((n, k))
    else:
        V = np.array(V0, dtype=np.float64, order="C", copy=True)
        np.maximum(V, 0.0, out=V)
    fallback = np.zeros(n, dtype=bool)
    if n > 0 and k > 0:
        if solver == "cd":
            kernel, extra = _nn_lasso_cd_gram, ()
            args = (G, gidx, C, float(lam), V, int(max_iter), float(tol))
        else:
            kernel, extra = _nn_lasso_as_gram, (fallback,)
            args = (G, gidx, C, float(lam), V, _GUESS_SWEEPS, int(max_iter), _FALLBACK_TOL)
        jobs = n_threads() if n_jobs is None else max(1, int(n_jobs))
        if jobs == 1 or n * k * k < _PARALLEL_WORK or n < 2 * jobs:
            kernel(*args, 0, n, *extra)
        else:
            bounds = np.linspace(0, n, jobs + 1).astype(np.int64)
            with ThreadPoolExecutor(max_workers=jobs) as pool:
                futures = [pool.submit(kernel, *args, int(bounds[t]), int(bounds[t + 1]), *extra)
                           for t in range(jobs)]
                for f in futures:
                    f.result()
    return (V, fallback) if return_fallback else V


def kkt_violation(
    G: np.ndarray, C: np.ndarray, lam: float, V: np.ndarray, *, gidx: np.ndarray | None = None
) -> np.ndarray:
    """Relative KKT violation of non-negative lasso codes, per sample.

    For ``min ½vᵀGv − (c − lam)ᵀv, v ≥ 0`` and ``g = c − lam − G v``: the largest of ``|g_j|``
    over ``v_j > 0`` and ``max(g_j, 0)`` over ``v_j = 0``, divided by the sample's scale
    ``max(max_j |c_j|, lam)`` (0 for an exact solution).

    Parameters
    ----------
    G : ndarray, shape (k, k) or (n_gram, k, k)
    C : ndarray, shape (n, k)
    lam : float
    V : ndarray, shape (n, k)
    gidx : ndarray of int, shape (n,), optional

    Returns
    -------
    ndarray, shape (n,)
    """
    G = np.asarray(G, dtype=np.float64)
    if G.ndim == 2:
        G = G[None]
    C = np.asarray(C, dtype=np.float64)
    V = np.asarray(V, dtype=np.float64)
    gidx = np.zeros(C.shape[0], dtype=np.int64) if gidx is None else np.asarray(gidx)
    H = np.einsum("nab,nb->na", G[gidx], V)
    Gr = C - lam - H
    live = np.diagonal(G, axis1=1, axis2=2)[gidx] > 0.0
    viol = np.where(V > 0.0, np.abs(Gr), np.maximum(Gr, 0.0)) * live
    scale = np.maximum(np.abs(C).max(axis=1, initial=0.0), lam)
    with np.errstate(invalid="ignore", divide="ignore"):
        rel = viol.max(axis=1, initial=0.0) / scale
    return np.where(scale > 0.0, rel, 0.0)


@contextmanager
def single_blas_thread() -> Iterator[None]:
    """Keep BLAS at one thread while numba kernels run on every core.

    Two OpenBLAS threads spinning beside two kernel threads made encoding 1.6× slower on a
    2-core machine.
    """
    with threadpool_limits(limits=1, user_api="blas"):
        yield
