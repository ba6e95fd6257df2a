"""``benchmarks/bench_cpu.measure``, the interleaved timing every CPU
benchmark uses: each engine is timed the same number of times, and the
engine that runs first (right after the previous repetition's last one,
whose caches it inherits) rotates, so no engine always pays for another's."""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

from bench_cpu import measure  # noqa: E402


def test_measure_rotates_the_engines_and_times_each_every_repetition():
    calls = []
    fns = {name: (lambda name=name: calls.append(name)) for name in ("a", "b", "c")}
    res = measure(fns, reps=6, warmup=1)
    assert set(res) == {"a", "b", "c"}
    assert all(r["n"] == 6 for r in res.values())
    timed = calls[3:]  # after one warm-up call each
    assert len(timed) == 18
    rounds = [timed[i:i + 3] for i in range(0, 18, 3)]
    assert all(sorted(r) == ["a", "b", "c"] for r in rounds)  # every engine once per repetition
    assert Counter(r[0] for r in rounds) == {"a": 2, "b": 2, "c": 2}  # each starts a third of them
    assert rounds[1] == ["b", "c", "a"]
