"""The two LSTM detectors' networks.

* :class:`NextStepPredictor` (Malhotra et al. 2015): a stacked LSTM reads the
  series and, at every step ``t``, predicts the next ``horizon`` values. A
  point is then judged by the errors of the ``horizon`` predictions made for it.
* :class:`EncoderDecoder` (Malhotra et al. 2016, EncDec-AD): an LSTM encoder
  compresses a window into its final state; an LSTM decoder started from that
  state reconstructs the window in reverse order, fed the true previous value
  at each step. Normal windows reconstruct well, anomalous ones do not.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ... import nn as lnn
from ...train import register_model


class NextStepPredictor(nn.Module):
    """``(B, T, C)`` -> ``(B, T, horizon, C)``: at each step, the next ``horizon`` values.

    Args:
        channels: variables per time step ``C``.
        hidden_size, num_layers, cell, dropout, backend: the LSTM encoder (see :class:`lstmkit.LSTM`).
        horizon: values predicted ahead at each step. Default ``1``.
    """

    def __init__(self, channels: int, hidden_size: int = 64, num_layers: int = 2, cell: str = "lstm",
                 dropout: float = 0.0, horizon: int = 1, backend: str = "auto") -> None:
        super().__init__()
        self.channels, self.horizon = channels, horizon
        self.lstm = lnn.LSTM(channels, hidden_size, num_layers=num_layers, batch_first=True, cell=cell,
                             dropout=dropout if num_layers > 1 else 0.0, backend=backend)
        self.head = nn.Linear(hidden_size, horizon * channels)

    def forward(self, x: Tensor, state=None) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        out, state = self.lstm(x, state)  # (B, T, H)
        pred = self.head(out).unflatten(-1, (self.horizon, self.channels))  # (B, T, horizon, C)
        return pred, state

    def targets(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Predictions and the values they aim at, for the steps that have them all.

        Returns ``(pred, target)`` of shape ``(B, T - horizon, horizon, C)``.
        """
        pred, _ = self(x)
        T = x.shape[1]
        target = torch.stack([x[:, k + 1 : T - self.horizon + k + 1] for k in range(self.horizon)], dim=2)
        return pred[:, : T - self.horizon], target


class EncoderDecoder(nn.Module):
    """``(B, L, C)`` -> its reconstruction ``(B, L, C)`` (EncDec-AD).

    The decoder runs backwards in time: its first output is ``x_L`` (from the
    encoder's final state alone); then, given the true ``x_i``, it outputs
    ``x_{i-1}``.
    """

    def __init__(self, channels: int, hidden_size: int = 64, num_layers: int = 1, cell: str = "lstm",
                 dropout: float = 0.0, backend: str = "auto") -> None:
        super().__init__()
        self.channels = channels
        kw = dict(num_layers=num_layers, batch_first=True, cell=cell, dropout=dropout if num_layers > 1 else 0.0,
                  backend=backend)
        self.encoder = lnn.LSTM(channels, hidden_size, **kw)
        self.decoder = lnn.LSTM(channels, hidden_size, **kw)
        self.head = nn.Linear(hidden_size, channels)

    def forward(self, x: Tensor) -> Tensor:
        _, state = self.encoder(x)
        rev = x.flip(1)  # x_L, x_{L-1}, ..., x_1
        first = self.head(state[0][-1]).unsqueeze(1)  # reconstruction of x_L: (B, 1, C)
        if x.shape[1] == 1:
            return first
        out, _ = self.decoder(rev[:, :-1], state)  # fed x_L .. x_2, emits x_{L-1} .. x_1
        recon_rev = torch.cat([first, self.head(out)], dim=1)  # (B, L, C), reversed
        return recon_rev.flip(1)


@register_model("anomaly-prediction")
def _build_prediction(config: dict) -> NextStepPredictor:
    return NextStepPredictor(**config)


@register_model("anomaly-reconstruction")
def _build_reconstruction(config: dict) -> EncoderDecoder:
    return EncoderDecoder(**config)
