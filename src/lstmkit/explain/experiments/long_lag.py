"""Train and test RNN, GRU and LSTM of the same size on the long-time-lag tasks.

Example::

    >>> res = run_long_lag("adding", T=20, cells=("lstm",), hidden_size=16, steps=50, test_size=256)
    >>> res[0].cell, res[0].test_size
    ('lstm', 256)
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import torch

from ...io.figures import pyplot, save_figure
from .long_lag_tasks import adding_batch, adding_wrong, set_seed_generator, temporal_order_batch
from .sequence_model import SequenceModel, build

TASKS = ("adding", "temporal_order")


@dataclass
class LongLagResult:
    task: str
    cell: str
    T: int
    hidden_size: int
    steps: int
    batch_size: int
    test_size: int
    wrong: int
    test_loss: float
    seconds: float
    losses: list[float] = field(default_factory=list)  # training loss every `log_every` steps
    init: str = "chrono"  # gate initialisation (sequence_model.INITS)

    def to_dict(self) -> dict:
        return asdict(self)


def task_batch(task: str, batch: int, T: int, gen: torch.Generator):
    """``(x, lengths or None, target)`` of ``task``."""
    if task == "adding":
        x, y = adding_batch(batch, T, gen)
        return x, None, y
    if task == "temporal_order":
        x, _, y = temporal_order_batch(batch, T, gen)  # left-padded: every sequence ends on the last step
        return x, None, y
    raise ValueError(f"long_lag: expected a task in {TASKS}, got {task!r}")


def task_shape(task: str) -> tuple[int, int]:
    """``(inputs per step, outputs)``."""
    return (2, 1) if task == "adding" else (8, 4)


def task_length(task: str, T: int) -> int:
    """The longest sequence of ``task`` at length ``T`` (temporal order runs to ``T + 10`` steps)."""
    return T + 10 if task == "temporal_order" else T


def task_loss(task: str, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    if task == "adding":
        return torch.nn.functional.mse_loss(out[:, 0], y)
    return torch.nn.functional.cross_entropy(out, y)


def count_wrong(task: str, out: torch.Tensor, y: torch.Tensor) -> int:
    if task == "adding":
        return adding_wrong(out[:, 0], y)
    return int((out.argmax(-1) != y).sum())


def train_model(model: SequenceModel, task: str, T: int, steps: int, batch_size: int = 32, lr: float = 1e-3,
                seed: int = 0, log_every: int = 10, progress: Callable[[int, float], None] | None = None,
                max_seconds: float = 0.0) -> list[float]:
    """Adam on fresh batches (gradient norm clipped at 1); returns the loss every ``log_every`` steps."""
    gen = set_seed_generator(seed + 1)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    model.train()
    losses, running, t0 = [], 0.0, time.perf_counter()
    for s in range(1, steps + 1):
        x, lengths, y = task_batch(task, batch_size, T, gen)
        loss = task_loss(task, model(x, lengths), y)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        running += float(loss.detach())
        if s % log_every == 0 or s == steps:
            losses.append(running / (s % log_every or log_every))
            running = 0.0
        if progress:
            progress(s, float(loss.detach()))
        if max_seconds and time.perf_counter() - t0 > max_seconds:
            break
    model.eval()
    return losses


@torch.no_grad()
def evaluate_model(model: SequenceModel, task: str, T: int, test_size: int, seed: int = 0, batch_size: int = 256) -> tuple[int, float]:
    """``(wrong sequences, mean loss)`` on ``test_size`` fresh sequences (the same ones for every model of a seed)."""
    gen = set_seed_generator(10_000 + seed)
    model.eval()
    wrong, total = 0, 0.0
    for start in range(0, test_size, batch_size):
        n = min(batch_size, test_size - start)
        x, lengths, y = task_batch(task, n, T, gen)
        out = model(x, lengths)
        wrong += count_wrong(task, out, y)
        total += float(task_loss(task, out, y)) * n
    return wrong, total / test_size


def run_long_lag(task: str, T: int, cells=("rnn", "gru", "lstm"), hidden_size: int = 32, steps: int = 1000,
                 batch_size: int = 32, lr: float = 1e-3, test_size: int = 2560, seed: int = 0,
                 progress: Callable[[str, int, float], None] | None = None, max_seconds: float = 0.0,
                 init: str = "chrono") -> list[LongLagResult]:
    """Train each cell on ``task`` at length ``T`` and count its wrong test sequences.

    ``max_seconds`` caps each model's training time (0: no cap); the result
    records how many steps were actually taken. ``init`` is the gate
    initialisation of the LSTM and the GRU (``chrono`` with ``max_lag`` the
    sequence length, ``forget1`` or ``torch``; see ``sequence_model.build``).
    """
    if task not in TASKS:
        raise ValueError(f"run_long_lag: expected a task in {TASKS}, got {task!r}")
    ins, outs = task_shape(task)
    results = []
    for cell in cells:
        model = build(cell, ins, hidden_size, outs, seed, init=init, max_lag=task_length(task, T))
        done = [0]

        def tick(s, loss, cell=cell):
            done[0] = s
            if progress:
                progress(cell, s, loss)

        t0 = time.perf_counter()
        losses = train_model(model, task, T, steps, batch_size, lr, seed, progress=tick, max_seconds=max_seconds,
                             log_every=max(1, steps // 100))
        wrong, test_loss = evaluate_model(model, task, T, test_size, seed)
        results.append(LongLagResult(task, cell, T, hidden_size, done[0], batch_size, test_size, wrong, test_loss,
                                     round(time.perf_counter() - t0, 2), losses, init))
    return results


def plot_long_lag(results: list[LongLagResult], path) -> Path:
    """Training loss curves of every (task, T, cell) and the wrong fraction in the legend."""
    plt = pyplot()

    fig, ax = plt.subplots(figsize=(7, 4))
    for r in results:
        xs = [(i + 1) * max(1, r.steps // max(1, len(r.losses))) for i in range(len(r.losses))]
        ax.plot(xs, r.losses, label=f"{r.cell} T={r.T}: {r.wrong}/{r.test_size} wrong")
    ax.set_yscale("log")
    ax.set_xlabel("training step")
    ax.set_ylabel("training loss")
    ax.set_title(f"{results[0].task if results else ''}: RNN, GRU and LSTM of the same size")
    ax.legend(fontsize=7)
    return save_figure(fig, path, dpi=100)
