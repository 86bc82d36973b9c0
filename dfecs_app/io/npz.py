"""Reading the NPZ/NPY files the app reads (models, KPMs, FACS AU vectors, landmark arrays)
with one set of errors and no allocation before the header is checked.

:func:`load_arrays` opens the archive with :mod:`zipfile`, reads each member's NPY header
(:func:`numpy.lib.format.read_magic`, ``read_array_header_1_0/2_0``) and refuses object
arrays, absurd shapes and members larger than the memory budget
(:func:`dfecs_app.io.schema.check_bytes`) *before* reading any data. Damaged members (bad CRC,
broken deflate stream, truncated) become one :class:`InputError` naming the file and member.
"""

from __future__ import annotations

import os
import stat
import zipfile
import zlib
from pathlib import Path
from typing import IO

import numpy as np

from dfecs_app.errors import InputError
from dfecs_app.io.schema import check_bytes

__all__ = ["load_arrays", "check_regular_file", "open_npz"]

_NPY_MAGIC = b"\x93NUMPY"
_ZIP_MAGIC = b"PK\x03\x04"
#: Most members an archive may hold.
MAX_MEMBERS = 10_000
#: Most dimensions of one array.
MAX_NDIM = 8


def check_regular_file(path: str | os.PathLike, what: str = "file") -> Path:
    """``path`` if it is an existing regular file (FIFOs, devices, folders are refused).

    Raises
    ------
    InputError
        Missing, a folder, or not a regular file — naming it.
    """
    path = Path(path)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise InputError(f"no such {what}", path) from None
    except OSError as err:
        raise InputError(f"cannot read the {what} ({err.strerror or err})", path) from None
    if stat.S_ISDIR(st.st_mode):
        raise InputError(f"is a folder, not a {what}", path)
    if not stat.S_ISREG(st.st_mode):
        raise InputError(f"is not a regular file (a device, FIFO or socket); a {what} is "
                         "read only from a regular file", path)
    return path


def _read_header(fh: IO[bytes], path: Path, name: str) -> tuple[tuple[int, ...], bool, np.dtype]:
    fmt = np.lib.format
    try:
        version = fmt.read_magic(fh)
        if version == (1, 0):
            shape, fortran, dtype = fmt.read_array_header_1_0(fh, max_header_size=100_000)
        elif version in ((2, 0), (3, 0)):
            shape, fortran, dtype = fmt.read_array_header_2_0(fh, max_header_size=100_000)
        else:
            raise ValueError(f"NPY format version {version} is not supported")
    except (ValueError, EOFError, SyntaxError, TypeError) as err:
        raise InputError(f"not a readable NPY array ({_short(err)})", path, field=name) from None
    if dtype.hasobject:
        raise InputError("object arrays are refused (pickled objects need unpickling, which is never done)", path,
                         field=name)
    if len(shape) > MAX_NDIM or any(int(s) < 0 for s in shape):
        raise InputError(f"absurd array shape {shape}", path, field=name)
    nbytes = int(np.prod([int(s) for s in shape], dtype=object)) * max(dtype.itemsize, 1)
    check_bytes(nbytes, f"array {name!r} of shape {shape} {dtype}", path, field=name)
    return tuple(int(s) for s in shape), bool(fortran), dtype


def _short(err: BaseException) -> str:
    text = " ".join(str(err).split()) or type(err).__name__
    return text if len(text) <= 120 else text[:117] + "..."


def _read_member(fh: IO[bytes], path: Path, name: str) -> np.ndarray:
    shape, fortran, dtype = _read_header(fh, path, name)
    count = int(np.prod(shape, dtype=np.int64)) if shape else 1
    data = fh.read(count * dtype.itemsize)
    if len(data) != count * dtype.itemsize:
        raise InputError(f"truncated array ({len(data)} of {count * dtype.itemsize} bytes)",
                         path, field=name)
    arr = np.frombuffer(data, dtype=dtype, count=count)
    if fortran:
        return arr.reshape(shape[::-1]).transpose().copy()
    return arr.reshape(shape).copy()


def load_arrays(path: str | os.PathLike, what: str = "NPZ file", *,
                allow_npy: bool = False) -> dict[str, np.ndarray]:
    """Every array of an NPZ archive (or ``{"X": array}`` of an NPY file if ``allow_npy``).

    Parameters
    ----------
    path : path
    what : str
        What the file should be ("DFECS model file"), for messages.
    allow_npy : bool
        Accept a plain ``.npy`` array (returned under the key ``"X"``).

    Raises
    ------
    InputError
        Missing or non-regular file, not an NPZ/NPY, object arrays, a member too large for
        this machine, a damaged member — one line naming the file and the member.
    """
    path = check_regular_file(path, "file")
    try:
        with open(path, "rb") as fh:
            magic = fh.read(6)
            if magic == _NPY_MAGIC:
                if not allow_npy:
                    raise InputError(f"not a {what} (an NPY array, not an NPZ archive)", path)
                fh.seek(0)
                return {"X": _read_member(fh, path, "X")}
    except OSError as err:
        raise InputError(f"cannot read the {what} ({err.strerror or err})", path) from None
    if not magic.startswith(_ZIP_MAGIC):
        kinds = "NPZ/NPY" if allow_npy else "NPZ"
        raise InputError(f"not an {kinds} file (expected a {what})", path)
    arrays: dict[str, np.ndarray] = {}
    name = None
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
            if len(infos) > MAX_MEMBERS:
                raise InputError(f"holds {len(infos)} members (at most {MAX_MEMBERS})", path)
            total = sum(i.file_size for i in infos)
            check_bytes(total, f"the {what}'s contents", path)
            for info in infos:
                if info.is_dir():
                    continue
                name = info.filename[:-4] if info.filename.endswith(".npy") else info.filename
                if name in arrays:
                    raise InputError("member appears twice in the archive", path, field=name)
                with zf.open(info) as member:
                    arrays[name] = _read_member(member, path, name)
                name = None
    except InputError:
        raise
    except (zipfile.BadZipFile, zlib.error, EOFError, ValueError, NotImplementedError,
            RuntimeError, OSError) as err:
        where = f"damaged member ({_short(err)})" if name else f"not a {what} ({_short(err)})"
        raise InputError(where, path, field=name) from None
    return arrays


class LoadedArrays(dict):
    """The arrays of an archive, usable like an open ``NpzFile`` (``with``, ``.files``)."""

    @property
    def files(self) -> list[str]:
        return list(self)

    def __enter__(self) -> LoadedArrays:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


def open_npz(path: str | os.PathLike, what: str = "a readable NPZ file") -> LoadedArrays:
    """The checked arrays of an NPZ archive (:func:`load_arrays`), NpzFile-like.

    Raises
    ------
    InputError
        As :func:`load_arrays`.
    """
    return LoadedArrays(load_arrays(path, what.removeprefix("a ").removeprefix("an ")))
