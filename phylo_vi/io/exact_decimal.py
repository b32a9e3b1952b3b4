"""Exact conversion of decimal numbers in a byte buffer to float64, inside Numba kernels.

A number ``±d.ddd[e±x]`` is converted where Clinger's fast path applies: a significand of at
most 2**53 and a power of ten up to 1e22 are both exact doubles, so one correctly rounded
multiplication or division gives the correctly rounded result, equal to Python's ``float``.
Significands between 2**53 and 2**60 with a negative exponent (``%.15e`` and ``%.17g`` output)
are divided with a residual check (Dekker's exact product). Any other number (more than 18
significant digits, large exponents, a residual too close to half a unit) is reported as
``DEFERRED`` for the caller to convert from its text.

W. D. Clinger (1990), "How to read floating point numbers accurately", PLDI '90, 92-101.
T. J. Dekker (1971), "A floating-point technique for extending the available precision",
Numer. Math. 18:224-242.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from phylo_vi.io.byte_codes import DIGIT_0, DOT, LOWER_E, MINUS, PLUS, UPPER_E, ends_number, is_digit

EXACT, DEFERRED, INVALID = 0, 1, -1

_POW10 = np.array([10.0 ** k for k in range(23)])
_MAX_EXACT = np.uint64(1) << np.uint64(53)
_MAX_DIGITS = 19
_MAX_FAST_DIGITS = 18
_MAX_POWER = 22
_DEKKER_SPLIT = 134217729.0  # 2**27 + 1
_NO_EXPONENT = -(1 << 40)


@njit(cache=True, nogil=True)
def read_number(buf, i, end):
    """Parse a number at ``buf[i:end]``; returns (next position, status, value).

    status ``EXACT``: ``value`` is the correctly rounded value; ``DEFERRED``: valid syntax that
    the caller converts from ``buf[i:next]``; ``INVALID``: not a number, or followed by a byte
    that cannot end a branch length (``value`` is NaN for both).
    """
    negative = False
    if i < end and (buf[i] == MINUS or buf[i] == PLUS):
        negative = buf[i] == MINUS
        i += 1
    mantissa = np.uint64(0)
    significant = 0
    digits = 0
    fraction = 0
    while i < end and is_digit(buf[i]):
        d = buf[i] - DIGIT_0
        if significant > 0 or d != 0:
            significant += 1
            if significant <= _MAX_DIGITS:
                mantissa = mantissa * np.uint64(10) + np.uint64(d)
            else:
                fraction -= 1
        digits += 1
        i += 1
    if i < end and buf[i] == DOT:
        i += 1
        while i < end and is_digit(buf[i]):
            d = buf[i] - DIGIT_0
            if significant > 0 or d != 0:
                significant += 1
                if significant <= _MAX_DIGITS:
                    mantissa = mantissa * np.uint64(10) + np.uint64(d)
                    fraction += 1
            else:
                fraction += 1
            digits += 1
            i += 1
    if digits == 0:
        return i, INVALID, np.nan
    exponent = 0
    if i < end and (buf[i] == LOWER_E or buf[i] == UPPER_E):
        i, exponent = _exponent(buf, i + 1, end)
        if exponent == _NO_EXPONENT:
            return i, INVALID, np.nan
    if i < end and not ends_number(buf[i]):
        return i, INVALID, np.nan
    if significant > _MAX_FAST_DIGITS:
        return i, DEFERRED, np.nan
    if mantissa == 0:
        return i, EXACT, -0.0 if negative else 0.0
    value = _scaled(mantissa, exponent - fraction)
    if value < 0.0:
        return i, DEFERRED, np.nan
    return i, EXACT, -value if negative else value


@njit(cache=True, nogil=True)
def _exponent(buf, i, end):
    """The signed decimal exponent after ``e``; (position, ``_NO_EXPONENT``) without digits."""
    negative = False
    if i < end and (buf[i] == MINUS or buf[i] == PLUS):
        negative = buf[i] == MINUS
        i += 1
    exponent = 0
    n_digits = 0
    while i < end and is_digit(buf[i]):
        if exponent < 100000:
            exponent = exponent * 10 + (buf[i] - DIGIT_0)
        n_digits += 1
        i += 1
    if n_digits == 0:
        return i, _NO_EXPONENT
    return i, -exponent if negative else exponent


@njit(cache=True, nogil=True)
def _scaled(mantissa, e10) -> float:
    """Correctly rounded ``mantissa * 10**e10`` (mantissa > 0, at most 18 digits); -1 when not exact here."""
    while mantissa % np.uint64(10) == 0:
        mantissa //= np.uint64(10)
        e10 += 1
    if mantissa > _MAX_EXACT:
        if -_MAX_POWER <= e10 < 0:
            return _divide_exactly(mantissa, _POW10[-e10])
        return -1.0
    value = float(mantissa)
    if 0 <= e10 <= _MAX_POWER:
        return value * _POW10[e10]
    if -_MAX_POWER <= e10 < 0:
        return value / _POW10[-e10]
    if _MAX_POWER < e10 <= _MAX_POWER + 15:
        # move the excess power into the significand while it stays exact
        scaled = mantissa
        for _ in range(e10 - _MAX_POWER):
            scaled *= np.uint64(10)
            if scaled > _MAX_EXACT:
                return -1.0
        return float(scaled) * _POW10[_MAX_POWER]
    return -1.0


@njit(cache=True, nogil=True)
def _two_product(a: float, b: float):
    """``a * b = p + e`` exactly (Dekker 1971, without a fused multiply-add)."""
    p = a * b
    c = _DEKKER_SPLIT * a
    a_hi = c - (c - a)
    a_lo = a - a_hi
    c = _DEKKER_SPLIT * b
    b_hi = c - (c - b)
    b_lo = b - b_hi
    e = ((a_hi * b_hi - p) + a_hi * b_lo + a_lo * b_hi) + a_lo * b_lo
    return p, e


@njit(cache=True, nogil=True)
def _divide_exactly(mantissa, power: float) -> float:
    """Correctly rounded ``mantissa / power`` for ``2**53 < mantissa < 2**60``, ``power`` = 10**k, k <= 22.

    A candidate quotient is checked against the exact residual ``mantissa - v * power``
    (a double-double, Dekker's product) and moved by one unit in the last place when the
    residual says so. Returns -1 when the residual is too close to half a unit to decide
    (the caller then converts the text itself).
    """
    high = float(mantissa)
    low = float(np.int64(mantissa) - np.int64(high))
    value = high / power
    for _ in range(3):
        product, error = _two_product(value, power)
        residual = ((high - product) - error) + low
        if residual >= 0.0:
            half_gap = (np.nextafter(value, np.inf) - value) * power * 0.5
        else:
            half_gap = (value - np.nextafter(value, -np.inf)) * power * 0.5
        size = abs(residual)
        if size < half_gap * (1.0 - 1e-9):
            return value
        if size <= half_gap * (1.0 + 1e-9):
            return -1.0
        value = np.nextafter(value, np.inf if residual > 0.0 else -np.inf)
    return -1.0


@njit(cache=True, nogil=True)
def _read_whole(buf):
    end, status, value = read_number(buf, 0, len(buf))
    return (status if end == len(buf) else INVALID), value


def parse_decimal(text: bytes) -> float | None:
    """The kernel's conversion of one number (None where it defers to the caller or rejects it)."""
    status, value = _read_whole(np.frombuffer(text, dtype=np.uint8))
    return float(value) if status == EXACT else None
