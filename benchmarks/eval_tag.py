"""Quality bar of sequence tagging: CoNLL-2003 English NER test F1 with a BiLSTM-CRF, no pretrained vectors.

Trains on ../shared/data/conll2003/train.txt with early stopping on dev.txt
entity F1 (the best epoch's weights are kept), then scores test.txt with
conlleval's rules (micro P/R/F1 and per-type F1); seqeval-strict F1 on the
same predictions is reported beside it. ``--max-minutes`` stops training at
the end of the first epoch past the budget (the best dev epoch so far is
used), so a run fits a time slot; the results file says when that happened.

Writes benchmarks/out/tag/conll2003.json and benchmarks/RESULTS_tag.md.

    .venv/bin/python benchmarks/eval_tag.py --threads 2 --max-minutes 30
    .venv/bin/python benchmarks/eval_tag.py --quick          # smoke test of the script
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "conll2003"
OUT = ROOT / "benchmarks" / "out" / "tag"
RESULTS = ROOT / "benchmarks" / "RESULTS_tag.md"

CONFIG = {"train.epochs": 40, "train.batch_size": 32, "train.lr": 2e-3, "train.early_stopping": 6, "train.grad_clip": 5.0,
          "model.word_dim": 100, "model.char_encoder": "cnn", "model.char_dim": 30, "model.char_features": 50,
          "model.shape_dim": 10, "model.hidden_size": 200, "model.dropout": 0.5, "model.word_dropout": 0.05,
          "data.model_scheme": "BIOES", "data.lowercase": True, "data.digits_to_zero": True}


def time_budget(minutes: float):
    from lightning.pytorch.callbacks import Callback

    class TimeBudget(Callback):
        """Stop at the end of the first epoch that ends past the budget."""

        def __init__(self):
            self.start = time.perf_counter()
            self.hit = False

        def on_train_epoch_end(self, trainer, pl_module):
            if minutes and time.perf_counter() - self.start > minutes * 60:
                trainer.should_stop = True
                self.hit = True

    return TimeBudget()


def main(argv=None) -> int:
    import torch

    from lstmkit.config import replace
    from lstmkit.data.conll import read_conll
    from lstmkit.tasks.tag import api
    from lstmkit.tasks.tag.config import TagConfig
    from lstmkit.tasks.tag.metrics import entity_scores

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--max-minutes", type=float, default=0, help="training time budget (0: none)")
    p.add_argument("--quick", action="store_true", help="500 sentences, 1 epoch: checks the script, numbers mean nothing")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a configuration field")
    args = p.parse_args(argv)
    if not DATA.is_dir():
        print(f"eval_tag: data not found at {DATA}", file=sys.stderr)
        return 2
    torch.set_num_threads(args.threads)
    OUT.mkdir(parents=True, exist_ok=True)
    over = {**CONFIG, **dict(s.split("=", 1) for s in args.set)}
    train_p, dev_p, test_p = DATA / "train.txt", DATA / "dev.txt", DATA / "test.txt"
    if args.quick:
        from lstmkit.data.conll import write_conll

        write_conll(OUT / "quick_train.txt", read_conll(train_p)[:500])
        write_conll(OUT / "quick_dev.txt", read_conll(dev_p)[:200])
        train_p, dev_p, over["train.epochs"] = OUT / "quick_train.txt", OUT / "quick_dev.txt", 1
    cfg = replace(TagConfig(), **{**over, "train.progress_bar": False, "train.num_threads": args.threads})
    budget = time_budget(args.max_minutes)
    t = time.perf_counter()
    run = api.train(cfg, train_p, dev_p, OUT / "conll2003", test_path=test_p, say=lambda s: print(s, file=sys.stderr),
                    callbacks=[budget])
    seconds = time.perf_counter() - t
    test = run.metrics["test"]
    sents = read_conll(OUT / "conll2003" / "predictions.conll")
    strict = entity_scores([s.columns[-2] for s in sents], [s.columns[-1] for s in sents], "IOB2", strict=True)
    per_epoch = [{"epoch": int(h["epoch"]) + 1, "train_loss": h.get("train_loss"), "dev_f1": h.get("val_f1")} for h in run.history]
    result = {"test": test, "dev": run.metrics["dev"], "test_f1_seqeval_strict": strict.micro.f1, "epochs": run.metrics["epochs"],
              "stopped_by_time_budget": budget.hit, "max_minutes": args.max_minutes, "train_seconds": round(run.train_seconds, 1),
              "total_seconds": round(seconds, 1), "seconds_per_epoch": round(run.train_seconds / max(1, len(run.history)), 1),
              "parameters": run.metrics["parameters"], "threads": args.threads, "config": over, "history": per_epoch,
              "quick": args.quick}
    (OUT / "conll2003.json").write_text(json.dumps(result, indent=2))
    write_results(result)
    print(f"CoNLL-2003 test F1 {test['micro']['f1'] * 100:.2f} (dev {run.metrics['dev']['micro']['f1'] * 100:.2f}), "
          f"{result['epochs']} epochs, {result['train_seconds']} s")
    return 0


def write_results(r: dict) -> None:
    import torch

    t = r["test"]
    cmd = ("lstmkit tag train --data ../shared/data/conll2003/train.txt --dev ../shared/data/conll2003/dev.txt "
           "--test ../shared/data/conll2003/test.txt --out runs/tag-conll2003 " + " ".join(f"--{k} {str(v).lower() if isinstance(v, bool) else v}" for k, v in r["config"].items()))
    lines = ["# Sequence tagging: quality bar (issue 6)", "",
             "Written by `benchmarks/eval_tag.py`; CPU only "
             f"({platform.processor() or platform.machine()}, torch {torch.__version__}, {r['threads']} thread(s)), no pretrained vectors.", "",
             "## CoNLL-2003 English NER (bar: test F1 >= 86)", "",
             "| model | dev F1 | test F1 (conlleval) | test P | test R | test F1 (seqeval strict) | epochs | training time | parameters |",
             "|---|---|---|---|---|---|---|---|---|",
             f"| BiLSTM-CRF, words + char CNN + shape, BIOES | {r['dev']['micro']['f1'] * 100:.2f} | **{t['micro']['f1'] * 100:.2f}** | "
             f"{t['micro']['precision'] * 100:.2f} | {t['micro']['recall'] * 100:.2f} | {r['test_f1_seqeval_strict'] * 100:.2f} | {r['epochs']} | "
             f"{r['train_seconds']:.0f} s ({r['seconds_per_epoch']:.0f} s/epoch) | {r['parameters']:,} |",
             "| Huang et al. 2015, BiLSTM-CRF with pretrained vectors (reference) | | 90.10 | | | | | | |",
             "| Lample et al. 2016, LSTM-CRF + chars with pretrained vectors (reference) | | 90.94 | | | | | | |", "",
             "Per-type test F1 (conlleval):", "", "| type | precision | recall | F1 | gold entities |", "|---|---|---|---|---|"]
    for k, v in t["per_type"].items():
        lines.append(f"| {k} | {v['precision'] * 100:.2f} | {v['recall'] * 100:.2f} | {v['f1'] * 100:.2f} | {v['gold']} |")
    verdict = "met" if t["micro"]["f1"] >= 0.86 else "NOT met"
    lines += ["", f"Bar {verdict}" + (" (quick smoke run, not a result)" if r["quick"] else "")
              + (f"; training stopped by the {r['max_minutes']}-minute budget after {r['epochs']} epochs, not by early stopping"
                 if r["stopped_by_time_budget"] else "") + ".", "",
              "Dev F1 per epoch: " + ", ".join(f"{h['epoch']}: {h['dev_f1'] * 100:.2f}" for h in r["history"] if h["dev_f1"] is not None), "",
              "Command:", "", "```", cmd, "```", "",
              f"(the script: `.venv/bin/python benchmarks/eval_tag.py --threads {r['threads']}"
              + (f" --max-minutes {r['max_minutes']:g}" if r["max_minutes"] else "") + "`)", ""]
    RESULTS.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    sys.exit(main())
