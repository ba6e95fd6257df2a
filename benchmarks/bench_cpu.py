"""CPU engine benchmark: lstmkit ``cpu`` backend vs torch.nn vs the Python cell loop.

Every case runs all its engines in one process, repetitions interleaved
(engine A, B, C, A, B, C, ...), and reports medians, so ratios stay meaningful
on a shared, noisy machine. Prints a table and writes JSON.

    .venv/bin/python benchmarks/bench_cpu.py                      # everything
    .venv/bin/python benchmarks/bench_cpu.py --only lstm,stream   # some groups
    .venv/bin/python benchmarks/bench_cpu.py --quick              # fewer repetitions

Groups: ``lstm``, ``gru``, ``rnn``, ``variants`` (peephole, layernorm),
``lengths`` (variable lengths), ``stream`` (batch-1 steps).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import torch
from torch import nn

import lstmkit
from lstmkit import kernels
from lstmkit.kernels.cpu import call_work
from lstmkit.kernels.cpu.calibrate import (SHAPES, SMALL_SHAPES, infer_fn, layer, measure, shipped_table,
                                           torch_layer, train_fn, update_table)
from lstmkit.kernels.cpu.machine import cpu_name

# the shapes and the measuring code are the package's own, so that `lstmkit calibrate` measures what this
# benchmark measures (lstmkit.kernels.cpu.calibrate)
lk_layer = layer


# -------------------------------------------------------------------- groups
def case(name, kind, shape, mode, engines, reps, budget):
    res = measure(engines, reps, budget_s=budget)
    row = dict(case=name, kind=kind, shape=shape, mode=mode, results=res)
    base = res.get("lstmkit_cpu")
    if base:
        row["speedup_vs"] = {k: v["median_ms"] / base["median_ms"] for k, v in res.items() if k != "lstmkit_cpu"}
    return row


def group_core(kinds, args, ref_shapes=None, shapes=SHAPES):
    rows = []
    for shape_name, s in shapes.items():
        for kind in kinds:
            torch.manual_seed(0)
            x = torch.randn(s["T"], s["B"], s["I"])
            ours = lk_layer(kind, s, "cpu")
            auto = lk_layer(kind, s, "auto")
            auto.load_state_dict(ours.state_dict())
            theirs = torch_layer(kind, s)
            ref = lk_layer(kind, s, "reference")
            ref.load_state_dict(ours.state_dict())
            for mode, mk in (("train", train_fn), ("infer", infer_fn)):
                engines = {"lstmkit_cpu": mk(ours, x), "lstmkit_auto": mk(auto, x)}
                if theirs is not None:
                    engines["torch_nn"] = mk(theirs, x)
                if args.reference and (ref_shapes is None or shape_name in ref_shapes):
                    engines["python_loop"] = mk(ref, x)
                if kind in ("peephole", "layernorm"):  # the plain LSTM on our engine, for the 1.25x target
                    plain = lk_layer("lstm", s, "cpu")
                    engines["lstmkit_cpu_plain_lstm"] = mk(plain, x)
                reps = args.reps if "python_loop" not in engines else max(3, args.reps // 3)
                rows.append(case(f"{kind} {mode} {shape_name}", kind, shape_name, mode, engines, reps, args.budget))
                rows[-1]["work"] = call_work(kind, s["T"], s["B"], list(ours.cells))
                rows[-1]["rows"] = s["T"] * s["B"]
                rows[-1]["steps"] = s["T"]
                print_row(rows[-1])
    return rows


def group_lengths(args):
    rows = []
    for shape_name, s in list(SHAPES.items())[:2]:
        torch.manual_seed(0)
        T, B = s["T"], s["B"]
        x = torch.randn(T, B, s["I"])
        lengths = torch.randint(T // 2, T + 1, (B,))
        lengths[0] = T
        ours = lk_layer("lstm", s, "cpu")
        theirs = torch_layer("lstm", s)
        for mode, mk in (("train", train_fn), ("infer", infer_fn)):
            engines = {
                "lstmkit_cpu": mk(ours, x, lengths),
                "lstmkit_cpu_padded": mk(ours, x),
                "torch_nn_packed": mk(theirs, x, lengths, packed=True),
                "torch_nn_padded": mk(theirs, x),
            }
            rows.append(case(f"lstm lengths[T/2,T] {mode} {shape_name}", "lstm", shape_name, mode, engines,
                             args.reps, args.budget))
            print_row(rows[-1])
    return rows


def group_stream(args):
    """One step of a batch-1 stream (the state carried in, no autograd), 1 and
    2 layers: ``layer.step`` (what users call), the backend's step alone, one
    torch.nn call of one step, and the Python cell loop (``reference``)."""
    rows = []
    for H, L in ((256, 2), (64, 2), (256, 1), (64, 1)):
        I = 128 if H == 256 else 8
        torch.manual_seed(0)
        ours = lstmkit.LSTM(I, H, num_layers=L, backend="cpu").eval()
        theirs = nn.LSTM(I, H, num_layers=L).eval()
        theirs.load_state_dict(ours.state_dict())
        backend = kernels.registry.load_backend("cpu")
        spec = ours.spec()
        cells = list(ours.cells)
        x1 = torch.randn(1, I)
        st = tuple(torch.randn_like(s) * 0.5 for s in ours.init_state(1))
        x3 = x1.unsqueeze(0)
        hx = st
        ref = lstmkit.LSTM(I, H, num_layers=L, backend="reference").eval()
        ref.load_state_dict(ours.state_dict())
        with torch.no_grad():  # the engines compared compute the same step
            want = theirs(x3, hx)[0][0]
            for got in (ours.step(x1, st)[0], backend.step(x1, st, cells, spec)[0], ref.step(x1, st)[0]):
                torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-5)

        def ours_layer():
            with torch.no_grad():
                ours.step(x1, st)

        def ours_backend():
            with torch.no_grad():
                backend.step(x1, st, cells, spec)

        def torch_call():
            with torch.no_grad():
                theirs(x3, hx)

        def ref_layer():
            with torch.no_grad():
                ref.step(x1, st)

        def many(f, n=50):
            def g():
                for _ in range(n):
                    f()
            return g

        engines = {"lstmkit_cpu": many(ours_layer), "lstmkit_cpu_backend_step": many(ours_backend),
                   "torch_nn_call": many(torch_call), "python_loop": many(ref_layer)}
        row = case(f"lstm stream step B=1 H={H} L={L} (x50)", "lstm", f"B1_I{I}_H{H}_L{L}", "stream", engines,
                   args.reps * 2, args.budget)
        for v in row["results"].values():
            v["us_per_step"] = v["median_ms"] * 1e3 / 50
        rows.append(row)
        print_row(rows[-1])
    return rows


def print_row(row):
    res = row["results"]
    base = res.get("lstmkit_cpu", {}).get("median_ms")
    parts = []
    for k, v in res.items():
        ratio = f" ({v['median_ms'] / base:.2f}x)" if base and k != "lstmkit_cpu" else ""
        parts.append(f"{k}={v['median_ms']:.2f}ms{ratio}")
    print(f"{row['case']:<48} " + "  ".join(parts), flush=True)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", default="lstm,gru,rnn,variants,lengths,stream")
    ap.add_argument("--reps", type=int, default=9)
    ap.add_argument("--budget", type=float, default=40.0, help="seconds per case before stopping early")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--no-reference", dest="reference", action="store_false", help="skip the Python cell loop")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--json", default="benchmarks/out/bench_cpu.json")
    ap.add_argument("--write-auto-table", action="store_true",
                    help="store the measured cpu-vs-torch.nn ratios for auto in this machine's table "
                         "(src/lstmkit/kernels/cpu/auto_tables/)")
    ap.add_argument("--merge", action="store_true",
                    help="with --write-auto-table: keep, per entry, the lower of this run's ratio and the one "
                         "already stored for this thread count (run the benchmark more than once: the same "
                         "torch.nn call moves by several per cent between runs, and auto should take the worst)")
    args = ap.parse_args(argv)
    if args.quick:
        args.reps, args.budget = 5, 15.0
    torch.set_num_threads(args.threads)
    groups = args.only.split(",")
    load_before = os.getloadavg()
    print(f"torch {torch.__version__}, {args.threads} threads, {platform.processor() or platform.machine()}, "
          f"medians of interleaved repetitions (ratio = engine time / lstmkit_cpu time); "
          f"load average {load_before[0]:.2f} {load_before[1]:.2f} {load_before[2]:.2f}")
    rows = []
    plain_shapes = {**SHAPES, **SMALL_SHAPES}
    if "lstm" in groups:
        rows += group_core(["lstm"], args, shapes=plain_shapes)
    if "gru" in groups:
        rows += group_core(["gru"], args, shapes=plain_shapes)
    if "rnn" in groups:
        rows += group_core(["rnn_tanh", "rnn_relu"], args, ref_shapes=["small_T48_B32_I8_H64_L2"], shapes=plain_shapes)
    if "variants" in groups:
        rows += group_core(["peephole", "layernorm"], args)
    if "lengths" in groups:
        rows += group_lengths(args)
    if "stream" in groups:
        rows += group_stream(args)
    meta = dict(command=" ".join([Path(sys.executable).name, *sys.argv]), torch=torch.__version__,
                threads=args.threads, machine=platform.machine(), cpu=cpu_name(), nproc=os.cpu_count(),
                time=time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
                loadavg_before=load_before, loadavg_after=os.getloadavg())
    print(f"load average after: {' '.join(f'{v:.2f}' for v in meta['loadavg_after'])}")
    out = Path(args.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(dict(meta=meta, rows=rows), indent=1))
    print(f"wrote {out}")
    if args.write_auto_table:
        write_auto_table(rows, meta, args.merge)


def write_auto_table(rows, meta, merge: bool = False) -> None:
    """For each plain cell and mode, the measured points ``[work, ratio, rows, steps]``
    of torch.nn's time to the cpu engine's, one per shape (``rows`` = T*B), at
    this thread count, stored in this machine's table in
    ``src/lstmkit/kernels/cpu/auto_tables/`` (a table of another machine is
    started anew, never merged): what ``auto`` reads to choose between them
    (``lstmkit.kernels.cpu.auto_ratio``: a call is judged by the measured shapes
    around its size; below 1: torch.nn). With ``merge``, per shape the lower of
    this run's ratio and the stored one. Cells and modes this run did not
    measure (``--only``) keep their stored points."""
    points: dict[str, list[list[float]]] = {}
    for row in rows:
        res = row["results"]
        if "torch_nn" not in res or "lstmkit_cpu" not in res or "lengths" in row["case"] or "work" not in row:
            continue
        ratio = round(res["torch_nn"]["median_ms"] / res["lstmkit_cpu"]["median_ms"], 3)
        points.setdefault(f"{row['kind']} {row['mode']}", []).append([row["work"], ratio, row.get("rows", 0),
                                                                    row.get("steps", 0)])
    path = shipped_table()
    run = f"{meta['command']} on {meta['cpu']}, {meta['time']}, load average {meta['loadavg_before'][0]:.2f}"
    note = update_table(path, meta["threads"], run, merge, points=points)
    if note:
        print(note)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
