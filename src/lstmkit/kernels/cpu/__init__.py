"""The fast CPU engine: whole sequences in a few large products and fused C++ loops.

For every cell of the core (``lstm``, ``peephole``, ``layernorm``, ``gru``,
``rnn_tanh``, ``rnn_relu``), one layer and direction runs as:

1. the input projection of all ``T`` steps as one oneDNN product
   (``lstmkit::project_in``, with its own backward);
2. the time loop in C++ (``csrc/recurrence.cpp``, compiled on first use and
   cached): per step one recurrent product (oneDNN with the weight packed
   once per call; ``torch.mm`` for small products and float64), and every
   pointwise operation of the step (gates, layer norms, peepholes, zoneout,
   the length mask) fused into one vectorised pass per batch row;
3. the backward loop in reverse, again one product per step, then every
   parameter gradient as one product or reduction over all steps
   (:mod:`.functions`).

A plain LSTM layer (no projection, hidden-state dropout, zoneout or gate
traces) runs step 2 and 3 in the fused loop of ``csrc/lstm_fused.cpp``
instead (:mod:`.fused`): the recurrent product and the gate math in one
register tile, no per-step product call and no ``(B, 4H)`` intermediate;
when the batch shares the weights well enough the tile computes the input
projection too (step 1 then writes nothing). A
layer-norm LSTM layer under the same conditions, with a hidden size that
fills the vector lanes exactly, runs on the same tiles (:mod:`.fused_ln`):
the products per step (the input projection's too, under the plain loop's
rule, as a second product beside the recurrent one), then the norms and the
gates per batch row.

Each of these is a PyTorch operator (``torch.ops.lstmkit.*``, :mod:`.ops`)
with a fake kernel, an autograd formula and a vmap rule, so torch.export,
torch.compile and torch.func see one operator per layer and direction. In
plain eager work (no compile, transform, mode, profiler, autocast or tensor
subclass) a layer calls the operators' implementations directly, past the
dispatcher's Python layers (``ops._direct_ok``): the same functions, without
~10-20 us of dispatch per call.

Streaming steps (``step``) of up to 8 rows without autograd run the whole
stack in one C++ call (``StreamStep``): per layer, each thread takes a fixed
share of the hidden units and computes their gate rows of both products and
their state update in one pass over the weights. Where the stack's weights
outgrow the L2 of the threads that read them, the walk turns at every call
and the layers above the first take their two products in separate passes,
so that each step starts with the rows the last one read last.

``auto`` uses this backend on CPU except for plain full-length configurations
(what torch.nn's own kernels run) where the measurements of this machine did
not find it at least 8 % faster than torch.nn at both measured shapes around
the call's size (``AUTO_MARGIN``, :func:`auto_ratio`), or where the call has
fewer rows (``T * B``) or fewer steps than the lower of those shapes
(:func:`auto_covers`): the engine's fixed cost per call is spread over the
call's rows, and its lead is in the work of each step. Long calls
with few rows per step, which those shapes (32 or more rows per step) do not
speak for, are judged by a grid of such calls (:func:`narrow_ratio`): the
engine where every corner of the call's grid cell was 8 % ahead.

The measurements are tables of one machine each (:mod:`.calibrate`,
:mod:`.machine`), read in this order: the file ``$LSTMKIT_AUTO_TABLE`` names
(taken as it is); the table ``lstmkit calibrate`` measured here (in the user
cache); the tables shipped in ``auto_tables/``, measured by
``benchmarks/bench_cpu.py --write-auto-table`` and
``benchmarks/bench_auto_grid.py --write`` on the project's machines. Only a
table recorded on the same kind of processor, vector extensions and torch
release line counts; on a machine none of them speaks for, plain calls go to
torch.nn (by definition never slower than itself) and the reason names
``lstmkit calibrate``. See ``benchmarks/RESULTS.md``.
Float32 sigmoid/tanh use polynomial
approximations with absolute error ~1e-7; float64 uses libm. On first use the
backend raises glibc's ``mallopt`` thresholds so freed activations are
reused instead of page-faulted in again (``LSTMKIT_CPU_NO_MALLOPT=1`` opts out).

Variable lengths are handled by masking the state updates (padded steps keep
the state, emit zeros and get no gradient), so a batch costs what its longest
sequence costs, with no packing. Layers, directions and the masks of the
regularisers come from the shared :func:`~lstmkit.kernels.base.run_stack`
driver, so this backend draws the same masks as the reference.

If the extension cannot be built, asking for ``backend="cpu"`` warns once
with the reason and runs the reference loop; ``auto`` then passes over this
backend.
"""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path
from typing import NamedTuple, Sequence

import torch
from torch import Tensor

from ...cells import GRUCell, LayerNormLSTMCell, LSTMCell, PeepholeLSTMCell, RNNCell
from ...cells.base import Cell, State
from ..base import Backend, LayerResult, parameter_pointers, run_stack, step_mask
from ..spec import LayerRegularisers, RecurrenceSpec
from . import _build, machine
from .functions import LoopConfig, gru_loop, lstm_loop, rnn_loop
from .fused import fused_applies, fused_lstm_layer
from .fused_ln import fused_ln_applies, fused_ln_lstm_layer
from .ops import project_in

#: the cell classes whose ``step`` the C++ loops implement, by kind
_CELLS: dict[str, type[Cell]] = {
    "lstm": LSTMCell,
    "peephole": PeepholeLSTMCell,
    "layernorm": LayerNormLSTMCell,
    "gru": GRUCell,
    "rnn_tanh": RNNCell,
    "rnn_relu": RNNCell,
}
_DTYPES = (torch.float32, torch.float64)

#: the tables measured on the project's machines, one per machine
#: (:func:`.calibrate.shipped_table`); what ``auto`` reads is :func:`auto_table_status`
AUTO_TABLES = Path(__file__).with_name("auto_tables")
#: how far ahead of torch.nn the engine must have been for ``auto`` to take
#: it: the same torch.nn call moves by several per cent between runs of the
#: benchmark on a shared machine (``benchmarks/RESULTS.md``), so 1.00-1.04x is
#: a tie that another run reads as a loss; and a call between two measured
#: shapes is only judged by them. Until 2026-12-03 the bar was 1.05: on the
#: Intel table, tanh RNN calls with hidden sizes 43 and 54 between two shapes
#: that read 1.05x and 1.07x ran at 0.91-0.92x of torch.nn, and one at 0.95x
#: beside a 1.07x shape (held-out sets a-h, ``benchmarks/bench_auto_check.py``).
#: At 1.08, with the steps rule of :func:`auto_covers`, none of those sets'
#: calls went to a slower engine; the calls the two gave back to torch.nn had
#: run 0.67-1.44x on the engine
AUTO_MARGIN = 1.08
#: per thread count and key (``"lstm train"``), the measured points
#: ``[work, ratio, rows, steps]`` (``[work, ratio, rows]`` or ``[work, ratio]``
#: in older tables; :func:`point_steps`) sorted by
#: work (:func:`call_work`; :func:`auto_points`); a bare number is a ratio for
#: every size
_ratios: dict[str, dict[str, list[list[float]]]] | None = None
#: per thread count and key, the grid of long, narrow calls measured by
#: ``benchmarks/bench_auto_grid.py``: points ``[T, B, H, ratio]`` of one layer
#: with ``I = H`` and ``[T, B, H, ratio, I]`` with a narrow input (:func:`narrow_ratio`)
_narrow: dict[str, dict[str, list[list[float]]]] | None = None
#: where the tables in use came from (a path), or why there are none
_source: str = ""
#: ``(ratios, reason)`` while no table speaks for this machine: the reason
#: plain calls go to torch.nn, tied to the (empty) ratios object it was read
#: with, so that a table put in its place by hand is judged by its points
_unmeasured: tuple | None = None
_GATES = {"lstm": 4, "peephole": 4, "layernorm": 4, "gru": 3, "rnn_tanh": 1, "rnn_relu": 1}


def call_work(kind: str, T: int, B: int, cells: Sequence[Cell]) -> float:
    """The multiply-adds of one call's products, ``T B sum_cells gates H (I +
    H)``: the size by which ``auto`` compares a call with the measured shapes
    (the engine's fixed cost per call weighs less the more work it carries)."""
    return _work(kind, T, B, tuple((c.input_size, c.hidden_size) for c in cells))


def _work(kind: str, T: int, B: int, sizes: Sequence[tuple[int, int]]) -> float:
    """:func:`call_work` from the layers' ``(I, H)``."""
    return float(T * B * sum(_GATES[kind] * h * (i + h) for i, h in sizes))


class AutoEvidence(NamedTuple):
    """What the table says of the engine for one call (:func:`auto_ratio`)."""

    #: the lower measured ``torch.nn / cpu`` time ratio of the shapes that judge the call
    ratio: float
    #: the work (:func:`call_work`) of the first of those shapes
    from_work: float
    #: that shape's rows (``T * B``); 0 where the table does not say
    from_rows: float
    #: that shape's steps ``T``; 0 where the table does not say (:func:`point_steps`)
    from_steps: float = 0.0


def _tables() -> tuple[dict, dict]:
    """The table of measured shapes and the grid of long, narrow calls, read
    from the table of this machine (:func:`_load_auto_table`) the first time they
    are needed."""
    if _ratios is None or _narrow is None:
        _load_auto_table()
    return _ratios, _narrow


def _at_threads(table: dict, key: str):
    """``table``'s entry for ``key`` at this thread count (the nearest
    measured one), ``None`` if the table or the key is missing."""
    if not table:
        return None
    threads = torch.get_num_threads()
    return table[min(table, key=lambda t: (abs(int(t) - threads), int(t)))].get(key)


def auto_points(key: str) -> list[list[float]] | None:
    """The table's measured points for ``key`` (``"lstm train"``) at this
    thread count (the nearest measured one), sorted by work: ``[work, ratio]``
    or ``[work, ratio, rows]``; ``None`` if never measured."""
    return _at_threads(_ratios if _ratios is not None else _load_auto_table(), key)


def auto_ratio(key: str, work: float = float("inf")) -> AutoEvidence | None:
    """What ``auto`` knows of the engine for a call of ``work`` (:func:`call_work`)
    at this thread count (the nearest measured one): the lower measured
    ``torch.nn / cpu`` time ratio of the two measured shapes around the call's
    size (the largest one not above it and the next; the nearest one alone
    below or above them all, or where the call has a measured shape's
    size), with the work and rows of the lower one;
    ``None`` if never measured. That evidence holds for calls with at least
    as many rows as its lower shape (:func:`auto_covers`).

    Until 2026-12-01 a call was judged by every measured shape from its size
    up, on the reasoning that the engine's fixed cost per call is what loses
    small calls. The ratios are not monotone in size, though: the tanh RNN's
    training, 1.2-1.7x up to T48 B32 H64, reads ~1.0x at T100 B64 H256 and
    1.3-1.5x above, and that one shape kept every smaller call on torch.nn.
    Judged by its neighbours alone, with the rows rule, the held-out set f
    (drawn before the rule ran on it) moved 5 (1 thread) and 8 (2 threads)
    calls to the engine at 1.14-2.18x, and none of sets a-f chose the engine
    where it was more than 5 % slower (``benchmarks/bench_auto_check.py``,
    ``benchmarks/RESULTS.md``). Without the rows rule the same neighbours
    chose slower engines in 5-12 of 42 calls per run."""
    points = auto_points(key)
    if points is None:
        return None
    below = [i for i, p in enumerate(points) if p[0] <= work]
    start = below[-1] if below else 0
    first = points[start]
    # a call of a measured shape's size is judged by that shape alone
    near = points[start:start + 2] if below and first[0] < work else [first]
    return AutoEvidence(min(p[1] for p in near), first[0], first[2] if len(first) > 2 else 0.0, point_steps(first))


def point_steps(point: Sequence[float]) -> float:
    """A table point's steps ``T``: its fourth value, or, in tables measured
    before 2026-12-03 (``[work, ratio, rows]``), the steps of the measured
    shape with those rows (:data:`.calibrate.SHAPES`, :data:`.calibrate.SMALL_SHAPES`);
    0 where neither says (no steps asked of a call)."""
    if len(point) > 3:
        return point[3]
    from .calibrate import steps_of_rows

    return float(steps_of_rows(point[2])) if len(point) > 2 else 0.0


def auto_covers(evidence: AutoEvidence, rows: int, steps: int | None = None) -> bool:
    """Whether ``evidence`` speaks for a call of ``rows`` rows (``T * B``) and
    ``steps`` steps (``T``; ``None``: not asked). The engine packs its weights
    and pays its other fixed costs once per call and spreads them over the
    call's rows, so a shape won with more rows says nothing of a call with
    fewer (measured off the table's grid, ``benchmarks/bench_auto_check.py``:
    calls of 2 to 128 rows ran at 0.47-0.88x of torch.nn where their work
    alone had chosen the engine). Nor does it of a call with fewer steps: the
    engine's lead is in each step's work around the recurrent product, and
    a call of a few steps with many rows is mostly torch.nn's large products
    (held-out set h: T3 B53 I1 H46, 159 rows, judged by the T12 B8 shape's
    96 rows, ran at 0.67-0.71x in tanh RNN training and 0.92x in GRU
    inference)."""
    return rows >= evidence.from_rows and (steps is None or steps >= evidence.from_steps)


def _around(grid: Sequence[float], v: float, open_above: bool) -> list[float] | None:
    """The grid values that bracket ``v``: ``[v]`` on a grid value, else the
    two neighbours; ``None`` below the grid, and above it too unless
    ``open_above`` (then the largest value alone)."""
    if not grid or v < grid[0]:
        return None
    if v >= grid[-1]:
        return [grid[-1]] if v == grid[-1] or open_above else None
    lo = max(g for g in grid if g <= v)
    hi = min(g for g in grid if g >= v)
    return sorted({lo, hi})


def narrow_ratio(key: str, T: int, B: int, sizes: Sequence[tuple[int, int]]) -> float | None:
    """What the grid of long, narrow calls says of a call of ``T`` steps and
    ``B`` rows per step whose layers have ``sizes`` ``(I, H)``: the lowest
    measured ``torch.nn / cpu`` ratio over the grid points at the corners of
    the grid cell around ``(T, B, H)`` of every layer, or ``None`` where the
    grid does not cover the call: fewer steps than its shortest, rows or
    hidden sizes outside its range, an input wider than the hidden size, a
    corner never measured. Longer calls than the grid's longest are judged
    by it: the engine's fixed cost per call only weighs less over more steps.
    The grid was made for the calls the table of :func:`auto_ratio` does not
    reach (its shapes have 32 or more rows per step, where the engine's
    largest wins, on few rows and many steps, are not).

    The grid has a plane of calls with ``I = H`` and, in tables measured
    since 2026-12-02, one with a narrow input (``calibrate.GRID_NARROW_I``).
    A layer whose input is less than half its hidden size is judged by the
    corners of both planes (its input lies between them); a grid without
    the narrow plane does not speak for it. Measured on the AMD EPYC (Zen 5)
    machine, the two planes disagree most at ``H = 512`` with two rows per
    step: LSTM inference 1.24x of torch.nn with ``I = H``, 0.86x with
    ``I = 8`` (the engine's lead there comes from the input projection,
    which a narrow input does not have)."""
    points = _at_threads(_tables()[1], key)
    if not points:
        return None
    at = {grid_point_key(p): p[3] for p in points}
    narrow_inputs = tuple(sorted({p[4] for p in points if len(p) > 4}))
    ts, bs, hs = (sorted({p[i] for p in points}) for i in range(3))
    t_around, b_around = _around(ts, T, open_above=True), _around(bs, B, open_above=False)
    if t_around is None or b_around is None:
        return None
    worst = float("inf")
    for i, h in sizes:
        h_around = _around(hs, h, open_above=False)
        narrow = 2 * i < h
        if h_around is None or i > h or (narrow and not narrow_inputs):
            return None
        for corner in ((t, b, g, plane) for t in t_around for b in b_around for g in h_around
                       for plane in ((g, *narrow_inputs) if narrow else (g,))):
            if corner not in at:
                return None
            worst = min(worst, at[corner])
    return worst


def grid_point_key(p: Sequence[float]) -> tuple:
    """A grid point's place ``(T, B, H, I)``: ``I = H`` where the point has
    no fifth value (the ``I = H`` plane). Read by :func:`narrow_ratio`, and by
    :func:`.calibrate.store_grid` to merge runs point by point."""
    return (p[0], p[1], p[2], p[4] if len(p) > 4 else p[2])


#: :func:`table_verdict`'s answers by call signature, valid for the tables
#: they were read from (held here, so that a table replaced, by a reload or a
#: test, empties the cache rather than matching a reused object id)
_verdicts: dict[tuple, str | None] = {}
_verdict_tables: tuple | None = None


def table_verdict(kind: str, mode: str, T: int, B: int, cells: Sequence[Cell],
                  dtype: torch.dtype = torch.float32) -> str | None:
    """What the measurements say of a full-length plain call of this cell
    ``kind`` and ``mode`` (``"train"``, ``"infer"``) with ``T`` steps, ``B``
    rows per step and these ``cells`` in ``dtype``: ``None`` for the engine,
    else why torch.nn gets it. A float64 call is judged by the table's
    float64 points alone (``"lstm infer float64"``, ``"lstm infer lengths
    float64"``), and goes to torch.nn where the table has none (training with
    lengths aside, which no table measures and the engine keeps): measured
    on a Zen 4, the float32 points had sent float64 GRU and RNN inference to
    the engine at 0.52-0.94x torch.nn's speed. The
    table's rule (:func:`auto_ratio`, :func:`auto_covers`) takes the engine
    where it holds; else the grid of long, narrow calls (:func:`narrow_ratio`)
    may. A call's answer depends on nothing else than its signature and the
    tables, so it is worked out once per signature: ``auto`` runs on every
    call, and on a small call the table look-ups and the reason's formatting
    cost as much as a tenth of the call itself."""
    global _verdicts, _verdict_tables
    tables = _tables()
    if _verdict_tables is None or _verdict_tables[0] is not tables[0] or _verdict_tables[1] is not tables[1]:
        _verdicts, _verdict_tables = {}, tables
    sizes = tuple((c.input_size, c.hidden_size) for c in cells)
    f64 = dtype == torch.float64
    sig = (kind, mode, T, B, sizes, torch.get_num_threads(), f64)
    if sig in _verdicts:
        return _verdicts[sig]
    if len(_verdicts) >= 4096:
        _verdicts.clear()
    _verdicts[sig] = verdict = _verdict(kind, mode, T, B, sizes, f64)
    return verdict


def _verdict(kind: str, mode: str, T: int, B: int, sizes: tuple[tuple[int, int], ...],
             f64: bool = False) -> str | None:
    from .calibrate import FLOAT64_SUFFIX

    with_lengths = mode.endswith(" lengths")
    key = f"{kind} {mode}" + (FLOAT64_SUFFIX if f64 else "")
    unmeasured = _unmeasured_reason()
    if unmeasured is not None and not with_lengths:
        return unmeasured  # (calls with lengths stay on the engine: packing costs torch.nn more in training)
    known = auto_ratio(key, _work(kind, T, B, sizes))
    if known is None and f64 and mode != "train lengths":  # (training with lengths: see measure_table)
        source = Path(_source).name if _source else "the table"
        return (f"no float64 measurement of a plain {kind} {mode} call speaks for this machine ({source}), and "
                "float32's do not speak for float64, so torch.nn runs it; `lstmkit calibrate` measures both")
    if known is None:
        return None
    source = Path(_source).name if _source else "the table"
    if with_lengths:  # the rows rule and the grid speak for full-length calls only
        if known.ratio >= AUTO_MARGIN:
            return None
        return (f"torch.nn's packed call is as fast or faster for a plain {key} of this size: this engine ran at "
                f"{known.ratio:.2f}x its speed at worst over the measured shapes around it, "
                f"{AUTO_MARGIN:.2f}x needed ({source})")
    rows = T * B
    if known.ratio >= AUTO_MARGIN and auto_covers(known, rows, T):
        return None
    narrow = None if f64 else narrow_ratio(key, T, B, sizes)  # (the grid is measured in float32)
    if narrow is not None and narrow >= AUTO_MARGIN:  # a long, narrow call the grid speaks for
        return None
    if known.ratio < AUTO_MARGIN:
        start = known.from_work
        shapes = f"the measured shapes around this size (from {start:.3g} multiply-adds)" if start > 0 \
            else "the measured shapes"
        return (f"torch.nn is as fast or faster for a full-length plain {key} of this size: this engine ran at "
                f"{known.ratio:.2f}x its speed at worst over {shapes}, {AUTO_MARGIN:.2f}x needed ({source})")
    return (f"no measured shape speaks for a plain {key} of {T} steps and {rows} rows (T*B): the shapes of its "
            f"size that the engine won start at {known.from_steps:.0f} steps and {known.from_rows:.0f} rows, and "
            f"its lead is per step, its fixed cost per call spread over the rows ({source})")


def _table_candidates() -> list[tuple[Path, bool]]:
    """The tables ``auto`` may read, in order, each with whether it is taken
    without checking its machine (only the one ``$LSTMKIT_AUTO_TABLE`` names)."""
    named = os.environ.get("LSTMKIT_AUTO_TABLE")
    if named:
        return [(Path(named), True)]
    from .calibrate import calibrated_table

    shipped = sorted(AUTO_TABLES.glob("*.json")) if AUTO_TABLES.is_dir() else []
    return [(calibrated_table(), False), *((p, False) for p in shipped)]


def _load_auto_table() -> dict[str, dict[str, list[list[float]]]]:
    """Reads the first table that speaks for this machine (:func:`_table_candidates`)."""
    global _ratios, _narrow, _source, _unmeasured

    def points(v):  # [work, ratio] or [work, ratio, rows]; a bare number: a ratio for every size
        return [[0.0, float(v)]] if isinstance(v, (int, float)) else sorted([float(e) for e in p] for p in v)

    here = machine.fingerprint()
    problems = []
    for path, trusted in _table_candidates():
        try:
            data = json.loads(path.read_text())
            if not trusted and not machine.same_machine(data.get("machine"), here):
                continue
            ratios = {str(k): {key: points(v) for key, v in d.items()} for k, d in data["threads"].items()}
            narrow = {str(k): {key: [[float(e) for e in p] for p in v] for key, v in d.items()}
                      for k, d in data.get("narrow", {}).items()}
        except FileNotFoundError:
            if trusted:
                problems.append(f"LSTMKIT_AUTO_TABLE names {path}, which does not exist")
            continue
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            problems.append(f"{path} could not be read ({type(exc).__name__}: {exc})")
            continue
        _ratios, _narrow, _source, _unmeasured = ratios, narrow, str(path), None
        return _ratios
    _ratios, _narrow = {}, {}
    _source = "; ".join(problems) or f"no table measured on {machine.describe(here)}"
    _unmeasured = (_ratios, (
        f"no measurement of this engine against torch.nn speaks for this machine ({_source}), so torch.nn runs "
        "plain calls; `lstmkit calibrate` measures this machine in a few minutes"))
    return _ratios


def _unmeasured_reason() -> str | None:
    """Why no table speaks for this machine, while the ratios in use are the
    empty ones read with that finding (a table set in their place by hand is
    judged by its points); else ``None``."""
    return _unmeasured[1] if _unmeasured is not None and _unmeasured[0] is _ratios else None


def reload_auto_table() -> None:
    """Reads the tables again (after ``lstmkit calibrate`` or a change of
    ``$LSTMKIT_AUTO_TABLE``); layers that kept a choice make it anew."""
    _load_auto_table()


def auto_table_status() -> dict:
    """What ``auto`` reads on this machine: ``source`` (a path, or why none),
    ``measured`` (whether a table speaks for this machine), the thread counts
    it holds, and the machine."""
    _tables()
    return {"measured": _unmeasured_reason() is None, "source": _source, "threads": sorted(_ratios or {}, key=int),
            "machine": machine.fingerprint()}


def _ext_module():
    return _build.load_extension()  # cached after the first call


class _Streamer:
    """One C++ ``StreamStep`` for the steps of one stream: built once, it holds
    the cells' own parameter tensors (so in-place updates such as an optimiser
    step are seen without rebuilding; a replaced parameter needs a new one,
    which :meth:`lstmkit.nn.Recurrent.step` notices by the parameters' data
    pointers).

    ``try_call(x_t, h, c, rows)`` is the step with every check in C++
    (``StreamStep::try_call``): ``[h_top, h, c]``, or ``None`` where the call
    is not one the stream began with (another shape, dtype or thread count,
    a state part missing, a parameter's data moved, anything needing
    autograd); :meth:`lstmkit.nn.Recurrent.step` runs a kept stream's steps
    through it."""

    __slots__ = ("_op", "_params", "_two_part", "try_call")

    def __init__(self, ext, kind: int, cells: Sequence[Cell], spec: RecurrenceSpec) -> None:
        peep = spec.kind == "peephole"

        def each(attr, when=True):
            return [getattr(c, attr, None) if when else None for c in cells]

        zh = spec.zoneout if not spec.training else 0.0
        zc = spec.zoneout_cell if not spec.training else 0.0
        self._op = ext.StreamStep(
            kind, each("weight_ih"), each("weight_hh"), each("bias_ih"), each("bias_hh"),
            each("weight_hr", kind == 0), each("weight_ci", peep), each("weight_cf", peep), each("weight_co", peep),
            zh, zc,
        )
        self._params = [p for c in cells for p in c.parameters()]
        self._two_part = kind == 0
        self.try_call = self._op.try_call

    def __call__(self, x_t: Tensor, state: tuple[Tensor, ...] | None):
        """``(h_top, state)`` after one step, or ``None`` if the call needs
        autograd (then the caller runs the differentiable path)."""
        if torch.is_grad_enabled() and (
            x_t.requires_grad
            or (state is not None and any(s.requires_grad for s in state))
            or any(p.requires_grad for p in self._params)
        ):
            return None
        if state is None:
            top, h, c = self._op(x_t, None, None)
        else:
            top, h, c = self._op(x_t, state[0], state[1] if self._two_part else None)
        return top, ((h, c) if self._two_part else (h,))


#: the loop configuration of a full-length call without regularisers or traces
_PLAIN = LoopConfig()


def _fused_layer(x: Tensor, h0: Tensor, c0: Tensor, cell: Cell, cfg: LoopConfig):
    """``(out, h_T, c_T)`` of a plain, peephole or layer-norm LSTM layer on
    its fused loop (the caller checked that the loop applies): the plain and
    peephole layers take ``W_ih`` and both biases as they are (the peephole
    weights stacked ``(3, H)``), and so does the layer-norm one where its tile
    computes the projection."""
    p = cell._parameters
    if cell.kind == "lstm":
        return fused_lstm_layer(x, h0, c0, p["weight_ih"], p["weight_hh"], p.get("bias_ih"), cfg, p.get("bias_hh"))
    if cell.kind == "peephole":
        peep = torch.stack((p["weight_ci"], p["weight_cf"], p["weight_co"]))
        return fused_lstm_layer(x, h0, c0, p["weight_ih"], p["weight_hh"], p.get("bias_ih"), cfg, p.get("bias_hh"),
                                peep)
    return fused_ln_lstm_layer(x, h0, c0, cell, p.get("bias_ih"), cfg, p.get("bias_hh"))


def _keep(z: Tensor | float | None) -> tuple[Tensor | None, float]:
    """A zoneout weight as the loops take it: ``(tensor, -1)`` or ``(None, p)``."""
    if z is None:
        return None, 0.0
    if isinstance(z, Tensor):
        return z.contiguous(), -1.0
    return None, float(z)


class CPUBackend(Backend):
    """Fused CPU recurrence for the core cells, float32 and float64."""

    name = "cpu"

    def __init__(self) -> None:
        self._warned = False
        self._last_step = None
        _load_auto_table()

    # ------------------------------------------------------------ capability
    def _extension(self):
        return _build.load_extension(), _build.build_error()

    def warm(self) -> None:
        _build.load_extension()
        _tables()  # read once: re-reading it was 60 % of building a small layer

    def why_not(self, x: Tensor, spec: RecurrenceSpec, cells: Sequence[Cell], lengths: Tensor | None) -> str | None:
        if x.device.type != "cpu":
            return f"it runs on the CPU only, got input on {x.device.type}"
        if x.dtype not in _DTYPES:
            return f"it supports float32 and float64, got {x.dtype}"
        for cell in cells:
            expected = _CELLS.get(cell.kind)
            if expected is None:
                return f"it has no loop for the {cell.kind!r} cell"
            if type(cell).step is not expected.step:
                return f"{type(cell).__name__} overrides step(), so its math may differ from the {cell.kind!r} loop"
            if cell.weight_ih.dtype != x.dtype:
                return f"parameters are {cell.weight_ih.dtype} but the input is {x.dtype}"
        return None

    def auto_inputs(self) -> tuple:
        return _tables()

    def auto_declines(self, x, spec, cells, lengths) -> str | None:
        ext, err = self._extension()
        if ext is None:
            return f"its C++ extension is unavailable ({err})"
        # a no-grad step of a few rows runs the fused StreamStep, faster than
        # one torch.nn call (bench_cpu.py's streaming rows); oneDNN has no
        # LSTMP (proj_size), where torch falls back to a slow loop; with
        # lengths, torch.nn must pack, and this engine's masking is several
        # times faster in training (2.9-7.4x on both machines measured) but
        # not always at inference (0.88x for a mid-size LSTM on one AVX2
        # thread): those calls follow the table's lengths keys where it has
        # them (``"lstm infer lengths"``), else the engine
        streaming = x.shape[0] == 1 and x.shape[1] <= 8 and not torch.is_grad_enabled()
        projected = bool(getattr(cells[0], "proj_size", 0))
        if not spec.is_plain or streaming or projected:
            return None
        if lengths is not None and torch.compiler.is_compiling():
            return None  # traced, torch.nn cannot pack (its traced_declines) and the look-up would break the graph
        training = torch.is_grad_enabled() and (
            x.requires_grad or any(p.requires_grad for c in cells for p in c.parameters())
        )
        mode = ("train" if training else "infer") + (" lengths" if lengths is not None else "")
        return table_verdict(spec.kind, mode, x.shape[0], x.shape[1], cells, x.dtype)

    def _fallback(self):
        """The reference backend, after one warning that says why."""
        from ..registry import load_backend

        if not self._warned:
            _, err = self._extension()
            warnings.warn(
                f"lstmkit cpu backend: the C++ extension could not be built ({err}); "
                "running the reference loop instead (same results, much slower)",
                RuntimeWarning,
                stacklevel=4,
            )
            self._warned = True
        return load_backend("reference")

    # ------------------------------------------------------------- streaming
    _STEP_KINDS = {"lstm": 0, "peephole": 0, "gru": 1, "rnn_tanh": 2, "rnn_relu": 3}

    def streamer(self, x_t: Tensor, cells: Sequence[Cell], spec: RecurrenceSpec):
        """The fused step of this stack (see :meth:`step`) as a callable
        ``(x_t, state) -> (h_top, state)`` holding the cells' parameter
        tensors, or ``None`` where this configuration runs as a sequence of
        length 1 (more than 8 rows, stochastic regularisers in training, a
        cell kind without a fused step, inside a traced graph). The callable
        returns ``None`` for a call that needs autograd."""
        kind = self._STEP_KINDS.get(spec.kind)
        ext = _ext_module()
        if (
            ext is None
            or kind is None
            or torch.compiler.is_compiling()
            or x_t.shape[0] > 8
            or (spec.training and (spec.dropout > 0 or spec.uses_recurrent_regularisers))
        ):
            return None
        return _Streamer(ext, kind, cells, spec)

    def step(self, x_t: Tensor, state: tuple[Tensor, ...], cells: Sequence[Cell], spec: RecurrenceSpec):
        """One step of the stack. Without autograd and stochastic regularisers
        (evaluation, the streaming case) the whole stack runs in one C++ call
        (``StreamStep`` in ``csrc/recurrence.cpp``) for up to 8 rows;
        otherwise as a sequence of length 1."""
        # the last stack's fused step is kept (a caller stepping one stream
        # through this method builds it once); the parameters' data pointers
        # say when it no longer holds the cells' parameters
        if torch.compiler.is_compiling():
            return super().step(x_t, state, cells, spec)
        key = (spec, x_t.shape[0] > 8, parameter_pointers(cells))
        if self._last_step is None or self._last_step[0] != key:
            self._last_step = (key, self.streamer(x_t, cells, spec))
        fast = self._last_step[1]
        out = fast(x_t, state) if fast is not None else None
        return super().step(x_t, state, cells, spec) if out is None else out

    # ----------------------------------------------------------------- stack
    def run(self, x, state, cells, spec, lengths):
        if lengths is None:
            done = self._plain_stack(x, state, cells, spec)
            if done is not None:
                return done
        return run_stack(self, x, state, cells, spec, lengths)

    def _plain_stack(self, x: Tensor, state: tuple[Tensor, ...], cells: Sequence[Cell], spec: RecurrenceSpec):
        """A unidirectional stack of plain, peephole or layer-norm LSTM layers on the
        fused loops, in one straight pass: per layer
        :func:`.fused.fused_lstm_layer` or :func:`.fused_ln.fused_ln_lstm_layer`,
        as :meth:`run_layer` would call it, past the stack driver and the
        loop's configuration (at a call of T12 B8 H32 the path around the loop
        cost twice the loop without autograd; with it, 10-15 us of a ~410 us
        training call). The same layer functions on the same inputs, so the
        same bits, gradients included. ``None`` where it does not apply (then
        the general path runs)."""
        kind = spec.kind
        if (kind not in ("lstm", "peephole", "layernorm") or spec.return_gates or spec.uses_recurrent_regularisers
                or spec.bidirectional or (spec.training and spec.dropout > 0 and len(cells) > 1)
                or x.shape[1] == 0 or _ext_module() is None):
            return None
        if kind != "layernorm":
            if not all(fused_applies(cell, _PLAIN) for cell in cells):
                return None
        else:
            cfgs = [LoopConfig(eps=getattr(cell, "eps", 1e-5)) for cell in cells]
            if not all(fused_ln_applies(cell, cfg, x.dtype) for cell, cfg in zip(cells, cfgs)):
                return None
        h_all, c_all = state
        layer_in, hs, cs = x, [], []
        for layer, cell in enumerate(cells):
            cfg = _PLAIN if kind != "layernorm" else cfgs[layer]
            layer_in, h_n, c_n = _fused_layer(layer_in, h_all[layer], c_all[layer], cell, cfg)
            hs.append(h_n)
            cs.append(c_n)
        return layer_in, (torch.stack(hs), torch.stack(cs)), None

    # ----------------------------------------------------------------- layer
    def run_layer(
        self,
        x: Tensor,
        state: State,
        cell: Cell,
        lengths: Tensor | None,
        reg: LayerRegularisers,
        return_gates: bool,
    ) -> LayerResult:
        ext, _ = self._extension()
        if ext is None:
            return self._fallback().run_layer(x, state, cell, lengths, reg, return_gates)
        T = x.shape[0]
        valid = step_mask(lengths, T, x.device, x.dtype)
        zh, zh_p = _keep(reg.zoneout_h)
        zc, zc_p = _keep(reg.zoneout_c)
        cfg = LoopConfig(
            valid=None if valid is None else valid.squeeze(-1).contiguous(),
            hmask=None if reg.hidden_mask is None else reg.hidden_mask.contiguous(),
            zh=zh, zh_p=zh_p, zc=zc, zc_p=zc_p,
            eps=getattr(cell, "eps", 1e-5),
            return_gates=return_gates,
        )
        kind = cell.kind
        if kind in ("lstm", "peephole", "layernorm"):
            return self._lstm(x, state, cell, cfg)
        if kind == "gru":
            return self._gru(x, state, cell, cfg)
        return self._rnn(x, state, cell, cfg)

    def _lstm(self, x, state, cell, cfg: LoopConfig) -> LayerResult:
        h0, c0 = state
        if fused_applies(cell, cfg) or fused_ln_applies(cell, cfg, x.dtype):
            out, hT, cT = _fused_layer(x, h0, c0, cell, cfg)
            return out, (hT, cT), None
        bias = cell.bias_ih + cell.bias_hh if cell.bias else None
        if cell.kind == "layernorm":  # the input side's norm runs inside the loop, row by row
            xp = project_in(x, cell.weight_ih, None)
            ln_ih = torch.stack((cell.ln_ih_weight, cell.ln_ih_bias,
                                 bias if bias is not None else torch.zeros_like(cell.ln_ih_bias)))
            ln = (ln_ih, cell.ln_hh_weight, cell.ln_hh_bias, cell.ln_c_weight, cell.ln_c_bias)
        else:
            xp = project_in(x, cell.weight_ih, bias)
            ln = (None, None, None, None, None)
        peep = torch.stack((cell.weight_ci, cell.weight_cf, cell.weight_co)) if cell.kind == "peephole" else None
        res = lstm_loop(xp, h0, c0, cell.weight_hh, cell.weight_hr, peep, *ln, cfg)
        out, hT, cT = res[:3]
        gates = None
        if cfg.return_gates:
            acts, cseq = res[3], res[4]
            v = 1.0 if cfg.valid is None else cfg.valid.unsqueeze(-1)
            i, f, g, o = (a * v for a in acts.chunk(4, dim=-1))
            gates = {"i": i, "f": f, "g": g, "o": o, "c": cseq[1:] * v, "h": out}
        return out, (hT, cT), gates

    def _gru(self, x, state, cell, cfg: LoopConfig) -> LayerResult:
        (h0,) = state
        H = cell.hidden_size
        if cell.bias:
            b_hh = cell.bias_hh
            bias = cell.bias_ih + torch.cat((b_hh[: 2 * H], torch.zeros_like(b_hh[2 * H :])))
            b_hn = b_hh[2 * H :]
        else:
            bias = b_hn = None
        xp = project_in(x, cell.weight_ih, bias)
        res = gru_loop(xp, h0, cell.weight_hh, b_hn, cfg)
        out, hT = res[:2]
        gates = None
        if cfg.return_gates:
            v = 1.0 if cfg.valid is None else cfg.valid.unsqueeze(-1)
            r, z, n = (a * v for a in res[2].chunk(3, dim=-1))
            gates = {"r": r, "z": z, "n": n, "h": out}
        return out, (hT,), gates

    def _rnn(self, x, state, cell, cfg: LoopConfig) -> LayerResult:
        (h0,) = state
        bias = cell.bias_ih + cell.bias_hh if cell.bias else None
        xp = project_in(x, cell.weight_ih, bias)
        out, hT = rnn_loop(xp, h0, cell.weight_hh, cell.kind == "rnn_relu", cfg)
        return out, (hT,), ({"h": out} if cfg.return_gates else None)
