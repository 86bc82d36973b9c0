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

Convention: this module uses the ½-scaled loss with penalty ``lam``. Callers map their own
conventions onto it (eq. 1 of the paper has the ½, ``lam = α``; eq. 3–4 and eq. 2 have none,
``lam = α / 2``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import numpy as np
from numba import njit
from threadpoolctl import threadpool_limits

#: Work (n · k²) below which the kernel runs in the calling thread only.
_PARALLEL_WORK = 2_000_000


@njit(cache=True, nogil=True)
def _nn_lasso_cd_gram(G, gidx, C, lam, V, max_iter, tol, start, stop):  # pragma: no cover - numba
    """Solve samples ``start:stop`` in place; return the largest number of sweeps used."""
    k = C.shape[1]
    h = np.empty(k)
    worst = 0
    for i in range(start, stop):
        Gg = G[gidx[i]]
        # h = G v (warm start)
        for a in range(k):
            s = 0.0
            for b in range(k):
                s += Gg[a, b] * V[i, b]
            h[a] = s
        it = 0
        while it < max_iter:
            it += 1
            dmax = 0.0
            vmax = 0.0
            for j in range(k):
                gjj = Gg[j, j]
                vj = V[i, j]
                if gjj <= 0.0:
                    z = 0.0
                else:
                    z = vj - (h[j] - C[i, j] + lam) / gjj
                    if z < 0.0:
                        z = 0.0
                d = z - vj
                if d != 0.0:
                    for a in range(k):
                        h[a] += d * Gg[a, j]
                    V[i, j] = z
                    if d < 0.0:
                        d = -d
                    if d > dmax:
                        dmax = d
                if z > vmax:
                    vmax = z
            if dmax <= tol * vmax or vmax == 0.0:
                break
        if it > worst:
            worst = it
    return worst


def n_threads() -> int:
    """Threads used for large batches: the CPUs available to this process (at most 8)."""
    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        n = os.cpu_count() or 1
    return max(1, min(8, n))


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
) -> np.ndarray:
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
        Maximum coordinate sweeps per sample.
    tol : float
        A sample stops when the largest coordinate change of a sweep is at most
        ``tol · max(v)``.
    n_jobs : int, optional
        Threads for large batches (default: :func:`n_threads`). The kernel releases the GIL.

    Returns
    -------
    V : ndarray, shape (n, k)
        Non-negative codes.
    """
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
    if n == 0 or k == 0:
        return V
    lam = float(lam)
    max_iter = int(max_iter)
    tol = float(tol)
    jobs = n_threads() if n_jobs is None else max(1, int(n_jobs))
    if jobs == 1 or n * k * k < _PARALLEL_WORK or n < 2 * jobs:
        _nn_lasso_cd_gram(G, gidx, C, lam, V, max_iter, tol, 0, n)
        return V
    bounds = np.linspace(0, n, jobs + 1).astype(np.int64)
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = [
            pool.submit(_nn_lasso_cd_gram, G, gidx, C, lam, V, max_iter, tol,
                        int(bounds[t]), int(bounds[t + 1]))
            for t in range(jobs)
        ]
        for f in futures:
            f.result()
    return V


@contextmanager
def single_blas_thread() -> Iterator[None]:
    """Keep BLAS at one thread while numba kernels run on every core.

    Two OpenBLAS threads spinning beside two kernel threads made encoding 1.6× slower on a
    2-core machine.
    """
    with threadpool_limits(limits=1, user_api="blas"):
        yield
