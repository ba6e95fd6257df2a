"""A LightningModule around any model and a step function: the trainer's only task knowledge."""

from __future__ import annotations

from typing import Any, Callable

import lightning as L
import torch
from torch import Tensor

from .config import TrainConfig

#: step(model, batch) -> {"loss": scalar tensor, other metric names: scalars}
StepFn = Callable[[torch.nn.Module, Any], dict[str, Tensor]]


class TaskModule(L.LightningModule):
    """Wrap ``model`` so Lightning can fit it.

    Args:
        model: any ``nn.Module``; its ``state_dict`` is what gets saved.
        step: ``step(model, batch) -> dict`` with a scalar ``"loss"`` and any
            other scalars to log. Training logs them as ``train_<name>``;
            validation as ``val_<name>`` (so ``val_loss`` is always there).
        config: optimiser and schedule settings (:class:`TrainConfig`).
        val_step: a different function for validation (default: ``step``),
            e.g. one that computes task metrics in the original units.
    """

    def __init__(self, model: torch.nn.Module, step: StepFn, config: TrainConfig, val_step: StepFn | None = None):
        super().__init__()
        self.model = model
        self.step_fn = step
        self.val_step_fn = val_step or step
        self.config = config

    def forward(self, *args, **kwargs):
        return self.model(*args, **kwargs)

    def _batch_size(self, batch) -> int:
        first = batch[0] if isinstance(batch, (list, tuple)) else next(iter(batch.values())) if isinstance(batch, dict) else batch
        return int(first.shape[0]) if isinstance(first, Tensor) and first.dim() else 1

    def training_step(self, batch, batch_idx):
        out = self.step_fn(self.model, batch)
        n = self._batch_size(batch)
        for k, v in out.items():
            self.log(f"train_{k}", v.detach() if isinstance(v, Tensor) else v, on_step=False, on_epoch=True,
                     prog_bar=(k == "loss"), batch_size=n, sync_dist=True)
        return out["loss"]

    def validation_step(self, batch, batch_idx):
        out = self.val_step_fn(self.model, batch)
        n = self._batch_size(batch)
        for k, v in out.items():
            self.log(f"val_{k}", v, on_step=False, on_epoch=True, prog_bar=(k == "loss"), batch_size=n, sync_dist=True)

    def configure_optimizers(self):
        c = self.config
        params = [p for p in self.model.parameters() if p.requires_grad]
        if c.optimizer == "adam":
            opt = torch.optim.Adam(params, lr=c.lr, weight_decay=c.weight_decay)
        elif c.optimizer == "adamw":
            opt = torch.optim.AdamW(params, lr=c.lr, weight_decay=c.weight_decay)
        else:
            opt = torch.optim.SGD(params, lr=c.lr, momentum=0.9, weight_decay=c.weight_decay)
        if c.schedule == "none":
            return opt
        if c.schedule == "cosine":
            sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=c.epochs, eta_min=c.lr * 0.01)
            return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "epoch"}}
        if c.schedule == "plateau":
            sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=0.5, patience=max(1, c.early_stopping // 3))
            return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "monitor": c.monitor, "interval": "epoch"}}
        steps = int(self.trainer.estimated_stepping_batches)
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=c.lr, total_steps=max(steps, 1))
        return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "step"}}
