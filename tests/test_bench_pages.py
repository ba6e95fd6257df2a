"""The results pages a benchmark rewrites keep what was written there by hand:
``eval_m3.py`` rewrites ``RESULTS_m3.md`` above its ``## Repeats`` heading
(repeats on other machines and seeds) and reads its own figures back from the
JSON block, not from a code block further down."""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import eval_m3  # noqa: E402


def test_the_hand_written_end_is_kept_and_the_json_block_is_read(tmp_path, monkeypatch):
    page = tmp_path / "benchmarks" / "RESULTS_m3.md"
    page.parent.mkdir()
    figures = [{"freq": "monthly", "smape": {"model": 13.8}}]
    tail = "\n## Repeats\n\nBy hand.\n\n```\nnot json\n```\n"
    page.write_text("# old\n\n```json\n" + json.dumps(figures) + "\n```\n" + tail)
    monkeypatch.setattr(eval_m3, "ROOT", tmp_path)
    assert eval_m3.recorded_results() == figures
    assert eval_m3.kept_sections(page) == tail
    assert eval_m3.kept_sections(tmp_path / "missing.md") == ""
    page.write_text("# a page without a hand-written part\n")
    assert eval_m3.kept_sections(page) == ""
