"""Automatic muscle-direction pre-check of AUs (the paper's future work, §4).

A rater calls an AU non-interpretable when a keypoint moves in a direction no facial muscle can
move it (§3.4, SI Tables 3-4). This module makes that test quantitative: a table of feasible
direction *cones* per keypoint (``dfecs_app/resources/anatomy/muscle_cones.json``, read by
:func:`dfecs_app.io.muscle_cones.load_cone_table`; the muscles and their sources are cited in
that file and in the README), and for every AU and keypoint a comparison of the keypoint's
movement with the cones.

Face frame
----------
A movement ``(dx, dy)`` (image coordinates, y down) of keypoint ``i`` becomes
``(lateral, up) = (side_i · dx, −dy)`` with ``side`` from
:func:`dfecs_app.core.landmarks.point_sides` (−1 left of the image, +1 right, midline points
use ``dx``), so one cone describes both halves of the face. Its angle is
``atan2(up, lateral)`` in degrees, 0 lateral, 90 up, 180 medial, 270 down.

The check
---------
* A keypoint **moves** when its displacement is at least ``min_fraction`` (default 0.25) of the
  AU's largest keypoint displacement; smaller movements are not judged.
* A moving keypoint is **feasible** when its angle lies within ``half_width`` of some cone of
  that keypoint, and **flagged** otherwise (it moves against the muscles).
* An AU's **plausibility score** is the share of its moving keypoints' total displacement that
  is feasible (1 = every moving keypoint within a cone; magnitude-weighted, so a flagged
  keypoint that barely passes the threshold costs little).
* The **verdict** (the analogue of a rater's ✓) is plausible when the score is at least
  ``min_score`` (default 0.8: at least 80 % of the moving displacement lies within the
  muscles' directions); ``min_score=1`` asks for no flagged keypoint at all. The default is
  lenient on purpose: on real models every AU has some small residual motion against the
  muscles — of the 20 AUs of py-feat's 2021 AU-to-landmark model, posed and standardized as
  ``dfecs baseline facs`` does, only 2 have no flagged keypoint, while 15 reach a score of 0.8.

The pre-check is the coordinator's: it is never shown to raters (it would bias them).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from dfecs_app.core.landmarks import N_FEATURES, N_POINTS, point_sides
from dfecs_app.core.ratings import MUSCLE_DIRECTIONS
from dfecs_app.errors import InputError

CONE_FORMAT = "dfecs-muscle-cones"
CONE_FORMAT_VERSION = 1
DEFAULT_MIN_FRACTION = 0.25
DEFAULT_MIN_SCORE = 0.8


@dataclass(frozen=True)
class Cone:
    """One feasible direction of one keypoint.

    Attributes
    ----------
    muscle : str
    action : str
        What the muscle does there (FACS AU and appearance).
    code : str
        Direction code of the reference schematic (UF1-UF4, LF1-LF2).
    angle : float
        Axis in degrees in the face frame (0 lateral, 90 up, 180 medial, 270 down).
    half_width : float
        Half opening angle in degrees.
    sources : tuple of str
        Keys into :attr:`ConeTable.sources`.
    """

    muscle: str
    action: str
    code: str
    angle: float
    half_width: float
    sources: tuple[str, ...] = ()

    def contains(self, angle: np.ndarray) -> np.ndarray:
        """Whether movement angles (degrees) lie inside the cone."""
        d = (np.asarray(angle, dtype=float) - self.angle + 180.0) % 360.0 - 180.0
        return np.abs(d) <= self.half_width


@dataclass
class ConeTable:
    """Feasible direction cones of every keypoint.

    Attributes
    ----------
    cones : list of list of Cone, length 68
    sources : dict of str -> str
        Citations by key.
    """

    cones: list[list[Cone]]
    sources: dict[str, str] = field(default_factory=dict)

    def feasible(self, angles: np.ndarray) -> np.ndarray:
        """``(68,)`` angles -> ``(68,)`` bool: inside some cone of that keypoint."""
        a = np.asarray(angles, dtype=float)
        return np.array([any(c.contains(a[i]) for c in self.cones[i]) for i in range(N_POINTS)])

    def muscles_at(self, point: int) -> list[str]:
        return sorted({c.muscle for c in self.cones[int(point)]})


def cone_table_from_dict(data: Mapping[str, Any], where: str = "muscle cones") -> ConeTable:
    """Validate and build a :class:`ConeTable` from the JSON object of the resource file.

    Raises
    ------
    InputError
        Naming the field (``groups[3].cones[1].angle``) of anything malformed.
    """
    def bad(msg: str, fld: str) -> InputError:
        return InputError(msg, where, field=fld)

    if data.get("format") != CONE_FORMAT:
        raise bad(f"not a {CONE_FORMAT} file", "format")
    if data.get("format_version") != CONE_FORMAT_VERSION:
        raise bad(f"format version {data.get('format_version')} is not supported", "format_version")
    sources = data.get("sources", {})
    if not isinstance(sources, dict):
        raise bad("must be an object", "sources")
    groups = data.get("groups")
    if not isinstance(groups, list) or not groups:
        raise bad("must be a non-empty list", "groups")
    cones: list[list[Cone]] = [[] for _ in range(N_POINTS)]
    for gi, grp in enumerate(groups):
        gw = f"groups[{gi}]"
        pts = grp.get("keypoints") if isinstance(grp, dict) else None
        if not isinstance(pts, list) or not all(
                isinstance(p, int) and 0 <= p < N_POINTS for p in pts):
            raise bad(f"must be a list of keypoints 0..{N_POINTS - 1}", f"{gw}.keypoints")
        for ci, c in enumerate(grp.get("cones") or []):
            cw = f"{gw}.cones[{ci}]"
            if not isinstance(c, dict):
                raise bad("must be an object", cw)
            try:
                angle, half = float(c["angle"]), float(c["half_width"])
            except (KeyError, TypeError, ValueError):
                raise bad("needs numeric angle and half_width", cw) from None
            if not 0.0 < half < 180.0:
                raise bad("must be in (0, 180)", f"{cw}.half_width")
            code = str(c.get("code", ""))
            if code not in MUSCLE_DIRECTIONS:
                raise bad(f"unknown direction code {code!r}", f"{cw}.code")
            srcs = tuple(str(s) for s in c.get("sources", ()))
            missing = [s for s in srcs if s not in sources]
            if missing:
                raise bad(f"unknown source(s) {missing}", f"{cw}.sources")
            cone = Cone(str(c.get("muscle", "")), str(c.get("action", "")), code, angle % 360.0,
                        half, srcs)
            for p in pts:
                cones[p].append(cone)
    empty = [i for i in range(N_POINTS) if not cones[i]]
    if empty:
        raise bad(f"keypoints without any cone: {empty}", "groups")
    return ConeTable(cones, {str(k): str(v) for k, v in sources.items()})


def movement_angles(displacement: np.ndarray) -> np.ndarray:
    """``(68, 2)`` image displacements -> ``(68,)`` face-frame angles in degrees [0, 360)."""
    d = np.asarray(displacement, dtype=float)
    side = point_sides()
    lateral = np.where(side == 0.0, d[:, 0], side * d[:, 0])
    return np.degrees(np.arctan2(-d[:, 1], lateral)) % 360.0


@dataclass
class AUCheck:
    """The pre-check of one AU.

    Attributes
    ----------
    moving : ndarray of bool, shape (68,)
        Keypoints judged (displacement ≥ ``min_fraction`` × the largest).
    angles : ndarray, shape (68,)
        Face-frame movement angles in degrees.
    flagged : list of int
        Moving keypoints outside every cone (sorted).
    score : float
        Plausibility in [0, 1] (magnitude-weighted share of feasible movement; NaN: no motion).
    min_score : float
        Score from which the verdict is plausible.
    """

    moving: np.ndarray
    angles: np.ndarray
    flagged: list[int]
    score: float
    min_score: float = DEFAULT_MIN_SCORE

    @property
    def plausible(self) -> bool:
        """The verdict: score ≥ ``min_score`` (an AU without motion is not implausible)."""
        return not np.isfinite(self.score) or self.score >= self.min_score - 1e-12


def check_au(au: np.ndarray, table: ConeTable,
             min_fraction: float = DEFAULT_MIN_FRACTION,
             min_score: float = DEFAULT_MIN_SCORE) -> AUCheck:
    """Compare one AU's keypoint movements with the cones (see the module docstring).

    Parameters
    ----------
    au : ndarray, shape (136,)
        ``[x0..x67, y0..y67]`` (standardized units, y down; only directions matter).
    table : ConeTable
    min_fraction : float
        Keypoints moving less than this fraction of the largest movement are not judged.
    min_score : float
        Plausibility score from which the AU's verdict is plausible.
    """
    v = np.asarray(au, dtype=float)
    if v.shape != (N_FEATURES,):
        raise ValueError(f"an AU must have shape ({N_FEATURES},), got {v.shape}")
    d = np.stack([v[:N_POINTS], v[N_POINTS:]], axis=1)
    mag = np.hypot(d[:, 0], d[:, 1])
    top = float(mag.max())
    angles = movement_angles(d)
    if top == 0.0:
        return AUCheck(np.zeros(N_POINTS, bool), angles, [], float("nan"), min_score)
    moving = mag >= float(min_fraction) * top
    ok = table.feasible(angles)
    flagged = [int(i) for i in np.flatnonzero(moving & ~ok)]
    score = float(mag[moving & ok].sum() / mag[moving].sum())
    return AUCheck(moving, angles, flagged, score, float(min_score))


def precheck(components: np.ndarray, table: ConeTable,
             min_fraction: float = DEFAULT_MIN_FRACTION,
             min_score: float = DEFAULT_MIN_SCORE) -> list[AUCheck]:
    """:func:`check_au` for every AU of a ``(q, 136)`` matrix."""
    comps = np.atleast_2d(np.asarray(components, dtype=float))
    return [check_au(c, table, min_fraction, min_score) for c in comps]


def precheck_rows(names: list[str], checks: list[AUCheck], table: ConeTable
                  ) -> list[dict[str, str]]:
    """One row per AU for tables and CSV: name, verdict, score, flagged keypoints and the
    muscles whose cones they miss."""
    rows = []
    for name, chk in zip(names, checks):
        muscles = sorted({m for p in chk.flagged for m in table.muscles_at(p)})
        rows.append({
            "component": name,
            "precheck": "plausible" if chk.plausible else "implausible",
            "score": "" if not np.isfinite(chk.score) else f"{chk.score:.3f}",
            "moving_keypoints": str(int(chk.moving.sum())),
            "flagged_keypoints": " ".join(map(str, chk.flagged)),
            "against_muscles": "; ".join(muscles),
        })
    return rows
