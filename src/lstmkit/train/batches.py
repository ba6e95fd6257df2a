"""Mini-batches of in-memory tensors without per-example indexing.

``torch.utils.data.DataLoader`` over a ``TensorDataset`` indexes and stacks
one example at a time, which dominates an epoch when the model is small.
:class:`TensorBatches` slices whole batches instead and reshuffles with its
own generator each epoch, so runs repeat exactly for a given seed.
"""

from __future__ import annotations

import torch


class TensorBatches:
    """Iterate ``(t[idx] for t in tensors)`` over shuffled batches; pass it to :func:`lstmkit.train.fit`.

    Args:
        tensors: tensors with the same first dimension ``N``.
        batch_size: examples per batch (the last one may be smaller).
        shuffle: a new order every epoch. Default ``True``.
        seed: seed of the shuffling generator. Default ``0``.
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

    def __len__(self) -> int:
        n = self.tensors[0].shape[0]
        return (n + self.batch_size - 1) // self.batch_size

    def __iter__(self):
        n = self.tensors[0].shape[0]
        order = torch.randperm(n, generator=self.generator) if self.shuffle else torch.arange(n)
        for idx in order.split(self.batch_size):
            yield tuple(t[idx] for t in self.tensors)
