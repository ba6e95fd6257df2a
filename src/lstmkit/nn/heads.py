"""Output heads on top of recurrent features."""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn


class Head(nn.Module):
    r"""A linear read-out, optionally followed by (log-)softmax over classes.

    .. math:: y = W x + b, \qquad p = \mathrm{softmax}(y)

    Args:
        in_features: features of the recurrent output (``D * Hout``).
        out_features: outputs (classes, horizon steps, vocabulary size...).
        activation: ``None`` (logits, default), ``'softmax'`` or ``'log_softmax'``.
        dropout: dropout on the features before the linear map. Default ``0``.

    Shapes: ``(*, in_features)`` -> ``(*, out_features)``.

    Example::

        >>> head = Head(32, 5, activation="softmax")
        >>> head(torch.randn(4, 32)).sum(-1)
        tensor([1.0000, 1.0000, 1.0000, 1.0000], grad_fn=<SumBackward1>)
    """

    def __init__(self, in_features: int, out_features: int, activation: str | None = None, dropout: float = 0.0):
        super().__init__()
        if activation not in (None, "softmax", "log_softmax"):
            raise ValueError(f"Head: expected activation None, 'softmax' or 'log_softmax', got {activation!r}")
        self.activation = activation
        self.dropout = nn.Dropout(dropout) if dropout else nn.Identity()
        self.linear = nn.Linear(in_features, out_features)

    def forward(self, x: Tensor) -> Tensor:
        if x.shape[-1] != self.linear.in_features:
            raise ValueError(
                f"Head: expected input of shape (*, {self.linear.in_features}), got {tuple(x.shape)}"
            )
        y = self.linear(self.dropout(x))
        if self.activation == "softmax":
            return F.softmax(y, dim=-1)
        if self.activation == "log_softmax":
            return F.log_softmax(y, dim=-1)
        return y

