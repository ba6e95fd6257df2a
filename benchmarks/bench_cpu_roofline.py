"""The plain LSTM's fused loop against the machine's product ceiling.

For each shape of ``bench_cpu.py`` (one layer), per time step:

- FLOPs of the step's products: ``2 B (I + H) 4H`` forward (the input side is
  computed in the tile when ``fused.tile_projection`` says so, else as one
  product before the loop and left out here), ``2 B 4H H`` for the backward
  loop's ``dA_{t+1} W_hh``;
- the ceiling: the faster of MKL's ``torch.mm`` (into a preallocated output)
  and oneDNN's linear with the weight packed once, on the same per-step
  product, repeated ``T`` times (the fastest single product torch offers for
  that shape on this machine, with nothing else around it; MKL picks its
  kernels by the CPU's vendor, and on AMD machines oneDNN's are the faster);
- the machine's product peak: the faster of the two on one large square
  product (2048 x 2048 x 2048), printed once;
- the fused forward (inference, nothing saved) and backward loops, alone,
  as GFLOP/s of the same FLOPs (gates and state updates included);
- ``torch.nn.LSTM`` inference on the whole layer, as GFLOP/s of its products
  (input side included).

Medians of the thread's CPU time with 1 thread (steady on a shared machine),
wall time otherwise::

    .venv/bin/python benchmarks/bench_cpu_roofline.py [--threads 1] [--reps 9]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import torch
from torch import nn

from lstmkit.kernels.cpu import fused, matmul
from lstmkit.kernels.cpu.ops import _ext, interleave_index, lane_width, project_in

SHAPES = [(100, 64, 128, 256), (256, 32, 64, 512), (48, 32, 8, 64)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--reps", type=int, default=9)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    clock = time.thread_time if args.threads == 1 else time.perf_counter
    ext = _ext()

    def timed(f):
        f()
        ts = []
        for _ in range(args.reps):
            t = clock()
            f()
            ts.append(clock() - t)
        return statistics.median(ts)

    print(f"torch {torch.__version__}, {args.threads} thread(s), load average "
          + " ".join(f"{v:.2f}" for v in os.getloadavg()))

    def product(a, w_nk, reps=1):
        """The faster of MKL and packed oneDNN for ``a @ w_nk.T``, ``reps`` times: seconds, name."""
        out, w_kn = torch.empty(a.shape[0], w_nk.shape[0]), w_nk.t().contiguous()
        best = (timed(lambda: [torch.mm(a, w_kn, out=out) for _ in range(reps)]), "MKL")
        if matmul._onednn(a.dtype):
            packed = torch.ops.mkldnn._reorder_linear_weight(w_nk, a.shape[0])
            one = timed(lambda: [torch.ops.mkldnn._linear_pointwise(a, packed, None, "none", [], "")
                                 for _ in range(reps)])
            best = min(best, (one, "oneDNN"))
        return best

    with torch.no_grad():
        n = 2048
        peak, by = product(torch.randn(n, n), torch.randn(n, n))
    print(f"machine's product peak: {2 * n ** 3 / peak / 1e9:.0f} GF/s ({by}, {n}^3)")
    print("| shape | FLOPs/step fwd | ceiling fwd | fused fwd | fwd/ceiling | nn.LSTM infer | "
          "FLOPs/step bwd | ceiling bwd | fused bwd | bwd/ceiling |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for T, B, I, H in SHAPES:
        torch.manual_seed(0)
        L = lane_width(torch.float32)
        idx, _ = interleave_index(H, L)
        w_ih, w_hh, b = torch.randn(4 * H, I) * 0.05, torch.randn(4 * H, H) * 0.05, torch.randn(4 * H) * 0.1
        wi, bi = w_ih.index_select(0, idx), b.index_select(0, idx)
        x, h0, c0 = torch.randn(T, B, I), torch.zeros(B, H), torch.zeros(B, H)
        tile = fused.tile_projection(B, I, H, torch.float32)
        K = I + H if tile else H
        with torch.no_grad():
            ceil_f, by_f = product(torch.randn(B, K), torch.randn(4 * H, K), T)
            ceil_b, by_b = product(torch.randn(B, 4 * H), torch.randn(H, 4 * H), T)
            if tile:
                fwd = timed(lambda: ext.lstm_fused_forward_x(x, wi, bi, h0, c0, w_hh, None, False, None))
                saved = ext.lstm_fused_forward_x(x, wi, bi, h0, c0, w_hh, None, True, None)
            else:
                xp = project_in(x, wi, bi)
                fwd = timed(lambda: ext.lstm_fused_forward(xp, h0, c0, w_hh, None, False, None))
                saved = ext.lstm_fused_forward(xp, h0, c0, w_hh, None, True, None)
            dout, z = torch.randn(T, B, H), torch.zeros(B, H)
            bwd = timed(lambda: ext.lstm_fused_backward(dout, z, z, saved[3], saved[4], w_hh, None, False, True, None))
            ref = nn.LSTM(I, H)
            nn_t = timed(lambda: ref(x))
        ff, fb = 2 * B * K * 4 * H, 2 * B * 4 * H * H
        gf = lambda flops, s: flops * T / s / 1e9  # noqa: E731
        nn_flops = 2 * B * (I + H) * 4 * H
        print(f"| T{T} B{B} I{I} H{H}{' (tile)' if tile else ''} | {ff / 1e6:.1f} M | {gf(ff, ceil_f):.0f} GF/s ({by_f}) | "
              f"{gf(ff, fwd):.0f} GF/s | {ceil_f / fwd:.2f} | {gf(nn_flops, nn_t):.0f} GF/s | {fb / 1e6:.1f} M | "
              f"{gf(fb, ceil_b):.0f} GF/s ({by_b}) | {gf(fb, bwd):.0f} GF/s | {ceil_b / bwd:.2f} |", flush=True)
    print("load average after " + " ".join(f"{v:.2f}" for v in os.getloadavg()))


if __name__ == "__main__":
    main()
