"""Quality of the anomaly task with the command line's defaults: the LSTM beside the baselines, on MIT-BIH and on
series nobody tuned on.

Each series is run as a user would run it, ``lstmkit anomaly evaluate --data FILE`` with no other option
(the network learns from the first half of the file, holds out the last quarter of that half for its error
model, pooling and threshold, and only the second half is scored and evaluated; the automatic choices of
season, window, differencing, log and pooling are the detector's own). Series:

* ``mitdb``: ../shared/data/anomaly/mitdb.csv (one MIT-BIH ECG record, one labelled arrhythmia of 352 rows);
* the synthetic series of :mod:`anomaly_series` (web traffic with trend and point anomalies, a long periodic
  signal with one subtle shape anomaly, a level shift, a noise burst), seeds given by ``--seeds``.

Prints a table, writes JSON under ``--out`` and, with ``--record``, appends the table to
benchmarks/RESULTS_anomaly.md.

    .venv/bin/python benchmarks/eval_anomaly.py [--series mitdb,traffic,...] [--seeds 0] [--kind prediction] [--record]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "anomaly" / "mitdb.csv"
sys.path.insert(0, str(Path(__file__).resolve().parent))

DETECTORS = ("LSTM", "rolling z-score", "isolation forest")


def _files(names: list[str], seeds: list[int], folder: Path) -> list[tuple[str, Path]]:
    from anomaly_series import SERIES

    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for name in names:
        if name == "mitdb":
            out.append(("mitdb", DATA))
            continue
        for seed in seeds:
            frame, _ = SERIES[name](seed=seed)
            path = folder / f"{name}-{seed}.csv"
            frame.to_csv(path, index=False)
            out.append((f"{name} (seed {seed})", path))
    return out


def main(argv=None) -> int:
    import torch

    from lstmkit.cli.main import main as lstmkit_main

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--series", default="mitdb,traffic,periodic_shape,level_shift,noise_burst")
    p.add_argument("--seeds", default="0", help="seeds of the synthetic series, comma-separated")
    p.add_argument("--kind", default="prediction", help="detector.kind (prediction is the default a user gets)")
    p.add_argument("--threads", type=int, default=1,
                   help="train.num_threads (speed only: 1 avoids oversubscribing a busy shared machine; 0 is torch's choice)")
    p.add_argument("--out", default="benchmarks/out/anomaly")
    p.add_argument("--record", action="store_true", help="append the table to benchmarks/RESULTS_anomaly.md")
    args = p.parse_args(argv)
    if "mitdb" in args.series.split(",") and not DATA.is_file():
        print(f"eval_anomaly: data not found at {DATA}", file=sys.stderr)
        return 2
    out = Path(args.out)
    files = _files(args.series.split(","), [int(s) for s in args.seeds.split(",")], out / "data")
    results = {}
    for label, path in files:
        run_dir = out / "runs" / f"{path.stem}-{args.kind}"
        cmd = ["anomaly", "evaluate", "--data", str(path), "--out", str(run_dir), "--quiet"]
        if args.kind != "prediction":
            cmd += ["--detector.kind", args.kind]
        if args.threads:
            cmd += ["--train.num_threads", str(args.threads)]
        t = time.perf_counter()
        rc = lstmkit_main(cmd)
        seconds = round(time.perf_counter() - t, 1)
        if rc != 0:
            results[label] = {"error": f"exit {rc}", "seconds": seconds}
            continue
        metrics = json.loads((run_dir / "metrics.json").read_text())
        results[label] = {"seconds": seconds, "command": "lstmkit " + " ".join(cmd), **metrics}
    lines = ["| series | detector | PR-AUC | ROC-AUC | event F1 | predicted events | flagged rows | UCR hit |",
             "|---|---|---|---|---|---|---|---|"]
    for label, r in results.items():
        if "error" in r:
            lines.append(f"| {label} | {r['error']} | | | | | | |")
            continue
        ev, ch = r["evaluation"], r["choices"]
        for det in DETECTORS:
            m = ev[det]
            name = det if det != "LSTM" else (f"**LSTM** ({r['seconds']} s; season {ch.get('season') or '-'}, window "
                                               f"{ch.get('window')}, {'log ' if ch.get('log') else ''}"
                                               f"{'differences' if ch.get('difference') else 'values'}, spans {ch.get('spans')})")
            lines.append(f"| {label} | {name} | {m['pr_auc']:.3f} | {m['roc_auc']:.3f} | {m['event']['f1']:.3f} | "
                         f"{m['predicted_events']} | {m['flagged_rows']} | {m['ucr_hit']} |")
        lines.append(f"| {label} | verdict | {ev['verdict']} | | | | | |")
    table = "\n".join(lines)
    print(table)
    (out / "results.json").write_text(json.dumps(results, indent=2, default=str))
    if args.record:
        load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
        cmd = "python benchmarks/eval_anomaly.py " + " ".join(argv if argv is not None else sys.argv[1:])
        with (ROOT / "benchmarks" / "RESULTS_anomaly.md").open("a") as f:
            f.write(f"\n## {time.strftime('%Y-%m-%d %H:%M')} UTC, `{cmd.strip()}`\n\nMachine: {platform.platform()}, "
                    f"torch {torch.__version__}, {torch.get_num_threads()} threads, load average {load} (shared 2 cores). "
                    "Every row is `lstmkit anomaly evaluate --data FILE` with the defaults (plus `--train.num_threads`, which "
                    "changes speed only); detectors compared on the same scored rows (the second half of each file) with "
                    "the same pooling.\n\n" + table + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
