"""Variational-inference core in torch: bounds, gradient estimators, flows, GECO, permutations.

Device- and dtype-agnostic: every new tensor takes the device and dtype of its inputs, and all
randomness comes from an explicit ``torch.Generator``. One method per module:

Bounds and estimators for continuous latents
    ``elbo`` (reparameterised ELBO, analytic-KL option), ``iwae`` (IWAE bound, DReG),
    ``jackknife`` (jackknife VI), ``vimco`` (VIMCO), ``rws`` (reweighted wake-sleep).
Discrete gradient estimators
    ``score_function`` (REINFORCE with moving-average / leave-one-out baselines),
    ``concrete`` (Gumbel-softmax / ExpConcrete in log space, straight-through),
    ``sum_and_sample`` (Rao-Blackwellised sum-and-sample), ``gumbel_top_k`` (sampling without
    replacement), ``unordered_set`` (unordered-set estimator with built-in baseline),
    ``sequential`` (generic sequential discrete model: ancestral sampling, stochastic beam
    search, teacher-forced scoring), ``sequential_sum_and_sample`` (beam search and exact
    sampling outside a set of sequences, for sum-and-sample over a sequential model).
Flows
    ``flows`` (planar, radial, RealNVP coupling; ``FlowDistribution``).
Constraints
    ``geco`` (GECO Lagrange-multiplier wrapper).
Permutations
    ``permutations`` (log-space Sinkhorn, Gumbel-Sinkhorn, Hungarian matching, Birkhoff
    stick-breaking and rounding).
Bayesian layers
    ``bayesian_layers`` (local reparameterisation, sparse variational dropout, Bayes by Backprop).
Diagnostics
    ``toy_problems`` and ``estimator_comparison`` (the ``phylo-vi vi compare-estimators`` report).

Import from the submodules, e.g. ``from phylo_vi.vi.unordered_set import unordered_set_surrogate``.
"""
