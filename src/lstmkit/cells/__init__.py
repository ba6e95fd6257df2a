"""Cells: one step of each recurrent network, written as its equations."""

from .base import Cell, State
from .gru import GRUCell
from .layernorm import LayerNormLSTMCell
from .lstm import LSTMCell
from .peephole import PeepholeLSTMCell
from .rnn import RNNCell

#: LSTM variants by the name ``lstmkit.nn.LSTM(cell=...)`` accepts.
LSTM_CELLS: dict[str, type[LSTMCell]] = {
    "lstm": LSTMCell,
    "peephole": PeepholeLSTMCell,
    "layernorm": LayerNormLSTMCell,
}

__all__ = [
    "Cell",
    "State",
    "LSTMCell",
    "PeepholeLSTMCell",
    "LayerNormLSTMCell",
    "GRUCell",
    "RNNCell",
    "LSTM_CELLS",
]
