"""The trainer's configuration, the same for every task."""

from __future__ import annotations

from dataclasses import dataclass

from ..config import option

OPTIMIZERS = ("adam", "adamw", "sgd")
SCHEDULES = ("none", "cosine", "plateau", "onecycle")


@dataclass
class TrainConfig:
    """How to fit: optimiser, schedule, stopping, checkpoints, devices."""

    epochs: int = option(100, "maximum passes over the training windows")
    batch_size: int = option(32, "examples per optimiser step")
    lr: float = option(3e-3, "peak learning rate")
    optimizer: str = option("adam", "optimiser: adam, adamw or sgd")
    weight_decay: float = option(0.0, "L2 / decoupled weight decay")
    schedule: str = option("cosine", "learning-rate schedule: none, cosine, plateau or onecycle")
    grad_clip: float = option(1.0, "clip the gradient norm to this value (0: no clipping)")
    early_stopping: int = option(0, "stop after this many epochs without a better validation metric (0: off)")
    monitor: str = option("val_loss", "the validation metric for early stopping, the plateau schedule and best checkpoint")
    seed: int = option(0, "random seed; the same seed gives the same result on CPU")
    deterministic: bool = option(True, "ask torch for deterministic kernels")
    checkpoint_every: int = option(1, "write the resumable checkpoint every N epochs")
    accelerator: str = option("cpu", "cpu, gpu or auto (Lightning accelerator)")
    devices: str = option("1", "devices per node: a count, 'auto', or a list like '0,1'")
    num_nodes: int = option(1, "machines taking part (DDP)")
    strategy: str = option("auto", "Lightning strategy: auto, ddp, ddp_spawn, ...")
    precision: str = option("32-true", "Lightning precision: 32-true, bf16-mixed, 16-mixed")
    progress_bar: bool = option(True, "show a progress bar")
    tensorboard: bool = option(False, "also write TensorBoard logs (needs tensorboard installed)")
    num_threads: int = option(0, "torch CPU threads (0: leave torch's choice; 1 is fastest for small models on a busy machine)")
    flush_denormals: bool = option(True, "CPU: treat values below 1.2e-38 as zero while training (gradients fading "
                                         "through long sequences otherwise run every product on a slow path, 4x)")

    def __post_init__(self):
        if self.epochs < 1:
            raise ValueError(f"TrainConfig: expected epochs >= 1, got {self.epochs}")
        if self.batch_size < 1:
            raise ValueError(f"TrainConfig: expected batch_size >= 1, got {self.batch_size}")
        if not self.lr > 0:
            raise ValueError(f"TrainConfig: expected lr > 0, got {self.lr}")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"TrainConfig: expected optimizer in {OPTIMIZERS}, got {self.optimizer!r}")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"TrainConfig: expected schedule in {SCHEDULES}, got {self.schedule!r}")
        if self.weight_decay < 0 or self.grad_clip < 0:
            raise ValueError(f"TrainConfig: expected weight_decay, grad_clip >= 0, got {self.weight_decay}, {self.grad_clip}")
        if self.early_stopping < 0:
            raise ValueError(f"TrainConfig: expected early_stopping >= 0, got {self.early_stopping}")
        if self.checkpoint_every < 1:
            raise ValueError(f"TrainConfig: expected checkpoint_every >= 1, got {self.checkpoint_every}")
        if self.num_nodes < 1 or self.num_threads < 0:
            raise ValueError(f"TrainConfig: expected num_nodes >= 1 and num_threads >= 0, got {self.num_nodes}, {self.num_threads}")
        if self.seed < 0:
            raise ValueError(f"TrainConfig: expected seed >= 0, got {self.seed}")

    def lightning_devices(self):
        d = str(self.devices).strip()
        if d == "auto":
            return d
        if "," in d:
            return [int(x) for x in d.split(",") if x.strip()]
        try:
            return int(d)
        except ValueError:
            raise ValueError(f"TrainConfig: expected devices as a count, 'auto' or '0,1', got {self.devices!r}") from None
