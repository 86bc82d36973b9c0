"""Exact parsing of the numbers of a checked comma-separated file, in numba (see :mod:`._fastcsv`).

The bytes given here have passed :func:`._scan_kernel.plain_row_starts` (no quotes or odd
control bytes, ``n_fields - 1`` commas on every line). A float field is accepted only when,
after spaces and tabs are skipped at both ends, it matches the strict path's number grammar
``[+-]?(\\d+\\.?\\d*|\\.\\d+)([eE][+-]?\\d+)?``, or is empty (NaN, as on the strict path).
Anything else (``nan``, ``inf``, ``1_000``, ``0x10``, ...) makes :func:`parse_plain` return
None and the pandas path of :mod:`._fastcsv` (and after it the strict path) decides.

**Correct rounding.** A number is ``w * 10**q`` with ``w`` its first 19 significant digits:

- ``w <= 2**53`` and ``|q| <= 22``: one IEEE multiplication or division of two exact doubles
  (Clinger's fast path), correctly rounded by the hardware.
- Otherwise ``w`` (shifted to 64 bits) times a 128-bit approximation ``T`` of ``5**q`` (or of
  ``2**b / 5**-q``) is formed exactly as a 192-bit integer ``P``. As ``|T - exact| < 1``, the
  exact product lies within ``2**64`` of ``P``; the 53 leading bits of ``P`` are rounded to
  nearest and the result is kept only when that margin cannot change the rounding (for
  ``0 <= q <= 55`` ``T`` is exact, and a tie is rounded to even as ``float`` does).
- More than 19 significant digits: ``w`` and ``w + 1`` bracket the value; kept when both
  round to the same double.
- Whatever is not kept (a near-tie, subnormal or overflowing results, exponents outside the
  table) is listed and converted by Python's ``float`` afterwards: rare by construction.

Python's ``float`` and ``np.loadtxt`` round correctly, so the values are the strict path's
bit for bit; ``tests/test_fast_reader.py`` checks it on fuzzed and adversarial tokens.
"""

from __future__ import annotations

import math

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic

from dfecs_app.core._numba_cache import drop_stale
from dfecs_app.io._float_text import POW10
from dfecs_app.io.readers._fastcsv import map_parts

drop_stale(__file__, "../_float_text.py")  # POW10 is frozen into this one's cache

#: Range of decimal exponents of the 128-bit power table.
Q_MIN, Q_MAX = -342, 308
#: Tokens per thread handed to Python's ``float`` before the kernel gives up.
MAX_HARD = 4096

_U0 = np.uint64(0)
_U1 = np.uint64(1)
_MAX53 = np.uint64(1 << 53)
_HIGH52 = np.uint64(1 << 52)
_NEAR_TOP = np.uint64(0xFFFFFFFFFFFFFFFE)
_TEN = np.uint64(10)
_U48 = np.uint64(48)
_U9 = np.uint64(9)
_SIGN = np.uint64(1 << 63)


def _power_table() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(hi, lo, e, exact)`` per decimal exponent ``q`` in ``[Q_MIN, Q_MAX]``: the 128-bit
    integer ``T = hi * 2**64 + lo`` in ``[2**127, 2**128)`` with ``10**q ~ T * 2**(e + q)``,
    ``|T - 5**q / 2**e| < 1`` (truncation), and whether ``T`` is exact."""
    n = Q_MAX - Q_MIN + 1
    hi, lo = np.empty(n, np.uint64), np.empty(n, np.uint64)
    e, exact = np.empty(n, np.int64), np.zeros(n, np.bool_)
    for k, q in enumerate(range(Q_MIN, Q_MAX + 1)):
        if q >= 0:
            p = 5 ** q
            bits = p.bit_length()
            t = p << (128 - bits) if bits <= 128 else p >> (bits - 128)
            e[k], exact[k] = bits - 128, bits <= 128
        else:
            p = 5 ** -q
            b = p.bit_length() + 127
            t = (1 << b) // p
            e[k] = -b
        assert 1 << 127 <= t < 1 << 128
        hi[k], lo[k] = t >> 64, t & ((1 << 64) - 1)
    return hi, lo, e, exact


_T_HI, _T_LO, _T_E, _T_EXACT = _power_table()


@intrinsic
def _mul128(typingctx, a, b):  # pragma: no cover - numba
    """The 128-bit product of two uint64 (one ``mul`` instruction), as (high, low) words."""
    if a != types.uint64 or b != types.uint64:
        return None

    def codegen(context, builder, signature, args):
        wide = ir.IntType(128)
        p = builder.mul(builder.zext(args[0], wide), builder.zext(args[1], wide))
        hi = builder.trunc(builder.lshr(p, ir.Constant(wide, 64)), ir.IntType(64))
        return context.make_tuple(builder, signature.return_type, (hi, builder.trunc(p, ir.IntType(64))))

    return types.UniTuple(types.uint64, 2)(types.uint64, types.uint64), codegen


@intrinsic
def _leading_zeros(typingctx, w):  # pragma: no cover - numba
    """The number of leading zero bits of a uint64 > 0 (one ``lzcnt``/``bsr``), as int64."""
    if w != types.uint64:
        return None

    def codegen(context, builder, signature, args):
        return builder.ctlz(args[0], ir.Constant(ir.IntType(1), 1))

    return types.int64(types.uint64), codegen


@njit(inline="always")
def _digits(buf, j, e, w):  # pragma: no cover - numba
    """Append the ASCII digits from ``buf[j]`` on (before ``e``) to ``w`` (uint64, wrapping
    past 19 digits); returns the first position after them and the new ``w``."""
    while j < e:
        d = np.uint64(buf[j]) - _U48
        if d > _U9:
            break
        w = w * _TEN + d
        j += 1
    return j, w


@njit(inline="always")
def _nearest_bits(w, q):  # pragma: no cover - numba
    """The bits of the double nearest ``w * 10**q`` (``w`` uint64 > 0) and whether proven."""
    if q < Q_MIN or q > Q_MAX:
        return _U0, False
    k = q - Q_MIN
    lz = _leading_zeros(w)
    wn = w << np.uint64(lz)
    a1, a0 = _mul128(wn, _T_HI[k])
    b1, b0 = _mul128(wn, _T_LO[k])
    p1 = a0 + b1
    p2 = a1 + (_U1 if p1 < a0 else _U0)  # P = p2 * 2**128 + p1 * 2**64 + b0, in [2**190, 2**192)
    top = p2 >> np.uint64(63)
    shift = np.uint64(10) + top  # the 53-bit mantissa's last bit is bit 138 + top of P
    m = p2 >> shift
    rest = p2 & ((_U1 << shift) - _U1)
    half = _U1 << (shift - _U1)
    if _T_EXACT[k]:  # P is the exact product
        if rest == half and p1 == _U0 and b0 == _U0:
            up = (m & _U1) == _U1  # a tie: to even
        else:
            up = rest >= half
    else:  # the exact product is within 2**64 of P
        if (rest == half and p1 <= _U1) or (rest == half - _U1 and p1 >= _NEAR_TOP):
            return _U0, False
        up = rest >= half
    biased = 128 + int(shift) + _T_E[k] + q - lz + 52 + 1023
    if up:
        m += _U1
        if m == _MAX53:
            m = _HIGH52
            biased += 1
    if biased < 1 or biased > 2046:  # subnormal or overflowing: Python decides
        return _U0, False
    return (np.uint64(biased) << np.uint64(52)) | (m - _HIGH52), True


@njit
def _long_mantissa(buf, j, e):  # pragma: no cover - numba
    """``(w, q, dropped)`` of the digits ``buf[j:e]`` (``[0-9]*(.[0-9]*)?``) with more than 19
    significant ones: ``w`` their first 19, the value in ``[w, w + 1) * 10**q``, ``dropped``
    whether a non-zero digit was cut off."""
    w = _U0
    n_sig = 0
    q = 0
    dropped = False
    point = False
    while j < e:
        c = buf[j]
        j += 1
        if c == 46:
            point = True
            continue
        d = np.uint64(c - 48)
        if w == _U0 and d == _U0:
            q -= point
        elif n_sig < 19:
            w = w * _TEN + d
            n_sig += 1
            q -= point
        else:
            q += not point
            dropped |= d != _U0
    return w, q, dropped


@njit(cache=True, nogil=True, error_model="numpy")
def parse_rows(buf, starts, r0, r1, dptr, doff, dstride, out, sidx, sbounds,
               hard):  # pragma: no cover - numba
    """Parse the lines ``r0 <= r < r1`` (line ``r`` is ``buf[starts[r]:starts[r + 1]]``).

    Field ``f`` of a line goes, when a number, to ``out[doff[d] + r * dstride[d]]`` for each
    ``dptr[f] <= d < dptr[f + 1]``; when ``sidx[f] >= 0`` its byte range to
    ``sbounds[sidx[f], r]``. ``hard`` (shape (MAX_HARD, 4)) receives ``(r, f, begin, end)`` of
    the numbers left to Python. Returns how many, -1 for a field that is not a plain number,
    -2 when ``hard`` is full.
    """
    bits = out.view(np.uint64)
    n_hard = 0
    for r in range(r0, r1):
        i = starts[r]
        e = starts[r + 1]
        if e > i and buf[e - 1] == 10:
            e -= 1
        if e > i and buf[e - 1] == 13:
            e -= 1
        f = 0
        while True:
            j = i
            if dptr[f] < dptr[f + 1]:
                while j < e and (buf[j] == 32 or buf[j] == 9):
                    j += 1
                if j == e or buf[j] == 44:
                    for d in range(dptr[f], dptr[f + 1]):
                        out[doff[d] + r * dstride[d]] = np.nan
                else:
                    neg = buf[j] == 45
                    if neg or buf[j] == 43:
                        j += 1
                    m0 = j
                    while j < e and buf[j] == 48:  # leading zeros
                        j += 1
                    s0 = j
                    j, w = _digits(buf, j, e, _U0)
                    n_sig = j - s0
                    q = 0
                    if j < e and buf[j] == 46:
                        j += 1
                        f0 = j
                        if n_sig == 0:
                            while j < e and buf[j] == 48:
                                j += 1
                        s1 = j
                        j, w = _digits(buf, j, e, w)
                        n_sig += j - s1
                        q = f0 - j
                        if j - m0 == 1:  # "." alone
                            return -1
                    elif j == m0:
                        return -1
                    m1 = j
                    qe = 0
                    if j < e and (buf[j] == 101 or buf[j] == 69):
                        j += 1
                        e_neg = False
                        if j < e and (buf[j] == 45 or buf[j] == 43):
                            e_neg = buf[j] == 45
                            j += 1
                        x0 = j
                        ex = 0
                        while j < e and 48 <= buf[j] <= 57:
                            if ex < 100_000_000:
                                ex = ex * 10 + (buf[j] - 48)
                            j += 1
                        if j == x0:
                            return -1
                        qe = -ex if e_neg else ex
                        q += qe
                    while j < e and (buf[j] == 32 or buf[j] == 9):
                        j += 1
                    if j < e and buf[j] != 44:
                        return -1
                    dropped = False
                    if n_sig > 19:
                        w, q, dropped = _long_mantissa(buf, m0, m1)
                        q += qe
                    ok = True
                    if w == _U0:
                        for d in range(dptr[f], dptr[f + 1]):
                            out[doff[d] + r * dstride[d]] = -0.0 if neg else 0.0
                    elif not dropped and w <= _MAX53 and -22 <= q <= 22:
                        v = float(np.int64(w))
                        v = v * POW10[q] if q >= 0 else v / POW10[-q]
                        for d in range(dptr[f], dptr[f + 1]):
                            out[doff[d] + r * dstride[d]] = -v if neg else v
                    else:
                        b, ok = _nearest_bits(w, q)
                        if ok and dropped:
                            b2, ok = _nearest_bits(w + _U1, q)
                            ok = ok and b2 == b
                        if ok:
                            if neg:
                                b |= _SIGN
                            for d in range(dptr[f], dptr[f + 1]):
                                bits[doff[d] + r * dstride[d]] = b
                    if not ok:
                        if n_hard == hard.shape[0]:
                            return -2
                        hard[n_hard, 0] = r
                        hard[n_hard, 1] = f
                        hard[n_hard, 2] = i
                        hard[n_hard, 3] = j
                        n_hard += 1
            else:
                while j < e and buf[j] != 44:
                    j += 1
                if sidx[f] >= 0:
                    sbounds[sidx[f], r, 0] = i
                    sbounds[sidx[f], r, 1] = j
            if j >= e:
                break
            i = j + 1
            f += 1
    return n_hard


def _gather_strings(buf: np.ndarray, bounds: np.ndarray) -> list[str]:
    """The fields ``buf[a:b]`` for ``(a, b)`` in ``bounds`` (shape (n, 2)), decoded and
    stripped as the strict path strips them."""
    lengths = bounds[:, 1] - bounds[:, 0]
    offsets = np.cumsum(lengths + 1) - lengths - 1  # where each field begins in ``joined``
    joined = np.full(int(lengths.sum()) + len(lengths), 10, dtype=np.uint8)  # "\n" after each
    within = np.arange(int(lengths.sum())) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    joined[np.repeat(offsets, lengths) + within] = buf[np.repeat(bounds[:, 0], lengths) + within]
    values = joined.tobytes().decode("utf-8").split("\n")[:-1]
    raw = joined[joined != 10]
    if np.any((raw == 32) | (raw == 9) | (raw >= 128)):
        values = [v.strip() for v in values]
    return values


def parse_plain(data: bytes, starts: np.ndarray, groups: list[list[int]],
                string_cols: list[int], n_threads: int = 1,
                ) -> tuple[list[np.ndarray], dict[int, list[str]]] | None:
    """:func:`._fastcsv.parse_columns` by :func:`parse_rows`; None when a field is not a
    plain number (or an infinity): the caller then tries pandas.

    Returns the columns of each group as a C-ordered float array (n_rows, len(group)) and
    ``{column: strings}`` for ``string_cols``.
    """
    n_rows = len(starts) - 1
    n_fields = data.count(b",", int(starts[0]), int(starts[1])) + 1
    widths = [len(g) for g in groups]
    flat = np.empty(n_rows * sum(widths))
    dest: list[list[tuple[int, int]]] = [[] for _ in range(n_fields)]
    base = 0
    for g, width in zip(groups, widths):
        for k, c in enumerate(g):
            dest[c].append((base + k, width))
        base += n_rows * width
    dptr = np.cumsum([0] + [len(d) for d in dest]).astype(np.int64)
    doff = np.array([o for d in dest for o, _ in d], dtype=np.int64)
    dstride = np.array([s for d in dest for _, s in d], dtype=np.int64)
    sidx = np.full(n_fields, -1, dtype=np.int64)
    for s, c in enumerate(string_cols):
        sidx[c] = s
    sbounds = np.zeros((len(string_cols), n_rows, 2), dtype=np.int64)
    buf = np.frombuffer(data, dtype=np.uint8)
    n_parts = max(1, min(n_threads, n_rows))
    cuts = np.linspace(0, n_rows, n_parts + 1).astype(np.int64)
    hards = [np.empty((MAX_HARD, 4), dtype=np.int64) for _ in range(n_parts)]

    def run(p: int) -> int:
        return parse_rows(buf, starts, cuts[p], cuts[p + 1], dptr, doff, dstride, flat, sidx,
                          sbounds, hards[p])

    counts = map_parts(run, range(n_parts))
    if min(counts) < 0:
        return None
    for hard, count in zip(hards, counts):
        for r, f, a, b in hard[:count].tolist():
            v = float(data[a:b])
            if math.isinf(v):
                return None
            for d in range(dptr[f], dptr[f + 1]):
                flat[doff[d] + r * dstride[d]] = v
    outs, base = [], 0
    for width in widths:
        outs.append(flat[base:base + n_rows * width].reshape(n_rows, width))
        base += n_rows * width
    return outs, {c: _gather_strings(buf, sbounds[s]) for s, c in enumerate(string_cols)}
