"""Attention pooling: a learned query weighs each valid step of a sequence."""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn


def valid_mask(T: int, lengths, batch: int, device) -> Tensor:
    """``(T, B)`` bool, True on each sequence's first ``lengths[b]`` steps (all steps when ``lengths`` is None)."""
    if lengths is None:
        return torch.ones(T, batch, dtype=torch.bool, device=device)
    lens = torch.as_tensor(lengths, dtype=torch.int64, device=device)
    if tuple(lens.shape) != (batch,):
        raise ValueError(f"AttentionPool: expected lengths of shape ({batch},), got {tuple(lens.shape)}")
    if batch and (lens.min() < 1 or lens.max() > T):
        raise ValueError(f"AttentionPool: expected every length in 1..{T}, got {lens.tolist()}")
    return torch.arange(T, device=device).unsqueeze(1) < lens.unsqueeze(0)


class AttentionPool(nn.Module):
    r"""Pool a time-major ``(T, B, F)`` output to ``(B, F)`` with a learned query.

    Each step's feature vector :math:`h_t` is scored against one learned
    query :math:`q` (after a ``tanh`` projection, as Yang et al. 2016), the
    scores are soft-maxed over the sequence's *valid* steps only, and the
    output is the weighted sum:

    .. math::
        u_t = \tanh(W h_t + b), \qquad s_t = q^\top u_t / \sqrt{A}, \qquad
        \alpha = \mathrm{softmax}_{t < L}(s), \qquad y = \sum_{t < L} \alpha_t h_t

    Padded steps (``t >= L``) get weight exactly ``0``.

    Args:
        features: ``F``, the size of each step's features.
        attention_size: ``A``, the size of the projection. Default ``F``.
        batch_first: the output is ``(B, T, F)``. Default ``False``.

    Shapes:
        ============== ====================
        output         ``(T, B, F)``
        lengths        ``(B,)`` or ``None``
        result         ``(B, F)``
        :attr:`last_weights`  ``(B, T)`` (after a call)
        ============== ====================

    Example::

        >>> pool = AttentionPool(4)
        >>> y = pool(torch.randn(5, 2, 4), lengths=[5, 3])
        >>> y.shape, float(pool.last_weights[1, 3:].sum())
        (torch.Size([2, 4]), 0.0)
    """

    def __init__(self, features: int, attention_size: int | None = None, batch_first: bool = False) -> None:
        super().__init__()
        if not isinstance(features, int) or features < 1:
            raise ValueError(f"AttentionPool: expected features a positive int, got {features!r}")
        attention_size = attention_size or features
        self.features, self.batch_first = features, batch_first
        self.proj = nn.Linear(features, attention_size)
        self.query = nn.Parameter(torch.randn(attention_size) / math.sqrt(attention_size))
        self.last_weights: Tensor | None = None

    def weights(self, output: Tensor, lengths=None) -> Tensor:
        """The attention weights ``(T, B)`` of a time-major output; zero on padding, summing to 1."""
        T, B, F = output.shape
        mask = valid_mask(T, lengths, B, output.device)  # (T, B)
        scores = torch.tanh(self.proj(output)) @ self.query / math.sqrt(self.query.numel())  # (T, B)
        scores = scores.masked_fill(~mask, float("-inf"))
        return torch.softmax(scores, dim=0).masked_fill(~mask, 0.0)

    def forward(self, output: Tensor, lengths=None) -> Tensor:
        if output.dim() != 3 or output.shape[-1] != self.features:
            raise ValueError(f"AttentionPool: expected output of shape (T, B, {self.features}), got {tuple(output.shape)}")
        if self.batch_first:
            output = output.transpose(0, 1)
        alpha = self.weights(output, lengths)  # (T, B)
        self.last_weights = alpha.detach().transpose(0, 1)
        return (alpha.unsqueeze(-1) * output).sum(0)  # (B, F)

    def extra_repr(self) -> str:
        return f"features={self.features}, attention_size={self.query.numel()}"
