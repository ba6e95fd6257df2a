"""Fitting one translation model: teacher-forced batches, the loss, a wall-clock budget and the warm-up schedule.

Every model of a run (the LSTM and each baseline) is fitted by :func:`train_model` through
:func:`lstmkit.train.fit` with the same batches, seed, early stopping and budget; only the
learning-rate recipe differs (the Transformer warms up, then decays as ``1/sqrt(step)``).
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import torch
import torch.nn.functional as F
from lightning.pytorch.callbacks import Callback

from ...train.config import TrainConfig
from .tokens import PAD_ID, Encoded


class SentenceStep:
    """``step(model, batch)`` for :func:`lstmkit.train.fit`: token cross-entropy of the teacher-forced batch.

    Each batch is cut to its own longest source and target first (the tensors are padded to the longest
    sentence of the whole set). ``label_smoothing`` applies in training; validation reports the plain
    token loss (nats per target token, ``<eos>`` included).
    """

    def __init__(self, label_smoothing: float = 0.0, teacher_forcing: float = 1.0) -> None:
        self.label_smoothing = label_smoothing
        self.teacher_forcing = teacher_forcing

    def __call__(self, model, batch) -> dict[str, torch.Tensor]:
        src, src_len, tgt_in, tgt_out = batch
        S = int(src_len.max())
        T = int((tgt_out != PAD_ID).sum(1).max())
        logits = model(src[:, :S], src_len, tgt_in[:, :T], teacher_forcing=self.teacher_forcing)
        gold = tgt_out[:, :T]
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), gold.reshape(-1), ignore_index=PAD_ID,
                               label_smoothing=self.label_smoothing if model.training else 0.0)
        return {"loss": loss}


class EpochLog(Callback):
    """One progress line per epoch on the task logger: losses, learning rate and time.

    (The logger is not kept as ``self.log``: Lightning sets every callback's ``log`` to the module's.)"""

    def __init__(self, name: str, logger: logging.Logger) -> None:
        self.name, self.logger = name, logger
        self.start = 0.0

    def on_train_start(self, trainer, pl_module):
        self.start = time.perf_counter()

    def on_train_epoch_end(self, trainer, pl_module):
        m = trainer.callback_metrics
        parts = [f"{k} {float(m[k]):.4f}" for k in ("train_loss", "val_loss") if k in m]
        lr = trainer.optimizers[0].param_groups[0]["lr"] if trainer.optimizers else float("nan")
        self.logger.info("%s: epoch %d: %s, lr %.2g, %.0f s", self.name, trainer.current_epoch + 1, ", ".join(parts), lr,
                      time.perf_counter() - self.start)


class WarmupInverseSqrt(Callback):
    """Learning rate ``lr * min(step / warmup, sqrt(warmup / step))`` (Vaswani et al. 2017's shape, peak ``lr``).

    The step is the trainer's optimiser step count plus one, so a resumed fit continues the schedule
    from its checkpoint instead of warming up again.
    """

    def __init__(self, lr: float, warmup: int) -> None:
        self.lr, self.warmup = lr, max(1, warmup)
        self.step = 0

    def factor(self, step: int) -> float:
        step = max(step, 1)
        return min(step / self.warmup, math.sqrt(self.warmup / step))

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        self.step = trainer.global_step + 1
        for opt in trainer.optimizers:
            for g in opt.param_groups:
                g["lr"] = self.lr * self.factor(self.step)


@dataclass
class Outcome:
    """What fitting one model gave."""

    name: str
    parameters: int
    epochs: int
    seconds: float
    stopped_by_time: bool
    best_val_loss: float | None
    history: list[dict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"parameters": self.parameters, "epochs": self.epochs, "train_seconds": round(self.seconds, 1),
                "stopped_by_time_limit": self.stopped_by_time, "best_val_loss": self.best_val_loss,
                "notes": self.notes}


class LengthBuckets:
    """Mini-batches of sentences of similar length, in a new random order every epoch.

    Each epoch shuffles the pairs (with its own seeded generator, so runs repeat), cuts them into pools of
    ``pool`` batches, sorts each pool by target then source length, cuts it into batches and shuffles the
    batches. A batch is then padded to little more than its own sentences, which spares most of the
    decoder steps a random batch would spend on padding (the usual practice in translation).

    Args:
        enc: the encoded pairs.
        batch_size: pairs per batch (the last of the epoch may be smaller).
        shuffle: a new order every epoch (``False``: sorted by length once, for validation).
        seed: seed of the shuffling generator.
        pool: batches per sorted pool. Default ``50``.
    """

    def __init__(self, enc: Encoded, batch_size: int, shuffle: bool = True, seed: int = 0, pool: int = 50) -> None:
        if batch_size < 1 or pool < 1:
            raise ValueError(f"LengthBuckets: expected batch_size >= 1 and pool >= 1, got {batch_size}, {pool}")
        self.enc, self.batch_size, self.shuffle, self.pool = enc, batch_size, shuffle, pool
        self.generator = torch.Generator().manual_seed(seed)
        self.key = enc.tgt_len * (int(enc.src_len.max()) + 1) + enc.src_len  # target length first

    def __len__(self) -> int:
        n = len(self.enc.src)
        return (n + self.batch_size - 1) // self.batch_size

    def __iter__(self):
        n = len(self.enc.src)
        order = torch.randperm(n, generator=self.generator) if self.shuffle else torch.arange(n)
        size = self.batch_size * (self.pool if self.shuffle else max(1, n))
        groups = []
        for chunk in order.split(size):
            chunk = chunk[torch.argsort(self.key[chunk], stable=True)]
            groups.extend(chunk.split(self.batch_size))
        if self.shuffle:
            groups = [groups[i] for i in torch.randperm(len(groups), generator=self.generator).tolist()]
        e = self.enc
        for idx in groups:
            yield e.src[idx], e.src_len[idx], e.tgt_in[idx], e.tgt_out[idx]


def batches(enc: Encoded, batch_size: int, shuffle: bool, seed: int) -> LengthBuckets:
    return LengthBuckets(enc, batch_size, shuffle=shuffle, seed=seed)


def _warm_up(model: torch.nn.Module, data: Encoded) -> None:
    """One small forward pass before the clock starts, so a recurrence engine that builds or loads itself on
    first use (lstmkit's C++ CPU engine) does not spend a model's time budget."""
    was = model.training
    model.eval()
    with torch.no_grad():
        n = min(2, len(data.src))
        S, T = max(1, int(data.src_len[:n].max())), max(1, int((data.tgt_out[:n] != PAD_ID).sum(1).max()))
        model(data.src[:n, :S], data.src_len[:n], data.tgt_in[:n, :T])
    model.train(was)


def train_model(name: str, model: torch.nn.Module, train: Encoded, dev: Encoded | None, config: TrainConfig, *,
                label_smoothing: float, teacher_forcing: float = 1.0, max_minutes: float = 0.0,
                warmup: tuple[float, int] | None = None, anneal: bool = False, log: logging.Logger | None = None,
                log_dir: str | Path | None = None, resume: bool = False) -> Outcome:
    """Fit ``model`` on the ``train`` tensors, validating on ``dev``; the best weights on ``dev`` are kept.

    ``warmup=(lr, steps)``: the Transformer's recipe (:class:`WarmupInverseSqrt`, the schedule of
    ``config`` is then off); ``max_minutes``: :class:`lstmkit.train.time_budget.TimeBudget`; ``anneal`` (with
    ``max_minutes``, without ``warmup``): the learning rate falls linearly to zero over the budget instead of
    following the schedule of ``config`` (budgeted training, Li, Yumer & Ramanan 2020), and the fit runs to
    the end of the budget without early stopping, since much of the gain comes late, at small rates (the
    weights best on ``dev`` are still the ones kept). ``log_dir``: keep Lightning's logs and checkpoints under ``log_dir/name`` (otherwise nothing is written). ``resume``: continue from
    ``log_dir/name/checkpoints/last.safetensors`` when the interrupted run wrote one (a model it had
    not reached, or had started without finishing an epoch, is trained from the start, as it would have been).
    """
    from ...train import fit

    from ...train.time_budget import TimeBudget

    callbacks: list = [EpochLog(name, log)] if log else []
    anneal = bool(anneal and max_minutes and warmup is None)
    limit = TimeBudget(max_minutes, anneal=anneal, floor=0.0, shape="linear") if max_minutes else None
    if limit:
        callbacks.append(limit)
    if warmup is not None:
        config = replace(config, schedule="none", lr=warmup[0])
        callbacks.append(WarmupInverseSqrt(*warmup))
    elif anneal:  # the decay plans for the whole budget: a plateau is not the end (the best weights still win)
        config = replace(config, schedule="none", early_stopping=0)
    notes = []
    train_loader = batches(train, config.batch_size, True, config.seed)
    val_loader = batches(dev, max(config.batch_size, 256), False, 0) if dev is not None and len(dev.src) else None
    if val_loader is None and config.schedule == "plateau":
        config = replace(config, schedule="none")
        notes.append("no dev part: the plateau schedule needs one, so the learning rate stayed constant")
    from ...train.callbacks import resume_path

    out_dir = None if log_dir is None else Path(log_dir) / name
    resume = bool(resume and out_dir is not None and resume_path(out_dir / "checkpoints").is_file())
    _warm_up(model, train)
    result = fit(model, SentenceStep(label_smoothing, teacher_forcing), train_loader, val_loader, config,
                 out_dir=out_dir, resume=resume, val_step=SentenceStep(0.0, 1.0), callbacks=callbacks)
    model.eval()
    out = Outcome(name, sum(p.numel() for p in model.parameters()), result.epochs, result.seconds,
                  bool(limit and limit.stopped), result.best_score, result.history, notes)
    if log:
        log.info("%s: %d epoch(s) in %.0f s%s; best dev loss %s", name, result.epochs, result.seconds,
                 " (stopped by the time limit)" if out.stopped_by_time else "",
                 "n/a" if result.best_score is None else f"{result.best_score:.4f}")
    return out


__all__ = ["SentenceStep", "WarmupInverseSqrt", "EpochLog", "LengthBuckets", "Outcome", "train_model", "batches"]
