"""The compiled Geyer loop gives ArviZ's own ESS values bit for bit (reference: ``arviz_stats`` 0.8's
``array_stats``, pure NumPy) on white noise, AR(1) chains of short to long correlation, few draws,
more chains and a constant array."""
import numpy as np
import pytest
from arviz_stats.base import array_stats as arviz_reference

from phylo_vi.diagnostics.arviz_compiled import array_stats


def _ar1(rng, phi: float, shape: tuple[int, int]) -> np.ndarray:
    x = np.zeros(shape)
    noise = rng.normal(size=shape)
    for i in range(1, shape[1]):
        x[:, i] = phi * x[:, i - 1] + noise[:, i]
    return x


def _cases():
    rng = np.random.default_rng(3)
    yield rng.normal(size=(2, 4))
    yield rng.normal(size=(2, 101))
    yield rng.normal(size=(4, 1000))
    for phi in (0.5, 0.99, 0.999):
        yield _ar1(rng, phi, (2, 5000))
    yield np.ones((2, 50))


@pytest.mark.parametrize("method", [{"method": "bulk"}, {"method": "tail", "prob": 0.05}, {"method": "mean"}])
def test_compiled_ess_equals_arviz_exactly(method):
    for draws in _cases():
        expected = arviz_reference.ess(draws, **method)
        got = array_stats.ess(draws, **method)
        assert got == expected or (np.isnan(got) and np.isnan(expected)), (draws.shape, method)
