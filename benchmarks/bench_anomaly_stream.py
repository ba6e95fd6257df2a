"""Latency per point of the streaming anomaly detector, beside re-scoring a window.

A trained prediction detector (:class:`lstmkit.AnomalyDetector`) is fed one
observation at a time (``streaming().update``: the per-row score with the LSTM
state carried, then the pooling); the anchor in the same run is what a
detector without carried state must do per point: run the LSTM over the last
``window`` rows again. Prints a table and writes JSON.

    .venv/bin/python benchmarks/bench_anomaly_stream.py [--hidden 64] [--points 2000]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np


def main(argv=None) -> int:
    import torch

    from lstmkit import AnomalyDetector

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--hidden", type=int, default=64)
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--window", type=int, default=128)
    p.add_argument("--points", type=int, default=2000)
    p.add_argument("--out", default="benchmarks/out/anomaly_stream.json")
    args = p.parse_args(argv)
    torch.set_num_threads(2)
    rng = np.random.default_rng(0)
    x = np.sin(np.arange(4000) / 7.0) + 0.05 * rng.normal(size=4000)
    det = AnomalyDetector(hidden_size=args.hidden, num_layers=args.layers, window=args.window, epochs=1,
                          progress_bar=False).fit(x)
    stream = det.streaming()
    for v in x[:200]:  # warm up
        stream.update(v)
    per_point = []
    for v in x[200 : 200 + args.points]:
        t = time.perf_counter()
        stream.update(v)
        per_point.append(time.perf_counter() - t)
    rescore = []
    for end in range(1000, 1000 + min(args.points, 300)):
        t = time.perf_counter()
        det.detector_.raw_score(x[end - args.window : end])
        rescore.append(time.perf_counter() - t)
    stream_us = statistics.median(per_point) * 1e6
    rescore_us = statistics.median(rescore) * 1e6
    result = {"hidden": args.hidden, "layers": args.layers, "window": args.window, "stream_median_us": round(stream_us, 1),
              "stream_p99_us": round(float(np.percentile(per_point, 99)) * 1e6, 1), "rescore_window_median_us": round(rescore_us, 1),
              "speedup": round(rescore_us / stream_us, 2),
              "pooling_spans": list(det.pooling_.spans), "delay_rows": stream.delay, "backend_note": "layer.step() through kernels.recurrence_step (auto)"}
    print(f"{'path':32s} {'median µs/point':>16s}")
    print(f"{'streaming update (carried state)':32s} {stream_us:16.1f}")
    print(f"{'re-score last window':32s} {rescore_us:16.1f}")
    print(f"speed-up {result['speedup']}x; p99 streaming {result['stream_p99_us']} µs; pooling spans "
          f"{result['pooling_spans']}, scores {result['delay_rows']} rows late")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
