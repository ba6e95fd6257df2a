"""``lstmkit forecast train|predict|backtest``: LSTM forecasting from a CSV or Parquet file."""

from __future__ import annotations

import argparse

_EPILOG = """examples:
  lstmkit forecast train                       # built-in airline passengers -> runs/forecast-airline/report.html
  lstmkit forecast train --data sales.csv --time date --target units --id store --horizon 14 --season 7
  lstmkit forecast train --config run.yaml --model.hidden_size 64 --train.epochs 100
  lstmkit forecast backtest --data ../shared/data/series/sunspots.csv --time YEAR --target SUNACTIVITY --season 11
  lstmkit forecast predict --model runs/forecast-airline/model --data airline.csv
"""


def _common(p: argparse.ArgumentParser, with_config: bool = True) -> None:
    p.add_argument("--data", metavar="FILE", help="CSV or Parquet file (default: the built-in airline-passengers series)")
    p.add_argument("--target", metavar="COL", help="value column (wide layout: comma-separated series columns)")
    p.add_argument("--time", metavar="COL", help="time column (dates or integer steps); default: row order")
    p.add_argument("--id", metavar="COL", help="series-id column, for many series in long layout")
    if with_config:
        p.add_argument("--horizon", type=int, metavar="N", help="steps to forecast from each origin (default 6)")
        p.add_argument("--season", type=int, metavar="N", help="season length; default from the frequency (12 for monthly)")
        p.add_argument("--out", metavar="DIR", help="output folder (default runs/forecast-<data name>)")


def add_parser(sub) -> None:
    from lstmkit.cli.run_options import add_run_options
    from lstmkit.tasks.forecast.config import ForecastConfig

    p = sub.add_parser("forecast", help="train, backtest and apply LSTM forecasters",
                       description="Forecast one or many time series with an LSTM: rolling-origin backtest beside "
                       "naive and seasonal-naive baselines, forecasts as CSV, metrics as JSON, PNG plots and an HTML report.",
                       epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    fsub = p.add_subparsers(dest="forecast_command", metavar="ACTION")
    t = fsub.add_parser("train", help="backtest, fit the final model, forecast, and write the report",
                        description="Backtest from rolling origins, fit the final model on all data, forecast the "
                        "horizon after the end of each series and write model/, forecast.csv, backtest.csv, "
                        "metrics.json, plots/ and report.html into the output folder. With no arguments it runs on "
                        "the built-in airline-passengers series.", epilog=_EPILOG,
                        formatter_class=argparse.RawDescriptionHelpFormatter)
    _common(t)
    add_run_options(t, ForecastConfig)
    t.set_defaults(func=run, action="train")
    b = fsub.add_parser("backtest", help="only the rolling-origin backtest (metrics.json and backtest.csv)",
                        description="Rolling-origin backtest of the configured model beside naive and seasonal-naive "
                        "forecasts; writes backtest.csv and metrics.json.", epilog=_EPILOG,
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
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])


def _config(args):
    from lstmkit.cli.run_options import config_from_args
    from lstmkit.tasks.forecast.config import ForecastConfig

    shortcuts = {key: getattr(args, flag, None) for flag, key in (
        ("data", "data.path"), ("target", "data.target"), ("time", "data.time"), ("id", "data.id"),
        ("horizon", "horizon"), ("season", "season"), ("out", "out_dir"))}
    return config_from_args(ForecastConfig, args, shortcuts)


def run(args: argparse.Namespace) -> int:
    import sys

    try:
        if args.action == "predict":
            from lstmkit.tasks.forecast.api import Forecaster

            f = Forecaster.load(args.model)
            frame = f.predict(args.data, target=args.target, time=args.time, id=args.id)
            if args.output:
                frame.to_csv(args.output, index=False)
                print(f"forecasts: {args.output} ({len(frame)} rows)")
            else:
                print(frame.to_csv(index=False), end="")
            return 0
        cfg = _config(args)
        from lstmkit.tasks.forecast import api

        if args.action == "train":
            res = api.train(cfg, resume=args.resume)
            print(f"done: report {res.report}, forecasts {res.out_dir / 'forecast.csv'}, model {res.model_dir}")
            return 0
        bt = api.backtest(cfg, resume=args.resume)
        m = bt.metrics
        print(f"backtest: MAPE {m['model']['mape']:.3f}% (seasonal naive {m['seasonal_naive']['mape']:.3f}%), "
              f"MASE {m['model']['mase']:.4f} (seasonal naive {m['seasonal_naive']['mase']:.4f}); "
              f"written to {api.default_out_dir(cfg)}")
        return 0
    except (ValueError, FileNotFoundError) as e:
        print(f"lstmkit forecast: error: {e}", file=sys.stderr)
        return 2
