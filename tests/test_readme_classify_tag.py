"""The README's Python quick start for classification and tagging runs as written and does what its comments say."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

README = Path(__file__).resolve().parents[1] / "README.md"


def _section_code() -> str:
    text = README.read_text()
    section = text[text.index("## Sequence classification and tagging"):]
    section = section[: section.index("\n## ", 1)]
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    assert len(blocks) == 1, "the classification and tagging section has one python block"
    return blocks[0]


def test_classify_and_tag_quick_start_runs_as_written(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # it saves under runs/
    ns: dict = {}
    exec(compile(_section_code(), "README.md (classification and tagging)", "exec"), ns)
    clf, same, metrics = ns["clf"], ns["same"], ns["metrics"]
    assert type(same).__name__ == "SequenceClassifier" and list(same.classes_) == ["fast", "slow"]
    np.testing.assert_allclose(same.predict_proba(ns["X"][16:]), clf.predict_proba(ns["X"][16:]), atol=1e-6)
    assert clf.predict_proba(ns["X"][16:]).shape == (8, 2)  # the comment in the block
    assert 0 <= metrics["accuracy"] <= 1 and set(metrics["baselines"]) == {"1-NN Euclidean", "1-NN DTW"}
    assert clf.selection_["chosen"]["name"] in {r["name"] for r in clf.selection_["candidates"]}
    assert set(ns["sentiment"].predict(["a funny film"]).tolist()) <= {0, 1}  # labels keep their type
    assert (tmp_path / "runs" / "tagger-demo" / "model.safetensors").is_file()
    assert [len(t) for t in ns["tagger"].predict([["Peter", "visits", "Paris"]])] == [3]
    printed = capsys.readouterr().out
    assert "fast" in printed or "slow" in printed
