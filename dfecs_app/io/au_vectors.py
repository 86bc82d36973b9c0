"""FACS AU vector files: the keypoint FACS AUs a user gives to ``dfecs baseline facs`` and to
the GUI's Evaluate panel.

CSV
    One AU per line, its name then 136 numbers ``[x0..x67, y0..y67]``; or a header row naming
    the columns ``name,x_0..x_67,y_0..y_67`` (any order).
NPZ
    ``vectors`` (or ``components``) ``(q, 136)`` with ``names``; or a linear landmark model
    ``zero_xy`` (68, 2) + ``delta_xy`` (q, 68, 2) (py-feat's 2021 AU tables; ``au_columns`` /
    ``names`` optional) or ``neutral_xy`` + ``delta_xy`` (y up), posed at ``intensity`` units
    and standardized like KPMs.

:func:`read_au_file` reads either (by suffix) into a FACS :class:`~dfecs_app.core.aumodel.AUModel`.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np

from dfecs_app.core.aumodel import AUModel
from dfecs_app.core.baselines import (
    DEFAULT_APEX_INTENSITY,
    PYFEAT_2021_AUS,
    facs_aus_from_displacements,
    facs_aus_from_vectors,
    pyfeat_au_names,
)
from dfecs_app.core.landmarks import N_FEATURES, N_POINTS
from dfecs_app.errors import InputError
from dfecs_app.io.npz import open_npz
from dfecs_app.io.readers._text import strict_float
from dfecs_app.io.schema import LIMITS
from dfecs_app.io.textfile import csv_rows, read_text_file

__all__ = ["read_au_csv", "read_au_npz", "read_au_file"]


def _header_columns(header: list[str], path: Path) -> tuple[int, np.ndarray]:
    """Name column and the 136 value columns in [x0..x67, y0..y67] order from a header."""
    cols = {h.strip().lower(): i for i, h in enumerate(header)}
    order = []
    for axis in ("x", "y"):
        for i in range(N_POINTS):
            key = f"{axis}_{i}"
            if key not in cols:
                raise InputError(f"header lacks column {key!r}", path, line=1, field=key)
            order.append(cols[key])
    name_col = next((cols[k] for k in ("name", "au", "label") if k in cols), 0)
    if name_col in order:
        raise InputError("header has no name column", path, line=1)
    return name_col, np.asarray(order)


def read_au_csv(path: str | os.PathLike) -> tuple[np.ndarray, list[str]]:
    """Read named AU vectors from a CSV (see the module docstring).

    Returns
    -------
    vectors : ndarray of float64, shape (q, 136)
        ``[x0..x67, y0..y67]`` per AU.
    names : list of str, length q

    Raises
    ------
    InputError
        Missing file, or a malformed row (naming the file and line).
    """
    path = Path(path)
    text = read_text_file(path, "AU vector file")
    rows = [(line, r) for line, r in csv_rows(io.StringIO(text, newline=""), path)
            if r and any(c.strip() for c in r)]
    if not rows:
        raise InputError("empty file", path)
    name_col, order = 0, np.arange(1, N_FEATURES + 1)
    first_line, first = rows[0]
    try:
        [float(c) for c in first[1:]]
        header = False
    except ValueError:
        header = True
    if header:
        name_col, order = _header_columns(first, path)
        rows = rows[1:]
    vectors, names = [], []
    first_seen: dict[str, int] = {}
    for line, row in rows:
        if len(row) <= int(order.max()):
            raise InputError(f"expected a name and {N_FEATURES} numbers, got {len(row)} fields",
                             path, line=line)
        try:
            vals = np.array([strict_float(row[j]) for j in order])
        except ValueError as err:
            raise InputError(f"not a number ({err})", path, line=line) from None
        if not (np.isfinite(vals) & (np.abs(vals) <= LIMITS.magnitude)).all():
            raise InputError("NaN, inf or absurd value", path, line=line)
        name = row[name_col].strip()
        if name in first_seen:
            raise InputError(f"AU name {name!r} appears twice (first on line "
                             f"{first_seen[name]})", path, line=line)
        first_seen[name] = line
        names.append(name)
        vectors.append(vals)
    if not vectors:
        raise InputError("no AU rows", path)
    return np.asarray(vectors), names


def _numeric(npz, key: str, path: Path) -> np.ndarray:
    """Array ``key`` as float64: real numbers only, finite and not absurd."""
    arr = np.asarray(npz[key])
    if arr.dtype.kind not in "fiu":
        raise InputError(f"must be real numbers, got dtype {arr.dtype}", path, field=key)
    arr = arr.astype(np.float64)
    if not (np.isfinite(arr) & (np.abs(arr) <= LIMITS.magnitude)).all():
        raise InputError("NaN, inf or absurd values", path, field=key)
    return arr


def _names_from(npz, key_options: tuple[str, ...], q: int, default: list[str]) -> list[str]:
    for key in key_options:
        if key in npz.files:
            names = [str(s) for s in np.asarray(npz[key]).ravel()]
            if len(names) == q:
                return names
    return default


def read_au_npz(path: str | os.PathLike, intensity: float = DEFAULT_APEX_INTENSITY) -> AUModel:
    """A FACS AU model from an NPZ of named vectors or of a linear AU landmark model.

    Parameters
    ----------
    path : str or PathLike
    intensity : float
        Apex intensity at which a landmark model (``delta_xy``) is posed.

    Returns
    -------
    AUModel
        ``kind='facs'``, components (q, 136) in standardized units.
    """
    path = Path(path)
    npz = open_npz(path)
    with npz:
        files = set(npz.files)
        try:
            if "vectors" in files or "components" in files:
                key = "vectors" if "vectors" in files else "components"
                vec = _numeric(npz, key, path)
                names = _names_from(npz, ("names",), vec.shape[0] if vec.ndim == 2 else -1,
                                    [f"AU {i + 1}" for i in range(len(vec))])
                model = facs_aus_from_vectors(vec, names, meta={"source": str(path)})
            elif "delta_xy" in files and ("zero_xy" in files or "neutral_xy" in files):
                y_up = "zero_xy" not in files
                neutral = _numeric(npz, "neutral_xy" if y_up else "zero_xy", path)
                delta = _numeric(npz, "delta_xy", path)
                q = delta.shape[0] if delta.ndim == 3 else -1
                default = (pyfeat_au_names(PYFEAT_2021_AUS) if q == len(PYFEAT_2021_AUS)
                           else [f"AU {i + 1}" for i in range(max(q, 0))])
                names = _names_from(npz, ("au_columns", "names"), q, default)
                model = facs_aus_from_displacements(
                    neutral, delta, names, intensity=intensity, y_up=y_up,
                    meta={"source": str(path)})
            else:
                raise InputError("expected arrays 'vectors' + 'names', or 'zero_xy'/'neutral_xy'"
                                 " + 'delta_xy'", path)
        except InputError as err:
            if err.path is None:
                raise InputError(err.message, path, field=err.field) from None
            raise
        except ValueError as err:  # pickled (object) arrays refused by allow_pickle=False
            raise InputError(f"unreadable array ({err})", path) from None
    return model


def read_au_file(path: str | os.PathLike, intensity: float = DEFAULT_APEX_INTENSITY) -> AUModel:
    """FACS AUs from a CSV or NPZ AU vector file (chosen by the suffix; see the module docstring).

    Parameters
    ----------
    path : str or PathLike
        ``.npz`` (:func:`read_au_npz`), anything else is read as CSV (:func:`read_au_csv`).
    intensity : float
        Apex intensity of an NPZ landmark model.

    Returns
    -------
    AUModel
        ``kind='facs'``, ``meta['source']`` the file.

    Raises
    ------
    InputError
        Unreadable or malformed file (naming it).
    """
    path = Path(path)
    if path.suffix.lower() == ".npz":
        return read_au_npz(path, intensity)
    vectors, names = read_au_csv(path)
    try:
        return facs_aus_from_vectors(vectors, names, meta={"source": str(path)})
    except InputError as err:
        raise InputError(err.message, path, field=err.field) from None
