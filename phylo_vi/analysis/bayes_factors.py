r"""Marginal likelihoods of the most probable topologies, their Bayes factors, and the
posterior-odds consistency check.

For the K most frequent topologies of the sample, :math:`\log p(D \mid \tau)` is estimated by the
estimators of :mod:`phylo_vi.marginal` (default: generalized stepping stone, Fan et al. 2011,
Mol. Biol. Evol. 28:523, at the ``fast`` preset), ``replicates`` times each, on the existing grid
(:func:`phylo_vi.marginal.grid.run_grid`, in process or on Dask). The log Bayes factor of
topology i against the most probable one is :math:`\log B_{i1} = \log \hat Z_i - \log \hat Z_1`,
with standard error :math:`\sqrt{s_i^2 + s_1^2}` (s: the standard error of the replicate mean,
:math:`\mathrm{sd}/\sqrt{R}`; the estimator's own error when R = 1).

Under a uniform prior on topologies (MrBayes' default) the posterior odds equal the Bayes factor,
:math:`p(\tau_i \mid D) / p(\tau_1 \mid D) = B_{i1}`. From the sample, the log posterior odds are
:math:`\log(c_i / c_1)` (counts), with the multinomial delta-method variance
:math:`(1/c_i + 1/c_1)` inflated by the autocorrelation factor :math:`n / \mathrm{ESS}` (the
approximate topological ESS summed over runs). A pair is flagged when the two differ by more
than twice their combined standard error: the sampler, the model used here or the estimator
disagrees with the MCMC.

The same check runs against the SBN-EM-α fit of the sample that ``analyze`` makes
(:mod:`phylo_vi.analysis.topology_model`): log SBN odds :math:`\log(q_i / q_1)`, q the SBN
probabilities, with the standard error of a moving-block bootstrap of the runs' topology sequences
refitted ``sbn_replicates`` times (:func:`~phylo_vi.analysis.topology_model.sbn_odds_bootstrap`, blocks
of n/ESS trees); ``z_sbn`` combines it with the Bayes factor's error. With ``sbn_replicates`` below 2, or
where fewer than two replicates give finite odds, ``log_sbn_odds_se`` is NaN and ``z_sbn`` scales by
the Bayes factor's error alone (it then flags at least as often as a check with both errors would).
Where the sample holds no unrooted topology model (rooted trees, fewer than 4 taxa) the SBN columns
are NaN.

The model defaults to the posterior means of MrBayes' GTR parameters when the ``.p`` files hold
them (``GTR{r…}+F{pi…}``, ``+G4{alpha}`` with a gamma shape), else JC69; the branch-length prior
is Exponential(10), MrBayes' default.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from phylo_vi.errors import PhyloVIError

GTR_RATES = ("r(A<->C)", "r(A<->G)", "r(A<->T)", "r(C<->G)", "r(C<->T)", "r(G<->T)")
FREQUENCIES = ("pi(A)", "pi(C)", "pi(G)", "pi(T)")
DEFAULT_TOP = 3
DEFAULT_METHODS = ("gss",)
DEFAULT_REPLICATES = 2
DEFAULT_SBN_REPLICATES = 20


@dataclass(frozen=True)
class BayesFactorRow:
    """Topology ``rank`` against rank 1 by ``method``: log Bayes factor, log posterior odds, agreement."""

    rank: int
    method: str
    probability: float
    log_marginal: float
    log_marginal_se: float
    log_bayes_factor: float
    log_bayes_factor_se: float
    log_posterior_odds: float
    log_posterior_odds_se: float
    log_sbn_odds: float = math.nan
    log_sbn_odds_se: float = math.nan

    @property
    def z(self) -> float:
        """(log BF − log odds) / combined SE: |z| > 2 flags a disagreement."""
        return _z(self.log_bayes_factor, self.log_bayes_factor_se, self.log_posterior_odds, self.log_posterior_odds_se)

    @property
    def consistent(self) -> bool:
        return self.rank == 1 or not abs(self.z) > 2.0

    @property
    def z_sbn(self) -> float:
        """(log BF − log SBN odds) / combined SE (the SBN odds' error left out when unknown, module docstring)."""
        se = 0.0 if math.isnan(self.log_sbn_odds_se) else self.log_sbn_odds_se
        return _z(self.log_bayes_factor, self.log_bayes_factor_se, self.log_sbn_odds, se)

    @property
    def sbn_consistent(self) -> bool:
        return self.rank == 1 or not abs(self.z_sbn) > 2.0


def _z(log_bayes_factor: float, bayes_factor_se: float, log_odds: float, odds_se: float) -> float:
    scale = math.hypot(bayes_factor_se, odds_se)
    return (log_bayes_factor - log_odds) / scale if scale > 0 else math.nan


COLUMNS = ("rank", "method", "probability", "log_marginal", "log_marginal_se", "log_bayes_factor",
           "log_bayes_factor_se", "log_posterior_odds", "log_posterior_odds_se", "z", "consistent", "log_sbn_odds",
           "log_sbn_odds_se", "z_sbn", "sbn_consistent")


def row_values(row: BayesFactorRow) -> list:
    return [getattr(row, name) for name in COLUMNS]


def model_from_parameters(rows) -> str:
    """IQ-TREE model string of the posterior means of MrBayes' GTR (+G) parameters, else ``JC69``."""
    means = {row.parameter: row.mean for row in rows}
    if not all(name in means for name in GTR_RATES + FREQUENCIES):
        return "JC69"
    rates = [means[name] / means["r(G<->T)"] for name in GTR_RATES]
    frequencies = np.array([means[name] for name in FREQUENCIES])
    frequencies /= frequencies.sum()
    text = "GTR{" + ",".join(f"{r:.6g}" for r in rates[:5]) + "}+F{" + ",".join(f"{f:.6g}" for f in frequencies) + "}"
    if "alpha" in means:
        text += "+G4{" + f"{means['alpha']:.6g}" + "}"
    return text


def sbn_log_odds(topology_model, k: int) -> np.ndarray:
    """log(q_i / q_1) for the K = ``k`` most frequent topologies under the SBN fit (NaN without one)."""
    if topology_model is None:
        return np.full(k, np.nan)
    with np.errstate(divide="ignore"):
        log_q = np.log(topology_model.probabilities[:k])
    return log_q - log_q[0]


def sbn_standard_errors(analysis, k: int, replicates: int, seed: int = 0) -> np.ndarray:
    """Block-bootstrap standard errors of the SBN log odds of the ``k`` most frequent topologies (NaN
    without an SBN fit, per-tree topologies or replicates); blocks of ceil(n_r / ESS_r) trees per run."""
    if analysis.topology_model is None or not analysis.tree_topologies or replicates < 2:
        return np.full(k, np.nan)
    from phylo_vi.analysis.topology_model import sbn_odds_bootstrap

    lengths = []
    for run, sequence in enumerate(analysis.tree_topologies):
        ess = analysis.topological_ess[run] if run < len(analysis.topological_ess) else None
        usable = ess is not None and math.isfinite(ess.ess) and ess.ess > 0
        lengths.append(math.ceil(len(sequence) / ess.ess) if usable else 1)
    return sbn_odds_bootstrap(analysis.topologies, analysis.tree_topologies, lengths, k, replicates, seed)


def _replicate_summary(values: np.ndarray, errors: np.ndarray) -> tuple[float, float]:
    if len(values) > 1:
        return float(values.mean()), float(values.std(ddof=1) / math.sqrt(len(values)))
    return float(values[0]), float(errors[0])


def topology_bayes_factors(analysis, alignment, *, top: int = DEFAULT_TOP, methods: Sequence[str] = DEFAULT_METHODS,
                           replicates: int = DEFAULT_REPLICATES, preset: str = "fast", model: str | None = None,
                           prior_rate: float = 10.0, seed: int = 0, client=None,
                           progress: Callable[[int], None] | None = None,
                           sbn_replicates: int = DEFAULT_SBN_REPLICATES) -> tuple[list[BayesFactorRow], str]:
    """Rows for ranks 1..K and every method (module docstring), and the model string used."""
    from phylo_vi.io import read_alignment
    from phylo_vi.marginal.grid import run_grid
    from phylo_vi.trees.tree import Tree

    if analysis.topologies is None:
        raise PhyloVIError("Bayes factors between topologies need tree files")
    if not 2 <= top:
        raise PhyloVIError(f"--top must be at least 2 to compare topologies, got {top}")
    topologies = analysis.topologies
    k = min(top, topologies.n_topologies)
    if k < 2:
        raise PhyloVIError("the sample holds a single topology: no Bayes factor to compute")
    patterns = read_alignment(alignment).site_patterns()
    trees = []
    for rank in range(k):
        parent, taxon, _ = topologies.shapes[rank]
        trees.append(Tree(parent, np.full(len(parent), 0.1), taxon, topologies.taxa, rooted=False,
                          name=f"rank{rank + 1}"))
    model = model or model_from_parameters(analysis.parameter_rows)
    results = run_grid(patterns, trees, list(methods), n_replicates=replicates, random_state=seed, preset=preset,
                       model=model, prior_rate=prior_rate, client=client, progress=progress)
    counts = topologies.weights[:k]
    n = float(topologies.total_weight)
    ess = [e.ess for e in analysis.topological_ess if e is not None and not math.isnan(e.ess)]
    inflation = max(1.0, n / sum(ess)) if ess else 1.0
    sbn_odds = sbn_log_odds(analysis.topology_model, k)
    sbn_odds_se = sbn_standard_errors(analysis, k, sbn_replicates, seed)
    rows = []
    for method in methods:
        estimates = [_replicate_summary(np.array([r.log_marginal for r in results if r.tree == t and r.method == method]),
                                        np.array([r.standard_error for r in results if r.tree == t
                                                  and r.method == method])) for t in range(k)]
        base, base_se = estimates[0]
        for t in range(k):
            value, se = estimates[t]
            odds_se = math.sqrt((1.0 / counts[t] + 1.0 / counts[0]) * inflation) if t else 0.0
            rows.append(BayesFactorRow(t + 1, method, float(counts[t] / n), value, se, value - base,
                                       math.hypot(se, base_se) if t else 0.0, float(math.log(counts[t] / counts[0])),
                                       odds_se, float(sbn_odds[t]), float(sbn_odds_se[t])))
    return rows, model
