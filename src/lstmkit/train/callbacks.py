"""Lightning plumbing: safetensors checkpoints that resume exactly, the epoch log, and a tidy console."""

from __future__ import annotations

import csv
import io
import time
from pathlib import Path
from typing import Any

from lightning.fabric.plugins.io.checkpoint_io import CheckpointIO
from lightning.pytorch.callbacks import Callback, Checkpoint, ModelCheckpoint

from .rng_state import global_rng_state, loader_state, set_global_rng_state, set_loader_state
from .state_file import read_state, write_state

RESUME_NAME = "last"
EXTENSION = ".safetensors"


class SafetensorsCheckpointIO(CheckpointIO):
    """Lightning's checkpoint I/O without pickle: the whole trainer state as safetensors + JSON.

    Weights, optimiser moments, schedule, loop counters and callback state
    (including :class:`ResumePoint`'s random states and data order) all
    round-trip; writes are atomic (see :mod:`lstmkit.train.state_file`).
    """

    def save_checkpoint(self, checkpoint: dict[str, Any], path, storage_options: Any | None = None) -> None:
        write_state(path, checkpoint)

    def load_checkpoint(self, path, map_location: Any | None = None, weights_only: bool | None = None) -> dict[str, Any]:
        return read_state(path, map_location="cpu")

    def remove_checkpoint(self, path) -> None:
        p = Path(path)
        if p.is_file():
            p.unlink()


class BestCheckpoint(ModelCheckpoint):
    """Keep ``best.safetensors``: the weights with the best monitored validation value."""

    FILE_EXTENSION = EXTENSION


class ResumePoint(Checkpoint):
    """Write the whole training state to ``last.safetensors`` after every ``every`` epochs, so a resume is exact.

    Lightning's checkpoint holds the weights, optimiser, schedule, loop
    counters and the other callbacks' state (early stopping, the best
    checkpoint, :class:`EpochLog`); this callback adds what decides the rest
    of the run and Lightning does not keep: the random generators (Python,
    NumPy, torch, CUDA), the data order of the loaders (their generators and
    ``state_dict``, see :mod:`lstmkit.train.rng_state`) and the training time
    so far. They are captured when the checkpoint is written, at the end of
    an epoch after validation and every other callback, and put back when
    ``Trainer.fit(ckpt_path=...)`` restores it, before the first batch is
    drawn. It is a Lightning ``Checkpoint`` so that Lightning calls it after
    the callbacks that watch the validation metric (early stopping and the
    best checkpoint update their state at the end of the training epoch
    too). A run that was stopping (early stopping, a time budget) when the
    checkpoint was written stays stopped. A ``ReduceLROnPlateau`` schedule
    steps after every callback of the epoch's end, so after the checkpoint:
    the value it was about to read is kept too and the step is taken on
    resuming (Lightning would otherwise skip it, and the learning rate of a
    resumed run could differ from the uninterrupted one's). A run killed at any moment and
    resumed therefore computes the same numbers as one that was never
    interrupted (bit for bit on CPU): the
    epochs after the last checkpoint are done again, with the same batches
    and the same dropout masks.

    Args:
        dirpath: the checkpoint folder.
        every: write the checkpoint after every this many epochs (and after the last one).
        loaders: ``{"train": loader, "val": loader}``: the loaders whose order is saved.
    """

    def __init__(self, dirpath: str | Path, every: int = 1, loaders: dict[str, Any] | None = None):
        self.path = resume_path(dirpath)
        self.every = every
        self.loaders = dict(loaders or {})
        self.seconds_before = 0.0  # training time of the earlier calls of a resumed run
        self.started: float | None = None  # perf_counter() when this call started training
        self.saved_epochs = 0  # epochs completed when last.safetensors was last written by this run
        self.resumed_epochs: int | None = None
        self.stopping = False  # the run was told to stop (early stopping, a time budget) when last saved
        self.plateau: list[float | None] = []  # per plateau schedule: the value of its step still to come at the save

    def start_clock(self) -> None:
        self.started = time.perf_counter()

    def seconds(self) -> float:
        """Training time of the whole run so far, across resumes."""
        return self.seconds_before + (time.perf_counter() - self.started if self.started is not None else 0.0)

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        last_epoch = trainer.current_epoch + 1 >= (trainer.max_epochs or 0)
        if (trainer.current_epoch + 1) % self.every == 0 or last_epoch or trainer.should_stop:
            self.stopping = bool(trainer.should_stop)
            self.plateau = _pending_plateau_steps(trainer)
            trainer.save_checkpoint(self.path, weights_only=False)  # the full state, for resuming
            self.saved_epochs = trainer.current_epoch + 1

    def state_dict(self) -> dict[str, Any]:
        return {"rng": global_rng_state(), "data": loader_state(self.loaders), "train_seconds": self.seconds(),
                "stopping": self.stopping, "plateau": list(self.plateau)}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        # called while Lightning restores the checkpoint, before the loaders are iterated
        self.seconds_before = float(state_dict.get("train_seconds", 0.0))
        self.stopping = bool(state_dict.get("stopping", False))
        self.plateau = list(state_dict.get("plateau", []))
        if "data" in state_dict:
            set_loader_state(self.loaders, state_dict["data"])
        if "rng" in state_dict:
            set_global_rng_state(state_dict["rng"])

    def on_train_start(self, trainer, pl_module) -> None:
        if self.resumed_epochs is None and trainer.ckpt_path:
            self.resumed_epochs = self.saved_epochs = trainer.current_epoch
            if self.stopping:  # killed after its last checkpoint: Lightning does not keep should_stop, we do
                trainer.should_stop = True
            plateau = [c for c in trainer.lr_scheduler_configs if c.reduce_on_plateau]
            for config, value in zip(plateau, self.plateau):
                if value is not None:  # the step the interrupted run took just after writing the checkpoint
                    pl_module.lr_scheduler_step(config.scheduler, value)


def _pending_plateau_steps(trainer) -> list[float | None]:
    """For each ``ReduceLROnPlateau`` schedule: the value Lightning steps it with after this epoch's end, if it does."""
    out: list[float | None] = []
    for config in trainer.lr_scheduler_configs:
        if not config.reduce_on_plateau:
            continue
        due = config.interval == "epoch" and (trainer.current_epoch + 1) % config.frequency == 0
        value = trainer.callback_metrics.get(config.monitor) if due else None
        out.append(None if value is None else float(value))
    return out


class EpochLog(Callback):
    """One row of metrics per epoch: :attr:`rows` (``FitResult.history``) and, with ``csv_path``, a CSV file.

    The rows are part of the checkpoint, so a resumed run starts from the
    rows of the epochs before its checkpoint and the CSV file continues
    instead of restarting (rows of epochs that are being done again are
    dropped). The CSV is rewritten atomically after every epoch; its columns
    are ``epoch`` (from 0), ``step`` (optimiser steps so far), ``seconds``
    (training time so far, across resumes) and the logged metrics.

    Args:
        csv_path: where to write the CSV (``None``: keep the rows in memory only).
        clock: ``() -> seconds`` of training so far (:meth:`ResumePoint.seconds`).
    """

    def __init__(self, csv_path: str | Path | None = None, clock=None):
        self.csv_path = Path(csv_path) if csv_path else None
        self.clock = clock
        self.rows: list[dict[str, float]] = []
        self.extra: list[dict[str, float]] = []  # step and seconds of each row, for the CSV

    def on_train_start(self, trainer, pl_module) -> None:
        if trainer.is_global_zero:
            self._write()  # a resumed run: the kept epochs only, at once

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        if trainer.sanity_checking:
            return
        row = {"epoch": trainer.current_epoch}
        for k, v in trainer.callback_metrics.items():
            row[k] = float(v)
        self.rows.append(row)
        self.extra.append({"step": trainer.global_step, "seconds": round(self.clock(), 3) if self.clock else float("nan")})
        if trainer.is_global_zero:  # one writer when several processes train together
            self._write()

    def _write(self) -> None:
        if self.csv_path is None:
            return
        from ..io.files import atomic_write_text

        metrics = sorted({k for row in self.rows for k in row} - {"epoch"})
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=["epoch", "step", "seconds", *metrics], lineterminator="\n")
        writer.writeheader()
        for row, extra in zip(self.rows, self.extra):
            writer.writerow({**row, **extra})
        # rewritten every epoch and written again from the checkpoint on resume: atomic, not fsynced
        atomic_write_text(self.csv_path, buf.getvalue(), durable=False)

    def state_dict(self) -> dict[str, Any]:
        return {"rows": self.rows, "extra": self.extra}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.rows = [dict(r) for r in state_dict.get("rows", [])]
        self.extra = [dict(r) for r in state_dict.get("extra", [])]
        if len(self.extra) != len(self.rows):
            self.extra = [{"step": float("nan"), "seconds": float("nan")} for _ in self.rows]


def resume_path(checkpoint_dir: str | Path) -> Path:
    return Path(checkpoint_dir) / f"{RESUME_NAME}{EXTENSION}"
