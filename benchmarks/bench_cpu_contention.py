"""The engines on all cores while another process takes one of them.

A user's machine is rarely idle: a browser, a second training run, a test
suite. The time loops meet at every step, so a team member that the
scheduler takes off its core holds the whole team for a time slice at every
step. This benchmark starts ``--hogs`` busy processes (default 1: one core
taken on the 2-core machine), then times, interleaved and on torch's
default thread count:

* ``torch.nn`` (the anchor);
* lstmkit ``cpu`` with the thread back-off of ``csrc/threads.h`` (the default);
* lstmkit ``cpu`` with the back-off turned off (the engine before it);
* lstmkit ``cpu`` on one thread;

for training steps of an LSTM (fused loop), the same LSTM with lengths, and
a GRU (general loop), and prints medians with the ratio torch.nn / engine
(above 1: faster than torch.nn). Then the same without the hogs.

    .venv/bin/python benchmarks/bench_cpu_contention.py [--reps 7] [--hogs 1]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import statistics
import sys
import time
from pathlib import Path

import torch
from torch import nn

import lstmkit
from lstmkit.kernels.cpu import _build

CASES = [  # name, cell, T, B, I, H, with lengths
    ("lstm T48 B32 I64 H128", "lstm", 48, 32, 64, 128, False),
    ("lstm lengths T48 B32 I64 H128", "lstm", 48, 32, 64, 128, True),
    ("gru T48 B32 I64 H128", "gru", 48, 32, 64, 128, False),
]


def _hog(stop) -> None:
    x = 0
    while not stop.is_set():
        for _ in range(100_000):
            x += 1


def _case(name, cell, T, B, I, H, lengths_on, ext, reps, threads):
    torch.manual_seed(0)
    ref = (nn.LSTM if cell == "lstm" else nn.GRU)(I, H, batch_first=True)
    ours = (lstmkit.LSTM if cell == "lstm" else lstmkit.GRU).from_torch(ref, backend="cpu")
    x = torch.randn(B, T, I)
    lengths = torch.randint(T // 2, T + 1, (B,)) if lengths_on else None

    def run_nn():
        ref.zero_grad()
        if lengths is None:
            out, _ = ref(x)
        else:
            packed = nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
            out, _ = nn.utils.rnn.pad_packed_sequence(ref(packed)[0], batch_first=True, total_length=T)
        out.sum().backward()

    def run_ours(backoff: bool, n: int):
        def run():
            ext.thread_backoff_enable(backoff)
            torch.set_num_threads(n)
            ours.zero_grad()
            out, _ = ours(x, lengths=lengths)
            out.sum().backward()
            torch.set_num_threads(threads)
            ext.thread_backoff_enable(True)
        return run

    engines = {"torch.nn": run_nn, "cpu (back-off)": run_ours(True, threads),
               "cpu (no back-off)": run_ours(False, threads), "cpu (1 thread)": run_ours(True, 1)}
    times = {k: [] for k in engines}
    for f in engines.values():
        f()
    ext.thread_backoff_reset()  # each case starts on all threads; then the rule keeps its state, as in a training run
    for _ in range(reps):
        for k, f in engines.items():
            t0 = time.perf_counter()
            for _ in range(5):
                f()
            times[k].append((time.perf_counter() - t0) / 5)
    med = {k: statistics.median(v) * 1e3 for k, v in times.items()}
    anchor = med["torch.nn"]
    print(f"| {name} | " + " | ".join(f"{v:.1f} ms ({anchor / v:.2f}x)" for v in med.values()) + " |", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--hogs", type=int, default=1, help="busy processes started beside the benchmark")
    args = ap.parse_args()
    ext = _build.load_extension()
    if ext is None:
        sys.exit(f"bench_cpu_contention: the cpu extension is unavailable ({_build.build_error()})")
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from machine import cpu_name

    threads = torch.get_num_threads()
    print(f"{cpu_name()}, {os.cpu_count()} cores, torch {torch.__version__}, {threads} threads; medians of "
          f"{args.reps} x 5 training steps; ratio = torch.nn time / engine time")
    for hogs in (args.hogs, 0):
        stop = mp.Event()
        procs = [mp.Process(target=_hog, args=(stop,), daemon=True) for _ in range(hogs)]
        for p in procs:
            p.start()
        time.sleep(0.5)
        print(f"\n{hogs} busy process(es) beside the benchmark; load average " +
              " ".join(f"{v:.2f}" for v in os.getloadavg()))
        print("| case | torch.nn | cpu (back-off) | cpu (no back-off) | cpu (1 thread) |")
        print("|---|---|---|---|---|")
        try:
            for case in CASES:
                _case(*case, ext=ext, reps=args.reps, threads=threads)
        finally:
            stop.set()
            for p in procs:
                p.join()
    print("load average after " + " ".join(f"{v:.2f}" for v in os.getloadavg()))


if __name__ == "__main__":
    main()
