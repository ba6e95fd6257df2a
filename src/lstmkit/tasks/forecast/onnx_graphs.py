"""What ``Forecaster.export`` writes: the LSTM ensemble on one scaled window per series."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ..export import ExportGraph, device_of


class ForecastGraph(nn.Module):
    """``(y (B, L)[, past (B, L, P)][, future (B, L+H, K)]) -> forecast (B, H, Q)``: a
    :class:`~lstmkit.tasks.forecast.model.ForecastEnsemble` whose empty covariate inputs are made inside
    (an ONNX input cannot have a zero-sized dimension)."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model
        first = model.first
        self.L, self.H, self.P, self.K = first.input_size, first.horizon, first.n_past, first.n_future

    def forward(self, y: Tensor, first: Tensor | None = None, second: Tensor | None = None) -> Tensor:
        rest = [t for t in (first, second) if t is not None]
        past = rest.pop(0) if self.P else y.new_zeros(y.shape[0], self.L, 0)
        future = rest.pop(0) if self.K else y.new_zeros(y.shape[0], self.L + self.H, 0)
        return self.model(y, past, future)


def graphs(est) -> list[ExportGraph]:
    lstm = est.lstm_
    if lstm is None or not len(est.model_.members):
        raise ValueError(f"Forecaster.export: the fitted model is {est.choice_['chosen']!r}, a classical forecaster "
                         "with no network to export; fit with model='lstm' (or a candidate list with an LSTM)")
    model = est.model_
    first = model.first
    L, H, P, K = first.input_size, first.horizon, first.n_past, first.n_future
    dev = device_of(model)
    B = 2
    inputs, names, dims = [torch.zeros(B, L, device=dev)], ["y"], {"y": 0}
    if P:
        inputs.append(torch.zeros(B, L, P, device=dev))
        names.append("past")
        dims["past"] = 0
    if K:
        inputs.append(torch.zeros(B, L + H, K, device=dev))
        names.append("future")
        dims["future"] = 0
    Q = {"point": "1 (the point)", "gaussian": "2 (mean, std)", "quantile": f"{first.n_out} (the quantiles)"}
    chosen = est.choice_["chosen"]
    computes = (f"The forecaster's LSTM network ({len(model.members)} member(s), outputs averaged) on scaled windows: "
                f"y (B, {L}) the last {L} values of a series in the model's units"
                + (f", past (B, {L}, {P}) scaled past covariates" if P else "")
                + (f", future (B, {L + H}, {K}) known-future features over the window and the horizon" if K else "")
                + f" -> forecast (B, {H}, {Q[first.output]}) in the same units. Scaling stays outside: "
                "z = (f(y) - loc[id]) / scale[id] with f = log when lstmkit.transform.scaler.log, minus the "
                "seasonal index when lstmkit.transform.seasonal is set; invert it on the outputs."
                + ("" if chosen.startswith("lstm") else
                   f" Note: the estimator chose {chosen!r}, so its predict() is not this network alone."))
    meta = {"transform": lstm.transform.to_dict(), "output": first.output, "quantiles": list(first.quantiles),
            "horizon": H, "input_size": L, "chosen": chosen, "freq": str(est.freq_)}
    return [ExportGraph(ForecastGraph(model), tuple(inputs), names, ["forecast"], dims, computes, metadata=meta)]
