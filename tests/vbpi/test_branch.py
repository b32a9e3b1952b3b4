"""Branch-length families: PSP feature rows, the initial σ, and the planar-flow density (change of variables)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from phylo_vi.vbpi.branch import (INITIAL_LOG_STD, LOG_BRANCH_OFFSET, LogNormalBranchModel, PlanarFlowBranchModel,
                                  primary_subsplit_rows)


def test_primary_subsplit_pairs_are_the_pcsps_under_a_root_split(five_taxa, full_support):
    # a 5-taxon PCSP's parent is a root split iff its two clades cover the 5 taxa (definition, VBPI §3.2)
    rows = primary_subsplit_rows(full_support, 5)
    clades = full_support.clades[:, 0]
    sister = clades[full_support.parent_sister[full_support.pcsp_parent]]
    focal = clades[full_support.parent_focal[full_support.pcsp_parent]]
    np.testing.assert_array_equal(rows >= 0, (sister | focal) == np.uint64(0b11111))
    assert sorted(rows[rows >= 0]) == list(range(len(full_support.root_splits), len(full_support.root_splits)
                                                 + int((rows >= 0).sum())))


@pytest.mark.parametrize("psp", [True, False])
def test_initial_log_std_shifts_every_edge_once_from_the_reference_initialisation(full_support, sampled, psp):
    # reference: vbpi-torch's Xavier initialisation (initial_log_std = 0) from the same generator; the
    # shift sits on the split row only, so each edge's log σ moves by it exactly once and μ not at all
    def initial(shift):
        model = LogNormalBranchModel(full_support, 5, psp=psp, initial_log_std=shift,
                                     generator=torch.Generator().manual_seed(4))
        return model.mean_log_std(sampled)
    reference_mean, reference_log_std = initial(0.0)
    mean, log_std = initial(INITIAL_LOG_STD)
    torch.testing.assert_close(mean, reference_mean, rtol=0, atol=0)
    torch.testing.assert_close(log_std - reference_log_std, torch.full_like(log_std, INITIAL_LOG_STD),
                               rtol=0, atol=1e-12)


@pytest.fixture
def planar(full_support):
    return PlanarFlowBranchModel(full_support, 5, n_layers=4, generator=torch.Generator().manual_seed(3))


def test_planar_log_density_matches_the_jacobian_determinant(planar, sampled):
    # reference: log |det ∂z_L/∂z_0| from the full autograd Jacobian of the flow, tree by tree
    noise = torch.tensor(np.random.default_rng(0).standard_normal((len(sampled), sampled.n_edges)))
    mean, log_std = planar.mean_log_std(sampled)
    base = (mean + log_std.exp() * noise).detach()
    _, log_det = planar.flow(sampled, base)
    for row in range(0, len(sampled), 7):
        def one_tree(z):
            out = base.clone()
            out[row] = z
            return planar.flow(sampled, out)[0][row]
        jacobian = torch.autograd.functional.jacobian(one_tree, base[row])
        assert float(log_det[row].detach()) == pytest.approx(float(torch.linalg.slogdet(jacobian)[1]), abs=1e-10)


def test_planar_sample_is_the_base_draw_pushed_through_the_flow(planar, sampled):
    noise = torch.tensor(np.random.default_rng(1).standard_normal((len(sampled), sampled.n_edges)))
    log_branch, log_q = planar.sample(sampled, noise)
    mean, log_std = planar.mean_log_std(sampled)
    flowed, log_det = planar.flow(sampled, mean + log_std.exp() * noise)
    base_log_q = torch.distributions.Normal(mean, log_std.exp()).log_prob(mean + log_std.exp() * noise).sum(-1)
    torch.testing.assert_close(log_branch, flowed + LOG_BRANCH_OFFSET)
    torch.testing.assert_close(log_q, base_log_q - log_det)
