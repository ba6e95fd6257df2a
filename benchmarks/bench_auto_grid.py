"""The grid of long, narrow calls that ``auto`` reads beside its table.

``bench_cpu.py``'s shapes have 32 or more rows per step; the engine's largest
wins over torch.nn are on calls with few rows per step and many steps (up to
8-13x, ``bench_auto_check.py`` sets a-c), which ``auto`` cannot judge from
those shapes. This script times the ``cpu`` engine and torch.nn, interleaved
in one process as ``bench_cpu.py`` does, on a grid of one-layer calls with
``I = H``:

    steps T in GRID_T, rows per step B in GRID_B, hidden sizes H in GRID_H

for the plain LSTM, GRU and tanh RNN, training and inference, and with
``--write`` stores the points ``[T, B, H, torch.nn / cpu]`` under ``narrow``
in ``kernels/cpu/auto_table.json`` for this thread count
(``lstmkit.kernels.cpu.narrow_ratio``: a call inside the grid takes the
engine when every corner of its grid cell, for every layer, was 5 % ahead).
With ``--merge`` a point keeps the lower of its stored and new ratio.

    .venv/bin/python benchmarks/bench_auto_grid.py --threads 1 --write
    .venv/bin/python benchmarks/bench_auto_grid.py --threads 2 --write --merge
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_cpu import infer_fn, lk_layer, measure, torch_layer, train_fn
from machine import cpu_name

GRID_T = (100, 400)
GRID_B = (1, 2, 4, 8)
GRID_H = (32, 128, 512)
KINDS = ("lstm", "gru", "rnn_tanh")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--only", default=",".join(KINDS))
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--budget", type=float, default=3.0, help="seconds per case before stopping early")
    ap.add_argument("--write", action="store_true", help="store the points in kernels/cpu/auto_table.json")
    ap.add_argument("--merge", action="store_true", help="with --write: per point, the lower of stored and new")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    load0 = os.getloadavg()
    print(f"torch {torch.__version__}, {args.threads} threads, {cpu_name()}; load average {load0[0]:.2f}")
    points: dict[str, list[list[float]]] = {}
    for kind in args.only.split(","):
        for T in GRID_T:
            for B in GRID_B:
                for H in GRID_H:
                    torch.manual_seed(0)
                    s = dict(T=T, B=B, I=H, H=H, L=1)
                    x = torch.randn(T, B, H)
                    ours, theirs = lk_layer(kind, s, "cpu"), torch_layer(kind, s)
                    for mode, fn in (("train", train_fn), ("infer", infer_fn)):
                        res = measure({"cpu": fn(ours, x), "torch_nn": fn(theirs, x)}, args.reps,
                                      budget_s=args.budget)
                        ratio = round(res["torch_nn"]["median_ms"] / res["cpu"]["median_ms"], 3)
                        points.setdefault(f"{kind} {mode}", []).append([T, B, H, ratio])
                        print(f"{kind:8s} {mode:5s} T{T:<4d} B{B:<2d} H{H:<4d} torch.nn/cpu {ratio:5.2f}x "
                              f"({res['torch_nn']['median_ms']:.2f} / {res['cpu']['median_ms']:.2f} ms)", flush=True)
    load1 = os.getloadavg()
    print(f"load average after: {load1[0]:.2f}")
    meta = dict(command="python benchmarks/bench_auto_grid.py " + " ".join(sys.argv[1:]), cpu=cpu_name(),
                torch=torch.__version__, threads=args.threads, loadavg_before=load0, loadavg_after=load1,
                time=time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()))
    out = Path(__file__).resolve().parent / "out" / f"bench_auto_grid_{args.threads}threads.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(dict(meta=meta, points=points), indent=1))
    print(f"wrote {out}")
    if args.write:
        write_grid(points, meta, args.merge)


def write_grid(points: dict[str, list[list[float]]], meta: dict, merge: bool) -> None:
    """Stores ``points`` under ``narrow`` for this thread count in the
    engine's table, keeping the keys this run did not measure; with
    ``merge``, per point the lower of the stored and the new ratio."""
    from lstmkit.kernels.cpu import AUTO_TABLE

    table = json.loads(AUTO_TABLE.read_text())
    threads = str(meta["threads"])
    grid = table.setdefault("narrow", {}).setdefault(threads, {})
    for key, new in points.items():
        stored = {tuple(p[:3]): p[3] for p in grid.get(key, [])} if merge else {}
        grid[key] = [[*p[:3], min(p[3], stored.get(tuple(p[:3]), p[3]))] for p in new]
    table["narrow"][threads] = dict(sorted(grid.items()))
    run = f"{meta['command']} on {meta['cpu']}, {meta['time']}, load average {meta['loadavg_before'][0]:.2f}"
    measured = table.setdefault("narrow_measured", {})
    measured[threads] = [*measured.get(threads, []), run] if merge else [run]
    AUTO_TABLE.write_text(json.dumps(table, indent=1) + "\n")
    print(f"wrote {AUTO_TABLE}")


if __name__ == "__main__":
    main()
