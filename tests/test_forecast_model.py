"""The forecaster network, its losses, a short real training run, and saved-model round trips."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

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


TINY = {"epochs": 3, "ensemble": 1, "hidden_size": 8, "progress_bar": False, "plot_series": 1}


def test_airline_training_loss_falls(shared_data):
    from lstmkit.data.series import load_series
    from lstmkit.tasks.forecast.lstm_fit import LSTMSetup, fit_lstm
    from lstmkit.train import TrainConfig

    data = load_series(shared_data / "series" / "airline.csv", "Passengers", "Date")
    setup = LSTMSetup(input_size=24, season=12, hidden_size=8, log=True, scaling="none", anchor="level",
                      backend="torch")
    fit = fit_lstm(setup, data, [120], 6, TrainConfig(epochs=25, progress_bar=False, num_threads=1))
    losses = [r["train_loss"] for r in fit.history[0]]
    assert len(losses) == 25 and fit.windows == 120 - 24 - 6 + 1
    assert np.mean(losses[-3:]) < 0.5 * losses[0]


@pytest.mark.parametrize("output", ["point", "quantile"])
def test_saved_forecaster_gives_the_same_forecasts(tmp_path, output):
    from lstmkit.tasks.forecast.estimator import Forecaster

    f = Forecaster(output=output, model="lstm", **{**TINY, "ensemble": 2}).fit()  # the built-in airline series
    f.save(tmp_path / "model")
    g = Forecaster.load(tmp_path / "model")
    again = g.predict()
    assert len(again) == 6 and g.choice_["chosen"] == "lstm"
    pd.testing.assert_frame_equal(again, f.predict())
    from lstmkit.data import builtin_path

    history = pd.read_csv(builtin_path("airline.csv"))  # the same series as new history: the LSTM runs again
    h1 = f.predict(history=history)
    h2 = g.predict(history=history)
    np.testing.assert_allclose(h1["forecast"], h2["forecast"], rtol=1e-6)
    np.testing.assert_allclose(h1["forecast"], f.predict()["forecast"], rtol=1e-6)
    assert {"q0.025", "q0.975"} <= set(again.columns)
    assert (again["q0.025"] < again["forecast"]).all() and (again["forecast"] < again["q0.975"]).all()


def test_builder_from_config_matches_registry():
    cfg = {"horizon": 2, "input_size": 5, "n_past": 0, "n_future": 0, "hidden_size": 4, "num_layers": 2,
           "dropout": 0.1, "cell": "layernorm", "output": "gaussian", "quantiles": [0.1, 0.9],
           "instance_norm": "meanstd", "decoder": "direct", "ensemble": 3}
    model = build(cfg)
    assert len(model.members) == 3
    out = model(torch.randn(2, 5), torch.zeros(2, 5, 0), torch.zeros(2, 7, 0))
    assert out.shape == (2, 2, 2) and torch.all(out[..., 1] > 0)


def test_point_model_gets_empirical_intervals_from_validation_errors():
    from lstmkit.tasks.forecast.estimator import Forecaster

    t = pd.date_range("2000-01", periods=60, freq="MS")
    y = 100 + np.random.default_rng(0).normal(0, 5, 60)
    f = Forecaster(horizon=2, candidates=["naive"], quantiles=[0.1, 0.5, 0.9], progress_bar=False)
    f.fit(pd.DataFrame({"t": t, "y": y}), time="t", target="y")
    core = f.core_
    assert set(core.residuals) == {"0.1", "0.5", "0.9"} and core.interval_log  # positive data: log scale
    fc = f.predict()
    assert list(fc.columns) == ["id", "time", "step", "forecast", "q0.1", "q0.9"]  # no interval for the median
    lo = np.log(fc["forecast"]) + np.asarray(core.residuals["0.1"])
    np.testing.assert_allclose(fc["q0.1"], np.exp(lo))
    assert (fc["q0.1"] < fc["forecast"]).all() and (fc["forecast"] < fc["q0.9"]).all()


def test_quantile_levels_in_any_order_none_for_no_intervals_and_the_median_added_for_quantile_output(tmp_path):
    """``quantiles=[]`` (no intervals) and ``[0.9, 0.1]`` used to be refused; a quantile head without the median
    too, though its point forecast is that median."""
    from lstmkit.tasks.forecast.config import ModelConfig
    from lstmkit.tasks.forecast.estimator import Forecaster

    assert ModelConfig(quantiles=[0.9, 0.1, 0.9]).quantiles == [0.1, 0.9]
    assert ModelConfig(output="quantile", quantiles=[0.9, 0.1]).quantiles == [0.1, 0.5, 0.9]
    assert ModelConfig(quantiles=[]).quantiles == []
    for bad in ([0.0, 0.5], [0.5, 1.0], 0.9, ["x"]):
        with pytest.raises(ValueError, match="quantile levels strictly between 0 and 1"):
            ModelConfig(quantiles=bad)
    t = pd.date_range("2000-01", periods=60, freq="MS")
    df = pd.DataFrame({"t": t, "y": 100 + np.random.default_rng(0).normal(0, 5, 60)})
    f = Forecaster(horizon=2, candidates=["naive", "seasonal_naive"], quantiles=[], progress_bar=False)
    f.fit(df.iloc[:58], time="t", target="y")
    assert list(f.predict().columns) == ["id", "time", "step", "forecast"] and not f.core_.residuals
    assert "coverage_80" not in f.evaluate(df.iloc[58:])["model"]
    assert "No prediction intervals" in f.report(tmp_path / "r").read_text()


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
