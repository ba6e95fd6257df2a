"""Random series through the forecaster's defaults: a search for crashes and for forecasts far off the mark.

Each seed draws one series: a season of 4, 5, 7, 12, 24 or 52 (quarters, business days, days, months, hours,
weeks), a length from three seasons to 700 values, an additive or multiplicative season with a second
harmonic, a linear or exponential trend, maybe a random walk, noise, and a horizon of a season, half of one,
two or 6 steps. ``lstmkit.Forecaster(horizon=h)`` backtests it with every other setting at its default.
One JSON line per seed: the choice, the validation scores, the test MASE of the model and of each peer, or the
error if the run raised. Nothing in the forecaster was set from these series.

    .venv/bin/python benchmarks/probe_forecast_random.py 1 2 3 ... 40      # seeds (about 10-30 s each)
    .venv/bin/python benchmarks/probe_forecast_random.py --panel 1 2 3 4   # many series a file (1-3 min each)

With ``--panel`` each seed draws one file of 20-120 series of one frequency: constant ones, counts with zeros,
seasonal ones, random walks that cross zero, some of two values, each with its own first time.

With ``--odd`` each seed draws a single series of a frequency none of the tables holds (2, 3, 4 and 12 hours,
90 and 20 minutes, 3 and 2 minutes, 30 and 15 seconds, 2 and 7 days, 2 and 4 weeks, half-years, two-yearly)
with the cycle such data have (the day, the hour, the year; five steps for two-yearly data):

    .venv/bin/python benchmarks/probe_forecast_random.py --odd 1 2 3 ... 16

With ``--hard`` each seed draws a single series with what real series have and the other draws lack: a
season whose shape wanders, level shifts, outliers, a cycle whose length and height change from one cycle to
the next (as sunspots'), counts with a seasonal rate, a random walk at a seasonal frequency, a damped trend,
noise that grows with the level; at lengths such as the M competitions' (2 to 12 years of quarters or months,
20 to 60 years, a few hundred days or hours):

    .venv/bin/python benchmarks/probe_forecast_random.py --hard 1 2 3 ... 40
    .venv/bin/python benchmarks/probe_forecast_random.py --hard --outliers replace 1 2 3 ... 40  # data.outliers

Figures: ``benchmarks/RESULTS_forecast_long.md``.
"""

from __future__ import annotations

import json
import sys
import time
import warnings

import numpy as np
import pandas as pd

FREQ = {4: "QS", 5: "B", 7: "D", 12: "MS", 24: "h", 52: "W"}


def draw(seed: int) -> tuple[pd.DataFrame, int, int]:
    """The series of ``seed`` (a time and a value column), its horizon and the season it was drawn with."""
    rng = np.random.default_rng(seed)
    m = int(rng.choice([4, 7, 12, 24, 52, 5]))
    n = int(rng.integers(max(3 * m, 40), 700 if m < 52 else 400))
    t = np.arange(n)
    amp, trend, noise = rng.uniform(0, 1), rng.normal(0, 0.01), rng.uniform(0.02, 0.3)
    multiplicative = rng.random() < 0.5
    base = 100 * np.exp(trend * t) if rng.random() < 0.5 else 100 + trend * 100 * t
    season = np.sin(2 * np.pi * t / m + rng.uniform(0, 6)) + 0.5 * np.sin(4 * np.pi * t / m)
    y = base * (1 + 0.3 * amp * season) if multiplicative else base + 30 * amp * season
    y = y + np.cumsum(rng.normal(0, noise * 3, n)) * (rng.random() < 0.5) + rng.normal(0, noise * 20, n)
    h = int(rng.choice([m, max(1, m // 2), 2 * m if m <= 12 else m, 6]))
    return pd.DataFrame({"t": pd.date_range("2015-01-05", periods=n, freq=FREQ[m]), "y": y}), h, m


#: frequencies the tables do not hold, and the cycle in steps each is drawn with
ODD = [("2h", 12), ("3h", 8), ("4h", 6), ("12h", 2), ("90min", 16), ("20min", 72), ("3min", 480), ("2min", 30),
       ("30s", 120), ("15s", 240), ("2D", 7), ("7D", 52), ("2W", 26), ("4W", 13), ("6MS", 2), ("2YS", 5)]


def draw_odd(seed: int) -> tuple[pd.DataFrame, int, int]:
    """The series of ``seed`` at one of the :data:`ODD` frequencies, its horizon and the cycle drawn."""
    rng = np.random.default_rng(5000 + seed)
    freq, m = ODD[int(rng.integers(len(ODD)))]
    n = int(rng.integers(max(4 * m, 40), max(4 * m + 300, 700) if freq not in ("6MS", "2YS") else 120))
    t = np.arange(n)
    amp, noise = rng.uniform(0.2, 1), rng.uniform(0.02, 0.3)
    wave = np.sin(2 * np.pi * t / m + rng.uniform(0, 6)) + 0.5 * np.sin(4 * np.pi * t / m)
    y = 100 + rng.normal(0, 0.02) * t + 30 * amp * wave + np.cumsum(rng.normal(0, noise * 3, n)) * (rng.random() < 0.5)
    y = y + rng.normal(0, noise * 20, n)
    h = int(rng.choice([max(1, m // 2), m if m <= 48 else 12, 6]))
    return pd.DataFrame({"t": pd.date_range("2021-03-01", periods=n, freq=freq), "y": y}), h, m


HARD_KINDS = ("wandering_season", "level_shift", "outliers", "quasi_cycle", "seasonal_counts", "random_walk",
              "damped_trend", "growing_noise")
#: season -> (frequency, shortest and longest history)
HARD_FREQ = {1: ("YS", 20, 60), 4: ("QS", 24, 100), 12: ("MS", 48, 150), 7: ("D", 120, 600), 24: ("h", 240, 900)}


def draw_hard(seed: int, spikes: bool = True) -> tuple[pd.DataFrame, int, int, str]:
    """The series of ``seed`` with one of the :data:`HARD_KINDS` troubles, its horizon, season and kind;
    ``spikes=False``: an ``outliers`` draw without its outliers (drawn all the same: the rest is unchanged)."""
    rng = np.random.default_rng(9000 + seed)
    kind = HARD_KINDS[int(rng.integers(len(HARD_KINDS)))]
    m = int(rng.choice([1, 4, 12, 7, 24])) if kind == "quasi_cycle" else int(rng.choice([4, 12, 7, 24]))
    freq, lo, hi = HARD_FREQ[m]
    n = int(rng.integers(lo, hi))
    t = np.arange(n)
    h = {1: 6, 4: 8, 12: 18, 7: 14, 24: 48}[m]
    shape = np.sin(2 * np.pi * np.arange(max(m, 1)) / max(m, 1) + rng.uniform(0, 6)) + rng.normal(0, 0.3, max(m, 1))
    level = 100 + np.cumsum(rng.normal(0, rng.uniform(0.2, 2), n))
    noise = rng.normal(0, rng.uniform(1, 6), n)
    amp = rng.uniform(5, 30)
    if kind == "wandering_season":  # the seasonal indices move by a random walk of their own
        idx = shape[None, :] + np.cumsum(rng.normal(0, 0.15, (n // m + 1, m)), axis=0)
        y = level + amp * idx.ravel()[:n] + noise
    elif kind == "level_shift":  # one or two shifts of several noise widths
        y = level + amp * shape[t % m] + noise
        for at in rng.integers(n // 4, n - h, int(rng.integers(1, 3))):
            y[at:] += rng.choice([-1, 1]) * rng.uniform(15, 40)
    elif kind == "outliers":  # a few points far off, a few per cent of the history
        y = level + amp * shape[t % m] + noise
        hit = rng.choice(n, max(2, n // 40), replace=False)
        y[hit] += rng.choice([-1, 1], len(hit)) * rng.uniform(40, 120, len(hit)) * spikes
    elif kind == "quasi_cycle":  # cycles of 9 to 13 steps (or seasons), each of its own height, never below 0
        lengths = rng.integers(9, 14, n // 9 + 2) * max(m, 1)
        phase = np.concatenate([np.linspace(0, 2 * np.pi, L, endpoint=False) for L in lengths])[:n]
        heights = np.repeat(rng.uniform(40, 160, len(lengths)), lengths)[:n]
        y = np.maximum(heights * (1 - np.cos(phase)) / 2 + noise * 2 + 5, 0)
        if m > 1:
            y = y + amp * 0.3 * shape[t % m]
    elif kind == "seasonal_counts":  # Poisson counts whose rate follows the season, many zeros
        rate = np.exp(rng.uniform(-1, 1.5) + 0.8 * shape[t % m])
        y = rng.poisson(rate).astype(float)
    elif kind == "random_walk":  # no season at all, though the calendar has one
        y = level + np.cumsum(rng.normal(0, 2, n)) + noise * 0.3
    elif kind == "damped_trend":  # a trend that levels off, with a season
        slope = rng.uniform(-2, 3)
        y = 100 + slope * 30 * (1 - 0.97 ** t) + amp * shape[t % m] + noise
    else:  # growing_noise: multiplicative season on a growing level, noise in proportion
        lv = 50 * np.exp(rng.uniform(0.002, 0.02) * t)
        y = lv * (1 + 0.2 * shape[t % m]) * np.exp(rng.normal(0, rng.uniform(0.03, 0.12), n))
    start = "1950-01-01" if m == 1 else "2005-01-01"
    return pd.DataFrame({"t": pd.date_range(start, periods=n, freq=freq), "y": y}), h, m, kind


def draw_panel(seed: int) -> tuple[pd.DataFrame, int, int]:
    """The long table (id, t, y) of ``seed``'s panel, its horizon and season."""
    rng = np.random.default_rng(1000 + seed)
    m = int(rng.choice([4, 7, 12, 24]))
    rows = []
    for k in range(int(rng.integers(20, 120))):
        n = int(rng.integers(2, 4 * m + 200))
        start = pd.Timestamp("2016-01-04") + pd.tseries.frequencies.to_offset(FREQ[m]) * int(rng.integers(0, 50))
        t = pd.date_range(start, periods=n, freq=FREQ[m])
        kind, lvl = rng.integers(0, 5), rng.uniform(1, 1000)
        s = np.sin(2 * np.pi * np.arange(n) / m + rng.uniform(0, 6))
        y = (np.full(n, lvl) if kind == 0 else rng.poisson(rng.uniform(0.1, 3), n).astype(float) if kind == 1 else
             lvl * (1 + 0.3 * s) + rng.normal(0, lvl * 0.05, n) if kind == 2 else
             np.cumsum(rng.normal(0, 1, n)) + 0.5 * s if kind == 3 else
             lvl + 0.2 * lvl * s + np.cumsum(rng.normal(0, lvl * 0.02, n)))
        rows += [(f"s{k}", d, v) for d, v in zip(t, y)]
    return pd.DataFrame(rows, columns=["id", "t", "y"]), int(rng.choice([m, max(1, m // 2), 6])), m


def main(argv: list[str]) -> int:
    from lstmkit import Forecaster

    mode = argv[0] if argv and argv[0] in ("--panel", "--odd", "--hard") else ""
    panel = mode == "--panel"
    argv = argv[1:] if mode else argv
    extra = {}
    if argv[:1] == ["--outliers"] and len(argv) > 1:  # data.outliers (replace: the models read them cleaned)
        extra, argv = {"outliers": argv[1]}, argv[2:]
    if not argv or not all(a.isdigit() for a in argv):
        print(__doc__)
        return 2
    warnings.simplefilter("ignore")
    for seed in map(int, argv):
        kind = None
        if mode == "--hard":
            df, h, m, kind = draw_hard(seed)
        else:
            df, h, m = draw_panel(seed) if panel else draw_odd(seed) if mode == "--odd" else draw(seed)
        f = Forecaster(horizon=h, progress_bar=False, **extra)
        t0 = time.perf_counter()
        try:
            f.backtest(df, time="t", target="y", **({"id": "id"} if panel else {}))
        except Exception as e:  # noqa: BLE001 - the point is to record what raises
            print(json.dumps({"seed": seed, "kind": kind, "values": len(df), "season_drawn": m, "horizon": h,
                              "error": f"{type(e).__name__}: {e}"[:300]}), flush=True)
            continue
        ev = f.evaluate()
        core = f.backtest_.cores[0]
        mase = {k: round(ev[k]["mase"], 3) for k in ["model", *ev["peers"]]}
        print(json.dumps({"seed": seed, "kind": kind, "values": len(df), "series": int(df["id"].nunique()) if panel else 1,
                          "step": str(df["t"].iloc[1] - df["t"].iloc[0]),
                          "season_drawn": m, "horizon": h, "season": ev["season"],
                          "origins": ev["origins"], "chosen": core.chosen,
                          "validation": {k: round(v, 3) for k, v in core.scores.items()}, "mase": mase,
                          "over_seasonal_naive": round(mase["model"] / mase["seasonal_naive"], 3),
                          "notes": [n[:160] for n in ev.get("notes", [])],
                          "seconds": round(time.perf_counter() - t0, 1)}), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
