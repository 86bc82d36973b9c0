"""The CSV written by ``dfecs track`` (dlib 68-point tracker).

Columns ``frame,time_s,detected[,face_left,face_top,face_right,face_bottom],x_0..x_67,
y_0..y_67``. Frames with ``detected`` = 0 (no face) have empty coordinates; they are dropped
and reported. A detected frame must have every coordinate.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from dfecs_app.io.readers._parsed import (
    TRACKER_TIME_COLUMNS,
    Parsed,
    check_finite_interleaved,
    drop_note,
    interleaved_to_points,
    kept,
)
from dfecs_app.io.readers._text import landmark_columns, load_table
from dfecs_app.io.readers.openface import as_int, file_rows, read_track_columns

#: The first columns of a tracker CSV.
TRACK_PREFIX = ("frame", "time_s", "detected")


def is_dfecs_track(columns: list[str]) -> bool:
    """Header test: the tracker's first three columns."""
    return tuple(columns[:3]) == TRACK_PREFIX


def read_dfecs_track(path: Path, text: str, *, required: int | None = None) -> Parsed:
    """Read a ``dfecs track`` CSV; see the module docstring."""
    table = load_table(path, text, header=True)
    layout, cols = landmark_columns(table, required)
    table.index("frame")
    table.index("detected")
    named, xy, time_s = read_track_columns(table, ["frame", "detected"], TRACKER_TIME_COLUMNS["dfecs_track"], cols)
    frame = as_int(table, *named["frame"][::-1])
    j, values = named["detected"]
    detected = as_int(table, values, j)
    if not np.isin(detected, (0, 1)).all():
        r = int(np.flatnonzero(~np.isin(detected, (0, 1)))[0])
        raise table.error(f"detected must be 0 or 1, got {detected[r]}", r, j)
    keep = detected == 1
    notes = []
    if not keep.all():
        notes.append(drop_note(path, ~keep, frame, "no face detected"))
    check_finite_interleaved(table, xy, cols, keep)
    points, mask = interleaved_to_points(kept(xy, keep), layout)
    return Parsed(points, mask, frame=frame[keep], notes=notes,
                  file_rows=file_rows(frame, time_s))
