"""The displacement field of a projected AU image (SI 7.1), built so that any real neutral face
morphs and the warp stays one-to-one.

pychubby's model of a landmark warp (``pychubby.base.DisplacementField.generate``) is a
*backward* field: at each output pixel ``y`` the image is sampled at ``y + δ(y)``, where
``δ`` is the linear radial-basis interpolant (``φ(r) = r``, no polynomial term, as
``scipy.interpolate.Rbf(function='linear')``) of ``old − new`` placed at the *new* landmark
positions, with fixed points (``δ = 0``) at the region's corners and border. This module
computes exactly that field (:func:`rbf_weights`, :func:`rbf_field`; equal to pychubby's to
float32 precision) and adds what real faces need around it:

Control points (:func:`control_points`)
    On closed lips dlib puts 61 and 67 on the same pixel (62/66 and 63/65 within 1 px), and on
    closed eyes the eyelids meet. Keypoints whose *new* positions lie within ``merge_tol`` of
    each other become one control point (they move together; the RBF system stays regular).
    Keypoints whose *neutral* positions nearly coincide but whose new positions separate (an
    AU opening the mouth) stay separate control points; their sources are spread by at most
    ``split`` pixels along the direction they part, so the opening stretches the thin strip at
    the lip line instead of mapping a whole gap onto one pixel (which would fold).

No crossing (:func:`uncross`)
    Upper and lower inner lips (and eyelids, :data:`~dfecs_app.core.landmarks.OPPOSING_PAIRS`)
    never cross: where an AU would push an upper point below its partner, both stop where they
    meet.

No folds (:func:`min_jacobian`, :func:`plan_warp`)
    The backward map ``y ↦ y + δ(y)`` is one-to-one where ``det(I + ∇δ) > 0``. When the field
    of the requested intensity has ``det(I + ∇δ) < J_MIN`` somewhere in the region, the
    intensity is lowered (bisection on the fraction of the requested motion) to the largest one
    that keeps the minimum at or above ``J_MIN``, and the plan says so (``capped``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from dfecs_app.core._cd import single_blas_thread
from dfecs_app.core.landmarks import N_POINTS, OPPOSING_PAIRS

__all__ = [
    "J_MIN", "WarpPlan", "control_points", "uncross", "border_points", "rbf_weights",
    "rbf_field", "min_jacobian", "plan_warp", "motion_recovered",
]

#: Smallest Jacobian determinant of the backward map allowed anywhere in the warped region.
J_MIN = 0.05
#: New positions closer than this (pixels) become one control point.
MERGE_TOL = 0.5
#: Neutral positions closer than this (pixels) count as coincident.
COINCIDE_TOL = 1.5
#: Largest spread (pixels, from the cluster centre) of coincident sources that separate.
SPLIT = 2.0
#: Fixed points per side of the region border (corners included separately).
BORDER_POINTS_PER_SIDE = 8


def _clusters(points: np.ndarray, tol: float) -> list[list[int]]:
    """Groups of indices linked by distances < ``tol`` (single linkage, order kept)."""
    n = len(points)
    parent = list(range(n))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    d = np.linalg.norm(points[:, None] - points[None], axis=-1)
    for i, j in zip(*np.nonzero(np.triu(d < tol, 1))):
        ri, rj = find(int(i)), find(int(j))
        if ri != rj:
            parent[max(ri, rj)] = min(ri, rj)
    groups: dict[int, list[int]] = {}
    for i in range(n):
        groups.setdefault(find(i), []).append(i)
    return list(groups.values())


def control_points(old: np.ndarray, new: np.ndarray, *, merge_tol: float = MERGE_TOL,
                   coincide_tol: float = COINCIDE_TOL, split: float = SPLIT
                   ) -> tuple[np.ndarray, np.ndarray, list[list[int]]]:
    """Control points of the warp from keypoint sources ``old`` and targets ``new``.

    Parameters
    ----------
    old, new : ndarray, shape (n, 2)
        Neutral and projected keypoints (pixels).

    Returns
    -------
    src : ndarray, shape (m, 2)
        Source position of each control point (spread where coincident sources part).
    dst : ndarray, shape (m, 2)
        Target position of each control point (distinct by at least ``merge_tol``).
    groups : list of list of int
        The keypoints of each control point (``len(groups) == m``).
    """
    old = np.asarray(old, dtype=np.float64)
    new = np.asarray(new, dtype=np.float64)
    groups = _clusters(new, merge_tol)
    src = np.array([old[g].mean(axis=0) for g in groups])
    dst = np.array([new[g].mean(axis=0) for g in groups])
    for cluster in _clusters(src, coincide_tol):
        if len(cluster) < 2:
            continue
        c_src, c_dst = src[cluster].mean(axis=0), dst[cluster].mean(axis=0)
        spread = dst[cluster] - c_dst
        radius = float(np.linalg.norm(spread, axis=1).max())
        k = min(1.0, split / radius) if radius > 0 else 0.0
        src[cluster] = c_src + spread * k
    return src, dst, groups


def uncross(neutral: np.ndarray, moved: np.ndarray) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """Stop upper inner lips / eyelids at their lower partners instead of crossing them.

    Parameters
    ----------
    neutral, moved : ndarray, shape (68, 2)
        Neutral and projected keypoints (pixels, y down).

    Returns
    -------
    moved : ndarray, shape (68, 2)
        A corrected copy: for each pair of
        :data:`~dfecs_app.core.landmarks.OPPOSING_PAIRS` the opening measured across the
        corners' axis is at least ``min(0, neutral opening)``; both points are moved by half of
        any deficit.
    stopped : list of (int, int)
        The pairs that were stopped.
    """
    neutral = np.asarray(neutral, dtype=np.float64)
    out = np.array(moved, dtype=np.float64)
    down = neutral[48:68].mean(axis=0) - neutral[36:48].mean(axis=0)  # eyes -> mouth
    stopped = []
    for upper, lower, (c1, c2) in OPPOSING_PAIRS:
        axis = neutral[c2] - neutral[c1]
        normal = np.array([-axis[1], axis[0]])
        norm = float(np.linalg.norm(normal))
        if norm == 0:
            continue
        normal /= norm
        if normal @ down < 0:
            normal = -normal
        floor = min(0.0, float((neutral[lower] - neutral[upper]) @ normal))
        gap = float((out[lower] - out[upper]) @ normal)
        if gap < floor - 1e-9:
            half = (floor - gap) / 2
            out[upper] -= half * normal
            out[lower] += half * normal
            stopped.append((upper, lower))
    return out, stopped


def border_points(width: int, height: int, per_side: int = BORDER_POINTS_PER_SIDE) -> np.ndarray:
    """Fixed points on the border of a ``width × height`` region, corners included: ``(4 per_side, 2)``."""
    xs = np.linspace(0, width - 1, per_side + 1)[:-1]
    ys = np.linspace(0, height - 1, per_side + 1)[:-1]
    top = np.column_stack([xs, np.zeros_like(xs)])
    right = np.column_stack([np.full_like(ys, width - 1), ys])
    bottom = np.column_stack([width - 1 - xs, np.full_like(xs, height - 1)])
    left = np.column_stack([np.zeros_like(ys), height - 1 - ys])
    return np.vstack([top, right, bottom, left])


#: Radial basis function of the interpolant (scipy ``Rbf`` / pychubby ``function=`` names).
FUNCTION = "linear"


def _phi(r: np.ndarray, function: str) -> np.ndarray:
    if function == "linear":
        return r
    if function == "thin_plate":
        with np.errstate(divide="ignore", invalid="ignore"):
            out = r * r * np.log(r)
        return np.where(r > 0, out, 0.0).astype(r.dtype, copy=False)
    raise ValueError(f"unknown radial basis function {function!r}")


def rbf_weights(nodes: np.ndarray, values: np.ndarray, function: str | None = None) -> np.ndarray:
    """Weights of the linear RBF interpolant ``f(p) = Σ w_i ‖p − n_i‖`` (scipy's ``Rbf``).

    Parameters
    ----------
    nodes : ndarray, shape (m, 2)
        Distinct node positions.
    values : ndarray, shape (m, k)
        Values to interpolate.

    Returns
    -------
    ndarray, shape (m, k)
    """
    a = _phi(np.linalg.norm(nodes[:, None] - nodes[None], axis=-1), function or FUNCTION)
    return np.linalg.solve(a, values)


def rbf_field(nodes: np.ndarray, weights: np.ndarray, width: int, height: int, step: int = 1,
              rows_per_block: int = 8, function: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The interpolant on the pixel grid ``x = 0, step, .. < width``, ``y = 0, step, .. < height``.

    Returns
    -------
    dx, dy : ndarray of float32, shape (ceil(height / step), ceil(width / step))
    """
    xs = np.arange(0, width, step, dtype=np.float32)
    ys = np.arange(0, height, step, dtype=np.float32)
    n = nodes.astype(np.float32)
    w = weights.astype(np.float32)
    ddx = (xs[:, None] - n[None, :, 0]) ** 2  # (W', m)
    out = np.empty((len(ys), len(xs), 2), dtype=np.float32)
    for r0 in range(0, len(ys), rows_per_block):
        ddy = (ys[r0:r0 + rows_per_block, None] - n[None, :, 1]) ** 2  # (b, m)
        dist = np.sqrt(ddy[:, None, :] + ddx[None, :, :])  # (b, W', m)
        out[r0:r0 + rows_per_block] = _phi(dist, function or FUNCTION) @ w
    return out[..., 0], out[..., 1]


def min_jacobian(dx: np.ndarray, dy: np.ndarray, step: float = 1.0) -> float:
    """Smallest ``det(I + ∇δ)`` of the backward map over the grid (finite differences)."""
    dxx = np.diff(dx, axis=1)[:-1] / step
    dxy = np.diff(dx, axis=0)[:, :-1] / step
    dyx = np.diff(dy, axis=1)[:-1] / step
    dyy = np.diff(dy, axis=0)[:, :-1] / step
    det = (1 + dxx) * (1 + dyy) - dxy * dyx
    return float(det.min()) if det.size else 1.0


@dataclass
class WarpPlan:
    """What the warp of one projected AU image does.

    Attributes
    ----------
    targets : ndarray, shape (68, 2)
        Where the keypoints go (after :func:`uncross` and the fold cap), region pixels.
    src, dst : ndarray, shape (m, 2)
        Control points (keypoints merged, border points appended), region pixels.
    fraction : float
        Fraction of the requested motion applied (1 unless capped).
    capped : bool
        The requested motion would fold the image; ``fraction`` < 1.
    min_jacobian : float
        Smallest ``det(I + ∇δ)`` of the applied field.
    stopped : list of (int, int)
        Upper/lower pairs stopped where they met (see :func:`uncross`).
    merged : list of tuple of int
        Keypoints sharing one control point.
    """

    targets: np.ndarray
    src: np.ndarray
    dst: np.ndarray
    fraction: float = 1.0
    capped: bool = False
    min_jacobian: float = 1.0
    stopped: list[tuple[int, int]] = field(default_factory=list)
    merged: list[tuple[int, ...]] = field(default_factory=list)
    field_xy: tuple[np.ndarray, np.ndarray] | None = None

    def notes(self) -> list[str]:
        """Human-readable lines on what was changed from the request."""
        out = []
        if self.capped:
            out.append(f"capped at {100 * self.fraction:.0f} % of the requested motion: more "
                       "would fold the image")
        if self.stopped:
            pairs = ", ".join(f"{up}/{lo}" for up, lo in self.stopped)
            out.append(f"keypoints {pairs} stopped where they meet (they would cross)")
        return out


def _build(neutral: np.ndarray, moved: np.ndarray, fixed: np.ndarray, width: int, height: int,
           step: int) -> tuple[np.ndarray, np.ndarray, list[list[int]], tuple[np.ndarray, np.ndarray]]:
    src, dst, groups = control_points(neutral, moved)
    src = np.vstack([src, fixed])
    dst = np.vstack([dst, fixed])
    w = rbf_weights(dst, src - dst)
    return src, dst, groups, rbf_field(dst, w, width, height, step)


def plan_warp(neutral: np.ndarray, displacement: np.ndarray, width: int, height: int, *,
              j_min: float = J_MIN, search_step: int = 2, iterations: int = 7) -> WarpPlan:
    """Plan the warp of a ``width × height`` region for keypoints moved by ``displacement``.

    Parameters
    ----------
    neutral : ndarray, shape (68, 2)
        Neutral keypoints in region pixels (all finite; they may coincide).
    displacement : ndarray, shape (68, 2)
        Requested motion of each keypoint (pixels).
    width, height : int
        Region size; its border is held fixed.
    j_min : float
        Smallest Jacobian determinant allowed.
    search_step : int
        Grid step of the cap search (the final field is checked at full resolution).
    iterations : int
        Bisection steps of the cap search.

    Returns
    -------
    WarpPlan
        With ``field_xy`` the full-resolution backward field ``(dx, dy)`` (float32).
    """
    neutral = np.asarray(neutral, dtype=np.float64)
    displacement = np.asarray(displacement, dtype=np.float64)
    if neutral.shape != (N_POINTS, 2) or displacement.shape != (N_POINTS, 2):
        raise ValueError("neutral and displacement must have shape (68, 2)")
    with single_blas_thread():  # small solves: BLAS threads only contend
        return _plan(neutral, displacement, width, height, j_min, search_step, iterations)


def _plan(neutral: np.ndarray, displacement: np.ndarray, width: int, height: int, j_min: float,
          search_step: int, iterations: int) -> WarpPlan:
    fixed = border_points(width, height)

    def attempt(t: float, step: int):
        moved, stopped = uncross(neutral, neutral + t * displacement)
        src, dst, groups, (dx, dy) = _build(neutral, moved, fixed, width, height, step)
        return moved, stopped, src, dst, groups, (dx, dy), min_jacobian(dx, dy, step)

    result = attempt(1.0, 1)
    fraction, capped = 1.0, False
    if result[-1] < j_min:
        capped = True
        lo, hi = 0.0, 1.0
        for _ in range(iterations):
            mid = (lo + hi) / 2
            if attempt(mid, search_step)[-1] >= j_min:
                lo = mid
            else:
                hi = mid
        fraction = lo
        result = attempt(fraction, 1)
        while result[-1] < j_min and fraction > 0:  # the coarse grid missed a fold
            fraction = max(0.0, fraction - 1.0 / 2 ** iterations)
            result = attempt(fraction, 1)
    moved, stopped, src, dst, groups, fxy, jmin = result
    return WarpPlan(targets=moved, src=src, dst=dst, fraction=fraction, capped=capped,
                    min_jacobian=jmin, stopped=stopped,
                    merged=[tuple(g) for g in groups if len(g) > 1], field_xy=fxy)


def motion_recovered(requested: np.ndarray, found: np.ndarray, min_move: float = 1.0,
                     min_fraction: float = 0.1) -> float:
    """Fraction of a requested keypoint motion that a detector finds again.

    ``Σ found_i · requested_i / Σ |requested_i|²`` over the keypoints that move (by at least
    ``max(min_move, min_fraction × the largest move)`` pixels): 1 when the found motion equals
    the request, 0 when nothing (or only perpendicular motion) is found.

    Parameters
    ----------
    requested, found : ndarray, shape (68, 2)
        Keypoint motions (pixels).
    """
    requested = np.asarray(requested, dtype=np.float64)
    found = np.asarray(found, dtype=np.float64)
    size = np.linalg.norm(requested, axis=1)
    moving = size >= max(min_move, min_fraction * float(size.max(initial=0.0)))
    if not moving.any():
        return float("nan")
    return float((found[moving] * requested[moving]).sum() / (requested[moving] ** 2).sum())
