"""``lstmkit export``: a trained model folder (of any task) as an ONNX file.

The command opens the folder with ``lstmkit.load`` and calls the estimator's
``export`` (:meth:`lstmkit.tasks.estimator.Estimator.export`); it only finds
the model folder inside a run folder and prints what was written.
"""

from __future__ import annotations

import argparse

_EPILOG = """examples:
  lstmkit export --model runs/forecast-airline --out airline.onnx
  lstmkit export --model runs/lm-input/model --out lm.onnx --steps 1
  lstmkit export --model runs/translate/model --out translate.onnx   # + translate.step.onnx

what each graph computes (and what stays outside it) is printed and stored in the
file: its doc_string and metadata_props lstmkit.* (scaling, vocabularies, class names).
"""


def add_parser(sub) -> None:
    p = sub.add_parser("export", help="export a trained model folder to ONNX",
                       description="Write the network of a trained model folder (any task) as an ONNX graph for "
                       "onnxruntime and other ONNX tools, with a dynamic batch dimension.", epilog=_EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True, metavar="DIR",
                   help="a model folder, or a run folder holding one in model/")
    p.add_argument("--out", required=True, metavar="FILE.onnx", help="the ONNX file to write")
    p.add_argument("--format", default="onnx", choices=["onnx"], help="export format (default onnx)")
    p.add_argument("--opset", type=int, default=None, metavar="N", help="ONNX opset (default: the exporter's)")
    p.add_argument("--steps", type=int, default=None, metavar="N",
                   help="sequence length of the graph where the task lets you choose (default: the task's)")
    p.set_defaults(func=run)


def model_folder(path: str) -> "object":
    """The model folder ``path`` names: itself, or ``path/model`` for a run folder."""
    from pathlib import Path

    d = Path(path)
    if not d.is_dir():
        raise FileNotFoundError(f"export: --model {d}: no such folder")
    if not (d / "config.json").is_file() and (d / "model" / "config.json").is_file():
        return d / "model"
    return d


def run(args: argparse.Namespace) -> int:
    import sys

    try:
        return _run(args)
    except (ValueError, OSError) as e:  # ModelFolderError and NotFittedError are ValueErrors
        print(f"lstmkit export: error: {e}", file=sys.stderr)
        return 2


def _run(args) -> int:
    from lstmkit.tasks.export import check_out_path

    folder = model_folder(args.model)
    check_out_path(args.out, "export --out")  # before loading anything
    from lstmkit.tasks.export import read_metadata
    from lstmkit.tasks.registry import load

    est = load(folder)
    written = est.export(args.out, format=args.format, opset=args.opset, steps=args.steps)
    print(f"exported {type(est).__name__} from {folder}:")
    for path in written:
        print(f"  {path}: {read_metadata(path).get('graph', '')}")
    return 0
