"""PNG plots every supervised task writes: training curves and a confusion matrix."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from ..io.figures import pyplot, save_figure


def plot_history(path: str | Path, history: list[dict[str, float]], title: str = "training") -> Path:
    """Loss curves (train and validation) and any other ``val_*`` metric, one panel each, against the epoch.

    ``history`` is :attr:`lstmkit.train.FitResult.history` (one dict per epoch).
    """
    plt = pyplot()
    keys = sorted({k for row in history for k in row if k != "epoch"})
    losses = [k for k in keys if k.endswith("loss")]
    others = [k for k in keys if k.startswith("val_") and not k.endswith(("loss", "error"))]  # error = 1 - the score beside it
    panels = [losses] + [[k] for k in others]
    fig, axes = plt.subplots(1, len(panels), figsize=(4.5 * len(panels), 3.2), squeeze=False)
    epochs = [row.get("epoch", i) + 1 for i, row in enumerate(history)]
    for ax, names in zip(axes[0], panels):
        for k in names:
            ys = [row.get(k, np.nan) for row in history]
            ax.plot(epochs, ys, marker="o", ms=3, label=k)
        ax.set_xlabel("epoch")
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
    fig.suptitle(title, fontsize=10)
    return save_figure(fig, path, dpi=90)


def plot_confusion(path: str | Path, matrix, labels: Sequence[str], title: str = "confusion matrix") -> Path:
    """A confusion matrix (rows: true class, columns: predicted), counts written in the cells."""
    plt = pyplot()
    cm = np.asarray(matrix)
    k = len(labels)
    if cm.shape != (k, k):
        raise ValueError(f"plot_confusion: expected a ({k}, {k}) matrix for {k} labels, got {cm.shape}")
    size = min(2 + 0.6 * k, 14)
    fig, ax = plt.subplots(figsize=(size + 1, size))
    im = ax.imshow(cm, cmap="Blues")
    ax.set_xticks(range(k), [str(x) for x in labels], rotation=45, ha="right", fontsize=8)
    ax.set_yticks(range(k), [str(x) for x in labels], fontsize=8)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    if k <= 30:
        top = cm.max() if cm.size else 0
        for i in range(k):
            for j in range(k):
                ax.text(j, i, str(int(cm[i, j])), ha="center", va="center", fontsize=8,
                        color="white" if top and cm[i, j] > top / 2 else "black")
    fig.colorbar(im, ax=ax, fraction=0.046)
    ax.set_title(title, fontsize=10)
    return save_figure(fig, path, dpi=90)
