"""Numba kernels: Felsenstein pruning by pattern blocks, with gradients (Ji et al. 2020).

This module is the facade of the engine; the kernels live in one module per job:
:mod:`~phylo_vi.likelihood.transition` (transition matrices), :mod:`~phylo_vi.likelihood.messages`
(messages of one branch, site-class messages), :mod:`~phylo_vi.likelihood.postorder` (partials and
log-likelihood of a block, scaling), :mod:`~phylo_vi.likelihood.preorder` (gradient and Hessian of a
block) and :mod:`~phylo_vi.likelihood.evaluation` (the plan API below, threads, the entry point from
Python). Every function named here is ``@njit`` and callable from other Numba code. The public
entry points take a *plan*, the :class:`~phylo_vi.likelihood.plan.Plan` (a named tuple of arrays)
built by :func:`phylo_vi.likelihood.plan.build_plan` (its fields are documented there), and a
branch-length vector ``t`` (n_nodes - 1,), where ``t[i]`` is the branch above post-order node ``i``:

- :func:`plan_log_likelihood` (plan, t) -> float
- :func:`plan_gradient` (plan, t, gradient, hessian, category_gradient, with_hessian) -> float, the
  three output buffers from :func:`gradient_workspace` (plan)
- :func:`plan_log_likelihood_batch` (plan, t (S, n_nodes - 1), out (S,)) -> None
- :func:`plan_pattern_log_likelihoods` (plan, t, out (P,)) -> float (per-pattern log L in out)

Shapes: nodes N (post-order, root last), patterns P, categories K, states 4; a block holds
``block`` patterns. Partials are laid out states-by-patterns, ``(K, 4, block)`` per node, so
the pattern loops are contiguous and vectorise (AVX2 FMA); a block of patterns runs through
the whole tree while its partials, in a few reused slots, stay in cache.

**Pruning** (Felsenstein 1981, J. Mol. Evol. 17:368): the message a child c sends up its branch
is ``m_c = P(r_k t_c) p_c``; the partial of node u is the product of its children's messages;
``L_p = sum_k w_k sum_i pi_i p_root[k, i] + p_inv * [pattern constant]``. Leaves start from
their tip partials (1 for every state the IUPAC code allows; missing data = all ones).

**Site repeats** (Kobert, Flouri & Stamatakis 2017, Syst. Biol. 66:205): a plan may carry
site classes (:mod:`phylo_vi.likelihood.site_repeats`). An evaluation then first computes the
message of every class of every compact subtree (:func:`class_messages`, class-major, one pass
over the classes instead of the patterns) and prunes by blocks only the dense nodes near the
root, which read a compact child's message through the pattern's class. The gradient (without
the Hessian) does the same in its post-order and finishes compact subtrees per
class from the weighted pre-order partials summed by class
(:func:`~phylo_vi.likelihood.preorder.class_gradients`). A block
that needs rescaling prunes every node per pattern (and the gradient starts over without classes).

**Scaling.** A block is first pruned without any rescaling. Every node's partial is bounded
below by the site likelihood (``L_p <= max_i p_v[i]`` for every node v, since transition rows
sum to one), so when every ``L_p >= 1e-280`` no partial has underflowed and the result is exact.
Only when a site falls below that threshold is the block pruned again, rescaling every internal
partial by its maximum and accumulating the logarithms: scaling costs nothing unless needed.

**Gradient** (Ji et al. 2020, Mol. Biol. Evol. 37:3047, eqs. 6-10): one post-order pass keeps
the messages ``m_c``; one pre-order pass computes ``qt_c = q_u * prod_{s != c} m_s`` (the
pre-order partial above branch c, ``q_root = pi``) and ``q_c = P_c^T qt_c``. Then for every branch
``dL_k/d tau = qt_c^T Q m_c`` and ``d^2 L_k/d tau^2 = qt_c^T Q^2 m_c`` (``dP/dtau = Q P``), with
``tau = r_k t``. In a rescaled block, dividing by ``qt_c^T m_c`` (= the tree part of ``L_p`` in
the same scale) makes the ratio independent of the rescaling, so the pre-order partials need no
scale bookkeeping; in an unscaled block the root's value is that denominator.
"""
from phylo_vi.likelihood.evaluation import (BATCH, BATCH_GRADIENT, GRADIENT, LOG_LIKELIHOOD, PATTERNS, TOPOLOGIES,
                                            TOPOLOGY_GRADIENTS, GradientWorkspace, evaluate, gradient_workspace,
                                            n_blocks, plan_gradient, plan_gradient_batch, plan_gradient_threads,
                                            plan_log_likelihood, plan_log_likelihood_batch,
                                            plan_log_likelihood_batch_threads, plan_log_likelihood_threads,
                                            plan_pattern_log_likelihoods, valid_lengths)
from phylo_vi.likelihood.messages import class_messages
from phylo_vi.likelihood.postorder import SCALING_THRESHOLD
from phylo_vi.likelihood.transition import matrix_entries, square_entries, transition_matrices

__all__ = [
    "LOG_LIKELIHOOD", "GRADIENT", "BATCH", "BATCH_GRADIENT", "TOPOLOGIES", "TOPOLOGY_GRADIENTS", "PATTERNS",
    "GradientWorkspace",
    "evaluate", "gradient_workspace", "n_blocks", "plan_gradient", "plan_gradient_batch", "plan_gradient_threads",
    "plan_log_likelihood", "plan_log_likelihood_batch", "plan_log_likelihood_batch_threads",
    "plan_log_likelihood_threads", "plan_pattern_log_likelihoods", "valid_lengths", "class_messages",
    "SCALING_THRESHOLD", "matrix_entries", "square_entries", "transition_matrices",
]
