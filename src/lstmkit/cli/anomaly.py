"""``lstmkit anomaly train|score|evaluate``: LSTM anomaly detection on time series."""

from __future__ import annotations

import argparse

_EPILOG = """examples:
  lstmkit anomaly train --data ../shared/data/anomaly/mitdb.csv           # -> runs/anomaly-mitdb/report.html
  lstmkit anomaly train --data sensors.csv --data.columns temp,pressure --split.train 0:2000 --threshold.method dynamic
  lstmkit anomaly score --model runs/anomaly-mitdb/model --data new.csv --out runs/new
  lstmkit anomaly evaluate --data ../shared/data/anomaly/mitdb.csv         # train + metrics beside z-score and isolation forest
"""


def _add_config(p: argparse.ArgumentParser) -> None:
    from lstmkit.cli.run_options import add_run_options
    from lstmkit.tasks.anomaly.config import AnomalyConfig

    add_run_options(p, AnomalyConfig)


def add_parser(sub) -> None:
    p = sub.add_parser("anomaly", help="find anomalies in time series with LSTM detectors",
                       description="Train an LSTM on normal behaviour (a next-values predictor, Malhotra et al. 2015, or an "
                       "encoder-decoder, Malhotra et al. 2016), score every row, threshold the scores and report events; "
                       "with a label column, evaluate beside a rolling z-score and an isolation forest.",
                       epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    asub = p.add_subparsers(dest="anomaly_command", metavar="ACTION")
    for action, help_text in (
        ("train", "train a detector and score the training file (scores.csv, events.json, plots, report.html, model/)"),
        ("evaluate", "train a detector (or load --model) and compare it with the baselines on the labels"),
    ):
        a = asub.add_parser(action, help=help_text, description=help_text, epilog=_EPILOG,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
        a.add_argument("--data", required=True, metavar="FILE", help="CSV or Parquet file, one row per time step")
        a.add_argument("--out", metavar="DIR", help="output folder (default runs/anomaly-<data name>)")
        if action == "evaluate":
            a.add_argument("--model", metavar="DIR", help="evaluate this saved detector instead of training one")
        _add_config(a)
        a.set_defaults(func=run, action=action)
    s = asub.add_parser("score", help="score a new file with a saved detector",
                        description="Score every row of --data with a detector saved by `anomaly train`, "
                        "writing scores.csv, events.json, plots and report.html.")
    s.add_argument("--model", required=True, metavar="DIR", help="model folder written by `anomaly train` (…/model)")
    s.add_argument("--data", required=True, metavar="FILE", help="CSV or Parquet file with the same value columns")
    s.add_argument("--out", metavar="DIR", help="output folder (default runs/anomaly-score-<data name>)")
    s.set_defaults(func=run, action="score")
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])


def run(args: argparse.Namespace) -> int:
    import sys
    from pathlib import Path

    try:
        from lstmkit.tasks.anomaly import api

        name = Path(args.data).stem
        if args.action == "score":
            res = api.score(args.model, args.data, args.out or f"runs/anomaly-score-{name}")
        elif args.action == "evaluate" and args.model:
            res = api.score(args.model, args.data, args.out or f"runs/anomaly-{name}", evaluate=True)
        else:
            from lstmkit.cli.run_options import config_from_args
            from lstmkit.tasks.anomaly.config import AnomalyConfig

            cfg = config_from_args(AnomalyConfig, args)
            res = api.train(cfg, args.data, args.out or f"runs/anomaly-{name}", resume=args.resume)
        if args.action == "evaluate" and res.evaluation is None:
            print(f"lstmkit anomaly: error: {args.data} has no label column to evaluate against", file=sys.stderr)
            return 2
        print(f"done: {res.out}")
        return 0
    except (ValueError, FileNotFoundError) as e:
        print(f"lstmkit anomaly: error: {e}", file=sys.stderr)
        return 2
