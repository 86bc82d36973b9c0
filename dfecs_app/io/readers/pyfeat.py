"""py-feat detector CSV (``Detector.detect`` output saved with ``to_csv``).

Landmarks come from ``x_0..x_67, y_0..y_67`` among the many other columns (face box,
478-point mesh, AUs, emotions, pose). Rows whose landmarks are all NaN/empty (no face) are
dropped and reported. When a frame holds several faces, the one with the highest
``FaceScore`` is kept (reported), unless the ``Identity`` column names the faces, in which
case each identity becomes its own subject ``<stem>_<identity>``.
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


def is_pyfeat(columns: list[str]) -> bool:
    """Header test: py-feat's face box columns."""
    return "FaceRectX" in columns and "FaceScore" in columns


def read_pyfeat(path: Path, text: str, *, required: int | None = None) -> Parsed:
    """Read a py-feat detector CSV; see the module docstring."""
    table = load_table(path, text, header=True)
    layout, cols = landmark_columns(table, required)
    named, xy, time_s = read_track_columns(table, ["frame", "FaceScore"], TRACKER_TIME_COLUMNS["pyfeat"], cols)
    frame = as_int(table, *named["frame"][::-1]) if "frame" in named else np.arange(table.n_rows)
    finite = np.isfinite(xy)
    face = finite.any(axis=1)
    notes = []
    if not face.all():
        notes.append(drop_note(path, ~face, frame, "no face detected"))
    check_finite_interleaved(table, xy, cols, face)
    subject = None
    j = table.index("Identity", required=False)
    ident = np.asarray(table.strings(j)) if j is not None else None
    if ident is not None and (ident[face] != "").all() and np.unique(ident[face]).size > 1:
        subject = np.char.add(f"{Path(path).stem}_", ident)
    else:
        _, counts = np.unique(frame[face], return_counts=True)
        if (counts > 1).any():
            score = np.nan_to_num(named["FaceScore"][1], nan=-np.inf)
            rows = np.flatnonzero(face)
            order = rows[np.lexsort((-score[rows], frame[rows]))]
            _, first = np.unique(frame[order], return_index=True)
            best = np.zeros_like(face)
            best[order[first]] = True
            notes.append(drop_note(path, face & ~best, frame,
                                   "several faces in a frame; kept the highest FaceScore"))
            face = best
    points, mask = interleaved_to_points(kept(xy, face), layout)
    return Parsed(points, mask, frame=frame[face],
                  subject=None if subject is None else subject[face], notes=notes,
                  file_rows=file_rows(frame, time_s) if "frame" in named else None)
