"""Train one global forecaster on many small series with N processes (Lightning DDP, gloo on CPU); save the weights.

Run by ``tests/test_forecast_global.py`` as ``python forecast_ddp_worker.py OUT.safetensors N``; Lightning's
launcher starts the extra processes by running this file again, so it only trains and saves.
"""

from __future__ import annotations

import os
import sys

import numpy as np


def main(out: str, devices: int) -> None:
    import pandas as pd
    from safetensors.torch import save_file

    from lstmkit.data.series import load_series
    from lstmkit.tasks.forecast.lstm_fit import LSTMSetup, fit_lstm
    from lstmkit.train import TrainConfig

    rng = np.random.default_rng(0)
    rows = []
    for k in range(12):
        t = np.arange(40)
        y = 10 + k + 3 * np.sin(2 * np.pi * t / 6 + k) + rng.normal(0, 0.3, 40)
        rows += [{"id": f"s{k}", "t": int(i), "y": float(v)} for i, v in zip(t, y)]
    data = load_series(pd.DataFrame(rows), target="y", time="t", id="id")
    setup = LSTMSetup(input_size=12, season=6, hidden_size=8, log=True, scaling="none", backend="torch",
                      calendar=False)
    cfg = TrainConfig(epochs=3, batch_size=16, lr=1e-2, progress_bar=False, num_threads=1, accelerator="cpu",
                      devices=str(devices), strategy="ddp" if devices > 1 else "auto", deterministic=True)
    fit = fit_lstm(setup, data, [40] * 12, 4, cfg, batches=5)
    if os.environ.get("LOCAL_RANK", "0") == "0":
        save_file({k: v.contiguous() for k, v in fit.model.state_dict().items()}, out)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
