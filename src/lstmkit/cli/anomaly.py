"""``lstmkit anomaly train|score|evaluate``: LSTM anomaly detection on time series.

A thin layer over :class:`lstmkit.AnomalyDetector`: read the file, make the
run folder, call the estimator, print. A run folder holds::

    scores.csv      time, values, score (empty where not scored), threshold, anomaly flag (and label)
    events.json     anomalies as events: start, end (row and time), peak, peak score
    metrics.json    with labels: every metric for the LSTM detector and both baselines
    plots/*.png     the series with its scores and flagged regions
    report.html     all of it on one page
    model/          the detector (for ``lstmkit anomaly score --model``)
"""

from __future__ import annotations

import argparse

_EPILOG = """examples:
  lstmkit anomaly train --data ../shared/data/anomaly/mitdb.csv           # -> runs/anomaly-mitdb/report.html
  lstmkit anomaly train --data sensors.csv --data.columns temp,pressure --split.train 0:2000 --threshold.method dynamic
  lstmkit anomaly score --model runs/anomaly-mitdb/model --data new.csv --out runs/new
  lstmkit anomaly evaluate --data ../shared/data/anomaly/mitdb.csv         # train + metrics beside z-score and isolation forest

rows: the network learns from --split.train (default: the first half of the file) and fits its error model,
score pooling and threshold on the last quarter of those rows (or --split.validation); only the other rows
are scored, flagged and evaluated (or --split.score START:END).
"""

#: what the command line trains on when --split.train is not given (the estimator's default is every row)
CLI_TRAIN = "0:0.5"


def _add_config(p: argparse.ArgumentParser) -> None:
    from lstmkit.cli.run_options import add_run_options
    from lstmkit.tasks.anomaly.config import AnomalyConfig

    add_run_options(p, AnomalyConfig)


def add_parser(sub) -> None:
    p = sub.add_parser("anomaly", help="find anomalies in time series with LSTM detectors",
                       description="Train an LSTM on normal behaviour (a next-values predictor, Malhotra et al. 2015, or an "
                       "encoder-decoder, Malhotra et al. 2016), score the rows it was not trained on, threshold the scores "
                       "and report events beside a rolling z-score and an isolation forest (with every metric when the "
                       "file has a label column).",
                       epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    asub = p.add_subparsers(dest="anomaly_command", metavar="ACTION")
    for action, help_text in (
        ("train", "train a detector and score the rest of the file (scores.csv, events.json, plots, report.html, model/)"),
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
                        description="Score the rows of --data with a detector saved by `anomaly train`, "
                        "writing scores.csv, events.json, plots and report.html.")
    s.add_argument("--model", required=True, metavar="DIR", help="model folder written by `anomaly train` (…/model)")
    s.add_argument("--data", required=True, metavar="FILE", help="CSV or Parquet file with the same value columns")
    s.add_argument("--out", metavar="DIR", help="output folder (default runs/anomaly-score-<data name>)")
    s.add_argument("--span", metavar="START:END", help="score only these rows (the rows before serve as context)")
    s.add_argument("--quiet", action="store_true", help="no progress lines")
    s.set_defaults(func=run, action="score")
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])


def _write_outputs(out, det, result, run: dict) -> None:
    """scores.csv, events.json, metrics.json (with labels) and report.html in ``out``."""
    import pandas as pd

    from lstmkit.io.files import atomic_write_json

    data, lstm = result.data, result.lstm
    frame = pd.DataFrame({"time": data.time})
    for i, c in enumerate(data.columns):
        frame[c] = data.values[:, i]
    frame["score"] = lstm.scores
    frame["threshold"] = lstm.threshold
    frame["anomaly"] = lstm.flags.astype(int)
    if data.labels is not None:
        frame["label"] = data.labels
    frame.to_csv(out / "scores.csv", index=False)

    def t(i):
        v = data.time[i]
        return v.item() if hasattr(v, "item") else str(v)

    events = [{**e.to_dict(), "start_time": t(e.start), "end_time": t(e.end), "peak_time": t(e.peak)} for e in lstm.events]
    atomic_write_json(out / "events.json", events)
    if result.evaluation is not None:
        atomic_write_json(out / "metrics.json", {"evaluation": result.evaluation, "choices": det.choices_, "run": run})
    det.report(out, run=run)


def _print_summary(det, result, out) -> None:
    ev = result.evaluation
    lstm = result.lstm
    print(f"scored rows: {'; '.join(result.notes[:1])}")
    print(f"choices: season {det.choices_.get('season') or 'none'}, window {det.choices_.get('window')}, "
          f"{'differences' if det.choices_.get('difference') else 'values'} modelled; score: {det.choices_.get('pooling')}")
    if ev:
        for name in result.named:
            m = ev[name]
            print(f"  {name:18s} PR-AUC {m['pr_auc']:.3f}  ROC-AUC {m['roc_auc']:.3f}  event F1 {m['event']['f1']:.3f} "
                  f"({m['predicted_events']} events, {m['flagged_rows']} flagged rows)  UCR hit {m['ucr_hit']}")
        print(ev["verdict"])
    print(f"{len(lstm.events)} anomalous event(s), {int(lstm.flags.sum())} flagged rows; report: {out / 'report.html'}")


def run(args: argparse.Namespace) -> int:
    import sys
    import time
    from pathlib import Path

    try:
        from lstmkit.config import replace, to_yaml
        from lstmkit.io.files import atomic_write_text
        from lstmkit.tasks.anomaly.data import load_anomaly_data
        from lstmkit.tasks.anomaly.estimator import AnomalyDetector
        from lstmkit.train.memory import peak_memory_mb

        name = Path(args.data).stem
        span = getattr(args, "span", None)
        if args.action == "score" or (args.action == "evaluate" and args.model):
            det = AnomalyDetector.load(args.model)
            out = Path(args.out or (f"runs/anomaly-score-{name}" if args.action == "score" else f"runs/anomaly-{name}"))
            data = load_anomaly_data(args.data, det.config.data)
            if args.action == "evaluate" and data.labels is None:
                print(f"lstmkit anomaly: error: {args.data} has no label column to evaluate against", file=sys.stderr)
                return 2
            print(f"loaded {data.source}: {data.values.shape[0]} rows x {data.values.shape[1]} channel(s)")
            run_info = {"model": str(args.model)}
        else:
            from lstmkit.cli.run_options import config_from_args
            from lstmkit.tasks.anomaly.config import AnomalyConfig

            cfg = config_from_args(AnomalyConfig, args)
            if not cfg.split.train:
                cfg = replace(cfg, **{"split.train": CLI_TRAIN})
            out = Path(args.out or f"runs/anomaly-{name}")
            data = load_anomaly_data(args.data, cfg.data)
            if args.action == "evaluate" and data.labels is None:
                print(f"lstmkit anomaly: error: {args.data} has no label column to evaluate against", file=sys.stderr)
                return 2
            print(f"loaded {data.source}: {data.values.shape[0]} rows x {data.values.shape[1]} channel(s)")
            out.mkdir(parents=True, exist_ok=True)
            det = AnomalyDetector(config=cfg)
            t = time.perf_counter()
            det.fit(data, log_dir=out / "training", resume=args.resume)
            # train_seconds: the network's training across resumes; fit_seconds: this call (choices, training, errors)
            run_info = {"train_seconds": round(det.fit_result_.seconds, 2), "epochs": det.fit_result_.epochs,
                        "fit_seconds": round(time.perf_counter() - t, 2)}
            det.save(out / "model")
            atomic_write_text(out / "config.yaml", to_yaml(cfg))
        out.mkdir(parents=True, exist_ok=True)
        t = time.perf_counter()
        try:
            result = det.analyse(data, span=span, baselines=True)
        except ValueError as e:
            if args.action == "evaluate" or data.labels is None or "metrics need both classes" not in str(e):
                raise
            print(f"note: no evaluation: {e}")  # train still scores, flags and reports
            from dataclasses import replace as dc_replace

            data = dc_replace(data, labels=None)
            result = det.analyse(data, span=span, baselines=True)
        run_info["score_seconds"] = round(time.perf_counter() - t, 2)
        run_info["peak_memory_mb"] = round(peak_memory_mb(), 1)
        _write_outputs(out, det, result, run_info)
        _print_summary(det, result, out)
        print(f"done: {out}")
        return 0
    except (ValueError, FileNotFoundError) as e:
        print(f"lstmkit anomaly: error: {e}", file=sys.stderr)
        return 2
