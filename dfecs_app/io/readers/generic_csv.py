"""Generic landmark tables: one frame per row.

With a header: ``x_i, y_i`` columns numbered ``0..N-1`` in the source layout, N = 68, 66
(DISFA: the 68 layout without 60 and 64) or 49 (BP4D: without the jaw and 60, 64), in any
column order, plus optional ``subject``, ``sequence`` and ``frame`` columns.

Without a header (CSV or whitespace TXT, e.g. DISFA/BP4D exports): rows of 2N numbers, either
planar ``x_0..x_{N-1}, y_0..y_{N-1}`` or interleaved ``x_0, y_0, x_1, y_1, ...``. Which of the
two is decided from the data (neighbouring landmarks must be close; see
``guess_row_order``) and reported in the notes.

A row whose coordinates are all NaN/empty is a frame without a face: dropped and reported.
A partly missing row, or an infinite value, is an error naming line and column.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from dfecs_app.io.readers._parsed import (
    Parsed,
    check_finite_interleaved,
    drop_note,
    guess_row_order,
    interleaved_to_points,
    kept,
    rows_to_points,
)
from dfecs_app.io.readers._text import check_point_count, landmark_columns, load_table
from dfecs_app.io.readers.openface import as_int, read_columns


def read_generic_csv(path: Path, text: str, *, header: bool, required: int | None = None) -> Parsed:
    """Read a landmark table with or without header; see the module docstring."""
    table = load_table(path, text, header=header)
    notes = []
    subject = sequence = None
    if header:
        layout, cols = landmark_columns(table, required)
        named, xy = read_columns(table, ["frame"], cols)
        frame = as_int(table, *named["frame"][::-1]) if "frame" in named else np.arange(table.n_rows)
        j = table.index("subject", required=False)
        subject = None if j is None else np.asarray(table.strings(j))
        j = table.index("sequence", required=False)
        sequence = None if j is None else np.asarray(table.strings(j))
    else:
        n_fields = table.n_columns
        if n_fields % 2:
            raise table.error(f"{n_fields} numbers per row; expected 2 x (68, 66 or 49)", 0)
        layout = check_point_count(path, n_fields // 2, "each row", int(table.line_no[0]), required)
        cols = list(range(n_fields))
        frame = np.arange(table.n_rows)
        xy = table.floats(cols)
    finite = np.isfinite(xy)
    face = finite.any(axis=1)
    if not face.all():
        notes.append(drop_note(path, ~face, frame, "all coordinates missing"))
    if header:  # read_columns gives [x0, y0, x1, y1, ...]
        check_finite_interleaved(table, xy, cols, face)
        points, mask = interleaved_to_points(kept(xy, face), layout)
    else:
        table.check_finite(xy, cols, rows=face)
        order = guess_row_order(xy[face], int(layout))
        notes.append(f"{path}: headerless rows of {layout} points read as {order} "
                     + ("[x0..xN-1, y0..yN-1]" if order == "planar" else "[x0, y0, x1, y1, ...]"))
        points, mask = rows_to_points(kept(xy, face), layout, order)
    return Parsed(points, mask, frame=frame[face],
                  subject=None if subject is None else subject[face],
                  sequence=None if sequence is None else sequence[face], notes=notes)
