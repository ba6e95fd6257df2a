"""Recurrent layers: any cell, stacked and (optionally) bidirectional."""

from __future__ import annotations

import itertools
import operator
import re
import warnings
from typing import Any

import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

from .. import kernels
from ..kernels.base import parameter_signature
from ..cells.base import ArgumentTypeError, Cell, ShapeError
from . import checks

_TORCH_NAME = re.compile(r"^(?P<param>\w+?)_l(?P<layer>\d+)(?P<rev>_reverse)?$")


class Recurrent(nn.Module):
    r"""A stack of recurrent layers built from any :class:`~lstmkit.cells.Cell`.

    The given cell is layer 0's forward direction; the other layers and the
    reverse directions are fresh clones of it (``cell.clone(input_size=...)``).
    Parameters are stored per cell, but ``state_dict`` uses torch.nn's names
    (``weight_ih_l0``, ``bias_hh_l1_reverse``, ...), so a plain LSTM/GRU/RNN
    loads into ``torch.nn`` and back, and ``layer.weight_ih_l0`` works too.

    Args:
        cell: the layer-0 forward cell.
        num_layers: stacked layers. Default ``1``.
        bidirectional: run a second direction backwards over each sequence.
            Default ``False``.
        batch_first: input and output are ``(B, T, F)`` instead of ``(T, B, F)``.
            Default ``False``.
        dropout: torch's dropout on the outputs of every layer but the last,
            in training. Default ``0``.
        input_dropout: variational dropout on every layer's input: one mask
            per sequence for all steps (Gal & Ghahramani 2016). Default ``0``.
        hidden_dropout: variational dropout on ``h_{t-1}`` in the recurrent
            product, one mask per sequence. Default ``0``.
        zoneout: probability that a hidden unit keeps its previous value at a
            step (Krueger et al. 2017); evaluation uses the expectation.
            Default ``0``.
        zoneout_cell: the same for the LSTM cell state. Default ``0``.
        backend: engine name for :func:`lstmkit.kernels.recurrence`. Default ``"auto"``.
        check_finite: raise ``ValueError`` on NaN/Inf in the input. Default ``False``.

    Shapes (``D`` = 2 if bidirectional else 1, ``Hout`` = the cell's output size):
        =================  ============================================
        input              ``(T, B, I)``, ``(B, T, I)`` if batch_first, ``(T, I)`` unbatched, or a PackedSequence
        state (each part)  ``(L*D, B, n)``, ``(L*D, n)`` unbatched
        output             ``(T, B, D*Hout)`` (zeros at padded steps)
        =================  ============================================

    Example::

        >>> from lstmkit.cells import PeepholeLSTMCell
        >>> layer = Recurrent(PeepholeLSTMCell(8, 16), num_layers=2)
        >>> out, (h, c) = layer(torch.randn(5, 3, 8), lengths=[5, 4, 2])
        >>> out.shape, h.shape
        (torch.Size([5, 3, 16]), torch.Size([2, 3, 16]))
    """

    def __init__(
        self,
        cell: Cell,
        num_layers: int = 1,
        bidirectional: bool = False,
        batch_first: bool = False,
        dropout: float = 0.0,
        *,
        input_dropout: float = 0.0,
        hidden_dropout: float = 0.0,
        zoneout: float = 0.0,
        zoneout_cell: float = 0.0,
        backend: str = "auto",
        check_finite: bool = False,
    ) -> None:
        super().__init__()
        name = type(self).__name__
        if not isinstance(cell, Cell):
            raise TypeError(f"{name}: expected cell to be an lstmkit.cells.Cell, got {type(cell).__name__}")
        self.num_layers = checks.check_positive_int(name, "num_layers", num_layers)
        self.bidirectional = checks.check_bool(name, "bidirectional", bidirectional)
        self.batch_first = checks.check_bool(name, "batch_first", batch_first)
        self.dropout = checks.check_prob(name, "dropout", dropout)
        self.input_dropout = checks.check_prob(name, "input_dropout", input_dropout)
        self.hidden_dropout = checks.check_prob(name, "hidden_dropout", hidden_dropout)
        self.zoneout = checks.check_prob(name, "zoneout", zoneout)
        self.zoneout_cell = checks.check_prob(name, "zoneout_cell", zoneout_cell)
        self.check_finite = checks.check_bool(name, "check_finite", check_finite)
        if not isinstance(backend, str):
            raise TypeError(f"{name}: expected backend to be a str, got {type(backend).__name__}")
        self.backend = backend
        kernels.preload(backend, cell.weight_ih.device.type)
        if self.dropout > 0 and num_layers == 1:
            warnings.warn(
                f"{name}: dropout={dropout} acts between layers and has no effect with num_layers=1",
                stacklevel=2,
            )
        D = self.num_directions
        cells = []
        for layer in range(num_layers):
            for direction in range(D):
                if layer == 0 and direction == 0:
                    cells.append(cell)
                else:
                    in_size = cell.input_size if layer == 0 else D * cell.output_size
                    cells.append(cell.clone(input_size=in_size).to(cell.weight_ih.device, cell.weight_ih.dtype))
        self.cells = nn.ModuleList(cells)
        self.register_state_dict_post_hook(_to_torch_names)
        self.register_load_state_dict_pre_hook(_from_torch_names)

    # ------------------------------------------------------------ properties
    @property
    def num_directions(self) -> int:
        return 2 if self.bidirectional else 1

    def _cell_list(self) -> list[Cell]:
        """The cells, read past ``nn.Module``'s attribute and ``ModuleList``'s
        index look-ups (a forward reads them several times: a few us each)."""
        return list(self._modules["cells"]._modules.values())

    @property
    def input_size(self) -> int:
        return self.cells[0].input_size

    @property
    def hidden_size(self) -> int:
        return self.cells[0].hidden_size

    @property
    def output_size(self) -> int:
        """Features of the output: ``D * Hout``."""
        return self.num_directions * self.cells[0].output_size

    @property
    def kind(self) -> str:
        return self.cells[0].kind

    def cell_at(self, layer: int, direction: int = 0) -> Cell:
        return self.cells[layer * self.num_directions + direction]

    def flatten_parameters(self) -> None:
        """No-op, for drop-in compatibility with torch.nn's RNNs."""

    def __getattr__(self, name: str) -> Any:
        try:
            return super().__getattr__(name)
        except AttributeError:
            m = _TORCH_NAME.match(name)
            if m:
                k = int(m["layer"]) * self.num_directions + (1 if m["rev"] else 0)
                cells = self._modules["cells"]
                if k < len(cells) and hasattr(cells[k], m["param"]):
                    return getattr(cells[k], m["param"])
            raise

    def extra_repr(self) -> str:
        parts = [f"num_layers={self.num_layers}"]
        for attr in ("bidirectional", "batch_first"):
            if getattr(self, attr):
                parts.append(f"{attr}=True")
        for attr in ("dropout", "input_dropout", "hidden_dropout", "zoneout", "zoneout_cell"):
            if getattr(self, attr):
                parts.append(f"{attr}={getattr(self, attr)}")
        if self.backend != "auto":
            parts.append(f"backend={self.backend!r}")
        return ", ".join(parts)

    def spec(self, return_gates: bool = False, *, _kind: str | None = None) -> kernels.RecurrenceSpec:
        return kernels.RecurrenceSpec(
            kind=self.kind if _kind is None else _kind,
            num_layers=self.num_layers,
            bidirectional=self.bidirectional,
            dropout=self.dropout,
            input_dropout=self.input_dropout,
            hidden_dropout=self.hidden_dropout,
            zoneout=self.zoneout,
            zoneout_cell=self.zoneout_cell,
            training=self.training,
            return_gates=return_gates,
        )

    # ----------------------------------------------------------------- state
    def init_state(self, batch: int, device=None, dtype=None, *, _first: Cell | None = None) -> tuple[Tensor, ...]:
        """Zero state: one ``(L*D, batch, n)`` tensor per state component."""
        first = self.cells[0] if _first is None else _first
        if device is None or dtype is None:
            ref = first.weight_ih
            device = ref.device if device is None else device
            dtype = ref.dtype if dtype is None else dtype
        n = self.num_layers * self.num_directions
        return tuple(torch.zeros(n, batch, size, device=device, dtype=dtype) for size in first.state_sizes)

    def _check_state(self, hx, batch: int | None, x: Tensor) -> tuple[Tensor, ...]:
        """Validate a user state; ``batch=None`` means unbatched."""
        name = type(self).__name__
        sizes = self.cells[0].state_sizes
        if isinstance(hx, torch.Tensor):
            hx = (hx,)
        if not isinstance(hx, (tuple, list)) or len(hx) != len(sizes):
            raise ValueError(
                f"{name}: expected the state as {len(sizes)} tensor(s) "
                f"({'(h, c)' if len(sizes) == 2 else 'h'}), got {type(hx).__name__}"
                + (f" of length {len(hx)}" if isinstance(hx, (tuple, list)) else "")
            )
        n = self.num_layers * self.num_directions
        out = []
        for label, s, size in zip(("h", "c"), hx, sizes):
            checks.check_floating(name, f"state {label}", s, x.dtype)
            checks.check_device(name, f"state {label}", s, x.device)
            expected = (n, size) if batch is None else (n, batch, size)
            if tuple(s.shape) != expected:
                raise ShapeError(f"{name}: expected state {label} of shape {expected}, got {tuple(s.shape)}")
            out.append(s if batch is not None else s.unsqueeze(1))
        return tuple(out)

    def _check_input(self, x: Tensor, first: Cell | None = None) -> None:
        name = type(self).__name__
        first = self.cells[0] if first is None else first
        ref = first.weight_ih
        checks.check_floating(name, "input", x)
        checks.check_device(name, "input", x, ref.device)
        if x.dtype != ref.dtype:
            raise ArgumentTypeError(f"{name}: expected input of dtype {ref.dtype} (the parameters'), got {x.dtype}")
        if x.dim() not in (2, 3):
            raise ValueError(
                f"{name}: expected input of shape {self._layout('I')} (3-D) or (T, I) unbatched, "
                f"got {x.dim()}-D input of shape {tuple(x.shape)}"
            )
        if x.shape[-1] != first.input_size:
            shape = tuple(x.shape[:-1]) + (first.input_size,)
            raise ShapeError(f"{name}: expected input of shape {shape}, got {tuple(x.shape)}")
        if self.check_finite:
            checks.check_finite(name, "input", x)

    def _call_key(self, x: Tensor, cells: list[Cell]) -> tuple:
        """What the input checks, the spec and the backend's choice of a call
        (or of a stream's steps) depend on, besides :func:`kernels.auto_inputs`: the input's dtype,
        device, shape and ``requires_grad``, the grad mode, the layer's
        settings and mode, the thread count, and the parameters' data pointers
        and ``requires_grad`` (a parameter replaced, converted or frozen
        changes them; an in-place update such as an optimiser step does not,
        and is seen by the next call as always)."""
        return (x.dtype, x.device, x.shape, x.requires_grad, torch.is_grad_enabled(), torch.get_num_threads(),
                _settings(self), parameter_signature(cells))

    def _kept(self, slot: str, key: tuple, device_type: str):
        """What was kept in ``slot`` for the last call, if this call has the
        same signature ``key`` (:meth:`_call_key`) and ``auto`` would read the
        same tables (:func:`kernels.auto_inputs`); else ``None``. ``auto``
        chooses on every call, and on a small call the choice and the checks
        cost a tenth of torch.nn's whole call
        (``benchmarks/bench_call_overhead.py``)."""
        kept = self.__dict__.get(slot)
        if kept is None or kept[0] != key:
            return None
        inputs = self._auto_inputs(device_type)
        if len(inputs) != len(kept[1]) or not all(map(_same_input, inputs, kept[1])):
            return None
        return kept[2]

    def _keep(self, slot: str, key: tuple, device_type: str, value):
        """Keep ``value`` in ``slot`` for calls of signature ``key`` (:meth:`_kept`)."""
        self.__dict__[slot] = (key, self._auto_inputs(device_type), value)
        return value

    def _auto_inputs(self, device_type: str) -> tuple:
        """:func:`kernels.auto_inputs` where this layer's backend is ``auto``;
        a backend named explicitly reads no tables (nothing to compare)."""
        return kernels.auto_inputs(device_type) if self.backend == "auto" else ()

    def _layout(self, feat: str) -> str:
        return f"(B, T, {feat})" if self.batch_first else f"(T, B, {feat})"

    # --------------------------------------------------------------- forward
    def forward(self, input, hx=None, *, lengths=None, return_gates: bool = False):
        """Run the stack over a sequence.

        Args:
            input: see the shapes table; a ``PackedSequence`` is accepted as
                with torch.nn (then ``lengths`` must not be given).
            hx: initial state, ``None`` for zeros.
            lengths: valid steps per sequence (``(B,)`` ints in ``[1, T]``).
                Padded steps never reach an output, a state or a gradient; the
                reverse direction starts at each sequence's own last step.
            return_gates: also return the gate traces.

        Returns:
            ``(output, state)``, or ``(output, state, gates)`` with
            ``gates[layer][direction]`` a dict of ``(T, B, n)`` tensors (in the
            input's layout) named by the cell's ``gate_names``. The state is
            ``(h_n, c_n)`` for LSTMs and ``h_n`` for one-part states.
        """
        name = type(self).__name__
        cells = self._cell_list()
        first = cells[0]
        packed = isinstance(input, PackedSequence)
        # (not for a PackedSequence, nor for what is no tensor: the full check says what is wrong)
        keep = isinstance(input, Tensor) and lengths is None and not return_gates and _may_keep_choice()
        key = self._call_key(input, cells) if keep else None
        kept = self._kept("_call_cache", key, input.device.type) if keep else None
        if packed:
            if lengths is not None:
                raise ValueError(f"{name}: lengths must not be given with a PackedSequence (it has its own)")
            sorted_idx = input.sorted_indices
            x, lengths = pad_packed_sequence(input)  # (T, B, I), original batch order
            self._check_input(x, first)
            unbatched = False
        else:
            if kept is None:
                self._check_input(input, first)
            elif self.check_finite:  # the rest of the checks held for this signature
                checks.check_finite(name, "input", input)
            unbatched = input.dim() == 2
            if unbatched:
                x = input.unsqueeze(1)
            else:
                x = input.transpose(0, 1) if self.batch_first else input
        T, B = x.shape[0], x.shape[1]
        if T == 0:
            raise ValueError(f"{name}: expected at least one time step, got an input of length 0")
        if lengths is not None:
            # traced (torch.compile/export): no value checks, which would read
            # the lengths' values and break the graph; full lengths then run masked
            tracing = torch.compiler.is_compiling()
            lengths = checks.check_lengths(name, lengths, B, T, check_values=not tracing)
            if not tracing and bool((lengths == T).all()):
                lengths = None
        if hx is None:
            zeros = kept[2] if kept is not None else None
            state = zeros if zeros is not None else self.init_state(B, x.device, x.dtype, _first=first)
        else:
            state = self._check_state(hx, None if unbatched else B, x)

        if kept is not None:
            spec, chosen = kept[0], kept[1]
        else:
            spec = self.spec(return_gates, _kind=first.kind)
            chosen = kernels.select_backend(x, spec, cells, lengths, self.backend)
            if keep:
                # torch.nn's kernels read the state and write nothing into it: a call kept on them reuses
                # its zero state (the two allocations were most of what our layer cost over torch.nn's
                # own on a small call); other backends may write their buffers and keep none
                reuse = hx is None and chosen.name == "torch"
                self._keep("_call_cache", key, x.device.type, (spec, chosen, state if reuse else None))
        out, final, gates = chosen.run(x, state, cells, spec, lengths)

        if packed:
            lens = lengths if lengths is not None else torch.full((B,), T, dtype=torch.int64)
            if sorted_idx is None:
                sorted_idx = torch.arange(B)
            data = pack_padded_sequence(
                out.index_select(1, sorted_idx.to(out.device)), lens[sorted_idx.cpu()], enforce_sorted=True
            )
            out = PackedSequence(data.data, data.batch_sizes, input.sorted_indices, input.unsorted_indices)
        elif unbatched:
            out = out.squeeze(1)
            final = tuple(s.squeeze(1) for s in final)
        elif self.batch_first:
            out = out.transpose(0, 1)
        state_out = final if len(final) > 1 else final[0]
        if not return_gates:
            return out, state_out
        return out, state_out, self._format_gates(gates, unbatched)

    def _format_gates(self, gates, unbatched: bool):
        D = self.num_directions
        nested = []
        for layer in range(self.num_layers):
            row = []
            for direction in range(D):
                g = gates[layer * D + direction]
                if unbatched:
                    g = {k: v.squeeze(1) for k, v in g.items()}
                elif self.batch_first:
                    g = {k: v.transpose(0, 1) for k, v in g.items()}
                row.append(g)
            nested.append(row)
        return nested

    # ------------------------------------------------------------- streaming
    def step(self, x_t: Tensor, state=None):
        """One time step for online use, carrying the state between calls.

        ``x_t`` is ``(B, I)`` (or ``(I,)`` unbatched); returns ``(h_top, state)``
        with ``h_top`` ``(B, Hout)``. Stepping through a sequence gives the same
        outputs and states as running it whole (in evaluation mode, or
        without stochastic regularisers). Unidirectional stacks only.

        The checks and the backend choice run once per stream: they are kept
        with what they depend on (:meth:`_call_key`: the input's dtype, device
        and shape, the mode, the settings, the thread count, and the
        parameters' data pointers, which change when a parameter is replaced
        or converted; an in-place update such as an optimiser step keeps them
        and is seen by the next step; and ``auto``'s tables).
        """
        # a stream's later steps, where the backend's fused step checks the
        # call itself (_FastStep): the settings and parameters compared here,
        # in Python, without a call into torch's bindings
        compiling = torch.compiler.is_compiling()
        fast = self.__dict__.get("_step_fast")
        if fast is not None and not compiling:
            out = fast(self, x_t, state)
            if out is not None:
                return out
        # else the signature matches the kept plan, whose checks
        # (unidirectional, a floating input of this dtype and shape) passed on
        # the first step; the key check is all that runs
        key = cached = None
        if isinstance(x_t, Tensor) and not compiling:
            key = self._call_key(x_t, self._cell_list())
            cached = self._kept("_step_cache", key, x_t.device.type)
        if cached is not None:
            if self.check_finite:
                checks.check_finite(type(self).__name__, "input", x_t)
        else:
            name = type(self).__name__
            if self.bidirectional:
                raise ValueError(f"{name}: step() needs a unidirectional layer; a bidirectional one must see the whole sequence")
            checks.check_floating(name, "x_t", x_t)
            if compiling:  # traced once: no cache (nor data pointers)
                cached = self._plan_step(x_t)
            else:
                cached = self._keep("_step_cache", key, x_t.device.type, self._plan_step(x_t))
                self.__dict__["_step_fast"] = _FastStep.of(self, cached, x_t)
        unbatched = x_t.dim() == 1
        xb = x_t.unsqueeze(0) if unbatched else x_t
        if state is None:
            st = None
        elif cached.state_fits(state, unbatched):
            st = (state,) if isinstance(state, Tensor) else state
            if unbatched:
                st = tuple(s.unsqueeze(1) for s in st)
        else:
            st = self._check_state(state, None if unbatched else xb.shape[0], xb)
        out = cached.streamer(xb, st) if cached.streamer is not None else None
        if out is None:
            if st is None:
                st = self.init_state(xb.shape[0], xb.device, xb.dtype)
            out = cached.backend.step(xb, st, list(self.cells), cached.spec)
        h, final = out
        if unbatched:
            h = h.squeeze(0)
            final = tuple(s.squeeze(1) for s in final)
        return h, (final if len(final) > 1 else final[0])

    def __getstate__(self):
        # what step() keeps for a stream holds C++ objects: never copied or
        # pickled (a copy plans its own first step)
        state = self.__dict__.copy()
        state.pop("_step_cache", None)
        state.pop("_step_fast", None)
        state.pop("_call_cache", None)
        return state

    def _plan_step(self, x_t: Tensor) -> "_StepPlan":
        """Check a stream's first input and choose its backend (and, where the
        backend has one, its fused step)."""
        name = type(self).__name__
        if x_t.dim() not in (1, 2) or x_t.shape[-1] != self.input_size:
            raise ShapeError(f"{name}: expected x_t of shape (B, {self.input_size}) or ({self.input_size},), got {tuple(x_t.shape)}")
        self._check_input(x_t.unsqueeze(0))
        xb = x_t.unsqueeze(0) if x_t.dim() == 1 else x_t
        spec = self.spec()
        cells = list(self.cells)
        chosen = kernels.select_backend(xb.unsqueeze(0), spec, cells, None, self.backend)
        streamer = chosen.streamer(xb, cells, spec)
        n = self.num_layers
        shapes = tuple(torch.Size((n, xb.shape[0], size)) for size in self.cells[0].state_sizes)
        return _StepPlan(spec, chosen, streamer, shapes, x_t.dtype, x_t.device)

    # ---------------------------------------------------------------- export
    def __prepare_scriptable__(self):
        """``torch.jit.script`` cannot compile lstmkit's dispatch (nor, in torch
        2.13, call a scripted torch.nn RNN): say so, and what works instead."""
        raise TypeError(
            f"{type(self).__name__}: torch.jit.script is not supported; use torch.jit.trace, torch.export, "
            "torch.compile or .export(path, format='onnx') (each records the same math)"
        )

    def export(self, path, format: str = "onnx", *, example: Tensor | None = None, step: bool = False,
               dynamic_batch: bool = True):
        """Write this layer as an ONNX graph ``(input, h0[, c0]) -> (output, h_n[, c_n])``.

        The graph is the same math on any engine: torch.nn's RNN operator for
        a plain configuration, else the cell's equations unrolled over the
        example's length (:mod:`lstmkit.nn.export`). Exported in evaluation
        mode.

        Args:
            path: the ``.onnx`` file.
            format: ``"onnx"`` (the only one).
            example: an example input (default: length 16, batch 3).
            step: also write ``<path>.step.onnx``, one streaming step
                ``(x_t, h[, c]) -> (y_t, h_next[, c_next])`` (unidirectional only).
            dynamic_batch: let the batch size vary. Default ``True``.

        Returns:
            The list of files written.
        """
        from .export import export_layer

        return export_layer(self, path, format, example=example, step=step, dynamic_batch=dynamic_batch)


def _same_input(a, b) -> bool:
    """Whether an input of ``auto``'s choice is unchanged: the very same object
    (a table), or an equal string or number (a setting)."""
    return a is b or (isinstance(a, (str, int, float)) and type(a) is type(b) and a == b)


def _may_keep_choice() -> bool:
    """Whether a layer may reuse the backend chosen for an earlier call:
    never while a tracer records the call (torch.compile and export, ONNX
    export and TorchScript tracing choose differently) or under a torch.func
    transform (torch.nn's kernels have no vmap rule)."""
    return not (torch.compiler.is_compiling() or torch.jit.is_tracing() or _onnx_exporting()
                or torch._C._are_functorch_transforms_active())


#: the settings a call's signature holds (:meth:`Recurrent._call_key`), read in one C-level call
_settings = operator.attrgetter("training", "backend", "batch_first", "dropout", "input_dropout", "hidden_dropout",
                                "zoneout", "zoneout_cell", "bidirectional", "num_layers", "check_finite")

_ONNX_FLAGS: Any = None


def _onnx_exporting() -> bool:
    """``torch.onnx.is_in_onnx_export()``, which imports its two flags' modules
    on every call (1 us of a layer call's ~10 us of Python): the flags found
    once, the public function where this torch keeps them elsewhere."""
    global _ONNX_FLAGS
    if _ONNX_FLAGS is None:
        try:
            from torch.onnx._internal.exporter import _flags
            from torch.onnx._internal.torchscript_exporter._globals import GLOBALS

            _ONNX_FLAGS = (_flags, GLOBALS) if (hasattr(_flags, "_is_onnx_exporting")
                                                and hasattr(GLOBALS, "in_onnx_export")) else False
        except ImportError:
            _ONNX_FLAGS = False
    if _ONNX_FLAGS is False:
        return torch.onnx.is_in_onnx_export()
    flags, glob = _ONNX_FLAGS
    return bool(glob.in_onnx_export or flags._is_onnx_exporting)


class _FastStep:
    """A kept stream's later steps straight to the backend's checked step
    (``try_call`` of :meth:`lstmkit.kernels.base.Backend.streamer`), for
    :meth:`Recurrent.step`. What the C++ side cannot see is compared here:
    the layer's settings (:meth:`Recurrent._call_key`'s, read as plain
    attributes), its cells and parameters by identity (one replaced),
    ``auto``'s tables (:func:`lstmkit.kernels.auto_inputs_reader`), and the
    state's form. Any difference, and any call the
    backend declines, returns ``None``: the layer's checked path runs, and
    plans the stream again where its signature changed.

    Why: at B=1 the checked path's Python, mostly calls through torch's
    bindings (the input's dtype, device and shape, the grad mode, the thread
    count, eight data pointers), took 35-45 us of a 150-180 us step at H=256
    with two layers (bench_cpu.py ``stream``). A step of that size evicts
    what Python touches, so each later step's Python runs cold: 2-3 us hot
    costs about 20 us after a step. Hence the checks here are few C-level
    calls (``attrgetter``, identity over the parameter dictionaries' values)
    rather than loops of bytecode."""

    __slots__ = ("settings", "cells", "modules", "dicts", "params", "auto_inputs", "read_auto", "try_call",
                 "rows", "two_part")

    settings_of = _settings

    @staticmethod
    def of(layer: "Recurrent", plan: "_StepPlan", x_t: Tensor) -> "_FastStep | None":
        """The fast path for a stream just planned, or ``None`` where it does
        not apply (no such backend step, an unbatched or checked input, a call
        that needs autograd)."""
        try_call = getattr(plan.streamer, "try_call", None)
        if try_call is None or x_t.dim() != 2 or layer.check_finite:
            return None
        fast = _FastStep()
        fast.cells = layer._modules["cells"]
        fast.modules = list(fast.cells._modules.values())
        fast.dicts = [c._parameters for c in fast.modules]
        fast.params = list(itertools.chain.from_iterable(map(dict.values, fast.dicts)))
        # a plan made for a call that needs autograd may differ from one made
        # without (auto reads it as training); the backend's step runs only
        # calls that do not
        if torch.is_grad_enabled() and (x_t.requires_grad or any(p is not None and p.requires_grad
                                                                 for p in fast.params)):
            return None
        fast.settings = _FastStep.settings_of(layer)
        fast.auto_inputs = layer._auto_inputs(x_t.device.type)
        fast.read_auto = kernels.auto_inputs_reader(x_t.device.type) if fast.auto_inputs else None
        fast.try_call, fast.rows = try_call, x_t.shape[0]
        fast.two_part = len(plan.shapes) == 2
        return fast

    def __call__(self, layer: "Recurrent", x_t, state):
        if (not isinstance(x_t, Tensor) or _FastStep.settings_of(layer) != self.settings
                or layer._modules["cells"] is not self.cells or list(self.cells._modules.values()) != self.modules):
            return None
        params = self.params
        now = list(itertools.chain.from_iterable(map(dict.values, self.dicts)))
        if len(now) != len(params) or not all(map(operator.is_, now, params)):
            return None
        if self.read_auto is not None:
            inputs = self.read_auto()
            if len(inputs) != len(self.auto_inputs) or not all(map(_same_input, inputs, self.auto_inputs)):
                return None
        if self.two_part:
            if type(state) is not tuple or len(state) != 2:
                return None
            h, c = state
            if not (isinstance(h, Tensor) and isinstance(c, Tensor)):
                return None
        else:
            h = state[0] if type(state) is tuple and len(state) == 1 else state
            if not isinstance(h, Tensor):
                return None
            c = None
        out = self.try_call(x_t, h, c, self.rows)
        if out is None:
            return None
        return out[0], ((out[1], out[2]) if self.two_part else out[1])


class _StepPlan:
    """What :meth:`Recurrent.step` decided for one stream (see there)."""

    __slots__ = ("spec", "backend", "streamer", "shapes", "unbatched_shapes", "dtype", "device")

    def __init__(self, spec, backend, streamer, shapes, dtype, device) -> None:
        self.spec, self.backend, self.streamer = spec, backend, streamer
        self.shapes, self.dtype, self.device = shapes, dtype, device
        self.unbatched_shapes = tuple(torch.Size((s[0], s[2])) for s in shapes)

    def state_fits(self, state, unbatched: bool) -> bool:
        """True if ``state`` has the stream's layout as it is (else the
        layer's full check runs, which also says what is wrong)."""
        if isinstance(state, Tensor):
            state = (state,)
        elif type(state) is not tuple:
            return False
        shapes = self.unbatched_shapes if unbatched else self.shapes
        if len(state) != len(shapes):
            return False
        for s, shape in zip(state, shapes):
            if not isinstance(s, Tensor) or s.shape != shape or s.dtype != self.dtype or s.device != self.device:
                return False
        return True


def _to_torch_names(module, state_dict, prefix, local_metadata):
    """state_dict hook: ``cells.3.weight_ih`` -> ``weight_ih_l1_reverse``."""
    D = module.num_directions
    pat = re.compile(re.escape(prefix) + r"cells\.(\d+)\.(.+)$")
    for key in [k for k in state_dict if k.startswith(prefix + "cells.")]:
        m = pat.match(key)
        if not m:
            continue
        k, param = int(m[1]), m[2]
        layer, direction = divmod(k, D)
        state_dict[f"{prefix}{param}_l{layer}{'_reverse' if direction else ''}"] = state_dict.pop(key)


def _from_torch_names(module, state_dict, prefix, *args):
    """load_state_dict pre-hook: the inverse of :func:`_to_torch_names`."""
    D = module.num_directions
    for key in [k for k in state_dict if k.startswith(prefix) and "." not in k[len(prefix):]]:
        m = _TORCH_NAME.match(key[len(prefix):])
        if not m:
            continue
        k = int(m["layer"]) * D + (1 if m["rev"] else 0)
        state_dict[f"{prefix}cells.{k}.{m['param']}"] = state_dict.pop(key)
