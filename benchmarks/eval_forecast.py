"""Single series with the defaults: the shipped ones and series nobody tuned on, beside the peers.

    .venv/bin/python benchmarks/eval_forecast.py                     # every case, writes benchmarks/RESULTS_forecast.md
    .venv/bin/python benchmarks/eval_forecast.py --case airline --case halfhourly
    .venv/bin/python benchmarks/eval_forecast.py --group unseen
    .venv/bin/python benchmarks/eval_forecast.py --case sunspots --seeds 0,100,200,300,400   # RESULTS_forecast_seeds.md

Every case runs ``lstmkit.Forecaster(horizon=h)`` with every other setting
at its default (season, window, transform, model choice all derived from the
data) through ``Forecaster.backtest``: the forecaster is fitted, model choice
included, on the data before the first origin only, then forecasts from every
origin (stride 1) reading the actual history up to it; naive, seasonal naive
and statsforecast's AutoETS, AutoARIMA and AutoTheta forecast the same
windows. The protocol (horizon, first origin) is the case's, the same for
everybody. Each case runs in its own process.

Cases:

- shipped: airline (monthly), sunspots (yearly, an ~11-year cycle), shampoo (36 months);
- unseen: series generated here with a fixed seed and never looked at while
  the defaults were set: an annual series with a 10-year cycle, a monthly series
  with trend and multiplicative season, a half-hourly series with a daily cycle
  that is zero at night (season 48, horizon 48), a daily series with a weekly
  pattern, a weekly series with a yearly cycle, a quarterly series; and M3
  series (monthly and yearly, picked by a fixed random draw) as single series,
  forecast once from the end of their training part.

The bars (issue 12): beat seasonal naive on MASE on each case, and for the
shipped series stay within 5 % of the best statsforecast model's MASE.

``--seeds`` asks whether a case's outcome is the training seed's doing: the
same protocol once per seed (``train__seed``, the only argument added), one
row per case in ``benchmarks/RESULTS_forecast_seeds.md``. An LSTM set-up's
ensemble trains its networks from consecutive seeds starting at it, so seeds
closer than the ensemble size share networks: space them (0,100,200,...).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

from pages import write_keeping_repeats

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
OUT = ROOT / "benchmarks" / "out"

#: name -> (group, horizon, first origin); the data come from `frame(name)`
CASES = {
    "airline": ("shipped", 6, "1959-01"),
    "sunspots": ("shipped", 11, "-30"),
    "shampoo": ("shipped", 6, "-12"),
    "annual_cycle10": ("unseen", 10, "-30"),
    "monthly_trend_season": ("unseen", 12, "-36"),
    "halfhourly_daily": ("unseen", 48, "-144"),
    "daily_weekly": ("unseen", 14, "-56"),
    "weekly_yearly": ("unseen", 13, "-52"),
    "quarterly": ("unseen", 8, "-16"),
}
M3_DRAW = {"monthly": (18, 4), "yearly": (6, 4)}  # horizon, number of series drawn (seed 1)


def _m3_cases() -> dict:
    rng = np.random.default_rng(1)
    out = {}
    for freq, (h, n) in M3_DRAW.items():
        total = 1428 if freq == "monthly" else 645
        for i in sorted(rng.choice(total, n, replace=False)):
            out[f"m3_{freq}_{i}"] = ("unseen", h, f"-{h}")
    return out


CASES.update(_m3_cases())


def frame(name: str):
    """(DataFrame, column keywords) of a case."""
    import pandas as pd

    if name == "airline":
        return pd.read_csv(SHARED / "series" / "airline.csv"), {"time": "Date", "target": "Passengers"}
    if name == "sunspots":
        return pd.read_csv(SHARED / "series" / "sunspots.csv"), {"time": "YEAR", "target": "SUNACTIVITY"}
    if name == "shampoo":
        return pd.read_csv(SHARED / "series" / "shampoo.csv"), {"time": "Time", "target": "Sales"}
    if name.startswith("m3_"):
        _, freq, i = name.split("_")
        tr = pd.read_csv(SHARED / "m3" / f"m3_{freq}_train.csv")
        te = pd.read_csv(SHARED / "m3" / f"m3_{freq}_test.csv")
        sid = sorted(tr["series"].unique())[int(i)]
        df = pd.concat([tr[tr["series"] == sid], te[te["series"] == sid]])[["t", "value"]]
        return df.reset_index(drop=True), {"time": "t", "target": "value"}
    rng = np.random.default_rng(12345)
    if name == "annual_cycle10":
        n = 120
        t = np.arange(n)
        y = 50 + 30 * np.sin(2 * np.pi * t / 10 + 1) + np.cumsum(rng.normal(0, 2, n)) + rng.normal(0, 5, n)
        return pd.DataFrame({"year": 1900 + t, "v": y}), {"time": "year", "target": "v"}
    if name == "monthly_trend_season":
        n = 180
        t = np.arange(n)
        y = (100 + 0.8 * t) * (1 + 0.25 * np.sin(2 * np.pi * t / 12)) * np.exp(rng.normal(0, 0.04, n))
        return pd.DataFrame({"m": pd.date_range("2000-01", periods=n, freq="MS"), "v": y}), {"time": "m", "target": "v"}
    if name == "halfhourly_daily":
        n = 48 * 28
        t = np.arange(n)
        day = np.maximum(np.sin(2 * np.pi * (t % 48 - 12) / 48), 0)  # zero at night
        y = 20 * day * (1 + 0.2 * np.sin(2 * np.pi * t / (48 * 7))) * np.exp(rng.normal(0, 0.1, n))
        return (pd.DataFrame({"ts": pd.date_range("2021-03-01", periods=n, freq="30min"), "v": y}),
                {"time": "ts", "target": "v"})
    if name == "daily_weekly":
        n = 730
        t = np.arange(n)
        y = (200 + 30 * np.sin(2 * np.pi * t / 365.25) + np.array([0, 5, 8, 6, 10, 40, 30])[t % 7]
             + np.cumsum(rng.normal(0, 2, n)) + rng.normal(0, 6, n))
        return pd.DataFrame({"d": pd.date_range("2019-01-01", periods=n, freq="D"), "v": y}), {"time": "d", "target": "v"}
    if name == "weekly_yearly":
        n = 260
        t = np.arange(n)
        y = 1000 + 200 * np.sin(2 * np.pi * t / 52.18) + np.cumsum(rng.normal(0, 15, n)) + rng.normal(0, 30, n)
        return pd.DataFrame({"w": pd.date_range("2015-01-04", periods=n, freq="W"), "v": y}), {"time": "w", "target": "v"}
    if name == "quarterly":
        n = 80
        t = np.arange(n)
        y = ((500 + 3 * t + np.cumsum(rng.normal(0, 5, n))) * (1 + np.array([0.1, -0.05, 0.15, -0.2])[t % 4])
             + rng.normal(0, 8, n))
        return pd.DataFrame({"q": pd.date_range("2000-01", periods=n, freq="QS"), "v": y}), {"time": "q", "target": "v"}
    raise KeyError(name)


def run_case(name: str, seed: int | None = None) -> dict:
    from lstmkit import Forecaster
    from lstmkit.train.memory import peak_memory_mb

    group, horizon, start = CASES[name]
    df, cols = frame(name)
    f = Forecaster(horizon=horizon, start=start, progress_bar=False,
                   **({} if seed is None else {"train__seed": seed}))
    load0 = os.getloadavg()
    t0, c0 = time.perf_counter(), time.process_time()
    f.backtest(df, **cols)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    m = f.evaluate()
    core = f.backtest_.cores[0]
    peers = m["peers"]
    return {
        "case": name, "group": group, "horizon": horizon, "start": start, "origins": m["origins"],
        "season": m["season"], "season_reason": core.plan.season_reason, "window": core.plan.input_size,
        "chosen": core.chosen, "runner_up": core.runner_up, "validation": core.scores,
        "mase": {k: m[k]["mase"] for k in ["model", *peers]}, "smape": {k: m[k]["smape"] for k in ["model", *peers]},
        "verdict": m["verdict"]["text"], "seconds": round(wall, 1), "cpu_seconds": round(cpu, 1),
        "peak_memory_mb": round(peak_memory_mb(), 1), "load_average": [round(x, 2) for x in load0],
        "seed": seed,
    }


def judge(r: dict) -> tuple[bool, bool | None]:
    """(beats seasonal naive, within 5 % of the best statsforecast peer; None if not a bar for this case)."""
    mase = r["mase"]
    beats = mase["model"] < mase["seasonal_naive"]
    stats = [mase[k] for k in ("ets", "arima", "theta") if k in mase]
    near = mase["model"] <= 1.05 * min(stats) if stats and r["group"] == "shipped" else None
    return beats, near


def write_results(results: list[dict], command: str) -> Path:
    import torch

    from lstmkit.tasks.forecast.selection import label

    lines = [
        "# Forecasting with the defaults: shipped series and series nobody tuned on",
        "",
        f"Written by `benchmarks/eval_forecast.py`; this run: `{command}`.",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}; shared with other jobs "
        "(the load average at each case's start is in the JSON; times are upper bounds, CPU seconds are given too).",
        "",
        "Every case: `lstmkit.Forecaster(horizon=h, start=...)`, all else default, through `Forecaster.backtest` "
        "(fitted, model choice included, only on the data before the first origin; stride 1; the peers forecast "
        "the same windows). MASE per case (lower is better); the model column is whatever the forecaster chose "
        "on its own training data (named in the next column).",
        "",
        "| case | group | h | origins | season | chosen | MASE model | seasonal naive | naive | AutoETS | AutoARIMA | "
        "AutoTheta | beats s. naive | within 5 % of best peer | time (s, wall / CPU) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        m = r["mase"]
        beats, near = judge(r)
        cell = lambda k: f"{m[k]:.3f}" if k in m else "-"  # noqa: E731
        lines.append(f"| {r['case']} | {r['group']} | {r['horizon']} | {r['origins']} | {r['season']} | "
                     f"{label(r['chosen'])} | **{m['model']:.3f}** | {cell('seasonal_naive')} | {cell('naive')} | "
                     f"{cell('ets')} | {cell('arima')} | {cell('theta')} | {'yes' if beats else 'NO'} | "
                     f"{'-' if near is None else ('yes' if near else 'NO')} | {r['seconds']} / {r['cpu_seconds']} |")
    n = len(results)
    nb = sum(judge(r)[0] for r in results)
    shipped = [r for r in results if r["group"] == "shipped"]
    lines += ["", f"Beats seasonal naive on {nb} of {n} cases"
              + (f"; on the shipped series, within 5 % of the best statsforecast model on "
                 f"{sum(bool(judge(r)[1]) for r in shipped)} of {len(shipped)}." if shipped else "."), "",
              "Notes:", "",
              "- Nothing here was tuned per series: the only arguments are the horizon and the first origin of the "
              "protocol. The season, window, transform, network size and the choice between the LSTM set-ups, the "
              "statsforecast models and their combination are the forecaster's own, made on the data before the "
              "first origin. When the choice is a classical model, the model column is that model's forecasts "
              "(and equals its peer column).",
              "- The unseen series are generated in this script with a fixed seed (see `frame()`); they were not "
              "looked at while the defaults were set."
              + (" The M3 series are single series drawn by a fixed seed from both M3 files and forecast once "
                 "from the end of their training part." if any(r["case"].startswith("m3_") for r in results) else ""),
              "- Where a peer wins, the table says so; so does each run's report, in its first lines.",
              "",
              "Seasons and windows derived: " + "; ".join(f"{r['case']}: season {r['season']} ({r['season_reason']}), "
                                                           f"window {r['window']}" for r in results) + ".",
              "", "All figures:", "", "```json", json.dumps(results, indent=1), "```", ""]
    return write_keeping_repeats(ROOT / "benchmarks" / "RESULTS_forecast.md", "\n".join(lines))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--case", choices=sorted(CASES), action="append", help="run only these cases")
    p.add_argument("--group", choices=["shipped", "unseen"], help="run only this group")
    p.add_argument("--seeds", help="comma-separated training seeds: run each case once per seed and write "
                                   "benchmarks/RESULTS_forecast_seeds.md instead")
    p.add_argument("--one", choices=sorted(CASES), help=argparse.SUPPRESS)  # internal: one case, print JSON
    p.add_argument("--seed", type=int, help=argparse.SUPPRESS)  # internal: with --one
    args = p.parse_args()
    if args.one:
        print("RESULT " + json.dumps(run_case(args.one, args.seed)))
        return 0
    OUT.mkdir(parents=True, exist_ok=True)
    names = args.case or [k for k, v in CASES.items() if args.group in (None, v[0])]
    command = " ".join([".venv/bin/python", "benchmarks/eval_forecast.py", *sys.argv[1:]])
    if args.seeds:
        seeds = sorted({int(x) for x in args.seeds.split(",") if x.strip()})
        if any(b - a < 10 for a, b in zip(seeds, seeds[1:])):
            print("--seeds: seeds closer than 10 share ensemble networks (consecutive seeds from each); "
                  "space them, e.g. 0,100,200", file=sys.stderr)
            return 2
        runs = {}
        for name in names:
            runs[name] = []
            for seed in seeds:
                r = run_one(name, seed)
                if r is None:
                    return 1
                runs[name].append(r)
                print(f"{name} seed {seed}: chosen {r['chosen']}, MASE {r['mase']['model']:.3f} (seasonal naive "
                      f"{r['mase']['seasonal_naive']:.3f})", flush=True)
        print(f"results: {write_seeds(runs, command)}")
        return 0
    results = []
    for name in names:
        r = run_one(name)
        if r is None:
            return 1
        results.append(r)
        beats, near = judge(r)
        print(f"{name}: chosen {r['chosen']}, MASE {r['mase']['model']:.3f} (seasonal naive "
              f"{r['mase']['seasonal_naive']:.3f}, best peer {min(v for k, v in r['mase'].items() if k != 'model'):.3f})"
              f" beats s.naive: {beats}, near best: {near}; {r['seconds']} s ({r['cpu_seconds']} s CPU), "
              f"load {r['load_average'][0]}", flush=True)
    store = OUT / "forecast.json"
    try:
        earlier = json.loads(store.read_text())
    except (OSError, ValueError):
        earlier = []
    ran = {r["case"] for r in results}
    results = [r for r in earlier if r["case"] not in ran and r["case"] in CASES] + results
    results.sort(key=lambda r: list(CASES).index(r["case"]))
    store.write_text(json.dumps(results, indent=1))
    print(f"results: {write_results(results, command)}")
    return 0


def run_one(name: str, seed: int | None = None) -> dict | None:
    """One case in its own process (``--one``); None (and the error printed) if it failed."""
    extra = [] if seed is None else ["--seed", str(seed)]
    proc = subprocess.run([sys.executable, __file__, "--one", name, *extra], capture_output=True, text=True,
                          cwd=ROOT, env={**os.environ, "PYTHONWARNINGS": "ignore"})
    line = [x for x in proc.stdout.splitlines() if x.startswith("RESULT ")]
    if proc.returncode or not line:
        print(f"{name}: failed\n{proc.stderr[-3000:]}", file=sys.stderr)
        return None
    return json.loads(line[0][7:])


def write_seeds(runs: dict[str, list[dict]], command: str) -> Path:
    """``benchmarks/RESULTS_forecast_seeds.md``: per case, the outcome over training seeds."""
    import torch

    from lstmkit.tasks.forecast.selection import label

    lines = [
        "# Forecasting with the defaults: is a case's outcome the training seed's doing?",
        "",
        f"Written by `benchmarks/eval_forecast.py --seeds`; this run: `{command}`.",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}.",
        "",
        "Each case is `RESULTS_forecast.md`'s protocol (`lstmkit.Forecaster(horizon=h, start=...)`, all else "
        "default, through `Forecaster.backtest`) once per training seed (`train__seed`, the one argument added; the "
        "seeds are spaced so that no two runs share an ensemble network). The classical peers do not depend on the "
        "seed; the LSTM set-ups, and so the choice among candidates, may.",
        "",
        "| case | seeds | chosen (how often) | MASE model: min / median / max | seasonal naive | beats s. naive | "
        "validation score of the chosen: min / max |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, rs in runs.items():
        mase = sorted(r["mase"]["model"] for r in rs)
        sn = rs[0]["mase"]["seasonal_naive"]
        val = [r["validation"][r["chosen"]] for r in rs]
        beats = sum(r["mase"]["model"] < r["mase"]["seasonal_naive"] for r in rs)
        counts = Counter(r["chosen"] for r in rs)
        chosen = ", ".join(f"{label(k)}: {c}" for k, c in counts.items())
        lines.append(f"| {name} | {', '.join(str(r['seed']) for r in rs)} | {chosen} | {mase[0]:.3f} / "
                     f"{float(np.median(mase)):.3f} / {mase[-1]:.3f} | {sn:.3f} | {beats} of {len(rs)} | "
                     f"{min(val):.3f} / {max(val):.3f} |")
    steady = [n for n, rs in runs.items() if len({r["mase"]["model"] < r["mase"]["seasonal_naive"] for r in rs}) == 1]
    spread = max((max(r["mase"]["model"] for r in rs) - min(r["mase"]["model"] for r in rs)) for rs in runs.values())
    lines += ["", f"The verdict against seasonal naive is the same for every seed in {len(steady)} of {len(runs)} "
              f"cases; the widest spread of the model's MASE over the seeds is {spread:.3f}.",
              "", "All figures:", "", "```json", json.dumps(runs, indent=1), "```", ""]
    path = ROOT / "benchmarks" / "RESULTS_forecast_seeds.md"
    write_keeping_repeats(path, "\n".join(lines))
    return path


if __name__ == "__main__":
    sys.exit(main())
