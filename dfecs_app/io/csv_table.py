"""Write a :class:`pandas.DataFrame` as CSV fast, with the characters ``DataFrame.to_csv`` writes.

``to_csv(index=False, lineterminator="\\n")`` spends ~20 µs per row of a 25-column coding
table turning floats into text in Python; :func:`write_csv` does the same in numba
(:mod:`dfecs_app.io._float_text`: Python's ``repr`` of every float, exactly, so every value
reads back bit for bit) on two threads:

* float columns: the shortest text that reads back as the value (``repr``), NaN as an empty
  cell, ``inf`` as ``inf``;
* integer columns: their decimal digits;
* text columns: each distinct value quoted by :mod:`csv` as pandas quotes it (minimal
  quoting), missing values empty.

Any other column type (bool, dates, categoricals, mixed objects) or a one-column table is
written by ``to_csv`` itself. Tests compare the bytes with ``to_csv`` on real coding tables.
"""

from __future__ import annotations

import csv
import io
import os
from concurrent.futures import ThreadPoolExecutor
from typing import IO, TYPE_CHECKING

import numpy as np
from numba import njit

from dfecs_app.core._numba_cache import drop_stale
from dfecs_app.io._float_text import (
    NAN,
    _format_value,
    _put_uint,
    fallback_texts,
    shortest_digits,
)

drop_stale(__file__, "_float_text.py")  # its kernels are compiled into this one's cache

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

#: Rows formatted per block (one block per task; two threads).
BLOCK = 8192
THREADS = max(1, min(2, os.cpu_count() or 1))

_FLOAT, _INT, _TEXT = 0, 1, 2


def _csv_line(fields: list[str]) -> bytes:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow(fields)
    return buf.getvalue().encode("utf-8")


def _cell(value: str) -> bytes:
    """One text cell as pandas/csv write it inside a row (minimal quoting)."""
    return _csv_line([value, ""])[:-2]  # drop the ",\n" of the empty second field


@njit(cache=True, nogil=True)
def _write_rows(r0, r1, kinds, slots, F, kind, digits, expo, ndig, fb_buf, fb_off, fb_idx,
                ints, texts, txt_buf, txt_off, out):  # pragma: no cover - numba
    nf = F.shape[1]
    pos = 0
    for r in range(r0, r1):
        for c in range(kinds.size):
            if c:
                out[pos] = 44  # ','
                pos += 1
            k = kinds[c]
            j = slots[c]
            if k == 0:
                i = r * nf + j
                kd = kind[i]
                if kd != NAN:
                    pos = _format_value(out, pos, F[r, j], kd, digits[i], expo[i], ndig[i],
                                        fb_buf, fb_off, fb_idx[i])
            elif k == 1:
                v = ints[r, j]
                if v < 0:
                    out[pos] = 45  # '-'
                    pos += 1
                    v = -v
                pos = _put_uint(out, pos, v)
            else:
                u = texts[r, j]
                if u >= 0:
                    for b in range(txt_off[u], txt_off[u + 1]):
                        out[pos] = txt_buf[b]
                        pos += 1
        out[pos] = 10  # '\n'
        pos += 1
    return pos


def _columns(df: pd.DataFrame):
    """Per column (kind, slot) and the float, int and text-code matrices; None if a column
    is of another type."""
    import pandas as pd

    kinds, slots = [], []
    floats, ints, texts, uniques = [], [], [], []
    for name in df.columns:
        col = df[name]
        dt = col.dtype
        if dt == np.float64:
            kinds.append(_FLOAT)
            slots.append(len(floats))
            floats.append(col.to_numpy())
        elif pd.api.types.is_integer_dtype(dt) and not pd.api.types.is_extension_array_dtype(dt):
            raw = col.to_numpy()
            if raw.size and (raw.max() > np.iinfo(np.int64).max  # a large uint64
                             or raw.min() == np.iinfo(np.int64).min):  # cannot be negated
                return None
            values = raw.astype(np.int64)
            kinds.append(_INT)
            slots.append(len(ints))
            ints.append(values)
        elif pd.api.types.is_object_dtype(dt) or pd.api.types.is_string_dtype(dt):
            codes, uniq = pd.factorize(col, use_na_sentinel=True)
            if not all(isinstance(u, str) for u in uniq):
                return None
            kinds.append(_TEXT)
            slots.append(len(texts))
            before = sum(len(group) for group in uniques)  # entries of the earlier text columns
            texts.append(np.where(codes >= 0, codes.astype(np.int64) + before, -1))
            uniques.append(list(uniq))
        else:
            return None
    return kinds, slots, floats, ints, texts, uniques


def write_csv(fh: IO[bytes], df: pd.DataFrame) -> None:
    """Write ``df`` to the binary file ``fh`` exactly as ``df.to_csv(fh, index=False,
    lineterminator="\\n")`` would (UTF-8).

    Parameters
    ----------
    fh : binary file opened for writing
    df : pandas.DataFrame
        n rows; column types as the module docstring says (others go to ``to_csv``).
    """
    parts = _columns(df) if df.shape[1] > 1 and df.columns.is_unique else None
    if parts is None:
        text = io.TextIOWrapper(fh, encoding="utf-8", newline="")
        df.to_csv(text, index=False, lineterminator="\n")
        text.flush()
        text.detach()
        return
    kinds, slots, floats, ints, texts, uniques = parts
    n = len(df)
    fh.write(_csv_line([str(c) for c in df.columns]))
    if n == 0:
        return
    F = np.ascontiguousarray(np.column_stack(floats) if floats else np.zeros((n, 0)))
    I_ = np.ascontiguousarray(np.column_stack(ints) if ints else np.zeros((n, 0), np.int64))
    S = np.ascontiguousarray(np.column_stack(texts) if texts else np.zeros((n, 0), np.int64))
    cells = [_cell(u) for group in uniques for u in group]
    txt_off = np.zeros(len(cells) + 1, dtype=np.int64)
    np.cumsum([len(c) for c in cells], out=txt_off[1:])
    txt_buf = np.frombuffer(b"".join(cells) or b"\0", dtype=np.uint8)
    widest = max((len(c) for c in cells), default=0)
    kinds_a = np.asarray(kinds, dtype=np.int64)
    slots_a = np.asarray(slots, dtype=np.int64)
    row_bytes = 1 + sum(26 if k == _FLOAT else 21 if k == _INT else widest for k in kinds)
    row_bytes += kinds_a.size
    blocks = [(a, min(n, a + BLOCK)) for a in range(0, n, BLOCK)]

    def digits_of(block: tuple[int, int]):
        return shortest_digits(F[block[0]:block[1]])

    def lines(block: tuple[int, int], dig, fb) -> bytes:
        a, b = block
        kind, digits, expo, ndig = dig
        out = np.empty((b - a) * row_bytes, dtype=np.uint8)
        fb_buf, fb_off, fb_idx = fb
        end = _write_rows(0, b - a, kinds_a, slots_a, F[a:b], kind, digits, expo, ndig,
                          fb_buf, fb_off, fb_idx, I_[a:b], S[a:b], txt_buf, txt_off, out)
        return out[:end].tobytes()

    with ThreadPoolExecutor(THREADS) as pool:
        digs = list(pool.map(digits_of, blocks))
        fbs = [fallback_texts(F[a:b], d[0]) for (a, b), d in zip(blocks, digs)]
        for chunk in pool.map(lines, blocks, digs, fbs):
            fh.write(chunk)

