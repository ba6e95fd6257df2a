"""What a recurrence call asks for, independent of which engine runs it."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

#: Cell kinds with a known structure (engines may specialise on them).
KNOWN_KINDS = ("lstm", "peephole", "layernorm", "gru", "rnn_tanh", "rnn_relu")


@dataclass(frozen=True)
class RecurrenceSpec:
    """The configuration of a stack of recurrent layers.

    Attributes:
        kind: the cell kind (``cells[0].kind``); ``"custom"`` for user cells.
        num_layers: stacked layers ``L``.
        bidirectional: whether each layer also runs backwards over time.
        dropout: probability of torch's dropout on the outputs of every layer
            but the last (a fresh mask at every step), in training.
        input_dropout: variational dropout on each layer's input (one mask per
            sequence, shared by all steps), in training.
        hidden_dropout: variational dropout on ``h_{t-1}`` where it enters the
            recurrent product (one mask per sequence), in training.
        zoneout: probability that a unit of ``h`` keeps its previous value at a
            step (Krueger et al. 2017); in evaluation the expectation is used.
        zoneout_cell: the same for the LSTM cell state ``c``.
        training: whether the stochastic regularisers are active.
        return_gates: whether to return the per-step gate traces.
    """

    kind: str
    num_layers: int = 1
    bidirectional: bool = False
    dropout: float = 0.0
    input_dropout: float = 0.0
    hidden_dropout: float = 0.0
    zoneout: float = 0.0
    zoneout_cell: float = 0.0
    training: bool = False
    return_gates: bool = False

    @property
    def num_directions(self) -> int:
        return 2 if self.bidirectional else 1

    @property
    def is_plain(self) -> bool:
        """True when only torch.nn's own features are used (what torch's kernels run)."""
        return (
            self.kind in ("lstm", "gru", "rnn_tanh", "rnn_relu")
            and not self.return_gates
            and not self.uses_recurrent_regularisers
        )

    @property
    def uses_recurrent_regularisers(self) -> bool:
        # zoneout acts in training and evaluation alike (as its expectation in evaluation)
        zoneout = self.zoneout > 0 or self.zoneout_cell > 0
        return zoneout or (self.training and (self.hidden_dropout > 0 or self.input_dropout > 0))


@dataclass
class LayerRegularisers:
    """Masks for one layer and direction, drawn by the shared driver.

    ``hidden_mask`` ``(B, Hout)`` multiplies ``h_{t-1}`` in the recurrent product
    (already scaled by ``1/(1-p)``). ``zoneout_h``/``zoneout_c`` are the weight of
    the *previous* value: a ``(T, B, n)`` 0/1 tensor in training, a float (the
    probability) in evaluation, or ``None``.
    """

    hidden_mask: Tensor | None = None
    zoneout_h: Tensor | float | None = None
    zoneout_c: Tensor | float | None = None

    @property
    def empty(self) -> bool:
        return self.hidden_mask is None and self.zoneout_h is None and self.zoneout_c is None


def zoneout_mix(keep: Tensor | float | None, t: int, old: Tensor, new: Tensor) -> Tensor:
    """``keep * old + (1 - keep) * new`` at step ``t`` (no-op when ``keep`` is None)."""
    if keep is None:
        return new
    k = keep[t] if isinstance(keep, torch.Tensor) else keep
    return k * old + (1 - k) * new
