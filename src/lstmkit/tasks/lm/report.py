"""The run folder of a language-modelling fit: metrics, configuration, training curve, a sample, the HTML report.

Written by :meth:`lstmkit.LanguageModel.report` (``lstmkit lm train`` calls it
after saving the model into ``model/``)::

    metrics.json        validation loss, perplexity, bits per character; run facts; per-epoch history
    config.yaml         the full configuration
    plots/training.png  training and validation loss per epoch
    sample.txt          a sample from the trained model
    report.html         all of it on one page
"""

from __future__ import annotations

import math
from pathlib import Path

from ...io.figures import pyplot, save_figure


def write_run_folder(est, out: Path) -> Path:
    """Write the files above for a fitted :class:`~lstmkit.LanguageModel` ``est``; returns ``report.html``."""
    import json

    from ...config import to_dict, to_yaml
    from ...io.files import atomic_write_text

    cfg = est.config
    metrics, run = est.metrics_, est.metrics_["run"]
    out.mkdir(parents=True, exist_ok=True)
    sample = None
    if cfg.run.sample_length:
        sample = est.generate("", cfg.run.sample_length, temperature=cfg.run.temperature, seed=cfg.train.seed)
        atomic_write_text(out / "sample.txt", sample)
    atomic_write_text(out / "metrics.json", json.dumps(metrics, indent=2, allow_nan=True))
    atomic_write_text(out / "config.yaml", to_yaml(cfg))
    plot = plot_training(out / "plots" / "training.png", metrics["history"], cfg.data.tokenizer)
    intro = (f"{cfg.model.num_layers}-layer {cfg.model.cell} language model ({cfg.model.hidden_size} units, "
             f"{run['parameters']:,} parameters, {cfg.data.tokenizer} tokens) on {run['data']}: "
             + (f"first {1 - cfg.data.val_fraction:.0%} of the characters for training, the rest for validation"
                if not run.get("val_given") else "the validation text given separately")
             + f"; truncated BPTT over {cfg.train.batch_size} streams in chunks of {cfg.bptt.length}.")
    return write_report(out, "Language model report", intro, metrics, run, sample, plot, to_dict(cfg))


def plot_training(path: Path, history: list[dict], tokenizer_kind: str) -> Path:
    """Training and validation loss per epoch (nats per token; bits on the right axis)."""
    plt = pyplot()

    fig, ax = plt.subplots(figsize=(7, 3.4))
    tr = [(r["epoch"] + 1, r["train_loss"]) for r in history if "train_loss" in r]
    va = [(r["epoch"] + 1, r["val_loss"]) for r in history if "val_loss" in r]
    if tr:
        ax.plot(*zip(*tr), marker="o", ms=3, label="train (mean over the epoch, with dropout)")
    if va:
        ax.plot(*zip(*va), marker="s", ms=3, ls="--", label="validation")
    ax.set_xlabel("epoch")
    ax.set_ylabel("nats per token")
    ax.set_title("training curve" + (" (character model)" if tokenizer_kind == "char" else ""))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    right = ax.secondary_yaxis("right", functions=(lambda v: v / math.log(2), lambda b: b * math.log(2)))
    right.set_ylabel("bits per token")
    return save_figure(fig, path, dpi=110)


def write_report(out: Path, title: str, intro: str, metrics: dict, run: dict, sample: str | None,
                 plot: Path | None, config: dict) -> Path:
    from ...io.html_report import HtmlReport
    from ...io.files import atomic_write_text

    page = HtmlReport(title, intro)
    page.heading("Validation")
    val = metrics.get("val", {})
    page.table(["loss (nats/token)", "perplexity", "bits per character", "tokens", "characters", "<unk> tokens"],
               [[val.get("loss"), val.get("perplexity"), val.get("bpc"), val.get("tokens"), val.get("chars"),
                 val.get("unknown_tokens")]])
    page.paragraph("Scored exactly over the whole validation text with the state carried across bptt chunks "
                   "(see lstmkit.tasks.lm.metrics); the curve below shows Lightning's per-chunk means.")
    if plot is not None:
        page.image(plot, "loss per epoch")
    if sample:
        page.heading("Sample")
        page.code(sample)
    page.heading("Run")
    page.bullets([f"{k}: {v}" for k, v in run.items()])
    page.heading("Files")
    page.bullets(["model/: model.safetensors, config.json, tokenizer.json (lstmkit lm generate|evaluate --model; "
                  "lstmkit.load)", "metrics.json", "plots/training.png", "sample.txt", "config.yaml",
                  "training/: Lightning CSV logs and resumable checkpoints (lstmkit lm train; --resume)"])
    page.heading("Configuration")
    page.code(config)
    path = out / "report.html"
    atomic_write_text(path, page.render())
    return path
