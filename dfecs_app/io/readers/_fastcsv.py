"""Fast parsing of plain comma-separated landmark tables with pandas' C parser.

The rule: the fast path returns exactly what the strict row-by-row parser of
:class:`~dfecs_app.io.readers._text.TextTable` would return, or nothing (``None``), and then
the caller takes the strict path, which also words every error message. "Exactly" holds
because the fast path only accepts files on which both parsers provably agree:

- **Lines**: no quotes; no control byte but tab, ``\\n`` and ``\\r\\n`` (so
  ``str.splitlines``, which also splits on ``\\r``, ``\\x0b``, ``\\x0c``, ``\\x1c``-``\\x1e``,
  ``\\x85``, U+2028 and U+2029, finds the same lines as pandas); no DEL; every data line holds
  exactly ``n_fields - 1`` commas (pandas would silently pad a short row with NaN), so there
  is no blank line either and data row ``r`` is line ``r + first_line``.
- **Numbers**: pandas (3: fast_float; 2: ``float_precision="round_trip"``) rounds decimal
  strings correctly, like ``float()``/``np.loadtxt``; every token it accepts as a float is
  one ``np.loadtxt`` accepts with the same value (tests fuzz this). A column pandas cannot convert raises and
  the fast path gives up; so does any infinity. NaN comes only from fields of spaces, which
  the strict path also reads as NaN (``na_values=[""]``, ``keep_default_na=False``:
  ``"NA"``, ``"nan"`` and the like are not numbers to pandas here and end the fast path).
- **Strings** (id columns): pandas' field (leading spaces skipped when there are spaces),
  then ``str.strip()``, as the strict path strips its fields.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import numpy as np

#: Files smaller than this are parsed in one thread.
PARALLEL_BYTES = 8 << 20
#: Files from this size on are checked by one numba pass (:mod:`._scan_kernel`).
KERNEL_BYTES = 4 << 20
#: Bytes scanned per numpy pass (bounds the temporary memory).
_CHUNK = 1 << 24
#: Rows per block when the parsed columns are interleaved into one array.
_ROWS = 2048
T = TypeVar("T")
R = TypeVar("R")
#: UTF-8 encodings of the non-ASCII line separators of ``str.splitlines``.
_UNICODE_BREAKS = (b"\xc2\x85", b"\xe2\x80\xa8", b"\xe2\x80\xa9")


def map_parts(fn: Callable[[T], R], parts: Sequence[T]) -> list[R]:
    """``[fn(p) for p in parts]``, one thread per part when there are several (the scan and
    parse kernels release the GIL, as does pandas' C parser)."""
    if len(parts) == 1:
        return [fn(parts[0])]
    with ThreadPoolExecutor(len(parts)) as pool:
        return list(pool.map(fn, parts))


def _threads(n_bytes: int) -> int:
    """Threads that scan or parse ``n_bytes``: two from :data:`PARALLEL_BYTES` on."""
    return 2 if n_bytes >= PARALLEL_BYTES and (os.cpu_count() or 1) > 1 else 1


def plain_bytes(data: bytes) -> bool:
    """True when ``data`` has no quote, no DEL, no control byte but tab, LF and CR-LF, and no
    Unicode line separator (the lines pandas and ``str.splitlines`` see are the same)."""
    if b'"' in data or b"\x7f" in data:
        return False
    n_cr = data.count(b"\r")
    if n_cr and n_cr != data.count(b"\r\n"):
        return False
    if not data.isascii() and any(s in data for s in _UNICODE_BREAKS):
        return False
    arr = np.frombuffer(data, dtype=np.uint8)
    n_control = sum(int(np.count_nonzero(arr[s:s + _CHUNK] < 32))
                    for s in range(0, arr.size, _CHUNK))
    return n_control == data.count(b"\n") + n_cr + data.count(b"\t")


def row_starts(data: bytes, start: int, n_fields: int) -> np.ndarray | None:
    """Byte offsets where the data lines of ``data[start:]`` begin, plus the end offset.

    Returns None unless every line (the last may lack its ``\\n``) holds exactly
    ``n_fields - 1`` commas and there is at least one line. Shape (n_rows + 1,).
    """
    if n_fields < 2 or start >= len(data):
        return None
    want = n_fields - 1
    count, find = data.count, data.find
    starts = [start]
    s = start
    end = len(data)
    while s < end:
        e = find(b"\n", s)
        if e < 0:
            e = end
        if count(b",", s, e) != want:
            return None
        s = e + 1
        starts.append(s)
    starts[-1] = min(starts[-1], end)
    return np.asarray(starts, dtype=np.int64)


def checked_rows(data: bytes, start: int, n_fields: int) -> tuple[np.ndarray, bool] | None:
    """:func:`row_starts` of ``data[start:]`` when those bytes are :func:`plain_bytes`, and
    whether they hold a space."""
    if len(data) - start >= KERNEL_BYTES:
        try:
            from dfecs_app.io.readers._scan_kernel import plain_row_starts
        except ImportError:  # no numba: the same checks in Python
            pass
        else:
            return plain_row_starts(data, start, n_fields, _threads(len(data) - start))
    body = data[start:]
    if not plain_bytes(body):
        return None
    starts = row_starts(data, start, n_fields)
    return None if starts is None else (starts, b" " in body)


def parse_columns(data: bytes, starts: np.ndarray, groups: list[list[int]],
                  string_cols: list[int], spaces: bool = True,
                  ) -> tuple[list[np.ndarray], dict[int, list[str]]] | None:
    """Parse the rows ``data[starts[0]:starts[-1]]`` (checked by :func:`checked_rows`).

    ``spaces``: whether those bytes hold a space. Fields of spaces are NaN to the strict
    path; pandas reads them so only when told to skip leading spaces, which costs time: it
    is told so only when there are spaces (without, such a field would end the fast path).

    Returns
    -------
    floats : list of ndarray of float, shape (n_rows, len(group)) each
        The columns of each group in its order (C order).
    strings : {column index: list of str, length n_rows}
        Or None when pandas refuses a value, or gives an infinity (then the strict parser
        decides).
    """
    n_rows = len(starts) - 1
    if starts[-1] - starts[0] >= KERNEL_BYTES:
        try:
            from dfecs_app.io.readers._parse_kernel import parse_plain
        except ImportError:  # no numba: pandas parses
            pass
        else:
            done = parse_plain(data, starts, groups, string_cols,
                               _threads(starts[-1] - starts[0]))
            if done is not None:
                return done
    names = list(dict.fromkeys(c for g in groups for c in g))
    cols = sorted(set(names) | set(string_cols))
    parts = [(0, n_rows)]
    if _threads(starts[-1] - starts[0]) > 1 and n_rows > 1:
        parts = [(0, n_rows // 2), (n_rows // 2, n_rows)]
    dtype = {c: object for c in string_cols}
    dtype.update({c: np.float64 for c in names})
    outs = [np.empty((n_rows, len(g))) for g in groups]

    def read(part: tuple[int, int]) -> dict[int, list[str]] | None:
        import pandas as pd

        # pandas 3 parses with fast_float (correctly rounded); pandas 2 needs "round_trip"
        # (Python's own strtod) for that, as its default can be an ulp off.
        exact = {} if int(pd.__version__.split(".")[0]) >= 3 else {"float_precision": "round_trip"}
        lo, hi = part
        fh = io.BytesIO(data)
        fh.seek(int(starts[lo]))
        try:
            df = pd.read_csv(
                fh, sep=",", header=None, usecols=cols, dtype=dtype, nrows=hi - lo,
                keep_default_na=False, na_values=[""], skipinitialspace=spaces,
                skip_blank_lines=False, index_col=False, engine="c", encoding="utf-8", **exact)
        except Exception:  # noqa: BLE001 - anything unusual: the strict parser decides
            return None
        if len(df) != hi - lo or any(df[c].dtype != np.float64 for c in names):
            return None
        columns = {c: df[c].to_numpy() for c in names}  # views: no copy of the frame
        if any(np.isinf(col).any() for col in columns.values()):
            return None
        for group, out in zip(groups, outs):
            for r0 in range(0, hi - lo, _ROWS):  # interleave in blocks that stay in cache
                block = out[lo + r0:lo + min(r0 + _ROWS, hi - lo)]
                for k, c in enumerate(group):
                    block[:, k] = columns[c][r0:r0 + _ROWS]
        return {c: [v.strip() if isinstance(v, str) else "" for v in df[c].tolist()]
                for c in string_cols}

    done = map_parts(read, parts)
    if any(d is None for d in done):
        return None
    strings = {c: [v for d in done for v in d[c]] for c in string_cols}
    return outs, strings
