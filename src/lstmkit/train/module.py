"""A LightningModule around any model and a step function: the trainer's only task knowledge."""

from __future__ import annotations

from typing import Any, Callable

import lightning as L
import torch
from torch import Tensor

from .config import TrainConfig
from .diverged import TrainingDiverged

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

    Every training step checks that the loss, then the gradients (before
    clipping and the update) and then the updated weights are finite, and
    raises :class:`~lstmkit.train.TrainingDiverged` (epoch, batch, step and
    the value that was not) at the first that is not, so no non-finite
    weight reaches a checkpoint. Mixed float16 training leaves overflowing
    gradients to its gradient scaler, which skips those steps.
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

    def _diverged(self, what: str, quantity: str, name: str | None = None) -> TrainingDiverged:
        trainer = self.trainer
        epoch, batch = trainer.current_epoch + 1, trainer.fit_loop.epoch_loop.batch_idx + 1
        step = trainer.global_step + (0 if quantity == "weight" else 1)
        where = (f"epoch {epoch} of {trainer.max_epochs}, batch {batch} of {trainer.num_training_batches}, "
                 f"optimizer step {step}")
        return TrainingDiverged(f"training diverged at {where}: {what}", epoch=epoch, batch=batch, step=step,
                                quantity=quantity, name=name)

    def training_step(self, batch, batch_idx):
        out = self.step_fn(self.model, batch)
        loss = out["loss"]
        if not bool(torch.isfinite(loss.detach()).all()):
            raise self._diverged(f"the loss is {_describe(loss)}", "loss")
        n = self._batch_size(batch)
        for k, v in out.items():
            self.log(f"train_{k}", v.detach() if isinstance(v, Tensor) else v, on_step=False, on_epoch=True,
                     prog_bar=(k == "loss"), batch_size=n, sync_dist=True)
        return out["loss"]

    def on_before_optimizer_step(self, optimizer) -> None:
        # before clipping and the update: no non-finite gradient ever reaches the weights. Mixed float16
        # training skips steps with overflowing gradients by design (its gradient scaler), so it is left to that.
        if str(self.config.precision).startswith("16"):
            return
        bad = _first_nonfinite((n, p.grad) for n, p in self.model.named_parameters() if p.grad is not None)
        if bad is not None:
            name, t = bad
            raise self._diverged(f"the gradient of {name} holds {_describe(t)}", "gradient", name)

    def on_train_batch_end(self, outputs, batch, batch_idx) -> None:
        bad = _first_nonfinite(self.model.named_parameters())
        if bad is not None:
            name, t = bad
            raise self._diverged(f"after the update, weight {name} holds {_describe(t)}", "weight", name)

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


def _first_nonfinite(named) -> tuple[str, Tensor] | None:
    """The first ``(name, tensor)`` holding a NaN or an infinity, else ``None``.

    Fast path: one norm per tensor in a fused call and one synchronisation
    (a NaN or an infinity makes its tensor's norm non-finite). Only when a norm
    is not finite are the tensors scanned, which also clears norms that merely
    overflowed on huge but finite values.
    """
    named = [(n, t.detach()) for n, t in named]
    if not named:
        return None
    tensors = [t for _, t in named]
    norms = torch._foreach_norm(tensors) if hasattr(torch, "_foreach_norm") else [torch.linalg.vector_norm(t) for t in tensors]
    if bool(torch.isfinite(torch.stack([n.float() for n in norms])).all()):
        return None
    return next(((n, t) for n, t in named if not bool(torch.isfinite(t).all())), None)


def _describe(t: Tensor) -> str:
    """``nan``, ``inf``, ``-inf`` for a scalar; ``3 of 120 values non-finite (nan, inf)`` otherwise."""
    t = t.detach()
    if t.numel() == 1:
        return str(float(t))
    bad = ~torch.isfinite(t)
    kinds = [k for k, m in (("nan", torch.isnan(t)), ("inf", torch.isposinf(t)), ("-inf", torch.isneginf(t))) if bool(m.any())]
    return f"{int(bad.sum())} of {t.numel()} values non-finite ({', '.join(kinds)})"
