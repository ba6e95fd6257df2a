"""The ``train | predict | evaluate`` actions that file-based task commands share (``classify``, ``tag``).

A command describes its actions as data (:class:`Action`: help, description,
arguments) and gets the sub-commands, the run options of ``train``, the
default output folders and one error handling: a ``ValueError`` or a missing
file ends the command with ``lstmkit <task>: error: <one line>`` and exit
status 2. Imports only argparse, so ``lstmkit --help`` stays fast.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from typing import Callable

#: one argument: (flag, metavar or None for a choice, help, extra argparse keywords)
Argument = tuple[str, str | None, str, dict]


@dataclass
class Action:
    """One sub-command of a task: ``name`` (train, predict, evaluate), its texts and its arguments."""

    name: str
    help: str
    description: str
    arguments: list[Argument] = field(default_factory=list)
    run_options: bool = False  # --config, --resume, --quiet and the configuration fields (train)


def train_action(task: str, help: str, description: str, data: str, validation: tuple[str, str], test: str) -> Action:
    """``<task> train --data FILE [--val/--dev FILE] [--test FILE] [--out DIR]`` and the run options."""
    return Action("train", help, description,
                  [("--data", "FILE", data, {"required": True}), (validation[0], "FILE", validation[1], {}),
                   ("--test", "FILE", test, {}), ("--out", "DIR", f"output folder (default runs/{task}-<data name>)", {})],
                  run_options=True)


def predict_action(task: str, help: str, data: str, output: str) -> Action:
    """``<task> predict --model DIR --data FILE [--output FILE]``."""
    return Action("predict", help, f"Predict every example of --data with a model folder from `{task} train`.",
                  [("--model", "DIR", "model folder (…/model)", {"required": True}),
                   ("--data", "FILE", data, {"required": True}), ("--output", "FILE", output, {})])


def evaluate_action(task: str, help: str, description: str, data: str, extra: list[Argument] | None = None) -> Action:
    """``<task> evaluate --model DIR --data FILE [--out DIR]`` and ``extra`` arguments."""
    return Action("evaluate", help, description,
                  [("--model", "DIR", "model folder (…/model)", {"required": True}),
                   ("--data", "FILE", data, {"required": True}),
                   ("--out", "DIR", f"output folder (default runs/{task}-eval-<data name>)", {}), *(extra or [])])


def add_task_command(sub, task: str, help: str, description: str, epilog: str, actions: list[Action],
                     config: Callable[[], type], run: Callable[[argparse.Namespace], int]) -> argparse.ArgumentParser:
    """Add ``lstmkit <task> <action> ...`` to the ``sub`` parsers; ``config()`` returns the task's config class."""
    formatter = argparse.RawDescriptionHelpFormatter
    p = sub.add_parser(task, help=help, description=description, epilog=epilog, formatter_class=formatter)
    actions_parsers = p.add_subparsers(dest=f"{task}_command", metavar="ACTION")
    for a in actions:
        ap = actions_parsers.add_parser(a.name, help=a.help, description=a.description, epilog=epilog, formatter_class=formatter)
        for flag, metavar, text, extra in a.arguments:
            kwargs = dict(extra)
            if metavar:
                kwargs["metavar"] = metavar
            ap.add_argument(flag, help=text, **kwargs)
        if a.run_options:
            from lstmkit.cli.run_options import add_run_options

            add_run_options(ap, config())
        ap.set_defaults(func=run, action=a.name)
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])
    return p


def default_out(task: str, args: argparse.Namespace) -> str:
    """``--out``, else ``runs/<task>-<data name>`` (train) or ``runs/<task>-eval-<data name>`` (evaluate)."""
    from pathlib import Path

    if getattr(args, "out", None):
        return args.out
    middle = "eval-" if args.action == "evaluate" else ""
    return f"runs/{task}-{middle}{Path(args.data).stem}"


def run_action(task: str, args: argparse.Namespace, handlers: dict[str, Callable[[argparse.Namespace], int]]) -> int:
    """Call the handler of ``args.action``; bad input ends with one line on stderr and exit status 2."""
    import sys

    try:
        return int(handlers[args.action](args) or 0)
    except (ValueError, FileNotFoundError) as e:
        print(f"lstmkit {task}: error: {e}", file=sys.stderr)
        return 2


def print_run(run, splits: tuple[str, ...], show: Callable[[str, dict], None]) -> int:
    """After ``train``: ``show(split, metrics)`` for each evaluated split, then the time and the folder."""
    for split in splits:
        if split in run.metrics:
            show(split, run.metrics[split])
    print(f"done in {run.metrics['total_seconds']:.0f} s ({run.metrics['total_cpu_seconds']:.0f} s of CPU): {run.out}")
    return 0


def wrote_output(args: argparse.Namespace, count: int, unit: str) -> bool:
    """After ``predict``: say where the predictions went when ``--output`` was given (else the caller prints them)."""
    if args.output:
        print(f"predictions: {args.output} ({count} {unit})")
    return bool(args.output)


def note(text: str) -> None:
    """A note for the user on stderr (the results go to stdout)."""
    import sys

    print(text, file=sys.stderr)
