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
