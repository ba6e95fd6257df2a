"""Forecasting: one or many series in, backtested LSTM forecasts, baselines, plots and a report out.

See :func:`train`, :class:`Forecaster` and :class:`ForecastConfig`.
"""

from .config import BacktestConfig, DataConfig, ForecastConfig, ModelConfig

__all__ = ["ForecastConfig", "DataConfig", "ModelConfig", "BacktestConfig", "train", "backtest", "Forecaster",
           "TrainResult"]


def __getattr__(name):  # torch and Lightning load on first use
    if name in ("train", "backtest", "Forecaster", "TrainResult"):
        from . import api

        return getattr(api, name)
    raise AttributeError(f"module 'lstmkit.tasks.forecast' has no attribute {name!r}")
