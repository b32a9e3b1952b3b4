"""HTML report of the ``vae-digits`` comparison (:mod:`phylo_vi.vi.vae.comparison`)."""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

__all__ = ["write_html_report"]


def write_html_report(path: str | Path, document: dict, header: Sequence[str], rows: Sequence[Sequence]) -> None:
    """Estimator table, held-out curves, checkpoint gradient variances and the GECO table."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from phylo_vi.report import HtmlReport

    settings = document["settings"]
    html = HtmlReport("Discrete gradient estimators training a categorical VAE on binarised digits")
    html.paragraph(f"seed {document['seed']}, device {document['device']}, dtype {document['dtype']}; "
                   f"{document['n_train']} training and {document['n_heldout']} held-out 8x8 images; one categorical "
                   f"latent with {settings['n_categories']} values, hidden {settings['hidden']}, Adam lr "
                   f"{settings['learning_rate']}, batch {settings['batch_size']}; {settings['n_samples']} decoder "
                   f"evaluations per datum and step ({settings['n_categories']} for exact, with proportionally fewer "
                   f"steps); total {document['seconds']:.0f} s.", css_class="meta")
    html.heading("Final held-out scores and gradient variance")
    html.table(header, rows)
    runs = document["discrete_estimators"]["runs"]
    figure, axes = plt.subplots(1, 2, figsize=(13, 4.2))
    for run in runs:
        style = "k--" if run["estimator"] == "exact" else "-"
        axes[0].plot(run["decoder_evaluations"], run["heldout_neg_elbo"], style, label=run["estimator"])
        axes[1].plot(run["seconds"], run["heldout_neg_elbo"], style, label=run["estimator"])
    for axis, label in zip(axes, ("decoder evaluations", "training seconds")):
        axis.set_xlabel(label)
        axis.set_ylabel("held-out -ELBO (nats, exact)")
        axis.set_xscale("symlog", linthresh=1e4 if label.startswith("decoder") else 1.0)
    axes[0].legend(fontsize=8)
    html.figure(figure, caption="Held-out negative ELBO against decoder evaluations and wall time")
    checkpoints = document["discrete_estimators"]["checkpoints"]
    if checkpoints:
        figure, axes = plt.subplots(1, 2, figsize=(13, 4.2))
        x = [c["decoder_evaluations"] for c in checkpoints]
        for name in checkpoints[0]["estimators"]:
            if name == "exact":
                continue
            for axis, group in zip(axes, ("encoder", "decoder")):
                axis.plot(x, [max(c["estimators"][name][group]["variance"], 1e-300) for c in checkpoints], "o-",
                          label=name)
        for axis, group in zip(axes, ("encoder", "decoder")):
            axis.set_yscale("log")
            axis.ticklabel_format(axis="x", style="sci", scilimits=(0, 0))
            axis.set_xlabel("decoder evaluations of the reference (exact) run")
            axis.set_ylabel(f"{group} gradient variance (trace)")
        axes[0].legend(fontsize=8)
        html.figure(figure, caption="Gradient variance on a fixed held-out minibatch at checkpoints of the "
                                    "reference run (same parameters for every estimator)")
        html.paragraph("Squared bias is measured against the exact ELBO gradient: VIMCO and RWS target the "
                       f"{settings['n_samples']}-sample bound (and RWS the inclusive KL for the encoder), and the "
                       "relaxed estimators a relaxed objective, so their 'bias' is the distance to a different "
                       "objective's gradient; for the others it should sit at the Monte-Carlo floor.")
        html.table(("step", "estimator", "encoder variance", "encoder squared bias", "bias noise floor",
                    "decoder variance"),
                   [[c["step"], name, m["encoder"]["variance"], m["encoder"]["squared_bias"],
                     m["encoder"]["bias_noise_floor"], m["decoder"]["variance"]]
                    for c in checkpoints for name, m in c["estimators"].items()])
    weightings = document["kl_weighting"]
    html.heading("GECO against beta-annealing (Gaussian VAE)")
    html.paragraph(f"GECO targets: fractions {settings['geco_target_fractions']} of the ELBO run's held-out "
                   "reconstruction error -E log p(x|z) (nats per pixel); latent dimension "
                   f"{settings['gaussian_latent']}, {settings['gaussian_steps']} steps; held-out values from 16 draws.")
    html.table(("weighting", "target per pixel", "reconstruction per pixel", "meets target", "KL", "-ELBO",
                "final multiplier"),
               [[r["weighting"], "-" if r["target_per_pixel"] is None else r["target_per_pixel"],
                 r["heldout_reconstruction_per_pixel"], "-" if r["meets_target"] is None else str(r["meets_target"]),
                 r["heldout_kl"], r["heldout_neg_elbo"],
                 "-" if r["final_multiplier"] is None else r["final_multiplier"]]
                for r in weightings["runs"]])
    figure, axes = plt.subplots(1, 2, figsize=(13, 4.2))
    for run in weightings["runs"]:
        steps = run["history"]["step"]
        evaluation = run["history"]["evaluation"]
        axes[0].plot(steps, [-e["reconstruction"] / document["n_pixels"] for e in evaluation], label=run["weighting"])
        axes[1].plot(steps, [e["kl"] for e in evaluation], label=run["weighting"])
    for run in weightings["runs"]:
        if run["target_per_pixel"] is not None:
            axes[0].axhline(run["target_per_pixel"], color="k", linestyle=":", linewidth=0.8)
    axes[0].set_ylabel("held-out reconstruction (nats per pixel)")
    axes[1].set_ylabel("held-out KL (nats)")
    for axis in axes:
        axis.set_xlabel("step")
        axis.legend(fontsize=8)
    html.figure(figure, caption="Reconstruction and KL during training (dotted: GECO targets)")
    html.write(path)
