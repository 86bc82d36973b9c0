"""One numba pass over the bytes of a large comma-separated file (see :mod:`._fastcsv`).

Imported only for large files: numba's import and (cached) compilation cost more than the
pure-Python checks of :func:`._fastcsv.plain_bytes` and :func:`._fastcsv.row_starts` save on
small ones. Both give the same answer.
"""

from __future__ import annotations

import numpy as np
from numba import njit

#: 1 for the bytes the scan must look at (anything but printable ASCII other than '"').
_SPECIAL = np.ones(256, dtype=np.uint8)
_SPECIAL[32:127] = 0
_SPECIAL[ord('"')] = 1


@njit(cache=True, nogil=True)
def scan_rows(buf, start, want, starts, special):  # pragma: no cover - numba
    """Record where each line of ``buf[start:]`` begins; -1 unless the bytes are plain.

    Plain: every line holds exactly ``want`` commas; no quote, DEL or control byte but tab,
    LF and CR directly before LF; no U+0085, U+2028 or U+2029 (UTF-8). ``starts`` (at least
    ``len(buf) // (want + 1) + 2`` long) receives the line starts and, last, the end offset.
    ``special`` is ``_SPECIAL``. Returns the number of lines (0 for none).
    """
    n = buf.size
    row = 0
    commas = 0
    starts[0] = start
    for i in range(start, n):
        c = buf[i]
        commas += c == 44
        if special[c] == 0:  # the common case: no branch taken
            continue
        if c == 10:
            if commas != want:
                return -1
            row += 1
            starts[row] = i + 1
            commas = 0
        elif c == 13:
            if i + 1 >= n or buf[i + 1] != 10:
                return -1
        elif c == 9:
            pass
        elif c < 128:  # other control bytes, the quote, DEL
            return -1
        elif c == 0xC2 and i + 1 < n and buf[i + 1] == 0x85:
            return -1
        elif (c == 0xE2 and i + 2 < n and buf[i + 1] == 0x80
              and (buf[i + 2] == 0xA8 or buf[i + 2] == 0xA9)):
            return -1
    if starts[row] < n:  # a last line without its line break
        if commas != want:
            return -1
        row += 1
        starts[row] = n
    return row


def plain_row_starts(data: bytes, start: int, n_fields: int) -> np.ndarray | None:
    """:func:`._fastcsv.plain_bytes` of ``data[start:]`` and :func:`._fastcsv.row_starts`
    in one pass; None when either fails."""
    want = n_fields - 1
    if want < 1 or start >= len(data):
        return None
    buf = np.frombuffer(data, dtype=np.uint8)
    starts = np.empty((len(data) - start) // (want + 1) + 2, dtype=np.int64)
    n_rows = scan_rows(buf, start, want, starts, _SPECIAL)
    if n_rows <= 0:
        return None
    return starts[:n_rows + 1].copy()


@njit(cache=True, nogil=True)
def interleave(src, out):  # pragma: no cover - numba
    """``out[:] = src`` for ``src`` (n, k) in column order (F) and ``out`` (n, k) in row order
    (C), in cache-sized tiles; True when ``src`` holds an infinity."""
    n, k = src.shape
    found_inf = False
    for r0 in range(0, n, 512):
        r1 = min(r0 + 512, n)
        for c in range(k):
            for r in range(r0, r1):
                v = src[r, c]
                if v == np.inf or v == -np.inf:
                    found_inf = True
                out[r, c] = v
    return found_inf
