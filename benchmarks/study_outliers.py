"""Outliers in the history: the forecaster with ``data.outliers`` keep (the default) and replace, and a bound.

``probe_forecast_random.py --hard`` found the defaults weakest on series with outliers (a few points far off,
2.5 % of the history): with the values read as given, 6 of 19 such draws lost to seasonal naive. With
``data.outliers replace`` the forecaster replaces such values in the history its models read
(:mod:`lstmkit.tasks.forecast.outliers`: each value judged on the values before it only), and the peers and the
scores read the values as given. This script compares runs of the probe and gives an upper bound: the
``outliers`` draws backtested on their values without the spikes (the generator's own positions, which no
cleaner knows), scored against the values with them::

    .venv/bin/python benchmarks/probe_forecast_random.py --hard 1 2 ... 80 > keep.jsonl
    .venv/bin/python benchmarks/probe_forecast_random.py --hard --outliers replace 1 2 ... 80 > replace.jsonl
    .venv/bin/python benchmarks/study_outliers.py --bound 1 2 ... 80 > bound.jsonl
    .venv/bin/python benchmarks/study_outliers.py --compare keep.jsonl replace.jsonl bound.jsonl

Every MASE is against seasonal naive on the values as given, the peer every table uses.
Figures: ``benchmarks/RESULTS_forecast_long.md``, section "Harder draws".
"""

from __future__ import annotations

import json
import math
import sys
import warnings
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))


def bound(seeds: list[int]) -> None:
    """Each ``outliers`` draw backtested without its spikes, scored on the values with them; a JSON line each."""
    from probe_forecast_random import draw_hard

    from lstmkit import Forecaster
    from lstmkit.tasks.forecast.selection import series_scale

    warnings.simplefilter("ignore")
    for seed in seeds:
        df, h, m, kind = draw_hard(seed)
        if kind != "outliers":
            continue
        plain, _, _, _ = draw_hard(seed, spikes=False)
        f = Forecaster(horizon=h, progress_bar=False, outliers="keep")
        fr = f.backtest(plain, time="t", target="y")
        raw = df["y"].to_numpy(dtype=float)
        first = len(df) - fr["origin"].nunique() - h + 1
        scale = series_scale(raw[:first], m)
        actual = raw[np.searchsorted(df["t"].to_numpy(), fr["time"].to_numpy())]
        print(json.dumps({"seed": seed, "kind": kind, "chosen": f.backtest_.cores[0].chosen,
                          "mase": {"model": round(float(np.mean(np.abs(actual - fr["forecast"].to_numpy())) / scale), 3)}}),
              flush=True)


def compare(files: list[str]) -> str:
    """Markdown: each run's beat / tie / lose against seasonal naive (of the first file) and geometric mean."""
    runs = [{r["seed"]: r for r in map(json.loads, Path(f).read_text().splitlines()) if "error" not in r} for f in files]
    base = runs[0]

    def tally(run: dict, seeds: list[int]) -> str:
        pairs = [(run[s]["mase"]["model"], base[s]["mase"]["seasonal_naive"]) for s in seeds if s in run]
        if not pairs:
            return "- | -"
        beat = sum(a < b for a, b in pairs)
        tie = sum(a == b for a, b in pairs)
        g = math.exp(sum(math.log(a / b) for a, b in pairs) / len(pairs))
        return f"{beat} / {tie} / {len(pairs) - beat - tie} | {g:.3f}"

    by = defaultdict(list)
    for s, r in sorted(base.items()):
        by[r["kind"]].append(s)
    head = " | ".join(f"{Path(f).stem}: beat / tie / lose | geo. mean" for f in files)
    lines = [f"| draws | n | {head} |", "|---|---|" + "---|---|" * len(files)]
    for name, seeds in [("all", sorted(base)), *sorted(by.items())]:
        lines.append(f"| {name} | {len(seeds)} | " + " | ".join(tally(run, seeds) for run in runs) + " |")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    if argv[:1] == ["--compare"] and len(argv) >= 3:
        print(compare(argv[1:]))
        return 0
    if argv[:1] == ["--bound"] and len(argv) > 1 and all(a.isdigit() for a in argv[1:]):
        bound([int(a) for a in argv[1:]])
        return 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
