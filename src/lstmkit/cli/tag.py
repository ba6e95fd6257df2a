"""``lstmkit tag train|predict|evaluate``: named-entity and other sequence tagging with a BiLSTM-CRF."""

from __future__ import annotations

import argparse

from lstmkit.cli.task_actions import (add_task_command, default_out, evaluate_action, note, predict_action, print_run,
                                      run_action, train_action, wrote_output)

_EPILOG = """examples:
  lstmkit tag train --data ../shared/data/conll2003/train.txt --dev ../shared/data/conll2003/dev.txt \\
      --test ../shared/data/conll2003/test.txt --out runs/tag-conll2003
  lstmkit tag train --data train.txt --dev dev.txt --data.model_scheme IOB2 --model.char_encoder lstm
  lstmkit tag predict --model runs/tag-conll2003/model --data new.txt --output tagged.conll   # or .jsonl
  lstmkit tag evaluate --model runs/tag-conll2003/model --data ../shared/data/conll2003/test.txt --out runs/tag-eval
"""

ACTIONS = [
    train_action("tag", "train a tagger (early stopping on --dev entity F1)",
                 "Train on --data, stop early on --dev entity F1, score --test if given; writes model/, metrics.json "
                 "(per-type F1), predictions.conll/.jsonl, plots/training.png and report.html.",
                 "training CoNLL file (token ... tag per line)", ("--dev", "development CoNLL file for early stopping"),
                 "test CoNLL file scored after training"),
    predict_action("tag", "tag a file with a trained model", "CoNLL file or tokens one a line, blank lines between sentences",
                   "CoNLL (default) or JSON lines (.jsonl); default: CoNLL on standard output"),
    evaluate_action("tag", "entity P/R/F1 (micro, macro, per type) of a trained model on a CoNLL file",
                    "Score a model folder on --data: metrics.json and predictions.conll/.jsonl in --out.",
                    "CoNLL file with gold tags"),
]


def _config() -> type:
    from lstmkit.tasks.tag.config import TagConfig

    return TagConfig


def add_parser(sub) -> None:
    add_task_command(sub, "tag", "tag tokens (named entities, ...) with a BiLSTM-CRF",
                     "Train a BiLSTM-CRF tagger (word, character and word-shape features; IOB1, IOB2 or BIOES tags) on "
                     "CoNLL files, predict and evaluate with entity-level F1 (conlleval or seqeval strict).",
                     _EPILOG, ACTIONS, _config, run)


def _print_scores(prefix: str, m: dict) -> None:
    per = ", ".join(f"{k} {v['f1'] * 100:.2f}" for k, v in m["per_type"].items())
    print(f"{prefix}entity F1 {m['micro']['f1'] * 100:.2f} (P {m['micro']['precision'] * 100:.2f}, "
          f"R {m['micro']['recall'] * 100:.2f}); per type: {per}")


def _train(args: argparse.Namespace) -> int:
    from lstmkit.cli.run_options import config_from_args
    from lstmkit.tasks.tag import api
    from lstmkit.tasks.tag.config import TagConfig

    cfg = config_from_args(TagConfig, args)
    run = api.train(cfg, args.data, args.dev, default_out("tag", args), test_path=args.test, resume=args.resume)
    return print_run(run, ("dev", "test"), lambda split, m: _print_scores(f"{split}: ", m))


def _predict(args: argparse.Namespace) -> int:
    from lstmkit.tasks.tag import api
    from lstmkit.tasks.tag.data import read_sentences

    tags = api.predict(args.model, args.data, args.output, say=note)
    if wrote_output(args, len(tags), "sentences"):
        return 0
    sents, _ = read_sentences(args.data)
    for s, t in zip(sents, tags):
        print("\n".join(f"{w} {g}" for w, g in zip(s.tokens, t)) + "\n")
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from lstmkit.tasks.tag import api

    out = default_out("tag", args)
    _print_scores("", api.evaluate(args.model, args.data, out, say=note))
    print(f"written to {out}")
    return 0


def run(args: argparse.Namespace) -> int:
    return run_action("tag", args, {"train": _train, "predict": _predict, "evaluate": _evaluate})
