"""DISFA per-frame MATLAB files: a ``pts`` array of shape (66, 2) (x, y) per frame.

Read with ``scipy.io.loadmat`` (MATLAB v4-v7.2 files; no pickles involved). The 66 points
are the 68 layout without the inner lip corners 60 and 64, which are marked missing. A
(68, 2) or (49, 2) ``pts`` array is accepted as well.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np

from dfecs_app.core.landmarks import expand_to_68
from dfecs_app.errors import InputError
from dfecs_app.io.npz import check_regular_file
from dfecs_app.io.readers._parsed import Parsed
from dfecs_app.io.readers._text import check_point_count
from dfecs_app.io.schema import LIMITS, check_bytes

#: Variable names looked up, in order.
MAT_KEYS = ("pts", "points", "landmarks")


def read_disfa_mat(path: Path, *, required: int | None = None) -> Parsed:
    """Read one frame from a ``.mat`` file; see the module docstring."""
    import scipy.io  # here, not at import: with scipy.sparse up to 0.2 s no other format needs

    path = check_regular_file(path, "MATLAB file")
    if path.stat().st_size == 0:
        raise InputError("empty file", path)
    check_bytes(path.stat().st_size * 4, "reading the MATLAB file", path)
    try:
        data = scipy.io.loadmat(str(path))
    except NotImplementedError:
        raise InputError("MATLAB v7.3 (HDF5) files are not supported; save with '-v7'",
                         path) from None
    except (scipy.io.matlab.MatReadError, ValueError, TypeError, OSError, KeyError, IndexError,
            EOFError, struct.error, zlib.error, MemoryError, OverflowError, AttributeError) as err:
        raise InputError(f"not a readable MATLAB .mat file ({type(err).__name__}: "
                         f"{' '.join(str(err).split())[:120]})", path) from None
    key = next((k for k in MAT_KEYS if k in data), None)
    if key is None:
        names = ", ".join(k for k in data if not k.startswith("__")) or "none"
        raise InputError(f"no 'pts' array (variables: {names})", path)
    arr = np.asarray(data[key])
    if arr.ndim != 2 or arr.shape[1] != 2 or not np.issubdtype(arr.dtype, np.number):
        raise InputError(f"'{key}' has shape {arr.shape}; expected (66, 2) numbers", path, field=key)
    # a .mat of DISFA's 66 points, or the full 68 (or BP4D's 49) layout: the array says which
    layout = check_point_count(path, arr.shape[0], f"'{key}'", None,
                               None if required == 66 else required)
    arr = arr.astype(np.float64)
    if np.iscomplexobj(data[key]):
        raise InputError("complex numbers; expected (66, 2) real coordinates", path, field=key)
    if not (np.isfinite(arr) & (np.abs(arr) <= LIMITS.magnitude)).all():
        r = int(np.argwhere(~np.isfinite(arr))[0][0])
        raise InputError(f"point {r} is not finite ({arr[r].tolist()})", path, field=key)
    points, mask = expand_to_68(arr[None], layout)
    return Parsed(points, mask, per_frame=True)
