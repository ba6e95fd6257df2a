"""The layer-normalised LSTM (Ba, Kiros & Hinton 2016)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .base import State
from .lstm import LSTMCell


class LayerNormLSTMCell(LSTMCell):
    r"""LSTM with layer normalisation of both projections and of the cell.

    .. math::
        \begin{aligned}
        (i_t, f_t, g_t, o_t) &= \mathrm{LN}_{ih}(W_{ih} x_t) + \mathrm{LN}_{hh}(W_{hh} h_{t-1}) + b_{ih} + b_{hh}
            \quad (\sigma, \sigma, \tanh, \sigma) \\
        c_t &= f_t \odot c_{t-1} + i_t \odot g_t \\
        h_t &= o_t \odot \tanh(\mathrm{LN}_c(c_t))
        \end{aligned}

    where :math:`\mathrm{LN}(a) = \gamma \odot (a - \mu(a)) / \sqrt{\sigma^2(a) + \epsilon} + \beta`
    normalises over the feature dimension (all ``4H`` gate pre-activations at
    once for the projections, ``H`` for the cell). The state carried forward is
    the un-normalised ``c_t``.

    Args: as :class:`LSTMCell`, plus ``eps`` (default ``1e-5``).

    Extra parameters (gains start at 1, biases at 0):
        ``ln_ih_weight``, ``ln_ih_bias``, ``ln_hh_weight``, ``ln_hh_bias`` ``(4H,)``;
        ``ln_c_weight``, ``ln_c_bias`` ``(H,)``.

    Example::

        >>> cell = LayerNormLSTMCell(8, 16)
        >>> h, c = cell.step(torch.randn(2, 8), cell.init_state(2))
    """

    kind = "layernorm"

    def __init__(self, *args, eps: float = 1e-5, **kwargs) -> None:
        self.eps = eps
        super().__init__(*args, **kwargs)

    def constructor_kwargs(self):
        kwargs = super().constructor_kwargs()
        kwargs["eps"] = self.eps
        return kwargs

    def _init_extra_parameters(self) -> None:
        h = self.hidden_size
        self.ln_ih_weight = nn.Parameter(torch.empty(4 * h))
        self.ln_ih_bias = nn.Parameter(torch.empty(4 * h))
        self.ln_hh_weight = nn.Parameter(torch.empty(4 * h))
        self.ln_hh_bias = nn.Parameter(torch.empty(4 * h))
        self.ln_c_weight = nn.Parameter(torch.empty(h))
        self.ln_c_bias = nn.Parameter(torch.empty(h))

    def _reset_extra_parameters(self) -> None:
        with torch.no_grad():
            for name in ("ln_ih", "ln_hh", "ln_c"):
                getattr(self, name + "_weight").fill_(1.0)
                getattr(self, name + "_bias").zero_()

    def _ln(self, a: Tensor, which: str) -> Tensor:
        w, b = getattr(self, which + "_weight"), getattr(self, which + "_bias")
        return F.layer_norm(a, (a.shape[-1],), w, b, self.eps)

    def step(self, x_t: Tensor, state: State, trace: dict[str, Tensor] | None = None) -> State:
        h, c = state
        gates = self._ln(x_t @ self.weight_ih.t(), "ln_ih") + self._ln(h @ self.weight_hh.t(), "ln_hh")
        if self.bias_ih is not None:
            gates = gates + self.bias_ih + self.bias_hh  # (B, 4H)
        i, f, g, o = gates.chunk(4, dim=1)
        i = torch.sigmoid(i)
        f = torch.sigmoid(f)
        g = torch.tanh(g)
        o = torch.sigmoid(o)
        c = f * c + i * g  # (B, H)
        h = self._project(o * torch.tanh(self._ln(c, "ln_c")))
        if trace is not None:
            trace.update(i=i, f=f, g=g, o=o, c=c, h=h)
        return h, c
