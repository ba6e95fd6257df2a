"""Train for a wall-clock budget: stop between epochs in time, optionally anneal the learning rate over the budget.

Shared by the tasks that take a time budget (the language model, translation)."""

from __future__ import annotations

import math
import time

from lightning.pytorch.callbacks import Callback


SHAPES = ("cosine", "linear")


def cosine_fraction(elapsed: float, budget: float, floor: float = 0.01) -> float:
    """The learning-rate multiplier ``floor + (1 - floor) * (1 + cos(pi * t)) / 2`` at ``t = elapsed / budget``."""
    t = min(max(elapsed / budget, 0.0), 1.0)
    return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * t))


def linear_fraction(elapsed: float, budget: float, floor: float = 0.0) -> float:
    """The learning-rate multiplier ``floor + (1 - floor) * (1 - t)`` at ``t = elapsed / budget``: a straight
    fall to ``floor`` by the budget's end (Li, Yumer & Ramanan 2020, "Budgeted training")."""
    t = min(max(elapsed / budget, 0.0), 1.0)
    return floor + (1 - floor) * (1 - t)


class TimeBudget(Callback):
    """Keep training within ``minutes`` of wall-clock time.

    - At the end of each epoch, stop if another epoch (timed as the slowest
      so far, validation included) would end after the budget; so training
      normally ends on an epoch border, with a validation pass and a checkpoint.
    - Stop at once, mid-epoch, if the budget is spent anyway (a slower
      machine than the first epochs said).
    - ``anneal=True``: set every optimiser group's learning rate to
      ``lr * cosine_fraction(elapsed, budget, floor)`` before each batch
      (``shape="linear"``: :func:`linear_fraction`), so the schedule ends
      when the time does (use it with ``schedule: none``).

    The time spent and the slowest epoch are part of the checkpoint: a resumed
    run continues the budget (and the annealing) where its checkpoint left it,
    without counting twice the epochs done again after a kill.
    """

    def __init__(self, minutes: float, anneal: bool = False, floor: float = 0.01, shape: str = "cosine") -> None:
        if not minutes > 0:
            raise ValueError(f"TimeBudget: expected minutes > 0, got {minutes}")
        if shape not in SHAPES:
            raise ValueError(f"TimeBudget: expected shape in {SHAPES}, got {shape!r}")
        self.fraction = cosine_fraction if shape == "cosine" else linear_fraction
        self.budget = minutes * 60.0
        self.anneal = anneal
        self.floor = floor
        self.start: float | None = None
        self.epoch_start: float | None = None
        self.slowest_epoch = 0.0
        self.stopped = False
        self.base_lrs: list[float] = []
        self.before = 0.0  # seconds spent before the checkpoint this run resumed from

    def elapsed(self) -> float:
        return self.before + (0.0 if self.start is None else time.perf_counter() - self.start)

    def on_train_start(self, trainer, pl_module):
        self.start = time.perf_counter()
        if not self.base_lrs:  # a resumed run keeps the peak rates of its checkpoint, not the annealed ones
            self.base_lrs = [g["lr"] for opt in trainer.optimizers for g in opt.param_groups]

    def state_dict(self) -> dict:
        return {"elapsed": self.elapsed(), "slowest_epoch": self.slowest_epoch, "stopped": self.stopped,
                "base_lrs": list(self.base_lrs)}

    def load_state_dict(self, state_dict: dict) -> None:
        self.before = float(state_dict.get("elapsed", 0.0))
        self.slowest_epoch = float(state_dict.get("slowest_epoch", 0.0))
        self.stopped = bool(state_dict.get("stopped", False))
        self.base_lrs = [float(x) for x in state_dict.get("base_lrs", [])]

    def on_train_epoch_start(self, trainer, pl_module):
        self.epoch_start = time.perf_counter()

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        if self.anneal:
            f = self.fraction(self.elapsed(), self.budget, self.floor)
            groups = [g for opt in trainer.optimizers for g in opt.param_groups]
            for g, lr in zip(groups, self.base_lrs):
                g["lr"] = lr * f

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        if self.elapsed() >= self.budget:
            trainer.should_stop = True
            self.stopped = True

    def on_train_epoch_end(self, trainer, pl_module):  # after the epoch's validation pass
        if self.epoch_start is None:
            return
        self.slowest_epoch = max(self.slowest_epoch, time.perf_counter() - self.epoch_start)
        if self.elapsed() + self.slowest_epoch > self.budget:
            trainer.should_stop = True
            self.stopped = True
