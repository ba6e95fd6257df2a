"""The per-step path's recurrent products alone, on a GPU: which shape is slow.

In run 5 (RESULTS.md, GPU section) the graphed per-step path took 35-49 ms
fwd+bwd at B = 16, H = 128, against 5-7 ms at B = 1 and 12-15 ms at B = 64, in
every cell and dtype, and already without graphs. The gate kernels' tiles are
the same at B = 16 and 64, so the suspect is the library's product kernel for
16 rows. This probe times, per call (microseconds, median of 5 recordings of
512 calls replayed as one CUDA graph), the step path's products:

* forward ``h @ W_hh^T``: (B, H) x (H, G*H), G = 4 (LSTM) or 3 (GRU), as the
  path computes it, and as ``(W_hh @ h^T)^T`` (the other operand order);
* backward ``dG @ W_hh``: (B, G*H) x (G*H, H), and as ``(W_hh^T @ dG^T)^T``;

float32 (TF32 off, torch's default) and bfloat16. Run it on a lent GPU:

    python benchmarks/gpu_step_probe.py [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys

import torch


def _per_call_us(fn, calls: int = 512, reps: int = 5) -> float:
    """Median microseconds per call of ``fn`` over ``reps`` replays of a graph of ``calls`` calls."""
    stream = torch.cuda.Stream()
    stream.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(stream):  # warm-up off the capture (library handles, workspaces)
        for _ in range(3):
            fn()
    torch.cuda.current_stream().wait_stream(stream)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        for _ in range(calls):
            fn()
    times = []
    for _ in range(reps):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        graph.replay()
        end.record()
        torch.cuda.synchronize()
        times.append(1e3 * start.elapsed_time(end) / calls)
    return statistics.median(times)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--batch", default="1,8,16,32,64")
    p.add_argument("--hidden", default="128,256")
    p.add_argument("--gates", default="4,3")
    p.add_argument("--json", default=None)
    args = p.parse_args(argv)
    if not torch.cuda.is_available():
        print("gpu_step_probe: no CUDA device here; nothing measured")
        return 2
    rows = []
    print("us per call:\n| dtype | G | B | H | fwd h@W^T | fwd (W@h^T)^T | bwd dG@W | bwd (W^T@dG^T)^T |")
    print("|---|---|---|---|---|---|---|---|")
    for dtype in (torch.float32, torch.bfloat16):
        for G in map(int, args.gates.split(",")):
            for H in map(int, args.hidden.split(",")):
                for B in map(int, args.batch.split(",")):
                    w = torch.randn(G * H, H, device="cuda", dtype=dtype)
                    h = torch.randn(B, H, device="cuda", dtype=dtype)
                    dg = torch.randn(B, G * H, device="cuda", dtype=dtype)
                    row = dict(dtype=str(dtype).replace("torch.", ""), G=G, B=B, H=H)
                    row["fwd"] = _per_call_us(lambda: h @ w.t())
                    row["fwd_swapped"] = _per_call_us(lambda: (w @ h.t()).t())
                    row["bwd"] = _per_call_us(lambda: dg @ w)
                    row["bwd_swapped"] = _per_call_us(lambda: (w.t() @ dg.t()).t())
                    rows.append(row)
                    print(f"| {row['dtype']} | {G} | {B} | {H} | {row['fwd']:.2f} | {row['fwd_swapped']:.2f} | "
                          f"{row['bwd']:.2f} | {row['bwd_swapped']:.2f} |", flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(dict(gpu=torch.cuda.get_device_name(0), torch=torch.__version__, rows=rows), f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
