"""The error :func:`lstmkit.train.fit` raises when training stops producing finite numbers.

Kept free of torch and Lightning so a command line can name it in an
``except`` clause without importing either.
"""

from __future__ import annotations


class TrainingDiverged(RuntimeError):
    """Training produced a non-finite loss, gradient or weight; the run was stopped before it could be saved.

    ``str(e)`` is one line meant to be shown as it is: where it happened
    (epoch, batch, optimiser step), which value was not finite, and what
    became of the checkpoints (the last good ``last.safetensors`` is left as
    it was). The same facts are attributes, for code that wants them.

    Attributes:
        epoch: the epoch it happened in, counted from 1.
        batch: the batch of that epoch, counted from 1.
        step: the optimiser step that was being taken, counted from 1.
        quantity: ``"loss"``, ``"gradient"`` or ``"weight"``.
        name: the parameter's name for a gradient or weight, else ``None``.
        checkpoint: the last good resumable checkpoint, if one was kept.
    """

    def __init__(self, message: str, *, epoch: int | None = None, batch: int | None = None,
                 step: int | None = None, quantity: str | None = None, name: str | None = None,
                 checkpoint: str | None = None) -> None:
        super().__init__(message)
        self.epoch, self.batch, self.step = epoch, batch, step
        self.quantity, self.name, self.checkpoint = quantity, name, checkpoint

    def extended(self, more: str, checkpoint: str | None = None) -> "TrainingDiverged":
        """A copy whose message ends with ``; more`` (the trainer adds what it did with the checkpoints)."""
        return TrainingDiverged(f"{self.args[0]}; {more}", epoch=self.epoch, batch=self.batch, step=self.step,
                                quantity=self.quantity, name=self.name, checkpoint=checkpoint)
