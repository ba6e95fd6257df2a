"""The ``triton`` backend: fused Triton kernels for the LSTM family, GRU and RNN.

What runs where (one layer, one direction; the shared :func:`run_stack`
driver does layers, directions and reversal):

* the input projection ``x W_ih^T + b`` for all steps at once, as one large
  matrix product outside the time loop (with ``LN_ih`` for the layer-norm
  LSTM), differentiated by autograd;
* the recurrence in a custom autograd function (:mod:`.sequence`), by one of
  these paths (``path=``, default ``"auto"``):

  - ``persistent``: one launch loops over time with ``W_hh`` held on chip by
    each program, which owns a tile of 16 sequences and all units
    (:mod:`.persistent`; H <= 64);
  - ``cooperative``: plain and peephole LSTMs up to H = 512: one launch loops
    over time, each program holds a 16-unit slice of ``W_hh`` on chip and the
    programs meet at a grid-wide barrier per step (:mod:`.cooperative`; the
    grid must fit the GPU's SMs). 1.6-6x faster than ``step`` on an H200;
    ``LSTMKIT_TRITON_COOPERATIVE=0`` keeps ``auto`` off it, and a launch whose
    barrier times out (other work holding SMs) is re-run by ``step`` with a
    warning;
  - ``tile``: the cooperative kernel's step, one launch per step (no barrier);
  - ``step``: per step the recurrent product (torch) plus one fused gate
    kernel (:mod:`.step_kernels`); any size, and the layer-norm LSTM beyond
    the persistent sizes. On a GPU its loops, forward and backward, are
    recorded as CUDA graphs on the second call of a shape and replayed
    after (:mod:`.graphs`; ``LSTMKIT_TRITON_GRAPHS=0`` launches step by step).

  ``auto`` takes ``persistent`` where it fits, then ``cooperative`` where
  it fits up to H = 128, else ``step`` (with its CUDA graphs faster than the
  cooperative kernel above H = 128; at any size when the graphs are off);
* the float32 recurrent products on the tensor cores split in three TF32
  products (``tf32x3``, float32-level error) where the tiles fit, else FMA
  (:func:`.tiles.kernel_config`);
* the weight gradients as large matrix products after the backward loop.

Inputs may be float32, bfloat16 or float16; the state, the gate math, the
recurrent product and the accumulation are float32 (float64 inputs run in
float64). For half-precision inputs the two large products outside the time
loop, the input projection and the weight gradients, are half-precision
GEMMs with float32 accumulation, rounded to the input dtype (what cuDNN and
autocast do; 10x and more the float32 rate on tensor cores). Outputs and
final states come back in the input dtype. Variable lengths are handled by masking.

Not covered (``why_not`` says so and names the backend that is): LSTM
projections (``proj_size``), gate traces, variational dropout and zoneout.

Under ``TRITON_INTERPRET=1`` the kernels run in the Triton interpreter on CPU
tensors; that is how they are tested on machines without a GPU.
"""

from __future__ import annotations

import os
from typing import NamedTuple, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from ...cells.base import Cell, State
from ..base import Backend, LayerResult, step_mask
from ..spec import LayerRegularisers, RecurrenceSpec
from . import graphs, step_kernels
from .sequence import PATHS, GRUSequence, LSTMSequence, RNNSequence, choose_path, path_problem

#: the modules that define kernels or their ``@triton.jit`` helpers, each after
#: those it imports (a test reloads them in this order to rebuild every kernel
#: for the interpreter when triton was imported before TRITON_INTERPRET=1)
KERNEL_MODULES = ("activations", "tiles", "layer_norm", "cell_math", "step_kernels", "persistent", "cooperative", "sequence")

#: whether the kernels of this process were built for the Triton interpreter
#: (decided when the kernels were defined, which is when triton reads the flag)
INTERPRETED = type(step_kernels.lstm_fwd_step).__name__ == "InterpretedFunction"

SUPPORTED_KINDS = ("lstm", "peephole", "layernorm", "gru", "rnn_tanh", "rnn_relu")
SUPPORTED_DTYPES = (torch.float32, torch.bfloat16, torch.float16, torch.float64)


class Region(NamedTuple):
    """Where the triton backend measured faster than cuDNN on one plain cell."""

    kind: str
    dtype: torch.dtype
    h_min: int
    h_max: int
    b_max: int
    #: "one-launch": the persistent or cooperative kernel; "step": the per-step
    #: path replayed from CUDA graphs (graphs.py), sequences of min_steps or more
    paths: str
    min_steps: int = 1


#: where the triton kernels measured faster than cuDNN on a plain cell, by GPU kind
#: (compute capability), from benchmarks/bench_gpu.py --target on an H200 (T = 512;
#: RESULTS.md, GPU section). One-launch rows: 0.17-0.68x cuDNN (cuDNN's bfloat16 RNNs
#: took 16-24 ms at every size). Step rows: the GRU on the per-step path with CUDA
#: graphs, kept only where it took <= 0.75x cuDNN's time forward and fwd+bwd at both
#: neighbouring measured sizes (0.24-0.72x), a margin for what was not measured there
#: (the chunked recordings' copies, lengths between the grid points, T >= 256 only).
MEASURED_FASTER: dict[tuple, tuple[Region, ...]] = {
    (9, 0): (
        Region("lstm", torch.bfloat16, 1, 128, 64, "one-launch"),
        Region("gru", torch.bfloat16, 1, 64, 64, "one-launch"),
        Region("gru", torch.bfloat16, 256, 256, 64, "step", 256),
        Region("gru", torch.bfloat16, 256, 512, 16, "step", 256),
        Region("gru", torch.float32, 256, 512, 16, "step", 256),
    ),
}


def _path_family(path: str) -> str:
    return "one-launch" if path in ("persistent", "cooperative") else path


def cuda_auto_status(capability: tuple) -> str:
    """What ``auto`` does on a GPU of this compute capability, in one line (``lstmkit env``)."""
    regions = MEASURED_FASTER.get(tuple(capability))
    base = "peephole and layer-norm LSTMs on triton"
    if regions is None:
        return (f"not measured on sm_{capability[0]}{capability[1]}: plain LSTM/GRU/RNN calls go to cuDNN, {base} "
                "(benchmarks/bench_gpu.py measures a GPU)")
    wins = "; ".join(
        f"{str(r.dtype).replace('torch.', '')} {r.kind.upper()} "
        + (f"H <= {r.h_max}" if r.h_min <= 1 else f"H {r.h_min}-{r.h_max}")
        + f" batch <= {r.b_max}" + (f" T >= {r.min_steps}" if r.min_steps > 1 else "")
        for r in regions
    )
    return f"measured on sm_{capability[0]}{capability[1]}: triton for {wins}; cuDNN for the other plain calls, {base}"


def measured_faster_than_cudnn(backend: "TritonBackend", kind: str, x: Tensor, H: int) -> bool:
    """Whether one layer of this plain cell ran faster here than cuDNN in the measurements."""
    if x.device.type != "cuda":
        return False
    T, B = x.shape[0], x.shape[1]
    path = backend.layer_path(kind, B, H, torch.float32, x.device)
    return faster_in_measurements(kind, x.dtype, B, H, torch.cuda.get_device_capability(x.device), path, T,
                                  graphs.enabled(x))


def faster_in_measurements(kind: str, dtype: torch.dtype, B: int, H: int, capability: tuple, path: str,
                           T: int = 512, graphed: bool = True) -> bool:
    """:data:`MEASURED_FASTER` read for one layer of ``T`` steps run by ``path`` on a GPU of
    ``capability`` (``graphed``: the per-step path replays CUDA graphs)."""
    family = _path_family(path)
    if family == "step" and not graphed:
        return False
    return any(
        r.kind == kind and r.dtype == dtype and r.h_min <= H <= r.h_max and B <= r.b_max
        and r.paths == family and T >= r.min_steps
        for r in MEASURED_FASTER.get(tuple(capability), ())
    )


class TritonBackend(Backend):
    """Fused Triton kernels (see the module docstring).

    Args:
        path: ``"auto"`` (default), or force one of ``"persistent"``,
            ``"cooperative"``, ``"tile"``, ``"step"`` (``why_not`` says when a
            forced path cannot run a configuration). ``None`` reads the
            environment variable ``LSTMKIT_TRITON_PATH`` (default ``auto``).
    """

    name = "triton"

    def __init__(self, path: str | None = None) -> None:
        if path is not None and path != "auto" and path not in PATHS:
            raise ValueError(f"TritonBackend: expected path 'auto' or one of {PATHS}, got {path!r}")
        self.path = path

    def requested_path(self) -> str:
        return self.path or os.environ.get("LSTMKIT_TRITON_PATH", "auto")

    def layer_path(self, kind: str, B: int, H: int, dtype: torch.dtype, device: torch.device) -> str:
        """The path one layer runs by (``dtype``: the compute dtype)."""
        requested = self.requested_path()
        if requested != "auto":
            return requested
        return choose_path(kind, B, H, dtype, device, os.environ.get("LSTMKIT_TRITON_COOPERATIVE", "1") != "0",
                           graphed=device.type == "cuda" and graphs.allowed())

    # ------------------------------------------------------------ capability
    def unavailable_reason(self) -> str | None:
        if INTERPRETED:
            return None
        if not torch.cuda.is_available():
            return (
                "no CUDA device (set TRITON_INTERPRET=1 to run the kernels in the "
                "Triton interpreter on CPU, for testing)"
            )
        return None

    def why_not(self, x: Tensor, spec: RecurrenceSpec, cells: Sequence[Cell], lengths: Tensor | None) -> str | None:
        if spec.kind not in SUPPORTED_KINDS:
            return f"the triton backend has no kernels for the {spec.kind!r} cell (backend='reference' runs any cell)"
        if any(getattr(c, "proj_size", 0) for c in cells):
            return "the triton backend does not implement LSTM projections (proj_size > 0); use backend='torch' or 'reference'"
        if spec.return_gates:
            return "the triton backend does not return gate traces; use backend='reference'"
        if spec.uses_recurrent_regularisers:
            return "the triton backend has no variational dropout or zoneout; use backend='reference'"
        if x.dtype not in SUPPORTED_DTYPES:
            return f"the triton backend runs float32, bfloat16, float16 (and float64) inputs, got {x.dtype}"
        if INTERPRETED:
            if x.device.type != "cpu":
                return f"the Triton interpreter (TRITON_INTERPRET=1) runs on CPU tensors, got a {x.device.type} tensor"
        elif x.device.type != "cuda":
            return (
                f"the triton backend runs on CUDA tensors, got a {x.device.type} tensor "
                "(set TRITON_INTERPRET=1 to test the kernels on CPU)"
            )
        requested = self.requested_path()
        if requested != "auto":
            if requested not in PATHS:
                return f"unknown path {requested!r} (LSTMKIT_TRITON_PATH); expected 'auto' or one of {PATHS}"
            cdt = torch.float64 if x.dtype == torch.float64 else torch.float32
            for cell in cells:
                problem = path_problem(requested, cell.kind, x.shape[1], cell.hidden_size, cdt, x.device)
                if problem:
                    return f"path {requested!r}: {problem}"
        return None

    def auto_inputs(self) -> tuple:
        # why_not and auto_declines read the requested path (LSTMKIT_TRITON_PATH),
        # whether the cooperative kernel may run and whether the per-step path
        # replays CUDA graphs, on every call
        return (self.requested_path(), os.environ.get("LSTMKIT_TRITON_COOPERATIVE", "1"),
                os.environ.get("LSTMKIT_TRITON_GRAPHS", "1"))

    def auto_declines(self, x, spec: RecurrenceSpec, cells, lengths) -> str | None:
        # From benchmarks/bench_gpu.py on an H200 (RESULTS.md, GPU section): the
        # cells cuDNN lacks run here (4-50x faster than the reference loop); for
        # the plain cells cuDNN (backend 'torch') is faster except where
        # measured_faster_than_cudnn says otherwise.
        if not spec.is_plain:
            return None
        if all(measured_faster_than_cudnn(self, c.kind, x, c.hidden_size) for c in cells):
            return None
        return ("cuDNN (backend 'torch') runs plain cells faster here (benchmarks/bench_gpu.py); "
                "triton only where it measured faster")

    # ------------------------------------------------------------- the layer
    def run_layer(
        self,
        x: Tensor,
        state: State,
        cell: Cell,
        lengths: Tensor | None,
        reg: LayerRegularisers,
        return_gates: bool,
    ) -> LayerResult:
        if not reg.empty or return_gates:
            raise RuntimeError("TritonBackend.run_layer: regularisers and gate traces are not supported (see why_not)")
        T, B, I = x.shape
        cdt = torch.float64 if x.dtype == torch.float64 else torch.float32
        kind = cell.kind
        H = cell.hidden_size
        path = self.layer_path(kind, B, H, cdt, x.device)
        lens = None if lengths is None else lengths.to(device=x.device, dtype=torch.int32).contiguous()

        # the input projection of every step at once: one large matrix product.
        # Half-precision inputs: a half GEMM (operands exact, float32
        # accumulation in the BLAS, result rounded to the input dtype), as
        # cuDNN and autocast do; its weight gradient then is one too.
        half = x.dtype in (torch.bfloat16, torch.float16)
        if half:
            gx = (x.reshape(T * B, I) @ cell.weight_ih.t()).view(T, B, -1).to(cdt)
        else:
            gx = (x.reshape(T * B, I).to(cdt) @ cell.weight_ih.to(cdt).t()).view(T, B, -1)
        wgrad_dtype = x.dtype if half else None
        if kind == "layernorm":
            gx = F.layer_norm(gx, (4 * H,), cell.ln_ih_weight.to(cdt), cell.ln_ih_bias.to(cdt), cell.eps)
        if cell.bias:
            b = cell.bias_ih if kind == "gru" else cell.bias_ih + cell.bias_hh
            gx = gx + b.to(cdt)
        h0 = state[0].to(cdt)
        w_hh = cell.weight_hh.to(cdt)

        if kind in ("lstm", "peephole", "layernorm"):
            c0 = state[1].to(cdt)
            peep = (cell.weight_ci, cell.weight_cf, cell.weight_co) if kind == "peephole" else (None,) * 3
            ln = (
                (cell.ln_hh_weight, cell.ln_hh_bias, cell.ln_c_weight, cell.ln_c_bias)
                if kind == "layernorm"
                else (None,) * 4
            )
            peep = tuple(p if p is None else p.to(cdt) for p in peep)
            ln = tuple(p if p is None else p.to(cdt) for p in ln)
            eps = float(getattr(cell, "eps", 1e-5))
            hs, c_n = LSTMSequence.apply(gx, h0, c0, w_hh, *peep, *ln, lens, eps, path, wgrad_dtype)
            finals: tuple[Tensor, ...] = (hs[-1], c_n)
        elif kind == "gru":
            b_hh = cell.bias_hh.to(cdt) if cell.bias else None
            hs = GRUSequence.apply(gx, h0, w_hh, b_hh, lens, path, wgrad_dtype)
            finals = (hs[-1],)
        else:
            hs = RNNSequence.apply(gx, h0, w_hh, lens, kind == "rnn_relu", path, wgrad_dtype)
            finals = (hs[-1],)

        valid = step_mask(lengths, T, x.device)
        out = hs if valid is None else torch.where(valid, hs, torch.zeros((), dtype=hs.dtype, device=hs.device))
        return out.to(x.dtype), tuple(s.to(x.dtype) for s in finals), None
