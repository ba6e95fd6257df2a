"""``lstmkit <command>``: a thin dispatcher.

Each command lives in its own module with ``add_parser(subparsers)`` and
``run(args) -> int``. Command modules import only argparse at top level, so
``lstmkit --help`` stays fast; heavy dependencies load inside ``run``.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

#: command name -> module; order is the order of ``--help``.
COMMANDS = {
    "env": "lstmkit.cli.env",
    "calibrate": "lstmkit.cli.calibrate",
    "forecast": "lstmkit.cli.forecast",
    "anomaly": "lstmkit.cli.anomaly",
    "classify": "lstmkit.cli.classify",
    "tag": "lstmkit.cli.tag",
    "lm": "lstmkit.cli.lm",
    "translate": "lstmkit.cli.translate",
    "explain": "lstmkit.cli.explain",
    "export": "lstmkit.cli.export",
    "experiment": "lstmkit.cli.experiment",
}


def build_parser() -> argparse.ArgumentParser:
    from lstmkit import __version__

    parser = argparse.ArgumentParser(
        prog="lstmkit",
        description="Long Short-Term Memory networks from the gates up: train, evaluate and look inside.",
    )
    parser.add_argument("--version", action="version", version=f"lstmkit {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more logging (-vv for debug)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module in COMMANDS.items():
        importlib.import_module(module).add_parser(sub)
    return parser


class _PlainLines(logging.Handler):
    """Print a record's message alone on stdout: the estimators' progress lines, as the command line shows them."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            print(self.format(record), flush=True)
        except Exception:  # noqa: BLE001 - a closed stdout must not end the run
            self.handleError(record)


def show_task_progress(quiet: bool = False) -> None:
    """Route the ``lstmkit.tasks`` loggers' INFO lines to stdout (warnings and errors always)."""
    logger = logging.getLogger("lstmkit.tasks")
    if not any(isinstance(h, _PlainLines) for h in logger.handlers):
        handler = _PlainLines()
        handler.setFormatter(logging.Formatter("%(message)s"))
        logger.addHandler(handler)
    logger.setLevel(logging.WARNING if quiet else logging.INFO)
    logger.propagate = False


#: commands whose --out names a file, not a folder
_OUT_IS_A_FILE = ("export", "calibrate")


def _output_problem(args) -> str | None:
    """Why the run could not write where it was told (``--out`` a file where a
    folder is meant, a file on the way to ``--output``), or ``None``; the
    folder that will hold ``--output`` is made here."""
    from pathlib import Path

    def file_above(p: Path) -> str:
        blocked = next((a for a in p.parents if a.exists() and not a.is_dir()), None)
        return f"{blocked} is a file, not a folder" if blocked is not None else ""

    out = getattr(args, "out", None)
    if out and args.command not in _OUT_IS_A_FILE:
        p = Path(out)
        if p.exists() and not p.is_dir():
            return f"--out {out}: a file of that name exists; expected a folder (or a name not taken)"
        if file_above(p):
            return f"--out {out}: {file_above(p)}"
    target = getattr(args, "output", None)  # (export and calibrate check their --out file themselves)
    if target and isinstance(target, str):
        p = Path(target)
        if p.is_dir():
            return f"--output {target}: a folder of that name exists; expected a file name"
        if target.endswith(("/", "\\")):  # (Path drops the slash that says a folder is meant)
            return f"--output {target}: names a folder; expected a file name (such as {target}{args.command}.csv)"
        if file_above(p):
            return f"--output {target}: {file_above(p)}"
        p.parent.mkdir(parents=True, exist_ok=True)
    return None


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=(logging.WARNING, logging.INFO, logging.DEBUG)[min(args.verbose, 2)],
        format="%(levelname)s %(name)s: %(message)s",
    )
    if not args.command:
        parser.print_help()
        return 2
    if isinstance(getattr(args, "model", None), str) and args.model:
        from lstmkit.train.checkpoint import model_folder

        args.model = str(model_folder(args.model))  # a run folder stands for its model/
    problem = _output_problem(args)
    if problem:  # before any work: a run that trains for minutes must not fail at its first write
        print(f"lstmkit {args.command}: error: {problem}", file=sys.stderr)
        return 2
    # the task loggers print to stdout for this command only: a program (or test) that calls main() in-process
    # gets its own logging set-up back afterwards
    logger = logging.getLogger("lstmkit.tasks")
    before = (list(logger.handlers), logger.level, logger.propagate)
    show_task_progress(quiet=getattr(args, "quiet", False))
    try:
        return int(args.func(args) or 0)
    except RuntimeError as e:
        from lstmkit.train.diverged import TrainingDiverged

        if not isinstance(e, TrainingDiverged):
            raise
        print(f"lstmkit {args.command}: error: {e}", file=sys.stderr)  # one line: where, which value, the checkpoint
        return 1
    finally:
        logger.handlers[:] = before[0]
        logger.setLevel(before[1])
        logger.propagate = before[2]


if __name__ == "__main__":
    sys.exit(main())
