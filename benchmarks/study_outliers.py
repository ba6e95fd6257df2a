"""Would the forecaster gain from cleaning outliers out of the history it reads?  A study, not a default.

``probe_forecast_random.py --hard`` found the defaults weakest on series with outliers (a few points far off,
2.5 % of the history): 6 of 18 such draws lost to seasonal naive. A model that reads a history with a spike in
it carries the spike into its level (naive, Theta, the level-anchored LSTM, ETS with a high smoothing weight)
or its fit (ARIMA's parameters), while seasonal naive copies it into one step a season only.

This script tries the remedy that forecasting tools offer (R's ``tsclean``, X-13's outlier regressors) in a
form a backtest can use honestly: :func:`causal_clean` judges each value on the values *before* it only, so
the cleaned series seen up to an origin is what the cleaner would have made at that origin, and no test value
leaks into a forecast. Each value is compared with two predictions, seasonal naive moved by the median of the
last season's seasonal differences, one made from the cleaned values and one from the raw ones; a value more
than ``k`` robust deviations (1.4826 MAD of the residuals kept so far) from both, on the same side, is replaced
by the cleaned prediction, unless the raw value before it was off on the same side too: a *run* is a level
shift, and from its second value on it is kept. (Judged on the cleaned prediction alone, a level shift is an
outlier for ever: each replaced value becomes the next season's reference, and on one hourly draw it flagged
21 values after the shift.) Logs where every value is positive.

The forecaster is then backtested with every default on the cleaned values, and scored against the *raw*
actual values, beside seasonal naive on the raw values (the peer every table uses)::

    .venv/bin/python benchmarks/probe_forecast_random.py --hard 1 2 ... 80 > raw.jsonl   # as shipped
    .venv/bin/python benchmarks/study_outliers.py 1 2 ... 80 > cleaned.jsonl             # on cleaned values
    .venv/bin/python benchmarks/study_outliers.py --compare raw.jsonl cleaned.jsonl

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


def _predict(a: np.ndarray, t: int, m: int) -> float:
    """Seasonal naive at ``t`` from ``a[:t]``, moved by the median of the last season's seasonal differences
    (non-seasonal: the last value moved by the median of the last four steps)."""
    if m > 1:
        recent = [a[t - j] - a[t - j - m] for j in range(1, m + 1) if t - j - m >= 0]
        return float(a[t - m] + (np.median(recent) if recent else 0.0))
    return float(a[t - 1] + np.median(np.diff(a[max(0, t - 5):t])))


def causal_clean(y, season: int, k: float = 5.0) -> tuple[np.ndarray, list[int]]:
    """``(cleaned values, positions replaced)``; each value judged on the values before it only."""
    y = np.asarray(y, dtype=float)
    log = bool(np.all(y > 0))
    z = np.log(y) if log else y.copy()
    c = z.copy()
    m = max(int(season), 1)
    kept: list[float] = []
    replaced: list[int] = []
    before = 0  # the side the raw value before was off on (0: not off)
    for t in range(max(2 * m + 2, 8), len(z)):
        pc, pr = _predict(c, t, m), _predict(z, t, m)
        e, er = z[t] - pc, z[t] - pr
        s = 0.0
        if len(kept) >= 10:
            r = np.asarray(kept[-500:])
            s = 1.4826 * float(np.median(np.abs(r - np.median(r))))
        side = (1 if e > k * s else -1 if e < -k * s else 0) if s > 0 else 0
        side_raw = (1 if er > k * s else -1 if er < -k * s else 0) if s > 0 else 0
        if side and side == side_raw and side_raw != before:
            c[t] = pc
            replaced.append(t)
        else:
            kept.append(e)
        before = side_raw
    return (np.exp(c) if log else c), replaced


def run(seeds: list[int]) -> None:
    """Backtest each ``--hard`` draw on its cleaned values; one JSON line per seed, MASE on the raw actuals."""
    from probe_forecast_random import draw_hard

    from lstmkit import Forecaster
    from lstmkit.tasks.forecast.selection import series_scale

    warnings.simplefilter("ignore")
    for seed in seeds:
        df, h, m, kind = draw_hard(seed)
        raw = df["y"].to_numpy(dtype=float)
        cleaned, replaced = causal_clean(raw, m)
        f = Forecaster(horizon=h, progress_bar=False)
        f.backtest(df.assign(y=cleaned), time="t", target="y")
        fr = f.backtest_.frame
        first = len(df) - fr["origin"].nunique() - h + 1
        scale = series_scale(raw[:first], m)
        actual = raw[np.searchsorted(df["t"].to_numpy(), fr["time"].to_numpy())]
        mase = {k: round(float(np.mean(np.abs(actual - fr[k].to_numpy())) / scale), 3)
                for k in ("forecast", "seasonal_naive", "ets", "arima", "theta")}
        print(json.dumps({"seed": seed, "kind": kind, "replaced": len(replaced),
                          "chosen": f.backtest_.cores[0].chosen, "mase": mase}), flush=True)


def compare(raw_file: str, cleaned_file: str) -> str:
    """Markdown: the defaults on raw and on cleaned values against seasonal naive on the raw values."""
    raw = {r["seed"]: r for r in map(json.loads, Path(raw_file).read_text().splitlines()) if "error" not in r}
    cl = {r["seed"]: r for r in map(json.loads, Path(cleaned_file).read_text().splitlines())}
    seeds = sorted(set(raw) & set(cl))

    def tally(pairs: list[tuple[float, float]]) -> str:
        beat = sum(a < b for a, b in pairs)
        tie = sum(a == b for a, b in pairs)
        g = math.exp(sum(math.log(a / b) for a, b in pairs) / len(pairs))
        return f"{beat} / {tie} / {len(pairs) - beat - tie} | {g:.3f}"

    by = defaultdict(list)
    for s in seeds:
        by[raw[s]["kind"]].append(s)
    lines = ["| draws | n | values replaced | raw: beat / tie / lose | geo. mean over s. naive | "
             "cleaned: beat / tie / lose | geo. mean over s. naive |", "|---|---|---|---|---|---|---|"]
    for name, ss in [("all", seeds), *sorted(by.items())]:
        sn = {s: raw[s]["mase"]["seasonal_naive"] for s in ss}
        lines.append(f"| {name} | {len(ss)} | {sum(cl[s]['replaced'] for s in ss)} | "
                     f"{tally([(raw[s]['mase']['model'], sn[s]) for s in ss])} | "
                     f"{tally([(cl[s]['mase']['forecast'], sn[s]) for s in ss])} |")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    if argv[:1] == ["--compare"] and len(argv) == 3:
        print(compare(argv[1], argv[2]))
        return 0
    if not argv or not all(a.isdigit() for a in argv):
        print(__doc__)
        return 2
    run([int(a) for a in argv])
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
