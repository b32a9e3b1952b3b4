"""IQ-TREE model strings.

Grammar (case-insensitive names, whitespace ignored)::

    model      := base [values] ("+" component)*
    base       := JC | JC69 | F81 | K80 | K2P | HKY | HKY85 | TN | TN93 | TRN | GTR
    component  := "F" [values]         frequencies: given {a,c,g,t}, or empirical when bare
                | "FQ"                 equal frequencies
                | "G" [n] values       n discrete gamma categories (default 4, at most 64), shape {alpha}
                | "I" values           proportion of invariable sites {p}
    values     := "{" number ("," number)* "}"

Base parameters: ``K80{kappa}``, ``HKY{kappa}``, ``TN{ag,ct}``, ``GTR{ac,ag,at,cg,ct}`` (GT = 1;
a sixth value is accepted and everything is divided by it). JC and K80 have equal frequencies;
F81, HKY, TN and GTR use ``+F`` (empirical when no values are given, the IQ-TREE default).
phylo_vi evaluates likelihoods at fixed parameters, so a parameter that IQ-TREE would estimate
(``K80`` without ``{kappa}``, ``+G`` without ``{alpha}``) is an error rather than a guess.
"""
from __future__ import annotations

import re

import numpy as np

from phylo_vi.errors import ModelSpecificationError
from phylo_vi.likelihood.models import F81, GTR, HKY85, K80, TN93, JC69, SubstitutionModel

#: one ``+`` component: name, category digits, braced values (``G4{0.5}``)
MODEL_COMPONENT = re.compile(r"([A-Za-z]+)(\d*)(?:\{([^}]*)\})?$")
_BASE = re.compile(r"([A-Za-z0-9]+)(?:\{([^}]*)\})?$")
_BASES = {"JC": "JC", "JC69": "JC", "F81": "F81", "K80": "K80", "K2P": "K80", "HKY": "HKY", "HKY85": "HKY",
          "TN": "TN", "TN93": "TN", "TRN": "TN", "GTR": "GTR"}
_N_BASE_VALUES = {"JC": (0,), "F81": (0,), "K80": (1,), "HKY": (1,), "TN": (2,), "GTR": (5, 6)}
MAX_GAMMA_CATEGORIES = 64  # the partials grow with the categories; IQ-TREE's own models use at most 20


def _split_top_level(text: str) -> list[str]:
    parts, depth, current = [], 0, []
    for char in text:
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
        if char == "+" and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts


def split_model_string(text: str) -> tuple[str, str | None, list[str]]:
    """``(base model, its braced values or None, the '+' components after it)`` of an IQ-TREE model
    string (whitespace ignored; base names in either spelling: JC/JC69, K80/K2P, HKY/HKY85, TN/TN93/TrN)."""
    source = text
    text = re.sub(r"\s+", "", text or "")
    if not text:
        raise ModelSpecificationError("empty model string")
    parts = _split_top_level(text)
    match = _BASE.match(parts[0])
    base = _BASES.get(match.group(1).upper()) if match else None
    if base is None:
        raise ModelSpecificationError(
            f"unknown substitution model {parts[0]!r} in {source!r}; expected one of JC, F81, K80, HKY, TN, GTR")
    return base, match.group(2), parts[1:]


def _numbers(text: str | None, what: str, model: str) -> np.ndarray:
    if text is None:
        return np.zeros(0)
    try:
        return np.array([float(x) for x in text.split(",")], dtype=np.float64)
    except ValueError:
        raise ModelSpecificationError(f"model {model!r}: {what} values {text!r} are not numbers") from None


def parse_model(text: str, *, gamma_median: bool = False) -> SubstitutionModel:
    """Substitution model from an IQ-TREE model string (module grammar), e.g. ``HKY{2.0}+F+G4{0.5}``.

    ``gamma_median`` selects median category rates instead of quantile means (the default).
    """
    source = text
    base, base_values, components = split_model_string(text)
    values = _numbers(base_values, base, source)
    if len(values) not in _N_BASE_VALUES[base]:
        wanted = " or ".join(str(n) for n in _N_BASE_VALUES[base])
        raise ModelSpecificationError(
            f"model {source!r}: {base} takes {wanted} fixed parameter value(s) in braces, got {len(values)}")
    frequencies, empirical, site = None, False, {"gamma_median": gamma_median}
    for part in components:
        match = MODEL_COMPONENT.match(part)
        if match is None:
            raise ModelSpecificationError(f"model {source!r}: cannot read component {part!r}")
        name, digits, numbers = match.group(1).upper(), match.group(2), match.group(3)
        component = _numbers(numbers, name, source)
        if name == "F" and not digits:
            if numbers is None:
                empirical = True
            elif len(component) != 4:
                raise ModelSpecificationError(f"model {source!r}: +F takes four frequencies, got {len(component)}")
            else:
                frequencies = component
        elif name == "FQ" and not digits and numbers is None:
            frequencies = np.full(4, 0.25)
        elif name == "G":
            if len(component) != 1:
                raise ModelSpecificationError(
                    f"model {source!r}: +G needs its shape as +G{digits or 4}{{alpha}} (parameters are fixed)")
            n_categories = int(digits) if digits else 4
            if not 1 <= n_categories <= MAX_GAMMA_CATEGORIES:
                raise ModelSpecificationError(
                    f"model {source!r}: +G takes 1 to {MAX_GAMMA_CATEGORIES} categories, got {n_categories}")
            site["gamma_shape"] = float(component[0])
            site["n_categories"] = n_categories
        elif name == "I" and not digits:
            if len(component) != 1:
                raise ModelSpecificationError(f"model {source!r}: +I needs its proportion as +I{{p}}")
            site["invariant_proportion"] = float(component[0])
        else:
            raise ModelSpecificationError(f"model {source!r}: unknown component +{part}")
    if base in ("JC", "K80"):
        if empirical or frequencies is not None:
            raise ModelSpecificationError(f"model {source!r}: {base} has equal frequencies; use F81/HKY for +F")
        return JC69(**site) if base == "JC" else K80(values[0], **site)
    # F81/HKY/TN/GTR without +F{...}: empirical frequencies (frequencies=None), as in IQ-TREE
    if base == "F81":
        return F81(frequencies, **site)
    if base == "HKY":
        return HKY85(values[0], frequencies, **site)
    if base == "TN":
        return TN93(values[0], values[1], frequencies, **site)
    return GTR(values, frequencies, **site)
