"""``lstmkit forecast``: in-process and once as a subprocess, on tiny runs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from lstmkit.cli.main import main

TINY = ["--train.epochs", "2", "--backtest.final_epochs", "2", "--model.ensemble", "1", "--model.hidden_size", "8", "--quiet", "--plot_series", "1"]


def test_help_explains_every_option(capsys):
    with pytest.raises(SystemExit):
        main(["forecast", "train", "--help"])
    text = capsys.readouterr().out
    from lstmkit.config import iter_fields
    from lstmkit.tasks.forecast.config import ForecastConfig

    for name, *_ in iter_fields(ForecastConfig):
        if name not in ("horizon", "season"):  # these two have shortcut options of the same name
            assert f"--{name}" in text, name
    for flag in ("--data", "--target", "--time", "--id", "--horizon", "--season", "--config", "--resume"):
        assert flag in text


def test_train_then_predict_in_process(tmp_path, shared_data, capsys):
    out = tmp_path / "run"
    data = shared_data / "series" / "airline.csv"
    cfg = tmp_path / "run.yaml"
    cfg.write_text("model:\n  hidden_size: 4\nbacktest:\n  start: '1960-01'\n")
    rc = main(["forecast", "train", "--data", str(data), "--target", "Passengers", "--time", "Date", "--horizon", "3",
               "--config", str(cfg), "--out", str(out), *TINY])
    assert rc == 0
    printed = capsys.readouterr().out
    assert str(out / "report.html") in printed
    for name in ("report.html", "forecast.csv", "backtest.csv", "metrics.json", "config.yaml",
                 "plots/forecast.png", "plots/backtest.png", "model/model.safetensors", "model/config.json"):
        assert (out / name).is_file(), name
    metrics = json.loads((out / "metrics.json").read_text())
    bt = metrics["backtest"]
    assert bt["origins"] == 10 and bt["points"] == 30 and bt["first_origin"].startswith("1960-01")
    assert {"mae", "rmse", "mape", "smape", "mase"} <= set(bt["model"]) and "mape" in bt["seasonal_naive"]
    assert metrics["run"]["peak_memory_mb"] > 0
    fc = pd.read_csv(out / "forecast.csv")
    assert list(fc["time"]) == ["1961-01-01", "1961-02-01", "1961-03-01"]
    saved = (out / "config.yaml").read_text()
    assert "start: 1960-01" in saved and "horizon: 3" in saved  # YAML and command line both applied
    assert "hidden_size: 8" in saved  # the command line wins over the YAML file
    html = (out / "report.html").read_text()
    assert "seasonal naive" in html and "data:image/png;base64" in html

    pred_csv = tmp_path / "pred.csv"
    assert main(["forecast", "predict", "--model", str(out / "model"), "--data", str(data), "--output", str(pred_csv)]) == 0
    pd.testing.assert_frame_equal(pd.read_csv(pred_csv), fc)


def test_resume_flag_continues_a_run(tmp_path, capsys):
    out = tmp_path / "run"
    args = ["forecast", "backtest", "--out", str(out), *TINY]
    assert main(args) == 0
    first = json.loads((out / "metrics.json").read_text())["backtest"]["model"]["mae"]
    assert main(args + ["--resume"]) == 0  # finished members resume as finished: same model, same numbers
    assert "(resuming)" in capsys.readouterr().out
    assert json.loads((out / "metrics.json").read_text())["backtest"]["model"]["mae"] == pytest.approx(first)


def test_errors_are_reported_not_raised(tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("Date,Passengers\n1949-01,112\n1949-02,abc\n")
    assert main(["forecast", "train", "--data", str(bad), "--target", "Passengers", "--time", "Date", *TINY]) == 2
    err = capsys.readouterr().err
    assert "bad.csv: column 'Passengers' row 3: expected a number, got 'abc'" in err
    assert main(["forecast", "train", "--data", str(bad), "--target", "Pax", *TINY]) == 2
    assert "no target column 'Pax'" in capsys.readouterr().err
    assert main(["forecast", "train", "--model.cell", "gru", *TINY]) == 2
    assert "ModelConfig: expected cell in" in capsys.readouterr().err


def test_subprocess_tiny_run(tmp_path):
    exe = Path(sys.executable).with_name("lstmkit")
    cmd = [str(exe)] if exe.is_file() else [sys.executable, "-m", "lstmkit"]
    out = tmp_path / "sub"
    proc = subprocess.run(cmd + ["forecast", "train", "--out", str(out), "--horizon", "2", *TINY],
                          capture_output=True, text=True, timeout=300, env={**os.environ, "PYTHONWARNINGS": "ignore"})
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "backtest (23 origins from 1959-01" in proc.stdout
    assert (out / "report.html").is_file() and len(pd.read_csv(out / "forecast.csv")) == 2


def test_backtest_with_refits(tmp_path):
    out = tmp_path / "refit"
    args = ["forecast", "backtest", "--out", str(out), "--horizon", "2", "--backtest.start", "-10",
            "--backtest.refit", "5", *TINY]
    assert main(args) == 0
    bt = json.loads((out / "metrics.json").read_text())["backtest"]
    assert bt["origins"] == 9 and bt["refit"] == 5
    assert (out / "fits" / "backtest" / "block-0").is_dir() and (out / "fits" / "backtest" / "block-1").is_dir()
    frame = pd.read_csv(out / "backtest.csv")
    assert list(frame["origin"].unique()[:2]) == ["1960-03-01", "1960-04-01"]
