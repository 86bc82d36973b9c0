"""OpenFace 2.x FeatureExtraction CSV (one row per frame and face).

Both layouts are read: the old one (``", "`` separators, no ``face_id``) and the new one
(``","``, with ``face_id``). Landmarks come from ``x_0..x_67, y_0..y_67`` (2-D, pixels); the
3-D ``X_i/Y_i/Z_i`` columns are ignored. Frames whose ``success`` is 0, or whose
``confidence`` is below ``min_confidence``, are dropped and reported in the notes.
With several ``face_id`` values each face becomes its own subject ``<stem>_face<id>``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from dfecs_app.errors import InputError
from dfecs_app.io.readers._parsed import (
    TRACKER_TIME_COLUMNS,
    Parsed,
    check_finite_interleaved,
    drop_note,
    interleaved_to_points,
    interleaving,
    kept,
)
from dfecs_app.io.readers._text import TextTable, landmark_columns, load_table

#: Frames tracked with less confidence than this are dropped by default.
DEFAULT_MIN_CONFIDENCE = 0.5


def is_openface(columns: list[str]) -> bool:
    """Header test: a ``frame`` column and ``success`` or ``confidence``."""
    return "frame" in columns and ("success" in columns or "confidence" in columns)


def as_int(table: TextTable, values: np.ndarray, col: int) -> np.ndarray:
    """An integer id column (frame, face_id), InputError at the first non-integer value."""
    with np.errstate(invalid="ignore"):
        bad = (~np.isfinite(values) | (values != np.round(values))
               | (np.abs(values) >= 2.0**62))
    if bad.any():
        r = int(np.flatnonzero(bad)[0])
        raise table.error(f"not an integer: {values[r]}", r, col)
    return values.astype(np.int64)


def read_columns(table: TextTable, names: list[str], cols: list[int]) -> tuple[dict, np.ndarray]:
    """Parse the optional named columns and the planar landmark columns ``cols`` in one pass.

    Returns ({name: (column index, values (n,))} for the names present, landmarks (n, k) as
    ``[x0, y0, x1, y1, ...]``: see :func:`._parsed.interleaved_to_points` and
    :func:`._parsed.check_finite_interleaved`).
    """
    idx = {n: j for n in names if (j := table.index(n, required=False)) is not None}
    values, xy = table.float_groups([list(idx.values()), list(cols)],
                                    [None, interleaving(len(cols))])
    named = {n: (j, values[:, k]) for k, (n, j) in enumerate(idx.items())}
    return named, xy


def read_track_columns(table: TextTable, names: list[str], time: str | None,
                       cols: list[int]) -> tuple[dict, np.ndarray, np.ndarray | None]:
    """:func:`read_columns` and, in the same pass, the time column ``time`` of a tracker's CSV.

    Returns ``(named, xy, time_s)``: ``time_s`` (n,) in seconds, all NaN when the format or
    the file has no such column, None when it holds something else than numbers (the file
    is then read as without it: the time column is not the reader's to refuse).
    """
    if time is None or table.index(time, required=False) is None:
        named, xy = read_columns(table, names, cols)
        return named, xy, np.full(table.n_rows, np.nan)
    try:
        named, xy = read_columns(table, [*names, time], cols)
    except InputError:
        named, xy = read_columns(table, names, cols)
        return named, xy, None
    return named, xy, named.pop(time)[1]


def file_rows(frame: np.ndarray, time_s: np.ndarray | None
              ) -> tuple[np.ndarray, np.ndarray] | None:
    """:attr:`._parsed.Parsed.file_rows` from every row's frame and time (None: unknown)."""
    return None if time_s is None else (frame, np.asarray(time_s, dtype=np.float64))


def read_openface(path: Path, text: str, *, min_confidence: float = DEFAULT_MIN_CONFIDENCE,
                  required: int | None = None) -> Parsed:
    """Read an OpenFace 2.x CSV; see the module docstring."""
    table = load_table(path, text, header=True)
    layout, cols = landmark_columns(table, required)
    table.index("frame")
    named, xy, time_s = read_track_columns(
        table, ["frame", "success", "confidence", "face_id"], TRACKER_TIME_COLUMNS["openface"],
        cols)
    frame = as_int(table, *named["frame"][::-1])
    keep = np.ones(table.n_rows, dtype=bool)
    notes = []
    reasons = []
    if "success" in named:
        keep &= named["success"][1] == 1
        reasons.append("success=0")
    if "confidence" in named:
        keep &= named["confidence"][1] >= min_confidence
        reasons.append(f"confidence < {min_confidence:g}")
    if not keep.all():
        notes.append(drop_note(path, ~keep, frame, " or ".join(reasons)))
    check_finite_interleaved(table, xy, cols, keep)
    subject = None
    if "face_id" in named:
        face = as_int(table, *named["face_id"][::-1])
        if np.unique(face[keep]).size > 1:
            subject = np.char.add(f"{Path(path).stem}_face", face.astype(str))[keep]
    points, mask = interleaved_to_points(kept(xy, keep), layout)
    return Parsed(points, mask, frame=frame[keep], subject=subject, notes=notes,
                  file_rows=file_rows(frame, time_s))
