"""GPU benchmark of the triton backend against cuDNN and the reference loop.

Runs, in one process and on one GPU, for every configuration of the grid:

* ``auto``: what a user gets, lstmkit's default backend (``auto_backend``
  names the engine it took: triton where it measured faster than cuDNN, else
  cuDNN through backend ``torch``);
* ``lstmkit triton``: the triton backend, by its ``auto`` path (persistent
  kernel where it fits, then the cooperative kernel up to H = 128, else the
  per-step path replayed from CUDA graphs; ``--also-no-graphs`` adds it
  launched step by step);
  ``--path`` forces one (``step``, ``tile``, ``persistent``, ``cooperative``)
  and ``--no-cooperative`` keeps ``auto`` off the cooperative kernel;
* ``lstmkit triton_<path>`` (``--also-paths``): the same with that path
  forced (an error is recorded where it cannot run the size);
* ``cudnn_notf32`` (float32 rows): cuDNN with ``torch.backends.cudnn.allow_tf32``
  off, i.e. its float32 products in float32 (the default lets cuDNN use TF32);
* ``cuDNN``: ``torch.nn.LSTM`` / ``torch.nn.GRU`` (the plain cells' anchor;
  for the peephole and layer-norm LSTMs the anchor is cuDNN's *plain* LSTM of
  the same size, as the targets are stated);
* ``reference``: lstmkit's reference loop (the cell's ``step`` per time step).

Grid (the issue's): B in {1, 16, 64, 256}, H in {128, 256, 512, 1024},
T = 512, input size = H, one layer, forward and forward+backward, float32 and
bfloat16. Also one anchor row: cuDNN nn.LSTM fp16 at B=16, T=1024, H=768 (the
FlashRNN paper reports 2.0 ms forward and 5.2 ms fwd+bwd on an H100).

``--target`` is the grid of the issue's targets first: B in {1, 16, 64},
H in {64, 128, 256, 512} (plain LSTM fwd+bwd <= cuDNN there; the variants
within 1.3x of cuDNN's plain LSTM).

Prints a Markdown table and writes JSON (default
``benchmarks/results/gpu_<device>.json``), rewritten after every row so a run
stopped by a time limit keeps what it measured. ``--compile-only`` runs every
job once and times nothing: run it in parallel shards (``--shard i/n``) first,
and the timed run then finds triton's kernels compiled in its disk cache.
Needs a CUDA device; exits with a message otherwise. Example::

    .venv/bin/python benchmarks/bench_gpu.py                 # the full grid
    .venv/bin/python benchmarks/bench_gpu.py --quick         # B=16, H=256 only
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import torch

#: "cuda", or "cpu" for ``--smoke`` (the Triton interpreter: checks the script, measures nothing)
DEVICE = "cuda"


def _timed(fn, reps: int, warmup: int) -> float:
    """Median milliseconds of ``fn()`` over ``reps`` runs (CUDA events); with
    no ``reps``, one run (compiles the kernels) and NaN."""
    for _ in range(warmup):
        fn()
    if reps == 0:
        fn()
        if DEVICE == "cuda":
            torch.cuda.synchronize()
        return float("nan")
    times = []
    if DEVICE != "cuda":  # smoke run: wall clock, meaningless as a speed
        for _ in range(reps):
            t0 = time.perf_counter()
            fn()
            times.append(1e3 * (time.perf_counter() - t0))
        return statistics.median(times)
    torch.cuda.synchronize()
    for _ in range(reps):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        torch.cuda.synchronize()
        times.append(start.elapsed_time(end))
    return statistics.median(times)


def _job(model, x, backward: bool):
    def run():
        x.grad = None
        out, _ = model(x)
        if backward:
            out.float().sum().backward()

    return run


def _lstmkit_model(cell: str, H: int, dtype, backend: str):
    import lstmkit

    if cell == "gru":
        return lstmkit.GRU(H, H, backend=backend).to(DEVICE, dtype)
    return lstmkit.LSTM(H, H, cell=cell, backend=backend).to(DEVICE, dtype)


def _cudnn_model(cell: str, H: int, dtype):
    mod = torch.nn.GRU(H, H) if cell == "gru" else torch.nn.LSTM(H, H)
    return mod.to(DEVICE, dtype)


def measure(cell, B, H, T, dtype, backward, args) -> dict:
    row = dict(cell=cell, B=B, H=H, T=T, dtype=str(dtype).replace("torch.", ""), mode="fwd+bwd" if backward else "fwd")
    x = torch.randn(T, B, H, device=DEVICE, dtype=dtype, requires_grad=backward)
    runs = [
        ("triton", lambda: _lstmkit_model(cell, H, dtype, "triton"), args.reps, None),
        ("cudnn", lambda: _cudnn_model(cell, H, dtype), args.reps, None),
        ("reference", lambda: _lstmkit_model(cell, H, dtype, "reference"), args.reference_reps, None),
    ]
    for path in filter(None, args.also_paths.split(",")):  # extra triton columns, one per forced path
        runs.insert(1, (f"triton_{path}", lambda: _lstmkit_model(cell, H, dtype, "triton"), args.reps,
                        {"LSTMKIT_TRITON_PATH": path}))
    if args.also_no_graphs:  # the per-step path launched step by step, not replayed from a CUDA graph
        runs.insert(1, ("triton_nographs", lambda: _lstmkit_model(cell, H, dtype, "triton"), args.reps,
                        {"LSTMKIT_TRITON_GRAPHS": "0"}))
    # what a user gets: lstmkit's default backend ("auto"), and which engine it took
    runs.insert(0, ("auto", lambda: _lstmkit_model(cell, H, dtype, "auto"), args.reps, None))
    if dtype == torch.float32 and DEVICE == "cuda":  # cuDNN with TF32 off: float32 products as float32
        runs.insert(-1, ("cudnn_notf32", lambda: _cudnn_model(cell, H, dtype), args.reps, None))
    try:
        from lstmkit.kernels import select_backend

        probe = _lstmkit_model(cell, H, dtype, "auto")
        row["auto_backend"] = select_backend(x, probe.spec(), list(probe.cells), None).name
    except Exception as exc:  # recorded, the row goes on
        row["auto_backend"] = f"? {type(exc).__name__}"
    for name, make, reps, env in runs:
        if name == "reference" and args.no_reference:
            continue
        saved = {k: os.environ.get(k) for k in env or {}}
        os.environ.update(env or {})
        tf32 = torch.backends.cudnn.allow_tf32
        torch.backends.cudnn.allow_tf32 = tf32 and name != "cudnn_notf32"
        try:
            model = make()
            with torch.set_grad_enabled(backward):
                if args.compile_only:
                    if name in ("cudnn", "cudnn_notf32", "reference", "auto", "triton_nographs"):
                        continue
                    reps, warmup = 0, 0
                else:
                    warmup = 1 if name == "reference" else args.warmup
                row[name + "_ms"] = _timed(_job(model, x, backward), reps, warmup=warmup)
        except Exception as exc:  # record, keep going (a forced path that cannot run this size lands here)
            row[name + "_error"] = f"{type(exc).__name__}: {exc}"[:200]
        finally:
            torch.backends.cudnn.allow_tf32 = tf32
            for k, v in saved.items():
                if v is not None:
                    os.environ[k] = v
                else:
                    os.environ.pop(k, None)
        if DEVICE == "cuda":
            torch.cuda.empty_cache()
    if "triton_ms" in row and "cudnn_ms" in row:
        row["triton_over_cudnn"] = row["triton_ms"] / row["cudnn_ms"]
    if "auto_ms" in row and "cudnn_ms" in row:
        row["auto_over_cudnn"] = row["auto_ms"] / row["cudnn_ms"]
    if "triton_ms" in row and "triton_nographs_ms" in row:
        row["graphs_speedup"] = row["triton_nographs_ms"] / row["triton_ms"]
    if "triton_ms" in row and "reference_ms" in row:
        row["speedup_over_reference"] = row["reference_ms"] / row["triton_ms"]
    return row


def anchor(args) -> dict:
    """cuDNN LSTM fp16, B=16, T=1024, H=768: the FlashRNN paper's H100 numbers."""
    row = dict(cell="lstm (anchor)", B=16, H=768, T=1024, dtype="float16", paper_fwd_ms=2.0, paper_fwdbwd_ms=5.2)
    if DEVICE != "cuda":
        row.update(cudnn_fwd_ms=float("nan"), cudnn_fwdbwd_ms=float("nan"))
        return row
    model = torch.nn.LSTM(768, 768).to(DEVICE, torch.float16)
    for backward in (False, True):
        x = torch.randn(1024, 16, 768, device=DEVICE, dtype=torch.float16, requires_grad=backward)
        with torch.set_grad_enabled(backward):
            row["cudnn_fwdbwd_ms" if backward else "cudnn_fwd_ms"] = _timed(_job(model, x, backward), args.reps, 3)
    return row


def _fmt(v):
    return "-" if v is None else (f"{v:.3f}" if isinstance(v, float) else str(v))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--cells", default="lstm,peephole,layernorm,gru")
    p.add_argument("--batch", default="1,16,64,256")
    p.add_argument("--hidden", default="128,256,512,1024")
    p.add_argument("--steps", type=int, default=512)
    p.add_argument("--dtypes", default="float32,bfloat16")
    p.add_argument("--reps", type=int, default=10)
    p.add_argument("--reference-reps", type=int, default=2)
    p.add_argument("--no-reference", action="store_true", help="skip the (slow) reference loop")
    p.add_argument("--path", choices=("auto", "step", "tile", "persistent", "cooperative"), default="auto",
                   help="the triton backend's path (LSTMKIT_TRITON_PATH); a forced path that cannot run a size is recorded as an error")
    p.add_argument("--also-paths", default="",
                   help="extra triton columns with these paths forced (comma-separated; '' for none)")
    p.add_argument("--also-no-graphs", action="store_true",
                   help="an extra triton column with LSTMKIT_TRITON_GRAPHS=0 (the per-step path launched step by step)")
    p.add_argument("--no-cooperative", action="store_true", help="keep auto off the cooperative kernel (LSTMKIT_TRITON_COOPERATIVE=0)")
    p.add_argument("--quick", action="store_true", help="B=16, H=256 only")
    p.add_argument("--target", action="store_true", help="the targets' grid: B 1,16,64 and H 64,128,256,512")
    p.add_argument("--warmup", type=int, default=3, help="untimed runs before the timed ones")
    p.add_argument("--compile-only", action="store_true", help="run each triton job once, time nothing (fills triton's cache)")
    p.add_argument("--shard", default="0/1", help="i/n: this process runs every n-th configuration from the i-th")
    p.add_argument("--json", default=None, help="output path (default benchmarks/results/gpu_<device>.json)")
    p.add_argument("--smoke", action="store_true",
                   help="no GPU: run a tiny grid on CPU in the Triton interpreter to check the script (times are meaningless)")
    args = p.parse_args(argv)
    global DEVICE
    if args.smoke:
        os.environ["TRITON_INTERPRET"] = "1"  # before triton is imported
        DEVICE = "cpu"
        args.batch, args.hidden, args.steps, args.reps, args.reference_reps = "2", "8", 4, 1, 1
    elif not torch.cuda.is_available():
        print("bench_gpu: no CUDA device here; this benchmark needs a GPU (nothing measured). "
              "--smoke checks the script on CPU in the Triton interpreter.")
        return 2

    os.environ["LSTMKIT_TRITON_PATH"] = args.path
    if args.no_cooperative:
        os.environ["LSTMKIT_TRITON_COOPERATIVE"] = "0"
    if args.quick:
        args.batch, args.hidden = "16", "256"
    if args.target:
        args.batch, args.hidden = "1,16,64", "64,128,256,512"
    shard, n_shards = map(int, args.shard.split("/"))
    gpu = torch.cuda.get_device_name(0) if DEVICE == "cuda" else "SMOKE TEST on CPU (Triton interpreter), NOT A MEASUREMENT"
    import triton

    meta = dict(gpu=gpu, torch=torch.__version__, cuda=torch.version.cuda, cudnn=torch.backends.cudnn.version() if DEVICE == "cuda" else None,
                triton=triton.__version__, path=args.path, cooperative=not args.no_cooperative, date=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()))
    print(f"# lstmkit GPU benchmark on {gpu} (torch {meta['torch']}, CUDA {meta['cuda']}, cuDNN {meta['cudnn']}, triton {meta['triton']})")
    safe = "".join(ch if ch.isalnum() else "_" for ch in gpu).strip("_")
    if args.smoke and not args.json:
        args.json = str(Path(__file__).resolve().parent / "results" / "gpu_smoke.json")
    out = Path(args.json) if args.json else Path(__file__).resolve().parent / "results" / f"gpu_{safe}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    grid = [
        (cell, dtype, B, H, backward)
        for dtype in (getattr(torch, d) for d in args.dtypes.split(","))
        for cell in args.cells.split(",")
        for B in map(int, args.batch.split(","))
        for H in map(int, args.hidden.split(","))
        for backward in (True, False)
    ][shard::n_shards]
    rows = []
    for cell, dtype, B, H, backward in grid:
        row = measure(cell, B, H, args.steps, dtype, backward, args)
        rows.append(row)
        print("  ", json.dumps(row), file=sys.stderr, flush=True)
        if not args.compile_only:  # what is measured so far survives a time limit
            out.write_text(json.dumps(dict(meta=meta, anchor=None, rows=rows), indent=1))
    if args.compile_only:
        print(f"compiled the kernels of {len(rows)} configurations; nothing timed")
        return 0
    anchor_row = anchor(args)
    extra = [f"triton_{p}_ms" for p in filter(None, args.also_paths.split(","))]
    extra += ["triton_nographs_ms"] if args.also_no_graphs else []
    cols = ["cell", "dtype", "B", "H", "mode", "auto_backend", "auto_ms", "triton_ms", *extra, "cudnn_ms", "cudnn_notf32_ms",
            "reference_ms", "auto_over_cudnn", "triton_over_cudnn", "speedup_over_reference",
            *(["graphs_speedup"] if args.also_no_graphs else [])]
    print("\n| " + " | ".join(cols) + " |")
    print("|" + "---|" * len(cols))
    for r in rows:
        print("| " + " | ".join(_fmt(r.get(c)) for c in cols) + " |")
    print(f"\nAnchor: cuDNN LSTM fp16 B=16 T=1024 H=768: {anchor_row['cudnn_fwd_ms']:.2f} ms fwd, "
          f"{anchor_row['cudnn_fwdbwd_ms']:.2f} ms fwd+bwd (FlashRNN paper, H100: 2.0 / 5.2 ms)")
    errors = [r for r in rows if any(k.endswith("_error") for k in r)]
    if errors:
        print(f"\n{len(errors)} configurations had errors; see the JSON")
    out.write_text(json.dumps(dict(meta=meta, anchor=anchor_row, rows=rows), indent=1))
    print(f"\nwrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
