"""Variational autoencoders on the VI core of :mod:`phylo_vi.vi` (torch; any device and dtype).

One job per module:

``networks``            MLP encoders: Gaussian ``(mean, log_scale)`` and discrete logits.
``likelihoods``         decoders p(x | z) for Bernoulli, Gaussian and categorical data.
``discrete_latents``    categorical and Bernoulli latents as flat categoricals, with Concrete relaxations.
``discrete_objectives`` the discrete estimators (REINFORCE, leave-one-out, sum-and-sample, unordered
                        set, VIMCO, RWS, Gumbel-softmax, straight-through, exact) as VAE losses.
``gaussian_objectives`` reparameterised ELBO (MC or analytic KL), IWAE and DReG.
``kl_weighting``        ELBO, beta-annealing and GECO combinations of reconstruction and KL.
``training``            the training loop (progress, seed, checkpoints, held-out evaluation).
``models``              :class:`DiscreteVAE` and :class:`GaussianVAE` in the estimator style.
``digits``              scikit-learn's 8x8 digits, binarised (needs the ``benchmarks`` extra).
``comparison``          every discrete estimator trained on the digits at equal decoder evaluations,
                        and GECO against beta-annealing (``phylo-vi vi compare-estimators --problem vae-digits``).
``clonal``              the clonal-genotype VAE for single-cell mutation matrices (``phylo-vi genotype clones``).
``clustering``          adjusted Rand index.

Import from the submodules, e.g. ``from phylo_vi.vi.vae.models import DiscreteVAE``.
"""
