"""Gate traces of one sequence: what every gate, the cell and the hidden state did at every step.

The recurrent layers return them with ``return_gates=True``
(``gates[layer][direction][name]``, ``(B, T, H)`` batch-first or ``(T, B, H)``);
:class:`Traces` keeps one sequence of those as numpy arrays, with a label per
step (a character, a word or a time), and writes them as JSON or CSV.

Example::

    >>> from lstmkit.nn import LSTM
    >>> lstm = LSTM(3, 8, batch_first=True)
    >>> tr = layer_traces(lstm, torch.randn(1, 5, 3), labels=list("hello"))
    >>> tr.names, tr.values(0, "f").shape
    (('i', 'f', 'g', 'o', 'c', 'h'), (5, 8))
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
from torch import nn

#: what each gate name means, for plots and the page.
GATE_TITLES = {
    "i": "input gate", "f": "forget gate", "g": "candidate", "o": "output gate", "c": "cell state",
    "h": "hidden state", "r": "reset gate", "z": "update gate", "n": "candidate",
}


@dataclass
class Traces:
    """Per-step gate values of one sequence.

    ``gates[layer][direction][name]`` is a float array ``(T, H)``; ``labels``
    has one string per step (the token, or the time).
    """

    labels: list[str]
    gates: list[list[dict[str, np.ndarray]]]
    meta: dict = field(default_factory=dict)

    def __post_init__(self):
        for l, layer in enumerate(self.gates):
            for d, named in enumerate(layer):
                for name, v in named.items():
                    if v.ndim != 2 or v.shape[0] != len(self.labels):
                        raise ValueError(f"Traces: expected gates[{l}][{d}][{name!r}] of shape ({len(self.labels)}, H), "
                                         f"got {tuple(v.shape)}")

    @property
    def num_layers(self) -> int:
        return len(self.gates)

    @property
    def num_directions(self) -> int:
        return len(self.gates[0]) if self.gates else 0

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self.gates[0][0]) if self.gates else ()

    def hidden_size(self, layer: int = 0) -> int:
        return next(iter(self.gates[layer][0].values())).shape[1]

    def values(self, layer: int, name: str, direction: int = 0) -> np.ndarray:
        """``(T, H)`` values of gate ``name`` in ``layer`` (errors say what exists)."""
        if not 0 <= layer < self.num_layers:
            raise ValueError(f"Traces: expected layer in [0, {self.num_layers}), got {layer}")
        if not 0 <= direction < self.num_directions:
            raise ValueError(f"Traces: expected direction in [0, {self.num_directions}), got {direction}")
        named = self.gates[layer][direction]
        if name not in named:
            raise ValueError(f"Traces: expected a gate name in {tuple(named)}, got {name!r}")
        return named[name]

    def check_units(self, units, layer: int = 0) -> list[int]:
        """Units as a list; ``None`` means all of them."""
        H = self.hidden_size(layer)
        units = list(range(H)) if units is None else [int(u) for u in units]
        bad = [u for u in units if not 0 <= u < H]
        if bad or not units:
            raise ValueError(f"Traces: expected units in [0, {H}), got {bad or 'none'}")
        return units

    # ------------------------------------------------------------ files
    def to_dict(self, layers=None, units=None, names=None) -> dict:
        """JSON-ready: ``{"labels", "layers": [{"layer", "direction", "units", "<name>": [[per unit] per step]}]}``."""
        out = {"labels": list(self.labels), "meta": self.meta, "layers": []}
        for l in (range(self.num_layers) if layers is None else layers):
            us = self.check_units(units, l)
            for d in range(self.num_directions):
                entry = {"layer": int(l), "direction": d, "units": us}
                for name in (names or self.names):
                    entry[name] = np.round(self.values(l, name, d)[:, us], 6).tolist()
                out["layers"].append(entry)
        return out

    def write_json(self, path: str | Path, **select) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_dict(**select)))
        return path

    def write_csv(self, path: str | Path, layers=None, units=None, names=None) -> Path:
        """Long format: one row per step, layer, direction and unit; one column per gate."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        names = list(names or self.names)
        with path.open("w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["step", "label", "layer", "direction", "unit", *names])
            for l in (range(self.num_layers) if layers is None else layers):
                us = self.check_units(units, l)
                for d in range(self.num_directions):
                    arrays = [self.values(l, n, d) for n in names]
                    for t, lab in enumerate(self.labels):
                        for u in us:
                            w.writerow([t, lab, l, d, u, *(f"{a[t, u]:.6g}" for a in arrays)])
        return path


def gates_to_traces(gates, labels: list[str], batch_first: bool, index: int = 0, meta: dict | None = None) -> Traces:
    """Sequence ``index`` of a layer's ``return_gates`` output as :class:`Traces` (first ``len(labels)`` steps)."""
    T = len(labels)
    out = []
    for layer in gates:
        dirs = []
        for named in layer:
            dirs.append({k: (v[index] if batch_first else v[:, index]).detach().float().cpu().numpy()[:T]
                         for k, v in named.items()})
        out.append(dirs)
    return Traces(list(labels), out, dict(meta or {}))


def layer_traces(layer: nn.Module, x: torch.Tensor, labels: list[str] | None = None, state=None,
                 index: int = 0) -> Traces:
    """Run a recurrent ``layer`` (lstmkit.nn LSTM/GRU/RNN) on ``x`` and keep sequence ``index``'s gates.

    ``x`` is laid out as the layer expects (``batch_first`` or not); ``labels``
    default to the step numbers.
    """
    batch_first = bool(getattr(layer, "batch_first", False))
    T = x.shape[1] if batch_first else x.shape[0]
    labels = [str(t) for t in range(T)] if labels is None else list(labels)
    if len(labels) != T:
        raise ValueError(f"layer_traces: expected {T} labels (one per step), got {len(labels)}")
    was = layer.training
    layer.eval()
    try:
        with torch.no_grad():
            res = layer(x, state, return_gates=True)
    finally:
        layer.train(was)
    return gates_to_traces(res[-1], labels, batch_first, index)


class LayerInputRecorder:
    """Record what a submodule was called with, to run it again for its gates.

    Any task model whose recurrent layer is an lstmkit layer can be traced
    this way without knowing how the task builds that layer's input::

        with LayerInputRecorder(model.encoder) as rec:
            model(*inputs)
        traces = layer_traces(model.encoder, rec.args[0], labels)
    """

    def __init__(self, module: nn.Module) -> None:
        self.module, self.args, self.kwargs, self._handle = module, None, None, None

    def _hook(self, module, args, kwargs):
        if self.args is None:  # the first call is the sequence; later ones (decoders) are ignored
            self.args, self.kwargs = args, dict(kwargs)

    def __enter__(self) -> "LayerInputRecorder":
        self._handle = self.module.register_forward_pre_hook(self._hook, with_kwargs=True)
        return self

    def __exit__(self, *exc) -> None:
        self._handle.remove()


@dataclass
class LayerCall:
    """One call of a recurrent layer over a whole sequence: ``layer(*args, **kwargs)``.

    Most networks run their recurrent layer over the sequence at once, and
    :func:`trace_target` notes that call while the network runs. A decoder
    with input feeding cannot: each step reads the previous step's output, so
    it is stepped one position at a time through its cells. For such a layer,
    ``TraceTarget.prepare`` returns a ``LayerCall`` in place of the call that
    runs the network: the layer's input at every step (gathered while the
    task's own code stepped it) and its initial state. Run once on this in
    evaluation mode, the layer goes through the same states as the stepping
    did, and returns its gates.

    Example::

        >>> from lstmkit.nn import LSTM
        >>> lstm = LSTM(3, 4, batch_first=True)
        >>> call = LayerCall((torch.randn(1, 5, 3), (torch.zeros(1, 1, 4), torch.zeros(1, 1, 4))))
        >>> target = TraceTarget(lstm, lstm, "series", lambda data: (list("abcde"), call))
        >>> trace_target(target, None).values(0, "h").shape
        (5, 4)
    """

    args: tuple
    kwargs: dict = field(default_factory=dict)


@dataclass
class TraceTarget:
    """What a task model hands to gate tracing: its network, the recurrent layer, and how an input reaches it.

    ``prepare(data)`` turns a raw input (a text for ``input_kind`` ``"text"``,
    numbers or rows for ``"series"``) into ``(labels, run)``: one label per
    step and a call that runs ``network`` on that input the way the task
    does (its own tokenising, scaling and windowing). :func:`trace_target`
    notes what ``layer`` is called with during ``run()`` and runs it once more
    with ``return_gates=True``. For a layer the network steps one position at
    a time (a decoder with input feeding), ``run`` is a :class:`LayerCall`
    instead: the layer's whole input, gathered while the task's code ran it.
    A task estimator provides one from its ``explain_target()`` method;
    ``lstmkit explain`` needs nothing else.
    """

    network: nn.Module
    layer: nn.Module
    input_kind: str
    prepare: Callable[[Any], tuple[list[str], Callable[[], Any] | LayerCall]]


def trace_target(target: TraceTarget, data, meta: dict | None = None) -> Traces:
    """Gate traces of ``target.layer`` on ``data`` (see :class:`TraceTarget`), in eval mode, without gradients.

    The first call of the layer during ``run()`` is the one traced (a
    decoder's later calls are not); a :class:`LayerCall` from ``prepare`` is
    run as it is. A layer pinned to the ``torch`` engine
    (torch's fused kernels give no gates) is traced on ``auto`` and put back.
    The labels are aligned to the traced steps: the last ``T`` of them, or
    step numbers where there are too few.
    """
    labels, run = target.prepare(data)
    net, layer = target.network, target.layer
    rec = LayerInputRecorder(layer)
    was = net.training
    net.eval()
    pinned = getattr(layer, "backend", None)
    try:
        if isinstance(run, LayerCall):
            call = run
        else:
            with rec, torch.no_grad():
                run()
            if rec.args is None:
                raise RuntimeError(f"trace_target: the network never called its recurrent layer {type(layer).__name__}")
            call = LayerCall(rec.args, rec.kwargs)
        if pinned == "torch":
            layer.backend = "auto"
        with torch.no_grad():
            res = layer(*call.args, **{**call.kwargs, "return_gates": True})
    finally:
        if pinned is not None:
            layer.backend = pinned
        net.train(was)
    gates = res[-1]
    T = next(iter(gates[0][0].values())).shape[1 if layer.batch_first else 0]
    labels = list(labels)[-T:] if len(labels) >= T else list(labels) + [str(t) for t in range(len(labels), T)]
    return gates_to_traces(gates, labels, layer.batch_first, 0, meta=meta)
