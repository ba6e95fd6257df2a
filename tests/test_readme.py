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
    start = text.index(f"## {title}")
    end = text.find("\n## ", start + 1)
    blocks = re.findall(r"```python\n(.*?)```", text[start : end if end > 0 else None], flags=re.S)
    assert blocks, f"README.md: no python block in the {title!r} section"
    return blocks[0]


def test_the_anomaly_quick_start_runs_as_written(tmp_path, monkeypatch):
    import numpy as np

    monkeypatch.chdir(tmp_path)  # it saves a model folder in the working directory
    ns: dict = {}
    exec(compile(_section_block("Anomaly detection"), "README.md (anomaly quick start)", "exec"), ns)
    assert np.isnan(ns["scores"][:1000]).all() and np.isfinite(ns["scores"][1000:]).all()
    ev = ns["events"]
    assert ((ev["start"] <= 1711) & (ev["end"] >= 1700)).any()  # the anomaly is one of the events
    assert 0 <= ns["metrics"]["LSTM"]["pr_auc"] <= 1 and "LSTM" in ns["metrics"]["verdict"]
    np.testing.assert_allclose(ns["same"], ns["scores"], equal_nan=True)
