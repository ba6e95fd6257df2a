"""The Elman recurrent network, the plain RNN the LSTM improves on."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

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

    @classmethod
    def from_torch(cls, module: nn.Module) -> "RNNCell":
        """This cell from a ``torch.nn.RNNCell``, with a copy of its weights."""
        if type(module) is not nn.RNNCell:
            raise TypeError(f"{cls.__name__}.from_torch: expected a torch.nn.RNNCell, got {type(module).__name__}")
        p = module.weight_ih
        cell = cls(module.input_size, module.hidden_size, bias=bool(module.bias), nonlinearity=module.nonlinearity, )
        cell = cell.to(device=p.device, dtype=p.dtype)
        cell.load_state_dict(module.state_dict())
        return cell

    def to_torch(self) -> nn.Module:
        """An equivalent ``torch.nn.RNNCell`` with a copy of these weights."""
        if type(self) is not RNNCell:
            raise ValueError(f"{type(self).__name__}: torch.nn.RNNCell has no {self.kind!r} cell")
        p = self.weight_ih
        module = nn.RNNCell(self.input_size, self.hidden_size, bias=self.bias, nonlinearity=self.nonlinearity, device=p.device, dtype=p.dtype)
        module.load_state_dict(self.state_dict())
        return module

    def step(self, x_t: Tensor, state: State, trace: dict[str, Tensor] | None = None) -> State:
        (h,) = state
        gx, gh = self._affine(x_t, h)
        pre = gx + gh  # (B, H)
        h = torch.tanh(pre) if self.nonlinearity == "tanh" else torch.relu(pre)
        if trace is not None:
            trace.update(h=h)
        return (h,)
