"""Nucleotide substitution models: GTR family, +G rate categories, +I, frequencies.

Conventions (those of IQ-TREE, see ``shared/data/reference/README.md``): states A, C, G, T;
exchangeabilities in the order AC, AG, AT, CG, CT, GT with GT = 1 for ``GTR{ac,ag,at,cg,ct}``;
``Q_ij = r_ij pi_j`` for i != j, scaled so that ``-sum_i pi_i Q_ii = 1`` (one expected
substitution per unit branch length, averaged over rate categories: the +G category rates have
mean one, and with +I the variable categories are scaled by ``1 / (1 - p_inv)``).

Transition matrices come from the symmetrised eigendecomposition: with ``D = diag(pi)``,
``S = D^{1/2} Q D^{-1/2}`` is symmetric, ``S = V diag(lambda) V^T``, and
``P(t) = U diag(exp(lambda t)) U^{-1}`` with ``U = D^{-1/2} V``, ``U^{-1} = V^T D^{1/2}``
(Felsenstein 2004, *Inferring Phylogenies*, ch. 13). Derivatives:
``dP/dt = Q P(t)``, ``d^2P/dt^2 = Q^2 P(t)``.

**Exact at every finite t >= 0.** The stationary eigenpair is set exactly (index 0: ``lambda_0 =
0``, right eigenvector ``1``, left eigenvector ``pi``) instead of taken from the solver, whose
``lambda_0 ~ 1e-17`` made ``exp(lambda_0 t)`` wrong from ``t ~ 1e15`` on, and P is evaluated as
``P(t) = I + sum_{k>=1} U_k expm1(lambda_k t) U^{-1}_k`` (:func:`exact_transition_matrices`):
``expm1`` keeps the off-diagonal entries ``~ Q_ij t`` of short branches to full relative precision
(``exp`` would leave rounding noise of 1e-17 where the exact value is 1e-300), ``P(0) = I``
exactly, and ``P(t) -> 1 pi^T`` as the ``expm1`` terms reach -1, with no overflow for any finite t.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from phylo_vi.errors import ModelSpecificationError
from phylo_vi.likelihood.gamma import gamma_category_rates

N_STATES = 4
#: Index pairs of the six exchangeabilities, IQ-TREE order AC, AG, AT, CG, CT, GT.
EXCHANGEABILITY_PAIRS = ((0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3))


@dataclass(frozen=True)
class EigenSystem:
    """``Q = vectors @ diag(values) @ inverse`` of a normalised rate matrix."""

    values: np.ndarray
    vectors: np.ndarray
    inverse: np.ndarray
    rate_matrix: np.ndarray


class SubstitutionModel:
    """A time-reversible 4-state model with optional +G (K categories) and +I.

    Parameters
    ----------
    exchangeabilities : (6,) array, order AC, AG, AT, CG, CT, GT (any positive scale).
    frequencies : (4,) array, or None for "empirical" (resolved from an alignment by
        :meth:`with_frequencies` and :func:`phylo_vi.likelihood.frequencies.empirical_frequencies`).
    gamma_shape : shape alpha of the Gamma(alpha, alpha) rate distribution, or None (no +G).
    n_categories : number of discrete gamma categories (Yang 1994, J. Mol. Evol. 39:306).
    gamma_median : category rates from quantile medians (rescaled to mean one) instead of
        quantile means (the IQ-TREE / MrBayes / PhyML default).
    invariant_proportion : proportion p_inv of invariable sites (+I).
    """

    def __init__(self, exchangeabilities, frequencies=None, *, gamma_shape: float | None = None,
                 n_categories: int | None = None, gamma_median: bool = False,
                 invariant_proportion: float = 0.0, name: str = "GTR"):
        rates = np.asarray(exchangeabilities, dtype=np.float64).reshape(-1)
        if rates.shape != (6,) or not np.all(np.isfinite(rates)) or np.any(rates <= 0):
            raise ModelSpecificationError(f"{name}: six positive exchangeabilities expected, got {rates.tolist()}")
        self.exchangeabilities = rates / rates[5]
        self.frequencies = None if frequencies is None else _check_frequencies(frequencies, name)
        if gamma_shape is None:
            if n_categories not in (None, 1):
                raise ModelSpecificationError(f"{name}: {n_categories} rate categories need a gamma shape")
            self.n_categories = 1
        else:
            gamma_shape = float(gamma_shape)
            if not np.isfinite(gamma_shape) or gamma_shape <= 0:
                raise ModelSpecificationError(f"{name}: the gamma shape must be positive, got {gamma_shape}")
            self.n_categories = 4 if n_categories is None else int(n_categories)
            if self.n_categories < 1:
                raise ModelSpecificationError(f"{name}: at least one rate category is needed")
        self.gamma_shape = gamma_shape
        self.gamma_median = bool(gamma_median)
        p_inv = float(invariant_proportion)
        if not 0.0 <= p_inv < 1.0:
            raise ModelSpecificationError(f"{name}: the invariant proportion must lie in [0, 1), got {p_inv}")
        self.invariant_proportion = p_inv
        self.name = name

    # ---------------------------------------------------------------------------- structure
    @property
    def has_empirical_frequencies(self) -> bool:
        return self.frequencies is None

    def _require_frequencies(self) -> np.ndarray:
        if self.frequencies is None:
            raise ModelSpecificationError(
                f"{self.name}: empirical frequencies (+F) must be resolved from an alignment first "
                "(SubstitutionModel.with_frequencies)")
        return self.frequencies

    def with_frequencies(self, frequencies) -> "SubstitutionModel":
        """Copy of this model with the given equilibrium frequencies."""
        return self._replace(frequencies=frequencies)

    def with_gamma_shape(self, gamma_shape: float) -> "SubstitutionModel":
        """Copy with another gamma shape (same number of categories)."""
        return self._replace(gamma_shape=gamma_shape)

    def with_exchangeabilities(self, exchangeabilities) -> "SubstitutionModel":
        """Copy with other exchangeabilities (order AC, AG, AT, CG, CT, GT)."""
        return self._replace(exchangeabilities=exchangeabilities)

    def _replace(self, **changes) -> "SubstitutionModel":
        fields = dict(exchangeabilities=self.exchangeabilities, frequencies=self.frequencies,
                      gamma_shape=self.gamma_shape,
                      n_categories=self.n_categories if self.gamma_shape is not None else None,
                      gamma_median=self.gamma_median, invariant_proportion=self.invariant_proportion,
                      name=self.name)
        fields.update(changes)
        if fields["gamma_shape"] is not None and fields["n_categories"] is None:
            fields["n_categories"] = 4
        return SubstitutionModel(fields.pop("exchangeabilities"), fields.pop("frequencies"), **fields)

    # ------------------------------------------------------------------------- rate matrix
    def unscaled_rate_matrix(self) -> np.ndarray:
        """``R diag(pi)`` with rows summing to zero, before the one-substitution scaling."""
        pi = self._require_frequencies()
        q = np.zeros((N_STATES, N_STATES))
        for (i, j), r in zip(EXCHANGEABILITY_PAIRS, self.exchangeabilities):
            q[i, j] = r * pi[j]
            q[j, i] = r * pi[i]
        q[np.diag_indices(N_STATES)] = -q.sum(axis=1)
        return q

    def rate_matrix(self) -> np.ndarray:
        """Normalised Q: ``-sum_i pi_i Q_ii = 1``."""
        q = self.unscaled_rate_matrix()
        return q / -np.dot(self._require_frequencies(), np.diag(q))

    def eigen(self) -> EigenSystem:
        """Symmetrised eigendecomposition of the normalised rate matrix (module docstring)."""
        pi = self._require_frequencies()
        q = self.rate_matrix()
        root = np.sqrt(pi)
        symmetric = root[:, None] * q / root[None, :]
        symmetric = 0.5 * (symmetric + symmetric.T)
        values, v = np.linalg.eigh(symmetric)
        order = np.argsort(-values)              # the stationary eigenvalue (0, the largest) first
        values, v = values[order], v[:, order]
        vectors, inverse = v / root[:, None], v.T * root[None, :]
        values[0] = 0.0
        vectors[:, 0] = 1.0
        inverse[0] = pi
        return EigenSystem(values, vectors, inverse, q)

    # ----------------------------------------------------------------------- site classes
    def gamma_rates(self) -> np.ndarray:
        """Gamma category rates with mean one (before the +I rescaling)."""
        if self.gamma_shape is None:
            return np.ones(1)
        return gamma_category_rates(self.gamma_shape, self.n_categories, median=self.gamma_median)

    def category_rates(self) -> np.ndarray:
        """Rates of the variable-site categories, (K,): gamma rates / (1 - p_inv)."""
        return self.gamma_rates() / (1.0 - self.invariant_proportion)

    def category_weights(self) -> np.ndarray:
        """Weights of the variable-site categories, (K,): (1 - p_inv) / K each."""
        return np.full(self.n_categories, (1.0 - self.invariant_proportion) / self.n_categories)

    def transition_matrices(self, branch_lengths) -> np.ndarray:
        """``P(r_k t)`` for every length t and category k: shape ``(*t.shape, K, 4, 4)``."""
        eig = self.eigen()
        t = np.asarray(branch_lengths, dtype=np.float64)
        return exact_transition_matrices(t[..., None] * self.category_rates(), eig.values, eig.vectors, eig.inverse)

    # ------------------------------------------------------------------------------ output
    def to_iqtree(self) -> str:
        """The model as an IQ-TREE model string (all parameters written out)."""
        r = ",".join(repr(float(x)) for x in self.exchangeabilities[:5])
        text = f"GTR{{{r}}}"
        if self.frequencies is None:
            text += "+F"
        else:
            text += "+F{" + ",".join(repr(float(x)) for x in self.frequencies) + "}"
        if self.invariant_proportion > 0:
            text += f"+I{{{self.invariant_proportion!r}}}"
        if self.gamma_shape is not None:
            text += f"+G{self.n_categories}{{{self.gamma_shape!r}}}"
        return text

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.to_iqtree()!r}, median={self.gamma_median})"


def exact_transition_matrices(tau: np.ndarray, values: np.ndarray, vectors: np.ndarray,
                              inverse: np.ndarray) -> np.ndarray:
    """``P(tau) = I + sum_{k>=1} U_k expm1(lambda_k tau) U^-1_k`` for every entry of ``tau``, shape
    ``(*tau.shape, 4, 4)``, from an :class:`EigenSystem` with the stationary pair at index 0 (module
    docstring); the stationary term is left out, so ``tau = inf`` (an overflowed ``r t``) gives
    ``1 pi^T``."""
    decay = np.expm1(np.asarray(tau, dtype=np.float64)[..., None] * values[1:])
    return np.eye(N_STATES) + np.einsum("ij,...j,jl->...il", vectors[:, 1:], decay, inverse[1:])


def _check_frequencies(frequencies, name: str) -> np.ndarray:
    pi = np.asarray(frequencies, dtype=np.float64).reshape(-1)
    if pi.shape != (N_STATES,) or not np.all(np.isfinite(pi)) or np.any(pi <= 0):
        raise ModelSpecificationError(f"{name}: four positive frequencies expected, got {pi.tolist()}")
    total = pi.sum()
    if abs(total - 1.0) > 1e-3:
        raise ModelSpecificationError(f"{name}: frequencies must sum to one, they sum to {total}")
    return pi / total


_UNIFORM = np.full(N_STATES, 0.25)


class JC69(SubstitutionModel):
    """Jukes & Cantor (1969): equal rates, equal frequencies."""

    def __init__(self, **site):
        super().__init__(np.ones(6), _UNIFORM, name="JC69", **site)


class K80(SubstitutionModel):
    """Kimura (1980): transition/transversion ratio ``kappa``, equal frequencies."""

    def __init__(self, kappa: float, **site):
        super().__init__([1, kappa, 1, 1, kappa, 1], _UNIFORM, name="K80", **site)


class F81(SubstitutionModel):
    """Felsenstein (1981): equal exchangeabilities, free frequencies."""

    def __init__(self, frequencies=None, **site):
        super().__init__(np.ones(6), frequencies, name="F81", **site)


class HKY85(SubstitutionModel):
    """Hasegawa, Kishino & Yano (1985): ``kappa`` and free frequencies."""

    def __init__(self, kappa: float, frequencies=None, **site):
        super().__init__([1, kappa, 1, 1, kappa, 1], frequencies, name="HKY85", **site)


class TN93(SubstitutionModel):
    """Tamura & Nei (1993): purine (AG) and pyrimidine (CT) transition rates, free frequencies."""

    def __init__(self, kappa_purine: float, kappa_pyrimidine: float, frequencies=None, **site):
        super().__init__([1, kappa_purine, 1, 1, kappa_pyrimidine, 1], frequencies, name="TN93", **site)


class GTR(SubstitutionModel):
    """General time-reversible model (Tavare 1986): five free exchangeabilities (GT = 1)."""

    def __init__(self, rates, frequencies=None, **site):
        rates = np.asarray(rates, dtype=np.float64).reshape(-1)
        if rates.shape == (5,):
            rates = np.append(rates, 1.0)
        super().__init__(rates, frequencies, name="GTR", **site)
