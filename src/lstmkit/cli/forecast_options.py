"""The ``--section.field`` options of ``lstmkit forecast``, generated from its config dataclasses.

Kept apart from :mod:`lstmkit.cli.forecast` so that only the parser, not the
run, touches the config modules (which import neither torch nor pandas).
"""

from __future__ import annotations

import argparse


def add_config_options(p: argparse.ArgumentParser) -> None:
    from lstmkit.config import add_config_arguments
    from lstmkit.tasks.forecast.config import ForecastConfig

    add_config_arguments(p, ForecastConfig, title="configuration fields (override --config)")
