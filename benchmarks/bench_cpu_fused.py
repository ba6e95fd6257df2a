"""The plain LSTM on the cpu engine before and after the fused loop, beside torch.nn.LSTM.

One process, one thread by default, the engines interleaved (torch.nn, the
engine's general loop ``lstmkit::lstm_seq``, the fused loop with the input
projection as one product beforehand ``lstmkit::lstm_fused_seq`` and the
fused loop as the engine runs it, where ``fused.tile_projection`` decides
whether the tile computes the projection, ``lstmkit::lstm_fused_seq_x``) at
the shapes of ``bench_cpu.py``; medians of
wall time and of the thread's CPU time (on a loaded machine the CPU time is
the steadier of the two: it leaves out the time the scheduler gives to other
processes). The general loop is reached by turning off the fused path's
guard for this process only (``lstmkit.kernels.cpu.fused_applies``), the
product beforehand by overriding ``tile_projection``.

    .venv/bin/python benchmarks/bench_cpu_fused.py [--reps 9] [--threads 1]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import torch
from torch import nn

import lstmkit
import lstmkit.kernels.cpu as cpu_backend
from lstmkit.kernels.cpu import fused as fused_mod

SHAPES = [(100, 64, 128, 256, 1), (256, 32, 64, 512, 1), (48, 32, 8, 64, 2)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reps", type=int, default=9)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    fused_guard = cpu_backend.fused_applies
    tile_rule = fused_mod.tile_projection
    print(f"torch {torch.__version__}, {args.threads} thread(s), load average before "
          + " ".join(f"{v:.2f}" for v in os.getloadavg()))
    for T, B, I, H, L in SHAPES:
        torch.manual_seed(0)
        ref = nn.LSTM(I, H, num_layers=L)
        ours = lstmkit.LSTM.from_torch(ref, backend="cpu")
        x = torch.randn(T, B, I)

        def engine(layer, fused, train, tile=True):
            def run():
                cpu_backend.fused_applies = fused_guard if fused else (lambda *a: False)
                fused_mod.tile_projection = tile_rule if tile else (lambda *a: False)
                if train:
                    for p in layer.parameters():
                        p.grad = None
                    out, _ = layer(x)
                    out.sum().backward()
                else:
                    with torch.no_grad():
                        layer(x)
            return run

        fns = {}
        for mode, train in (("train", True), ("infer", False)):
            fns[f"nn_{mode}"] = engine(ref, True, train)
            fns[f"general_{mode}"] = engine(ours, False, train)
            fns[f"product_{mode}"] = engine(ours, True, train, tile=False)
            fns[f"fused_{mode}"] = engine(ours, True, train)
        wall = {k: [] for k in fns}
        cpu = {k: [] for k in fns}
        for f in fns.values():
            f()
        for _ in range(args.reps):
            for k, f in fns.items():
                t, c = time.perf_counter(), time.thread_time()
                f()
                cpu[k].append(time.thread_time() - c)
                wall[k].append(time.perf_counter() - t)
        cpu_backend.fused_applies = fused_guard
        fused_mod.tile_projection = tile_rule
        for clock, d in (("wall", wall), ("cpu", cpu)):
            m = {k: statistics.median(v) * 1e3 for k, v in d.items()}
            ratios = " ".join(
                f"{mode}: nn/general {m[f'nn_{mode}'] / m[f'general_{mode}']:.2f}x "
                f"nn/product {m[f'nn_{mode}'] / m[f'product_{mode}']:.2f}x "
                f"nn/fused {m[f'nn_{mode}'] / m[f'fused_{mode}']:.2f}x |"
                for mode in ("train", "infer")
            )
            print(f"T{T}_B{B}_I{I}_H{H}_L{L} {clock:4s} " + " ".join(f"{k}={v:.1f}ms" for k, v in m.items()))
            print(f"    {clock} ratios (above 1: the engine is faster than torch.nn): {ratios}")
    print("load average after " + " ".join(f"{v:.2f}" for v in os.getloadavg()))


if __name__ == "__main__":
    main()
