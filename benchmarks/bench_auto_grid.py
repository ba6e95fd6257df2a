"""The grid of long, narrow calls that ``auto`` reads beside its table.

``bench_cpu.py``'s shapes have 32 or more rows per step; the engine's largest
wins over torch.nn are on calls with few rows per step and many steps (up to
8-13x, ``bench_auto_check.py`` sets a-c), which ``auto`` cannot judge from
those shapes. This script times the ``cpu`` engine and torch.nn, interleaved
in one process as ``bench_cpu.py`` does, on a grid of one-layer calls with
``I = H``:

    steps T in GRID_T, rows per step B in GRID_B, hidden sizes H in GRID_H
    (lstmkit.kernels.cpu.calibrate, which `lstmkit calibrate` runs too)

for the plain LSTM, GRU and tanh RNN, training and inference, and with
``--write`` stores the points ``[T, B, H, torch.nn / cpu]`` under ``narrow``
in this machine's table in ``kernels/cpu/auto_tables/`` for this thread count
(``lstmkit.kernels.cpu.narrow_ratio``: a call inside the grid takes the
engine when every corner of its grid cell, for every layer, was 5 % ahead).
With ``--merge`` a point keeps the lower of its stored and new ratio, and
the stored points the run did not measure stay (``--hidden 64 --merge`` adds
the H = 64 plane to a table measured before it was in the grid).

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

from lstmkit.kernels.cpu.calibrate import GRID_KINDS as KINDS
from lstmkit.kernels.cpu.calibrate import measure_grid, shipped_table, update_table
from lstmkit.kernels.cpu.machine import cpu_name


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--only", default=",".join(KINDS))
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--budget", type=float, default=3.0, help="seconds per case before stopping early")
    ap.add_argument("--write", action="store_true",
                    help="store the points in this machine's table (kernels/cpu/auto_tables/)")
    ap.add_argument("--merge", action="store_true",
                    help="with --write: per point, the lower of stored and new; stored points not measured are kept")
    ap.add_argument("--hidden", default=None,
                    help="comma-separated hidden sizes of GRID_H to measure (default all); with --merge adds a plane")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    load0 = os.getloadavg()
    print(f"torch {torch.__version__}, {args.threads} threads, {cpu_name()}; load average {load0[0]:.2f}")

    def show(label, ratio):
        print(f"{label:32s} torch.nn/cpu {ratio:5.2f}x", flush=True)

    hidden = None if args.hidden is None else [int(h) for h in args.hidden.split(",")]
    points = measure_grid(args.only.split(","), reps=args.reps, budget=args.budget, on_case=show, hidden=hidden)
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
    """Stores ``points`` under ``narrow`` for this thread count in this
    machine's table, keeping the keys this run did not measure; with
    ``merge``, per point the lower of the stored and the new ratio."""
    path = shipped_table()
    run = f"{meta['command']} on {meta['cpu']}, {meta['time']}, load average {meta['loadavg_before'][0]:.2f}"
    note = update_table(path, meta["threads"], run, merge, grid=points)
    if note:
        print(note)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
