"""Where the triton kernels' time goes on a GPU (issue 17, item 5): one call of a lent machine.

The first GPU run (RESULTS.md, GPU section) found the one-launch kernels
(``persistent``, ``cooperative``) 1.4-15x slower than cuDNN, with a time per
step that grows with the reduction length of the recurrent product, and the
per-step path bound by its launches. This probe measures, for the plain LSTM
at B=16, T=512, float32:

* the float32 products' precision (``LSTMKIT_TRITON_PREC``: ``ieee``, the
  default, FMA arithmetic; ``tf32x3``, tensor cores with a float32-level
  error; ``tf32``) and the programs' warps (``LSTMKIT_TRITON_WARPS``), each
  with its error against a float64 run of the same weights (output and input
  gradient, ||x - ref|| / ||ref||);
* the reference loop for the cells cuDNN lacks (what ``auto`` would run if
  not triton);
* the per-step path's host time against its GPU time (launch-bound or not).

``--compile-only --shard i/n`` runs every triton job once (fills triton's disk
cache) so that shards can compile side by side before the timed run.
Writes JSON (``--json``) after every row and prints a table.

    python3 benchmarks/gpu_probe.py --json out.json
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_gpu import _job, _timed  # noqa: E402

T, B = 512, 16
SHAPES = [("persistent", 64), ("cooperative", 128), ("cooperative", 256), ("cooperative", 512)]
VARIANTS = [("ieee", 8), ("tf32x3", 8), ("tf32", 8), ("ieee", 4), ("tf32x3", 4)]
#: with --defaults: the kernels' own choice (tiles.kernel_config) only
DEFAULTS = [(None, None)]


def _env(**kv):
    for k, v in kv.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = str(v)


def _pair(cell: str, H: int):
    """A float32 triton model and the same weights in float64 on the reference loop."""
    import lstmkit

    torch.manual_seed(H)
    make = (lambda b: lstmkit.GRU(H, H, backend=b)) if cell == "gru" else (lambda b: lstmkit.LSTM(H, H, cell=cell, backend=b))
    fast = make("triton").cuda()
    ref = make("reference").cuda().double()
    ref.load_state_dict({k: v.double() for k, v in fast.state_dict().items()})
    return fast, ref


def _rel(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a.double() - b).norm() / b.norm())


_REF: dict = {}


def _errors(fast, ref, H: int, x: torch.Tensor) -> dict:
    if H not in _REF:
        xr = x.detach().double().requires_grad_()
        out, _ = ref(xr)
        out.sum().backward()
        _REF[H] = (out.detach(), xr.grad.detach())
    xf = x.detach().clone().requires_grad_()
    out, _ = fast(xf)
    out.sum().backward()
    return dict(err_out=_rel(out.detach(), _REF[H][0]), err_dx=_rel(xf.grad, _REF[H][1]))


def configs(defaults: bool = False):
    out = [dict(kind="variant", path=p, H=H, prec=prec, warps=w) for prec, w in (DEFAULTS if defaults else VARIANTS)
           for p, H in SHAPES]
    if defaults:
        return out
    out += [dict(kind="reference", cell=c, H=H) for c in ("peephole", "layernorm", "gru") for H in (128, 512)]
    out += [dict(kind="launch", path="step", H=256)]
    return out


def run(cfg: dict, args) -> dict:
    row = dict(cfg)
    # the same input for every variant of a size (the float64 reference is computed once per size)
    x = torch.randn(T, B, cfg["H"], device="cuda", generator=torch.Generator(device="cuda").manual_seed(cfg["H"]))
    if cfg["kind"] == "reference":
        import lstmkit

        if args.compile_only:
            return row
        cell, H = cfg["cell"], cfg["H"]
        model = (lstmkit.GRU(H, H, backend="reference") if cell == "gru" else lstmkit.LSTM(H, H, cell=cell, backend="reference")).cuda()
        xx = x.clone().requires_grad_()
        row["reference_fwdbwd_ms"] = _timed(_job(model, xx, True), 3, 1)
        return row
    _env(LSTMKIT_TRITON_PATH=cfg["path"], LSTMKIT_TRITON_PREC=cfg.get("prec"), LSTMKIT_TRITON_WARPS=cfg.get("warps"))
    try:
        fast, ref = _pair("lstm", cfg["H"])
        if args.compile_only:
            _timed(_job(fast, x.clone().requires_grad_(), True), 0, 0)
            _timed(_job(fast, x.clone(), False), 0, 0)
            return row
        if cfg["kind"] == "launch":
            job = _job(fast, x, False)
            with torch.no_grad():
                row["gpu_fwd_ms"] = _timed(job, 5, 2)
                walls = []
                for _ in range(5):
                    torch.cuda.synchronize()
                    t0 = time.perf_counter()
                    job()
                    walls.append(1e3 * (time.perf_counter() - t0))  # host time to issue the launches
                    torch.cuda.synchronize()
                row["host_issue_ms"] = sorted(walls)[2]
            return row
        with torch.no_grad():
            row["fwd_ms"] = _timed(_job(fast, x, False), args.reps, 2)
        xx = x.clone().requires_grad_()
        row["fwdbwd_ms"] = _timed(_job(fast, xx, True), args.reps, 2)
        row.update(_errors(fast, ref, cfg["H"], x))
    except Exception as exc:  # a variant this triton cannot build: recorded, the probe goes on
        row["error"] = f"{type(exc).__name__}: {exc}"[:300]
    finally:
        _env(LSTMKIT_TRITON_PATH=None, LSTMKIT_TRITON_PREC=None, LSTMKIT_TRITON_WARPS=None)
        torch.cuda.empty_cache()
    return row


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--compile-only", action="store_true")
    p.add_argument("--shard", default="0/1")
    p.add_argument("--defaults", action="store_true", help="only the kernels' own precision and warps, with their errors")
    p.add_argument("--json", default=None)
    args = p.parse_args(argv)
    if not torch.cuda.is_available():
        print("gpu_probe: needs a CUDA device (nothing measured)")
        return 2
    i, n = map(int, args.shard.split("/"))
    rows = []
    for cfg in configs(args.defaults)[i::n]:
        rows.append(run(cfg, args))
        print("  ", json.dumps(rows[-1]), file=sys.stderr, flush=True)
        if args.json and not args.compile_only:
            Path(args.json).write_text(json.dumps(dict(gpu=torch.cuda.get_device_name(0), torch=torch.__version__, rows=rows), indent=1))
    if args.compile_only:
        print(f"compiled {len(rows)} configurations")
        return 0
    for r in rows:
        vals = " ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in r.items() if k != "kind")
        print(f"{r['kind']:9} {vals}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
