"""The gated recurrent unit (Cho et al. 2014), in torch's formulation."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from .base import Cell, State


class GRUCell(Cell):
    r"""The GRU exactly as ``torch.nn.GRU`` computes it.

    .. math::
        \begin{aligned}
        r_t &= \sigma(W_{ir} x_t + b_{ir} + W_{hr} h_{t-1} + b_{hr}) \\
        z_t &= \sigma(W_{iz} x_t + b_{iz} + W_{hz} h_{t-1} + b_{hz}) \\
        n_t &= \tanh(W_{in} x_t + b_{in} + r_t \odot (W_{hn} h_{t-1} + b_{hn})) \\
        h_t &= (1 - z_t) \odot n_t + z_t \odot h_{t-1}
        \end{aligned}

    The reset gate multiplies the recurrent projection *including* its bias
    ``b_hn`` (torch's and cuDNN's convention, not the original paper's).

    Args:
        input_size, hidden_size, bias: as :class:`LSTMCell`.

    Parameters: ``weight_ih`` ``(3H, I)``, ``weight_hh`` ``(3H, H)``,
    ``bias_ih``, ``bias_hh`` ``(3H,)``; gate order r, z, n.

    Example::

        >>> cell = GRUCell(8, 16)
        >>> (h,) = cell.step(torch.randn(2, 8), cell.init_state(2))
    """

    kind = "gru"
    gate_names = ("r", "z", "n", "h")
    num_chunks = 3

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True) -> None:
        super().__init__(input_size, hidden_size, bias)
        self._init_recurrent_weights(3, hidden_size)
        self.reset_parameters()

    @classmethod
    def from_torch(cls, module: nn.Module) -> "GRUCell":
        """This cell from a ``torch.nn.GRUCell``, with a copy of its weights."""
        if type(module) is not nn.GRUCell:
            raise TypeError(f"{cls.__name__}.from_torch: expected a torch.nn.GRUCell, got {type(module).__name__}")
        p = module.weight_ih
        cell = cls(module.input_size, module.hidden_size, bias=bool(module.bias), )
        cell = cell.to(device=p.device, dtype=p.dtype)
        cell.load_state_dict(module.state_dict())
        return cell

    def to_torch(self) -> nn.Module:
        """An equivalent ``torch.nn.GRUCell`` with a copy of these weights."""
        if type(self) is not GRUCell:
            raise ValueError(f"{type(self).__name__}: torch.nn.GRUCell has no {self.kind!r} cell")
        p = self.weight_ih
        module = nn.GRUCell(self.input_size, self.hidden_size, bias=self.bias, device=p.device, dtype=p.dtype)
        module.load_state_dict(self.state_dict())
        return module

    def step(self, x_t: Tensor, state: State, trace: dict[str, Tensor] | None = None) -> State:
        (h_prev,) = state
        gx, gh = self._affine(x_t, h_prev)  # (B, 3H) each
        xr, xz, xn = gx.chunk(3, dim=1)
        hr, hz, hn = gh.chunk(3, dim=1)
        r = torch.sigmoid(xr + hr)  # reset gate
        z = torch.sigmoid(xz + hz)  # update gate: how much of the old state to keep
        n = torch.tanh(xn + r * hn)  # candidate
        h = (1 - z) * n + z * h_prev  # (B, H)
        if trace is not None:
            trace.update(r=r, z=z, n=n, h=h)
        return (h,)
