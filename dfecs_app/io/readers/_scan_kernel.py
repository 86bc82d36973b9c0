"""One numba pass over the bytes of a large comma-separated file (see :mod:`._fastcsv`).

Imported only for large files: numba's import and (cached) compilation cost more than the
pure-Python checks of :func:`._fastcsv.plain_bytes` and :func:`._fastcsv.row_starts` save on
small ones. Both give the same answer.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from dfecs_app.io.readers._fastcsv import map_parts

#: 1 for the bytes the scan must look at (anything but printable ASCII other than '"').
_SPECIAL = np.ones(256, dtype=np.uint8)
_SPECIAL[32:127] = 0
_SPECIAL[ord('"')] = 1


_ONES = np.uint64(0x0101010101010101)
_HIGH = np.uint64(0x8080808080808080)
_LOW7 = np.uint64(0x7F7F7F7F7F7F7F7F)
_SPACES = np.uint64(0x2020202020202020)
_QUOTES = np.uint64(0x2222222222222222)
_DELS = np.uint64(0x7F7F7F7F7F7F7F7F)
_COMMAS = np.uint64(0x2C2C2C2C2C2C2C2C)
_SEVEN = np.uint64(7)
_ZERO = np.uint64(0)
_TOP = np.uint64(56)


@njit(cache=True, nogil=True)
def scan_rows(buf, words, start, stop, want, starts, special, seen):  # pragma: no cover - numba
    """Record where each line of ``buf[start:stop]`` begins; -1 unless the bytes are plain.

    Plain: every line holds exactly ``want`` commas; no quote, DEL or control byte but tab,
    LF and CR directly before LF; no U+0085, U+2028 or U+2029 (UTF-8). ``stop`` is the end of
    the buffer or follows a line break. ``starts`` (at least
    ``(stop - start) // (want + 1) + 2`` long) receives the line starts and, last, the end offset.
    ``words`` is ``buf`` as uint64, ``special`` is ``_SPECIAL``; ``seen[0]`` is set to 1 when
    the bytes hold a space. Returns the number of lines (0 for none).

    8 bytes at a time: a word of ordinary bytes (no byte < 32, quote, DEL or >= 128) only
    has its commas counted, by bit arithmetic; any other word goes byte by byte.
    """
    n = stop
    row = 0
    commas = 0
    spaces = _ZERO
    starts[0] = start
    i = start
    while i < n:
        if i % 8 == 0 and i + 8 <= n:
            x = words[i // 8]
            odd = ((x - _SPACES) & ~x) | x  # a byte < 32, or >= 128
            q = x ^ _QUOTES
            d = x ^ _DELS
            odd |= ((q - _ONES) & ~q) | ((d - _ONES) & ~d)  # a quote or DEL
            if odd & _HIGH == 0:
                v = x ^ _SPACES
                spaces |= (v - _ONES) & ~v  # the high bit of a byte: a space (or after one)
                y = x ^ _COMMAS
                z = ~(((y & _LOW7) + _LOW7) | y) & _HIGH  # the high bit of each comma byte
                commas += ((z >> _SEVEN) * _ONES) >> _TOP
                i += 8
                continue
        stop = min((i // 8 + 1) * 8, n)
        for j in range(i, stop):
            c = buf[j]
            commas += c == 44
            if c == 32:
                seen[0] = 1
            if special[c] == 0:
                continue
            if c == 10:
                if commas != want:
                    return -1
                row += 1
                starts[row] = j + 1
                commas = 0
            elif c == 13:
                if j + 1 >= n or buf[j + 1] != 10:
                    return -1
            elif c == 9:
                pass
            elif c < 128:
                return -1
            elif c == 0xC2 and j + 1 < n and buf[j + 1] == 0x85:
                return -1
            elif (c == 0xE2 and j + 2 < n and buf[j + 1] == 0x80
                  and (buf[j + 2] == 0xA8 or buf[j + 2] == 0xA9)):
                return -1
        i = stop
    if starts[row] < n:  # a last line without its line break
        if commas != want:
            return -1
        row += 1
        starts[row] = n
    if spaces & _HIGH:
        seen[0] = 1
    return row


def plain_row_starts(data: bytes, start: int, n_fields: int, n_threads: int = 1,
                     ) -> tuple[np.ndarray, bool] | None:
    """:func:`._fastcsv.plain_bytes` of ``data[start:]`` and :func:`._fastcsv.row_starts`
    in one pass (split at line breaks over ``n_threads`` threads), and whether those bytes
    hold a space; None when either check fails."""
    want = n_fields - 1
    if want < 1 or start >= len(data):
        return None
    buf = np.frombuffer(data, dtype=np.uint8)
    words = np.frombuffer(data, dtype=np.uint64, count=len(data) // 8)
    cuts = [start]
    for k in range(1, n_threads):
        cut = data.find(b"\n", start + (len(data) - start) * k // n_threads)
        if cut < 0 or cut + 1 >= len(data) or cut + 1 <= cuts[-1]:
            break
        cuts.append(cut + 1)
    cuts.append(len(data))
    parts = list(zip(cuts[:-1], cuts[1:]))
    seen = np.zeros(len(parts), dtype=np.uint8)

    def scan(p: int) -> tuple[int, np.ndarray]:
        lo, hi = parts[p]
        starts = np.empty((hi - lo) // (want + 1) + 2, dtype=np.int64)
        return scan_rows(buf, words, lo, hi, want, starts, _SPECIAL, seen[p:p + 1]), starts

    done = map_parts(scan, range(len(parts)))
    if any(n <= 0 for n, _ in done):
        return None
    rows = np.concatenate([s[:n] for n, s in done] + [np.array([len(data)], dtype=np.int64)])
    return rows, bool(seen.any())
