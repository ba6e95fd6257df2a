"""Export models that contain lstmkit layers to ONNX.

ONNX has no operator for lstmkit's engines, so inside ``torch.onnx.export``
every recurrence is exported as an equivalent graph
(:func:`lstmkit.kernels.decomposed_backend`): torch.nn's own RNN operator
(ONNX ``LSTM``/``GRU``/``RNN``) for a plain configuration without lengths,
else the cell's own equations step by step (an unrolled loop, so that graph
has the example's sequence length). This holds for a direct
``torch.onnx.export`` call too; the functions here add names, a dynamic
batch, the state as inputs and outputs, and a single-step graph for
streaming.

Example::

    >>> lstm = lstmkit.LSTM(8, 32, num_layers=2, cell="peephole")
    >>> paths = lstm.export("lstm.onnx", format="onnx", example=torch.randn(20, 4, 8), step=True)
    >>> # lstm.onnx: (x, h0, c0) -> (output, h_n, c_n); lstm.step.onnx: (x_t, h, c) -> (y_t, h, c)
"""

from __future__ import annotations

import io
import warnings
from contextlib import redirect_stdout
from pathlib import Path
from typing import Sequence

import torch
from torch import Tensor, nn


def export_onnx(
    module: nn.Module,
    example_inputs: Sequence,
    path: str | Path,
    *,
    input_names: Sequence[str] | None = None,
    output_names: Sequence[str] | None = None,
    dynamic_batch: dict[str, int] | None = None,
    opset_version: int | None = None,
) -> Path:
    """Export any module containing lstmkit layers to an ONNX file.

    Args:
        module: the model; exported in its current mode (call ``.eval()``
            first for inference).
        example_inputs: a tuple of example positional inputs.
        path: the ``.onnx`` file to write.
        input_names, output_names: names of the graph's inputs and outputs.
        dynamic_batch: ``{input name: batch dimension}`` for inputs whose batch
            size may vary (needs ``input_names``); ``None``: all static.
        opset_version: ONNX opset; ``None`` for the exporter's default.

    Returns:
        The path written.
    """
    path = Path(path)
    if not isinstance(example_inputs, tuple):
        example_inputs = tuple(example_inputs)
    dynamic_shapes = None
    if dynamic_batch:
        if not input_names:
            raise ValueError("export_onnx: dynamic_batch needs input_names")
        unknown = sorted(set(dynamic_batch) - set(input_names))
        if unknown:
            raise ValueError(f"export_onnx: dynamic_batch names {unknown}, expected some of {list(input_names)}")
        batch = torch.export.Dim("batch")
        dynamic_shapes = tuple(
            {dynamic_batch[n]: batch} if n in dynamic_batch else None for n in input_names[: len(example_inputs)]
        )
    kwargs = dict(dynamo=True, input_names=list(input_names or []) or None,
                  output_names=list(output_names or []) or None, dynamic_shapes=dynamic_shapes)
    if opset_version is not None:
        kwargs["opset_version"] = opset_version
    path.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings(), redirect_stdout(io.StringIO()):  # the exporter prints its progress
        warnings.simplefilter("ignore")
        program = torch.onnx.export(module, example_inputs, **kwargs)
    program.save(str(path))
    return path


class SequenceGraph(nn.Module):
    """``(x, *state) -> (output, *final_state)`` of a layer, for export."""

    def __init__(self, layer: nn.Module) -> None:
        super().__init__()
        self.layer = layer

    def forward(self, x: Tensor, h0: Tensor, c0: Tensor | None = None):
        hx = h0 if c0 is None else (h0, c0)
        out, final = self.layer(x, hx)
        final = final if isinstance(final, tuple) else (final,)
        return (out, *final)


class StepGraph(nn.Module):
    """``(x_t, *state) -> (y_t, *state)``: one streaming step of a layer."""

    def __init__(self, layer: nn.Module) -> None:
        super().__init__()
        self.layer = layer

    def forward(self, x_t: Tensor, h: Tensor, c: Tensor | None = None):
        hx = h if c is None else (h, c)
        y, final = self.layer.step(x_t, hx)
        final = final if isinstance(final, tuple) else (final,)
        return (y, *final)


def export_layer(layer, path: str | Path, format: str = "onnx", *, example: Tensor | None = None,
                 step: bool = False, dynamic_batch: bool = True) -> list[Path]:
    """What :meth:`lstmkit.nn.Recurrent.export` does (see there)."""
    name = type(layer).__name__
    if format != "onnx":
        raise ValueError(f"{name}.export: expected format 'onnx', got {format!r}")
    ref = layer.cells[0].weight_ih
    if example is None:
        shape = (3, 16, layer.input_size) if layer.batch_first else (16, 3, layer.input_size)
        example = torch.randn(*shape, device=ref.device, dtype=ref.dtype)
    B = example.shape[0 if layer.batch_first else 1]
    state = layer.init_state(B, ref.device, ref.dtype)
    labels = ["h0", "c0"][: len(state)]
    outs = ["h_n", "c_n"][: len(state)]
    was_training = layer.training
    layer.eval()
    try:
        path = Path(path)
        written = [export_onnx(
            SequenceGraph(layer), (example, *state), path,
            input_names=["input", *labels], output_names=["output", *outs],
            dynamic_batch={"input": 0 if layer.batch_first else 1, **{n: 1 for n in labels}} if dynamic_batch else None,
        )]
        if step:
            if layer.bidirectional:
                raise ValueError(f"{name}.export: step=True needs a unidirectional layer")
            x_t = example[:, 0] if layer.batch_first else example[0]
            step_path = path.with_suffix(".step.onnx")
            written.append(export_onnx(
                StepGraph(layer), (x_t, *state), step_path,
                input_names=["x_t", *[n[0] for n in labels]], output_names=["y_t", *[n[0] + "_next" for n in labels]],
                dynamic_batch={"x_t": 0, **{n[0]: 1 for n in labels}} if dynamic_batch else None,
            ))
        return written
    finally:
        layer.train(was_training)
