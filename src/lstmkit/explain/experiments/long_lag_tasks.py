"""Synthetic long-time-lag tasks of Hochreiter & Schmidhuber (1997).

**Adding problem** (experiment 4). Each step has two inputs: a value
``X`` drawn uniformly from ``[-1, 1]`` and a marker in ``{0, 1}``. Two steps are
marked: the first among the first 10 steps, the second among the first
``T/2 - 1`` (never the same step). The target, given after the last step, is
``0.5 + (X1 + X2) / 4``, in ``[0, 1]``. A sequence counts as right when the
absolute error of the prediction is below 0.04 (the paper's rule).

**Temporal order** (experiment 6a). Sequences of ``T`` to ``T + 10`` one-hot
symbols from ``{a, b, c, d, B, E, X, Y}``: ``E`` first, ``B`` last, ``a``-``d``
noise in between, except at two steps ``t1`` in ``[T/10, T/5]`` and ``t2`` in
``[T/2, 3T/5]`` (counted from ``E``) that hold ``X`` or ``Y``. The class is the order: XX, XY, YX or
YY. A sequence counts as right when the predicted class is the true one.
"""

from __future__ import annotations

import numpy as np
import torch

ADDING_TOLERANCE = 0.04
TEMPORAL_SYMBOLS = ("a", "b", "c", "d", "B", "E", "X", "Y")
TEMPORAL_CLASSES = ("XX", "XY", "YX", "YY")


def adding_batch(batch: int, T: int, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """``x`` ``(B, T, 2)`` (value, marker) and the target ``y`` ``(B,)``."""
    if T < 12:
        raise ValueError(f"adding_batch: expected T >= 12 (the first marker is among the first 10 steps), got {T}")
    values = torch.rand(batch, T, generator=gen) * 2 - 1
    first = torch.randint(0, 10, (batch,), generator=gen)
    second_hi = max(11, T // 2 - 1)
    second = torch.randint(0, second_hi - 1, (batch,), generator=gen)
    second = second + (second >= first).long()  # never the first marker's step
    markers = torch.zeros(batch, T)
    rows = torch.arange(batch)
    markers[rows, first] = 1.0
    markers[rows, second] = 1.0
    y = 0.5 + (values[rows, first] + values[rows, second]) / 4
    return torch.stack([values, markers], -1), y


def adding_wrong(pred, target, tolerance: float = ADDING_TOLERANCE) -> int:
    """How many predictions are off by ``tolerance`` or more (the paper's "wrong" sequences)."""
    pred = torch.as_tensor(pred, dtype=torch.float64).reshape(-1)
    target = torch.as_tensor(target, dtype=torch.float64).reshape(-1)
    if pred.shape != target.shape:
        raise ValueError(f"adding_wrong: expected predictions and targets of the same length, "
                         f"got {tuple(pred.shape)} and {tuple(target.shape)}")
    return int(((pred - target).abs() >= tolerance).sum())


def temporal_order_batch(batch: int, T: int, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``x`` ``(B, T + 10, 8)`` one-hot, ``lengths`` ``(B,)`` in ``[T, T + 10]`` and the class ``(B,)``.

    Shorter sequences are padded with zero steps at the *start*, so every
    sequence ends on the last step and the model reads the answer there
    (no per-sequence lengths needed in the layer).
    """
    if T < 20:
        raise ValueError(f"temporal_order_batch: expected T >= 20, got {T}")
    Tmax = T + 10
    lengths = torch.randint(T, Tmax + 1, (batch,), generator=gen)
    start = Tmax - lengths  # (B,) first real step
    sym = torch.randint(0, 4, (batch, Tmax), generator=gen)  # a-d noise
    t1 = torch.randint(T // 10, T // 5 + 1, (batch,), generator=gen)
    t2 = torch.randint(T // 2, 3 * T // 5 + 1, (batch,), generator=gen)
    which = torch.randint(0, 2, (batch, 2), generator=gen)  # 0: X, 1: Y
    rows = torch.arange(batch)
    sym[rows, start] = 5  # E
    sym[:, -1] = 4  # B
    sym[rows, start + t1] = 6 + which[:, 0]
    sym[rows, start + t2] = 6 + which[:, 1]
    x = torch.nn.functional.one_hot(sym, 8).float()
    x[torch.arange(Tmax)[None, :] < start[:, None]] = 0.0
    return x, lengths, which[:, 0] * 2 + which[:, 1]


def set_seed_generator(seed: int) -> torch.Generator:
    gen = torch.Generator()
    gen.manual_seed(int(seed))
    np.random.seed(int(seed) % (2**32))
    return gen
