"""``lstmkit tag train|predict|evaluate``: named-entity and other sequence tagging with a BiLSTM-CRF."""

from __future__ import annotations

import argparse

_EPILOG = """examples:
  lstmkit tag train --data ../shared/data/conll2003/train.txt --dev ../shared/data/conll2003/dev.txt \\
      --test ../shared/data/conll2003/test.txt --out runs/tag-conll2003
  lstmkit tag train --data train.txt --dev dev.txt --data.model_scheme IOB2 --model.char_encoder lstm
  lstmkit tag predict --model runs/tag-conll2003/model --data new.txt --output tagged.conll   # or .jsonl
  lstmkit tag evaluate --model runs/tag-conll2003/model --data ../shared/data/conll2003/test.txt --out runs/tag-eval
"""


def _add_config(p: argparse.ArgumentParser) -> None:
    from lstmkit.cli.run_options import add_run_options
    from lstmkit.tasks.tag.config import TagConfig

    add_run_options(p, TagConfig)


def add_parser(sub) -> None:
    p = sub.add_parser("tag", help="tag tokens (named entities, ...) with a BiLSTM-CRF",
                       description="Train a BiLSTM-CRF tagger (word, character and word-shape features; IOB1, IOB2 or "
                       "BIOES tags) on CoNLL files, predict and evaluate with entity-level F1 (conlleval or seqeval strict).",
                       epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    tsub = p.add_subparsers(dest="tag_command", metavar="ACTION")
    t = tsub.add_parser("train", help="train a tagger (early stopping on --dev entity F1)",
                        description="Train on --data, stop early on --dev entity F1, score --test if given; writes model/, "
                        "metrics.json (per-type F1), predictions.conll/.jsonl and plots/training.png.",
                        epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    t.add_argument("--data", required=True, metavar="FILE", help="training CoNLL file (token ... tag per line)")
    t.add_argument("--dev", metavar="FILE", help="development CoNLL file for early stopping")
    t.add_argument("--test", metavar="FILE", help="test CoNLL file scored after training")
    t.add_argument("--out", metavar="DIR", help="output folder (default runs/tag-<data name>)")
    _add_config(t)
    t.set_defaults(func=run, action="train")
    r = tsub.add_parser("predict", help="tag a file with a trained model",
                        description="Tag --data (CoNLL, or one token a line) with a model folder from `tag train`.")
    r.add_argument("--model", required=True, metavar="DIR", help="model folder (…/model)")
    r.add_argument("--data", required=True, metavar="FILE", help="CoNLL file or tokens one a line, blank lines between sentences")
    r.add_argument("--output", metavar="FILE", help="CoNLL (default) or JSON lines (.jsonl); default: CoNLL on standard output")
    r.set_defaults(func=run, action="predict")
    e = tsub.add_parser("evaluate", help="entity P/R/F1 (micro, macro, per type) of a trained model on a CoNLL file",
                        description="Score a model folder on --data: metrics.json and predictions.conll/.jsonl in --out.")
    e.add_argument("--model", required=True, metavar="DIR", help="model folder (…/model)")
    e.add_argument("--data", required=True, metavar="FILE", help="CoNLL file with gold tags")
    e.add_argument("--out", metavar="DIR", help="output folder (default runs/tag-eval-<data name>)")
    e.set_defaults(func=run, action="evaluate")
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])


def run(args: argparse.Namespace) -> int:
    import sys
    from pathlib import Path

    def note(s: str) -> None:
        print(s, file=sys.stderr)

    try:
        from lstmkit.tasks.tag import api

        name = Path(args.data).stem
        if args.action == "predict":
            if args.output:
                tags = api.predict(args.model, args.data, args.output, say=note)
                print(f"predictions: {args.output} ({len(tags)} sentences)")
            else:
                from lstmkit.tasks.tag.data import read_sentences

                tags = api.predict(args.model, args.data, say=note)
                sents, _ = read_sentences(args.data)
                for s, t in zip(sents, tags):
                    print("\n".join(f"{w} {g}" for w, g in zip(s.tokens, t)) + "\n")
            return 0
        if args.action == "evaluate":
            out = args.out or f"runs/tag-eval-{name}"
            m = api.evaluate(args.model, args.data, out, say=note)
            _print_scores("", m)
            print(f"written to {out}")
            return 0
        from lstmkit.cli.run_options import config_from_args
        from lstmkit.tasks.tag.config import TagConfig

        cfg = config_from_args(TagConfig, args)
        res = api.train(cfg, args.data, args.dev, args.out or f"runs/tag-{name}", test_path=args.test, resume=args.resume)
        for split in ("dev", "test"):
            if split in res.metrics:
                _print_scores(f"{split}: ", res.metrics[split])
        print(f"done: {res.out}")
        return 0
    except (ValueError, FileNotFoundError) as e:
        print(f"lstmkit tag: error: {e}", file=sys.stderr)
        return 2


def _print_scores(prefix: str, m: dict) -> None:
    per = ", ".join(f"{k} {v['f1'] * 100:.2f}" for k, v in m["per_type"].items())
    print(f"{prefix}entity F1 {m['micro']['f1'] * 100:.2f} (P {m['micro']['precision'] * 100:.2f}, "
          f"R {m['micro']['recall'] * 100:.2f}); per type: {per}")
