"""What ``AnomalyDetector.export`` writes: the prediction network with its state, or the reconstruction network."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ..export import ExportGraph, device_of


class PredictionGraph(nn.Module):
    """``(x (B, T, C), h0, c0) -> (pred (B, T, horizon, C), h_n, c_n)``: :class:`NextStepPredictor` with its state."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: Tensor, h0: Tensor, c0: Tensor):
        pred, (h, c) = self.net(x, (h0, c0))
        return pred, h, c


def graphs(est, steps: int | None) -> list[ExportGraph]:
    det = est.detector_
    net = est.model_
    T = steps or det.window
    C = det.channels
    dev = device_of(net)
    B = 2
    x = torch.zeros(B, T, C, device=dev)
    meta = {"scaler": det.scaler.to_dict(), "columns": list(est.columns_), "window": det.window, "steps": T,
            "detector": det.kind, "threshold": est.threshold_, "pooling": est.pooling_.to_dict()}
    scaling = ("Scaling stays outside: the network reads (v - center) / scale per channel, v = x (or log(max(x, "
               "log_floor)) with a log floor, then first differences when difference is true), lstmkit.scaler; "
               "error model, pooling and threshold stay outside too.")
    if det.kind == "prediction":
        h0, c0 = net.lstm.init_state(B)
        H = net.horizon
        computes = (f"The prediction detector's network on scaled rows with the LSTM state in and out: "
                    f"(x (B, {T}, {C}), h0, c0 (layers, B, hidden)) -> (pred (B, {T}, {H}, {C}): at each row the "
                    f"next {H} scaled values, h_n, c_n); feed h_n, c_n back to continue a stream. " + scaling)
        return [ExportGraph(PredictionGraph(net), (x, h0, c0), ["x", "h0", "c0"], ["pred", "h_n", "c_n"],
                            {"x": 0, "h0": 1, "c0": 1}, computes, metadata=meta)]
    computes = (f"The reconstruction detector's encoder-decoder (EncDec-AD) on scaled windows: x (B, {T}, {C}) -> "
                f"recon (B, {T}, {C}); the anomaly score comes from the errors recon - x. " + scaling)
    return [ExportGraph(net, (x,), ["x"], ["recon"], {"x": 0}, computes, metadata=meta)]
