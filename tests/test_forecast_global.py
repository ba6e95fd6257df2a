"""One global LSTM across many series: windows streamed from the series, per-series scaling, DDP on CPU."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from lstmkit.data.window_sampler import FixedWindows, WindowSampler

HERE = Path(__file__).resolve().parent


def _series(n_series, length, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.normal(size=length).astype("float32") + k for k in range(n_series)]


def test_sampler_memory_is_the_series_not_the_windows():
    values = _series(200, 300)
    lo = np.full(200, 24)
    sizes = {}
    for L, H in ((24, 6), (24, 48)):
        hi = np.array([len(v) - H for v in values])
        s = WindowSampler(values, None, None, L, H, np.full(200, L), hi, batch_size=64, seed=0)
        sizes[(L, H)] = s.values.nbytes
        assert s.total == 200 * (300 - H - L + 1)  # windows counted, never cut out in advance
    assert set(sizes.values()) == {200 * 300 * 4}  # float32 series, whatever the window and the number of windows
    s = WindowSampler(values, None, None, 24, 6, lo, np.array([294] * 200), batch_size=64, batches=3, seed=0)
    batches = list(s)
    assert len(batches) == 3
    y, past, fut, target = batches[0]
    assert y.shape == (64, 24) and past.shape == (64, 24, 0) and fut.shape == (64, 30, 0) and target.shape == (64, 6)
    # every window is a real slice of its series: the series number is the value's offset (rounded)
    k, t = s.locate(np.arange(s.total)[:5])
    np.testing.assert_array_equal(s.gather(k, t)[0].numpy(), np.stack([values[0][i - 24:i] for i in t]))


def test_sampler_repeats_with_a_seed_and_shards_the_global_batch(monkeypatch):
    values = _series(5, 50)
    mk = lambda: WindowSampler(values, None, None, 8, 2, np.full(5, 8), np.full(5, 48), batch_size=6,  # noqa: E731
                               batches=2, seed=3)
    a, b = list(mk()), list(mk())
    for x, y in zip(a, b):
        torch.testing.assert_close(x[0], y[0])
    import lstmkit.data.window_sampler as ws

    halves = []
    for rank in (0, 1):
        monkeypatch.setattr(ws, "_rank_world", lambda rank=rank: (rank, 2))
        halves.append(list(mk()))
    for j in range(2):  # rows 0,2,4 on rank 0 and 1,3,5 on rank 1: together, the one-process batch
        whole = a[j][0]
        torch.testing.assert_close(halves[0][j][0], whole[0::2])
        torch.testing.assert_close(halves[1][j][0], whole[1::2])


def test_fixed_windows_run_past_the_end_with_nan_targets():
    values = _series(2, 20)
    w = FixedWindows(values, None, None, 5, 3, [np.array([5, 20]), np.array([19])])
    (y, _, _, target), = list(w)
    assert y.shape == (3, 5) and torch.isnan(target[1]).all() and torch.isnan(target[2, 1:]).all()
    with pytest.raises(ValueError, match="origin 3 of series 0 leaves fewer than input_size=5"):
        FixedWindows(values, None, None, 5, 3, [np.array([3]), np.array([])])


def test_global_model_forecasts_each_series_from_its_own_scale():
    """Series of very different levels train one network; each is scaled on its own and forecast in its units."""
    from lstmkit import Forecaster

    rows = []
    rng = np.random.default_rng(0)
    for k, level in enumerate((1.0, 100.0, 1e4)):
        y = level * (1 + 0.2 * np.sin(2 * np.pi * np.arange(48) / 12)) + level * 0.01 * rng.normal(size=48)
        rows.append(pd.DataFrame({"id": f"s{k}", "t": pd.date_range("2010-01", periods=48, freq="MS"), "y": y}))
    f = Forecaster(horizon=4, model="lstm", epochs=3, ensemble=1, hidden_size=8, progress_bar=False)
    f.fit(pd.concat(rows), time="t", target="y", id="id")
    fc = f.predict()
    assert f.lstm_.windows > 0 and len(f.lstm_.model.members) == 1  # one network for the three series
    for k, level in enumerate((1.0, 100.0, 1e4)):
        v = fc[fc["id"] == f"s{k}"]["forecast"].to_numpy()
        assert np.all((v > 0.5 * level) & (v < 1.5 * level))


@pytest.mark.slow
def test_two_processes_train_the_same_model_as_one(tmp_path):
    """DDP (gloo on CPU) with the global batch split over 2 processes gives the weights of 1 process."""
    from safetensors.torch import load_file

    env = {**os.environ, "PYTHONPATH": str(HERE.parent / "src") + os.pathsep + os.environ.get("PYTHONPATH", ""),
           "PYTHONWARNINGS": "ignore"}
    out = {}
    for n in (1, 2):
        path = tmp_path / f"w{n}.safetensors"
        proc = subprocess.run([sys.executable, str(HERE / "forecast_ddp_worker.py"), str(path), str(n)],
                              capture_output=True, text=True, timeout=600, env=env, cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr[-2000:]
        if n == 2:
            assert "MEMBER: 2/2" in proc.stdout + proc.stderr  # two processes really took part
        out[n] = load_file(str(path))
    assert set(out[1]) == set(out[2])
    for k in out[1]:
        torch.testing.assert_close(out[2][k], out[1][k], rtol=0, atol=1e-5)
    from lstmkit.tasks.forecast.model import ForecastNet
    from lstmkit.train import seed_everything

    seed_everything(0)
    init = ForecastNet(horizon=4, input_size=12, hidden_size=8, anchor="seasonal", season=6, backend="torch")
    moved = max(float((out[1][f"members.0.{k}"] - v).abs().max()) for k, v in init.state_dict().items())
    assert moved > 1e-3  # the weights were trained, not left at their start


def test_seasonal_indices_found_when_significant_and_added_back():
    from lstmkit import Forecaster
    from lstmkit.tasks.forecast.dataset import seasonal_indices

    t = np.arange(120)
    z = 0.01 * t + 0.3 * np.sin(2 * np.pi * t / 12) + np.random.default_rng(0).normal(0, 0.02, 120)
    np.testing.assert_allclose(seasonal_indices(z, 12), 0.3 * np.sin(2 * np.pi * np.arange(12) / 12), atol=0.02)
    assert not seasonal_indices(np.random.default_rng(1).normal(size=120), 12).any()  # no season: no indices
    assert not seasonal_indices(z[:20], 12).any()  # fewer than two seasons
    df = pd.DataFrame({"t": pd.date_range("2000-01", periods=120, freq="MS"), "y": np.exp(z) * 100})
    f = Forecaster(horizon=6, model="lstm-level", epochs=2, ensemble=1, hidden_size=4,
                   progress_bar=False).fit(df, time="t", target="y")
    tr = f.lstm_.transform
    assert tr.seasonal is not None and np.ptp(tr.seasonal["y"]) > 0.4  # log scale: the 0.3 sine's peak to peak
    assert "deseasonalised per series" in f.lstm_.setup.describe()
    fc = f.predict()["forecast"].to_numpy()
    assert np.all(np.isfinite(fc)) and np.ptp(fc) > 10  # the season is back in the forecast
