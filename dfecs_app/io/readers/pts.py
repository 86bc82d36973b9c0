"""300-W / iBUG ``.pts`` files: one frame per file.

::

    version: 1
    n_points: 68
    {
    x y
    ... (n_points lines)
    }

The format's coordinates are 1-based (the centre of the top-left pixel is (1, 1), as in
Matlab); DFECS Studio uses 0-based pixel coordinates everywhere, so 1 is subtracted from x
and y on reading (``single_face_frame0.pts`` then equals frame 0 of the dlib track).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from dfecs_app.core.landmarks import expand_to_68
from dfecs_app.errors import InputError
from dfecs_app.io.readers._parsed import Parsed
from dfecs_app.io.readers._text import check_point_count, strict_float
from dfecs_app.io.schema import LIMITS

_N_POINTS = re.compile(r"^\s*n_points\s*:\s*(\d+)\s*$")
_VERSION = re.compile(r"^\s*version\s*:\s*\S+\s*$")


def read_pts(path: Path, text: str, *, required: int | None = None) -> Parsed:
    """Read a ``.pts`` file (1-based -> 0-based coordinates); see the module docstring."""
    lines = text.splitlines()
    n_points = None
    i = 0
    while i < len(lines) and lines[i].strip() != "{":
        s = lines[i].strip()
        if (m := _N_POINTS.match(s)) is not None:
            n_points = int(m.group(1))
        elif s and not _VERSION.match(s):
            raise InputError(f"unexpected header line {s[:40]!r} (expected 'version:', "
                             "'n_points:' or '{')", path, i + 1)
        i += 1
    if i == len(lines):
        raise InputError("no '{' opening the point list (not a .pts file)", path)
    if n_points is None:
        raise InputError("no 'n_points:' line in the header", path, i + 1)
    start = i + 1
    rows = []
    for k in range(start, len(lines)):
        s = lines[k].strip()
        if s == "}":
            break
        if not s:
            continue
        fields = s.replace(",", " ").split()
        if len(fields) != 2:
            raise InputError(f"{len(fields)} numbers on a point line; expected 2 (x y)", path, k + 1)
        try:
            xy = (strict_float(fields[0]), strict_float(fields[1]))
        except ValueError:
            raise InputError(f"not a number in {s[:40]!r}", path, k + 1) from None
        if not (np.isfinite(xy) & (np.abs(xy) <= LIMITS.magnitude)).all():
            raise InputError(f"coordinate is {s} (a number is required)", path, k + 1)
        rows.append(xy)
    else:
        raise InputError("no '}' closing the point list", path, len(lines))
    if len(rows) != n_points:
        raise InputError(f"header says n_points: {n_points} but {len(rows)} points follow",
                         path, k + 1)
    layout = check_point_count(path, n_points, "the file", None, required)
    points, mask = expand_to_68(np.asarray(rows)[None] - 1.0, layout)
    return Parsed(points, mask, per_frame=True)
