"""The anomaly-detection task: detectors, streaming, persistence, bad input, CLI."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from lstmkit.config import replace
from lstmkit.tasks.anomaly import api
from lstmkit.tasks.anomaly.config import AnomalyConfig
from lstmkit.tasks.anomaly.data import load_anomaly_data
from lstmkit.tasks.anomaly.detector import LSTMDetector

FAST = {
    "detector.window": 32, "detector.hidden_size": 16, "detector.num_layers": 1, "detector.smooth": 8,
    "train.epochs": 6, "train.progress_bar": False, "train.batch_size": 16, "train.lr": 0.01,
    "split.train": "0:0.5", "split.validation": "0.5:0.7",
}


def synthetic(n=1200, channels=1, spike_at=1000, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    x = np.stack([np.sin(2 * np.pi * t / 40 + c) for c in range(channels)], axis=1) + 0.05 * rng.normal(size=(n, channels))
    y = np.zeros(n, dtype=int)
    x[spike_at : spike_at + 15] += 1.5  # a level shift the detector has never seen
    y[spike_at : spike_at + 15] = 1
    return x, y


def cfg(**over):
    return replace(AnomalyConfig(), **{**FAST, **over})


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    x, y = synthetic()
    det = LSTMDetector(cfg())
    result = det.fit(x, out_dir=tmp_path_factory.mktemp("det"))
    return det, x, y, result


def test_training_loss_falls(trained):
    _, _, _, result = trained
    losses = [row["train_loss"] for row in result.history]
    assert losses[-1] < 0.5 * losses[0]


def test_prediction_detector_finds_the_injected_anomaly(trained):
    from lstmkit.tasks.anomaly import metrics

    det, x, y, _ = trained
    s = det.score(x)
    assert np.isnan(s[: det.warmup()]).all() and np.isfinite(s[det.warmup():]).all()
    ok = np.isfinite(s)
    assert metrics.roc_auc(y[ok], s[ok]) > 0.95
    assert 985 <= int(np.nanargmax(s)) <= 1030


def test_streaming_scores_equal_batch_scores(trained):
    det, x, _, _ = trained
    batch = det.score(x[:300])
    stream = det.streaming()
    online = np.array([stream.update(v) for v in x[:300]])
    np.testing.assert_allclose(online, batch, rtol=1e-4, atol=1e-5, equal_nan=True)


def test_save_and_load_give_the_same_scores(trained, tmp_path):
    det, x, _, _ = trained
    det.save(tmp_path / "model")
    loaded, extra = LSTMDetector.load(tmp_path / "model")
    np.testing.assert_allclose(loaded.score(x), det.score(x), rtol=1e-6, equal_nan=True)
    assert "scaler" in extra and (tmp_path / "model" / "model.safetensors").is_file()


def test_reconstruction_detector_on_multivariate_data(tmp_path):
    from lstmkit.tasks.anomaly import metrics

    x, y = synthetic(channels=3)
    det = LSTMDetector(cfg(**{"detector.kind": "reconstruction", "detector.stride": 4, "train.epochs": 8}))
    det.fit(x, out_dir=tmp_path)
    s = det.score(x)
    assert s.shape == (len(x),) and np.isfinite(s).all()
    assert metrics.roc_auc(y, s) > 0.9
    with pytest.raises(ValueError, match="reconstruction"):
        det.streaming()


def test_robust_training_option_trims_the_worst_windows():
    import torch

    from lstmkit.tasks.anomaly.detector import _trimmed_mean

    losses = torch.tensor([1.0, 2.0, 3.0, 100.0])
    assert float(_trimmed_mean(losses, 0.25)) == pytest.approx(2.0)
    assert float(_trimmed_mean(losses, 0.0)) == pytest.approx(26.5)


@pytest.mark.parametrize("method", ["false_alarm", "contamination", "dynamic"])
def test_threshold_methods(method):
    rng = np.random.default_rng(0)
    s = np.abs(rng.normal(size=1000))
    s[800:810] = 20.0
    det = api.decide(s, cfg(**{"threshold.method": method, "threshold.contamination": 0.01, "threshold.min_gap": 0}), 1000)
    assert det.flags[800:810].all()
    assert any(e.start <= 805 <= e.end for e in det.events)
    assert det.flags.sum() < 60
    # events are exactly the runs of flagged rows (merged across short gaps), never more
    covered = np.zeros(1000, dtype=bool)
    for e in det.events:
        covered[e.start : e.end + 1] = True
        assert det.flags[e.start] and det.flags[e.end]
    assert covered.sum() < 60 + 20 * len(det.events)


def test_end_to_end_on_the_real_ecg_slice(tmp_path, shared_data):
    # the labelled arrhythmia of the MIT-BIH record lies in rows 6936-7287: keep 4500 rows around it
    frame = pd.read_csv(shared_data / "anomaly" / "mitdb.csv").iloc[3000:].reset_index(drop=True)
    path = tmp_path / "ecg.csv"
    frame.to_csv(path, index=False)
    c = cfg(**{"detector.window": 96, "detector.smooth": 64, "train.epochs": 3, "split.train": "0:0.55", "split.validation": "0.55:0.75"})
    run = api.train(c, path, tmp_path / "run", say=lambda s: None)
    ev = run.evaluation
    for name in ("LSTM", "rolling z-score", "isolation forest"):
        assert 0 <= ev[name]["pr_auc"] <= 1 and 0 <= ev[name]["roc_auc"] <= 1
    for f in ("scores.csv", "events.json", "metrics.json", "report.html", "plots/scores.png", "model/config.json"):
        assert (run.out / f).is_file(), f
    scores = pd.read_csv(run.out / "scores.csv")
    assert list(scores.columns) == ["time", "data", "score", "threshold", "anomaly", "label"] and len(scores) == len(frame)
    events = json.loads((run.out / "events.json").read_text())
    assert all(e["start"] <= e["peak"] <= e["end"] for e in events)
    assert "Point-adjusted" in (run.out / "report.html").read_text()


# ------------------------------------------------------------------ bad input
def _csv(tmp_path, text):
    p = tmp_path / "bad.csv"
    p.write_text(text)
    return p


def test_bad_files(tmp_path):
    with pytest.raises(ValueError, match="empty"):
        load_anomaly_data(_csv(tmp_path, ""))
    with pytest.raises(ValueError, match=r"column 'v' row 3: expected a number, got 'abc'"):
        load_anomaly_data(_csv(tmp_path, "v\n1\nabc\n3\n"))
    with pytest.raises(ValueError, match=r"constant"):
        load_anomaly_data(_csv(tmp_path, "v\n" + "2\n" * 50))
    with pytest.raises(ValueError, match=r"no value column 'w'"):
        from lstmkit.tasks.anomaly.config import DataConfig

        load_anomaly_data(_csv(tmp_path, "v\n1\n2\n"), DataConfig(columns=["w"]))
    with pytest.raises(ValueError, match=r"rows 3-10: 8 missing values in a row"):
        load_anomaly_data(_csv(tmp_path, "v\n1\n" + "\n" * 0 + "".join("nan\n" for _ in range(8)) + "2\n3\n"))
    with pytest.raises(ValueError, match=r"expected a 0/1 label, got"):
        load_anomaly_data(_csv(tmp_path, "v,label\n1,0\n2,3\n"))


def test_time_column_checks(tmp_path):
    from lstmkit.tasks.anomaly.config import DataConfig

    cfg_t = DataConfig(time="t")
    with pytest.raises(ValueError, match=r"column 't': duplicate timestamp 2 at rows 3 and 4"):
        load_anomaly_data(_csv(tmp_path, "t,v\n1,1\n2,2\n2,3\n3,4\n"), cfg_t)
    with pytest.raises(ValueError, match=r"row 4: timestamps must increase"):
        load_anomaly_data(_csv(tmp_path, "t,v\n1,1\n3,2\n2,3\n"), cfg_t)
    with pytest.raises(ValueError, match=r"row 3: expected a time"):
        load_anomaly_data(_csv(tmp_path, "t,v\n2024-01-01,1\nsoon,2\n"), cfg_t)
    data = load_anomaly_data(_csv(tmp_path, "t,v\n2024-01-01,1\n2024-01-02,2\n2024-01-04,5\n"), cfg_t)
    assert "not evenly spaced" in data.notes[0] and data.columns == ["v"]
    with pytest.raises(ValueError, match=r"no time column 'when'"):
        load_anomaly_data(_csv(tmp_path, "t,v\n1,1\n2,2\n"), DataConfig(time="when"))


def test_short_gaps_are_interpolated_and_reported(tmp_path):
    data = load_anomaly_data(_csv(tmp_path, "v\n1\nnan\n3\n4\n"))
    assert data.values[:, 0].tolist() == [1.0, 2.0, 3.0, 4.0]
    assert "interpolation" in data.notes[0]


def test_series_shorter_than_the_window():
    x, _ = synthetic(n=50)
    with pytest.raises(ValueError, match=r"shorter than one window"):
        LSTMDetector(cfg(**{"detector.window": 64})).fit(x)


def test_constant_training_segment():
    x = np.r_[np.zeros(600), np.sin(np.arange(600))]
    with pytest.raises(ValueError, match="constant on the training segment"):
        LSTMDetector(cfg()).fit(x)


def test_config_errors():
    with pytest.raises(ValueError, match="expected kind in"):
        replace(AnomalyConfig(), **{"detector.kind": "psychic"})
    with pytest.raises(ValueError, match="expected START:END"):
        from lstmkit.tasks.anomaly.config import parse_segment

        parse_segment("10", 100, "split.train")


# ------------------------------------------------------------------ command line
def test_cli_in_process_and_as_subprocess(tmp_path):
    from lstmkit.cli.main import main

    x, y = synthetic(n=600, spike_at=500)
    path = tmp_path / "s.csv"
    pd.DataFrame({"value": x[:, 0], "label": y}).to_csv(path, index=False)
    args = ["anomaly", "train", "--data", str(path), "--out", str(tmp_path / "run"), "--quiet"]
    args += [f"--{k}={v}" for k, v in FAST.items() if k != "train.progress_bar"] + ["--train.epochs=2"]
    assert main(args) == 0
    assert (tmp_path / "run" / "report.html").is_file()
    res = subprocess.run([sys.executable, "-m", "lstmkit", "anomaly", "score", "--model", str(tmp_path / "run" / "model"),
                          "--data", str(path), "--out", str(tmp_path / "scored")], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    assert (tmp_path / "scored" / "scores.csv").is_file()
    bad = subprocess.run([sys.executable, "-m", "lstmkit", "anomaly", "train", "--data", str(tmp_path / "nope.csv")],
                         capture_output=True, text=True, timeout=300)
    assert bad.returncode == 2 and "file not found" in bad.stderr
