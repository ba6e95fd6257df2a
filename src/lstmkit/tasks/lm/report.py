"""The training-curve PNG and the HTML report of a language-modelling run."""

from __future__ import annotations

import math
from pathlib import Path

from ...io.figures import pyplot, save_figure


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
    page.bullets(["model/: model.safetensors, config.json, tokenizer.json (lstmkit lm generate|evaluate --model)",
                  "metrics.json", "plots/training.png", "sample.txt", "config.yaml",
                  "training/: Lightning CSV logs and resumable checkpoints"])
    page.heading("Configuration")
    page.code(config)
    path = out / "report.html"
    atomic_write_text(path, page.render())
    return path
