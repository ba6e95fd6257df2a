"""Compile every kernel of the backend for an NVIDIA GPU without one.

The Triton interpreter checks what the kernels compute, not that they
compile. This module compiles each kernel, at the sizes the backend launches
it with, ahead of time for a chosen architecture (default ``sm_90``, the
H100) with triton's own compiler and ``ptxas``, which need no GPU, and reads
``ptxas -v`` for registers and spills (a spilled "on-chip" weight tile lives in
local memory, i.e. not on chip).

    python -m lstmkit.kernels.triton.aot_check [--arch 90]

Must run in a process where ``TRITON_INTERPRET`` is unset (it exits with a
message otherwise). Prints one line per kernel configuration.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass

INT_ARGS = {"t", "B", "H", "T", "t_start", "n_steps", "n_prog"}
FLOAT_ARGS = {"eps"}
INT_PTRS = {"lens", "sync", "err"}


@dataclass
class Compiled:
    kernel: str
    config: str
    num_warps: int
    num_stages: int
    registers: int
    spill_bytes: int
    shared_bytes: int


def _signature(fn, constexprs: dict, fp: str = "fp32") -> dict:
    sig = {}
    for name in fn.arg_names:
        if name in constexprs:
            sig[name] = "constexpr"
        elif name in INT_ARGS:
            sig[name] = "i32"
        elif name in FLOAT_ARGS:
            sig[name] = "fp32"
        elif name in INT_PTRS:
            sig[name] = "*i32"
        else:
            sig[name] = "*" + fp
    return sig


def cases():
    """(kernel, constexprs, launch options, label, pointer dtype) at the sizes the backend uses.

    Float32 throughout, plus the persistent kernels in float64 (the dtype the
    gradient checks run in; triton before 3.9 refused a float64 accumulator
    handed to ``tl.dot`` without its dtype named)."""
    from . import cooperative, persistent, step_kernels
    from .tiles import SPLIT_WARPS

    out = []
    for peep, ln, H, label in ((False, False, 1024, "lstm"), (True, False, 1024, "peephole"),
                               (False, True, 256, "layernorm H=256"), (False, True, 1024, "layernorm H=1024")):
        bb, bh, _, opts = step_kernels.blocks(64, H, ln)
        for fn in (step_kernels.lstm_fwd_step, step_kernels.lstm_bwd_step):
            out.append((fn, dict(PEEP=peep, LN=ln, HAS_LEN=True, BLOCK_B=bb, BLOCK_H=bh), opts, f"{label} B=64"))
    bb, bh, _, opts = step_kernels.blocks(64, 1024, False)
    for fn in (step_kernels.gru_fwd_step, step_kernels.gru_bwd_step):
        out.append((fn, dict(HAS_LEN=True, BLOCK_B=bb, BLOCK_H=bh), opts, "gru B=64"))
    for fn in (step_kernels.rnn_fwd_step, step_kernels.rnn_bwd_step):
        out.append((fn, dict(RELU=False, HAS_LEN=True, BLOCK_B=bb, BLOCK_H=bh), opts, "rnn B=64"))
    pw = persistent.LAUNCH_OPTS
    for peep, ln, label in ((False, False, "lstm H=64"), (True, False, "peephole H=64"), (False, True, "layernorm H=64")):
        for fn in (persistent.lstm_fwd, persistent.lstm_bwd):
            out.append((fn, dict(PEEP=peep, LN=ln, HAS_LEN=True, BLOCK_B=16, HP=64, PREC="ieee"), pw, label))
    for fn in (persistent.gru_fwd, persistent.gru_bwd):
        out.append((fn, dict(HAS_LEN=True, BLOCK_B=16, HP=64, PREC="ieee"), pw, "gru H=64"))
    for fn in (persistent.rnn_fwd, persistent.rnn_bwd):
        out.append((fn, dict(RELU=False, HAS_LEN=True, BLOCK_B=16, HP=64, PREC="ieee"), pw, "rnn H=64"))
    for H in (128, 256, 512):
        bb, bh, hpk, _ = cooperative.tiles(64, H)
        base = dict(PEEP=False, HAS_LEN=True, BLOCK_B=bb, BLOCK_H=bh, HPK=hpk, PREC="ieee", TIMEOUT=cooperative.SYNC_TIMEOUT_NS)
        cw = cooperative.LAUNCH_OPTS
        out.append((cooperative.lstm_tile_fwd, dict(base, SYNC=False, CM=""), cw, f"tile H={H}"))
        out.append((cooperative.lstm_tile_fwd, dict(base, SYNC=True, CM=".cg"), cw, f"cooperative H={H}"))
        out.append((cooperative.lstm_tile_bwd, dict(base, SYNC=False, CM="", PHASE=1), cw, f"tile H={H} phase 1"))
        out.append((cooperative.lstm_tile_bwd, dict(base, SYNC=False, CM="", PHASE=2), cw, f"tile H={H} phase 2"))
        out.append((cooperative.lstm_tile_bwd, dict(base, SYNC=True, CM=".cg", PHASE=3), cw, f"cooperative H={H}"))
    out = [(*case, "fp32") for case in out]
    # float32 on a GPU runs the products split on the tensor cores (tiles.kernel_config), with fewer warps
    out += [(fn, dict(constexprs, PREC="tf32x3"), dict(opts, num_warps=SPLIT_WARPS), f"{label} tf32x3", fp)
            for fn, constexprs, opts, label, fp in out
            if constexprs.get("PREC") == "ieee" and (fn.fn.__module__.endswith("persistent") or "H=256" in label)]
    for fn in (persistent.lstm_fwd, persistent.lstm_bwd):
        out.append((fn, dict(PEEP=False, LN=False, HAS_LEN=True, BLOCK_B=16, HP=16, PREC="ieee"), pw,
                    "lstm H=16 float64", "fp64"))
    return out


def _ptxas_info(ptx: str, arch: int) -> tuple[int, int]:
    from triton.backends.nvidia.compiler import get_ptxas

    ptxas = get_ptxas(arch).path
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "k.ptx")
        with open(src, "w") as f:
            f.write(ptx)
        proc = subprocess.run(
            [ptxas, "-v", f"--gpu-name=sm_{arch}a" if arch >= 90 else f"--gpu-name=sm_{arch}", src, "-o", os.path.join(tmp, "k.o")],
            capture_output=True, text=True, check=True,
        )
    log = proc.stderr + proc.stdout
    regs = int(re.search(r"Used (\d+) registers", log).group(1))
    spill = re.search(r"(\d+) bytes spill stores", log)
    return regs, int(spill.group(1)) if spill else 0


def compile_all(arch: int = 90, only: str | None = None) -> list[Compiled]:
    import triton
    from triton.backends.compiler import GPUTarget
    from triton.compiler import ASTSource

    results = []
    for fn, constexprs, opts, label, fp in cases():
        if only and not any(o in label or o in fn.fn.__name__ for o in only.split(",")):
            continue
        src = ASTSource(fn=fn, signature=_signature(fn, constexprs, fp), constexprs=constexprs)
        k = triton.compile(src, target=GPUTarget("cuda", arch, 32), options=dict(opts))
        regs, spill = _ptxas_info(k.asm["ptx"], arch)
        name = fn.fn.__module__.rsplit(".", 1)[-1] + "." + fn.fn.__name__
        flags = ",".join(f"{k}={v}" for k, v in constexprs.items() if k in ("PEEP", "LN", "SYNC", "PHASE"))
        results.append(Compiled(name, f"{label} {flags}".strip(), k.metadata.num_warps, k.metadata.num_stages,
                                regs, spill, int(k.metadata.shared)))
    return results


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description="compile the triton backend's kernels for an NVIDIA GPU, no GPU needed")
    p.add_argument("--arch", type=int, default=90, help="compute capability x10 (90: H100, 80: A100)")
    p.add_argument("--only", default=None, help="only kernels whose name or label contains one of these (comma-separated)")
    args = p.parse_args(argv)
    if os.environ.get("TRITON_INTERPRET", "0") not in ("", "0"):
        print("aot_check: unset TRITON_INTERPRET (the interpreter's kernels cannot be compiled)")
        return 2
    rows = compile_all(args.arch, args.only)
    print(f"{'kernel':28} {'config':50} warps stages regs spill_B smem_B")
    for r in rows:
        print(f"{r.kernel:28} {r.config:50} {r.num_warps:5} {r.num_stages:6} {r.registers:4} {r.spill_bytes:7} {r.shared_bytes:6}")
    print(f"compiled {len(rows)} kernel configurations for sm_{args.arch}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
