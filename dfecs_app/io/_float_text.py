"""Shortest round-trip text of float64 values in numba: the exact characters of Python's ``repr``.

``repr(x)`` (and numpy's ``str``, which pandas' ``to_csv`` writes) is the shortest decimal that
reads back as ``x``, the closest to ``x`` among those. :func:`shortest_digits` finds it with
exact arithmetic for the values that matter in practice and flags every other value, which
the caller formats with Python's ``repr``:

* ``v = |x| · 10^k`` with ``k = 16 − e`` (``10^e ≤ |x| < 10^(e+1)``, k ≤ 22 so ``10^k``
  is an exact double) is computed exactly (Veltkamp/Dekker product) as an int64 ``n`` plus a
  fraction ``f`` — ``v`` lies in [10^16, 10^17): its nearest integer is the correctly
  rounded 17-digit decimal, which always reads back (``repr`` takes the closest of those);
* the candidate of p digits (p = 16, 15, ...) is ``v`` rounded to a multiple of
  ``10^(17−p)`` (integer arithmetic on n and f, ties flagged); it reads back as ``x``
  exactly when it lies within half an ulp of ``x`` times ``10^k`` (a power of two times
  ``10^k``: exact) of ``v``. The first p that fails ends the search: the candidates of fewer
  digits lie on a coarser grid, no nearer to ``v``.

Flagged (formatted by ``repr`` instead): 0 < |x| < 1e-6, |x| ≥ 1e16, exact powers of two
(their rounding interval is lopsided), and candidates at a rounding tie or within 1e-9 of
the interval's ends. Tests compare the text with ``repr`` on hundreds of thousands of values
(codes-like, short decimals, integers, every exponent).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

#: Exact powers of ten 10^0 .. 10^22 (every one is a double).
POW10 = np.array([10.0**i for i in range(23)])
_INT_POW10 = np.array([10**i for i in range(19)], dtype=np.int64)
#: 10^-8 .. 10^17 to within an ulp (a first guess of the decimal exponent).
_NEAR_POW10 = np.array([10.0**i for i in range(-8, 18)])
_SPLIT = 134217729.0  # 2^27 + 1 (Veltkamp)

#: "00" .. "99" as bytes (two digits per step).
_PAIRS = np.frombuffer(b"".join(b"%02d" % i for i in range(100)), dtype=np.uint8).copy()

#: Kinds of :func:`shortest_digits`' answer.
ZERO, DIGITS, FALLBACK, NAN = 0, 1, 2, 3


@njit(cache=True, nogil=True)
def _two_prod(a, b):  # pragma: no cover - numba
    """(hi, lo) with hi + lo == a * b exactly (no FMA needed)."""
    p = a * b
    t = _SPLIT * a
    ah = t - (t - a)
    al = a - ah
    t = _SPLIT * b
    bh = t - (t - b)
    bl = b - bh
    err = ((ah * bh - p) + ah * bl + al * bh) + al * bl
    return p, err


@njit(cache=True, nogil=True)
def _scaled(a, k, pow10):  # pragma: no cover - numba
    """a · 10^k (k in 0..22, result in [2^53, 2^63)) exactly, as ``n + f``: an int64 n and a
    double f in [0, 1)."""
    hi, lo = _two_prod(a, pow10[k])  # hi + lo == a · 10^k exactly; hi is an integer here
    li = np.floor(lo)
    return np.int64(hi) + np.int64(li), lo - li  # lo - floor(lo) is exact


@njit(cache=True, nogil=True)
def _shortest_one(x, pow10, ipow10, near_pow10):  # pragma: no cover - numba
    """(kind, digits d, exponent e, digit count p) of x = ±d.ddd · 10^e."""
    if x != x:
        return NAN, 0, 0, 0
    if x == 0.0:
        return ZERO, 0, 0, 0
    a = abs(x)
    if not (1e-6 <= a < 1e16):
        return FALLBACK, 0, 0, 0
    m, ex = math.frexp(a)  # a = m · 2^ex, m in [0.5, 1)
    if m == 0.5:  # a power of two: its rounding interval is lopsided
        return FALLBACK, 0, 0, 0
    e = ((ex - 1) * 78913) >> 18  # floor((ex - 1) · log10 2): e or e - 1
    if a >= near_pow10[e + 1 + 8]:  # 10^(e+1) to within an ulp; the loop below makes sure
        e += 1
    n = np.int64(0)
    f = 0.0
    for _ in range(3):  # fix e so that a · 10^(16 - e) lies in [10^16, 10^17)
        k = 16 - e
        if k < 0 or k > 22:
            return FALLBACK, 0, 0, 0
        n, f = _scaled(a, k, pow10)
        if n >= ipow10[17]:
            e += 1
        elif n < ipow10[16]:
            e -= 1
        else:
            break
    if n >= ipow10[17] or n < ipow10[16]:
        return FALLBACK, 0, 0, 0
    k = 16 - e
    h = math.ldexp(1.0, ex - 54) * pow10[k]  # half an ulp of a, scaled: exact
    # candidate p rounds v = n + f to a multiple of step = 10^(17 - p); q = n // step and
    # rem = n % step are updated digit by digit (divisions by the constant 10 only)
    if f == 0.5:
        return FALLBACK, 0, 0, 0
    best_d = n + 1 if f > 0.5 else n  # p = 17: always reads back
    best_p = 17
    lowest = max(1, e + 1)  # below this p the digits are an integer with zeros: same text
    q = n
    rem = np.int64(0)
    step = np.int64(1)
    for p in range(16, lowest - 1, -1):
        digit = q % 10
        q //= 10
        rem += digit * step
        step *= 10
        half = step // 2
        if rem == half and f == 0.0:
            return FALLBACK, 0, 0, 0
        d = q + 1 if (rem > half or (rem == half and f > 0.0)) else q
        diff = float(d * step - n) - f  # candidate − v, in units of 10^-k
        if abs(abs(diff) - h) < 1e-9 * h:
            return FALLBACK, 0, 0, 0
        if abs(diff) >= h:  # outside the interval that reads back as a: so are shorter ones
            break
        best_d = d
        best_p = p
    if best_d >= ipow10[best_p]:  # rounded up to 10^p: one digit more in the exponent
        best_d //= 10
        e += 1
    while best_p > 1 and best_d % 10 == 0:
        best_d //= 10
        best_p -= 1
    return DIGITS, best_d, e, best_p


@njit(cache=True, nogil=True)
def _shortest_all(values, kind, digits, expo, ndig, pow10, ipow10, near_pow10):  # pragma: no cover
    flat = values.ravel()
    for i in range(flat.size):
        kd, d, e, p = _shortest_one(flat[i], pow10, ipow10, near_pow10)
        kind[i] = kd
        digits[i] = d
        expo[i] = e
        ndig[i] = p


def shortest_digits(values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Shortest round-trip digits of every value.

    Parameters
    ----------
    values : ndarray of float64, any shape (n values)

    Returns
    -------
    kind : ndarray of int8, shape (n,)
        :data:`ZERO`, :data:`DIGITS`, :data:`FALLBACK` (use ``repr``) or :data:`NAN`.
    digits : ndarray of int64, shape (n,)
        The digits d (no trailing zeros) where kind is DIGITS.
    exponent : ndarray of int32, shape (n,)
        e of ``|x| = d.ddd · 10^e``.
    ndigits : ndarray of int8, shape (n,)
        Number of digits of d.
    """
    values = np.ascontiguousarray(values, dtype=np.float64)
    n = values.size
    kind = np.empty(n, dtype=np.int8)
    digits = np.empty(n, dtype=np.int64)
    expo = np.empty(n, dtype=np.int32)
    ndig = np.empty(n, dtype=np.int8)
    _shortest_all(values, kind, digits, expo, ndig, POW10, _INT_POW10, _NEAR_POW10)
    return kind, digits, expo, ndig


@njit(cache=True, nogil=True)
def _put_uint(buf, pos, v):  # pragma: no cover - numba
    """Write the decimal digits of v >= 0 at pos; the new pos."""
    if v == 0:
        buf[pos] = 48
        return pos + 1
    start = pos
    while v > 0:
        buf[pos] = 48 + v % 10
        v //= 10
        pos += 1
    i, j = start, pos - 1
    while i < j:
        buf[i], buf[j] = buf[j], buf[i]
        i += 1
        j -= 1
    return pos


@njit(cache=True, nogil=True)
def _put_digits(buf, pos, d, p, dot):  # pragma: no cover - numba
    """Write the p digits of d at pos, a '.' before digit ``dot`` when 0 < dot < p; new pos."""
    j = pos + p  # digits first, contiguous, two at a time from the right
    v = d
    while v >= 100:
        r = (v % 100) * 2
        v //= 100
        j -= 2
        buf[j] = _PAIRS[r]
        buf[j + 1] = _PAIRS[r + 1]
    if v >= 10:
        j -= 2
        buf[j] = _PAIRS[2 * v]
        buf[j + 1] = _PAIRS[2 * v + 1]
    else:
        j -= 1
        buf[j] = 48 + v
    if 0 < dot < p:
        for i in range(pos + p, pos + dot, -1):
            buf[i] = buf[i - 1]
        buf[pos + dot] = 46
        return pos + p + 1
    return pos + p


@njit(cache=True, nogil=True)
def put_float(buf, pos, negative, d, e, p):  # pragma: no cover - numba
    """Write ±d.ddd · 10^e (p digits) as Python's repr does; the new pos."""
    if negative:
        buf[pos] = 45
        pos += 1
    decpt = e + 1
    if decpt <= -4 or decpt > 16:  # exponent form: d[.ddd]e±XX
        pos = _put_digits(buf, pos, d, p, 1)
        buf[pos] = 101  # 'e'
        buf[pos + 1] = 45 if e < 0 else 43
        pos += 2
        ae = abs(e)
        if ae < 10:
            buf[pos] = 48
            pos += 1
        return _put_uint(buf, pos, ae)
    if decpt <= 0:  # 0.000ddd
        buf[pos] = 48
        buf[pos + 1] = 46
        pos += 2
        for _ in range(-decpt):
            buf[pos] = 48
            pos += 1
        return _put_digits(buf, pos, d, p, 0)
    if decpt >= p:  # ddd000.0
        pos = _put_digits(buf, pos, d, p, 0)
        for _ in range(decpt - p):
            buf[pos] = 48
            pos += 1
        buf[pos] = 46
        buf[pos + 1] = 48
        return pos + 2
    return _put_digits(buf, pos, d, p, decpt)  # dd.ddd


@njit(cache=True, nogil=True)
def _format_value(out, pos, x, kd, d, e, p, fb_buf, fb_off, j):  # pragma: no cover - numba
    """Write value x (its :func:`shortest_digits` answer; ``j`` its fallback entry) at pos;
    NaN writes nothing. The new pos."""
    if kd == DIGITS:
        return put_float(out, pos, x < 0.0, d, e, p)
    if kd == ZERO:
        if np.signbit(x):
            out[pos] = 45
            pos += 1
        out[pos] = 48
        out[pos + 1] = 46
        out[pos + 2] = 48
        return pos + 3
    if kd == FALLBACK:
        for b in range(fb_off[j], fb_off[j + 1]):
            out[pos] = fb_buf[b]
            pos += 1
    return pos


@njit(cache=True, nogil=True)
def _format_all(values, kind, digits, expo, ndig, fb_buf, fb_off, fb_idx, out, ends):
    # pragma: no cover - numba
    pos = 0
    for i in range(values.size):
        pos = _format_value(out, pos, values[i], kind[i], digits[i], expo[i], ndig[i], fb_buf,
                            fb_off, fb_idx[i])
        ends[i] = pos


def float_texts(values: np.ndarray) -> list[str]:
    """``repr`` of every value (NaN as ''), for tests and small tables.

    Parameters
    ----------
    values : ndarray of float64, shape (n,)

    Returns
    -------
    list of str, length n
    """
    values = np.ascontiguousarray(values, dtype=np.float64).ravel()
    kind, digits, expo, ndig = shortest_digits(values)
    fb_buf, fb_off, fb_idx = fallback_texts(values, kind)
    out = np.empty(values.size * 26 + 1, dtype=np.uint8)
    ends = np.empty(values.size, dtype=np.int64)
    _format_all(values, kind, digits, expo, ndig, fb_buf, fb_off, fb_idx, out, ends)
    raw = out.tobytes()
    starts = np.concatenate([[0], ends[:-1]])
    return [raw[a:b].decode("ascii") for a, b in zip(starts.tolist(), ends.tolist())]


def fallback_texts(values: np.ndarray, kind: np.ndarray) -> tuple[np.ndarray, np.ndarray,
                                                                   np.ndarray]:
    """``repr`` of the flagged values packed for the kernels: ``(bytes (m,), offsets (k + 1,),
    index (n,))`` where ``index[i]`` is value i's entry (−1 when not flagged)."""
    flat = values.ravel()
    where = np.flatnonzero(kind == FALLBACK)
    texts = [repr(v).encode("ascii") for v in flat[where].tolist()]
    lengths = np.fromiter((len(t) for t in texts), dtype=np.int64, count=len(texts))
    offsets = np.zeros(len(texts) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    buf = np.frombuffer(b"".join(texts) or b"\0", dtype=np.uint8)
    index = np.full(flat.size, -1, dtype=np.int64)
    index[where] = np.arange(where.size)
    return buf, offsets, index
