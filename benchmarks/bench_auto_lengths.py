"""The lengths keys of ``auto``'s table: the cpu engine against torch.nn's packed call.

A call with lengths runs on the engine by masking and on torch.nn by packing.
``bench_cpu.py``'s lengths rows showed the engine 2.9-7.4x ahead in training
on both machines measured, but at inference a mid-size LSTM on one AVX2
thread ran at 0.88x of the packed call. This script times the plain cells'
inference with lengths (uniform in [T/2, T]) at the table's shapes,
interleaved in one process as ``bench_cpu.py`` does, and with ``--write``
stores the points under ``"<cell> infer lengths"`` in this machine's table
(``lstmkit.kernels.cpu.calibrate``; ``lstmkit calibrate`` measures the same).

    .venv/bin/python benchmarks/bench_auto_lengths.py --threads 1 --write
    .venv/bin/python benchmarks/bench_auto_lengths.py --threads 1 --write --merge
"""

from __future__ import annotations

import argparse
import os
import sys

import torch

from lstmkit.kernels.cpu.calibrate import measure_table, run_line, shipped_table, update_table
from lstmkit.kernels.cpu.machine import cpu_name


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--budget", type=float, default=15.0, help="seconds per case before stopping early")
    ap.add_argument("--write", action="store_true", help="store the points in this machine's table")
    ap.add_argument("--merge", action="store_true", help="with --write: per point, the lower of stored and new")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    load0 = os.getloadavg()
    print(f"torch {torch.__version__}, {args.threads} threads, {cpu_name()}; load average {load0[0]:.2f}")

    def show(label, ratio):
        print(f"{label:40s} torch.nn packed / cpu {ratio:5.2f}x", flush=True)

    points = measure_table(reps=args.reps, budget=args.budget, on_case=show, lengths=True)
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    if args.write:
        path = shipped_table()
        run = run_line(f"python benchmarks/bench_auto_lengths.py {' '.join(sys.argv[1:])}", args.threads)
        note = update_table(path, args.threads, run, args.merge, points=points)
        if note:
            print(note)
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
