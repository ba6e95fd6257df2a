"""``benchmarks/bench_cpu.measure``, the interleaved timing every CPU
benchmark and ``lstmkit calibrate`` use: each engine is timed the same number
of times, in blocks of the same number of consecutive calls, and the engine
that runs first (right after the previous repetition's last one, whose caches
it inherits) rotates, so no engine always pays for another's."""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

from bench_cpu import measure  # noqa: E402


def test_measure_rotates_the_engines_and_times_each_every_repetition():
    calls = []
    fns = {name: (lambda name=name: calls.append(name)) for name in ("a", "b", "c")}
    res = measure(fns, reps=6, warmup=1, block_ms=0)
    assert set(res) == {"a", "b", "c"}
    assert all(r["n"] == 6 for r in res.values())
    timed = calls[3:]  # after one warm-up call each
    assert len(timed) == 18
    rounds = [timed[i:i + 3] for i in range(0, 18, 3)]
    assert all(sorted(r) == ["a", "b", "c"] for r in rounds)  # every engine once per repetition
    assert Counter(r[0] for r in rounds) == {"a": 2, "b": 2, "c": 2}  # each starts a third of them
    assert rounds[1] == ["b", "c", "a"]


def test_measure_times_blocks_of_consecutive_calls_per_engine():
    import time

    calls = []

    def engine(name, seconds):
        def f():
            calls.append(name)
            time.sleep(seconds)
        return f

    # the slower engine's call sets the block: 4 ms blocks of 1 ms calls -> 4 calls (sleep overshoots: 2-4)
    res = measure({"a": engine("a", 1e-3), "b": engine("b", 1e-4)}, reps=4, warmup=1, block_ms=4.0)
    n = res["a"]["calls"]
    assert res["b"]["calls"] == n and 1 <= n <= 4
    timed = calls[2:]
    assert len(timed) == 2 * 4 * n
    blocks = [timed[i:i + n] for i in range(0, len(timed), n)]
    assert all(len(set(b)) == 1 for b in blocks)  # a block is one engine's consecutive calls
    assert [b[0] for b in blocks] == ["a", "b", "b", "a", "a", "b", "b", "a"]  # rotated per repetition
    assert res["a"]["median_ms"] > res["b"]["median_ms"]  # per call, not per block
    assert res["a"]["median_ms"] >= 0.9


def test_measure_caps_the_block_and_keeps_single_calls_for_slow_engines():
    fast = measure({"a": lambda: None, "b": lambda: None}, reps=3, warmup=1)
    assert fast["a"]["calls"] == fast["b"]["calls"] == 50  # BLOCK_CALLS
    import time
    slow = measure({"a": lambda: time.sleep(0.012)}, reps=3, warmup=1)
    assert slow["a"]["calls"] == 1 and slow["a"]["n"] == 3
