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


def test_eval_forecast_seeds_page_summarises_each_case_over_its_seeds(tmp_path, monkeypatch):
    import eval_forecast

    (tmp_path / "benchmarks").mkdir()
    monkeypatch.setattr(eval_forecast, "ROOT", tmp_path)

    def run(seed, chosen, model):
        return {"seed": seed, "chosen": chosen, "mase": {"model": model, "seasonal_naive": 0.8},
                "validation": {"lstm": 0.5 + seed / 10, "ets": 0.9}}

    runs = {"sunspots": [run(0, "lstm", 0.9), run(1, "lstm", 0.7), run(2, "ets", 0.75)]}
    page = eval_forecast.write_seeds(runs, "cmd --seeds 0,1,2")
    text = page.read_text()
    row = next(line for line in text.splitlines() if line.startswith("| sunspots |"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[1] == "0, 1, 2"
    assert "LSTM" in cells[2] and ": 2" in cells[2] and ": 1" in cells[2]
    assert cells[3] == "0.700 / 0.750 / 0.900"
    assert cells[4] == "0.800"
    assert cells[5] == "2 of 3"
    assert cells[6] == "0.500 / 0.900"  # the chosen one's validation score: lstm 0.5 and 0.6, ets 0.9
    assert "same for every seed in 0 of 1 cases" in text and "spread of the model's MASE over the seeds is 0.200" in text
    assert json.loads(text[text.index("```json") + 7:text.rindex("```")]) == runs
    page.write_text(text + TAIL)
    eval_forecast.write_seeds(runs, "cmd")
    assert page.read_text().endswith(TAIL)  # the hand-written repeats survive a rerun
