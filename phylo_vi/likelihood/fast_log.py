"""A vectorisable natural logarithm for weighted log-likelihood sums in Numba.

``math.log`` in a Numba loop is a scalar libm call (about 10 ns), and without Intel's SVML
LLVM does not vectorise it; summing ``w_p log L_p`` over ~1,000 site patterns then costs more
than the arithmetic that produced the ``L_p``. Here the logarithm is built from operations
LLVM does vectorise (AVX2: four lanes):

    x = 2^e m,  m in [1, 2)         (exponent and mantissa read from the IEEE-754 bits)
    if m > sqrt 2: m <- m / 2, e <- e + 1         so m in (0.707, 1.415]
    log x = e log 2 + 2 atanh(s),  s = (m - 1) / (m + 1),  |s| <= 0.1716,
    atanh(s) = s (1 + s^2/3 + s^4/5 + ... + s^20/21)

(the series' first omitted term is below 2.2e-17 s), accurate to a few units in the last
place for positive normal ``x``. Subnormal numbers, zero, infinities and NaN are *not*
handled: callers check their inputs (see :func:`weighted_log_sum`).
"""
from __future__ import annotations

import numpy as np
from numba import njit

LOG_2 = 0.6931471805599453
SQRT_2 = 1.4142135623730951
SMALLEST_NORMAL = 2.2250738585072014e-308
_MANTISSA_BITS = np.uint64(0x000FFFFFFFFFFFFF)
_EXPONENT_ONE = np.uint64(0x3FF0000000000000)

# error_model="numpy": Numba's default Python error model tests every division for a zero
# divisor, which stops LLVM from vectorising the loop.
_VECTOR = dict(cache=True, nogil=True, error_model="numpy", fastmath={"contract", "reassoc"})


@njit(**_VECTOR)
def weighted_log_sum(values, weights, mantissa, exponent):
    """``sum_p weights[p] * log(values[p])`` for positive normal ``values`` (P,).

    ``mantissa`` and ``exponent`` are scratch arrays of the same length (float64). The caller
    must make sure ``values.min() >= SMALLEST_NORMAL`` and that no value is infinite or NaN.
    """
    bits = values.view(np.uint64)
    mantissa_bits = mantissa.view(np.uint64)
    for p in range(values.shape[0]):
        b = bits[p]
        mantissa_bits[p] = (b & _MANTISSA_BITS) | _EXPONENT_ONE
        exponent[p] = np.float64(np.int64(b >> np.uint64(52))) - 1023.0
    total = 0.0
    for p in range(values.shape[0]):
        m = mantissa[p]
        above = np.float64(m > SQRT_2)
        m = m * (1.0 - 0.5 * above)
        s = (m - 1.0) / (m + 1.0)
        z = s * s
        series = 1.0 / 21.0
        series = series * z + 1.0 / 19.0
        series = series * z + 1.0 / 17.0
        series = series * z + 1.0 / 15.0
        series = series * z + 1.0 / 13.0
        series = series * z + 1.0 / 11.0
        series = series * z + 1.0 / 9.0
        series = series * z + 1.0 / 7.0
        series = series * z + 1.0 / 5.0
        series = series * z + 1.0 / 3.0
        series = series * z + 1.0
        total += weights[p] * ((exponent[p] + above) * LOG_2 + 2.0 * s * series)
    return total
