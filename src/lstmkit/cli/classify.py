"""``lstmkit classify train|predict|evaluate``: sequence classification of text and time series."""

from __future__ import annotations

import argparse

from lstmkit.cli.task_actions import (add_task_command, default_out, evaluate_action, note, predict_action, print_run,
                                      run_action, train_action, wrote_output)

_EPILOG = """examples:
  lstmkit classify train --data ../shared/data/ucr/GunPoint_TRAIN.ts --test ../shared/data/ucr/GunPoint_TEST.ts
  lstmkit classify train --data ../shared/data/sst2/train.tsv --val ../shared/data/sst2/dev.tsv --test ../shared/data/sst2/test.tsv
  lstmkit classify train --data series.csv --data.id_column id --data.time_column t --select.mode off --model.pooling mean
  lstmkit classify predict --model runs/classify-train/model --data new.tsv --output predictions.jsonl
  lstmkit classify evaluate --model runs/classify-train/model --data test.tsv --out runs/eval
"""

ACTIONS = [
    train_action("classify", "train a classifier (series: model chosen by cross-validation, 1-NN baselines beside it)",
                 "Train on --data. Small series sets choose pooling, frame, the LSTM-FCN branch, scaling and epochs by "
                 "cross-validation on --data, with 1-NN Euclidean and DTW as candidates; otherwise early stopping on "
                 "--val (or a held-out share of --data when large enough). Scores --test if given, beside the 1-NN "
                 "baselines.", "training file: .tsv/.csv text, .ts or .csv series",
                 ("--val", "validation file for early stopping (same layout; turns the cross-validation off)"),
                 "test file scored after training (metrics.json, predictions.csv, confusion.png)"),
    predict_action("classify", "predict classes with a trained model", "file in the training data's layout (labels not needed)",
                   "predictions as .csv or .jsonl (default: CSV on standard output)"),
    evaluate_action("classify", "accuracy, macro-F1 and confusion matrix of a trained model on a labelled file, beside 1-NN",
                    "Score a model folder on --data: metrics.json, predictions.csv and plots/confusion.png in --out.",
                    "labelled file in the training data's layout",
                    [("--unseen-labels", None, "labels training never saw: error (default) or skip them",
                      {"choices": ("error", "skip")})]),
]


def _config() -> type:
    from lstmkit.tasks.classify.config import ClassifyConfig

    return ClassifyConfig


def add_parser(sub) -> None:
    add_task_command(sub, "classify", "classify text or time series with (bi)LSTM encoders",
                     "Train a (bi)LSTM classifier on text (TSV/CSV with text and label columns) or series (.ts, CSV one "
                     "row per series or long), predict, evaluate. Series runs report 1-NN Euclidean and DTW beside the "
                     "model. Writes model/, metrics.json, predictions.csv, plots/ and report.html.",
                     _EPILOG, ACTIONS, _config, run)


def _scores_line(split: str, m: dict) -> str:
    line = f"{split}: accuracy {m['accuracy']:.4f}, macro-F1 {m['macro_f1']:.4f} ({m.get('model', 'model')})"
    for name, b in m.get("baselines", {}).items():
        band = f" (band {b['window']})" if b.get("window") else ""
        line += f" | {name}{band} " + (f"{b['accuracy']:.4f}" if b.get("accuracy") is not None else "skipped")
    return line


def _print_scores(split: str, m: dict) -> None:
    from lstmkit.tasks.classify.report import verdict

    print(_scores_line(split, m))
    if m.get("beaten_by"):
        print(f"note: {verdict(m)}")


def _train(args: argparse.Namespace) -> int:
    from lstmkit.cli.run_options import config_from_args
    from lstmkit.tasks.classify import api
    from lstmkit.tasks.classify.config import ClassifyConfig

    cfg = config_from_args(ClassifyConfig, args)
    run = api.train(cfg, args.data, default_out("classify", args), val_path=args.val, test_path=args.test, resume=args.resume)
    return print_run(run, ("validation", "test"), _print_scores)


def _predict(args: argparse.Namespace) -> int:
    from lstmkit.tasks.classify import api

    rows = api.predict(args.model, args.data, args.output, say=note)
    if wrote_output(args, len(rows), "rows"):
        return 0
    import csv
    import io

    buf = io.StringIO()
    classes = list(rows[0]["probabilities"]) if rows else []
    keys = [k for k in (rows[0] if rows else {}) if k != "probabilities"]
    w = csv.writer(buf)
    w.writerow(keys + [f"p_{c}" for c in classes])
    for r in rows:
        w.writerow([r[k] for k in keys] + [r["probabilities"][c] for c in classes])
    print(buf.getvalue(), end="")
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from lstmkit.tasks.classify import api

    out = default_out("classify", args)
    m = api.evaluate(args.model, args.data, out, unseen_labels=args.unseen_labels)
    _print_scores(f"{m['examples']} examples", m)
    print(f"written to {out}")
    return 0


def run(args: argparse.Namespace) -> int:
    return run_action("classify", args, {"train": _train, "predict": _predict, "evaluate": _evaluate})
