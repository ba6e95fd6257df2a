"""The Elman recurrent network, the plain RNN the LSTM improves on."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from .base import Cell, State


class RNNCell(Cell):
    r"""The Elman RNN, as ``torch.nn.RNN`` computes it.

    .. math::
        h_t = \phi(W_{ih} x_t + b_{ih} + W_{hh} h_{t-1} + b_{hh}), \quad \phi \in \{\tanh, \mathrm{ReLU}\}

    Args:
        input_size, hidden_size, bias: as :class:`LSTMCell`.
        nonlinearity: ``'tanh'`` (default) or ``'relu'``.

    Example::

        >>> cell = RNNCell(8, 16, nonlinearity="relu")
        >>> (h,) = cell.step(torch.randn(2, 8), cell.init_state(2))
    """

    gate_names = ("h",)
    num_chunks = 1

    def __init__(
        self, input_size: int, hidden_size: int, bias: bool = True, nonlinearity: str = "tanh"
    ) -> None:
        super().__init__(input_size, hidden_size, bias)
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(
                f"{type(self).__name__}: expected nonlinearity 'tanh' or 'relu', got {nonlinearity!r}"
            )
        self.nonlinearity = nonlinearity
        self._init_recurrent_weights(1, hidden_size)
        self.reset_parameters()

    @property
    def kind(self) -> str:  # type: ignore[override]
        return "rnn_" + self.nonlinearity

    def constructor_kwargs(self) -> dict[str, Any]:
        kwargs = super().constructor_kwargs()
        kwargs["nonlinearity"] = self.nonlinearity
        return kwargs

    def step(self, x_t: Tensor, state: State, trace: dict[str, Tensor] | None = None) -> State:
        (h,) = state
        gx, gh = self._affine(x_t, h)
        pre = gx + gh  # (B, H)
        h = torch.tanh(pre) if self.nonlinearity == "tanh" else torch.relu(pre)
        if trace is not None:
            trace.update(h=h)
        return (h,)
