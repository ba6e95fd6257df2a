"""Quality bar of the anomaly task: both LSTM detectors beside the two baselines on MIT-BIH.

Runs, in one process, the prediction detector and the encoder-decoder on
../shared/data/anomaly/mitdb.csv (trained on the first half, error model and
threshold from the next 20 %), each evaluated beside the rolling z-score and
the isolation forest computed on the same rows with the same score pooling.
Prints a table, writes JSON and appends the table to benchmarks/RESULTS_anomaly.md.

    .venv/bin/python benchmarks/eval_anomaly.py [--epochs N] [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "anomaly" / "mitdb.csv"

DETECTORS = {
    "prediction": {"detector.kind": "prediction", "detector.window": 512, "detector.horizon": 4, "detector.hidden_size": 64},
    "reconstruction": {"detector.kind": "reconstruction", "detector.window": 256, "detector.stride": 16, "detector.hidden_size": 64,
                       "detector.num_layers": 1},
}


def main(argv=None) -> int:
    import torch

    from lstmkit.config import replace
    from lstmkit.tasks.anomaly import api
    from lstmkit.tasks.anomaly.config import AnomalyConfig

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--epochs", type=int, default=40)
    p.add_argument("--out", default="benchmarks/out/anomaly")
    p.add_argument("--detectors", default="prediction,reconstruction")
    args = p.parse_args(argv)
    if not DATA.is_file():
        print(f"eval_anomaly: data not found at {DATA}", file=sys.stderr)
        return 2
    torch.set_num_threads(2)
    results = {}
    for name in args.detectors.split(","):
        cfg = replace(AnomalyConfig(), **{**DETECTORS[name], "train.epochs": args.epochs, "train.progress_bar": False})
        t = time.perf_counter()
        run = api.train(cfg, DATA, Path(args.out) / name, say=lambda s: None)
        results[name] = {"evaluation": run.evaluation, "seconds": round(time.perf_counter() - t, 1),
                         "config": {**DETECTORS[name], "train.epochs": args.epochs}}
    lines = ["| detector run | scored by | PR-AUC | ROC-AUC | point F1 | point-adjusted F1 | event F1 | UCR hit |", "|---|---|---|---|---|---|---|---|"]
    for name, r in results.items():
        ev = r["evaluation"]
        for det in ("LSTM", "rolling z-score", "isolation forest"):
            m = ev[det]
            label = f"LSTM {name}" if det == "LSTM" else det
            lines.append(f"| {name} ({r['seconds']} s) | {label} | {m['pr_auc']:.3f} | {m['roc_auc']:.3f} | {m['point']['f1']:.3f} | "
                         f"{m['point_adjusted']['f1']:.3f} | {m['event']['f1']:.3f} | {m['ucr_hit']} |")
    table = "\n".join(lines)
    print(table)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(results, indent=2))
    md = ROOT / "benchmarks" / "RESULTS_anomaly.md"
    cmd = "python benchmarks/eval_anomaly.py " + " ".join(argv if argv is not None else sys.argv[1:])
    with md.open("a") as f:
        f.write(f"\n## {time.strftime('%Y-%m-%d %H:%M')} UTC, `{cmd.strip()}`\n\nMachine: {platform.platform()}, "
                f"{torch.get_num_threads()} threads, torch {torch.__version__}. Data: mitdb.csv (7,500 rows, one labelled "
                "event of 352 rows). Each detector row is compared with the baselines computed in the same run on the same rows, "
                "all scores pooled by a trailing mean of log(1 + score) over 256 rows.\n\n" + table + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
