"""Numba kernels of the KPM preparation that numpy would do in many passes over (n, 68) arrays.

:func:`flat_frames` decides which frames span no area (all known points on one line or one
spot): one pass per frame instead of a dozen temporaries of shape (n, 68, 2) — at 100,000
frames 5 ms instead of 0.9 s. The sums run in point order, as plain loops; the decision is a
threshold at 1e-9 of the shape's scale, far from any rounding of the sums.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def _flat_kernel(points, mask, out):  # pragma: no cover - numba
    n, m = mask.shape
    for i in range(n):
        cnt = 0
        sx = 0.0
        sy = 0.0
        for j in range(m):
            if mask[i, j]:
                cnt += 1
                sx += points[i, j, 0]
                sy += points[i, j, 1]
        if cnt < 3:
            out[i] = True
            continue
        mx = sx / cnt
        my = sy / cnt
        sxx = 0.0
        syy = 0.0
        sxy = 0.0
        for j in range(m):
            if mask[i, j]:
                dx = points[i, j, 0] - mx
                dy = points[i, j, 1] - my
                sxx += dx * dx
                syy += dy * dy
                sxy += dx * dy
        det = sxx * syy - sxy * sxy
        scale = sxx + syy
        out[i] = not (det > 1e-9 * scale * scale)


def flat_frames(points: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """(n,) True where a frame's known points span no area (collinear or coincident).

    Parameters
    ----------
    points : ndarray of float64, shape (n, 68, 2)
    mask : ndarray of bool, shape (n, 68)

    Returns
    -------
    ndarray of bool, shape (n,)
        True where the 2 x 2 scatter of the known points is singular up to 1e-9 of its scale
        (``det <= 1e-9 (sxx + syy)²``, NaN included), or fewer than 3 points are known.
    """
    points = np.ascontiguousarray(points, dtype=np.float64)
    mask = np.ascontiguousarray(mask, dtype=np.bool_)
    out = np.empty(mask.shape[0], dtype=np.bool_)
    _flat_kernel(points, mask, out)
    return out


def flat_frames_numpy(points: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """:func:`flat_frames` by the numpy formula it replaced (the reference of the tests and of
    ``benchmarks/bench_pipeline.py``); same shapes, same answer."""
    w = mask.astype(np.float64)
    cnt = np.maximum(w.sum(axis=1), 1.0)
    p = np.where(mask[..., None], points, 0.0)
    mean = p.sum(axis=1) / cnt[:, None]
    d = (p - mean[:, None, :]) * w[..., None]
    sxx = (d[..., 0] ** 2).sum(axis=1)
    syy = (d[..., 1] ** 2).sum(axis=1)
    sxy = (d[..., 0] * d[..., 1]).sum(axis=1)
    det = sxx * syy - sxy**2
    return ~(det > 1e-9 * (sxx + syy) ** 2) | (w.sum(axis=1) < 3)


@njit(cache=True, nogil=True)
def affine_apply_inplace(x, y, M):  # pragma: no cover - numba
    """In place: ``p -> M[:, :2] @ p + M[:, 2]`` on planar ``(n, m)`` frames, ``M`` (n, 2, 3).

    The operations and their order are numpy's ``nx = x·a00; nx += y·a01; nx += a02`` (and
    likewise for y): elementwise IEEE arithmetic, so the same numbers.
    """
    n, m = x.shape
    for r in range(n):
        a00, a01, a02 = M[r, 0, 0], M[r, 0, 1], M[r, 0, 2]
        a10, a11, a12 = M[r, 1, 0], M[r, 1, 1], M[r, 1, 2]
        for p in range(m):
            px = x[r, p]
            py = y[r, p]
            x[r, p] = (px * a00 + py * a01) + a02
            y[r, p] = (px * a10 + py * a11) + a12


@njit(cache=True, nogil=True)
def similarity_inplace(x, y, mask, pts, offsets, first, second, targets):  # pragma: no cover
    """In place: per-part similarity (two anchors) or translation (one anchor, ``second`` −1).

    Group g moves points ``pts[offsets[g]:offsets[g + 1]]`` so that anchor ``first[g]`` goes
    to ``targets[g, 0:2]`` and ``second[g]`` to ``targets[g, 2:4]``; the arithmetic is that of
    ``geometry._similarity_planar`` (elementwise, same order), so the same numbers.
    """
    n = x.shape[0]
    for r in range(n):
        for g in range(first.size):
            i = first[g]
            ax = x[r, i]
            ay = y[r, i]
            tax = targets[g, 0]
            tay = targets[g, 1]
            j = second[g]
            if j < 0:
                for t in range(offsets[g], offsets[g + 1]):
                    p = pts[t]
                    x[r, p] = (x[r, p] - ax) + tax
                    y[r, p] = (y[r, p] - ay) + tay
                continue
            ux = x[r, j] - ax
            uy = y[r, j] - ay
            n2 = ux * ux + uy * uy if (mask[r, i] and mask[r, j]) else 1.0
            vx = targets[g, 2] - tax
            vy = targets[g, 3] - tay
            kr = (vx * ux + vy * uy) / n2
            ki = (vy * ux - vx * uy) / n2
            for t in range(offsets[g], offsets[g + 1]):
                p = pts[t]
                px = x[r, p] - ax
                py = y[r, p] - ay
                x[r, p] = (px * kr - py * ki) + tax
                y[r, p] = (px * ki + py * kr) + tay


@njit(cache=True, nogil=True)
def _pairwise_sum(a, n):  # pragma: no cover - numba
    """numpy's sum of a contiguous ``a[:n]`` (n <= 128): eight running sums, then the rest."""
    if n < 8:
        res = 0.0
        for i in range(n):
            res += a[i]
        return res
    r0, r1, r2, r3 = a[0], a[1], a[2], a[3]
    r4, r5, r6, r7 = a[4], a[5], a[6], a[7]
    i = 8
    stop = n - (n % 8)
    while i < stop:
        r0 += a[i]
        r1 += a[i + 1]
        r2 += a[i + 2]
        r3 += a[i + 3]
        r4 += a[i + 4]
        r5 += a[i + 5]
        r6 += a[i + 6]
        r7 += a[i + 7]
        i += 8
    res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while i < n:
        res += a[i]
        i += 1
    return res


@njit(cache=True, nogil=True)
def rms_normalize_inplace(x, y):  # pragma: no cover - numba
    """In place on C-contiguous ``(n, m)`` rows (m <= 128): centroid to the origin, RMS
    distance 1 — numpy's ``x -= x.mean(1)``, ``x *= 1 / sqrt(mean(x² + y²))`` with numpy's
    summation order, so the same numbers."""
    n, m = x.shape
    t = np.empty(m)
    for r in range(n):
        xr = x[r]
        yr = y[r]
        mx = _pairwise_sum(xr, m) / m
        my = _pairwise_sum(yr, m) / m
        for p in range(m):
            xr[p] -= mx
            yr[p] -= my
            t[p] = xr[p] * xr[p] + yr[p] * yr[p]
        inv = 1.0 / np.sqrt(_pairwise_sum(t, m) / m)
        for p in range(m):
            xr[p] *= inv
            yr[p] *= inv
