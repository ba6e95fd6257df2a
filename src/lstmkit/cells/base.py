"""The contract every recurrent cell follows.

A cell is the *specification* of one recurrent step. It owns its parameters in
torch's layout and names (``weight_ih``, ``weight_hh``, ``bias_ih``,
``bias_hh``), knows its state (``init_state``) and computes exactly one step
(``step``). Engines in :mod:`lstmkit.kernels` may run whole sequences faster,
but they are tested against this step.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import torch
from torch import Tensor, nn

State = tuple[Tensor, ...]


class ShapeError(ValueError, RuntimeError):
    """A size or batch mismatch: a ``ValueError`` (lstmkit's convention) that
    is also the ``RuntimeError`` torch.nn raises for the same input."""


class ArgumentTypeError(TypeError, ValueError):
    """An argument of the wrong type: the ``TypeError`` torch.nn raises, and a
    ``ValueError`` as lstmkit's earlier releases raised."""


class Cell(nn.Module):
    """Base class of all cells.

    Subclasses set ``kind`` (a name the kernels registry understands, or
    ``"custom"`` for cells only the reference engine can run), ``gate_names``
    (the activations a trace records, in order) and implement :meth:`step`.

    Attributes:
        input_size: features of ``x_t``.
        hidden_size: units ``H`` of the cell state / hidden state.
        output_size: features of the emitted ``h_t`` (``proj_size`` when an
            LSTM projects, else ``hidden_size``).
    """

    kind: ClassVar[str] = "custom"
    gate_names: ClassVar[tuple[str, ...]] = ("h",)
    num_chunks: ClassVar[int] = 1

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True) -> None:
        super().__init__()
        name = type(self).__name__
        for arg, value in (("input_size", input_size), ("hidden_size", hidden_size)):
            if isinstance(value, bool) or not isinstance(value, int):
                raise ArgumentTypeError(f"{name}: expected {arg} to be a positive int, got {value!r}")
            if value < 1:
                raise ValueError(f"{name}: expected {arg} to be a positive int, got {value!r}")
        if not isinstance(bias, bool):
            raise TypeError(f"{name}: expected bias to be a bool, got {type(bias).__name__}")
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.bias = bias

    # ------------------------------------------------------------------ sizes
    @property
    def output_size(self) -> int:
        return self.hidden_size

    @property
    def state_sizes(self) -> tuple[int, ...]:
        """Feature size of each state tensor, in order (h first)."""
        return (self.output_size,)

    # ------------------------------------------------------------- interface
    def init_state(self, batch: int, device: Any = None, dtype: torch.dtype | None = None) -> State:
        """Zero state for ``batch`` sequences: a tuple of ``(batch, size)`` tensors."""
        dtype = dtype or self.weight_ih.dtype
        device = device if device is not None else self.weight_ih.device
        return tuple(torch.zeros(batch, n, device=device, dtype=dtype) for n in self.state_sizes)

    def step(self, x_t: Tensor, state: State, trace: dict[str, Tensor] | None = None) -> State:
        """One time step: ``x_t`` is ``(B, input_size)``; returns the new state.

        When ``trace`` is a dict, the step stores its named activations
        (``gate_names``) in it, each ``(B, H)``.
        """
        raise NotImplementedError

    # -------------------------------------------------------- torch drop-in
    def forward(self, input: Tensor, hx: Tensor | tuple[Tensor, ...] | None = None):
        """torch.nn's cell call: ``input`` ``(B, I)`` or ``(I,)``, ``hx`` the
        state (``(h, c)`` for LSTMs, ``h`` otherwise; zeros if ``None``).
        Returns the new state in the same form, as ``torch.nn.LSTMCell``,
        ``GRUCell`` and ``RNNCell`` do."""
        name = type(self).__name__
        if not isinstance(input, Tensor):
            raise TypeError(f"{name}: expected input to be a torch.Tensor, got {type(input).__name__}")
        if input.dim() not in (1, 2):
            raise ValueError(f"{name}: Expected input to be 1D or 2D, got {input.dim()}D instead")
        batched = input.dim() == 2
        x = input if batched else input.unsqueeze(0)
        if x.shape[1] != self.input_size:
            raise ShapeError(f"{name}: input has inconsistent input_size: got {x.shape[1]} expected {self.input_size}")
        n = len(self.state_sizes)
        if hx is None:
            state = self.init_state(x.shape[0], x.device, x.dtype)
        else:
            parts = (hx,) if isinstance(hx, Tensor) else tuple(hx)
            if len(parts) != n:
                raise ValueError(f"{name}: expected the state as {n} tensor(s), got {len(parts)}")
            state = []
            for k, (s, size) in enumerate(zip(parts, self.state_sizes)):
                label = "hidden" if n == 1 else f"hx[{k}]"
                if s.dim() not in (1, 2):
                    raise ValueError(f"{name}: Expected {label} to be 1D or 2D, got {s.dim()}D instead")
                if s.dim() != input.dim():
                    raise ShapeError(
                        f"{name}: expected {label} to be {input.dim()}D for a {input.dim()}D input, got {s.dim()}D"
                    )
                s = s if batched else s.unsqueeze(0)
                if s.shape[0] != x.shape[0]:
                    raise ShapeError(f"{name}: Input batch size {x.shape[0]} doesn't match hidden{k} batch size {s.shape[0]}")
                if s.shape[1] != size:
                    raise ShapeError(f"{name}: hidden{k} has inconsistent hidden_size: got {s.shape[1]}, expected {size}")
                state.append(s)
            state = tuple(state)
        new = self.step(x, state)
        if not batched:
            new = tuple(s.squeeze(0) for s in new)
        return new if n > 1 else new[0]

    def constructor_kwargs(self) -> dict[str, Any]:
        """Arguments that rebuild an equivalent (freshly initialised) cell."""
        return {"input_size": self.input_size, "hidden_size": self.hidden_size, "bias": self.bias}

    def clone(self, **overrides: Any) -> "Cell":
        """A new cell of the same kind, with some constructor arguments changed."""
        kwargs = self.constructor_kwargs()
        kwargs.update(overrides)
        return type(self)(**kwargs)

    # ---------------------------------------------------------------- shared
    def _init_recurrent_weights(self, gates: int, rec_in: int) -> None:
        """Create weight_ih, weight_hh, bias_ih, bias_hh in torch's layout."""
        h = self.hidden_size
        self.weight_ih = nn.Parameter(torch.empty(gates * h, self.input_size))
        self.weight_hh = nn.Parameter(torch.empty(gates * h, rec_in))
        if self.bias:
            self.bias_ih = nn.Parameter(torch.empty(gates * h))
            self.bias_hh = nn.Parameter(torch.empty(gates * h))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)

    def reset_parameters(self) -> None:
        """torch's default: every weight and bias uniform in ±1/√H."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            nn.init.uniform_(p, -bound, bound)

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}" + ("" if self.bias else ", bias=False")

    def _affine(self, x_t: Tensor, h: Tensor) -> tuple[Tensor, Tensor]:
        """The input and recurrent projections with their biases."""
        gx = x_t @ self.weight_ih.t()
        gh = h @ self.weight_hh.t()
        if self.bias_ih is not None:
            gx = gx + self.bias_ih
            gh = gh + self.bias_hh
        return gx, gh
