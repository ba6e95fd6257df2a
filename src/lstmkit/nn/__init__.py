"""Layers: LSTM, GRU, RNN, the generic Recurrent, the cells as torch.nn drop-ins, heads, pooling (last/mean/max/attention) and a CRF."""

from ..cells import GRUCell, LayerNormLSTMCell, LSTMCell, PeepholeLSTMCell, RNNCell
from .attention_pool import AttentionPool
from .crf import CRF
from .heads import Head
from .init import chrono_init_
from .layers import GRU, LSTM, RNN, from_torch
from .pooling import SequencePool, pool_last, pool_max, pool_mean
from .recurrent import Recurrent

__all__ = ["LSTM", "GRU", "RNN", "Recurrent", "from_torch", "LSTMCell", "GRUCell", "RNNCell", "PeepholeLSTMCell", "LayerNormLSTMCell", "Head", "SequencePool", "pool_last", "pool_mean", "pool_max", "AttentionPool", "CRF", "chrono_init_"]
