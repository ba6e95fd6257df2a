"""Two builds of the CPU engine in one process: the plain LSTM's fused loop
(forward with saving, then backward; and inference) of an earlier build
against the current one, on the same inputs, repetitions interleaved
(``--cell layernorm``: the layer-norm loop).

A change to the loops' C++ is checked for speed against the build before
it without a second process (whose start, caches and machine load would
differ): every build is its own module (``lstmkit_cpu_<source hash>``), kept
in the user cache by ``kernels/cpu/_build.py``, so the earlier one loads
beside the current one.

    .venv/bin/python benchmarks/bench_cpu_builds.py --old ~/.cache/lstmkit/cpu_ext/<torch>/<hash>-copy-<loc>/lstmkit_cpu_<hash>.so
    .venv/bin/python benchmarks/bench_cpu_builds.py --list      # the builds in the cache

Prints per shape and thread count the median times of both and the ratio
new / old (below 1: the current build is faster).
"""

from __future__ import annotations

import argparse
import importlib.machinery
import importlib.util
import statistics
import time

import torch

from lstmkit.kernels.cpu import _build
from lstmkit.kernels.cpu.ops import interleave_index, lane_width

SHAPES = ((48, 32, 8, 64), (100, 64, 128, 256), (256, 32, 64, 512))


def load_build(path: str):
    """The extension module at ``path`` (a ``lstmkit_cpu_<hash>.so``)."""
    name = path.rsplit("/", 1)[-1].split(".")[0]
    loader = importlib.machinery.ExtensionFileLoader(name, path)
    module = importlib.util.module_from_spec(importlib.util.spec_from_loader(name, loader))
    loader.exec_module(module)
    return module


def calls(ext, T, B, I, H):
    """Training (forward with saving, backward) and inference calls of the
    fused loop with the projection in the tile. Builds from before
    2026-12-05 take no peephole argument; later ones take ``None`` for it."""
    torch.manual_seed(0)
    idx, _ = interleave_index(H, lane_width(torch.float32))
    w_ih, w_hh, b = torch.randn(4 * H, I) * 0.05, torch.randn(4 * H, H) * 0.05, torch.randn(4 * H) * 0.1
    wi, bi = w_ih.index_select(0, idx), b.index_select(0, idx)
    x, h0, c0 = torch.randn(T, B, I), torch.zeros(B, H), torch.zeros(B, H)
    dout, z = torch.randn(T, B, H), torch.zeros(B, H)
    try:
        ext.lstm_fused_forward_x(x[:1], wi, bi, h0, c0, w_hh, None, False, None)
        extra = (None,)
    except TypeError:
        extra = ()

    def train():
        s = ext.lstm_fused_forward_x(x, wi, bi, h0, c0, w_hh, None, True, *extra)
        ext.lstm_fused_backward(dout, z, z, s[3], s[4], w_hh, None, False, True, *extra)

    def infer():
        ext.lstm_fused_forward_x(x, wi, bi, h0, c0, w_hh, None, False, *extra)

    return {"train": train, "infer": infer}


def ln_calls(ext, T, B, I, H):
    """The layer-norm loop's training and inference calls (projection in the tile)."""
    torch.manual_seed(0)
    G = 4 * H
    idx, _ = interleave_index(H, lane_width(torch.float32))
    wi, w_hh = (torch.randn(G, I) * 0.05).index_select(0, idx), torch.randn(G, H) * 0.05
    x, h0, c0 = torch.randn(T, B, I), torch.zeros(B, H), torch.zeros(B, H)
    norms = (1 + 0.1 * torch.randn(G), 1 + 0.1 * torch.randn(G), 0.1 * torch.randn(G), 1 + 0.1 * torch.randn(H),
             0.1 * torch.randn(H))
    dout, z = torch.randn(T, B, H), torch.zeros(B, H)
    gih, ghh, _, gc, bc = norms

    def train():
        _, _, _, gates, cseq, rn, stats, xp = ext.lstm_ln_fused_forward_x(x, wi, h0, c0, w_hh, *norms, None, 1e-5,
                                                                          True)
        ext.lstm_ln_fused_backward(dout, z, z, xp, gates, cseq, rn, stats, w_hh, gih, ghh, gc, bc, None, False)

    def infer():
        ext.lstm_ln_fused_forward_x(x, wi, h0, c0, w_hh, *norms, None, 1e-5, False)

    return {"train": train, "infer": infer}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--old", help="path of the earlier build's .so")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--reps", type=int, default=15)
    ap.add_argument("--cell", choices=("lstm", "layernorm"), default="lstm")
    ap.add_argument("--list", action="store_true", help="list the builds in the cache and stop")
    args = ap.parse_args()
    if args.list or not args.old:
        for so in sorted(_build.cache_dir().glob("*/lstmkit_cpu_*.so"), key=lambda p: p.stat().st_mtime):
            print(time.strftime("%Y-%m-%d %H:%M", time.localtime(so.stat().st_mtime)), so)
        return
    builds = {"old": load_build(args.old), "new": _build.load_extension()}
    print(f"torch {torch.__version__}; load average {open('/proc/loadavg').read().split()[:3]}")
    for nt in (int(t) for t in args.threads.split(",")):
        torch.set_num_threads(nt)
        for T, B, I, H in SHAPES:
            make = calls if args.cell == "lstm" else ln_calls
            fns = {k: make(ext, T, B, I, H) for k, ext in builds.items()}
            for mode in ("train", "infer"):
                times = {k: [] for k in builds}
                for _ in range(args.reps):
                    for k in builds:
                        t = time.perf_counter()
                        for _ in range(5):
                            fns[k][mode]()
                        times[k].append((time.perf_counter() - t) / 5 * 1e3)
                old, new = (statistics.median(times[k]) for k in ("old", "new"))
                print(f"{nt} thread(s) T{T} B{B} I{I} H{H} {mode}: old {old:.3f} ms, new {new:.3f} ms, "
                      f"new / old {new / old:.3f}", flush=True)


if __name__ == "__main__":
    main()
