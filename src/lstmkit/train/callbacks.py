"""Lightning plumbing: safetensors checkpoints for resuming, and a tidy console."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lightning.fabric.plugins.io.checkpoint_io import CheckpointIO
from lightning.pytorch.callbacks import Callback, ModelCheckpoint

from .state_file import read_state, write_state

RESUME_NAME = "last"
EXTENSION = ".safetensors"


class SafetensorsCheckpointIO(CheckpointIO):
    """Lightning's checkpoint I/O without pickle: the whole trainer state as safetensors + JSON.

    Weights, optimiser moments, schedule, loop counters and callback state all
    round-trip, so ``Trainer.fit(ckpt_path=...)`` resumes exactly; writes are
    atomic (see :mod:`lstmkit.train.state_file`).
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


class ResumePoint(Callback):
    """Write the whole training state to ``last.safetensors`` after every ``every`` epochs.

    Saved after validation and every other callback has updated its state, so
    a run killed at any moment resumes at the start of the epoch after the
    last save, with weights, optimiser, schedule, early-stopping counters and
    the best-checkpoint record as they were.
    """

    def __init__(self, dirpath: str | Path, every: int = 1):
        self.path = resume_path(dirpath)
        self.every = every

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        last_epoch = trainer.current_epoch + 1 >= (trainer.max_epochs or 0)
        if (trainer.current_epoch + 1) % self.every == 0 or last_epoch or trainer.should_stop:
            trainer.save_checkpoint(self.path, weights_only=False)  # the full state, for resuming


def resume_path(checkpoint_dir: str | Path) -> Path:
    return Path(checkpoint_dir) / f"{RESUME_NAME}{EXTENSION}"
