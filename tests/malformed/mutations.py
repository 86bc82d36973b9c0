"""Mutations of real input files: each returns ``(label, writer, must_fail)`` where ``writer(path)``
puts the malformed file (or FIFO, device link, folder) at ``path``.

``must_fail`` is False where the mutation may leave a valid file (a cut at a line end, a value
of a free-form field); those cases still must not raise a traceback or clobber an output.
"""

from __future__ import annotations

import io
import json
import os
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

Writer = Callable[[Path], None]
Mutation = tuple[str, Writer, bool]


def put_bytes(data: bytes) -> Writer:
    def write(path: Path) -> None:
        path.write_bytes(data)
    return write


def put_fifo(path: Path) -> None:
    os.mkfifo(path)


def put_devzero(path: Path) -> None:
    path.symlink_to("/dev/zero")


def put_folder(path: Path) -> None:
    path.mkdir()
    (path / "inside.txt").write_text("x\n")


# -- any file ------------------------------------------------------------------------------------
def byte_mutations(data: bytes, *, text: bool, truncation_fails: bool) -> Iterator[Mutation]:
    """Empty, blank, FIFO, /dev/zero, folder, truncations, bad bytes, NUL, BOM + garbage."""
    yield "empty", put_bytes(b""), True
    yield "blank", put_bytes(b" \n\n\t\n"), True
    yield "fifo", put_fifo, True
    yield "dev-zero", put_devzero, True
    yield "folder", put_folder, True
    for frac in (0.05, 0.5, 0.93):
        cut = max(1, int(len(data) * frac))
        if text:  # never cut at a line end: the last line is incomplete
            while cut < len(data) - 1 and data[cut - 1:cut] in (b"\n", b"\r"):
                cut += 1
        yield f"truncated-{int(frac * 100)}%", put_bytes(data[:cut]), truncation_fails
    if text:
        mid = len(data) // 2
        yield "byte-0xff", put_bytes(data[:mid] + b"\xff\xfe" + data[mid:]), True
        yield "nul-byte", put_bytes(data[:mid] + b"\x00" + data[mid:]), True
        yield "latin-1-byte", put_bytes(data[:mid] + b"\xe9" + data[mid:]), True
    yield "garbage", put_bytes(bytes(range(256)) * 8), True


def swapped(others: dict[str, bytes], family: str, families: dict[str, str]) -> Iterator[Mutation]:
    """The bytes of another kind of file under this name (a PNG given as tracks, ...)."""
    for kind, data in others.items():
        if families[kind] != family:
            yield f"swapped-{kind}", put_bytes(data), True


# -- JSON ------------------------------------------------------------------------------------------
def json_leaves(obj: Any, path: tuple = ()) -> Iterator[tuple[tuple, Any]]:
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from json_leaves(v, (*path, k))
        if path:
            yield path, obj
    elif isinstance(obj, list):
        for i, v in enumerate(obj[:2]):
            yield from json_leaves(v, (*path, i))
        yield path, obj
    else:
        yield path, obj


def _set(obj: Any, path: tuple, value: Any) -> Any:
    obj = json.loads(json.dumps(obj))
    if not path:
        return value
    cur = obj
    for p in path[:-1]:
        cur = cur[p]
    cur[path[-1]] = value
    return obj


def wrong_values(value: Any) -> list[tuple[str, Any]]:
    """Values of the wrong JSON type (or absurd) for a leaf holding ``value``."""
    deep: Any = 0
    for _ in range(200):
        deep = [deep]
    if isinstance(value, bool):
        return [("str-false", "false"), ("str-true", "true"), ("int", 0), ("int-1", 1),
                ("null", None), ("list", [])]
    if isinstance(value, int):
        return [("str", str(value)), ("float", value + 0.5), ("bool", True), ("huge", 10**30),
                ("negative", -7), ("null", None), ("deep", deep)]
    if isinstance(value, float):
        return [("str", str(value)), ("bool", True), ("null", None), ("huge", 1e300 * 1e10),
                ("list", [value])]
    if isinstance(value, str):
        return [("int", 5), ("bool", True), ("list", [value]), ("object", {"a": value}),
                ("null", None), ("long", "x" * 200_000)]
    if isinstance(value, list):
        return [("str", "x"), ("object", {}), ("int", 3), ("deep", deep)]
    if isinstance(value, dict):
        return [("list", []), ("str", "x"), ("int", 3)]
    return [("str", "x")]


def dumps(obj: Any) -> bytes:
    text = json.dumps(obj, allow_nan=True)
    return text.replace("Infinity", "1e400").encode()


def json_mutations(doc: Any, lenient: Callable[[tuple, str], bool]) -> Iterator[Mutation]:
    """Wrong types per field, absurd numbers, deep nesting, NaN, top-level list, trailing junk."""
    for path, value in json_leaves(doc):
        where = ".".join(map(str, path)) or "<root>"
        for label, bad in wrong_values(value):
            if bad == value and type(bad) is type(value):
                continue
            yield (f"{where}={label}", put_bytes(dumps(_set(doc, path, bad))),
                   not lenient(path, label))
    deep = "[" * 100_000 + "]" * 100_000
    yield "deep-nesting", put_bytes(deep.encode()), True
    yield "top-level-list", put_bytes(json.dumps([doc]).encode()), True
    yield "nan-literal", put_bytes(json.dumps(doc).replace("{", '{"nan": NaN, ', 1).encode()), \
        False
    yield "trailing-junk", put_bytes(json.dumps(doc).encode() + b" }{"), True


# -- NPZ / NPY ------------------------------------------------------------------------------------
def npz_bytes(arrays: dict[str, np.ndarray], compressed: bool = True, *,
              raw: dict[str, bytes] | None = None) -> bytes:
    """An NPZ archive of ``arrays`` (plus members given as raw NPY bytes)."""
    buf = io.BytesIO()
    mode = zipfile.ZIP_DEFLATED if compressed else zipfile.ZIP_STORED
    with zipfile.ZipFile(buf, "w", mode) as zf:
        for name, arr in arrays.items():
            member = io.BytesIO()
            np.lib.format.write_array(member, np.asanyarray(arr), allow_pickle=True)
            zf.writestr(f"{name}.npy", member.getvalue())
        for name, data in (raw or {}).items():
            zf.writestr(f"{name}.npy", data)
    return buf.getvalue()


def huge_header(dtype: str = "<f8", shape: tuple = (10**10, 136)) -> bytes:
    """An NPY header claiming ``shape`` followed by a few bytes of data."""
    header = {"descr": dtype, "fortran_order": False, "shape": shape}
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, header)
    return buf.getvalue() + b"\x00" * 64


def corrupt_member(data: bytes, name: str, *, crc_only: bool) -> bytes:
    """Flip bytes in the stored data of member ``name`` (deflate stream or CRC breaks)."""
    zf = zipfile.ZipFile(io.BytesIO(data))
    info = zf.getinfo(f"{name}.npy")
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    out = bytearray(data)
    span = max(1, info.compress_size)
    if crc_only:  # stored: change one data byte after the NPY header
        at = start + min(span - 1, 200)
        out[at] ^= 0x01
    else:
        for k in range(start + span // 3, start + min(span, span // 3 + 16)):
            out[k] ^= 0x5A
    return bytes(out)


def npz_mutations(arrays: dict[str, np.ndarray], main: str, required: set[str],
                  meta_key: str | None = "meta", checked: set[str] | None = None
                  ) -> Iterator[Mutation]:
    """Per member: object array, header claiming 10^10 rows, corrupt deflate, bad CRC, 0-d,
    wrong rank, complex, strings; for the main array NaN, 1e308, zero rows, transposed."""
    checked = required if checked is None else checked
    for name in arrays:
        strict = name in checked
        rest = {k: v for k, v in arrays.items() if k != name}
        obj = np.empty(2, dtype=object)
        obj[:] = [{"a": 1}, [1]]
        yield f"{name}=object-array", put_bytes(npz_bytes({**rest, name: obj})), True
        yield f"{name}=header-1e10-rows", put_bytes(npz_bytes(rest, raw={name: huge_header()})), \
            True
        yield f"{name}=corrupt-deflate", put_bytes(corrupt_member(npz_bytes(arrays), name,
                                                                  crc_only=False)), True
        yield f"{name}=bad-crc", put_bytes(corrupt_member(npz_bytes(arrays, compressed=False),
                                                          name, crc_only=True)), True
        yield f"{name}=0-d", put_bytes(npz_bytes({**rest, name: np.asarray(3.0)})), strict
        yield f"{name}=3-d", put_bytes(npz_bytes({**rest, name: np.zeros((2, 2, 2))})), strict
        yield f"{name}=missing", put_bytes(npz_bytes(rest)), name in required
    a = arrays[main]
    rest = {k: v for k, v in arrays.items() if k != main}
    if a.dtype.kind in "fiu":
        nan = a.astype(float).copy()
        nan.flat[len(nan.flat) // 2] = np.nan
        yield f"{main}=nan", put_bytes(npz_bytes({**rest, main: nan})), True
        big = a.astype(float).copy()
        big.flat[len(big.flat) // 2] = 1e308
        yield f"{main}=1e308", put_bytes(npz_bytes({**rest, main: big})), True
        yield f"{main}=complex", put_bytes(npz_bytes({**rest, main: a.astype(complex) * 1j})), True
        yield f"{main}=strings", put_bytes(npz_bytes({**rest, main: a.astype(str)})), True
        yield f"{main}=transposed", put_bytes(npz_bytes({**rest, main: a.T.copy()})), True
        yield f"{main}=zero-rows", put_bytes(npz_bytes({**rest, main: a[:0]})), True
    if meta_key and meta_key in arrays:
        meta = json.loads(str(arrays[meta_key]))
        for label, text in (("list", "[1, 2]"), ("number", "3"), ("invalid", "{not json"),
                            ("deep", "[" * 50_000 + "]" * 50_000)):
            yield (f"{meta_key}={label}", put_bytes(npz_bytes({**rest_meta(arrays, meta_key),
                                                               meta_key: np.asarray(text)})), True)
        for path, value in json_leaves(meta):
            if len(path) != 1 or path[0] not in ("format", "format_version", "kind"):
                continue  # the model's own keys are free-form
            for label, bad in wrong_values(value)[:3]:
                m = dict(meta)
                m[path[0]] = bad
                yield (f"{meta_key}.{path[0]}={label}",
                       put_bytes(npz_bytes({**rest_meta(arrays, meta_key),
                                            meta_key: np.asarray(json.dumps(m))})),
                       True)


def rest_meta(arrays: dict[str, np.ndarray], key: str) -> dict[str, np.ndarray]:
    return {k: v for k, v in arrays.items() if k != key}


def npy_mutations(arr: np.ndarray) -> Iterator[Mutation]:
    """Plain .npy files: object array, huge header, truncated data, NaN, 1e308, complex."""
    def npy(a: np.ndarray) -> bytes:
        buf = io.BytesIO()
        np.lib.format.write_array(buf, a, allow_pickle=True)
        return buf.getvalue()
    obj = np.empty(2, dtype=object)
    obj[:] = [{"a": 1}, [1]]
    yield "npy=object-array", put_bytes(npy(obj)), True
    yield "npy=header-1e10-rows", put_bytes(huge_header(shape=(10**10, 68, 2))), True
    yield "npy=truncated-data", put_bytes(npy(arr)[:-40]), True
    for label, value in (("nan", np.nan), ("1e308", 1e308)):
        b = arr.astype(float).copy()
        b.flat[5] = value
        yield f"npy={label}", put_bytes(npy(b)), True
    yield "npy=complex", put_bytes(npy(arr.astype(complex) * 1j)), True
    yield "npy=wrong-shape", put_bytes(npy(arr.reshape(-1)[:100].reshape(50, 2))), True


# -- CSV ------------------------------------------------------------------------------------------
BAD_NUMBERS = [("abc", "abc"), ("underscore", "1_000"), ("superscript", "²"),
               ("arabic-digits", "١٢"), ("1e308", "1e308"), ("hex", "0x1F"),
               ("long", "9" * 300_000)]


def csv_cell_mutations(text: str, row: int, cols: dict[str, int],
                       values: list[tuple[str, str]] = BAD_NUMBERS,
                       fails: Callable[[str, str], bool] = lambda col, label: True
                       ) -> Iterator[Mutation]:
    """Replace the cell (row, col) of a comma-separated text with each bad value."""
    lines = text.splitlines()
    for col_name, j in cols.items():
        for label, value in values:
            cells = lines[row].split(",")
            cells[j] = value
            out = lines[:row] + [",".join(cells)] + lines[row + 1:]
            yield (f"{col_name}={label}", put_bytes(("\n".join(out) + "\n").encode()),
                   fails(col_name, label))
