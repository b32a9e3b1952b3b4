"""Tree likelihoods: Felsenstein pruning in Numba with gradients, and a torch twin.

Models (:mod:`~phylo_vi.likelihood.models`, :mod:`~phylo_vi.likelihood.model_string`)::

    model = parse_model("GTR{0.73,1.11,0.65,1.88,3.33}+F{0.234,0.257,0.28,0.229}+G4{0.11}")
    model = HKY85(2.0, [0.3, 0.2, 0.2, 0.3], gamma_shape=0.5, n_categories=4)   # same family
    # classes: JC69, K80, F81, HKY85, TN93, GTR (all SubstitutionModel); +G mean (default) or
    # median rates (gamma_median=True), +I (invariant_proportion), "+F" alone = empirical
    # frequencies, resolved from the alignment (IQ-TREE's EM, frequencies.empirical_frequencies).

Likelihood object (:mod:`~phylo_vi.likelihood.tree_likelihood`); branch ``i`` is the branch
above post-order node ``i`` (nodes ``0 .. n_nodes - 2``), the convention of
``Tree.branch_length[:-1]``; ``branch_lengths=None`` means the tree's own lengths::

    lik = TreeLikelihood(patterns, tree, "JC", threads=1)   # patterns: alignment.SitePatterns
    # site_repeats=True (default): subtrees with few distinct columns are evaluated once per
    # site class (likelihood.site_repeats); same values, 1.5-3.5x faster on the benchmark data
    lik.log_likelihood(t=None)            -> float
    lik.gradient(t=None)                  -> (log L, d log L / dt (B,))
    lik.hessian_diagonal(t=None)          -> d^2 log L / dt^2 (B,)
    lik.derivatives(t=None)               -> (log L, gradient, Hessian diagonal)
    lik.gamma_shape_derivative(t=None)    -> d log L / d alpha (+G models)
    lik.exchangeability_gradient(t=None)  -> d log L / d(AC, AG, AT, CG, CT), GT = 1
    lik.transition_gradient(t=None)       -> (log L, d log L / d P (B, K, 4, 4), d log L / d root pi (4,),
                                              share of +I in each pattern's L (P,)): one pruning pass
    lik.pattern_log_likelihoods(t=None)   -> log L of each site pattern (P,)
    lik.log_likelihood_batch(T (S, B))    -> (S,)
    lik.gradient_batch(T (S, B))          -> ((S,), (S, B))
    lik.clade_labels()                    -> tip names below each branch, "a|b|c"
    log_likelihood_trees(patterns, trees, model) -> (n_trees,)  many topologies, one kernel call
    lik.optimize("HKY+I+G4")              -> MaximumLikelihoodFit: ML branch lengths and the free
        # parameters of an IQ-TREE string (values given stay fixed); .log_likelihood, .tree,
        # .model_string, .criteria (AIC/AICc/BIC), .standard_errors()  (likelihood.optimize;
        # several models ranked by BIC: likelihood.model_selection.compare_models)

Numba-callable kernels (:mod:`~phylo_vi.likelihood.kernels`), for loops compiled by Numba that
must not return to Python. ``lik.plan`` is a :class:`~phylo_vi.likelihood.plan.Plan`, a named
tuple of arrays read by field name (``plan.rates``; fields in :mod:`~phylo_vi.likelihood.plan`;
it holds its own work buffers, so one plan must not be used by two threads at once)::

    from phylo_vi.likelihood.kernels import gradient_workspace, plan_log_likelihood, plan_gradient
    plan = lik.plan
    @njit
    def mcmc_step(plan, t):
        work = gradient_workspace(plan)                          # allocate once, outside hot loops
        log_l = plan_log_likelihood(plan, t)                     # t: float64 (B,), C-contiguous
        log_l = plan_gradient(plan, t, work.gradient, work.hessian, work.category_gradient, False)
        # gradient (B,), hessian (B,) (filled when the last argument is True),
        # category_gradient (B, K) = d log L / d(r_k t).
    # also: plan_log_likelihood_batch(plan, T (S, B), out (S,)), plan_gradient_batch(plan, T, out, grads),
    # plan_pattern_log_likelihoods(plan, t, out (P,)) -> weighted total, out = log L of each pattern
    # another model, same topology and buffers: plan = with_model(plan, new_model)
    # threads: TreeLikelihood(..., threads=N) builds N work buffers; plan_log_likelihood_threads,
    # plan_gradient_threads and plan_log_likelihood_batch_threads spread blocks / samples over them.
    # Numba caches do not notice edits to this package: after upgrading phylo_vi, clear the
    # __pycache__ of modules whose cached kernels call these functions.

Single-branch updates for MCMC (:mod:`~phylo_vi.likelihood.branch_updates`): a cache of the
partials below and above every branch, so that a proposal on one branch costs one pass over the
patterns instead of a full pruning; all Numba-callable::

    cache = build_branch_cache(lik.plan, t)          # a BranchCache named tuple; one per chain
    log_l = branch_log_likelihood(cache, c, new_t)   # log L with branch c at new_t, others cached
    accept_branch(cache, c, new_t)                   # make it the current state (lazy invalidation)
    reset_branch_lengths(cache, t2); cached_log_likelihood(cache); cache.branch_lengths  # current t

Torch twin (:mod:`~phylo_vi.likelihood.torch_backend`): ``TorchTreeLikelihood(patterns, tree,
model, device=..., dtype=torch.float64)`` with ``log_likelihood(t, exchangeabilities=None,
frequencies=None)`` for ``t`` of shape (B,) or (S, B), differentiable (autograd) in the branch
lengths and, when passed as tensors, in the exchangeabilities and frequencies.
The tests use it as the reference for the analytic model derivatives.

Simulated data (:mod:`~phylo_vi.likelihood.simulate`) for tests and benchmarks:
``random_join_tree(n_taxa, random_state)`` and ``simulate_patterns(tree, model, n_sites, random_state)``.

References: Felsenstein (1981) J. Mol. Evol. 17:368 (pruning); Yang (1994) J. Mol. Evol. 39:306
(discrete gamma); Ji et al. (2020) Mol. Biol. Evol. 37:3047 (linear-time gradient).
"""
from phylo_vi.likelihood.frequencies import empirical_frequencies
from phylo_vi.likelihood.gamma import gamma_category_rates, gamma_category_rates_derivative
from phylo_vi.likelihood.model_string import parse_model
from phylo_vi.likelihood.models import F81, GTR, HKY85, JC69, K80, TN93, SubstitutionModel
from phylo_vi.likelihood.plan import Plan, build_plan, with_model
from phylo_vi.likelihood.topologies import log_likelihood_trees
from phylo_vi.likelihood.tree_likelihood import TreeLikelihood, resolve_model

__all__ = [
    "SubstitutionModel", "JC69", "K80", "F81", "HKY85", "TN93", "GTR", "parse_model", "empirical_frequencies",
    "gamma_category_rates", "gamma_category_rates_derivative", "TreeLikelihood", "resolve_model", "Plan", "build_plan",
    "with_model", "log_likelihood_trees",
]
