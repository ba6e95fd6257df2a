"""What lstmkit's layer adds to a small call, against torch.nn itself.

On small calls the Python around the kernel is a large part of the time: the
layer's input checks, the zero state, the backend choice (``auto`` runs it on
every call). This script times a plain LSTM (and tanh RNN, GRU) three ways on the same weights,
interleaved call by call in one process (medians of many calls): torch.nn,
lstmkit with ``backend="torch"`` (the same oneDNN kernel behind lstmkit's
wrapper) and lstmkit with ``backend="auto"`` (the choice, then whichever
engine it picks), inference and a training step, at small shapes.

    .venv/bin/python benchmarks/bench_call_overhead.py [--threads 1] [--calls 1500] [--cells lstm,rnn]

Ratios are torch.nn's time over lstmkit's (below 1: lstmkit is slower).
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
from pathlib import Path

import torch
from torch import nn

import lstmkit

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_cpu import measure

SHAPES = [(12, 8, 8, 32, 1), (24, 32, 1, 32, 1), (48, 32, 8, 64, 2)]  # T, B, I, H, layers


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--calls", type=int, default=1500, help="interleaved calls per engine (a fifth for large shapes)")
    ap.add_argument("--cells", default="lstm,rnn", help="comma-separated: lstm, gru, rnn (tanh)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {args.threads} thread(s), load average {os.getloadavg()[0]:.2f}")
    kinds = {"lstm": (nn.LSTM, lstmkit.LSTM), "gru": (nn.GRU, lstmkit.GRU), "rnn": (nn.RNN, lstmkit.RNN)}
    for cell, (T, B, I, H, L) in itertools.product(args.cells.split(","), SHAPES):
        torch.manual_seed(0)
        theirs, ours = kinds[cell]
        ref = theirs(I, H, num_layers=L)
        layers = {"torch_nn": ref, "lstmkit_torch": ours.from_torch(ref, backend="torch"),
                  "lstmkit_auto": ours.from_torch(ref, backend="auto")}
        x = torch.randn(T, B, I)
        for train in (False, True):
            def call(m, train=train):
                def f():
                    if train:
                        out, _ = m(x)
                        out.sum().backward()
                    else:
                        with torch.no_grad():
                            m(x)
                return f

            fns = {k: call(m) for k, m in layers.items()}
            res = measure(fns, args.calls if T * B < 500 else args.calls // 5, warmup=30, block_ms=0)
            med = {k: v["median_ms"] * 1e3 for k, v in res.items()}
            base = med["torch_nn"]
            print(f"{cell} T{T} B{B} I{I} H{H} L{L} {'train' if train else 'infer'}: torch.nn {base:.0f} us | "
                  + " | ".join(f"{k} {v:.0f} us ({base / v:.2f}x)" for k, v in med.items() if k != "torch_nn"))
    print(f"load average after {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
