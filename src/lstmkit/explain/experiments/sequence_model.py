"""One recurrent layer of lstmkit.nn and a linear read-out of its last hidden state."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ...nn import GRU, LSTM, RNN, chrono_init_

CELLS = {"rnn": RNN, "gru": GRU, "lstm": LSTM}
#: gate initialisations the experiments compare (the Elman RNN has no gate: every init leaves it as torch makes it)
INITS = ("chrono", "forget1", "torch")


class SequenceModel(nn.Module):
    """``x`` ``(B, T, I)`` -> ``(B, outputs)`` from the hidden state after each sequence's last step.

    ``cell`` is ``rnn`` (Elman, tanh), ``gru`` or ``lstm``; all three get the
    same hidden size. ``forget_bias`` (LSTM only) sets the forget-gate bias.
    """

    def __init__(self, cell: str, input_size: int, hidden_size: int, outputs: int = 1,
                 forget_bias: float | None = None) -> None:
        super().__init__()
        if cell not in CELLS:
            raise ValueError(f"SequenceModel: expected cell in {tuple(CELLS)}, got {cell!r}")
        kw = {"forget_bias": forget_bias} if cell == "lstm" and forget_bias is not None else {}
        self.cell = cell
        self.rnn = CELLS[cell](input_size, hidden_size, batch_first=True, **kw)
        self.head = nn.Linear(hidden_size, outputs)

    def forward(self, x: Tensor, lengths: Tensor | None = None) -> Tensor:
        _, state = self.rnn(x, lengths=lengths)
        h = state[0] if isinstance(state, tuple) else state  # (L, B, H)
        return self.head(h[-1])


def build(cell: str, input_size: int, hidden_size: int, outputs: int, seed: int, init: str = "torch",
          max_lag: int = 0) -> SequenceModel:
    """A seeded :class:`SequenceModel`.

    ``init`` sets the gate biases of the LSTM and the GRU: ``"chrono"``
    (Tallec & Ollivier 2018, time scales spread up to ``max_lag`` steps),
    ``"forget1"`` (LSTM forget bias 1, Jozefowicz et al. 2015) or ``"torch"``
    (torch's uniform init, the default).
    """
    if init not in INITS:
        raise ValueError(f"build: expected init in {INITS}, got {init!r}")
    if init == "chrono" and cell != "rnn" and max_lag <= 2:
        raise ValueError(f"build: init='chrono' needs max_lag > 2 (the task's longest lag), got {max_lag}")
    torch.manual_seed(seed)
    model = SequenceModel(cell, input_size, hidden_size, outputs, forget_bias=1.0 if init == "forget1" else None)
    if init == "chrono" and cell != "rnn":
        chrono_init_(model.rnn, max_lag, generator=torch.Generator().manual_seed(seed))
    return model
