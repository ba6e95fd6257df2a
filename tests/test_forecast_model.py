"""The forecaster network, its losses, a short real training run, and saved-model round trips."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lstmkit.config import replace
from lstmkit.tasks.forecast.config import ForecastConfig
from lstmkit.tasks.forecast.model import ForecastNet, build, gaussian_nll, pinball_loss, point_loss


def _inputs(B=4, L=12, H=3, P=1, K=2):
    return torch.randn(B, L), torch.randn(B, L, P), torch.randn(B, L + H, K)


@pytest.mark.parametrize("decoder", ["direct", "autoregressive"])
@pytest.mark.parametrize("output,q", [("point", 1), ("gaussian", 2), ("quantile", 3)])
def test_shapes_and_ordered_quantiles(decoder, output, q):
    net = ForecastNet(3, 12, n_past=1, n_future=2, hidden_size=8, output=output, quantiles=[0.1, 0.5, 0.9],
                      decoder=decoder, cell="peephole")
    out = net(*_inputs())
    assert out.shape == (4, 3, q)
    if output == "quantile":
        assert torch.all(out[..., 1:] > out[..., :-1])
    if output == "gaussian":
        assert torch.all(out[..., 1] > 0)
    assert net.point(out).shape == (4, 3)


def test_instance_norm_makes_forecast_shift_equivariant():
    torch.manual_seed(0)
    net = ForecastNet(3, 12, n_future=2, hidden_size=8, instance_norm="mean").eval()
    y, past, fut = _inputs(P=0)
    with torch.no_grad():
        a, b = net(y, past, fut), net(y + 100.0, past, fut)
    torch.testing.assert_close(b, a + 100.0)


def test_bad_shapes_are_named():
    net = ForecastNet(3, 12, n_future=2, hidden_size=8)
    y, past, fut = _inputs(P=0)
    with pytest.raises(ValueError, match=r"ForecastNet: expected y of shape \(B, 12\)"):
        net(y[:, :10], past[:, :10], fut)


def test_losses_by_hand():
    out = torch.tensor([[[1.0], [3.0]]])
    target = torch.tensor([[2.0, 5.0]])
    assert point_loss(out, target, "mae").item() == pytest.approx(1.5)
    assert point_loss(out, target, "mse").item() == pytest.approx(2.5)
    g = torch.tensor([[[0.0, 1.0]]])
    assert gaussian_nll(g, torch.tensor([[1.0]])).item() == pytest.approx(0.5 + 0.5 * np.log(2 * np.pi))
    qo = torch.tensor([[[1.0, 2.0]]])
    # q=0.1: diff 3-1=2 -> 0.2 ; q=0.9: diff 1 -> 0.9 ; mean 0.55
    assert pinball_loss(qo, torch.tensor([[3.0]]), [0.1, 0.9]).item() == pytest.approx(0.55)


def _tiny(tmp_path, **kw):
    over = {"train.epochs": 3, "model.ensemble": 1, "model.hidden_size": 8, "train.progress_bar": False,
            "out_dir": str(tmp_path / "run"), "plot_series": 1, "backtest.final_epochs": 2}
    over.update(kw)
    return replace(ForecastConfig(), **over)


def test_airline_training_loss_falls(tmp_path, shared_data):
    from lstmkit.tasks.forecast.api import prepare
    from lstmkit.tasks.forecast.fitting import fit_ensemble

    cfg = _tiny(tmp_path, **{"data.path": str(shared_data / "series" / "airline.csv"), "data.target": "Passengers",
                             "data.time": "Date", "train.epochs": 25})
    cfg, data = prepare(cfg)
    _, _, info = fit_ensemble(cfg, data, [120], tmp_path / "fit", say=lambda s: None)
    losses = [r["train_loss"] for r in info.history[0]]
    assert len(losses) == 25
    assert np.mean(losses[-3:]) < 0.5 * losses[0]


@pytest.mark.parametrize("output", ["point", "quantile"])
def test_saved_forecaster_gives_the_same_forecasts(tmp_path, output):
    from lstmkit.tasks.forecast.api import Forecaster, train

    res = train(_tiny(tmp_path, **{"model.output": output, "model.ensemble": 2, "backtest.final_fit": "none"}),
                say=lambda s: None)
    again = Forecaster.load(res.model_dir).predict()  # the built-in series, as trained
    assert len(again) == 6
    np.testing.assert_allclose(again["forecast"].to_numpy(), res.forecast["forecast"].to_numpy(), rtol=1e-6)
    if output == "quantile":
        assert {"q0.025", "q0.975"} <= set(again.columns)
        assert (again["q0.025"] < again["forecast"]).all() and (again["forecast"] < again["q0.975"]).all()
        assert "coverage_95" in res.metrics["backtest"]["model"] and "quantile_loss" in res.metrics["backtest"]["model"]


def test_builder_from_config_matches_registry():
    cfg = {"horizon": 2, "input_size": 5, "n_past": 0, "n_future": 0, "hidden_size": 4, "num_layers": 2,
           "dropout": 0.1, "cell": "layernorm", "output": "gaussian", "quantiles": [0.1, 0.9],
           "instance_norm": "meanstd", "decoder": "direct", "ensemble": 3}
    model = build(cfg)
    assert len(model.members) == 3
    out = model(torch.randn(2, 5), torch.zeros(2, 5, 0), torch.zeros(2, 7, 0))
    assert out.shape == (2, 2, 2) and torch.all(out[..., 1] > 0)


def test_point_model_gets_empirical_intervals(tmp_path):
    import pandas as pd

    from lstmkit.tasks.forecast.api import apply_residual_quantiles, residual_quantiles

    frame = pd.DataFrame({"step": [1, 1, 1, 2, 2, 2], "actual": [110.0, 100.0, 90.0, 120.0, 100.0, 80.0],
                          "forecast": [100.0] * 6})
    rq = residual_quantiles(frame, [0.0001, 0.5, 0.9999], log=False)
    assert set(rq) == {"0.0001", "0.9999"}  # no interval for the median
    np.testing.assert_allclose(rq["0.0001"], [-10.0, -20.0], atol=0.01)
    np.testing.assert_allclose(rq["0.9999"], [10.0, 20.0], atol=0.01)
    q = apply_residual_quantiles(np.array([[50.0, 60.0]]), rq, log=False)
    np.testing.assert_allclose(q[0.9999], [[60.0, 80.0]], atol=0.01)
    ql = apply_residual_quantiles(np.array([[50.0]]), {"0.9": [np.log(2.0)]}, log=True)
    np.testing.assert_allclose(ql[0.9], [[100.0]])


def test_autoregressive_feeds_back_its_own_point_forecast():
    torch.manual_seed(0)
    net = ForecastNet(3, 12, n_future=2, hidden_size=8, decoder="autoregressive", output="quantile",
                      quantiles=[0.1, 0.5, 0.9], instance_norm="none").eval()
    y, past, fut = _inputs(P=0)
    with torch.no_grad():
        out = net(y, past, fut)
        # step 1 by hand: encode, read out, feed the median back through step()
        x = torch.cat([y.unsqueeze(-1), past, fut[:, :12]], dim=-1)
        seq, state = net.encoder(x)
        first = net._shape(net.head(seq[:, -1]).unsqueeze(1), torch.zeros(4, 1), torch.ones(4, 1))
        h, _ = net.encoder.step(torch.cat([first[:, 0, 1:2], fut[:, 12]], dim=-1), state)
        second = net._shape(net.head(h).unsqueeze(1), torch.zeros(4, 1), torch.ones(4, 1))
    torch.testing.assert_close(out[:, :1], first)
    torch.testing.assert_close(out[:, 1:2], second)
