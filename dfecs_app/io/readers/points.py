"""One frame per text file: N lines ``x y`` (N = 68, 66 or 49).

This is the layout of CK+ ``*_landmarks.txt`` files (68 lines such as
``   2.1300000e+02   2.5600000e+02``) and of per-frame DISFA (66) and BP4D (49) text exports.
Fields are separated by whitespace or a comma. Coordinates are taken as they are (CK+ uses
0-based pixel coordinates).
"""

from __future__ import annotations

from pathlib import Path

from dfecs_app.core.landmarks import expand_to_68
from dfecs_app.io.readers._parsed import Parsed
from dfecs_app.io.readers._text import check_point_count, load_table


def read_points_txt(path: Path, text: str, *, required: int | None = None) -> Parsed:
    """Read one frame of N ``x y`` lines; see the module docstring."""
    table = load_table(path, text, header=False)
    if table.n_columns != 2:
        raise table.error(f"{table.n_columns} numbers per line; expected 2 (x y)", 0)
    layout = check_point_count(path, table.n_rows, "the file", None, required)
    xy = table.floats([0, 1])
    table.check_finite(xy, [0, 1])
    points, mask = expand_to_68(xy[None], layout)
    return Parsed(points, mask, per_frame=True)
