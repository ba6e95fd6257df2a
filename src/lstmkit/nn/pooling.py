"""Reduce a sequence of outputs to one vector per sequence, honouring lengths."""

from __future__ import annotations

import torch
from torch import Tensor, nn

POOL_MODES = ("last", "mean", "max")


def _lengths(output: Tensor, lengths) -> Tensor:
    T, B = output.shape[0], output.shape[1]
    if lengths is None:
        return torch.full((B,), T, dtype=torch.int64, device=output.device)
    return torch.as_tensor(lengths, dtype=torch.int64, device=output.device)


def _valid(output: Tensor, lengths: Tensor) -> Tensor:
    t = torch.arange(output.shape[0], device=output.device).unsqueeze(1)
    return (t < lengths.unsqueeze(0)).unsqueeze(-1)  # (T, B, 1)


def pool_last(output: Tensor, lengths=None, num_directions: int = 1) -> Tensor:
    """The last valid output of each sequence ``(B, F)``.

    For a bidirectional output the backward half is taken at step 0, where the
    backward direction has seen the whole sequence.
    """
    lens = _lengths(output, lengths)
    idx = (lens - 1).view(1, -1, 1).expand(1, output.shape[1], output.shape[2])
    last = output.gather(0, idx).squeeze(0)  # (B, F)
    if num_directions == 2:
        half = output.shape[2] // 2
        last = torch.cat([last[:, :half], output[0, :, half:]], dim=-1)
    return last


def pool_mean(output: Tensor, lengths=None) -> Tensor:
    """Mean over each sequence's valid steps ``(B, F)``."""
    lens = _lengths(output, lengths)
    total = (output * _valid(output, lens)).sum(0)
    return total / lens.unsqueeze(-1).to(output.dtype)


def pool_max(output: Tensor, lengths=None) -> Tensor:
    """Element-wise maximum over each sequence's valid steps ``(B, F)``."""
    lens = _lengths(output, lengths)
    masked = output.masked_fill(~_valid(output, lens), float("-inf"))
    return masked.amax(0)


class SequencePool(nn.Module):
    """Pool a time-major ``(T, B, F)`` (or batch-first) output to ``(B, F)``.

    Args:
        mode: ``'last'`` (last valid step; backward half at step 0 when
            bidirectional), ``'mean'`` or ``'max'`` over valid steps.
        num_directions: 2 for a bidirectional layer's output (``'last'`` only).
        batch_first: the output is ``(B, T, F)``.

    Example::

        >>> pool = SequencePool("mean")
        >>> pool(torch.randn(5, 2, 4), lengths=[5, 3]).shape
        torch.Size([2, 4])
    """

    def __init__(self, mode: str = "last", num_directions: int = 1, batch_first: bool = False) -> None:
        super().__init__()
        if mode not in POOL_MODES:
            raise ValueError(f"SequencePool: expected mode in {POOL_MODES}, got {mode!r}")
        if num_directions not in (1, 2):
            raise ValueError(f"SequencePool: expected num_directions 1 or 2, got {num_directions!r}")
        self.mode, self.num_directions, self.batch_first = mode, num_directions, batch_first

    def forward(self, output: Tensor, lengths=None) -> Tensor:
        if output.dim() != 3:
            raise ValueError(f"SequencePool: expected a 3-D output, got shape {tuple(output.shape)}")
        if self.batch_first:
            output = output.transpose(0, 1)
        if self.mode == "last":
            return pool_last(output, lengths, self.num_directions)
        return pool_mean(output, lengths) if self.mode == "mean" else pool_max(output, lengths)

    def extra_repr(self) -> str:
        return f"mode={self.mode!r}"
