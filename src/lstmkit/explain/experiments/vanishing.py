r"""Vanishing gradients: how much the loss at the end still feels the input ``k`` steps back.

For a model that reads ``x_1 .. x_T`` and is scored after ``x_T``, the curve is

.. math::
    g(k) = \frac{1}{B} \sum_b \left\| \frac{\partial L_b}{\partial x_{b, T-k}} \right\|_2, \qquad k = 0 .. T-1

computed by autograd on ``x.requires_grad_()`` (one backward of the summed
per-sequence losses gives every sequence's own gradient). An Elman RNN's
curve falls geometrically with ``k``; the LSTM's cell state keeps it up.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from ...io.figures import pyplot, save_figure
from .long_lag import task_batch, task_shape, train_model
from .long_lag_tasks import set_seed_generator
from .sequence_model import SequenceModel, build


def gradient_by_lag(model: SequenceModel, x: torch.Tensor, y: torch.Tensor, task: str = "adding") -> np.ndarray:
    """``g(k)`` for ``k = 0 .. T-1`` (index ``k``), averaged over the batch."""
    x = x.detach().clone().requires_grad_(True)
    model.zero_grad()
    out = model(x)
    if task == "adding":
        loss = ((out[:, 0] - y) ** 2).sum()
    else:
        loss = torch.nn.functional.cross_entropy(out, y, reduction="sum")
    loss.backward()
    norms = x.grad.norm(dim=-1).mean(0)  # (T,)
    return norms.flip(0).double().numpy()  # index k = lag back from the last step


@dataclass
class VanishingResult:
    cell: str
    stage: str  # "init" or "trained"
    T: int
    hidden_size: int
    train_steps: int
    norms: list[float]  # g(k), k = 0 .. T-1
    init: str = "chrono"  # gate initialisation (sequence_model.INITS)

    def to_dict(self) -> dict:
        return asdict(self)

    def at(self, k: int) -> float:
        return self.norms[k]


def run_vanishing(T: int = 100, cells=("rnn", "gru", "lstm"), hidden_size: int = 32, train_steps: int = 300,
                  batch_size: int = 64, lr: float = 1e-3, seed: int = 0, progress=None,
                  init: str = "chrono") -> list[VanishingResult]:
    """``g(k)`` of each cell at initialisation and after ``train_steps`` on the adding problem (length ``T``).

    ``init``: the gate initialisation of the LSTM and the GRU (``sequence_model.INITS``).
    """
    ins, outs = task_shape("adding")
    gen = set_seed_generator(20_000 + seed)
    x, _, y = task_batch("adding", batch_size, T, gen)
    results = []
    for cell in cells:
        model = build(cell, ins, hidden_size, outs, seed, init=init, max_lag=T)
        results.append(VanishingResult(cell, "init", T, hidden_size, 0, gradient_by_lag(model, x, y).tolist(), init))
        if train_steps:
            tick = (lambda s, loss, cell=cell: progress(cell, s, loss)) if progress else None
            train_model(model, "adding", T, train_steps, 32, lr, seed, progress=tick)
            results.append(VanishingResult(cell, "trained", T, hidden_size, train_steps,
                                           gradient_by_lag(model, x, y).tolist(), init))
    return results


def plot_vanishing(results: list[VanishingResult], path) -> Path:
    plt = pyplot()

    fig, ax = plt.subplots(figsize=(7, 4))
    colours = {"rnn": "tab:red", "gru": "tab:blue", "lstm": "tab:green"}
    for r in results:
        g = np.maximum(np.asarray(r.norms), 1e-30)
        ax.plot(np.arange(len(g)), g, color=colours.get(r.cell), ls="-" if r.stage == "trained" else "--",
                label=f"{r.cell} ({r.stage}{f', {r.train_steps} steps' if r.train_steps else ''})")
    ax.set_yscale("log")
    ax.set_xlabel("lag k (steps back from the last input)")
    ax.set_ylabel("mean ||dL/dx_{T-k}||")
    ax.set_title(f"Gradient reaching the input k steps back (T={results[0].T if results else '?'}, "
                 f"hidden {results[0].hidden_size if results else '?'})")
    ax.legend(fontsize=7)
    return save_figure(fig, path, dpi=100)


def vanishing_table(results: list[VanishingResult], lags=(0, 10, 50, 99)) -> list[dict]:
    """Rows ``{cell, stage, g(k) for the lags that exist, ratio g(max)/g(0)}``."""
    rows = []
    for r in results:
        ks = [k for k in lags if k < len(r.norms)]
        row = {"cell": r.cell, "stage": r.stage}
        row.update({f"g({k})": r.norms[k] for k in ks})
        row[f"g({ks[-1]})/g(0)"] = r.norms[ks[-1]] / r.norms[0] if r.norms[0] else float("nan")
        rows.append(row)
    return rows
