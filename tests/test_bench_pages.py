"""The results pages a benchmark rewrites keep what was written there by hand:
``eval_m3.py`` and ``eval_forecast.py`` rewrite their page above its
``## Repeats`` heading (repeats on other machines and seeds, ``pages.py``),
and ``eval_m3.py`` reads its own figures back from the JSON block, not from a
code block further down."""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import eval_m3  # noqa: E402
from pages import kept_sections, write_keeping_repeats  # noqa: E402

TAIL = "\n## Repeats\n\nBy hand.\n\n```\nnot json\n```\n"


def test_a_rewritten_page_keeps_its_hand_written_end(tmp_path):
    page = tmp_path / "RESULTS_x.md"
    write_keeping_repeats(page, "# first run\n")
    assert page.read_text() == "# first run\n"  # no page yet, nothing kept
    page.write_text(page.read_text() + TAIL)
    write_keeping_repeats(page, "# second run\n")
    assert page.read_text() == "# second run\n" + TAIL
    assert kept_sections(page) == TAIL
    assert kept_sections(tmp_path / "missing.md") == ""


def test_eval_m3_reads_its_json_block_before_the_repeats(tmp_path, monkeypatch):
    page = tmp_path / "benchmarks" / "RESULTS_m3.md"
    page.parent.mkdir()
    figures = [{"freq": "monthly", "smape": {"model": 13.8}}]
    page.write_text("# old\n\n```json\n" + json.dumps(figures) + "\n```\n" + TAIL)
    monkeypatch.setattr(eval_m3, "ROOT", tmp_path)
    assert eval_m3.recorded_results() == figures
