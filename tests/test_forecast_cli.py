"""``lstmkit forecast``: in-process and once as a subprocess, on tiny runs; the CLI and the estimator agree."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lstmkit.cli.main import main

FAST = ["--train.epochs", "2", "--model.ensemble", "1", "--model.hidden_size", "8", "--plot_series", "1",
        "--select.candidates", "lstm,seasonal_naive,naive", "--select.peers", "ets,theta"]
TINY = FAST + ["--quiet"]


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
    assert str(out / "report.html") in printed and "data handling: nothing changed" in printed
    for name in ("report.html", "forecast.csv", "backtest.csv", "metrics.json", "config.yaml",
                 "plots/forecast.png", "plots/backtest.png", "model/model.safetensors", "model/config.json"):
        assert (out / name).is_file(), name
    metrics = json.loads((out / "metrics.json").read_text())
    bt = metrics["backtest"]
    assert bt["origins"] == 10 and bt["points"] == 30 and bt["first_origin"].startswith("1960-01")
    assert {"mae", "rmse", "mape", "smape", "mase"} <= set(bt["model"]) and "mape" in bt["seasonal_naive"]
    assert bt["peers"] == ["naive", "seasonal_naive", "ets", "theta"] and "mase" in bt["ets"]
    assert metrics["choice"]["chosen"] in ("lstm", "seasonal_naive", "naive")
    assert set(metrics["choice"]["validation"]) == {"lstm", "seasonal_naive", "naive"}
    assert metrics["run"]["peak_memory_mb"] > 0
    frame = pd.read_csv(out / "backtest.csv")
    assert list(frame.columns) == ["id", "origin", "step", "time", "actual", "forecast", "q0.025", "q0.1", "q0.9",
                                   "q0.975", "naive", "seasonal_naive", "ets", "theta"]
    fc = pd.read_csv(out / "forecast.csv")
    assert list(fc["time"]) == ["1961-01-01", "1961-02-01", "1961-03-01"]
    saved = (out / "config.yaml").read_text()
    assert "start: 1960-01" in saved and "horizon: 3" in saved  # YAML and command line both applied
    assert "hidden_size: 8" in saved  # the command line wins over the YAML file
    html = (out / "report.html").read_text()
    assert "seasonal naive" in html and "AutoETS" in html and "data:image/png;base64" in html

    pred_csv = tmp_path / "pred.csv"
    assert main(["forecast", "predict", "--model", str(out / "model"), "--data", str(data), "--output", str(pred_csv)]) == 0
    pd.testing.assert_frame_equal(pd.read_csv(pred_csv), fc)


def test_cli_and_estimator_give_the_same_metrics(tmp_path, shared_data):
    """`lstmkit forecast backtest` is the estimator plus file handling: same seed, same numbers."""
    from lstmkit import Forecaster

    path = shared_data / "series" / "airline.csv"
    out = tmp_path / "cli"
    assert main(["forecast", "backtest", "--data", str(path), "--target", "Passengers", "--time", "Date",
                 "--horizon", "3", "--backtest.start", "1960-01", "--out", str(out), *TINY]) == 0
    cli = json.loads((out / "metrics.json").read_text())["backtest"]
    f = Forecaster(horizon=3, start="1960-01", epochs=2, ensemble=1, hidden_size=8, plot_series=1,
                   candidates=["lstm", "seasonal_naive", "naive"], peers=["ets", "theta"], progress_bar=False)
    f.backtest(pd.read_csv(path), target="Passengers", time="Date")
    api = f.evaluate()
    for name in ("model", "seasonal_naive", "ets", "theta"):
        for k in ("mae", "smape", "mase"):
            assert api[name][k] == pytest.approx(cli[name][k], rel=1e-9), (name, k)
    assert api["choice"][0]["validation"] == pytest.approx(cli["choice"][0]["validation"])


def test_resume_flag_continues_a_run(tmp_path, capsys):
    out = tmp_path / "run"
    args = ["forecast", "backtest", "--out", str(out), "--train.progress_bar", "false", *FAST]
    assert main(args) == 0
    first = json.loads((out / "metrics.json").read_text())["backtest"]["model"]["mae"]
    capsys.readouterr()
    assert main(args + ["--resume"]) == 0  # finished trainings resume as finished: same model, same numbers
    assert "(resuming)" in capsys.readouterr().out
    assert (out / "fits" / "backtest" / "block-0" / "validate-lstm" / "member-0" / "checkpoints").is_dir()
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
    assert main(["forecast", "train", "--select.model", "prophet", *TINY]) == 2
    assert "SelectConfig: expected model 'auto' or one of" in capsys.readouterr().err


def test_non_finite_values_stop_train_and_predict(tmp_path, shared_data, capsys):
    """Issue 14: inf or 1e300 in a CSV is an error naming file, column and row, never an exit 0 with NaN."""
    src = pd.read_csv(shared_data / "series" / "airline.csv").astype({"Passengers": float})
    for value, row in ((np.inf, 40), (1e300, 143)):
        df = src.copy()
        df.loc[row, "Passengers"] = value
        path = tmp_path / "x.csv"
        df.to_csv(path, index=False)
        assert main(["forecast", "train", "--data", str(path), "--target", "Passengers", "--time", "Date",
                     "--out", str(tmp_path / "run"), *TINY]) == 2
        err = capsys.readouterr().err
        assert f"x.csv: column 'Passengers' row {row + 2}: expected a finite number" in err
    # a trained model, then new data whose last row is inf: predict refuses, it does not print empty forecasts
    out = tmp_path / "ok"
    assert main(["forecast", "train", "--out", str(out), "--horizon", "2", "--backtest.start", "-4", *TINY]) == 0
    df = src.copy()
    df.loc[len(df) - 1, "Passengers"] = np.inf
    df.to_csv(tmp_path / "last.csv", index=False)
    capsys.readouterr()
    assert main(["forecast", "predict", "--model", str(out / "model"), "--data", str(tmp_path / "last.csv")]) == 2
    captured = capsys.readouterr()
    assert "last.csv: column 'Passengers' row 145: expected a finite number" in captured.err and captured.out == ""


def test_zeros_make_mape_undefined_and_summary_says_so(tmp_path, capsys):
    t = pd.date_range("2000-01-01", periods=120, freq="D")
    y = np.where(np.arange(120) % 7 == 6, 0.0, 10 + np.arange(120) % 7)  # a zero every Sunday
    path = tmp_path / "zeros.csv"
    pd.DataFrame({"day": t, "sales": y}).to_csv(path, index=False)
    assert main(["forecast", "backtest", "--data", str(path), "--time", "day", "--target", "sales", "--horizon", "7",
                 "--out", str(tmp_path / "z"), *TINY]) == 0
    printed = capsys.readouterr().out
    assert "nan%" not in printed and "MAPE undefined (an actual value is 0): sMAPE and MASE shown" in printed
    assert "sMAPE" in printed and "MASE" in printed
    html = (tmp_path / "z" / "report.html").read_text()
    assert "undefined" in html


def test_subprocess_tiny_run(tmp_path):
    exe = Path(sys.executable).with_name("lstmkit")
    cmd = [str(exe)] if exe.is_file() else [sys.executable, "-m", "lstmkit"]
    out = tmp_path / "sub"
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    proc = subprocess.run(cmd + ["forecast", "train", "--out", str(out), "--horizon", "2", *TINY],
                          capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "backtest (23 origins from 1959-01" in proc.stdout
    assert (out / "report.html").is_file() and len(pd.read_csv(out / "forecast.csv")) == 2


def test_backtest_with_refits(tmp_path):
    out = tmp_path / "refit"
    args = ["forecast", "backtest", "--out", str(out), "--horizon", "2", "--backtest.start", "-10",
            "--backtest.refit", "5", *TINY]
    assert main(args) == 0
    bt = json.loads((out / "metrics.json").read_text())["backtest"]
    assert bt["origins"] == 9 and bt["refit"] == 5 and len(bt["choice"]) == 2
    assert (out / "fits" / "backtest" / "block-0").is_dir() and (out / "fits" / "backtest" / "block-1").is_dir()
    frame = pd.read_csv(out / "backtest.csv")
    assert list(frame["origin"].unique()[:2]) == ["1960-03-01", "1960-04-01"]


def test_the_written_forecast_keeps_the_files_wall_clock_and_ids(tmp_path):
    """Dates written with the offsets of a zone's winter and summer time (the zone not named) crossing the
    change, two series sharing them: read as the wall-clock days written (a regular daily grid per series),
    forecast as the next days; the ids stay numbers."""
    stamps = pd.date_range("2021-03-20", periods=40, freq="D", tz="Europe/Paris")
    rows = pd.DataFrame({"day": list(stamps.strftime("%Y-%m-%dT%H:%M:%S%z")) * 2, "shop": [3] * 40 + [5] * 40,
                         "sold": np.r_[np.arange(40.0) % 7, np.arange(40.0) % 5]})
    path = tmp_path / "sales.csv"
    rows.to_csv(path, index=False)
    out = tmp_path / "run"
    assert main(["forecast", "train", "--data", str(path), "--target", "sold", "--time", "day", "--id", "shop",
                 "--horizon", "2", "--select.candidates", "naive", "--select.peers", "", "--out", str(out),
                 "--quiet"]) == 0
    fc = pd.read_csv(out / "forecast.csv")
    assert list(fc["id"]) == [3, 3, 5, 5]
    assert list(pd.to_datetime(fc["time"]).iloc[:2]) == list(pd.date_range("2021-04-29", periods=2, freq="D"))


def test_output_places_are_checked_before_any_work(tmp_path, capsys):
    taken = tmp_path / "afile"
    taken.write_text("x")
    assert main(["forecast", "train", "--out", str(taken), *TINY]) == 2
    assert "a file of that name exists; expected a folder" in capsys.readouterr().err
    assert main(["forecast", "train", "--out", str(taken / "run"), *TINY]) == 2
    assert f"{taken} is a file, not a folder" in capsys.readouterr().err
    assert main(["classify", "predict", "--model", "m", "--data", "d", "--output", str(taken / "p.csv")]) == 2
    assert not (tmp_path / "run").exists()
    capsys.readouterr()
    meant = f"{tmp_path / 'new'}/"  # a folder meant, not yet made: was an IsADirectoryError at the first write
    assert main(["forecast", "predict", "--model", "m", "--output", meant]) == 2
    assert f"names a folder; expected a file name (such as {meant}forecast.csv)" in capsys.readouterr().err
    assert not (tmp_path / "new").exists()


def test_predict_writes_into_a_folder_it_makes(tmp_path, shared_data):
    data = shared_data / "series" / "airline.csv"
    out = tmp_path / "run"
    assert main(["forecast", "train", "--data", str(data), "--target", "Passengers", "--time", "Date", "--horizon", "2",
                 "--select.candidates", "naive", "--select.peers", "", "--out", str(out), "--quiet"]) == 0
    target = tmp_path / "new dir" / "deeper" / "p.csv"
    assert main(["forecast", "predict", "--model", str(out), "--output", str(target)]) == 0  # the run folder will do
    assert len(pd.read_csv(target)) == 2
    import lstmkit

    assert len(lstmkit.load(out).predict()) == 2


def test_evaluate_scores_a_saved_model_after_a_history_beside_the_peers(tmp_path, shared_data, capsys):
    src = pd.read_csv(shared_data / "series" / "airline.csv")
    src.iloc[:132].to_csv(tmp_path / "train.csv", index=False)
    src.iloc[:138].to_csv(tmp_path / "later.csv", index=False)
    src.iloc[138:141].to_csv(tmp_path / "next.csv", index=False)
    out = tmp_path / "run"
    assert main(["forecast", "train", "--data", str(tmp_path / "train.csv"), "--horizon", "3", "--select.candidates",
                 "ets,seasonal_naive", "--select.peers", "theta", "--out", str(out), "--quiet"]) == 0
    capsys.readouterr()
    target = tmp_path / "new dir" / "m.json"
    assert main(["forecast", "evaluate", "--model", str(out / "model"), "--history", str(tmp_path / "later.csv"),
                 "--data", str(tmp_path / "next.csv"), "--output", str(target)]) == 0
    said = capsys.readouterr().out
    assert "scored 3 values of 1 series (horizon 3): model sMAPE" in said and "AutoTheta sMAPE" in said
    m = json.loads(target.read_text())
    import lstmkit

    fc = lstmkit.load(out / "model").predict(history=src.iloc[:138])["forecast"].to_numpy()
    assert m["points"] == 3 and m["peers"] == ["naive", "seasonal_naive", "theta"]
    assert m["model"]["mae"] == pytest.approx(np.mean(np.abs(fc - src["Passengers"].iloc[138:141].to_numpy())))
    # values that do not follow the history: the one-line error, not a traceback
    assert main(["forecast", "evaluate", "--model", str(out / "model"), "--history", str(tmp_path / "train.csv"),
                 "--data", str(tmp_path / "next.csv")]) == 2
    assert "no actual value at the 3 timestamps after the end of any history series" in capsys.readouterr().err


def test_a_chosen_statistical_model_gives_its_own_band_and_the_report_says_so(tmp_path, shared_data):
    pytest.importorskip("statsforecast")
    out = tmp_path / "run"
    data = shared_data / "series" / "airline.csv"
    rc = main(["forecast", "train", "--data", str(data), "--target", "Passengers", "--time", "Date", "--horizon", "3",
               "--select.model", "theta", "--backtest.start", "1960-06", "--out", str(out), *TINY])
    assert rc == 0
    html = (out / "report.html").read_text()
    assert "AutoTheta&#x27;s own" in html or "AutoTheta's own" in html
    fc = pd.read_csv(out / "forecast.csv")
    assert (fc["q0.025"] < fc["q0.1"]).all() and (fc["q0.1"] < fc["forecast"]).all()
    assert (fc["forecast"] < fc["q0.9"]).all() and (fc["q0.9"] < fc["q0.975"]).all()
    # and with the validation band asked for, the report says where that one comes from
    out2 = tmp_path / "run2"
    assert main(["forecast", "train", "--data", str(data), "--target", "Passengers", "--time", "Date", "--horizon", "3",
                 "--select.model", "theta", "--model.intervals", "validation", "--backtest.start", "1960-06",
                 "--out", str(out2), *TINY]) == 0
    assert "per-step quantiles of the chosen model" in (out2 / "report.html").read_text()
    assert not np.allclose(pd.read_csv(out2 / "forecast.csv")["q0.975"], fc["q0.975"])


def test_train_on_known_future_covariates_without_future_rows_writes_no_forecast_and_says_why(tmp_path, capsys):
    # the run (backtest, fit, model, report) is whole; only the forecast after the end needs the covariates' future
    rng = np.random.default_rng(0)
    n = 60
    t = pd.date_range("2018-01", periods=n, freq="MS")
    promo = (rng.random(n) < 0.3).astype(float)
    y = 100 + 10 * np.sin(2 * np.pi * np.arange(n) / 12) + 20 * promo + rng.normal(0, 1, n)
    path = tmp_path / "promo.csv"
    pd.DataFrame({"month": t, "sales": y, "promo": promo}).to_csv(path, index=False)
    out = tmp_path / "run"
    assert main(["forecast", "train", "--data", str(path), "--time", "month", "--target", "sales", "--horizon", "3",
                 "--data.future_covariates", "promo", "--out", str(out), *TINY]) == 0
    assert "known-future covariates ['promo'] need 3 rows after the last target value" in capsys.readouterr().out
    assert pd.read_csv(out / "forecast.csv").empty and (out / "model").is_dir()
    assert main(["forecast", "predict", "--model", str(out / "model")]) == 2
    assert "so it needs their values for the 3 steps after each series' end" in capsys.readouterr().err
