"""The options every training command shares, and the configuration they build.

``--config FILE.yaml``, ``--resume``, ``--quiet`` and one ``--section.field``
option per field of the task's configuration dataclass; then defaults, the
YAML file and the typed options, in that order, validated. Imports no torch,
so ``--help`` stays fast.
"""

from __future__ import annotations

import argparse
from typing import Any


def add_run_options(p: argparse.ArgumentParser, config_cls: type, resume: bool = True) -> None:
    """Add ``--config``, ``--resume`` (optional), ``--quiet`` and the configuration fields to ``p``."""
    from lstmkit.config import add_config_arguments

    p.add_argument("--config", metavar="FILE.yaml", help="YAML file with any of the fields below (same nesting)")
    if resume:
        p.add_argument("--resume", action="store_true",
                       help="continue an interrupted run from the checkpoints in its output folder")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    add_config_arguments(p, config_cls, title="configuration fields (override --config)")


def config_from_args(config_cls: type, args: argparse.Namespace, shortcuts: dict[str, Any] | None = None):
    """Defaults < ``--config`` YAML < ``shortcuts`` (e.g. ``--data`` -> ``data.path``) < ``--section.field`` options."""
    from lstmkit.config import load_config, overrides_from_args

    over = {k: v for k, v in (shortcuts or {}).items() if v is not None}
    over.update(overrides_from_args(args))
    if getattr(args, "quiet", False):
        over["train.progress_bar"] = False
    return load_config(config_cls, getattr(args, "config", None), over)
