"""``lstmkit classify train|predict|evaluate``: sequence classification of text and time series."""

from __future__ import annotations

import argparse

_EPILOG = """examples:
  lstmkit classify train --data ../shared/data/sst2/train.tsv --val ../shared/data/sst2/dev.tsv --test ../shared/data/sst2/test.tsv
  lstmkit classify train --data ../shared/data/ucr/GunPoint_TRAIN.ts --test ../shared/data/ucr/GunPoint_TEST.ts \\
      --data.frame 10 --data.diff true --model.pooling mean --train.epochs 100
  lstmkit classify train --data series.csv --data.id_column id --data.time_column t --model.pooling attention
  lstmkit classify predict --model runs/classify-train/model --data new.tsv --output predictions.jsonl
  lstmkit classify evaluate --model runs/classify-train/model --data test.tsv --out runs/eval
"""


def _add_config(p: argparse.ArgumentParser) -> None:
    from lstmkit.cli.run_options import add_run_options
    from lstmkit.tasks.classify.config import ClassifyConfig

    add_run_options(p, ClassifyConfig)


def add_parser(sub) -> None:
    p = sub.add_parser("classify", help="classify text or time series with (bi)LSTM encoders",
                       description="Train a (bi)LSTM classifier (last, mean, max or attention pooling) on text (TSV/CSV "
                       "with text and label columns) or series (.ts, CSV one row per series or long), predict, evaluate. "
                       "Writes model/, metrics.json, predictions.csv, plots/training.png and plots/confusion.png.",
                       epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    csub = p.add_subparsers(dest="classify_command", metavar="ACTION")
    t = csub.add_parser("train", help="train a classifier (early stopping on --val or a held-out share)",
                        description="Train on --data, stop early on --val (or data.validation_fraction of --data), "
                        "score --test if given.", epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    t.add_argument("--data", required=True, metavar="FILE", help="training file: .tsv/.csv text, .ts or .csv series")
    t.add_argument("--val", metavar="FILE", help="validation file for early stopping (same layout)")
    t.add_argument("--test", metavar="FILE", help="test file scored after training (metrics.json, predictions.csv, confusion.png)")
    t.add_argument("--out", metavar="DIR", help="output folder (default runs/classify-<data name>)")
    _add_config(t)
    t.set_defaults(func=run, action="train")
    r = csub.add_parser("predict", help="predict classes with a trained model",
                        description="Predict every example of --data (labels not needed) with a model folder from `classify train`.")
    r.add_argument("--model", required=True, metavar="DIR", help="model folder (…/model)")
    r.add_argument("--data", required=True, metavar="FILE", help="file in the training data's layout")
    r.add_argument("--output", metavar="FILE", help="predictions as .csv or .jsonl (default: CSV on standard output)")
    r.set_defaults(func=run, action="predict")
    e = csub.add_parser("evaluate", help="accuracy, macro-F1 and confusion matrix of a trained model on a labelled file",
                        description="Score a model folder on --data: metrics.json, predictions.csv and plots/confusion.png in --out.")
    e.add_argument("--model", required=True, metavar="DIR", help="model folder (…/model)")
    e.add_argument("--data", required=True, metavar="FILE", help="labelled file in the training data's layout")
    e.add_argument("--out", metavar="DIR", help="output folder (default runs/classify-eval-<data name>)")
    e.add_argument("--unseen-labels", choices=("error", "skip"), help="labels training never saw: error (default) or skip them")
    e.set_defaults(func=run, action="evaluate")
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])


def run(args: argparse.Namespace) -> int:
    import sys
    from pathlib import Path

    try:
        from lstmkit.tasks.classify import api

        name = Path(args.data).stem
        if args.action == "predict":
            rows = api.predict(args.model, args.data, args.output, say=lambda s: print(s, file=sys.stderr))
            if args.output:
                print(f"predictions: {args.output} ({len(rows)} rows)")
            else:
                import io

                import csv

                buf = io.StringIO()

                classes = list(rows[0]["probabilities"]) if rows else []
                keys = [k for k in (rows[0] if rows else {}) if k != "probabilities"]
                w = csv.writer(buf)
                w.writerow(keys + [f"p_{c}" for c in classes])
                for r in rows:
                    w.writerow([r[k] for k in keys] + [r["probabilities"][c] for c in classes])
                print(buf.getvalue(), end="")
            return 0
        if args.action == "evaluate":
            out = args.out or f"runs/classify-eval-{name}"
            m = api.evaluate(args.model, args.data, out, unseen_labels=args.unseen_labels)
            print(f"accuracy {m['accuracy']:.4f}, macro-F1 {m['macro_f1']:.4f} on {m['examples']} examples; written to {out}")
            return 0
        from lstmkit.cli.run_options import config_from_args
        from lstmkit.tasks.classify.config import ClassifyConfig

        cfg = config_from_args(ClassifyConfig, args)
        res = api.train(cfg, args.data, args.out or f"runs/classify-{name}", val_path=args.val, test_path=args.test,
                        resume=args.resume)
        for split in ("validation", "test"):
            if split in res.metrics:
                print(f"{split}: accuracy {res.metrics[split]['accuracy']:.4f}, macro-F1 {res.metrics[split]['macro_f1']:.4f}")
        print(f"done: {res.out}")
        return 0
    except (ValueError, FileNotFoundError) as e:
        print(f"lstmkit classify: error: {e}", file=sys.stderr)
        return 2
