"""Free and fixed parameters of an IQ-TREE model string, for maximum-likelihood fitting.

IQ-TREE's convention: a value written in the model string is fixed, a parameter left without
one is estimated. ``HKY+G4`` estimates kappa and the gamma shape (frequencies: empirical +F,
computed once from the alignment); ``HKY{2}+G4`` fixes kappa; ``GTR+FO+I+G4`` estimates the
five exchangeabilities, the frequencies, the invariant proportion and the shape.

Grammar: that of :mod:`phylo_vi.likelihood.model_string`, where in addition the base may come
without values, ``+G[n]`` without ``{alpha}``, ``+I`` without ``{p}``, and ``+FO`` asks for
estimated frequencies.

Coordinates of the optimiser (``start``, ``lower``, ``upper``), with IQ-TREE's bounds (Nguyen et
al. 2015, Mol. Biol. Evol. 32:268; MIN/MAX_RATE of its model/modelmarkov.h, MIN/MAX_GAMMA_SHAPE of
utils/tools.h) and its starting values (rates 1; alpha 1, RateGamma's default), except kappa,
which starts at a typical 2:

================  ======================  ==================  ===========================
parameter         coordinate              bounds              start
================  ======================  ==================  ===========================
exchangeability   log r (GT = 1)          r in [1e-4, 100]    1 (kappa: 2)
frequencies +FO   log(pi_i / pi_T), 3     ratio [1e-4, 1e4]   empirical (+F)
gamma shape       log alpha               [0.02, 1000]        1
invariant p       p                       [1e-6, constant]    half the constant fraction
================  ======================  ==================  ===========================

"constant" is the fraction of sites whose characters allow one common state, capped at 0.99 (a
larger p_inv would claim more invariable sites than there are constant ones).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from phylo_vi.errors import ModelSpecificationError
from phylo_vi.likelihood.frequencies import empirical_frequencies
from phylo_vi.likelihood.model_string import MAX_GAMMA_CATEGORIES, MODEL_COMPONENT, parse_model, split_model_string
from phylo_vi.likelihood.models import SubstitutionModel

RATE_BOUNDS = (1e-4, 100.0)
FREQUENCY_RATIO_BOUNDS = (1e-4, 1e4)
GAMMA_SHAPE_BOUNDS = (0.02, 1000.0)
MIN_INVARIANT_PROPORTION = 1e-6

#: names of the free base parameters, the exchangeabilities (AC, AG, AT, CG, CT) each one sets
_BASE_PARAMETERS = {
    "JC": (), "F81": (),
    "K80": (("kappa", (1, 4)),), "HKY": (("kappa", (1, 4)),),
    "TN": (("AG", (1,)), ("CT", (4,))),
    "GTR": tuple((name, (i,)) for i, name in enumerate(("AC", "AG", "AT", "CG", "CT"))),
}
_EQUAL_FREQUENCIES = ("JC", "K80")


def constant_site_fraction(codes: np.ndarray, weights: np.ndarray) -> float:
    """Fraction of sites whose characters (T, P bitmasks) share at least one allowed state."""
    common = np.bitwise_and.reduce(codes, axis=0)
    return float(weights @ (common > 0) / weights.sum())


def _join(values) -> str:
    return ",".join(repr(float(x)) for x in values)


@dataclass(frozen=True)
class _Template:
    """A model string split into its base, fixed values and free components."""

    base: str
    base_values: str | None        # the braces' content, None when the base parameters are free
    frequencies: str               # "equal" | "empirical" | "estimated" | the fixed values' text
    gamma: str | None              # +G category count text ("" for the default 4), None without +G
    gamma_shape: str | None        # None when estimated
    invariant: bool
    invariant_proportion: str | None


def _read_template(text: str) -> _Template:
    source = text
    base, base_values, components = split_model_string(text)
    fields = dict(base=base, base_values=base_values, frequencies="equal" if base in _EQUAL_FREQUENCIES
                  else "empirical", gamma=None, gamma_shape=None, invariant=False, invariant_proportion=None)
    for part in components:
        component = MODEL_COMPONENT.match(part)
        if component is None:
            raise ModelSpecificationError(f"model {source!r}: cannot read component {part!r}")
        name, digits, values = component.group(1).upper(), component.group(2), component.group(3)
        if name in ("F", "FO", "FQ") and not digits:
            if base in _EQUAL_FREQUENCIES:
                raise ModelSpecificationError(f"model {source!r}: {base} has equal frequencies; use F81/HKY for +F")
            if name == "F":
                fields["frequencies"] = "empirical" if values is None else values
            elif values is None:
                fields["frequencies"] = "estimated" if name == "FO" else "equal"
            else:
                raise ModelSpecificationError(f"model {source!r}: +{name} takes no values")
        elif name == "G":
            if digits and not 1 <= int(digits) <= MAX_GAMMA_CATEGORIES:
                raise ModelSpecificationError(
                    f"model {source!r}: +G takes 1 to {MAX_GAMMA_CATEGORIES} categories, got {digits}")
            fields["gamma"], fields["gamma_shape"] = digits, values
        elif name == "I" and not digits:
            fields["invariant"], fields["invariant_proportion"] = True, values
        else:
            raise ModelSpecificationError(f"model {source!r}: unknown component +{part}")
    return _Template(**fields)


class ModelParameters:
    """The free parameters of a model string and the map from optimiser coordinates to a model.

    Parameters
    ----------
    text : IQ-TREE model string; values given are fixed, parameters without values are free.
    codes, weights : the site patterns (T, P) and their weights, for the empirical frequencies
        and the starting values.
    gamma_median : median instead of mean gamma category rates.

    Attributes
    ----------
    names : names of the free model parameters, in coordinate order (``kappa``, ``AC`` ...,
        ``pi_A/pi_T`` ..., ``p_inv``, ``alpha``).
    n_frequency_parameters : 3 when the frequencies are estimated or empirical (IQ-TREE counts
        empirical frequencies as estimated parameters), else 0.
    """

    def __init__(self, text: str, codes: np.ndarray, weights: np.ndarray, *, gamma_median: bool = False):
        self.text = text
        self.template = template = _read_template(text)
        self.gamma_median = gamma_median
        self._empirical = empirical_frequencies(codes, weights)
        self._constant_fraction = constant_site_fraction(codes, weights)
        names, starts, lower, upper = [], [], [], []
        if template.base_values is None:
            for name, _ in _BASE_PARAMETERS[template.base]:
                names.append(name)
                starts.append(np.log(2.0 if name == "kappa" else 1.0))
                lower.append(np.log(RATE_BOUNDS[0]))
                upper.append(np.log(RATE_BOUNDS[1]))
        self.n_base = len(names)
        if template.frequencies == "estimated":
            for state in "ACG":
                names.append(f"pi_{state}/pi_T")
            starts.extend(np.log(self._empirical[:3] / self._empirical[3]))
            lower.extend([np.log(FREQUENCY_RATIO_BOUNDS[0])] * 3)
            upper.extend([np.log(FREQUENCY_RATIO_BOUNDS[1])] * 3)
        self.estimates_frequencies = template.frequencies == "estimated"
        self.estimates_invariant = template.invariant and template.invariant_proportion is None
        if self.estimates_invariant:
            if self._constant_fraction <= 2 * MIN_INVARIANT_PROPORTION:
                raise ModelSpecificationError(f"model {text!r}: +I needs constant sites, the alignment has none")
            names.append("p_inv")
            starts.append(0.5 * self._constant_fraction)
            lower.append(MIN_INVARIANT_PROPORTION)
            upper.append(min(self._constant_fraction, 0.99))
        self.estimates_gamma = template.gamma is not None and template.gamma_shape is None
        if self.estimates_gamma:
            names.append("alpha")
            starts.append(0.0)
            lower.append(np.log(GAMMA_SHAPE_BOUNDS[0]))
            upper.append(np.log(GAMMA_SHAPE_BOUNDS[1]))
        self.names = tuple(names)
        self.start = np.array(starts, dtype=np.float64)
        self.lower = np.array(lower, dtype=np.float64)
        self.upper = np.array(upper, dtype=np.float64)
        self.n_frequency_parameters = 3 if template.frequencies in ("empirical", "estimated") else 0
        # the fixed values, validated by the model-string parser (the free ones at their start)
        self._fixed = parse_model(self.model_string(self.start), gamma_median=gamma_median)

    @property
    def _fixed_frequencies(self) -> bool:
        return self.template.frequencies not in ("equal", "empirical", "estimated")

    @property
    def n_free(self) -> int:
        return len(self.names)

    # ------------------------------------------------------------------------------ values
    def values(self, x: np.ndarray) -> dict[str, float]:
        """Free parameters in natural units (exchangeabilities, frequency ratios, p_inv, alpha)."""
        x = np.asarray(x, dtype=np.float64)
        natural = np.exp(x)
        if self.estimates_invariant:
            index = self.names.index("p_inv")
            natural[index] = x[index]
        return dict(zip(self.names, natural.tolist()))

    def frequencies(self, x: np.ndarray) -> np.ndarray | None:
        """Empirical or estimated frequencies at ``x`` (A, C, G, T); None when equal or fixed."""
        template = self.template
        if template.frequencies == "equal":
            return None
        if template.frequencies == "empirical":
            return self._empirical
        if template.frequencies == "estimated":
            ratios = np.append(np.exp(x[self.n_base:self.n_base + 3]), 1.0)
            return ratios / ratios.sum()
        return None

    def model_string(self, x: np.ndarray) -> str:
        """The model at ``x`` as an IQ-TREE string with every value written out (``repr`` digits),
        which :func:`~phylo_vi.likelihood.parse_model` reads back to the same model."""
        template = self.template
        x = np.asarray(x, dtype=np.float64)
        text = template.base
        if template.base_values is not None:
            text += "{" + template.base_values + "}"
        elif self.n_base:
            text += "{" + _join(np.exp(x[:self.n_base])) + "}"
        if self._fixed_frequencies:
            text += "+F{" + template.frequencies + "}"
        elif template.frequencies != "equal":
            text += "+F{" + _join(self.frequencies(x)) + "}"
        elif template.base not in _EQUAL_FREQUENCIES:
            text += "+FQ"
        if template.invariant:
            p = template.invariant_proportion or repr(float(x[self.names.index("p_inv")]))
            text += "+I{" + p + "}"
        if template.gamma is not None:
            alpha = template.gamma_shape or repr(float(np.exp(x[self.names.index("alpha")])))
            text += f"+G{template.gamma or 4}{{{alpha}}}"
        return text

    def model(self, x: np.ndarray) -> SubstitutionModel:
        """The substitution model at coordinates ``x`` (the model :meth:`model_string` describes,
        built without the string)."""
        x = np.asarray(x, dtype=np.float64)
        fixed = self._fixed
        rates = fixed.exchangeabilities.copy()
        for value, (_, slots) in zip(np.exp(x[:self.n_base]), _BASE_PARAMETERS[self.template.base]):
            rates[list(slots)] = value
        frequencies = self.frequencies(x)
        shape = np.exp(x[self.names.index("alpha")]) if self.estimates_gamma else fixed.gamma_shape
        p_inv = x[self.names.index("p_inv")] if self.estimates_invariant else fixed.invariant_proportion
        return SubstitutionModel(rates, fixed.frequencies if frequencies is None else frequencies,
                                 gamma_shape=shape, n_categories=fixed.n_categories if shape is not None else None,
                                 gamma_median=self.gamma_median, invariant_proportion=p_inv, name=fixed.name)

    # --------------------------------------------------------------------------- gradients
    def base_gradient(self, exchangeability_gradient: np.ndarray, x: np.ndarray) -> np.ndarray:
        """d log L / d(log base parameters) from d log L / d(AC, AG, AT, CG, CT) (GT = 1)."""
        rates = np.exp(x[:self.n_base])
        return np.array([rate * exchangeability_gradient[list(slots)].sum()
                         for rate, (_, slots) in zip(rates, _BASE_PARAMETERS[self.template.base])])

    def frequency_gradient(self, frequency_gradient: np.ndarray, x: np.ndarray) -> np.ndarray:
        """d log L / d log(pi_i / pi_T), i = A, C, G, from d log L / d pi (unnormalised pi):
        with pi = rho / sum(rho), ``d/d log rho_i = rho_i (g_i - g . pi) / sum(rho)`` = ``pi_i (g_i - g . pi)``."""
        pi = self.frequencies(x)
        return pi[:3] * (frequency_gradient[:3] - frequency_gradient @ pi)
