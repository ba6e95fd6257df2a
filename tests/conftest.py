"""Shared fixtures and options for the test suite."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

# Without a GPU the Triton kernels can only run in its interpreter, and the flag
# must be set before anything imports triton: Lightning imports torch._dynamo,
# which imports triton, while test modules are being collected.
if not torch.cuda.is_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"
#: the table auto reads during the suite, whatever the machine: the one the
#: tests that pin auto's choices were written against (tests/test_auto_machine.py
#: checks the machine matching itself, with its own tables)
SUITE_AUTO_TABLE = ROOT / "src" / "lstmkit" / "kernels" / "cpu" / "auto_tables" / "intel-6-167-amx-torch2.13.json"
os.environ.setdefault("LSTMKIT_AUTO_TABLE", str(SUITE_AUTO_TABLE))


def pytest_addoption(parser):
    parser.addoption("--runslow", action="store_true", default=False, help="run the long end-to-end tests too")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--runslow"):
        return
    skip = pytest.mark.skip(reason="slow end-to-end run: use --runslow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)
    yield


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data folder not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture
def task_log():
    """The text of the ``lstmkit.tasks`` progress lines logged during the test, at INFO.

    ``caplog`` misses them once a command-line test in the same session has
    routed that logger to stdout (``show_task_progress`` stops propagation).
    """
    import logging

    lines: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record):
            lines.append(record.getMessage())

    logger = logging.getLogger("lstmkit.tasks")
    handler, level = Keep(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)

    class Text:
        @property
        def text(self) -> str:
            return "\n".join(lines)

    yield Text()
    logger.removeHandler(handler)
    logger.setLevel(level)
