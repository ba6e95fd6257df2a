"""CUDA graphs for the per-step path: one replay instead of two launches a step.

The per-step path (:mod:`.sequence`, ``path="step"``: the layer-norm LSTM
beyond the persistent sizes, GRU and RNN above H = 64) issues per step a
recurrent product and a gate kernel, each a Python-level launch. On an H200
that host work (~80 us a step) exceeded the GPU's, so those layers ran at the
host's pace (RESULTS.md, GPU section). A CUDA graph records a loop once and
replays it with one call; :mod:`.sequence` runs its loops in chunks of
64/32/16/8 steps (``GRAPH_CHUNKS``), so any sequence length replays the same
few recordings (a remainder under 8 steps is launched step by step).

A graph bakes in the addresses it was recorded with, so :func:`run` records
the loop on *static* buffers: each call copies its inputs into them, replays,
and copies the outputs back into the caller's tensors (a few large memory
moves, not two launches a step). A key (the loop function, every tensor's
shape, strides and dtype, which arguments are the same memory, the
constants) is recorded on its second sighting, so a shape seen once costs no
recording; the last :data:`MAX_GRAPHS` keys are kept. Loops whose buffers
would take more than :data:`MAX_FRACTION` of the GPU's free memory run as
before.

Off with ``LSTMKIT_TRITON_GRAPHS=0``; never on CPU tensors (the interpreter),
and never inside somebody else's capture (the loop is then simply recorded
into theirs).

Contract for a loop function ``fn(*inputs, *outputs, **constants)``: it reads
only ``inputs`` (and writes only ``outputs``; it may use inputs as scratch;
no two arguments overlap in part),
allocates nothing that outlives the call except the tensors it returns, and
does nothing that waits for the host (no ``.item()``, no Python branch on
tensor values).
"""

from __future__ import annotations

import os
from collections import OrderedDict
from typing import Callable, Sequence

import torch
from torch import Tensor

#: graphs kept (each holds its static buffers and a private memory pool; one layer
#: shape takes up to 8: four chunk lengths, forward and backward)
MAX_GRAPHS = 24
#: largest share of the GPU's free memory one graph's static buffers may take
MAX_FRACTION = 0.25


def allowed() -> bool:
    """Whether the recordings are allowed at all (``LSTMKIT_TRITON_GRAPHS`` is not ``0``)."""
    return os.environ.get("LSTMKIT_TRITON_GRAPHS", "1") != "0"


def enabled(like: Tensor) -> bool:
    """Whether :func:`run` records and replays for tensors like ``like``."""
    if not like.is_cuda or not allowed():
        return False
    return not torch.cuda.is_current_stream_capturing()


class CudaGraph:
    """The recording: ``capture(call)`` records ``call()`` (which has just run once
    eagerly on the same buffers, so kernels are compiled and libraries set up) and
    returns its result; ``replay()`` runs the recording."""

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self.graph = torch.cuda.CUDAGraph()

    def capture(self, call: Callable[[], object]):
        with torch.cuda.device(self.device):
            # thread_local: the autograd engine's other threads may call CUDA while a backward loop is recorded
            with torch.cuda.graph(self.graph, capture_error_mode="thread_local"):
                return call()

    def replay(self) -> None:
        self.graph.replay()


#: what records a loop (tests put a stand-in here to check the buffers' handling without a GPU)
RECORDER: Callable[[torch.device], object] = CudaGraph


def _unique(tensors: Sequence[Tensor]) -> tuple[list[Tensor], tuple[int, ...]]:
    """The distinct tensors and, per position, the index of its tensor: two
    positions holding the same memory (one tensor, or two views with the same
    address, shape and strides) must stay one buffer in the recording."""
    seen: dict[tuple, int] = {}
    distinct: list[Tensor] = []
    where = []
    for t in tensors:
        key = (t.data_ptr(), tuple(t.shape), t.stride(), t.dtype)
        i = seen.get(key)
        if i is None:
            i = seen[key] = len(distinct)
            distinct.append(t)
        where.append(i)
    return distinct, tuple(where)


def _signature(tensors: Sequence[Tensor]) -> tuple:
    return tuple((tuple(t.shape), t.stride(), t.dtype) for t in tensors)


class _Recorded:
    """One loop recorded on its own buffers."""

    def __init__(self, fn, ins: list[Tensor], in_where, outs: list[Tensor], out_where, consts: dict) -> None:
        self.ins = [torch.empty_like(t) for t in ins]
        self.outs = [torch.empty_like(t) for t in outs]
        self.in_where, self.out_where = in_where, out_where
        self.fn, self.consts = fn, consts
        self.graph = RECORDER(ins[0].device)
        self.result = None

    def _call(self):
        args = [self.ins[i] for i in self.in_where] + [self.outs[i] for i in self.out_where]
        return self.fn(*args, **self.consts)

    def first(self, ins: list[Tensor], outs: list[Tensor]):
        """Run once on the buffers (this call's result), then record."""
        for s, t in zip(self.ins, ins):
            s.copy_(t)
        result = self._call()
        for o, s in zip(outs, self.outs):
            o.copy_(s)
        result = _copy_result(result)
        # recording does not run the loop; the buffers' values are rewritten on each replay
        self.result = self.graph.capture(self._call)
        return result

    def replay(self, ins: list[Tensor], outs: list[Tensor]):
        for s, t in zip(self.ins, ins):
            s.copy_(t)
        self.graph.replay()
        for o, s in zip(outs, self.outs):
            o.copy_(s)
        return _copy_result(self.result)


def _copy_result(result):
    if isinstance(result, Tensor):
        return result.clone()
    if isinstance(result, tuple):
        return tuple(r.clone() if isinstance(r, Tensor) else r for r in result)
    return result


_SEEN: OrderedDict = OrderedDict()  # key -> number of sightings (int) or its _Recorded


def clear() -> None:
    """Forget every recording (frees their buffers and memory pools)."""
    _SEEN.clear()


def _fits(nbytes: int, device: torch.device) -> bool:
    if device.type != "cuda":
        return True
    free, _total = torch.cuda.mem_get_info(device)
    return nbytes <= MAX_FRACTION * free


def run(fn, inputs: Sequence[Tensor], outputs: Sequence[Tensor], **consts):
    """``fn(*inputs, *outputs, **consts)``, by a replayed recording where
    :func:`enabled` (see the module's contract for ``fn``)."""
    if not enabled(inputs[0]):
        return fn(*inputs, *outputs, **consts)
    ins, in_where = _unique(inputs)
    outs, out_where = _unique(outputs)
    key = (fn.__module__, fn.__qualname__, inputs[0].device, in_where, _signature(ins), out_where,
           _signature(outs), tuple(sorted(consts.items())))
    entry = _SEEN.get(key, 0)
    if isinstance(entry, _Recorded):
        _SEEN.move_to_end(key)
        return entry.replay(ins, outs)
    if entry is None:  # too large to keep buffers for
        return fn(*inputs, *outputs, **consts)
    if entry == 0:  # first sighting: eager (a shape seen once costs no capture)
        _SEEN[key] = 1
        _trim()
        return fn(*inputs, *outputs, **consts)
    if not _fits(sum(t.numel() * t.element_size() for t in ins + outs), inputs[0].device):
        _SEEN[key] = None
        return fn(*inputs, *outputs, **consts)
    rec = _Recorded(fn, ins, in_where, outs, out_where, consts)
    result = rec.first(ins, outs)
    _SEEN[key] = rec
    _SEEN.move_to_end(key)
    _trim()
    return result


def _trim() -> None:
    recorded = [k for k, v in _SEEN.items() if isinstance(v, _Recorded)]
    for k in recorded[: max(0, len(recorded) - MAX_GRAPHS)]:
        del _SEEN[k]
    while len(_SEEN) > 64 * MAX_GRAPHS:  # sightings of shapes long gone
        _SEEN.popitem(last=False)


def recorded() -> int:
    """How many loops are recorded now (for tests)."""
    return sum(isinstance(v, _Recorded) for v in _SEEN.values())
