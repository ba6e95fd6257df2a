"""Batches of variable-length sequences: length-bucketed sampling and padding."""

from __future__ import annotations

import random
from typing import Iterator, Sequence

import torch
from torch import Tensor


class BucketBatchSampler:
    """Batches of indices whose sequences have similar lengths, so little time is spent on padding.

    Each epoch (training): shuffle all indices, cut them into pools of
    ``batch_size * pool`` examples, sort each pool by length, cut the pools
    into batches and shuffle the batches. Without ``shuffle`` (evaluation),
    batches follow length order and every index appears exactly once.
    Randomness comes from Python's ``random`` module, which
    :func:`lstmkit.train.seed_everything` seeds, so a seeded run repeats.

    Args:
        lengths: the length of each example.
        batch_size: examples per batch.
        shuffle: draw a new order each epoch. Default ``True``.
        pool: batches' worth of examples sorted together. Default ``50``.

    Example::

        >>> list(BucketBatchSampler([5, 1, 4, 2], 2, shuffle=False))
        [[1, 3], [2, 0]]
    """

    def __init__(self, lengths: Sequence[int], batch_size: int, shuffle: bool = True, pool: int = 50) -> None:
        if batch_size < 1 or pool < 1:
            raise ValueError(f"BucketBatchSampler: expected batch_size >= 1 and pool >= 1, got {batch_size}, {pool}")
        self.lengths = list(lengths)
        self.batch_size, self.shuffle, self.pool = batch_size, shuffle, pool

    def __iter__(self) -> Iterator[list[int]]:
        idx = list(range(len(self.lengths)))
        if not self.shuffle:
            idx.sort(key=lambda i: self.lengths[i])
            yield from (idx[s : s + self.batch_size] for s in range(0, len(idx), self.batch_size))
            return
        random.shuffle(idx)
        size = self.batch_size * self.pool
        batches = []
        for s in range(0, len(idx), size):
            chunk = sorted(idx[s : s + size], key=lambda i: self.lengths[i])
            batches.extend(chunk[b : b + self.batch_size] for b in range(0, len(chunk), self.batch_size))
        random.shuffle(batches)
        yield from batches

    def __len__(self) -> int:
        return -(-len(self.lengths) // self.batch_size)


def pad_sequences(seqs: Sequence[Tensor], value: float = 0) -> Tensor:
    """Stack ``(T_i, *)`` tensors into ``(B, max T_i, *)``, filling the tail with ``value``."""
    if not seqs:
        raise ValueError("pad_sequences: expected at least one sequence, got none")
    T = max(s.shape[0] for s in seqs)
    out = seqs[0].new_full((len(seqs), T, *seqs[0].shape[1:]), value)
    for i, s in enumerate(seqs):
        out[i, : s.shape[0]] = s
    return out


def length_tensor(seqs: Sequence) -> Tensor:
    """``(B,)`` int64 lengths of the sequences."""
    return torch.tensor([len(s) for s in seqs], dtype=torch.int64)
