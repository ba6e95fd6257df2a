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


def _section_python(heading: str) -> str:
    """The python block of the README section that starts with ``heading``."""
    text = README.read_text()
    start = text.index(f"\n{heading}\n")
    end = text.find("\n## ", start + 1)
    blocks = re.findall(r"```python\n(.*?)```", text[start : end if end > 0 else None], flags=re.S)
    assert len(blocks) == 1, f"expected one python block under {heading!r}, got {len(blocks)}"
    return blocks[0]


def test_the_language_model_quick_start_runs_and_gives_what_its_comments_say(tmp_path, monkeypatch, capsys):
    import pytest

    shared = README.parent.parent / "shared"
    if not (shared / "data" / "tinyshakespeare" / "input.txt").is_file():
        pytest.skip(f"Tiny Shakespeare not found under {shared}")
    (tmp_path / "shared").symlink_to(shared)  # ../shared/data/... as from the repository root
    (tmp_path / "work").mkdir()
    monkeypatch.chdir(tmp_path / "work")
    ns: dict = {}
    exec(compile(_section_python("## Language models"), "README.md (language models)", "exec"), ns)
    lm, lm2, tr = ns["lm"], ns["lm2"], ns["tr"]
    assert type(lm).__name__ == "LanguageModel" and type(lm2) is type(lm)
    val = lm.metrics_["val"]
    assert val["tokens"] == 2000 and 0 < val["bpc"] < 7  # the last 10% of 20,000 characters
    assert tr.values(0, "f").shape == (19, 64) and tr.labels == list("To be, or not to be")  # the comment
    printed = capsys.readouterr().out
    assert lm.generate("ROMEO:", 100, temperature=0.8, top_p=0.95, seed=0) in printed
    assert lm2.evaluate("To be, or not to be") == lm.evaluate("To be, or not to be")
    # nothing but the model folder the snippet saved was written
    assert sorted(str(p.relative_to(tmp_path / "work")) for p in (tmp_path / "work").rglob("*") if p.is_file()) == \
        ["runs/lm-quickstart/model/config.json", "runs/lm-quickstart/model/model.safetensors",
         "runs/lm-quickstart/model/tokenizer.json"]


def test_the_anomaly_quick_start_runs_as_written(tmp_path, monkeypatch):
    import numpy as np

    monkeypatch.chdir(tmp_path)  # it saves a model folder in the working directory
    ns: dict = {}
    exec(compile(_section_python("## Anomaly detection"), "README.md (anomaly quick start)", "exec"), ns)
    assert np.isnan(ns["scores"][:1000]).all() and np.isfinite(ns["scores"][1000:]).all()
    ev = ns["events"]
    assert ((ev["start"] <= 1711) & (ev["end"] >= 1700)).any()  # the anomaly is one of the events
    assert 0 <= ns["metrics"]["LSTM"]["pr_auc"] <= 1 and "LSTM" in ns["metrics"]["verdict"]
    np.testing.assert_allclose(ns["same"], ns["scores"], equal_nan=True)


def test_the_forecasting_quick_start_runs_as_written(tmp_path, monkeypatch):
    import pandas as pd

    monkeypatch.chdir(tmp_path)  # it writes runs/airline/
    ns: dict = {}
    exec(compile(_section_python("## Forecasting"), "README.md (forecasting)", "exec"), ns)
    f, forecast = ns["f"], ns["forecast"]
    assert f.choice_["chosen"] in ("lstm", "ets", "seasonal_naive")
    assert set(f.choice_["validation"]) == {"lstm", "ets", "seasonal_naive"}
    assert list(forecast.columns[:4]) == ["id", "time", "step", "forecast"] and len(forecast) == 6
    assert ns["frame"]["origin"].min() == pd.Timestamp("1959-01-01")
    assert {"naive", "seasonal_naive", "ets", "arima", "theta"} <= set(ns["frame"].columns)
    pd.testing.assert_frame_equal(ns["same"], forecast)
    assert (tmp_path / "runs" / "airline" / "report.html").is_file()


def test_translation_quick_start_runs_and_gives_what_its_comments_say(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # it saves a model folder in the current folder
    ns: dict = {}
    exec(compile(_section_python("## Machine translation"), "README.md (translation)", "exec"), ns)
    tr = ns["tr"]
    assert tr.translate(["I am hungry.", "You are here."], beam=5) == ["J'ai faim.", "Tu es ici."]
    assert ns["scores"]["bleu"] > 50 and (ns["scores"]["sentences"], ns["scores"]["references"]) == (7, 8)  # "I am here." has two
    assert ns["same"].translate(["I am cold."]) == tr.translate(["I am cold."])
    assert len(ns["weights"]) == len(tr.alignments("I am here.")[0]["target_tokens"])
    assert ns["gates"]["decoder"].values(0, "f").shape[1] == 64
