"""The LSTM cell with a forget gate (Hochreiter & Schmidhuber 1997; Gers et al. 2000)."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from .base import Cell, State


class LSTMCell(Cell):
    r"""The long short-term memory cell, exactly as ``torch.nn.LSTM`` computes it.

    .. math::
        \begin{aligned}
        i_t &= \sigma(W_{ii} x_t + b_{ii} + W_{hi} h_{t-1} + b_{hi}) \\
        f_t &= \sigma(W_{if} x_t + b_{if} + W_{hf} h_{t-1} + b_{hf}) \\
        g_t &= \tanh(W_{ig} x_t + b_{ig} + W_{hg} h_{t-1} + b_{hg}) \\
        o_t &= \sigma(W_{io} x_t + b_{io} + W_{ho} h_{t-1} + b_{ho}) \\
        c_t &= f_t \odot c_{t-1} + i_t \odot g_t \\
        h_t &= o_t \odot \tanh(c_t) \quad (\text{then } h_t = W_{hr} h_t \text{ if } proj\_size > 0)
        \end{aligned}

    Args:
        input_size: features of ``x_t``.
        hidden_size: units ``H``.
        bias: if ``False`` there are no ``bias_ih``/``bias_hh``. Default ``True``.
        proj_size: if ``> 0``, ``h_t`` is projected to this size by
            ``weight_hr`` (LSTMP, as torch). Default ``0``.
        forget_bias: if given, the forget-gate slice of ``bias_ih`` is set to
            this value and that of ``bias_hh`` to zero after the default
            initialisation (Jozefowicz et al. 2015 recommend 1.0). Default
            ``None`` (torch's initialisation).

    Parameters (torch's names and layout, gate order i, f, g, o):
        ``weight_ih`` ``(4H, input_size)``, ``weight_hh`` ``(4H, P or H)``,
        ``bias_ih`` ``(4H)``, ``bias_hh`` ``(4H)``, ``weight_hr`` ``(P, H)``.

    Shapes:
        ==========  ===============================
        ``x_t``     ``(B, input_size)``
        state       ``(h, c)``: ``(B, P or H)``, ``(B, H)``
        ==========  ===============================

    Example::

        >>> cell = LSTMCell(8, 16)
        >>> state = cell.init_state(4)
        >>> h, c = cell.step(torch.randn(4, 8), state)
        >>> h.shape
        torch.Size([4, 16])
    """

    kind = "lstm"
    gate_names = ("i", "f", "g", "o", "c", "h")
    num_chunks = 4

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool = True,
        proj_size: int = 0,
        forget_bias: float | None = None,
    ) -> None:
        super().__init__(input_size, hidden_size, bias)
        name = type(self).__name__
        if isinstance(proj_size, bool) or not isinstance(proj_size, int) or proj_size < 0:
            raise ValueError(f"{name}: expected proj_size to be an int >= 0, got {proj_size!r}")
        if proj_size >= hidden_size:
            raise ValueError(
                f"{name}: expected proj_size < hidden_size, got proj_size={proj_size} "
                f"and hidden_size={hidden_size}"
            )
        if forget_bias is not None and not bias:
            raise ValueError(f"{name}: forget_bias={forget_bias} needs bias=True")
        self.proj_size = proj_size
        self.forget_bias = forget_bias
        self._init_recurrent_weights(4, proj_size or hidden_size)
        if proj_size:
            self.weight_hr = nn.Parameter(torch.empty(proj_size, hidden_size))
        else:
            self.register_parameter("weight_hr", None)
        self._init_extra_parameters()
        self.reset_parameters()

    def _init_extra_parameters(self) -> None:
        """Hook for variants with more parameters (peepholes, layer norm)."""

    @property
    def output_size(self) -> int:
        return self.proj_size or self.hidden_size

    @property
    def state_sizes(self) -> tuple[int, ...]:
        return (self.output_size, self.hidden_size)

    def constructor_kwargs(self) -> dict[str, Any]:
        kwargs = super().constructor_kwargs()
        kwargs.update(proj_size=self.proj_size, forget_bias=self.forget_bias)
        return kwargs

    def reset_parameters(self) -> None:
        super().reset_parameters()
        self._reset_extra_parameters()
        if self.forget_bias is not None:
            h = self.hidden_size
            with torch.no_grad():
                self.bias_ih[h : 2 * h].fill_(self.forget_bias)
                self.bias_hh[h : 2 * h].zero_()

    def _reset_extra_parameters(self) -> None:
        """Hook: variants re-initialise their own extra parameters here."""

    def _project(self, h: Tensor) -> Tensor:
        return h if self.weight_hr is None else h @ self.weight_hr.t()

    @classmethod
    def from_torch(cls, module: nn.Module) -> "LSTMCell":
        """This cell from a ``torch.nn.LSTMCell``, with a copy of its weights."""
        if type(module) is not nn.LSTMCell:
            raise TypeError(f"{cls.__name__}.from_torch: expected a torch.nn.LSTMCell, got {type(module).__name__}")
        if cls is not LSTMCell:
            raise TypeError(f"{cls.__name__}.from_torch: torch.nn.LSTMCell has no {cls.kind!r} parameters; use LSTMCell.from_torch")
        p = module.weight_ih
        cell = cls(module.input_size, module.hidden_size, bias=bool(module.bias), )
        cell = cell.to(device=p.device, dtype=p.dtype)
        cell.load_state_dict(module.state_dict())
        return cell

    def to_torch(self) -> nn.Module:
        """An equivalent ``torch.nn.LSTMCell`` with a copy of these weights."""
        if type(self) is not LSTMCell or self.proj_size:
            raise ValueError(f"{type(self).__name__}: torch.nn.LSTMCell has no {self.kind!r} cell")
        p = self.weight_ih
        module = nn.LSTMCell(self.input_size, self.hidden_size, bias=self.bias, device=p.device, dtype=p.dtype)
        module.load_state_dict(self.state_dict())
        return module

    def step(self, x_t: Tensor, state: State, trace: dict[str, Tensor] | None = None) -> State:
        h, c = state
        gx, gh = self._affine(x_t, h)
        gates = gx + gh  # (B, 4H)
        i, f, g, o = gates.chunk(4, dim=1)
        i = torch.sigmoid(i)  # input gate: how much new information to write
        f = torch.sigmoid(f)  # forget gate: how much of the old cell to keep
        g = torch.tanh(g)  # candidate: the new information
        o = torch.sigmoid(o)  # output gate: how much of the cell to show
        c = f * c + i * g  # (B, H)
        h = self._project(o * torch.tanh(c))  # (B, P or H)
        if trace is not None:
            trace.update(i=i, f=f, g=g, o=o, c=c, h=h)
        return h, c

    def extra_repr(self) -> str:
        s = super().extra_repr()
        if self.proj_size:
            s += f", proj_size={self.proj_size}"
        if self.forget_bias is not None:
            s += f", forget_bias={self.forget_bias}"
        return s
