"""The README's short tour runs as written (it is the first Python block of README.md)."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_the_short_tour_runs_and_gives_what_its_comments_say():
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    assert blocks, "README.md has no python block"
    ns: dict = {}
    exec(compile(blocks[0], "README.md (tour)", "exec"), ns)
    assert tuple(ns["gates"][0][0]["f"].shape) == (4, 20, 32)  # the comment in the tour
    assert tuple(ns["out"].shape) == (4, 20, 32) and tuple(ns["logits"].shape) == (4, 5)
    f = ns["lstm"].bias_ih_l0[32:64].detach()  # chrono_init_ set the forget biases of layer 0
    assert bool((f >= 0).all()) and float(f.max()) <= 7.0


def _section_block(title: str) -> str:
    text = README.read_text()
    section = text[text.index(f"## {title}"):]
    section = section[: section.index("\n## ", 4)]
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    assert blocks, f"README.md: no python block under '## {title}'"
    return blocks[0]


def test_the_forecasting_quick_start_runs_as_written(tmp_path, monkeypatch):
    import pandas as pd

    monkeypatch.chdir(tmp_path)  # it writes runs/airline/
    ns: dict = {}
    exec(compile(_section_block("Forecasting"), "README.md (forecasting)", "exec"), ns)
    f, forecast = ns["f"], ns["forecast"]
    assert f.choice_["chosen"] in ("lstm", "ets", "seasonal_naive")
    assert set(f.choice_["validation"]) == {"lstm", "ets", "seasonal_naive"}
    assert list(forecast.columns[:4]) == ["id", "time", "step", "forecast"] and len(forecast) == 6
    assert ns["frame"]["origin"].min() == pd.Timestamp("1959-01-01")
    assert {"naive", "seasonal_naive", "ets", "arima", "theta"} <= set(ns["frame"].columns)
    pd.testing.assert_frame_equal(ns["same"], forecast)
    assert (tmp_path / "runs" / "airline" / "report.html").is_file()
