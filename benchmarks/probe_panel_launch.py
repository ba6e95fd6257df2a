"""A retail panel with a product launched just before the validation origins, through the defaults.

Twelve weekly series with a yearly season (levels 50-160) and one product that sold nothing for three years and
then about 20 a week from ten weeks before the end of the training data, so its first sales fall one week before
the inner validation's origins (horizon 6, four origins). ``lstmkit.Forecaster(horizon=6)`` is fitted on the
first 156 weeks and evaluated on the next 6, beside the peers; one JSON line per seed gives the choice, its
validation scores and the test MASE of the model and of each peer.

A panel gets one choice for all its series. Scored by the plain mean of per-series validation MASE, the launch
(MASE 10 and more for every candidate but the naive forecast) decided it: naive for all thirteen series.

    .venv/bin/python benchmarks/probe_panel_launch.py 0 1 2      # seeds (about a minute each)

Figures: ``benchmarks/RESULTS_forecast_long.md``.
"""

from __future__ import annotations

import json
import sys
import warnings

import numpy as np
import pandas as pd

WEEKS, TRAIN, LAUNCH = 162, 156, 146


def panel(seed: int) -> pd.DataFrame:
    """The long table (date, id, sales) of ``seed``'s panel: training weeks and the six that follow."""
    rng = np.random.default_rng(seed)
    t = pd.date_range("2020-01-05", periods=WEEKS, freq="W-SUN")
    frames = []
    for k in range(12):
        y = (50 + 10 * k) * (1 + 0.3 * np.sin(2 * np.pi * np.arange(WEEKS) / 52.18 + k)) + rng.normal(0, 3, WEEKS)
        frames.append(pd.DataFrame({"date": t, "id": f"s{k}", "sales": np.maximum(y, 0)}))
    launch = np.zeros(WEEKS)
    launch[LAUNCH:] = 20 + rng.normal(0, 2, WEEKS - LAUNCH)
    frames.append(pd.DataFrame({"date": t, "id": "new", "sales": launch}))
    return pd.concat(frames, ignore_index=True)


def main(argv: list[str]) -> int:
    from lstmkit import Forecaster

    if not argv or not all(a.isdigit() for a in argv):
        print(__doc__)
        return 2
    warnings.simplefilter("ignore")
    cols = dict(time="date", target="sales", id="id")
    for seed in map(int, argv):
        df = panel(seed)
        cut = df["date"].sort_values().unique()[TRAIN]
        f = Forecaster(horizon=6, progress_bar=False)
        f.fit(df[df["date"] < cut], **cols)
        ev = f.evaluate(df[df["date"] >= cut], **cols)
        c = f.choice_
        print(json.dumps({"seed": seed, "chosen": c["chosen"], "relative": c.get("relative", False),
                          "validation": {k: round(v, 3) for k, v in c["validation"].items()},
                          "mase": {k: round(ev[k]["mase"], 3) for k in ["model", *ev["peers"]]}}), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
