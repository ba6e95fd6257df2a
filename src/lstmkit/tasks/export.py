"""Exporting a fitted estimator's network to ONNX: what every task shares.

Each estimator says *what* to export through its ``_export_graphs(steps)``
hook: one or more :class:`ExportGraph` (the module, example inputs, names,
which inputs have a dynamic batch, one line saying what the graph computes and
the task's metadata: scaling, vocabularies, class names). :func:`write_graphs`
does the rest once: it checks the output path before any work, exports each
graph with :func:`lstmkit.nn.export.export_onnx` (the lstmkit operators become
their decomposed, equivalent graph), and writes the description and metadata
into the file's ``doc_string`` and ``metadata_props`` (keys ``lstmkit.*``,
values strings, JSON where structured).

Only the batch dimension is dynamic: recurrences with ``lengths`` are unrolled
over the example's length, so every time axis has the length the graph was
exported with (``steps``); pad shorter inputs and give their lengths where
the graph takes ``lengths``.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: the formats :meth:`lstmkit.tasks.estimator.Estimator.export` writes
FORMATS = ("onnx",)


@dataclass
class ExportGraph:
    """One graph an estimator exports.

    Attributes:
        module: the ``nn.Module`` whose ``forward(*inputs)`` is the graph.
        inputs: example positional inputs (their shapes fix every non-batch dimension).
        input_names, output_names: the graph's input and output names.
        dynamic_batch: ``{input name: batch dimension}`` for the inputs whose batch may vary.
        computes: what the graph computes, in one or two sentences (the file's ``doc_string``).
        suffix: file name suffix before ``.onnx`` (``""``: the path given; ``".step"``: ``<stem>.step.onnx``).
        metadata: task metadata, written as ``lstmkit.<key>`` (non-strings as JSON).
    """

    module: Any
    inputs: tuple
    input_names: list[str]
    output_names: list[str]
    dynamic_batch: dict[str, int]
    computes: str
    suffix: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)


def check_out_path(path: str | Path, who: str) -> Path:
    """``path`` if an ONNX file can be written there, else a one-line ``ValueError`` (before any export work)."""
    path = Path(path)
    if path.suffix != ".onnx":
        raise ValueError(f"{who}: expected an output file ending in .onnx, got {str(path)!r}")
    if path.is_dir():
        raise ValueError(f"{who}: expected an output file, got the folder {path}")
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise ValueError(f"{who}: cannot write {path}: {parent} is a file, not a folder")
    if not os.access(parent, os.W_OK | os.X_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise ValueError(f"{who}: cannot write {path}: no write permission in {parent}")
    return path


def graph_path(path: Path, suffix: str) -> Path:
    """``model.onnx`` + ``".step"`` -> ``model.step.onnx``."""
    return path if not suffix else path.with_name(path.name[: -len(".onnx")] + suffix + ".onnx")


def _metadata_value(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)


def write_graphs(who: str, graphs: list[ExportGraph], path: str | Path, *, opset: int | None = None,
                 metadata: dict[str, Any] | None = None) -> list[Path]:
    """Export ``graphs`` next to ``path`` (see :class:`ExportGraph`); returns the files written.

    ``metadata`` (the estimator's kind, task, ...) goes into every file beside
    each graph's own; each file also names the others (``lstmkit.graphs``).
    """
    try:
        import onnx
        import onnxscript  # noqa: F401 - the dynamo ONNX exporter needs it
    except ImportError as e:
        raise ValueError(f"{who}: ONNX export needs the onnx and onnxscript packages "
                         f"(pip install 'lstmkit[tasks]'); {e}") from None
    import logging

    import torch

    from ..nn.export import export_onnx

    # torch's exporter warns, at every first export, that torchvision's detection operators are not
    # registered; no lstmkit graph uses them
    logging.getLogger("torch.onnx._internal.exporter._registration").setLevel(logging.ERROR)
    path = check_out_path(path, who)
    newest = onnx.defs.onnx_opset_version()
    if opset is not None and not 7 <= int(opset) <= newest:
        raise ValueError(f"{who}: expected an ONNX opset between 7 and {newest} (the installed onnx's newest), "
                         f"got {opset}")
    names = {g.suffix or "main": graph_path(path, g.suffix).name for g in graphs}
    written = []
    for g in graphs:
        out = graph_path(path, g.suffix)
        modes = [(m, m.training) for m in g.module.modules()]  # restored one by one: a wrapper is new, its network not
        g.module.eval()
        try:
            with torch.no_grad():
                export_onnx(g.module, tuple(g.inputs), out, input_names=g.input_names, output_names=g.output_names,
                            dynamic_batch=g.dynamic_batch or None, opset_version=opset)
        except Exception as e:  # the exporter's reports run to pages: one line here, the whole one as the cause
            first = next((line.strip() for line in str(e).splitlines() if line.strip()), "")
            at = f" at opset {opset}" if opset is not None else ""
            raise ValueError(f"{who}: the ONNX exporter failed on {out.name}{at}: {type(e).__name__}: {first}") from e
        finally:
            for m, training in modes:
                m.training = training
        model = onnx.load(str(out))
        shapes = {n: list(t.shape) if hasattr(t, "shape") else None for n, t in zip(g.input_names, g.inputs)}
        props = {**(metadata or {}), "graph": g.computes, "inputs": {"names": g.input_names, "example_shapes": shapes,
                                                                      "dynamic_batch": g.dynamic_batch},
                 "outputs": g.output_names, "graphs": names, **g.metadata}
        onnx.helper.set_model_props(model, {f"lstmkit.{k}": _metadata_value(v) for k, v in props.items()})
        model.doc_string = g.computes
        onnx.save(model, str(out))
        written.append(out)
    return written


def read_metadata(path: str | Path) -> dict[str, str]:
    """The ``lstmkit.*`` metadata of an exported file (values as stored: strings, JSON where structured)."""
    import onnx

    model = onnx.load(str(path), load_external_data=False)
    return {p.key[len("lstmkit."):]: p.value for p in model.metadata_props if p.key.startswith("lstmkit.")}




def tokenizer_metadata(tokenizer) -> dict:
    """A tokeniser as its JSON file holds it (``kind`` and vocabulary), for ``metadata_props``."""
    return {"kind": tokenizer.kind, **tokenizer.to_dict()}


def device_of(module) -> Any:
    """The device of ``module``'s first parameter (the CPU for a module without any)."""
    import torch

    return next((p.device for p in module.parameters()), torch.device("cpu"))


__all__ = ["ExportGraph", "FORMATS", "check_out_path", "device_of", "graph_path", "read_metadata", "tokenizer_metadata",
           "write_graphs"]
