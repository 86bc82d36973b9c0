"""The one landmark model of DFECS Studio: the 68-point layout, face parts, anchors, KPM layout.

Everything that knows which index is which lives here, and only here.

Layout
------
The 68-point iBUG/dlib layout, image coordinates (y down): jaw 0-16, right brow 17-21,
left brow 22-26, nose 27-35, right eye 36-41, left eye 42-47, lips 48-67 ("right" is the
subject's right, i.e. the left of the image).

KPM vector layout
-----------------
A KPM row (and any 136-vector of keypoint coordinates or motions) is
``[x0 .. x67, y0 .. y67]`` — OpenFace's column order and the DFECS authors' code.
``points_to_vec`` / ``vec_to_points`` convert between ``(..., 68, 2)`` point arrays and
``(..., 136)`` vectors. A boolean point mask ``(..., 68)`` (True = keypoint present) becomes a
feature mask ``(..., 136)`` with ``point_mask_to_feature_mask``.

Other layouts
-------------
DISFA tracks 66 points: the 68 layout without the inner lip corners 60 and 64.
BP4D tracks 49 points: the 68 layout without the jaw (0-16) and 60, 64.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import InitVar, dataclass, field

import numpy as np

N_POINTS = 68
N_FEATURES = 2 * N_POINTS

#: Keypoints on the face's midline (chin, nose bridge and tip, lip centres).
MIDLINE_POINTS: tuple[int, ...] = (8, 27, 28, 29, 30, 33, 51, 57, 62, 66)
#: Keypoints on the left of the image (the subject's right side).
IMAGE_LEFT_POINTS: tuple[int, ...] = (*range(0, 8), *range(17, 22), 31, 32, *range(36, 42),
                                      48, 49, 50, 58, 59, 60, 61, 67)


def point_sides() -> np.ndarray:
    """Side of every keypoint, shape (68,): −1 left of the image (subject's right), +1 right
    of the image, 0 on the midline. ``side · dx`` is a movement's lateral component (away
    from the midline)."""
    side = np.ones(N_POINTS)
    side[list(IMAGE_LEFT_POINTS)] = -1.0
    side[list(MIDLINE_POINTS)] = 0.0
    return side

#: Face parts of §2.3.1, in the paper's order of the seven PFMs, as 68-layout point indices.
FACE_PARTS: dict[str, tuple[int, ...]] = {
    "jaw": tuple(range(0, 17)),
    "right_brow": tuple(range(17, 22)),
    "left_brow": tuple(range(22, 27)),
    "nose": tuple(range(27, 36)),
    "right_eye": tuple(range(36, 42)),
    "left_eye": tuple(range(42, 48)),
    "lips": tuple(range(48, 68)),
}
PART_NAMES: tuple[str, ...] = tuple(FACE_PARTS)

#: Opposing contour pairs that touch when a mouth or an eye closes: ``(upper, lower, corners)``
#: with ``corners`` the two points whose line gives the opening's axis (inner lips 61/67,
#: 62/66, 63/65 between mouth corners 60-64; eyelids 37/41, 38/40 and 43/47, 44/46 between
#: the eye corners). A projected AU never moves an upper point below its lower partner.
OPPOSING_PAIRS: tuple[tuple[int, int, tuple[int, int]], ...] = (
    (61, 67, (60, 64)), (62, 66, (60, 64)), (63, 65, (60, 64)),
    (37, 41, (36, 39)), (38, 40, (36, 39)),
    (43, 47, (42, 45)), (44, 46, (42, 45)),
)

#: Human-readable part labels (GUI, reports).
PART_LABELS: dict[str, str] = {
    "jaw": "jawline",
    "right_brow": "right eyebrow",
    "left_brow": "left eyebrow",
    "nose": "nose",
    "right_eye": "right eye",
    "left_eye": "left eye",
    "lips": "lips",
}

#: Polylines for drawing a face outline: (point indices, closed?).
OUTLINE: tuple[tuple[tuple[int, ...], bool], ...] = (
    (tuple(range(0, 17)), False),
    (tuple(range(17, 22)), False),
    (tuple(range(22, 27)), False),
    (tuple(range(27, 31)), False),
    (tuple(range(31, 36)), False),
    (tuple(range(36, 42)), True),
    (tuple(range(42, 48)), True),
    (tuple(range(48, 60)), True),
    (tuple(range(60, 68)), True),
)

# ---------------------------------------------------------------------------------------------
# Other source layouts, expressed as the 68-layout indices they carry (in their own order).
# ---------------------------------------------------------------------------------------------
#: DISFA's 66 points: 68 without the inner lip corners 60 and 64.
LAYOUT_66: tuple[int, ...] = tuple(i for i in range(N_POINTS) if i not in (60, 64))
#: BP4D's 49 points: 68 without the jaw (0-16) and the inner lip corners 60, 64.
LAYOUT_49: tuple[int, ...] = tuple(i for i in range(17, N_POINTS) if i not in (60, 64))
LAYOUTS: dict[str, tuple[int, ...]] = {
    "68": tuple(range(N_POINTS)),
    "66": LAYOUT_66,
    "49": LAYOUT_49,
}

# ---------------------------------------------------------------------------------------------
# Registration anchors and targets (§2.1), in the units of the authors' notebook.
# ---------------------------------------------------------------------------------------------
#: Six-parameter affine registration anchors -> target positions (68 and 66 layouts).
AFFINE_TARGETS_68: dict[int, tuple[float, float]] = {
    0: (300.0, 900.0),
    16: (1100.0, 900.0),
    27: (700.0, 900.0),
    33: (700.0, 1300.0),
    39: (600.0, 1000.0),
    42: (800.0, 1000.0),
}
#: Affine anchors for BP4D's 49 points (no jaw): 27, 33, 39, 42, 36, 45.
AFFINE_TARGETS_49: dict[int, tuple[float, float]] = {
    27: (700.0, 900.0),
    33: (700.0, 1300.0),
    39: (600.0, 1000.0),
    42: (800.0, 1000.0),
    36: (400.0, 1000.0),
    45: (1000.0, 1000.0),
}

#: Similarity-registration target positions of the part anchors.
SIMILARITY_TARGETS: dict[int, tuple[float, float]] = {
    36: (400.0, 1000.0),
    39: (600.0, 1000.0),
    42: (800.0, 1000.0),
    45: (1000.0, 1000.0),
    0: (300.0, 1000.0),
    16: (1100.0, 1000.0),
    27: (700.0, 1000.0),
}


@dataclass(frozen=True)
class PartRegistration:
    """How one group of points is registered in the per-part similarity step.

    Attributes
    ----------
    points : tuple of int
        68-layout indices moved by this registration.
    anchors : tuple of int
        Anchors whose target positions define the transform: two anchors give a
        four-parameter similarity, one anchor a translation.
    """

    name: str
    points: tuple[int, ...]
    anchors: tuple[int, ...]


#: Per-part similarity registration of §2.1. Lips are left as they are.
SIMILARITY_GROUPS: tuple[PartRegistration, ...] = (
    PartRegistration("right_brow_eye", FACE_PARTS["right_brow"] + FACE_PARTS["right_eye"], (36, 39)),
    PartRegistration("left_brow_eye", FACE_PARTS["left_brow"] + FACE_PARTS["left_eye"], (42, 45)),
    PartRegistration("jaw", FACE_PARTS["jaw"], (0, 16)),
    PartRegistration("nose", FACE_PARTS["nose"], (27,)),
)


#: The named affine anchor sets (the ``anchors`` option of ``geometry.standardize``,
#: ``kpm.compute_kpm``, ``dfecs kpm --anchors`` and the Data panel): 'jaw' is the paper's
#: 68-point set, 'eyes' BP4D's jaw-free set (usable on any data, e.g. to put 68-point data in
#: the affine frame of BP4D-trained models). 'auto' is not a set: per frame, 'jaw' when all
#: of its anchors are present, else 'eyes'.
ANCHOR_SETS: dict[str, dict[int, tuple[float, float]]] = {
    "jaw": AFFINE_TARGETS_68,
    "eyes": AFFINE_TARGETS_49,
}
#: Values of the ``anchors`` option, default first.
ANCHOR_CHOICES: tuple[str, ...] = ("auto", *ANCHOR_SETS)
#: Human-readable name of each ``anchors`` choice (CLI help, GUI).
ANCHOR_LABELS: dict[str, str] = {
    "auto": "auto",
    "jaw": f"jaw set ({', '.join(map(str, AFFINE_TARGETS_68))})",
    "eyes": f"eye set ({', '.join(map(str, AFFINE_TARGETS_49))})",
}


def check_anchors(anchors: str) -> str:
    """Return ``anchors`` if it is one of :data:`ANCHOR_CHOICES`, else raise ValueError."""
    if not isinstance(anchors, str) or anchors not in ANCHOR_CHOICES:
        raise ValueError(f"anchors must be one of {', '.join(ANCHOR_CHOICES)}, got {anchors!r}")
    return anchors


def affine_targets_for(mask: np.ndarray | None = None,
                       anchors: str = "auto") -> dict[int, tuple[float, float]]:
    """Return the affine anchor targets usable for a point mask.

    Parameters
    ----------
    mask : ndarray of bool, shape (68,), optional
        Present keypoints. With ``anchors='auto'`` the 68-point anchors are used when all of
        them are present, otherwise BP4D's jaw-free anchors.
    anchors : {'auto', 'jaw', 'eyes'}
        A named set of :data:`ANCHOR_SETS` is returned whatever the mask.
    """
    if check_anchors(anchors) != "auto":
        return ANCHOR_SETS[anchors]
    if mask is None or all(mask[i] for i in AFFINE_TARGETS_68):
        return AFFINE_TARGETS_68
    return AFFINE_TARGETS_49


# ---------------------------------------------------------------------------------------------
# Index helpers for the KPM vector layout [x0..x67, y0..y67]
# ---------------------------------------------------------------------------------------------
def feature_indices(points: Iterable[int]) -> np.ndarray:
    """Columns of a 136-vector holding the given points: all x columns, then all y columns.

    Parameters
    ----------
    points : iterable of int
        68-layout point indices.

    Returns
    -------
    ndarray of int, shape (2 * len(points),)
    """
    idx = np.asarray(list(points), dtype=np.intp)
    return np.concatenate([idx, idx + N_POINTS])


#: Feature columns of each face part in the 136-vector.
PART_FEATURES: dict[str, np.ndarray] = {name: feature_indices(pts) for name, pts in FACE_PARTS.items()}


def points_to_vec(points: np.ndarray) -> np.ndarray:
    """``(..., 68, 2)`` point array -> ``(..., 136)`` vector ``[x0..x67, y0..y67]``."""
    points = np.asarray(points)
    if points.shape[-2:] != (N_POINTS, 2):
        raise ValueError(f"expected points of shape (..., {N_POINTS}, 2), got {points.shape}")
    return np.concatenate([points[..., 0], points[..., 1]], axis=-1)


def vec_to_points(vec: np.ndarray) -> np.ndarray:
    """``(..., 136)`` vector ``[x0..x67, y0..y67]`` -> ``(..., 68, 2)`` point array."""
    vec = np.asarray(vec)
    if vec.shape[-1] != N_FEATURES:
        raise ValueError(f"expected vectors of length {N_FEATURES}, got shape {vec.shape}")
    return np.stack([vec[..., :N_POINTS], vec[..., N_POINTS:]], axis=-1)


def point_mask_to_feature_mask(mask: np.ndarray) -> np.ndarray:
    """``(..., 68)`` bool point mask -> ``(..., 136)`` bool feature mask (x and y alike)."""
    mask = np.asarray(mask, dtype=bool)
    if mask.shape[-1] != N_POINTS:
        raise ValueError(f"expected a point mask of length {N_POINTS}, got shape {mask.shape}")
    return np.concatenate([mask, mask], axis=-1)


def layout_mask(layout: str) -> np.ndarray:
    """Point mask ``(68,)`` of the points a source layout ('68', '66', '49') carries."""
    mask = np.zeros(N_POINTS, dtype=bool)
    mask[list(LAYOUTS[layout])] = True
    return mask


def expand_to_68(points: np.ndarray, layout: str) -> tuple[np.ndarray, np.ndarray]:
    """Place points of a 66- or 49-point layout into the 68 layout.

    Parameters
    ----------
    points : ndarray, shape (n, n_layout, 2)
    layout : {'68', '66', '49'}

    Returns
    -------
    points68 : ndarray, shape (n, 68, 2)
        Missing points are 0.
    mask : ndarray of bool, shape (n, 68)
    """
    idx = LAYOUTS[layout]
    points = np.asarray(points, dtype=np.float64)
    if points.ndim != 3 or points.shape[1:] != (len(idx), 2):
        raise ValueError(f"expected points of shape (n, {len(idx)}, 2), got {points.shape}")
    out = np.zeros((points.shape[0], N_POINTS, 2))
    out[:, list(idx)] = points
    mask = np.zeros((points.shape[0], N_POINTS), dtype=bool)
    mask[:, list(idx)] = True
    return out, mask


def detect_layout(mask: np.ndarray) -> str:
    """The source layout ('68', '66', '49') whose points a ``(68,)`` mask covers exactly, else '68'."""
    mask = np.asarray(mask, dtype=bool)
    for name in ("68", "66", "49"):
        if np.array_equal(mask, layout_mask(name)):
            return name
    return "68"


# ---------------------------------------------------------------------------------------------
# The in-memory landmark table every reader returns
# ---------------------------------------------------------------------------------------------
@dataclass
class LandmarkTable:
    """Landmark tracks of any number of subjects and sequences, in the 68-point layout.

    Attributes
    ----------
    points : ndarray of float64, shape (n, 68, 2)
        Image coordinates (x, y), y down. Missing points are 0.
    mask : ndarray of bool, shape (n, 68)
        True where the keypoint is present.
    subject, sequence : ndarray of str, shape (n,)
    frame : ndarray of int64, shape (n,)
        Frame index within its sequence (as in the source; CK+: file order).
    source : ndarray of str, shape (n,)
        The file each frame came from.
    notes : list of str
        What a reader reported rather than silently did (e.g. dropped failed frames).
    own_points : bool, init only
        True when the caller hands ``points`` (float64) over and keeps no reference: the
        table then uses the array itself instead of a copy (readers, for large files).
    """

    points: np.ndarray
    mask: np.ndarray
    subject: np.ndarray
    sequence: np.ndarray
    frame: np.ndarray
    source: np.ndarray
    notes: list[str] = field(default_factory=list)
    own_points: InitVar[bool] = False

    def __post_init__(self, own_points: bool = False) -> None:
        # a copy unless handed over: missing points are zeroed below
        self.points = (np.asarray(self.points, dtype=np.float64) if own_points
                       else np.array(self.points, dtype=np.float64))
        n = self.points.shape[0]
        if self.points.shape != (n, N_POINTS, 2):
            raise ValueError(f"points must have shape (n, 68, 2), got {self.points.shape}")
        self.mask = np.asarray(self.mask, dtype=bool).reshape(n, N_POINTS)
        self.subject = np.asarray(self.subject, dtype=str).reshape(n)
        self.sequence = np.asarray(self.sequence, dtype=str).reshape(n)
        self.frame = np.asarray(self.frame, dtype=np.int64).reshape(n)
        self.source = np.asarray(self.source, dtype=str).reshape(n)
        self.points[~self.mask] = 0.0

    def __len__(self) -> int:
        return self.points.shape[0]

    @classmethod
    def from_frames(
        cls,
        points: np.ndarray,
        mask: np.ndarray | None = None,
        *,
        subject: str,
        sequence: str,
        source: str,
        frame: Sequence[int] | np.ndarray | None = None,
        notes: list[str] | None = None,
    ) -> LandmarkTable:
        """A table for one sequence: ``points`` (n, 68, 2), optional ``mask`` (n, 68)."""
        points = np.asarray(points, dtype=np.float64)
        n = points.shape[0]
        if mask is None:
            mask = np.ones((n, N_POINTS), dtype=bool)
        return cls(
            points=points,
            mask=mask,
            subject=np.full(n, subject),
            sequence=np.full(n, sequence),
            frame=np.arange(n) if frame is None else np.asarray(frame),
            source=np.full(n, source),
            notes=list(notes or []),
        )

    @classmethod
    def concat(cls, tables: Sequence[LandmarkTable]) -> LandmarkTable:
        """Stack tables row-wise (notes are concatenated)."""
        if not tables:
            raise ValueError("no landmark tables to concatenate")
        return cls(
            points=np.concatenate([t.points for t in tables]),
            mask=np.concatenate([t.mask for t in tables]),
            subject=np.concatenate([t.subject for t in tables]),
            sequence=np.concatenate([t.sequence for t in tables]),
            frame=np.concatenate([t.frame for t in tables]),
            source=np.concatenate([t.source for t in tables]),
            notes=[note for t in tables for note in t.notes],
        )

    def select(self, rows: np.ndarray) -> LandmarkTable:
        """A new table with the given rows (bool mask or indices)."""
        return LandmarkTable(
            points=self.points[rows],
            mask=self.mask[rows],
            subject=self.subject[rows],
            sequence=self.sequence[rows],
            frame=self.frame[rows],
            source=self.source[rows],
            notes=list(self.notes),
        )

    def groups(self) -> list[tuple[str, str, np.ndarray]]:
        """(subject, sequence, row indices) per sequence, in order of first appearance."""
        keys = np.char.add(np.char.add(self.subject, "\x1f"), self.sequence)
        _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
        order = np.argsort(first)
        out = []
        for g in order:
            rows = np.flatnonzero(inverse == g)
            out.append((str(self.subject[rows[0]]), str(self.sequence[rows[0]]), rows))
        return out
