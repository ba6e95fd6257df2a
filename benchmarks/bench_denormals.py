"""What denormal floats cost a training step, and what ``TrainConfig.flush_denormals`` saves.

A forecaster's network (``ForecastNet``: LSTM encoder, direct head, seasonal
anchor) takes one Adam step on a batch of windows, timed with denormals kept
and flushed (``lstmkit.train.denormals_flushed``), on torch.nn's kernels and
on lstmkit's engine, repetitions interleaved in one process
(``lstmkit.kernels.cpu.calibrate.measure``). Gradients fade back through a
long window: past a few hundred steps they fall below float32's normal
range, and every product reading them runs on the processor's slow path.

    .venv/bin/python benchmarks/bench_denormals.py                 # windows 48, 144, 576; 1 thread
    .venv/bin/python benchmarks/bench_denormals.py --threads 2 --windows 576

Prints one row per window and engine: ms per step kept / flushed and the ratio.
(The denormals sit in the gate gradients inside the backward, not in the
parameters' gradients it returns.)
"""

from __future__ import annotations

import argparse
import os

import torch

from lstmkit.kernels.cpu.calibrate import measure
from lstmkit.tasks.forecast.model import ForecastNet
from lstmkit.train import denormals_flushed


def step_fn(window: int, backend: str, batch: int, hidden: int):
    torch.manual_seed(0)
    net = ForecastNet(horizon=12, input_size=window, hidden_size=hidden, n_past=0, n_future=4, anchor="seasonal",
                      season=window // 2, backend=backend)
    y, past, fut = torch.randn(batch, window), torch.zeros(batch, window, 0), torch.randn(batch, window + 12, 4)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)

    def step():
        opt.zero_grad()
        net(y, past, fut).abs().mean().backward()
        opt.step()

    return net, step


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--windows", default="48,144,576")
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--hidden", type=int, default=32)
    p.add_argument("--reps", type=int, default=7)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    print(f"threads {args.threads}, batch {args.batch}, hidden {args.hidden}, load average "
          f"{os.getloadavg()[0]:.2f}, torch {torch.__version__}")
    print("| window | engine | kept (ms) | flushed (ms) | kept / flushed |")
    print("|---|---|---|---|---|")
    for window in (int(w) for w in args.windows.split(",")):
        for backend in ("torch", "cpu"):
            _, step = step_fn(window, backend, args.batch, args.hidden)

            def flushed():
                with denormals_flushed():
                    step()

            res = measure({"kept": step, "flushed": flushed}, args.reps)
            kept, fl = res["kept"]["median_ms"], res["flushed"]["median_ms"]
            print(f"| {window} | {backend} | {kept:.2f} | {fl:.2f} | {kept / fl:.2f}x |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
