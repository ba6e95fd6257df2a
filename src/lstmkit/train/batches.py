"""Mini-batches of in-memory tensors without per-example indexing.

``torch.utils.data.DataLoader`` over a ``TensorDataset`` indexes and stacks
one example at a time, which dominates an epoch when the model is small.
:class:`TensorBatches` slices whole batches instead and reshuffles with its
own generator each epoch, so runs repeat exactly for a given seed; its
``state_dict`` holds that generator and the position in the current epoch,
so a resumed run continues with the same order.
"""

from __future__ import annotations

from typing import Any

import torch


class TensorBatches:
    """Iterate ``(t[idx] for t in tensors)`` over shuffled batches; pass it to :func:`lstmkit.train.fit`.

    Args:
        tensors: tensors with the same first dimension ``N``.
        batch_size: examples per batch (the last one may be smaller).
        shuffle: a new order every epoch. Default ``True``.
        seed: seed of the shuffling generator. Default ``0``.

    ``state_dict()`` / ``load_state_dict()`` save and restore the data order:
    the generator and how many batches of the current epoch were handed out.
    Restored mid-epoch, the next iteration rebuilds that epoch's order and
    continues after the batches already handed out; restored between epochs,
    it starts the next epoch as the uninterrupted run would.

    Example::

        >>> b = TensorBatches(torch.arange(5.0), batch_size=2, shuffle=False)
        >>> [x.tolist() for (x,) in b]
        [[0.0, 1.0], [2.0, 3.0], [4.0]]
    """

    def __init__(self, *tensors: torch.Tensor, batch_size: int, shuffle: bool = True, seed: int = 0):
        if not tensors or any(t.shape[0] != tensors[0].shape[0] for t in tensors):
            raise ValueError(f"TensorBatches: expected tensors with the same first dimension, got "
                             f"{[tuple(t.shape) for t in tensors]}")
        if batch_size < 1:
            raise ValueError(f"TensorBatches: expected batch_size >= 1, got {batch_size}")
        self.tensors = tensors
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.generator = torch.Generator().manual_seed(seed)
        self._epoch_start = self.generator.get_state()  # the generator before this epoch's order was drawn
        self._position = 0  # batches of the current epoch handed out
        self._resume_at = 0  # after load_state_dict mid-epoch: batches to skip in the next iteration

    def __len__(self) -> int:
        n = self.tensors[0].shape[0]
        return (n + self.batch_size - 1) // self.batch_size

    def __iter__(self):
        n = self.tensors[0].shape[0]
        skip, self._resume_at = self._resume_at, 0
        if skip:
            self.generator.set_state(self._epoch_start)  # draw the interrupted epoch's order again
        self._epoch_start = self.generator.get_state()
        self._position = skip
        order = torch.randperm(n, generator=self.generator) if self.shuffle else torch.arange(n)
        for k, idx in enumerate(order.split(self.batch_size)):
            if k < skip:
                continue
            self._position = k + 1
            yield tuple(t[idx] for t in self.tensors)

    def state_dict(self) -> dict[str, Any]:
        """The generator, its state before the current epoch's order and the batches handed out since."""
        return {"generator": self.generator.get_state(), "epoch_start": self._epoch_start.clone(),
                "position": self._position, "batches": len(self)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if int(state["batches"]) != len(self):
            raise ValueError(f"TensorBatches: the saved state is for {state['batches']} batches per epoch, "
                             f"this one has {len(self)} (different data or batch_size)")
        self.generator.set_state(state["generator"].to(torch.uint8).cpu())
        self._epoch_start = state["epoch_start"].to(torch.uint8).cpu()
        position = int(state["position"])
        self._position = position
        self._resume_at = position if 0 < position < len(self) else 0
