"""Would rule ``short`` (``study_selection.py``) help the series of the default's own tables?

Rule ``short`` forecasts with the mean of AutoETS, AutoARIMA and AutoTheta wherever a seasonal series' first
validation origin has fewer than three seasons of history. This script backtests cases of ``eval_forecast.py``
and ``probe_forecast_kinds.py`` with every default and prints, one JSON line each, whether the rule would fire
(the plan's season and typical history before the first validation origin), the default's test MASE, and the
MASE of the statistical mean on the same windows (the backtest's own peer columns averaged). Figures and the
reading: ``benchmarks/RESULTS_selection.md``.

    .venv/bin/python benchmarks/probe_short_rule.py biweekly weekly_short semimonthly weekly_yearly shampoo bimonthly
"""

from __future__ import annotations

import json
import sys

import numpy as np

import eval_forecast as EF
import probe_forecast_kinds as PK
from study_selection import SHORT_SEASONS


def run(name: str, df, cols: dict, horizon: int, start: str | None) -> dict:
    from lstmkit import Forecaster

    f = Forecaster(horizon=horizon, progress_bar=False)
    frame = f.backtest(df, start=start, **cols) if start else f.backtest(df, **cols)
    core = f.backtest_.cores[0]
    plan = core.plan
    first = int(np.median(core.ends)) - plan.horizon - plan.val_windows + 1
    m = f.evaluate()
    actual = frame["actual"].to_numpy()
    scale = np.mean(np.abs(actual - frame["forecast"].to_numpy())) / m["model"]["mase"]  # one series: one scale
    stats = [c for c in ("ets", "arima", "theta") if c in frame.columns]
    mean = frame[stats].mean(axis=1).to_numpy()
    return {"case": name, "season": plan.season, "history_at_first_validation_origin": first,
            "fires": bool(plan.season > 1 and first < SHORT_SEASONS * plan.season), "chosen": core.chosen,
            "mase_default": round(m["model"]["mase"], 3),
            "mase_statistical_mean": round(float(np.mean(np.abs(actual - mean))) / scale, 3),
            "peers": {k: round(m[k]["mase"], 3) for k in stats}}


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__)
        return 2
    for c in argv:
        if c in EF.CASES:
            _, h, start = EF.CASES[c]
            df, cols = EF.frame(c)
            print(json.dumps(run(c, df, cols, h, start)), flush=True)
        else:
            df, h = PK.case(c)
            print(json.dumps(run(c, df, dict(time=df.columns[0], target=df.columns[1]), h, None)), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
