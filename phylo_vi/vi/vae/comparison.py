"""Discrete gradient estimators compared where they are used: training a categorical VAE.

The small-domain experiment of Kool et al. (2020, §6.3) at 8x8 scale: binarised scikit-learn
digits (:mod:`phylo_vi.vi.vae.digits`), one categorical latent with ``n_categories`` values, a
one-hidden-layer MLP encoder and decoder, Adam. Every estimator of
:mod:`phylo_vi.vi.vae.discrete_objectives` gets the same budget of decoder evaluations:
``n_samples`` per datum and step for the sampling estimators, and proportionally fewer steps for
``exact`` (``n_categories`` evaluations per datum). Reported:

* held-out ``-ELBO`` and ``-log p(x)``, both exact by enumeration, against cumulative decoder
  evaluations and training wall time;
* gradient variance (trace of the covariance, encoder and decoder separately) and squared bias
  against the exact gradient, on a fixed held-out minibatch, at fixed checkpoints of one
  reference run (trained with ``exact``), so every estimator is measured at the same parameters.

And GECO against beta-annealing on a Gaussian VAE of the same data
(:func:`compare_kl_weightings`): held-out reconstruction per pixel, whether it meets GECO's
target (a fraction of the ELBO run's reconstruction error), and the KL paid for it.

:func:`run_vae_digits` does both and returns one JSON-ready document;
:func:`write_vae_digits_report` writes PREFIX.tsv, PREFIX.html and PREFIX.json (:func:`digits_report_paths`).

References
----------
1. Kool, W., van Hoof, H. & Welling, M. (2020). Estimating gradients for discrete random
   variables by sampling without replacement. ICLR.
2. Rezende, D. J. & Viola, F. (2018). Taming VAEs. arXiv:1810.00597.
"""
from __future__ import annotations

import json
import math
import tempfile
import time
from pathlib import Path
from typing import Callable, Mapping, Sequence

import numpy as np
import torch

from phylo_vi.util.atomic import atomic_write
from phylo_vi.vi.vae.digits import load_binarised_digits
from phylo_vi.vi.vae.discrete_objectives import DISCRETE_ESTIMATORS, Surrogates
from phylo_vi.vi.vae.errors import VAEConfigurationError
from phylo_vi.vi.vae.gradient_variance import gradient_moments, gradient_samples
from phylo_vi.vi.vae.models import DiscreteVAE, GaussianVAE

__all__ = ["compare_discrete_estimators", "compare_kl_weightings", "compare_on_digits", "digits_markdown_table",
           "digits_report_paths", "run_vae_digits", "write_vae_digits_report", "TABLE_HEADER"]

TABLE_HEADER = ("estimator", "decoder_evaluations", "steps", "seconds", "heldout_neg_elbo",
                "heldout_neg_log_marginal", "encoder_gradient_variance_first", "encoder_gradient_variance_last",
                "decoder_gradient_variance_last")


def _discrete_vae(estimator: str, n_steps: int, settings: dict, seed: int) -> DiscreteVAE:
    return DiscreteVAE(latent="categorical", latent_size=settings["n_categories"], hidden=settings["hidden"],
                       estimator=estimator, n_samples=settings["n_samples"], n_steps=n_steps,
                       batch_size=settings["batch_size"], learning_rate=settings["learning_rate"],
                       eval_every=max(1, n_steps // settings["n_evaluation_points"]), device=settings["device"],
                       dtype=settings["dtype"], random_state=seed)


def _checkpoint_gradients(settings: dict, estimators: Sequence[str], x_train: np.ndarray, x_batch: np.ndarray,
                          seed: int) -> list[dict]:
    """Gradient moments of every estimator at the checkpoints of a reference run (``exact``)."""
    n_checkpoints = settings["n_checkpoints"]
    total_steps = _steps("exact", settings)
    results = []
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "reference.pt"
        for index in range(n_checkpoints):
            steps = round(total_steps * index / max(1, n_checkpoints - 1))
            reference = _discrete_vae("exact", steps, settings, seed)
            reference.checkpoint_path, reference.resume = path, True
            reference.eval_every = 0
            reference.fit(x_train)
            batch = reference._as_data(x_batch)
            groups = {"model": list(reference.decoder_.parameters()), "encoder": list(reference.encoder_.parameters())}
            exact = gradient_samples(lambda: _means(reference, batch, "exact", None), groups, 1)
            entry = {"step": steps, "decoder_evaluations": steps * settings["batch_size"] * settings["n_categories"],
                     "estimators": {}}
            generator = torch.Generator(device=reference.device_).manual_seed(seed + 1000 + index)
            for name in estimators:
                draws = 2 if name == "exact" else settings["n_gradient_repeats"]
                samples = gradient_samples(lambda: _means(reference, batch, name, generator), groups, draws)
                entry["estimators"][name] = {
                    "encoder": gradient_moments(samples["encoder"], exact["encoder"][0]),
                    "decoder": gradient_moments(samples["model"], exact["model"][0])}
            results.append(entry)
    return results


def _means(model: DiscreteVAE, batch: torch.Tensor, estimator: str, generator) -> Surrogates:
    per_datum = model.surrogates(batch, generator, estimator=estimator)
    loss = per_datum.model.mean()
    return Surrogates(loss, loss if per_datum.guide is per_datum.model else per_datum.guide.mean())


def _steps(estimator: str, settings: dict) -> int:
    """Steps giving every estimator the same decoder evaluations as ``n_steps`` sampling steps."""
    if estimator == "exact":
        return max(1, round(settings["n_steps"] * settings["n_samples"] / settings["n_categories"]))
    return settings["n_steps"]


def compare_discrete_estimators(settings: dict, x_train: np.ndarray, x_heldout: np.ndarray, *,
                                estimators: Sequence[str], seed: int,
                                on_done: Callable[[str], None] | None = None) -> dict:
    """Train one categorical VAE per estimator; curves, final scores and checkpoint gradients."""
    runs = []
    for name in estimators:
        began = time.perf_counter()
        model = _discrete_vae(name, _steps(name, settings), settings, seed).fit(x_train, x_heldout=x_heldout)
        history = model.history_
        runs.append({
            "estimator": name, "steps": model.n_steps, "decoder_evaluations": history.decoder_evaluations,
            "seconds": history.seconds, "heldout_neg_elbo": [-e["elbo"] for e in history.evaluation],
            "heldout_neg_log_marginal": [-e["log_marginal"] for e in history.evaluation],
            "train_neg_elbo": float(-model.elbo(x_train).mean()), "wall_seconds": time.perf_counter() - began})
        if on_done is not None:
            on_done(name)
    batch = x_heldout[:settings["batch_size"]]
    checkpoints = _checkpoint_gradients(settings, estimators, x_train, batch, seed)
    if on_done is not None:
        on_done("gradient variance")
    return {"runs": runs, "checkpoints": checkpoints}


def compare_kl_weightings(settings: dict, x_train: np.ndarray, x_heldout: np.ndarray, *, seed: int,
                          on_done: Callable[[str], None] | None = None) -> dict:
    """Gaussian VAE trained with the ELBO, beta-annealing and GECO; held-out reconstruction and KL.

    GECO's targets are fractions ``geco_target_fractions`` of the held-out reconstruction error
    (nats per pixel) the ELBO run reaches: "reconstruct 10% better than the ELBO does; what KL
    does that cost, and is the constraint met?"
    """
    runs = []
    plans = [("elbo", None), ("beta-annealing", None)] + [("geco", f) for f in settings["geco_target_fractions"]]
    for weighting, fraction in plans:
        target = None if fraction is None else fraction * runs[0]["heldout_reconstruction_per_pixel"]
        model = GaussianVAE(n_latent=settings["gaussian_latent"], hidden=settings["hidden"],
                            objective="elbo-analytic", kl_weighting=weighting,
                            warmup_steps=max(1, settings["gaussian_steps"] // 2), reconstruction_target=target,
                            geco_step_size=settings["geco_step_size"], n_steps=settings["gaussian_steps"],
                            batch_size=settings["batch_size"], learning_rate=settings["learning_rate"],
                            eval_every=max(1, settings["gaussian_steps"] // settings["n_evaluation_points"]),
                            device=settings["device"], dtype=settings["dtype"], random_state=seed)
        model.fit(x_train, x_heldout=x_heldout)
        final = model.history_.evaluation[-1]
        generator = torch.Generator(device=model.device_).manual_seed(seed)
        with torch.no_grad():
            terms = model.terms(model._as_data(x_heldout), 16, generator)
        reconstruction_per_pixel = float(-terms.reconstruction.mean()) / x_heldout.shape[1]
        runs.append({
            "weighting": weighting if fraction is None else f"geco {fraction:g}", "target_per_pixel": target,
            "heldout_reconstruction_per_pixel": reconstruction_per_pixel, "heldout_kl": float(terms.kl.mean()),
            "heldout_neg_elbo": float((terms.kl - terms.reconstruction).mean()),
            "meets_target": None if target is None else reconstruction_per_pixel <= target,
            "final_multiplier": final.get("multiplier"), "history": model.history_.as_dict()})
        if on_done is not None:
            on_done(weighting)
    return {"runs": runs}


DEFAULT_SETTINGS = {
    "n_categories": 10, "n_samples": 4, "hidden": (64,), "n_steps": 1500, "batch_size": 64, "learning_rate": 3e-3,
    "n_evaluation_points": 15, "n_checkpoints": 4, "n_gradient_repeats": 50, "gaussian_latent": 2,
    "gaussian_steps": 1500, "geco_target_fractions": (0.9, 0.8), "geco_step_size": 1e-3,
}


def run_vae_digits(*, seed: int = 0, estimators: Sequence[str] | None = None, device: str = "cpu",
                   dtype: torch.dtype = torch.float64, progress: Callable[[str], None] | None = None,
                   **overrides) -> dict:
    """The whole ``vae-digits`` comparison; keyword ``overrides`` replace :data:`DEFAULT_SETTINGS`."""
    unknown = set(overrides) - set(DEFAULT_SETTINGS)
    if unknown:
        raise VAEConfigurationError(f"unknown vae-digits setting(s) {', '.join(sorted(unknown))}")
    names = list(DISCRETE_ESTIMATORS) if not estimators else list(dict.fromkeys(estimators))
    bad = [name for name in names if name not in DISCRETE_ESTIMATORS]
    if bad:
        raise VAEConfigurationError(f"unknown estimator(s) {', '.join(bad)}; "
                                    f"choose from {', '.join(DISCRETE_ESTIMATORS)}")
    settings = {**DEFAULT_SETTINGS, **overrides, "device": device, "dtype": dtype}
    x_train, x_heldout = load_binarised_digits(seed=seed)
    began = time.perf_counter()
    discrete = compare_discrete_estimators(settings, x_train, x_heldout, estimators=names, seed=seed, on_done=progress)
    weightings = compare_kl_weightings(settings, x_train, x_heldout, seed=seed, on_done=progress)
    public = {k: (list(v) if isinstance(v, tuple) else v) for k, v in settings.items() if k not in ("dtype", "device")}
    return {"problem": "vae-digits", "seed": seed, "device": str(device), "dtype": str(dtype).replace("torch.", ""),
            "n_train": int(x_train.shape[0]), "n_pixels": int(x_train.shape[1]),
            "n_heldout": int(x_heldout.shape[0]), "settings": public,
            "discrete_estimators": discrete, "kl_weighting": weightings, "seconds": time.perf_counter() - began}


def table_rows(document: dict) -> list[list]:
    """One row per estimator (final held-out scores, first and last checkpoint variances)."""
    checkpoints = document["discrete_estimators"]["checkpoints"]
    rows = []
    for run in document["discrete_estimators"]["runs"]:
        name = run["estimator"]
        first = checkpoints[0]["estimators"][name] if checkpoints else None
        last = checkpoints[-1]["estimators"][name] if checkpoints else None
        rows.append([name, run["decoder_evaluations"][-1], run["steps"], run["seconds"][-1],
                     run["heldout_neg_elbo"][-1], run["heldout_neg_log_marginal"][-1],
                     first["encoder"]["variance"] if first else math.nan,
                     last["encoder"]["variance"] if last else math.nan,
                     last["decoder"]["variance"] if last else math.nan])
    return rows


def digits_report_paths(prefix: str | Path) -> dict[str, Path]:
    """``PREFIX.tsv`` (estimator table), ``PREFIX.html`` (tables and plots) and ``PREFIX.json``."""
    return {key: Path(f"{prefix}.{key}") for key in ("tsv", "html", "json")}


def write_vae_digits_report(paths: Mapping[str, Path], document: dict) -> None:
    """Write the table, the HTML report and the JSON document to ``paths`` (see :func:`digits_report_paths`)."""
    from phylo_vi.vi.vae.report import write_html_report
    from phylo_vi.report import write_tsv

    write_tsv(paths["tsv"], TABLE_HEADER, table_rows(document))
    write_html_report(paths["html"], document, TABLE_HEADER, table_rows(document))
    with atomic_write(paths["json"]) as handle:
        json.dump(document, handle, indent=1)


def compare_on_digits(problems: Sequence[str], *, n_evaluations: int, estimators: Sequence[str], device: str,
                      dtype: torch.dtype, random_state: int, show_progress: bool) -> dict:
    """``phylo-vi vi compare-estimators --problem vae-digits``: train with every estimator, return the document.

    Runs on one torch thread (the networks are small: thread synchronisation costs more than it
    saves, and far more on a shared machine).
    """
    from tqdm import tqdm

    if set(problems) != {"vae-digits"}:
        raise VAEConfigurationError("vae-digits trains models: run it on its own, not with the toy problems")
    if str(device).startswith("cuda") and not torch.cuda.is_available():
        raise VAEConfigurationError(f"--device {device} requested but CUDA is not available")
    torch.set_num_threads(1)
    names = list(dict.fromkeys(estimators)) or list(DISCRETE_ESTIMATORS)
    with tqdm(total=len(names) + 5, disable=not show_progress, desc="vae-digits") as bar:
        return run_vae_digits(seed=random_state, estimators=names, device=device, dtype=dtype,
                              progress=lambda _: bar.update(), n_samples=n_evaluations)


def digits_markdown_table(document: dict) -> str:
    """The estimator table as markdown (the first six columns)."""
    lines = ["| " + " | ".join(TABLE_HEADER[:6]) + " |", "|" + "---|" * 6]
    for row in table_rows(document):
        lines.append("| " + " | ".join(f"{v:.4g}" if isinstance(v, float) else str(v) for v in row[:6]) + " |")
    return "\n".join(lines)
