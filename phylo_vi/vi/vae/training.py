"""The VAE training loop: minibatches, Adam, separate model and guide losses, progress,
held-out evaluation, a decoder-evaluation counter and checkpoints.

Each step draws a minibatch (a fresh permutation every epoch, from the run's generator), asks
``step_losses(batch, step)`` for the scalar :class:`~phylo_vi.vi.vae.discrete_objectives.Surrogates`
and applies the gradient of ``model`` to the model parameters only and of ``guide`` to the guide
parameters only (they differ for RWS and DReG), then one Adam step (Kingma & Ba 2015).
Wall time excludes evaluation and checkpointing. Checkpoints hold the module's and optimiser's
state, the generator state and the step; they are written atomically, and ``resume=True``
continues an interrupted run from the file.

References
----------
1. Kingma, D. P. & Ba, J. (2015). Adam: a method for stochastic optimization. ICLR.
"""
from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import torch
from torch import Tensor, nn
from tqdm import tqdm

from phylo_vi.util.atomic import atomic_write
from phylo_vi.vi.vae.discrete_objectives import Surrogates
from phylo_vi.vi.vae.errors import VAEConfigurationError

__all__ = ["TrainingHistory", "train_vae", "save_checkpoint", "load_checkpoint"]


@dataclass
class TrainingHistory:
    """Evaluation points of a run: step, cumulative decoder evaluations, training seconds, results."""

    step: list[int] = field(default_factory=list)
    decoder_evaluations: list[int] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    evaluation: list[dict] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"step": self.step, "decoder_evaluations": self.decoder_evaluations, "seconds": self.seconds,
                "evaluation": self.evaluation}


def save_checkpoint(path: str | Path, module: nn.Module, optimizer: torch.optim.Optimizer, step: int,
                    generator: torch.Generator) -> None:
    """Write the training state atomically."""
    state = {"step": step, "module": module.state_dict(), "optimizer": optimizer.state_dict(),
             "generator": generator.get_state()}
    with atomic_write(path, "wb") as handle:
        torch.save(state, handle)


def load_checkpoint(path: str | Path, module: nn.Module, optimizer: torch.optim.Optimizer | None = None,
                    generator: torch.Generator | None = None) -> int:
    """Restore a checkpoint into ``module`` (and optimiser and generator); return its step."""
    state = torch.load(path, map_location="cpu", weights_only=True)
    module.load_state_dict(state["module"])
    if optimizer is not None:
        optimizer.load_state_dict(state["optimizer"])
    if generator is not None:
        generator.set_state(state["generator"])
    return int(state["step"])


def _apply_gradients(surrogates: Surrogates, model_parameters: Sequence[Tensor],
                     guide_parameters: Sequence[Tensor]) -> None:
    if surrogates.model is surrogates.guide:
        surrogates.model.backward()
        return
    for loss, parameters, retain in ((surrogates.model, model_parameters, True),
                                     (surrogates.guide, guide_parameters, False)):
        if not parameters:
            continue
        gradients = torch.autograd.grad(loss, parameters, retain_graph=retain, allow_unused=True)
        for parameter, gradient in zip(parameters, gradients):
            if gradient is not None:
                parameter.grad = gradient if parameter.grad is None else parameter.grad + gradient


def train_vae(step_losses: Callable[[Tensor, int], Surrogates], data: Tensor, *, module: nn.Module,
              model_parameters: Sequence[Tensor], guide_parameters: Sequence[Tensor], n_steps: int,
              batch_size: int, learning_rate: float, generator: torch.Generator, evaluations_per_datum: int,
              evaluate: Callable[[], dict] | None = None, eval_every: int = 0,
              checkpoint_path: str | Path | None = None, checkpoint_every: int = 0, resume: bool = False,
              progress: bool = False, description: str = "training") -> TrainingHistory:
    """Optimise ``module`` for ``n_steps`` minibatch steps; return the evaluation history.

    ``evaluate()`` (no gradient) runs before the first step, every ``eval_every`` steps and after
    the last; ``evaluations_per_datum`` is the decoder evaluations one datum's estimate costs.
    """
    if n_steps < 0 or batch_size < 1:
        raise VAEConfigurationError("n_steps must be >= 0 and batch_size >= 1")
    n_data = data.shape[0]
    batch_size = min(batch_size, n_data)
    parameters = list(model_parameters) + list(guide_parameters)
    optimizer = torch.optim.Adam(parameters, lr=learning_rate)
    start_step = 0
    if resume and checkpoint_path is not None and Path(checkpoint_path).exists():
        start_step = load_checkpoint(checkpoint_path, module, optimizer, generator)
    history = TrainingHistory()
    seconds = 0.0

    def record(step: int) -> None:
        if evaluate is None:
            return
        with torch.no_grad():
            result = evaluate()
        history.step.append(step)
        history.decoder_evaluations.append(step * batch_size * evaluations_per_datum)
        history.seconds.append(seconds)
        history.evaluation.append(result)

    record(start_step)
    order = torch.randperm(n_data, generator=generator, device=generator.device).to(data.device)
    position = 0
    with tqdm(total=n_steps, initial=start_step, disable=not progress, file=sys.stderr, desc=description) as bar:
        for step in range(start_step + 1, n_steps + 1):
            began = time.perf_counter()
            if position + batch_size > n_data:
                order = torch.randperm(n_data, generator=generator, device=generator.device).to(data.device)
                position = 0
            batch = data[order[position:position + batch_size]]
            position += batch_size
            optimizer.zero_grad(set_to_none=True)
            _apply_gradients(step_losses(batch, step), model_parameters, guide_parameters)
            optimizer.step()
            seconds += time.perf_counter() - began
            bar.update()
            if eval_every and step % eval_every == 0 and step != n_steps:
                record(step)
            if checkpoint_path is not None and checkpoint_every and step % checkpoint_every == 0:
                save_checkpoint(checkpoint_path, module, optimizer, step, generator)
    if n_steps > start_step:
        record(n_steps)
    if checkpoint_path is not None:
        save_checkpoint(checkpoint_path, module, optimizer, n_steps, generator)
    return history
