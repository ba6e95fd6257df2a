"""How long the series loader takes on a panel of many short series, against a plain pandas pass over them.

``load_series`` checks, orders, grids and fills every series; the anchor, measured in the same run on the same
frame, is the least any loader does: pandas' ``groupby`` over the id column, each group's times turned into a
DatetimeIndex and its values into a float array. The ratio (loader time over anchor time) is what to read;
absolute seconds on a shared machine are noise.

    .venv/bin/python benchmarks/bench_load.py 2000 200      # series, values each
    .venv/bin/python benchmarks/bench_load.py 10000 50

Figures: ``benchmarks/RESULTS_forecast_long.md``.
"""

from __future__ import annotations

import sys
import time

import numpy as np
import pandas as pd


def panel(k: int, n: int) -> pd.DataFrame:
    t = pd.date_range("2020-01-01", periods=n, freq="D")
    return pd.DataFrame({"id": np.repeat([f"s{i}" for i in range(k)], n), "date": np.tile(t, k),
                         "v": np.random.default_rng(0).normal(size=k * n)})


def anchor(df: pd.DataFrame) -> int:
    count = 0
    for _, g in df.groupby("id", sort=False):
        pd.DatetimeIndex(g["date"].to_numpy())
        g["v"].to_numpy(dtype="float64")
        count += 1
    return count


def main(argv: list[str]) -> int:
    from lstmkit.data.series import load_series

    k, n = (int(a) for a in argv[:2]) if len(argv) >= 2 else (2000, 200)
    df = panel(k, n)
    times = {"loader": [], "anchor": []}
    for _ in range(3):  # interleaved, medians
        t0 = time.perf_counter()
        d = load_series(df, "v", "date", id="id")
        times["loader"].append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        assert anchor(df) == len(d.series) == k
        times["anchor"].append(time.perf_counter() - t0)
    med = {key: float(np.median(v)) for key, v in times.items()}
    print(f"{k} series x {n} values: load_series {med['loader']:.2f} s, groupby anchor {med['anchor']:.2f} s, "
          f"ratio {med['loader'] / med['anchor']:.1f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
