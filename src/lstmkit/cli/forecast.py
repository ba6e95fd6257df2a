"""``lstmkit forecast train|backtest|predict|evaluate``: a thin layer over :class:`lstmkit.Forecaster`.

This module reads the file into a DataFrame, calls the estimator, writes the
run folder (model, CSVs, metrics, report) and prints; everything else happens
in the estimator, so ``lstmkit forecast train`` and the same calls in Python
give the same numbers.
"""

from __future__ import annotations

import argparse

_EPILOG = """examples:
  lstmkit forecast train                       # built-in airline passengers -> runs/forecast-airline/report.html
  lstmkit forecast train --data sales.csv --time date --target units --id store --horizon 14
  lstmkit forecast train --config run.yaml --model.hidden_size 64 --select.model lstm
  lstmkit forecast backtest --data ../shared/data/series/sunspots.csv --time YEAR --target SUNACTIVITY --horizon 11
  lstmkit forecast predict --model runs/forecast-airline/model --data airline.csv
  lstmkit forecast evaluate --model runs/forecast-sales/model --history sales.csv --data sales_next_month.csv
"""


def _common(p: argparse.ArgumentParser, with_config: bool = True) -> None:
    p.add_argument("--data", metavar="FILE", help="CSV or Parquet file (default: the built-in airline-passengers series)")
    p.add_argument("--target", metavar="COL", help="value column (wide layout: comma-separated series columns)")
    p.add_argument("--time", metavar="COL", help="time column (dates or integer steps); default: the one column of dates, else row order")
    p.add_argument("--id", metavar="COL", help="series-id column, for many series in long layout (COL1,COL2: "
                   "several columns that together name each series)")
    if with_config:
        p.add_argument("--horizon", type=int, metavar="N", help="steps to forecast from each origin (default 6)")
        p.add_argument("--season", type=int, metavar="N", help="season length; default from the frequency, else "
                       "detected in the data (1: none)")
        p.add_argument("--out", metavar="DIR", help="output folder (default runs/forecast-<data name>)")


def add_parser(sub) -> None:
    from lstmkit.cli.run_options import add_run_options
    from lstmkit.tasks.forecast.config import ForecastConfig

    p = sub.add_parser("forecast", help="train, backtest and apply LSTM forecasters",
                       description="Forecast one or many time series: an LSTM chosen against AutoETS, AutoARIMA, "
                       "AutoTheta and the naive forecasts by validation on the training data, a rolling-origin "
                       "backtest beside all of them, forecasts as CSV, metrics as JSON and an HTML report.",
                       epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    fsub = p.add_subparsers(dest="forecast_command", metavar="ACTION")
    t = fsub.add_parser("train", help="backtest, fit the final model, forecast, and write the report",
                        description="Backtest from rolling origins, fit the final model on all data (model choice "
                        "included), forecast the horizon after the end of each series and write model/, forecast.csv, "
                        "backtest.csv, metrics.json, plots/ and report.html into the output folder. With no arguments "
                        "it runs on the built-in airline-passengers series.", epilog=_EPILOG,
                        formatter_class=argparse.RawDescriptionHelpFormatter)
    _common(t)
    add_run_options(t, ForecastConfig)
    t.set_defaults(func=run, action="train")
    b = fsub.add_parser("backtest", help="only the rolling-origin backtest (report, metrics.json, backtest.csv)",
                        description="Rolling-origin backtest of the forecaster (model choice included) beside naive, "
                        "seasonal naive and the statsforecast peers on the same windows; writes report.html, "
                        "backtest.csv and metrics.json.", epilog=_EPILOG,
                        formatter_class=argparse.RawDescriptionHelpFormatter)
    _common(b)
    add_run_options(b, ForecastConfig)
    b.set_defaults(func=run, action="backtest")
    r = fsub.add_parser("predict", help="forecast after the end of each series with a trained model",
                        description="Load a model folder written by `forecast train` and forecast its horizon after "
                        "the end of every series in --data (column names default to the training data's).")
    r.add_argument("--model", required=True, metavar="DIR", help="model folder (…/model with model.safetensors and config.json)")
    _common(r, with_config=False)
    r.add_argument("--output", metavar="FILE.csv", help="write forecasts here (default: print them)")
    r.set_defaults(func=run, action="predict")
    e = fsub.add_parser("evaluate", help="score a trained model's forecasts on the values that followed, beside the "
                        "peers", description="Load a model folder written by `forecast train`, forecast the horizon "
                        "after the end of every series in --history (as `predict` does) and score those forecasts, "
                        "and those of naive, seasonal naive and the statsforecast peers fitted on the same history, "
                        "against the values that followed in --data (same ids, the times after each series' end). "
                        "Column names default to the training data's.")
    e.add_argument("--model", required=True, metavar="DIR", help="model folder (…/model with model.safetensors and "
                   "config.json)")
    e.add_argument("--history", required=True, metavar="FILE", help="the data the forecasts start from (the "
                   "training data, or the same series up to a later end)")
    _common(e, with_config=False)
    e.add_argument("--output", metavar="FILE.json", help="write the metrics here as JSON")
    e.set_defaults(func=run, action="evaluate")
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])


def _config(args):
    from lstmkit.cli.run_options import config_from_args
    from lstmkit.tasks.forecast.config import ForecastConfig

    shortcuts = {key: getattr(args, flag, None) for flag, key in (
        ("data", "data.path"), ("target", "data.target"), ("time", "data.time"), ("id", "data.id"),
        ("horizon", "horizon"), ("season", "season"), ("out", "out_dir"))}
    return config_from_args(ForecastConfig, args, shortcuts)


def out_dir(cfg):
    """The run folder: ``out_dir``, else ``runs/forecast-<data file stem, or airline>``."""
    from pathlib import Path

    return Path(cfg.out_dir or f"runs/forecast-{Path(cfg.data.path).stem if cfg.data.path else 'airline'}")


def read_frame(path: str):
    """The file as a DataFrame (its name and rows travel with it into every error message)."""
    from lstmkit.data.series import read_table

    return read_table(path)


def _is_rank_zero() -> bool:
    """False in the extra processes Lightning's DDP launcher starts: only the first one writes and prints."""
    import os

    return os.environ.get("LOCAL_RANK", "0") == "0" and os.environ.get("NODE_RANK", "0") == "0"


def write_outputs(out, f, cfg, extra_metrics: dict) -> dict:
    """Write config.yaml, backtest.csv, forecast.csv, metrics.json and report.html; return the metrics."""
    import json

    from lstmkit.config import to_yaml
    from lstmkit.io.files import atomic_write_text
    from lstmkit.train.memory import peak_memory_mb

    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / "config.yaml", to_yaml(cfg))
    metrics: dict = {}
    data = getattr(f, "data_", None) or getattr(f, "backtest_data_", None)
    if data is not None:
        metrics["data"] = {"source": data.source, "series": len(data), "values": int(sum(len(s) for s in data.series)),
                           "freq": str(data.freq), "target": data.target, "notes": data.notes}
    if getattr(f, "backtest_", None) is not None:  # times in the data's own zone, as the API returns them
        f.backtest_data_.form.frame(f.backtest_.frame).to_csv(out / "backtest.csv", index=False)
        metrics["backtest"] = f.backtest_.metrics
    if f.is_fitted:
        # predict's table without predict's error: empty, beside its note, where known-future covariates lack rows
        f._forecast_table()[0].to_csv(out / "forecast.csv", index=False)
        metrics["choice"] = f.choice_
    metrics["run"] = {**extra_metrics, "peak_memory_mb": round(peak_memory_mb(), 1)}
    report = f.report(out)
    atomic_write_text(out / "metrics.json", json.dumps(metrics, indent=2, default=str))
    metrics["report"] = str(report)
    return metrics


def run(args: argparse.Namespace) -> int:
    import sys
    import time

    try:
        if args.action == "predict":
            from lstmkit.tasks.forecast.estimator import Forecaster

            f = Forecaster.load(args.model)
            history = read_frame(args.data) if args.data else None
            if history is None:
                frame = f.predict()
            else:
                frame = f.predict(history=history, target=args.target, time=args.time, id=args.id)
            if frame.empty:
                print(f"lstmkit forecast: error: no forecast could be made for {args.data or 'the training data'} "
                      "(see the notes above)", file=sys.stderr)
                return 2
            if args.output:
                frame.to_csv(args.output, index=False)
                print(f"forecasts: {args.output} ({len(frame)} rows)")
            else:
                print(frame.to_csv(index=False), end="")
            return 0
        if args.action == "evaluate":
            return _evaluate(args)
        cfg = _config(args)
        from lstmkit.tasks.forecast.estimator import Forecaster, backtest_line

        out = out_dir(cfg)
        frame = read_frame(cfg.data.path) if cfg.data.path else None
        f = Forecaster(config=cfg)
        t0 = time.perf_counter()
        log_dir = out / "fits"
        f.backtest(frame, log_dir=log_dir, resume=args.resume)
        run_info = {"backtest_seconds": round(time.perf_counter() - t0, 3)}
        if args.action == "train":
            t1 = time.perf_counter()
            f.fit(frame, log_dir=log_dir, resume=args.resume)
            run_info["fit_seconds"] = round(time.perf_counter() - t1, 3)
        run_info["total_seconds"] = round(time.perf_counter() - t0, 3)
        if not _is_rank_zero():
            return 0
        if f.is_fitted:
            f.save(out / "model")
        metrics = write_outputs(out, f, cfg, run_info)
        m = metrics["backtest"]
        notes = metrics.get("data", {}).get("notes", []) + [n for n in m.get("notes", [])]
        print(f"data handling: {'; '.join(notes) if notes else 'nothing changed (no gaps, no missing values)'}")
        print(f"backtest ({m['origins']} origins from {m['first_origin']}, horizon {m['horizon']}): {backtest_line(m)}")
        print(f"  {m['verdict']['text']}")
        if args.action == "train":
            print(f"chosen for the forecasts: {f.choice_text()}")
            print(f"done: report {metrics['report']}, forecasts {out / 'forecast.csv'}, model {out / 'model'}")
        else:
            print(f"done: report {metrics['report']}, backtest {out / 'backtest.csv'}, metrics {out / 'metrics.json'}")
        return 0
    except (ValueError, FileNotFoundError, ImportError, FloatingPointError) as e:
        print(f"lstmkit forecast: error: {e}", file=sys.stderr)
        return 2


def _evaluate(args: argparse.Namespace) -> int:
    """``forecast evaluate``: the loaded model's forecasts after ``--history`` against ``--data``, beside the peers."""
    import sys

    from lstmkit.io.files import atomic_write_json
    from lstmkit.tasks.forecast.estimator import Forecaster, backtest_line

    if not args.data:
        print("lstmkit forecast: error: evaluate needs --data, the values that followed --history", file=sys.stderr)
        return 2
    f = Forecaster.load(args.model)
    m = f.evaluate(read_frame(args.data), history=read_frame(args.history), target=args.target, time=args.time,
                   id=args.id)
    print(f"scored {m['points']} values of {m['series']} series (horizon {m['horizon']}): {backtest_line(m)}")
    print(f"  {m['verdict']['text']}")
    for note in m.get("notes", []):
        print(f"  note: {note}")
    if args.output:
        atomic_write_json(args.output, m)
        print(f"metrics: {args.output}")
    return 0
