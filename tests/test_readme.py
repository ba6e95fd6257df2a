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


def _section_python(title: str) -> str:
    text = README.read_text()
    start = text.index(f"## {title}\n")
    end = text.find("\n## ", start + 1)
    blocks = re.findall(r"```python\n(.*?)```", text[start:end if end > 0 else None], flags=re.S)
    assert blocks, f"README.md: no python block in section {title!r}"
    return blocks[0]


def test_translation_quick_start_runs_and_gives_what_its_comments_say(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # it saves a model folder in the current folder
    ns: dict = {}
    exec(compile(_section_python("Machine translation"), "README.md (translation)", "exec"), ns)
    tr = ns["tr"]
    assert tr.translate(["I am hungry.", "You are here."], beam=5) == ["J'ai faim.", "Tu es ici."]
    assert ns["scores"]["bleu"] > 50 and (ns["scores"]["sentences"], ns["scores"]["references"]) == (7, 8)  # "I am here." has two
    assert ns["same"].translate(["I am cold."]) == tr.translate(["I am cold."])
    assert len(ns["weights"]) == len(tr.alignments("I am here.")[0]["target_tokens"])
    assert ns["gates"]["decoder"].values(0, "f").shape[1] == 64
