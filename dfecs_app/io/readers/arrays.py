"""NumPy landmark arrays: ``.npy`` and ``.npz`` (never unpickled: ``allow_pickle=False``).

``.npy``: an array of shape (n, N, 2) or (N, 2) (one frame), N = 68, 66 or 49, (x, y).
``.npz``: the array ``points`` or ``landmarks``, or the only array of the file, as above;
optionally ``mask`` (n, 68) bool (with a 68-point array), and ``subject``, ``sequence``
(str, (n,)) and ``frame`` (int, (n,)). An all-NaN frame is a frame without a face (dropped,
reported); any other NaN/inf is an error.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from dfecs_app.core.landmarks import N_POINTS, expand_to_68
from dfecs_app.errors import InputError
from dfecs_app.io.npz import LoadedArrays, check_regular_file, load_arrays
from dfecs_app.io.readers._parsed import Parsed, drop_note
from dfecs_app.io.readers._text import check_point_count
from dfecs_app.io.schema import LIMITS

#: Array names looked up in an NPZ, in order.
NPZ_KEYS = ("points", "landmarks")


def _load(path: Path):
    """The array of an NPY file, or the (checked) arrays of an NPZ (:mod:`dfecs_app.io.npz`)."""
    path = check_regular_file(path, "landmark file")
    if path.stat().st_size == 0:
        raise InputError("empty file", path)
    with open(path, "rb") as fh:
        npy = fh.read(6) == b"\x93NUMPY"
    arrays = load_arrays(path, "NumPy .npy/.npz file", allow_npy=True)
    return arrays["X"] if npy else LoadedArrays(arrays)


def _ids(npz, name: str, n: int, path: Path, dtype) -> np.ndarray | None:
    if name not in npz.files:
        return None
    try:
        arr = np.asarray(npz[name]).astype(dtype)
    except ValueError as err:
        raise InputError(f"cannot read {name!r}: {err}", path, field=name) from None
    if arr.shape != (n,):
        raise InputError(f"shape {arr.shape}; expected ({n},)", path, field=name)
    return arr


def read_numpy(path: Path, *, required: int | None = None) -> Parsed:
    """Read an ``.npy``/``.npz`` landmark array; see the module docstring."""
    loaded = _load(path)
    field = None
    extra = None
    if isinstance(loaded, LoadedArrays):
        with loaded as npz:
            key = next((k for k in NPZ_KEYS if k in npz.files), None)
            if key is None:
                if len(npz.files) != 1:
                    raise InputError(f"no 'points' array among {npz.files}", path)
                key = npz.files[0]
            field = key
            try:
                arr = npz[key]
            except ValueError as err:
                raise InputError(f"cannot read without unpickling ({err})", path, field=key) from None
            n = arr.shape[0] if arr.ndim == 3 else 1
            extra = {name: _ids(npz, name, n, path, dt) for name, dt in
                     (("subject", str), ("sequence", str), ("frame", np.int64))}
            extra["mask"] = _mask(npz, n, path) if "mask" in npz.files else None
    else:
        arr = loaded
    if (not np.issubdtype(arr.dtype, np.number) or np.iscomplexobj(arr)
            or arr.ndim not in (2, 3) or arr.shape[-1] != 2):
        raise InputError(f"array of shape {arr.shape} and dtype {arr.dtype}; expected "
                         "(n, 68, 2) numbers", path, field=field)
    single = arr.ndim == 2
    arr = np.array(arr, dtype=np.float64).reshape(-1, arr.shape[-2], 2)
    layout = check_point_count(path, arr.shape[1], "the array", None, required)
    if extra and extra["mask"] is not None:
        if layout != "68":
            raise InputError("a 'mask' needs a 68-point 'points' array", path, field="mask")
        arr[~extra["mask"]] = 0.0  # absent points may hold anything (NaN)
    frame = np.arange(len(arr)) if not (extra and extra["frame"] is not None) else extra["frame"]
    with np.errstate(invalid="ignore"):
        arr[np.abs(arr) > LIMITS.magnitude] = np.inf  # absurd values are refused below
    finite = np.isfinite(arr).all(axis=(1, 2))
    face = np.isfinite(arr).any(axis=(1, 2))
    bad = face & ~finite
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        j = int(np.argwhere(~np.isfinite(arr[i]))[0][0])
        raise InputError(f"frame {i}, point {j} is {arr[i, j].tolist()} (a number is required)",
                         path, field=field)
    notes = [] if face.all() else [drop_note(path, ~face, frame, "all coordinates NaN")]
    points, mask = expand_to_68(arr[face], layout)
    if extra and extra["mask"] is not None:
        mask = extra["mask"][face]
    ids = {k: (None if not extra or extra[k] is None else extra[k][face])
           for k in ("subject", "sequence")}
    return Parsed(points, mask, frame=None if single else frame[face],
                  subject=ids["subject"], sequence=ids["sequence"],
                  per_frame=single, notes=notes)


def _mask(npz, n: int, path: Path) -> np.ndarray:
    mask = np.asarray(npz["mask"])
    if mask.shape != (n, N_POINTS) or mask.dtype != bool:
        raise InputError(f"shape {mask.shape}, dtype {mask.dtype}; expected ({n}, 68) bool",
                         path, field="mask")
    return mask
