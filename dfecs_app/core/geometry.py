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
   their targets (``landmarks.affine_targets_for(mask)``: 0, 16, 27, 33, 39, 42, or BP4D's
   27, 33, 39, 42, 36, 45 when the jaw is missing), applied to all points.

3. **Four-parameter similarity registration per part** (``landmarks.SIMILARITY_GROUPS``):
   right brow + eye on (36, 39), left brow + eye on (42, 45), jaw on (0, 16), the nose
   translated so that 27 sits on its target, the lips left as they are.

About the authors' targets
--------------------------
The targets of ``landmarks`` are the DFECS authors' (PCA-AUs notebook). They are not mutually
consistent: the affine step puts 0, 16 and 27 at y = 900, the similarity step then moves the
jaw anchors and the nose anchor 27 to y = 1000 (the eye anchors stay at y = 1000 in both). So
in the standardized *shape* the nose and the jaw sit ~100 units lower, relative to the eyes
and lips, than the affine frame puts them. This does not change any KPM: the similarity step
maps each part's anchors onto fixed targets in every frame, so a constant offset of a part's
targets adds the same translation to that part in the neutral and the expressive frame and
cancels in their difference; only the vector between a part's two targets matters, and those
agree (0->16 is (800, 0) and 36->39, 42->45 are (200, 0) in both steps). We therefore adopt
the authors' targets unchanged (KPMs in their units, comparable with theirs) and document that
standardized shapes are for KPMs, not for drawing: draw KPM arrows on a neutral face instead.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np

from dfecs_app.core.landmarks import (
    AFFINE_TARGETS_49,
    AFFINE_TARGETS_68,
    LAYOUTS,
    N_POINTS,
    SIMILARITY_GROUPS,
    SIMILARITY_TARGETS,
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
    out = np.full(mask.shape[0], "", dtype="<U2")
    for name in reversed(FRONTALIZATION_LAYOUTS):  # poorest first, richer overwrite
        covers = mask[:, list(LAYOUTS[name])].all(axis=1)
        out[covers] = name
    return out


def _affine_kind(mask: np.ndarray) -> np.ndarray:
    """0: 68-point anchors present, 1: only BP4D's anchors, -1: neither (per frame)."""
    has68 = mask[:, list(AFFINE_TARGETS_68)].all(axis=1)
    has49 = mask[:, list(AFFINE_TARGETS_49)].all(axis=1)
    return np.where(has68, 0, np.where(has49, 1, -1))


def standardized_mask(mask: np.ndarray, frontalize: bool = False) -> np.ndarray:
    """The points that :func:`standardize` returns, per frame.

    A point survives when it is present, belongs to the frame's frontalization layout (if
    frontalizing), and the anchors of its similarity group are present. A frame whose affine
    anchors are missing (neither 0, 16, 27, 33, 39, 42 nor 27, 33, 39, 42, 36, 45), or that fits
    no frontalization layout, cannot be standardized: its row is all False.

    Parameters
    ----------
    mask : ndarray of bool, shape (n, 68)
    frontalize : bool

    Returns
    -------
    ndarray of bool, shape (n, 68)
    """
    mask = _check_mask(mask).copy()
    if frontalize:
        layout = frontalization_layout(mask)
        for name in FRONTALIZATION_LAYOUTS:
            rows = layout == name
            mask[rows] &= layout_mask(name)
        mask[layout == ""] = False
    mask[_affine_kind(mask) < 0] = False
    for group in SIMILARITY_GROUPS:
        lost = ~mask[:, list(group.anchors)].all(axis=1)
        mask[np.ix_(lost, list(group.points))] = False
    return mask


# ---------------------------------------------------------------------------------------------
# 1. Frontalization
# ---------------------------------------------------------------------------------------------
def _procrustes_standardize(shapes: np.ndarray) -> np.ndarray:
    """Reference standardization of ``(n, m, 2)`` shapes (eyes at 36-41, 42-47; m >= 48).

    Centroid at the origin, RMS distance to it 1, eye line horizontal.
    """
    centred = shapes - shapes.mean(axis=1, keepdims=True)
    scale = np.sqrt(np.mean(np.sum(centred**2, axis=2), axis=1))
    centred /= scale[:, None, None]
    return _level_eyes(centred)


def _level_eyes(shapes: np.ndarray) -> np.ndarray:
    """Rotate ``(n, m, 2)`` shapes about the origin so the eye line (36-41 -> 42-47) is horizontal."""
    d = shapes[:, _EYE_L].mean(axis=1) - shapes[:, _EYE_R].mean(axis=1)
    a = np.arctan2(d[:, 1], d[:, 0])
    c, s = np.cos(a)[:, None], np.sin(a)[:, None]
    x, y = shapes[..., 0], shapes[..., 1]
    # [x, y] @ [[c, -s], [s, c]]: rotation by -a, as in the reference code.
    return np.stack([x * c + y * s, -x * s + y * c], axis=-1)


def _apply_weights(shapes: np.ndarray, W: np.ndarray) -> np.ndarray:
    """``[x | y | 1] @ W`` for ``(n, m, 2)`` shapes -> ``(n, m, 2)``."""
    n, m, _ = shapes.shape
    out = shapes[..., 0] @ W[:m] + shapes[..., 1] @ W[m : 2 * m] + W[2 * m]
    return np.stack([out[:, :m], out[:, m:]], axis=-1)


def _frontalize_layout(points: np.ndarray, weights: FrontalizationWeights) -> np.ndarray:
    """Frontalize frames that all carry ``weights.layout``'s points -> ``(n, 68, 2)``."""
    layout = weights.layout
    out = np.zeros_like(points)
    if layout == "68":
        out[:] = _apply_weights(_procrustes_standardize(points), weights.W)
    elif layout == "66":
        idx = list(LAYOUTS["66"])  # DISFA order; eyes keep indices 36-47
        out[:, idx] = _apply_weights(_procrustes_standardize(points[:, idx]), weights.W)
    else:  # '49': standardize in the 49-point mean face's frame, pad with the mean face
        idx = list(LAYOUTS["49"])
        ref = weights.mean_face[idx]
        ref_centre = ref.mean(axis=0)
        ref_scale = np.sqrt(np.mean(np.sum((ref - ref_centre) ** 2, axis=1)))
        present = points[:, idx]
        centred = present - present.mean(axis=1, keepdims=True)
        scale = np.sqrt(np.mean(np.sum(centred**2, axis=2), axis=1))
        full = np.zeros_like(points)
        full[:, idx] = centred * (ref_scale / scale)[:, None, None]
        full = _level_eyes(full)
        full[:, idx] += ref_centre
        absent = np.setdiff1d(np.arange(N_POINTS), idx)
        full[:, absent] = weights.mean_face[absent]
        out[:, idx] = _apply_weights(full, weights.W)[:, idx]
    return out


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
    weights = weights_by_layout(frontalization)
    layout = frontalization_layout(mask)
    out = np.zeros_like(points)
    out_mask = np.zeros_like(mask)
    for name in FRONTALIZATION_LAYOUTS:
        rows = np.flatnonzero(layout == name)
        if rows.size == 0:
            continue
        if name not in weights:
            raise MissingResourceError(
                f"{rows.size} frame(s) have the {name}-point layout but the {name}-point "
                f"frontalization weights were not given (frontalization_weights_{name}.npy)"
            )
        out[rows] = _frontalize_layout(points[rows], weights[name])
        out_mask[rows] = layout_mask(name)
    return out, out_mask


# ---------------------------------------------------------------------------------------------
# 2. Affine registration
# ---------------------------------------------------------------------------------------------
def _affine_fit(src: np.ndarray, dst: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Least-squares affine maps of ``src`` (n, k, 2) onto fixed ``dst`` (k, 2).

    Returns ``(src_centre (n, 2), A (n, 2, 2), dst_centre (2,))`` with the map
    ``p -> (p - src_centre) @ A + dst_centre`` (row vectors). Closed form: the normal
    equations of the centred problem, a batch of 2x2 systems.
    """
    sc = src.mean(axis=1)
    dc = dst.mean(axis=0)
    S = src - sc[:, None]
    D = dst - dc
    G = np.einsum("nki,nkj->nij", S, S)  # (n, 2, 2) = S^T S
    B = np.einsum("nki,kj->nij", S, D)  # (n, 2, 2) = S^T D
    det = G[:, 0, 0] * G[:, 1, 1] - G[:, 0, 1] * G[:, 1, 0]
    inv = np.empty_like(G)
    inv[:, 0, 0] = G[:, 1, 1]
    inv[:, 1, 1] = G[:, 0, 0]
    inv[:, 0, 1] = -G[:, 0, 1]
    inv[:, 1, 0] = -G[:, 1, 0]
    with np.errstate(divide="ignore", invalid="ignore"):
        inv /= det[:, None, None]
    return sc, inv @ B, dc


def affine_register(
    points: np.ndarray,
    mask: np.ndarray,
    targets: Mapping[int, tuple[float, float]] | None = None,
) -> np.ndarray:
    """Six-parameter least-squares affine registration of the anchors onto their targets.

    Parameters
    ----------
    points : ndarray, shape (n, 68, 2)
    mask : ndarray of bool, shape (n, 68)
    targets : dict {point index: (x, y)}, optional
        Anchor targets for every frame. By default per frame ``affine_targets_for``: the
        68-point anchors when present, else BP4D's jaw-free anchors.

    Returns
    -------
    ndarray of float64, shape (n, 68, 2)
        All points mapped by each frame's affine transform; absent points 0.

    Raises
    ------
    ValueError
        If a frame lacks its anchors (filter with :func:`standardized_mask`).
    """
    points, mask = _check(points, mask)
    out = np.zeros_like(points)
    if targets is not None:
        kinds = [(np.arange(points.shape[0]), targets)]
        missing = ~mask[:, list(targets)].all(axis=1)
    else:
        kind = _affine_kind(mask)
        kinds = [(np.flatnonzero(kind == 0), AFFINE_TARGETS_68), (np.flatnonzero(kind == 1), AFFINE_TARGETS_49)]
        missing = kind < 0
    if missing.any():
        raise ValueError(f"{int(missing.sum())} frame(s) lack the affine registration anchors")
    for rows, tgt in kinds:
        if rows.size == 0:
            continue
        anchors = list(tgt)
        dst = np.array([tgt[i] for i in anchors], dtype=np.float64)
        sc, A, dc = _affine_fit(points[rows][:, anchors], dst)
        out[rows] = (points[rows] - sc[:, None]) @ A + dc
    out[~mask] = 0.0
    return out


# ---------------------------------------------------------------------------------------------
# 3. Per-part similarity registration
# ---------------------------------------------------------------------------------------------
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
    targets = SIMILARITY_TARGETS if targets is None else targets
    z = points[..., 0] + 1j * points[..., 1]  # (n, 68) complex
    out = z.copy()
    for group in SIMILARITY_GROUPS:
        pts = list(group.points)
        ok = mask[:, list(group.anchors)].all(axis=1)
        a = z[:, group.anchors[0]][:, None]
        ta = complex(*targets[group.anchors[0]])
        if len(group.anchors) == 1:
            out[:, pts] = z[:, pts] - a + ta
        else:
            b = z[:, group.anchors[1]][:, None]
            tb = complex(*targets[group.anchors[1]])
            d = np.where(ok[:, None], b - a, 1.0)
            out[:, pts] = (z[:, pts] - a) * ((tb - ta) / d) + ta
        out[np.ix_(~ok, pts)] = 0.0
    res = np.stack([out.real, out.imag], axis=-1)
    res[~mask] = 0.0
    return res


# ---------------------------------------------------------------------------------------------
# All three
# ---------------------------------------------------------------------------------------------
def standardize(
    points: np.ndarray,
    mask: np.ndarray,
    frontalization: FrontalizationLike | None = None,
) -> np.ndarray:
    """Frontalization (if weights are given), affine, then per-part similarity registration.

    Parameters
    ----------
    points : ndarray, shape (n, 68, 2)
        Image coordinates; absent points ignored.
    mask : ndarray of bool, shape (n, 68)
    frontalization : FrontalizationWeights or several, optional
        None skips frontalization.

    Returns
    -------
    ndarray of float64, shape (n, 68, 2)
        Standardized keypoints in the units of the authors' targets (jaw points 800 apart).
        Points outside ``standardized_mask(mask, frontalization is not None)`` are 0.

    Raises
    ------
    ValueError
        If a frame cannot be standardized (its row of :func:`standardized_mask` is all False).
    """
    points, mask = _check(points, mask)
    final = standardized_mask(mask, frontalization is not None)
    bad = ~final.any(axis=1)
    if bad.any():
        raise ValueError(
            f"{int(bad.sum())} frame(s) cannot be standardized (registration anchors or "
            "frontalization layout points missing); filter them with standardized_mask"
        )
    if frontalization is not None:
        points, mask = frontalize(points, mask, frontalization)
    points = affine_register(points, mask)
    points = similarity_register(points, mask)
    points[~final] = 0.0
    return points


def _check_mask(mask: np.ndarray) -> np.ndarray:
    mask = np.asarray(mask, dtype=bool)
    if mask.ndim != 2 or mask.shape[1] != N_POINTS:
        raise ValueError(f"mask must have shape (n, {N_POINTS}), got {mask.shape}")
    return mask


def _check(points: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    points = np.array(points, dtype=np.float64)  # a copy: inputs are never modified
    if points.ndim != 3 or points.shape[1:] != (N_POINTS, 2):
        raise ValueError(f"points must have shape (n, {N_POINTS}, 2), got {points.shape}")
    mask = _check_mask(mask)
    if mask.shape[0] != points.shape[0]:
        raise ValueError(f"points have {points.shape[0]} frames but mask has {mask.shape[0]}")
    points[~mask] = 0.0
    return points, mask
