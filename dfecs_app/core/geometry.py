"""Geometric corrections of §2.1: frontalization, affine registration, per-part similarity.

Every function is pure and vectorized over frames: points ``(n, 68, 2)`` in the 68-point
layout (image coordinates, y down) with a boolean point mask ``(n, 68)``. Missing points are 0.

Pipeline (:func:`standardize`)
------------------------------
1. **Frontalization** (optional; Vonikakis & Winkler, ICIP 2020). Each frame is standardized
   as in the reference code (``get_procrustes`` of bbonik/facial-landmark-frontalization):
   translated to its centroid, divided by its RMS distance to the centroid, and rotated so that
   the line joining the eye centres (mean of points 36-41 and of 42-47) is horizontal. Then the
   learned linear map ``[x | y | 1] @ W`` gives the frontal shape (normalized units, RMS ~1).
   The reference code takes the angle with ``atan(dy / dx)``; we use ``atan2(dy, dx)``, which
   is identical for every upright face (dx > 0) and also undoes rotations beyond ±90°.

   The weight set is chosen **per frame from its mask** (the richest layout the frame covers):

   * all 68 points present -> the 68-point weights (W ``(137, 136)``);
   * the 66 DISFA points present (68 without 60, 64) -> the 66-point weights (W ``(133, 132)``,
     input and output in DISFA's own 66-point order);
   * the 49 BP4D points present (no jaw, no 60, 64) -> the 49-point weights (W ``(137, 136)``,
     trained on 68-layout vectors in which the 19 absent points were zero).
   * anything less cannot be frontalized (see :func:`standardized_mask`).

   Only the points of the chosen layout come out: a frame missing only 60 or 64 is frontalized
   with the 66-point weights; one missing a jaw point with the 49-point weights (and loses
   its jaw).

   The 49-point weights were trained by the DFECS authors on raw pixel shapes in which the
   absent points sat at the image origin, so their zeros entered the standardization. That
   makes their input depend on the face's position and size in pixels. We instead build the
   standardized input directly in the frame of the 49-point mean face: the 49 present points
   are given the centroid and RMS size of the mean face's 49 points (eye line horizontal),
   and each absent point is filled with the mean face's value for it, i.e. with where the
   standardized zeros sat on average in training. This is exactly invariant to moving,
   rotating and scaling the face, and frontalizing the 49-point mean face returns it.

2. **Six-parameter affine registration**: the least-squares affine map of the anchors onto
   their targets, applied to all points. The ``anchors`` option (``landmarks.ANCHOR_SETS``)
   picks them: ``'auto'`` (default) per frame from its mask (``landmarks.affine_targets_for``:
   the 'jaw' set 0, 16, 27, 33, 39, 42, or BP4D's 'eyes' set 27, 33, 39, 42, 36, 45 when a jaw
   anchor is missing); ``'jaw'`` or ``'eyes'`` the same set for every frame (a frame missing
   one of its anchors cannot be standardized). 'eyes' works on any data: it puts 68-point data
   in the affine frame of BP4D-trained models.

3. **Four-parameter similarity registration per part** (``landmarks.SIMILARITY_GROUPS``):
   right brow + eye on (36, 39), left brow + eye on (42, 45), jaw on (0, 16), the nose
   translated so that 27 sits on its target, the lips left as they are.

About the authors' targets
--------------------------
The targets of ``landmarks`` are the DFECS authors' (PCA-AUs notebook). They are not mutually
consistent, nor quite face-like:

* the affine step puts 0, 16 and 27 at y = 900, 100 units above the inner eye corners 39, 42
  (y = 1000); on a real face 27 is ~20 units and 0/16 ~0 units above them. On the real track
  of ``../shared/data`` the least-squares fit leaves 27 at y ~926 and 0/16 at ~931 (with
  BP4D's anchors, 27 ~67 units below its target);
* the similarity step then moves the jaw anchors and 27 to y = 1000. So in the standardized
  *shape* the nose (translated ~75 units down: the nose tip ends ~40 units above the upper
  lip instead of ~115) and the jaw sit lower, relative to eyes and lips, than in the affine
  frame.

Neither changes a KPM. The similarity step maps each part's anchors onto fixed targets in
every frame, so a constant offset of a part's targets is the same translation of that part
in the neutral and the expressive frame and cancels in their difference; only the vector
between a part's two targets matters (0->16 is (800, 0), 36->39 and 42->45 are (200, 0)).
The affine targets fix the units of the lips, which only the affine step moves. We therefore
adopt the authors' targets unchanged (KPMs in their units, comparable with their published
results) and state that standardized shapes serve KPMs, not drawing: draw KPM arrows on a
neutral face, not on a standardized shape.

Implementation
--------------
Internally frames are planar ``x, y`` arrays ``(n, 68)`` (the KPM layout); transforms are
closed forms (batched 2x2 normal equations for the affine fit, complex-number ratios for the
two-point similarities), so a BP4D-sized set (136,000 frames) is corrected in about a second
(``benchmarks/bench_kpm.py``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np

from dfecs_app.core._shape_kernels import (
    affine_apply_inplace,
    rms_normalize_inplace,
    similarity_inplace,
)
from dfecs_app.core.landmarks import (
    AFFINE_TARGETS_49,
    AFFINE_TARGETS_68,
    ANCHOR_SETS,
    LAYOUTS,
    N_POINTS,
    SIMILARITY_GROUPS,
    SIMILARITY_TARGETS,
    check_anchors,
    layout_mask,
)
from dfecs_app.errors import MissingResourceError

#: Frontalization layouts in order of preference (richest first).
FRONTALIZATION_LAYOUTS: tuple[str, ...] = ("68", "66", "49")

_EYE_R = np.arange(36, 42)  # subject's right eye (image left)
_EYE_L = np.arange(42, 48)  # subject's left eye (image right)


@dataclass(frozen=True)
class FrontalizationWeights:
    """Learned frontalization map of one landmark layout (pure arrays; files are read by io).

    Attributes
    ----------
    W : ndarray of float64, shape (2 m + 1, 2 m)
        ``[x_0..x_{m-1}, y_0..y_{m-1}, 1] @ W`` is the frontal shape ``[x | y]``; m = 68 for
        the '68' and '49' layouts (the 49 points padded into the 68 layout), 66 for '66'.
    mean_face : ndarray of float64, shape (m, 2)
        The mean standardized face the weights were trained around (normalized units).
    layout : {'68', '66', '49'}
    source : str
        Where the arrays came from (file or URL), for provenance in KPM files.
    sha256 : str
        sha256 of the weight file, for provenance.
    """

    W: np.ndarray
    mean_face: np.ndarray
    layout: str
    source: str = ""
    sha256: str = ""

    def __post_init__(self) -> None:
        if self.layout not in FRONTALIZATION_LAYOUTS:
            raise ValueError(f"unknown frontalization layout {self.layout!r}")
        m = self.n_in
        W = np.asarray(self.W, dtype=np.float64)
        mean_face = np.asarray(self.mean_face, dtype=np.float64)
        if W.shape != (2 * m + 1, 2 * m):
            raise ValueError(f"{self.layout}-point weights must have shape {(2 * m + 1, 2 * m)}, got {W.shape}")
        if mean_face.shape != (m, 2):
            raise ValueError(f"{self.layout}-point mean face must have shape {(m, 2)}, got {mean_face.shape}")
        if not (np.isfinite(W).all() and np.isfinite(mean_face).all()):
            raise ValueError("frontalization weights contain NaN or inf")
        object.__setattr__(self, "W", W)
        object.__setattr__(self, "mean_face", mean_face)

    @property
    def n_in(self) -> int:
        """Number of points m of the weights' input and output shapes."""
        return 66 if self.layout == "66" else N_POINTS

    @property
    def mean_face_68(self) -> np.ndarray:
        """The mean face in the 68 layout ``(68, 2)``; points absent from the layout are 0."""
        out = np.zeros((N_POINTS, 2))
        idx = list(LAYOUTS[self.layout])
        out[idx] = self.mean_face if self.layout == "66" else self.mean_face[idx]
        return out


FrontalizationLike = FrontalizationWeights | Iterable[FrontalizationWeights] | Mapping[str, FrontalizationWeights]


def weights_by_layout(frontalization: FrontalizationLike) -> dict[str, FrontalizationWeights]:
    """The given weights as a dict by layout (one set, an iterable of sets, or a dict)."""
    if isinstance(frontalization, FrontalizationWeights):
        return {frontalization.layout: frontalization}
    items = frontalization.values() if isinstance(frontalization, Mapping) else frontalization
    out: dict[str, FrontalizationWeights] = {}
    for w in items:
        if not isinstance(w, FrontalizationWeights):
            raise TypeError(f"expected FrontalizationWeights, got {type(w).__name__}")
        out[w.layout] = w
    return out


# ---------------------------------------------------------------------------------------------
# Masks: which frames and points survive standardization
# ---------------------------------------------------------------------------------------------
def frontalization_layout(mask: np.ndarray) -> np.ndarray:
    """Per frame, the frontalization layout its mask covers (richest first), or ''.

    Parameters
    ----------
    mask : ndarray of bool, shape (n, 68)

    Returns
    -------
    ndarray of str, shape (n,)
        '68', '66', '49', or '' where even the 49 BP4D points are not all present.
    """
    mask = _check_mask(mask)
    full = mask.all(axis=1)  # the common case: every point present, layout '68'
    out = np.full(mask.shape[0], "", dtype="<U2")
    out[full] = "68"
    if full.all():
        return out
    rest = np.flatnonzero(~full)
    sub = mask[rest]
    found = np.full(rest.size, "", dtype="<U2")
    for name in reversed(FRONTALIZATION_LAYOUTS):  # poorest first, richer overwrite
        covers = sub[:, list(LAYOUTS[name])].all(axis=1)
        found[covers] = name
    out[rest] = found
    return out


def required_layouts(mask: np.ndarray) -> tuple[str, ...]:
    """The frontalization layouts whose weights frames with this ``(n, 68)`` mask need."""
    found = set(frontalization_layout(mask).tolist())
    return tuple(name for name in FRONTALIZATION_LAYOUTS if name in found)


def _affine_kind(mask: np.ndarray, anchors: str = "auto") -> np.ndarray:
    """0: registered on the 'jaw' anchors, 1: on the 'eyes' anchors, -1: cannot be (per frame)."""
    has68 = mask[:, list(AFFINE_TARGETS_68)].all(axis=1)
    has49 = mask[:, list(AFFINE_TARGETS_49)].all(axis=1)
    if check_anchors(anchors) == "jaw":
        return np.where(has68, 0, -1)
    if anchors == "eyes":
        return np.where(has49, 1, -1)
    return np.where(has68, 0, np.where(has49, 1, -1))


def _anchor_targets(targets: Mapping[int, tuple[float, float]] | None,
                    anchors: str) -> Mapping[int, tuple[float, float]] | None:
    """Targets for every frame: the given ones, the named ``anchors`` set, or None (per frame)."""
    if check_anchors(anchors) == "auto":
        return targets
    if targets is not None:
        raise ValueError("give either targets or a named anchors set, not both")
    return ANCHOR_SETS[anchors]


def standardized_mask(mask: np.ndarray, frontalize: bool = False, anchors: str = "auto") -> np.ndarray:
    """The points that :func:`standardize` returns, per frame.

    A point survives when it is present, belongs to the frame's frontalization layout (if
    frontalizing), and the anchors of its similarity group are present. A frame whose affine
    anchors are missing (with ``anchors='auto'`` neither 0, 16, 27, 33, 39, 42 nor 27, 33, 39,
    42, 36, 45; else one of the named set), or that fits no frontalization layout, cannot be
    standardized: its row is all False.

    Parameters
    ----------
    mask : ndarray of bool, shape (n, 68)
    frontalize : bool
    anchors : {'auto', 'jaw', 'eyes'}
        The affine anchor set (module docstring).

    Returns
    -------
    ndarray of bool, shape (n, 68)
    """
    mask = _check_mask(mask).copy()
    if frontalize:
        layout = frontalization_layout(mask)
        for name in FRONTALIZATION_LAYOUTS[1:]:  # the '68' layout keeps every point
            rows = layout == name
            if rows.any():
                mask[rows] &= layout_mask(name)
        mask[layout == ""] = False
    mask[_affine_kind(mask, anchors) < 0] = False
    for group in SIMILARITY_GROUPS:
        lost = ~mask[:, list(group.anchors)].all(axis=1)
        mask[np.ix_(lost, list(group.points))] = False
    return mask

# ---------------------------------------------------------------------------------------------
# Internals work on planar arrays: x and y, each (n, 68) — the KPM layout, contiguous, fast.
# ---------------------------------------------------------------------------------------------
def _planar(points: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Copies of x and y ``(n, 68)`` with absent points 0 (no NaN from absent garbage)."""
    x = np.where(mask, points[..., 0], 0.0)
    y = np.where(mask, points[..., 1], 0.0)
    return x, y


def _unplanar(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return np.stack([x, y], axis=-1)


def _rms_normalize(x: np.ndarray, y: np.ndarray) -> None:
    """In place: centroid to the origin, RMS distance to it 1 (rows of ``(n, m)`` arrays)."""
    if (x.flags.c_contiguous and y.flags.c_contiguous and x.dtype == y.dtype == np.float64
            and x.shape == y.shape and 0 < x.shape[1] <= 128):
        rms_normalize_inplace(x, y)  # one pass, numpy's summation order: the same numbers
        return
    x -= x.mean(axis=1, keepdims=True)
    y -= y.mean(axis=1, keepdims=True)
    inv = 1.0 / np.sqrt(np.mean(x * x + y * y, axis=1, keepdims=True))
    x *= inv
    y *= inv


def _level_eyes(
    x: np.ndarray, y: np.ndarray, eye_r: slice = slice(36, 42), eye_l: slice = slice(42, 48)
) -> np.ndarray:
    """Rotate about the origin so the eye line (centre of ``eye_r`` -> ``eye_l``) is horizontal.

    The reference rotates by ``-atan(dy / dx)``; this is ``-atan2(dy, dx)`` (the same for dx > 0).
    Returns the rotated ``(n, m)`` planar shapes side by side, ``[x | y]`` of shape (n, 2m):
    the input of :func:`_apply_weights`, with no copy in between.
    """
    m = x.shape[1]
    dx = x[:, eye_l].mean(axis=1, keepdims=True) - x[:, eye_r].mean(axis=1, keepdims=True)
    dy = y[:, eye_l].mean(axis=1, keepdims=True) - y[:, eye_r].mean(axis=1, keepdims=True)
    h = np.hypot(dx, dy)
    c, s = dx / h, dy / h
    xy = np.empty((x.shape[0], 2 * m))
    lx, ly = xy[:, :m], xy[:, m:]
    np.multiply(x, c, out=lx)  # x c + y s
    lx += y * s
    np.multiply(y, c, out=ly)  # y c − x s
    ly -= x * s
    return xy


def _apply_weights(xy: np.ndarray, W: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``[x | y | 1] @ W`` for ``(n, 2m)`` side-by-side planar shapes -> planar ``(n, m)``."""
    m = xy.shape[1] // 2
    out = xy @ W[: 2 * m]
    out += W[2 * m]
    return out[:, :m], out[:, m:]


def _weights_49(w: FrontalizationWeights) -> tuple[np.ndarray, np.ndarray, float, np.ndarray]:
    """The 49-point map reduced to the present points.

    The absent points always enter as the mean face's values, so their rows of W fold into
    the intercept; only the present points' outputs are kept. Returns ``(W_r (99, 98),
    ref_centre (2,), ref_scale, idx (49,))``: ``[x49 | y49 | 1] @ W_r`` -> ``[x49 | y49]``.
    """
    idx = np.asarray(LAYOUTS["49"])
    absent = np.setdiff1d(np.arange(N_POINTS), idx)
    rows_in = np.concatenate([idx, idx + N_POINTS])
    rows_abs = np.concatenate([absent, absent + N_POINTS])
    cols = rows_in
    bias = w.W[2 * N_POINTS] + np.concatenate([w.mean_face[absent, 0], w.mean_face[absent, 1]]) @ w.W[rows_abs]
    W_r = np.vstack([w.W[np.ix_(rows_in, cols)], bias[cols][None]])
    ref = w.mean_face[idx]
    ref_centre = ref.mean(axis=0)
    ref_scale = float(np.sqrt(np.mean(np.sum((ref - ref_centre) ** 2, axis=1))))
    return W_r, ref_centre, ref_scale, idx


#: Positions of the eyes (36-41, 42-47) within the 49-point layout.
_EYES_49 = (slice(LAYOUTS["49"].index(36), LAYOUTS["49"].index(41) + 1),
            slice(LAYOUTS["49"].index(42), LAYOUTS["49"].index(47) + 1))


def _frontalize_planar(
    x: np.ndarray, y: np.ndarray, layout: np.ndarray, weights: dict[str, FrontalizationWeights]
) -> tuple[np.ndarray, np.ndarray]:
    """Frontal shapes (new arrays); rows with layout '' and absent points are left 0."""
    if x.shape[0] and "68" in weights and (layout == "68").all():  # one layout: no copies
        sx, sy = x.copy(), y.copy()
        _rms_normalize(sx, sy)
        return _apply_weights(_level_eyes(sx, sy), weights["68"].W)
    fx = np.zeros_like(x)
    fy = np.zeros_like(y)
    for name in FRONTALIZATION_LAYOUTS:
        rows = np.flatnonzero(layout == name)
        if rows.size == 0:
            continue
        if name not in weights:
            raise MissingResourceError(
                f"{rows.size} frame(s) have the {name}-point layout but the {name}-point "
                f"frontalization weights were not given (frontalization_weights_{name}.npy)"
            )
        w = weights[name]
        sel = slice(None) if rows.size == x.shape[0] else rows
        if name == "68":
            sx, sy = x[sel].copy(), y[sel].copy()
            _rms_normalize(sx, sy)
            fx[sel], fy[sel] = _apply_weights(_level_eyes(sx, sy), w.W)
            continue
        idx = np.asarray(LAYOUTS[name])
        sx, sy = x[sel][:, idx], y[sel][:, idx]
        _rms_normalize(sx, sy)
        if name == "66":  # DISFA's own order; the eyes keep their indices 36-47
            ox, oy = _apply_weights(_level_eyes(sx, sy), w.W)
        else:  # '49': standardize in the 49-point mean face's frame (module docstring)
            W_r, ref_centre, ref_scale, _ = _weights_49(w)
            lxy = _level_eyes(sx, sy, *_EYES_49)
            lx, ly = lxy[:, :len(idx)], lxy[:, len(idx):]
            lx *= ref_scale
            ly *= ref_scale
            lx += ref_centre[0]
            ly += ref_centre[1]
            ox, oy = _apply_weights(lxy, W_r)
        if isinstance(sel, slice):
            fx[:, idx], fy[:, idx] = ox, oy
        else:
            fx[np.ix_(rows, idx)], fy[np.ix_(rows, idx)] = ox, oy
    return fx, fy


def _affine_fit(sx: np.ndarray, sy: np.ndarray,
                targets: Mapping[int, tuple[float, float]]) -> np.ndarray:
    """Least-squares affine maps ``(m, 2, 3)`` of anchors ``sx, sy`` (m, k) onto ``targets``.

    Closed form of the centred normal equations: with anchors S (k, 2) centred and targets
    D (k, 2) centred, ``A = (S^T S)^-1 S^T D`` and ``p -> (p - mean S) @ A + mean D``; returned
    as ``M = [Aᵀ | b]`` so that ``p -> M[:, :2] @ p + M[:, 2]``.
    """
    dst = np.array([targets[i] for i in targets], dtype=np.float64)
    dc = dst.mean(axis=0)
    Dx, Dy = dst[:, 0] - dc[0], dst[:, 1] - dc[1]
    mx, my = sx.mean(axis=1), sy.mean(axis=1)
    sx = sx - mx[:, None]
    sy = sy - my[:, None]
    gxx, gxy, gyy = (sx * sx).sum(1), (sx * sy).sum(1), (sy * sy).sum(1)
    bxx, bxy, byx, byy = sx @ Dx, sx @ Dy, sy @ Dx, sy @ Dy
    det = gxx * gyy - gxy * gxy
    M = np.empty((sx.shape[0], 2, 3))
    M[:, 0, 0] = (gyy * bxx - gxy * byx) / det  # a00
    M[:, 1, 0] = (gyy * bxy - gxy * byy) / det  # a01
    M[:, 0, 1] = (gxx * byx - gxy * bxx) / det  # a10
    M[:, 1, 1] = (gxx * byy - gxy * bxy) / det  # a11
    M[:, 0, 2] = dc[0] - mx * M[:, 0, 0] - my * M[:, 0, 1]
    M[:, 1, 2] = dc[1] - mx * M[:, 1, 0] - my * M[:, 1, 1]
    return M


def _affine_apply(x: np.ndarray, y: np.ndarray, M: np.ndarray) -> None:
    """In place: ``p -> M[:, :2] @ p + M[:, 2]`` on planar ``(n, 68)`` frames (one numba pass;
    numpy's operations in numpy's order)."""
    affine_apply_inplace(x, y, np.ascontiguousarray(M, dtype=np.float64))


def _similarity_groups(targets: Mapping[int, tuple[float, float]]
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``SIMILARITY_GROUPS`` as arrays for :func:`similarity_inplace`: points, offsets, first
    and second anchor (−1: translation only) and targets ``(g, 4)``."""
    pts = np.array([p for g in SIMILARITY_GROUPS for p in g.points], dtype=np.int64)
    offsets = np.cumsum([0] + [len(g.points) for g in SIMILARITY_GROUPS]).astype(np.int64)
    first = np.array([g.anchors[0] for g in SIMILARITY_GROUPS], dtype=np.int64)
    second = np.array([g.anchors[1] if len(g.anchors) > 1 else -1 for g in SIMILARITY_GROUPS],
                      dtype=np.int64)
    tgt = np.array([[*targets[g.anchors[0]], *(targets[g.anchors[1]] if len(g.anchors) > 1
                                               else (0.0, 0.0))] for g in SIMILARITY_GROUPS],
                   dtype=np.float64)
    return pts, offsets, first, second, tgt


def _similarity_planar(
    x: np.ndarray, y: np.ndarray, mask: np.ndarray, targets: Mapping[int, tuple[float, float]]
) -> None:
    """In place: per-part similarity (two anchors) or translation (one anchor); one numba pass
    with the arithmetic of the formulas below, in their order.

    Per group with anchors a, b and targets ta, tb, as complex numbers:
    ``k = (tb − ta) / (b − a)`` and ``p -> (p − a) k + ta`` (translation ``p − a + ta`` for
    one anchor).
    """
    similarity_inplace(x, y, np.ascontiguousarray(mask, dtype=bool), *_similarity_groups(targets))


def frontalize(
    points: np.ndarray, mask: np.ndarray, frontalization: FrontalizationLike
) -> tuple[np.ndarray, np.ndarray]:
    """Frontalize every frame with the weights of its layout (see the module docstring).

    Parameters
    ----------
    points : ndarray, shape (n, 68, 2)
    mask : ndarray of bool, shape (n, 68)
    frontalization : FrontalizationWeights, or several (iterable or dict by layout)

    Returns
    -------
    frontal : ndarray of float64, shape (n, 68, 2)
        Frontal shapes in normalized units (centred, RMS ~1); absent points 0.
    mask : ndarray of bool, shape (n, 68)
        Points of each frame's layout; all False for frames that fit no layout.

    Raises
    ------
    MissingResourceError
        If frames need the weights of a layout that were not given.
    """
    points, mask = _check(points, mask)
    layout = frontalization_layout(mask)
    fx, fy = _frontalize_planar(*_planar(points, mask), layout, weights_by_layout(frontalization))
    out_mask = np.zeros_like(mask)
    for name in FRONTALIZATION_LAYOUTS:
        out_mask[layout == name] = layout_mask(name)
    fx[~out_mask] = 0.0
    fy[~out_mask] = 0.0
    return _unplanar(fx, fy), out_mask


def affine_matrix(
    points: np.ndarray,
    mask: np.ndarray,
    targets: Mapping[int, tuple[float, float]] | None = None,
    anchors: str = "auto",
) -> np.ndarray:
    """The six-parameter least-squares affine map of each frame's anchors onto their targets.

    Parameters
    ----------
    points : ndarray, shape (n, 68, 2)
    mask : ndarray of bool, shape (n, 68)
    targets : dict {point index: (x, y)}, optional
        Anchor targets for every frame. By default chosen by ``anchors``.
    anchors : {'auto', 'jaw', 'eyes'}
        A named set of ``landmarks.ANCHOR_SETS`` for every frame, or ``'auto'``: per frame
        ``affine_targets_for``, the 68-point anchors when present, else BP4D's jaw-free
        anchors. Not both a named set and ``targets``.

    Returns
    -------
    ndarray of float64, shape (n, 2, 3)
        ``M`` per frame: a point ``p`` (x, y) registers to ``M[:, :2] @ p + M[:, 2]``
        (what :func:`affine_register` applies). Degenerate anchors give NaN or inf.

    Raises
    ------
    ValueError
        If a frame lacks its anchors (filter with :func:`standardized_mask`).
    """
    points, mask = _check(points, mask)
    targets = _anchor_targets(targets, anchors)
    with np.errstate(divide="ignore", invalid="ignore"):
        return _affine_matrices(*_planar(points, mask), mask, targets)


def affine_register(
    points: np.ndarray,
    mask: np.ndarray,
    targets: Mapping[int, tuple[float, float]] | None = None,
    anchors: str = "auto",
) -> np.ndarray:
    """Six-parameter least-squares affine registration of the anchors onto their targets.

    Parameters
    ----------
    points, mask, targets, anchors
        As in :func:`affine_matrix`.

    Returns
    -------
    ndarray of float64, shape (n, 68, 2)
        All points mapped by each frame's affine transform (:func:`affine_matrix`); absent
        points 0.

    Raises
    ------
    ValueError
        If a frame lacks its anchors (filter with :func:`standardized_mask`).
    """
    points, mask = _check(points, mask)
    targets = _anchor_targets(targets, anchors)
    x, y = _planar(points, mask)
    _affine_apply(x, y, _affine_matrices(x, y, mask, targets))
    x[~mask] = 0.0
    y[~mask] = 0.0
    return _unplanar(x, y)


def _affine_matrices(x, y, mask, targets) -> np.ndarray:
    """:func:`affine_matrix` on planar frames (the anchor targets chosen per frame)."""
    if targets is not None:
        kinds = [(np.arange(x.shape[0]), targets)]
        missing = ~mask[:, list(targets)].all(axis=1)
    else:
        kind = _affine_kind(mask)
        kinds = [(np.flatnonzero(kind == 0), AFFINE_TARGETS_68), (np.flatnonzero(kind == 1), AFFINE_TARGETS_49)]
        missing = kind < 0
    if missing.any():
        raise ValueError(f"{int(missing.sum())} frame(s) lack the affine registration anchors")
    M = np.empty((x.shape[0], 2, 3))
    for rows, tgt in kinds:
        anchors = list(tgt)
        if rows.size == x.shape[0]:
            M[:] = _affine_fit(x[:, anchors], y[:, anchors], tgt)
        elif rows.size:
            M[rows] = _affine_fit(x[np.ix_(rows, anchors)], y[np.ix_(rows, anchors)], tgt)
    return M


def similarity_register(
    points: np.ndarray,
    mask: np.ndarray,
    targets: Mapping[int, tuple[float, float]] | None = None,
) -> np.ndarray:
    """Per-part four-parameter similarity (two anchors) or translation (one anchor).

    Parameters
    ----------
    points : ndarray, shape (n, 68, 2)
    mask : ndarray of bool, shape (n, 68)
    targets : dict {point index: (x, y)}, optional
        Anchor targets; default ``landmarks.SIMILARITY_TARGETS``.

    Returns
    -------
    ndarray of float64, shape (n, 68, 2)
        Each group of ``landmarks.SIMILARITY_GROUPS`` mapped so its anchors sit on their
        targets; the lips (and points of no group) unchanged. A group whose anchors are
        absent in a frame is set to 0 there (:func:`standardized_mask` marks it missing).
    """
    points, mask = _check(points, mask)
    x, y = _planar(points, mask)
    _similarity_planar(x, y, mask, SIMILARITY_TARGETS if targets is None else targets)
    keep = mask.copy()
    for group in SIMILARITY_GROUPS:
        lost = ~mask[:, list(group.anchors)].all(axis=1)
        keep[np.ix_(lost, list(group.points))] = False
    x[~keep] = 0.0
    y[~keep] = 0.0
    return _unplanar(x, y)


def standardize_vec(
    points: np.ndarray,
    mask: np.ndarray,
    frontalization: FrontalizationLike | None = None,
    anchors: str = "auto",
) -> np.ndarray:
    """:func:`standardize`, returned as ``(n, 136)`` vectors ``[x0..x67, y0..y67]``.

    A degenerate frame (all anchors on one line, or all points on one spot) comes out as NaN.
    """
    points, mask = _check(points, mask)
    final = standardized_mask(mask, frontalization is not None, anchors)
    bad = ~final.any(axis=1)
    if bad.any():
        raise ValueError(
            f"{int(bad.sum())} frame(s) cannot be standardized (registration anchors "
            f"[{anchors}] or frontalization layout points missing); filter them with "
            "standardized_mask"
        )
    x, y = _planar(points, mask)
    layout = frontalization_layout(mask) if frontalization is not None else None
    weights = weights_by_layout(frontalization) if frontalization is not None else None
    x, y = _standardize_planar(x, y, mask, layout, weights, anchors)
    out = np.concatenate([x, y], axis=1)
    out *= np.concatenate([final, final], axis=1)
    return out


def _standardize_planar(
    x: np.ndarray,
    y: np.ndarray,
    mask: np.ndarray,
    layout: np.ndarray | None,
    weights: dict[str, FrontalizationWeights] | None,
    anchors: str = "auto",
) -> tuple[np.ndarray, np.ndarray]:
    """The three steps on planar ``(n, 68)`` arrays of frames that can all be standardized.

    ``layout`` is :func:`frontalization_layout` of ``mask`` (None without frontalization);
    ``anchors`` the affine anchor set (``'auto'``, ``'jaw'``, ``'eyes'``).
    Points outside :func:`standardized_mask` hold garbage: the caller masks them.
    """
    with np.errstate(divide="ignore", invalid="ignore"):  # degenerate shapes give NaN rows
        if weights is not None:
            x, y = _frontalize_planar(x, y, layout, weights)
            if not (layout == "68").all():
                for name in ("66", "49"):
                    mask = np.where((layout == name)[:, None], mask & layout_mask(name), mask)
        _affine_apply(x, y, _affine_matrices(x, y, mask, _anchor_targets(None, anchors)))
        _similarity_planar(x, y, mask, SIMILARITY_TARGETS)
    return x, y


def standardize(
    points: np.ndarray,
    mask: np.ndarray,
    frontalization: FrontalizationLike | None = None,
    anchors: str = "auto",
) -> np.ndarray:
    """Frontalization (if weights are given), affine, then per-part similarity registration.

    Parameters
    ----------
    points : ndarray, shape (n, 68, 2)
        Image coordinates; absent points ignored.
    mask : ndarray of bool, shape (n, 68)
    frontalization : FrontalizationWeights or several, optional
        None skips frontalization.
    anchors : {'auto', 'jaw', 'eyes'}
        The affine anchor set (module docstring; ``landmarks.ANCHOR_SETS``).

    Returns
    -------
    ndarray of float64, shape (n, 68, 2)
        Standardized keypoints in the units of the authors' targets (jaw points 800 apart).
        Points outside ``standardized_mask(mask, frontalization is not None, anchors)`` are 0.

    Raises
    ------
    ValueError
        If a frame cannot be standardized (its row of :func:`standardized_mask` is all False).
    MissingResourceError
        If frames need frontalization weights of a layout that were not given.
    """
    v = standardize_vec(points, mask, frontalization, anchors)
    return _unplanar(v[:, :N_POINTS], v[:, N_POINTS:])


def _check_mask(mask: np.ndarray) -> np.ndarray:
    mask = np.asarray(mask, dtype=bool)
    if mask.ndim != 2 or mask.shape[1] != N_POINTS:
        raise ValueError(f"mask must have shape (n, {N_POINTS}), got {mask.shape}")
    return mask


def _check(points: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    points = np.asarray(points, dtype=np.float64)  # never modified: internals work on copies
    if points.ndim != 3 or points.shape[1:] != (N_POINTS, 2):
        raise ValueError(f"points must have shape (n, {N_POINTS}, 2), got {points.shape}")
    mask = _check_mask(mask)
    if mask.shape[0] != points.shape[0]:
        raise ValueError(f"points have {points.shape[0]} frames but mask has {mask.shape[0]}")
    return points, mask
