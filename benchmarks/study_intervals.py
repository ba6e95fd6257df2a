"""How well the forecaster's prediction intervals cover, and rules that could make them cover better.

Each case of ``eval_forecast.py`` (the shipped series, the generated unseen ones and the M3 draw) is
backtested once with the defaults (``Forecaster(horizon=h, start=...)``). The chosen model's validation
errors (``CoreFit.val_errors``, the errors the intervals are made from) and the backtest's point
forecasts then give the intervals of every rule below on the same rows, and their coverage of the
actual values:

- ``empirical`` (the rule in use): per step, the quantiles of that step's validation errors;
- ``pooled``: per step, the errors divided by that step's standard deviation are pooled over all steps
  (H times as many errors for the tails), and their quantiles are scaled back by each step's deviation;
- ``conformal``: ``empirical`` with the finite-sample rank of split conformal prediction
  (the ``ceil((n + 1) u)``-th of ``n`` errors for an upper level ``u``, the mirror for a lower one);
- ``pooled+conformal``: both (the band of every candidate but a chosen statistical model, and of those too
  with ``intervals validation``);
- ``model``: a chosen statistical model (ETS, ARIMA, Theta) gives its own intervals (statsforecast's
  ``level``) at every backtest origin; any other choice keeps ``pooled+conformal`` (``intervals model``);
- ``wider``: the wider of ``model`` and ``pooled+conformal`` at each bound (``intervals wider``).

The backtest runs with ``intervals model``; its quantile columns are the ``model`` bands.

    .venv/bin/python benchmarks/study_intervals.py            # every case, then the table
    .venv/bin/python benchmarks/study_intervals.py --cached   # the table from the saved errors

The errors do not depend on the rule in use (it only turns them into bands), so the table compares the
rules on one set of fits whichever rule the forecaster has.

Writes ``benchmarks/out/study_intervals.json`` (the errors and forecasts, machine-local) and prints a
Markdown table for ``benchmarks/RESULTS_intervals.md``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from eval_forecast import CASES, OUT, frame  # noqa: E402

PAIRS = ((0.025, 0.975, 95), (0.1, 0.9, 80))
RULES = ("empirical", "pooled", "conformal", "pooled+conformal", "model", "wider")


def collect(name: str) -> dict:
    """One default backtest of case ``name``: its validation errors and its rows."""
    from lstmkit import Forecaster
    from lstmkit.tasks.forecast.selection import series_scale

    _, horizon, start = CASES[name]
    df, cols = frame(name)
    f = Forecaster(horizon=horizon, start=start, progress_bar=False, intervals="model")
    bt = f.backtest(df, **cols)
    core = f.backtest_.cores[0]
    data = f.backtest_data_
    s = data.series[0]
    st = f.backtest_.starts[0]
    return {"case": name, "errors": None if core.val_errors is None else np.asarray(core.val_errors).tolist(),
            "log": bool(core.interval_log), "scale": float(series_scale(s.values[:st], core.plan.season)),
            "chosen": core.chosen, "step": bt["step"].tolist(), "actual": bt["actual"].tolist(),
            "forecast": bt["forecast"].tolist(), "nonneg": bool(np.min(s.values[:st]) >= 0),
            "model": {f"{q:g}": bt[f"q{q:g}"].tolist() for lo, hi, _ in PAIRS for q in (lo, hi)}}


def offsets(e: np.ndarray, rule: str, lo: float, hi: float) -> tuple[np.ndarray, np.ndarray]:
    """Per-step lower and upper offsets (error units) of the band (lo, hi) under ``rule``
    (``pooled+conformal``: the forecaster's own, :func:`lstmkit.tasks.forecast.selection.interval_offsets`)."""
    from lstmkit.tasks.forecast.selection import interval_offsets, rank_quantile

    if rule == "pooled+conformal":
        o = interval_offsets(e, (lo, hi))
        return o[lo], o[hi]
    H = e.shape[1]
    q = rank_quantile if rule == "conformal" else (lambda x, lv: float(np.quantile(x, lv)))
    if rule == "pooled":
        sd = np.maximum(e.std(axis=0), 1e-12)
        mu = e.mean(axis=0)
        z = ((e - mu) / sd).ravel()
        return mu + sd * q(z, lo), mu + sd * q(z, hi)
    return (np.array([q(e[:, h], lo) for h in range(H)]), np.array([q(e[:, h], hi) for h in range(H)]))


def coverage(rec: dict, rule: str) -> dict:
    e = np.asarray(rec["errors"], dtype=float)
    step = np.asarray(rec["step"]) - 1
    a, p = np.asarray(rec["actual"]), np.asarray(rec["forecast"])
    out = {}
    for lo, hi, nominal in PAIRS:
        r_lo, r_hi = offsets(e, "pooled+conformal" if rule in ("model", "wider") else rule, lo, hi)
        if rec["log"] and np.all(p > 0):
            low, high = np.exp(np.log(p) + r_lo[step]), np.exp(np.log(p) + r_hi[step])
        else:
            low, high = p + r_lo[step] * rec["scale"], p + r_hi[step] * rec["scale"]
        low, high = np.minimum(low, p), np.maximum(high, p)  # as the forecaster tidies its bands
        if rec["nonneg"]:
            low, high = np.maximum(low, 0), np.maximum(high, 0)
        if rule in ("model", "wider"):  # the backtest's own columns (already tidied)
            m_lo, m_hi = np.asarray(rec["model"][f"{lo:g}"]), np.asarray(rec["model"][f"{hi:g}"])
            low, high = (m_lo, m_hi) if rule == "model" else (np.minimum(low, m_lo), np.maximum(high, m_hi))
        out[f"coverage_{nominal}"] = 100 * float(np.mean((a >= low) & (a <= high)))
        out[f"width_{nominal}"] = float(np.mean(high - low) / rec["scale"])
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cached", action="store_true", help="read the saved errors instead of backtesting again")
    args = ap.parse_args()
    path = OUT / "study_intervals.json"
    if args.cached:
        records = json.loads(path.read_text())
    else:
        records = []
        for name in CASES:
            print(f"backtesting {name} ...", file=sys.stderr, flush=True)
            records.append(collect(name))
        OUT.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(records))
    records = [r for r in records if r["errors"]]
    print("| case | chosen | errors per step | " + " | ".join(f"{r} 95 / 80" for r in RULES) + " |")
    print("|---|---|---|" + "---|" * len(RULES))
    sums = {r: [] for r in RULES}
    for rec in records:
        cells = []
        for rule in RULES:
            c = coverage(rec, rule)
            sums[rule].append(c)
            cells.append(f"{c['coverage_95']:.0f} / {c['coverage_80']:.0f}")
        print(f"| {rec['case']} | {rec['chosen']} | {len(rec['errors'])} | " + " | ".join(cells) + " |")
    from lstmkit.tasks.forecast.classical import STATISTICAL

    stat = [i for i, rec in enumerate(records) if rec["chosen"] in STATISTICAL]
    naive = [i for i, rec in enumerate(records) if rec["chosen"] in ("naive", "seasonal_naive")]
    for title, rows in ((f"mean over {len(records)} cases", range(len(records))),
                        (f"mean over the {len(stat)} with a statistical model chosen", stat),
                        (f"mean over the {len(naive)} with naive or seasonal naive chosen", naive)):
        if not rows:
            continue
        cells = []
        for rule in RULES:
            cs = [sums[rule][i] for i in rows]
            cells.append(f"**{np.mean([c['coverage_95'] for c in cs]):.1f} / {np.mean([c['coverage_80'] for c in cs]):.1f}**"
                         f" (width {np.mean([c['width_95'] for c in cs]):.2f} / {np.mean([c['width_80'] for c in cs]):.2f})")
        print(f"| {title} | | | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
