"""The peephole LSTM (Gers & Schmidhuber 2000)."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from .base import State
from .lstm import LSTMCell


class PeepholeLSTMCell(LSTMCell):
    r"""LSTM whose gates also look at the cell state through diagonal peepholes.

    .. math::
        \begin{aligned}
        i_t &= \sigma(W_{ii} x_t + b_{ii} + W_{hi} h_{t-1} + b_{hi} + p_i \odot c_{t-1}) \\
        f_t &= \sigma(W_{if} x_t + b_{if} + W_{hf} h_{t-1} + b_{hf} + p_f \odot c_{t-1}) \\
        g_t &= \tanh(W_{ig} x_t + b_{ig} + W_{hg} h_{t-1} + b_{hg}) \\
        c_t &= f_t \odot c_{t-1} + i_t \odot g_t \\
        o_t &= \sigma(W_{io} x_t + b_{io} + W_{ho} h_{t-1} + b_{ho} + p_o \odot c_t) \\
        h_t &= o_t \odot \tanh(c_t)
        \end{aligned}

    The input and forget gates see the previous cell state, the output gate
    the new one. With ``p_i = p_f = p_o = 0`` this is :class:`LSTMCell`.

    Args: as :class:`LSTMCell`.

    Extra parameters: ``weight_ci``, ``weight_cf``, ``weight_co``, each ``(H,)``,
    initialised like the other weights (uniform ±1/√H).

    Example::

        >>> cell = PeepholeLSTMCell(8, 16)
        >>> h, c = cell.step(torch.randn(2, 8), cell.init_state(2))
    """

    kind = "peephole"

    def _init_extra_parameters(self) -> None:
        h = self.hidden_size
        self.weight_ci = nn.Parameter(torch.empty(h))
        self.weight_cf = nn.Parameter(torch.empty(h))
        self.weight_co = nn.Parameter(torch.empty(h))

    def step(self, x_t: Tensor, state: State, trace: dict[str, Tensor] | None = None) -> State:
        h, c_prev = state
        gx, gh = self._affine(x_t, h)
        gates = gx + gh  # (B, 4H)
        i, f, g, o = gates.chunk(4, dim=1)
        i = torch.sigmoid(i + self.weight_ci * c_prev)
        f = torch.sigmoid(f + self.weight_cf * c_prev)
        g = torch.tanh(g)
        c = f * c_prev + i * g  # (B, H)
        o = torch.sigmoid(o + self.weight_co * c)  # the output gate peeks at the new cell
        h = self._project(o * torch.tanh(c))
        if trace is not None:
            trace.update(i=i, f=f, g=g, o=o, c=c, h=h)
        return h, c
