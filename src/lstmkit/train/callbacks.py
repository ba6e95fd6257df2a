"""Lightning plumbing: safetensors checkpoints for resuming, and a tidy console."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lightning.fabric.plugins.io.checkpoint_io import CheckpointIO
from lightning.pytorch.callbacks import ModelCheckpoint

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


class ResumableCheckpoint(ModelCheckpoint):
    """Keep ``last.safetensors`` (resume point) and ``best.safetensors`` (best monitored value)."""

    FILE_EXTENSION = EXTENSION
    CHECKPOINT_NAME_LAST = RESUME_NAME


def resume_path(checkpoint_dir: str | Path) -> Path:
    return Path(checkpoint_dir) / f"{RESUME_NAME}{EXTENSION}"
