"""Random option combinations and API sessions through the forecaster: a search for crashes off the defaults.

The other probes run the defaults on many kinds of series; users also set options, and combinations of them
are where a run can stop with a traceback instead of a one-line error. Each seed draws a data set (one series
of ``probe_forecast_random``'s plain, odd-frequency or hard kinds, or a panel of 2-7 of its panel series),
sometimes with holes, values crossing zero, a known-future 0/1 covariate and a past covariate, and then:

``--cli``: one ``lstmkit forecast train`` run (in a subprocess, as a user runs it) with 2 to 6 options drawn
from :data:`CLI_OPTIONS` (a value each), two epochs and one network per set-up (to keep a run to seconds).
The record says the exit code, whether the output held a Python traceback (a bug: the command line reports
errors in one line), the last line of its error output, whether every number of ``forecast.csv`` is finite,
and any forecast or bound farther than :data:`REACH` ranges from its series' history.
After a finished run, ``forecast predict`` on the training file must give ``forecast.csv``'s forecasts again,
and ``forecast evaluate`` of the model from all but each series' last two rows on those rows must end in a
score or a one-line error.

``--api``: a session of :class:`lstmkit.Forecaster` with 1 to 4 keyword parameters drawn from
:data:`API_PARAMS`: fit on all but the last ``H`` values of each series, ``predict`` (the horizon's rows of
the known-future covariate added, and ``predict()`` without them must say it needs them; every forecast and
bound within :data:`REACH` ranges of the series' history), a shorter
horizon, ``evaluate`` on the held-out values, ``save`` / ``load`` (the loaded model must give the same
forecasts), ``predict(history=...)`` on the training data (the same forecasts again), ``evaluate`` of the
loaded model with the training data as ``history`` (the same scores) and a ``backtest``. The data come as a
long frame, or (drawn from a generator of their own, so that a seed's other draws stay those of earlier runs) a
frame without its time column (the row order), a pandas Series indexed by dates, a 1-D array, or a wide frame.
The record says the step that raised and the error.

    .venv/bin/python benchmarks/probe_forecast_options.py --cli OUT.jsonl FIRST LAST   # seeds FIRST .. LAST-1
    .venv/bin/python benchmarks/probe_forecast_options.py --api OUT.jsonl FIRST LAST

A one-line error for a combination that cannot work (a log transform of values <= 0) is the intended answer; a traceback, a wrong exit code or a silent empty answer is not.
Figures: ``benchmarks/RESULTS_forecast_long.md``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from probe_forecast_random import draw, draw_hard, draw_odd, draw_panel  # noqa: E402

LSTMKIT = str(Path(sys.executable).parent / "lstmkit")

#: command-line options and the values drawn for them
CLI_OPTIONS = {
    "--season": ["1", "4", "7", "12", "0"],
    "--data.transform": ["auto", "log", "none"],
    "--data.scaling": ["auto", "standard", "minmax", "mean", "none"],
    "--data.outliers": ["keep", "replace"],
    "--data.max_gap": ["0", "2", "50"],
    "--data.missing": ["interpolate", "error"],
    "--model.input_size": ["0", "1", "3", "8", "60"],
    "--model.hidden_size": ["0", "4", "16"],
    "--model.num_layers": ["1", "2"],
    "--model.dropout": ["0", "0.3"],
    "--model.cell": ["lstm", "peephole", "layernorm"],
    "--model.decoder": ["direct", "autoregressive"],
    "--model.output": ["point", "gaussian", "quantile"],
    "--model.loss": ["mae", "mse"],
    "--model.quantiles": ["0.1,0.5,0.9", "0.05,0.95", "0.5"],
    "--model.intervals": ["model", "validation", "wider"],
    "--model.instance_norm": ["mean", "meanstd", "none"],
    "--model.norm_window": ["0", "3"],
    "--model.calendar": ["true", "false"],
    "--model.deseasonalise": ["auto", "all", "none"],
    "--model.ensemble": ["1", "2"],
    "--model.backend": ["auto", "cpu", "torch", "reference"],
    "--train.batch_size": ["4", "32", "512"],
    "--train.optimizer": ["adam", "adamw", "sgd"],
    "--train.schedule": ["none", "cosine", "plateau", "onecycle"],
    "--train.grad_clip": ["0", "1"],
    "--train.early_stopping": ["0", "2"],
    "--train.weight_decay": ["0", "0.01"],
    "--select.model": ["auto", "lstm", "lstm-level", "ets", "arima", "theta", "seasonal_naive", "naive",
                       "combination"],
    "--select.candidates": ["lstm,ets", "naive,seasonal_naive", "theta", "lstm-level,combination,arima",
                            "combination", "lstm"],
    "--select.rule": ["best", "pool"],
    "--select.windows": ["0", "1", "3"],
    "--select.metric": ["mase", "smape", "mae"],
    "--select.peers": ["ets", "theta,arima", ""],
    "--backtest.start": ["auto", "-10", "0.8"],
    "--backtest.stride": ["0", "1", "3"],
    "--backtest.refit": ["0", "2"],
}

#: Forecaster keyword parameters and the values drawn for them
API_PARAMS = {
    "season": [1, 4, 7, 12], "transform": ["auto", "log", "none"], "outliers": ["keep", "replace"],
    "input_size": [0, 3, 40], "cell": ["lstm", "peephole", "layernorm"], "decoder": ["direct", "autoregressive"],
    "output": ["point", "gaussian", "quantile"], "intervals": ["model", "validation", "wider"],
    "instance_norm": ["mean", "meanstd", "none"], "calendar": [True, False], "deseasonalise": ["auto", "all", "none"],
    "model": ["auto", "lstm", "lstm-level", "ets", "theta", "seasonal_naive", "naive", "combination"],
    "rule": ["best", "pool"], "metric": ["mase", "smape", "mae"], "peers": [["ets"], [], ["theta", "arima"]],
    "num_layers": [1, 2], "schedule": ["none", "cosine", "plateau", "onecycle"],
}


def dataset(rng: np.random.Generator, seed: int) -> tuple[pd.DataFrame, int, dict[str, str]]:
    """A data set (columns t, y[, id][, promo][, temp]), a horizon, and the covariates it has: {role: column}."""
    k = int(rng.integers(5))
    if k == 0:
        df, h, _ = draw(seed)
    elif k == 1:
        df, h, _ = draw_odd(seed)
    elif k == 2:
        df, h, _, _ = draw_hard(seed)
    else:
        df, h, _ = draw_panel(seed)
        df = df[df["id"].isin(df["id"].unique()[: int(rng.integers(2, 8))])].reset_index(drop=True)
    df = df.copy()
    if rng.random() < 0.3:  # holes
        df.loc[rng.random(len(df)) < 0.05, "y"] = np.nan
    if rng.random() < 0.25:  # values crossing zero
        df["y"] = df["y"] - df["y"].mean()
    cov = {}
    if rng.random() < 0.3:
        df["promo"] = (rng.random(len(df)) < 0.2).astype(float)
        cov["future_covariates"] = "promo"
    if rng.random() < 0.2:
        df["temp"] = rng.normal(0, 1, len(df))
        cov["past_covariates"] = "temp"
    return df, int(h), cov


def run_cli(seed: int, work: Path) -> dict:
    rng = np.random.default_rng(777000 + seed)
    df, h, cov = dataset(rng, seed)
    path = work / f"d{seed}.csv"
    df.to_csv(path, index=False)
    out = work / f"r{seed}"
    args = [LSTMKIT, "forecast", "train", "--data", str(path), "--target", "y", "--time", "t", "--quiet",
            "--horizon", str(int(rng.choice([1, 2, h, 6]))), "--train.epochs", "2", "--out", str(out)]
    if "id" in df.columns:
        args += ["--id", "id"]
    for role, col in cov.items():
        args += [f"--data.{role}", col]
    picks = [str(k) for k in rng.choice(list(CLI_OPTIONS), size=int(rng.integers(2, 7)), replace=False)]
    for k in picks:
        args += [k, str(rng.choice(CLI_OPTIONS[k]))]
    if "--model.ensemble" not in picks:
        args += ["--model.ensemble", "1"]
    t0 = time.perf_counter()
    try:
        p = subprocess.run(args, capture_output=True, text=True, timeout=600)
        rc, err = p.returncode, p.stderr
    except subprocess.TimeoutExpired:
        rc, err = "timeout", ""
    lines = [line for line in err.splitlines() if line.strip()]
    rec = {"seed": seed, "rc": rc, "traceback": "Traceback" in err, "last": lines[-1][:400] if lines else "",
           "seconds": round(time.perf_counter() - t0, 1), "args": " ".join(args[3:])}
    if rc == 0:
        fc = pd.read_csv(out / "forecast.csv")
        rec["finite"] = bool(np.isfinite(fc.select_dtypes("number").to_numpy()).all())
        try:
            within_reach(fc, df, "frame")
        except AssertionError as e:
            rec["out_of_reach"] = str(e)
        _cli_after_train(rec, out, path, df, work, seed)
    if rec["traceback"]:
        rec["tail"] = err[-2500:]
    shutil.rmtree(out, ignore_errors=True)
    path.unlink()
    return rec


def _cli_after_train(rec: dict, out: Path, path: Path, df: pd.DataFrame, work: Path, seed: int) -> None:
    """``forecast predict`` on the training file (the forecasts of ``forecast.csv`` again, or the one-line error
    where that file is empty) and ``forecast evaluate`` of the model from all but each series' last rows on those
    rows (a one-line error at most), into ``rec``."""
    def call(*args) -> tuple[object, str, str]:
        try:
            p = subprocess.run([LSTMKIT, "forecast", *args], capture_output=True, text=True, timeout=600)
        except subprocess.TimeoutExpired:
            return "timeout", "", ""
        return p.returncode, p.stdout, p.stderr

    fc = pd.read_csv(out / "forecast.csv")
    pred = work / f"p{seed}.csv"
    rc, _, err = call("predict", "--model", str(out / "model"), "--data", str(path), "--output", str(pred))
    rec["predict_rc"] = rc
    rec["traceback"] = rec["traceback"] or "Traceback" in err
    if rc == 0 and len(fc):
        again = pd.read_csv(pred)
        rec["predict_same"] = bool(len(again) == len(fc) and np.allclose(
            again["forecast"].to_numpy(float), fc["forecast"].to_numpy(float), rtol=1e-4, atol=1e-6))
    elif rc != 0:
        rec["predict_last"] = (err.strip().splitlines() or [""])[-1][:300]
    tail_rows = df.groupby("id").tail(2) if "id" in df.columns else df.tail(2)
    history, actual = work / f"h{seed}.csv", work / f"a{seed}.csv"
    df.drop(tail_rows.index).to_csv(history, index=False)
    tail_rows.to_csv(actual, index=False)
    rc, _, err = call("evaluate", "--model", str(out / "model"), "--history", str(history), "--data", str(actual))
    rec["evaluate_rc"] = rc
    rec["traceback"] = rec["traceback"] or "Traceback" in err
    if rc != 0:
        rec["evaluate_last"] = (err.strip().splitlines() or [""])[-1][:300]
    for f in (pred, history, actual):
        f.unlink(missing_ok=True)


#: forecasts and interval bounds farther than this many ranges of a series' history from it are reported
REACH = 5.0


def within_reach(p: pd.DataFrame, train, form: str) -> None:
    """Every forecast and band of a series lies within :data:`REACH` ranges of its training values (the range:
    largest less smallest; its mean absolute value where flat; 1 where all zeros) of them. One series with
    nothing to scale by once put every other series' 97.5 % bound at four times its forecast, and no check here
    saw it."""
    if not len(p):  # (no forecasts: a known-future covariate without its rows after the end)
        return
    if form == "wide":
        hist = {str(c): train[c].to_numpy(dtype=float) for c in train.columns if c != "t"}
    elif isinstance(train, pd.DataFrame) and "id" in train.columns:
        hist = {str(k): g["y"].to_numpy(dtype=float) for k, g in train.groupby("id")}
    else:
        y = train["y"] if isinstance(train, pd.DataFrame) else train
        hist = {str(p["id"].iloc[0]): np.asarray(y, dtype=float)}
    cols = ["forecast", *[c for c in p.columns if c.startswith("q")]]
    for sid, g in p.groupby(p["id"].astype(str)):
        v = hist[sid][np.isfinite(hist[sid])]
        lo, hi = float(v.min()), float(v.max())
        span = (hi - lo) or float(np.abs(v).mean()) or 1.0
        vals = g[cols].to_numpy(dtype=float)
        vals = vals[np.isfinite(vals)]
        worst = float(max(lo - vals.min(), vals.max() - hi, 0.0)) / span
        assert worst <= REACH, f"series {sid!r}: a forecast or bound {worst:.1f} ranges of its history outside it"


def run_api(seed: int, work: Path) -> dict:
    import lstmkit

    rng = np.random.default_rng(555000 + seed)
    df, h, cov = dataset(rng, seed)
    cols = dict(time="t", target="y", **({"id": "id"} if "id" in df.columns else {}))
    kw = {}
    for k in rng.choice(list(API_PARAMS), size=int(rng.integers(1, 5)), replace=False):
        kw[str(k)] = API_PARAMS[k][int(rng.integers(len(API_PARAMS[k])))]
    kw.update({role: [col] for role, col in cov.items()})
    H = int(rng.choice([1, 3, h]))
    # the form the data come in (its own generator, so that a seed's other draws are those of earlier runs)
    form = str(np.random.default_rng(777000 + seed).choice(["frame", "frame", "frame", "rows", "series", "array",
                                                            "wide"]))
    if form in ("series", "array") or (form == "wide" and "id" not in df.columns):
        form = form if form != "wide" else "frame"
        if "id" in df.columns:
            df = df[df["id"] == df["id"].iloc[0]].drop(columns="id").reset_index(drop=True)
    if form != "frame":  # covariates only in the long frame (rows: kept, on the row order)
        for role, col in list(cov.items()):
            if form != "rows":
                df = df.drop(columns=col)
                del cov[role]
                kw.pop(role, None)
    ids = ["id"] if "id" in df.columns and form != "wide" else []
    tail = df.groupby("id").tail(H) if ids else df.tail(H)  # held out for evaluate()
    if form == "wide":
        df = df.pivot(index="t", columns="id", values="y").reset_index()
        df.columns = [str(c) for c in df.columns]
        tail = df.tail(H)
    train = df.drop(tail.index)
    fut = "future_covariates" in cov
    # the training data, then the horizon's rows with the known-future covariate and no target
    whole = pd.concat([train, tail.assign(y=np.nan)]).sort_values([*ids, "t"]) if fut else train
    if form == "rows":
        cols.pop("time")
        train, tail, whole = (x.drop(columns="t") for x in (train, tail, whole))
    elif form == "wide":
        cols = dict(time="t", layout="wide")
    elif form in ("series", "array"):
        cols = {}
        train, tail = (pd.Series(x["y"].to_numpy(), index=pd.DatetimeIndex(x["t"]) if pd.api.types.is_datetime64_any_dtype(x["t"]) else None)
                       for x in (train, tail))
        if form == "array":
            train, tail = train.to_numpy(), tail.to_numpy()
        whole = train
    more = {"history": whole, **cols} if fut else {}
    rec = {"seed": seed, "horizon": H, "params": kw, "values": len(df), "form": form}
    t0 = time.perf_counter()
    step = "init"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            f = lstmkit.Forecaster(horizon=H, epochs=2, ensemble=1, progress_bar=False, **kw)
            step = "fit"
            f.fit(train, **cols)
            if fut:
                step = "predict without the covariate's future"
                try:  # a series whose training part ends in rows of the covariate without a target has them
                    assert len(f.predict()), "predict() without the known-future rows gave an empty table"
                except ValueError as e:
                    assert "known-future covariates" in str(e), e
            step = "predict"
            p = f.predict(**more)
            assert np.isfinite(p["forecast"].to_numpy(dtype=float)).all(), "non-finite forecasts"
            step = "forecasts and bands within reach of the history"
            within_reach(p, train, form)
            if H > 1:
                step = "predict a shorter horizon"
                assert len(f.predict(horizon=1, **more)) == p["id"].nunique()
            step = "evaluate"
            last = (train.groupby("id")["y"].agg(lambda v: v.iloc[-1]) if ids
                    else pd.DataFrame(train).drop(columns="t", errors="ignore").iloc[-1:])
            ends_empty = pd.isna(np.asarray(last, dtype=float))
            scored = None
            try:
                scored = f.evaluate(tail, **cols)
            except ValueError as e:  # every training part ends without a target: its forecasts start there, before
                held = pd.DataFrame(tail).drop(columns=["t", "id"], errors="ignore")  # the held-out values
                if not (ends_empty.all() and "no actual value" in str(e)  # (as they should), or none held out
                        or held.isna().all().all() and "missing" in str(e)):
                    raise
            step = "save"
            f.save(work / "model")
            step = "load"
            g = lstmkit.Forecaster.load(work / "model")
            step = "predict after load"
            np.testing.assert_allclose(g.predict(**more)["forecast"], p["forecast"], rtol=1e-5, atol=1e-8)
            step = "predict from a given history"
            np.testing.assert_allclose(g.predict(history=whole, **cols)["forecast"], p["forecast"], rtol=1e-4,
                                       atol=1e-6)
            if scored is not None:
                step = "evaluate after load, from the training data as history"
                again = g.evaluate(tail, history=train, **cols)
                assert again["points"] == scored["points"], (again["points"], scored["points"])
                np.testing.assert_allclose(again["model"]["mae"], scored["model"]["mae"], rtol=1e-4, atol=1e-6)
            step = "backtest"
            try:
                b = f.backtest(stride=max(1, H))
            except ValueError as e:  # a training part of 2 values (a panel's shortest series, alone) holds none
                if "no series is long enough for a backtest" not in str(e) or rec["values"] > 2 * H + 4:
                    raise
            else:
                assert np.isfinite(b["forecast"].to_numpy(dtype=float)).all(), "non-finite backtest forecasts"
        rec["ok"] = True
    except Exception as e:  # noqa: BLE001 - the point is to record what raises, and where
        rec.update(ok=False, step=step, error=f"{type(e).__name__}: {str(e)[:300]}",
                   where=traceback.format_exc()[-1500:])
    rec["seconds"] = round(time.perf_counter() - t0, 1)
    return rec


def main(argv: list[str]) -> int:
    if len(argv) != 4 or argv[0] not in ("--cli", "--api") or not (argv[2].isdigit() and argv[3].isdigit()):
        print(__doc__)
        return 2
    mode, out = argv[0], Path(argv[1])
    with tempfile.TemporaryDirectory() as tmp:
        for seed in range(int(argv[2]), int(argv[3])):
            rec = run_cli(seed, Path(tmp)) if mode == "--cli" else run_api(seed, Path(tmp))
            with out.open("a") as f:
                f.write(json.dumps(rec, default=str) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
