"""Measuring the CPU engine against torch.nn: the tables ``auto`` reads.

``auto`` hands a plain full-length call (what torch.nn's own kernels run) to
this engine only where it was measured at least ``AUTO_MARGIN`` faster than
torch.nn on this machine. The measurements live in JSON tables, one per
machine (:mod:`.machine`), each holding for every thread count:

* ``threads``: per cell and mode (``"lstm train"``), the points
  ``[work, torch.nn / cpu time, rows, steps]`` of the shapes :data:`SHAPES` and
  :data:`SMALL_SHAPES` (read by :func:`lstmkit.kernels.cpu.auto_ratio`), and
  the same calls without autograd with variable lengths against torch.nn's
  packed call (``"lstm infer lengths"``), and both again in float64
  (``"lstm train float64"``, ``"lstm infer lengths float64"``: the engine's
  float64 loops and torch's float64 kernels stand in another relation than
  in float32, and a float32 point said nothing of them);
* ``narrow``: the grid of long calls with few rows per step,
  ``[T, B, H, torch.nn / cpu time]`` with ``I = H`` and
  ``[T, B, H, torch.nn / cpu time, I]`` with a narrow input ``I``
  (:data:`GRID_NARROW_I`; :func:`lstmkit.kernels.cpu.narrow_ratio`);
* ``measured`` / ``narrow_measured``: the runs the ratios came from.

The tables shipped with the package (``auto_tables/``) were written by
``benchmarks/bench_cpu.py --write-auto-table`` and
``benchmarks/bench_auto_grid.py --write`` on the machines the project was
measured on. On any other machine ``lstmkit calibrate`` runs
:func:`calibrate`: the same measurements, a few minutes per thread count,
stored in the user cache next to the compiled engine
(:func:`calibrated_table`). Every case runs both engines in one process,
repetitions interleaved, and keeps medians, so a loaded machine moves both
sides of a ratio alike.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Callable, Iterable

import torch
from torch import nn

from . import _build, machine

#: the benchmark's main shapes: the issue's two plain-LSTM targets and a small two-layer stack
SHAPES = {
    "T100_B64_I128_H256": dict(T=100, B=64, I=128, H=256, L=1),
    "T256_B32_I64_H512": dict(T=256, B=32, I=64, H=512, L=1),
    "small_T48_B32_I8_H64_L2": dict(T=48, B=32, I=8, H=64, L=2),
}
#: smaller calls, for the plain cells' rows only: what ``auto`` needs to know
#: of the engine's fixed cost per call (a forecaster's window, a short batch)
SMALL_SHAPES = {
    "tiny_T12_B8_I8_H32": dict(T=12, B=8, I=8, H=32, L=1),
    "window_T24_B32_I1_H32": dict(T=24, B=32, I=1, H=32, L=1),
}


def steps_of_rows(rows: float) -> int:
    """The steps ``T`` of the measured shape with ``rows`` rows (``T * B``), 0
    if none has: what a table point measured before points carried their steps
    (2026-12-03) stands for (the shapes' rows are all different)."""
    return next((s["T"] for s in (*SHAPES.values(), *SMALL_SHAPES.values()) if s["T"] * s["B"] == rows), 0)


#: the cells torch.nn also runs, whose plain calls ``auto`` chooses by measurement
TABLE_KINDS = ("lstm", "gru", "rnn_tanh", "rnn_relu")
#: the grid of long, narrow calls: steps, rows per step, hidden sizes, in two
#: planes of input sizes: ``I = H`` and ``I = GRID_NARROW_I``
GRID_T = (100, 400)
#: Rows per step up to 32 since 2026-12-03: the table's nearest shape to an
#: anomaly detector's training call (T260 B32 I1 H64, 2 layers) was T48 B32 I8
#: H64 L2 at 0.91x, which kept it on torch.nn, while the engine ran it at
#: 1.23x (and the whole fit 1.21x faster); tables without these rows judge
#: such calls as before (a corner never measured: the grid does not speak)
GRID_B = (1, 2, 4, 8, 16, 32)
#: H = 64 since 2026-12-04: between 32 and 128 a call was judged by the lower
#: corner, and at H = 128 the engine only ties torch.nn (Zen 3: 1.00-1.04x
#: training) where at H = 64 it leads (the anomaly detector's T260 B32 I1 H64
#: training, 1.2x end to end, stayed on torch.nn)
GRID_H = (32, 64, 128, 512)
#: the grid's narrow-input plane (a few features, as in most time series).
#: Until 2026-12-02 the grid had the ``I = H`` plane alone and judged every call
#: with ``I <= H`` by it; on the AMD EPYC (Zen 3) machine that chose the engine
#: for an LSTM inference at T160 B7 I64 H448 on 2 threads where it was slower
#: (``benchmarks/RESULTS.md``)
GRID_NARROW_I = 8
GRID_KINDS = ("lstm", "gru", "rnn_tanh")
MODES = ("train", "infer")
#: the tables measured on the project's machines, one file per machine
SHIPPED = Path(__file__).with_name("auto_tables")


# ------------------------------------------------------------------ engines
def layer(kind: str, s: dict, backend: str) -> nn.Module:
    """An lstmkit layer of cell ``kind`` and shape ``s`` on ``backend``."""
    import lstmkit

    common = dict(num_layers=s["L"], backend=backend)
    if kind in ("lstm", "peephole", "layernorm"):
        return lstmkit.LSTM(s["I"], s["H"], cell=kind, **common)
    if kind == "gru":
        return lstmkit.GRU(s["I"], s["H"], **common)
    return lstmkit.RNN(s["I"], s["H"], nonlinearity=kind.split("_")[1], **common)


def torch_layer(kind: str, s: dict) -> nn.Module | None:
    """torch.nn's layer for ``kind`` (``None`` where torch has none)."""
    if kind == "lstm":
        return nn.LSTM(s["I"], s["H"], num_layers=s["L"])
    if kind == "gru":
        return nn.GRU(s["I"], s["H"], num_layers=s["L"])
    if kind.startswith("rnn"):
        return nn.RNN(s["I"], s["H"], num_layers=s["L"], nonlinearity=kind.split("_")[1])
    return None


def train_fn(module: nn.Module, x, lengths=None, packed: bool = False) -> Callable[[], None]:
    """One training call: forward, sum, backward (gradients cleared first)."""
    params = list(module.parameters())

    def f():
        for p in params:
            p.grad = None
        if packed:
            inp = nn.utils.rnn.pack_padded_sequence(x, lengths, enforce_sorted=False)
            out, _ = module(inp)
            out, _ = nn.utils.rnn.pad_packed_sequence(out, total_length=x.shape[0])
        elif lengths is not None:
            out, _ = module(x, lengths=lengths)
        else:
            out, _ = module(x)
        out.sum().backward()

    return f


def infer_fn(module: nn.Module, x, lengths=None, packed: bool = False) -> Callable[[], None]:
    """One call without autograd."""
    def f():
        with torch.no_grad():
            if packed:
                module(nn.utils.rnn.pack_padded_sequence(x, lengths, enforce_sorted=False))
            elif lengths is not None:
                module(x, lengths=lengths)
            else:
                module(x)

    return f


#: a repetition times each engine over consecutive calls lasting at least this
#: long (at most :data:`BLOCK_CALLS` calls), as a training loop or a stream
#: calls it. Until 2026-12-03 each repetition timed one call per engine: on a
#: small training call (T12 B8 H32, ~0.35 ms) every call then started in the
#: caches the other engine had just left, and the table read the engine at
#: 0.97-0.99x of torch.nn on one thread where blocks of ten consecutive calls,
#: and the tasks made of such calls, read it at 1.09-1.19x
#: (``benchmarks/RESULTS.md``, 2026-12-03)
BLOCK_MS = 5.0
BLOCK_CALLS = 50


def measure(fns: dict, reps: int, warmup: int = 2, budget_s: float | None = None,
            block_ms: float = BLOCK_MS) -> dict:
    """Interleaved repetitions of blocks of calls; per engine the median, min
    and max in ms per call, ``n`` blocks of ``calls`` calls each.

    A block is as many consecutive calls of one engine as last ``block_ms``
    (judged by the slowest engine's last warm-up call, the same count for
    every engine, at most :data:`BLOCK_CALLS`; one call for anything slower):
    a block's first call pays for the caches another engine left, the rest
    run as a loop of such calls runs. Each repetition starts one engine later
    than the last (A B C, B C A, C A B, ...), so that first-call cost does not
    fall on the same engine every time (with a fixed order ``lstmkit_auto``
    handing a tiny call to torch's kernel right after the ``cpu`` engine read
    up to 7 % slower than ``torch_nn``, the same kernel, right after it).
    Stops after ``budget_s`` seconds once three repetitions are in."""
    slowest = 0.0
    for f in fns.values():
        for _ in range(max(warmup, 1)):
            t = time.perf_counter()
            f()
        slowest = max(slowest, time.perf_counter() - t)
    calls = max(1, min(BLOCK_CALLS, int(block_ms / 1e3 / slowest))) if slowest > 0 else BLOCK_CALLS
    times = {k: [] for k in fns}
    names = list(fns)
    start = time.perf_counter()
    for r in range(reps):
        for k in names[r % len(names):] + names[:r % len(names)]:
            f = fns[k]
            t = time.perf_counter()
            for _ in range(calls):
                f()
            times[k].append((time.perf_counter() - t) * 1e3 / calls)
        if budget_s and time.perf_counter() - start > budget_s and r >= 2:
            break
    out = {}
    for k, v in times.items():
        v = sorted(v)
        out[k] = dict(median_ms=statistics.median(v), min_ms=v[0], max_ms=v[-1], n=len(v), calls=calls)
    return out


def _ratio(res: dict, ours: str = "cpu", theirs: str = "torch_nn") -> float:
    return round(res[theirs]["median_ms"] / res[ours]["median_ms"], 3)


# ---------------------------------------------------------------- measuring
def table_cases(kinds: Iterable[str] = TABLE_KINDS, shapes: dict | None = None) -> list[tuple[str, str, dict]]:
    """The table's cases in the order they are measured: ``(kind, shape name, shape)``."""
    shapes = {**SHAPES, **SMALL_SHAPES} if shapes is None else shapes
    return [(kind, name, s) for name, s in shapes.items() for kind in kinds]


def grid_cases(kinds: Iterable[str] = GRID_KINDS, hidden: Iterable[int] | None = None) -> list[tuple[str, int, int, int, int]]:
    """The grid's cases: ``(kind, T, B, H, I)``, both input planes (``hidden``: these of ``GRID_H`` only)."""
    hs = GRID_H if hidden is None else tuple(hidden)
    return [(kind, T, B, H, I) for kind in kinds for T in GRID_T for B in GRID_B for H in hs
            for I in (H, GRID_NARROW_I)]


def sample_lengths(T: int, B: int) -> torch.Tensor:
    """The lengths a measurement with lengths uses: uniform in ``[T/2, T]``, the first row full."""
    lengths = torch.randint(T // 2, T + 1, (B,), generator=torch.Generator().manual_seed(0))
    lengths[0] = T
    return lengths


#: the suffix of a table key measured in float64 (:func:`dtype_key`)
FLOAT64_SUFFIX = " float64"


def dtype_key(key: str, dtype: torch.dtype) -> str:
    """``key`` (``"lstm train"``) for calls in ``dtype``: float32 as it is,
    float64 with :data:`FLOAT64_SUFFIX`."""
    return key + FLOAT64_SUFFIX if dtype == torch.float64 else key


def measure_table(kinds: Iterable[str] = TABLE_KINDS, reps: int = 5, budget: float = 15.0,
                  on_case: Callable[[str, float], None] | None = None,
                  shapes: dict | None = None, lengths: bool = False,
                  dtype: torch.dtype = torch.float32) -> dict[str, list[list[float]]]:
    """Per key (``"lstm train"``), the points ``[work, torch.nn / cpu, rows, steps]``
    of every shape, both modes, at the current thread count. With
    ``lengths``, the same calls without autograd with variable lengths
    (:func:`sample_lengths`) against torch.nn's packed call instead, under
    the keys ``"lstm infer lengths"``: training with lengths is left out, the
    engine led torch.nn's packed training by 2.9-7.4x at every shape on both
    machines measured (``benchmarks/RESULTS.md``), and it costs most of the
    time. With ``dtype`` float64 the layers and inputs are float64 and the
    keys end in :data:`FLOAT64_SUFFIX`. ``on_case`` gets a label and the
    ratio after each case."""
    from . import call_work

    points: dict[str, list[list[float]]] = {}
    for kind, name, s in table_cases(kinds, shapes):
        torch.manual_seed(0)
        x = torch.randn(s["T"], s["B"], s["I"], dtype=dtype)
        ours, theirs = layer(kind, s, "cpu").to(dtype), torch_layer(kind, s).to(dtype)
        work = call_work(kind, s["T"], s["B"], list(ours.cells))
        lens = sample_lengths(s["T"], s["B"]) if lengths else None
        for mode in ("infer",) if lengths else MODES:
            fn = train_fn if mode == "train" else infer_fn
            engines = {"cpu": fn(ours, x, lens), "torch_nn": fn(theirs, x, lens, packed=lengths)}
            ratio = _ratio(measure(engines, reps, budget_s=budget))
            key = dtype_key(f"{kind} {mode}" + (" lengths" if lengths else ""), dtype)
            points.setdefault(key, []).append([work, ratio, s["T"] * s["B"], s["T"]])
            if on_case:
                on_case(f"{key} {name}", ratio)
    return {k: sorted(v) for k, v in points.items()}


def measure_grid(kinds: Iterable[str] = GRID_KINDS, reps: int = 7, budget: float = 3.0,
                 on_case: Callable[[str, float], None] | None = None,
                 hidden: Iterable[int] | None = None) -> dict[str, list[list[float]]]:
    """Per key, the grid points of one-layer calls: ``[T, B, H, torch.nn / cpu]``
    with ``I = H``, ``[T, B, H, torch.nn / cpu, I]`` with the narrow input
    (``hidden``: only these hidden sizes, to add a plane to a stored grid)."""
    points: dict[str, list[list[float]]] = {}
    for kind, T, B, H, I in grid_cases(kinds, hidden):
        torch.manual_seed(0)
        s = dict(T=T, B=B, I=I, H=H, L=1)
        x = torch.randn(T, B, I)
        ours, theirs = layer(kind, s, "cpu"), torch_layer(kind, s)
        for mode in MODES:
            fn = train_fn if mode == "train" else infer_fn
            ratio = _ratio(measure({"cpu": fn(ours, x), "torch_nn": fn(theirs, x)}, reps, budget_s=budget))
            points.setdefault(f"{kind} {mode}", []).append([T, B, H, ratio] + ([I] if I != H else []))
            if on_case:
                on_case(f"{kind} {mode} T{T} B{B} I{I} H{H}", ratio)
    return points


# ------------------------------------------------------------------- tables
def shipped_table(fp: dict | None = None) -> Path:
    """The file in ``auto_tables/`` for the machine ``fp`` (this one by default)."""
    fp = machine.fingerprint() if fp is None else fp
    vendor = {"GenuineIntel": "intel", "AuthenticAMD": "amd"}.get(fp.get("vendor", ""), fp.get("vendor", "cpu"))
    parts = [vendor, fp.get("family", ""), fp.get("model", ""), fp.get("isa", ""), "torch" + fp.get("torch", "")]
    return SHIPPED / ("-".join(p.lower().replace(" ", "_") for p in parts if p) + ".json")


def calibrated_table() -> Path:
    """Where ``lstmkit calibrate`` keeps this machine's table: the per-user
    cache folder of the compiled engine, which is already keyed by the torch
    and Python versions and the processor."""
    return _build.cache_dir() / "auto_table.json"


def read_table(path: Path) -> tuple[dict, str | None]:
    """The table at ``path`` to add to, and a note where it starts anew: a
    table of another machine is replaced, not merged (its ratios say
    nothing of this one)."""
    here = machine.fingerprint()
    fresh = {"machine": here, "threads": {}}
    try:
        table = json.loads(Path(path).read_text())
    except FileNotFoundError:
        return fresh, None
    except (OSError, ValueError) as exc:
        return fresh, f"{path} could not be read ({exc}); starting a new table"
    if not isinstance(table, dict) or not machine.same_machine(table.get("machine"), here):
        recorded = table.get("machine") if isinstance(table, dict) else None
        was = machine.describe(recorded) if isinstance(recorded, dict) else "an unrecorded machine"
        return fresh, f"{path} was measured on {was}, not this machine; starting a new table"
    table["machine"] = here
    table.setdefault("threads", {})
    return table, None


def _log_run(table: dict, field: str, threads: str, run: str, keep: bool) -> None:
    runs = table.setdefault(field, {})
    before = runs.get(threads, [])
    runs[threads] = [*(before if isinstance(before, list) else [before]), run] if keep else [run]


def store_points(table: dict, threads: int, points: dict[str, list[list[float]]], run: str,
                 merge: bool = False) -> None:
    """Stores a run's table points for ``threads`` (the keys it measured
    replace the stored ones, the others are kept); with ``merge``, per shape
    the lower of the stored and the new ratio (the same torch.nn call moves by
    several per cent between runs, and ``auto`` should take the worst)."""
    t = str(threads)
    stored = table.setdefault("threads", {}).get(t, {})
    fresh = {}
    for key, new in points.items():
        before = stored.get(key)
        old = {p[0]: p[1] for p in before} if merge and isinstance(before, list) else {}
        fresh[key] = sorted([p[0], min(p[1], old.get(p[0], p[1])), *p[2:]] for p in new)
    kept = {k: v for k, v in stored.items() if k not in fresh}
    table["threads"][t] = dict(sorted({**kept, **fresh}.items()))
    _log_run(table, "measured", t, run, keep=bool(merge or kept))


def store_grid(table: dict, threads: int, points: dict[str, list[list[float]]], run: str,
               merge: bool = False) -> None:
    """Stores a run's grid points for ``threads`` as :func:`store_points` does;
    with ``merge`` the stored points the run did not measure are kept (a run of
    one more hidden size adds its plane to the grid)."""
    from . import grid_point_key

    t = str(threads)
    grid = table.setdefault("narrow", {}).setdefault(t, {})
    for key, new in points.items():
        old = {grid_point_key(p): p for p in grid.get(key, [])} if merge else {}
        fresh = [[*p[:3], min(p[3], old[grid_point_key(p)][3]) if grid_point_key(p) in old else p[3], *p[4:]]
                 for p in new]
        measured = {grid_point_key(p) for p in new}
        grid[key] = fresh + [p for k, p in old.items() if k not in measured]
    table["narrow"][t] = dict(sorted(grid.items()))
    _log_run(table, "narrow_measured", t, run, keep=merge)


def write_table(path: Path, table: dict) -> None:
    """Writes ``table`` to ``path`` whole or not at all (a reader never sees half a file)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(table, indent=1) + "\n")
    os.replace(tmp, path)


def update_table(path: Path, threads: int, run: str, merge: bool = False,
                 points: dict[str, list[list[float]]] | None = None,
                 grid: dict[str, list[list[float]]] | None = None) -> str | None:
    """Stores a run's table ``points`` and/or ``grid`` points for ``threads``
    in the table at ``path`` (:func:`store_points`, :func:`store_grid`) and
    writes it; returns :func:`read_table`'s note where the file started anew."""
    table, note = read_table(path)
    if points is not None:
        store_points(table, threads, points, run, merge)
    if grid is not None:
        store_grid(table, threads, grid, run, merge)
    write_table(path, table)
    return note


def run_line(command: str, threads: int) -> str:
    """How a run is recorded in a table: command, threads, machine, time and load."""
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (f"{command} ({threads} threads) on {machine.cpu_name()}, "
            f"{time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())}, load average {load:.2f}")


def calibrate(threads: Iterable[int] = (1, 2), path: Path | None = None, reps: int = 5, budget: float = 15.0,
              grid: bool = True, on_case: Callable[[str, float], None] | None = None,
              command: str | None = None, float64_only: bool = False) -> Path:
    """Measures this machine's table for each thread count in ``threads`` and
    writes it to ``path`` (:func:`calibrated_table` by default), then makes
    ``auto`` read it. With ``float64_only``, only the float64 points, the
    rest of the table kept (a table measured before it had them). Restores
    the thread count it found."""
    from . import reload_auto_table

    path = calibrated_table() if path is None else Path(path)
    command = command or " ".join([Path(sys.argv[0]).name, *sys.argv[1:]])
    table, _ = read_table(path)
    before = torch.get_num_threads()

    def float64_points(n: int) -> None:  # both modes, then inference with lengths
        for lengths in (False, True):
            store_points(table, n, measure_table(reps=reps, budget=budget, on_case=on_case, lengths=lengths,
                                                 dtype=torch.float64),
                         run_line(command + (" (float64, lengths)" if lengths else " (float64)"), n))

    try:
        for n in threads:
            torch.set_num_threads(n)
            if float64_only:
                float64_points(n)
                write_table(path, table)
                continue
            # a calibration replaces all it measures for this thread count: points and run log
            table["threads"].pop(str(n), None)
            table.get("measured", {}).pop(str(n), None)
            if grid:
                table.get("narrow", {}).pop(str(n), None)
                table.get("narrow_measured", {}).pop(str(n), None)
            store_points(table, n, measure_table(reps=reps, budget=budget, on_case=on_case), run_line(command, n))
            store_points(table, n, measure_table(reps=reps, budget=budget, on_case=on_case, lengths=True),
                         run_line(command + " (lengths)", n))
            float64_points(n)
            if grid:
                store_grid(table, n, measure_grid(on_case=on_case), run_line(command, n))
            write_table(path, table)  # a run stopped later keeps what is done
    finally:
        torch.set_num_threads(before)
    reload_auto_table()
    return path
