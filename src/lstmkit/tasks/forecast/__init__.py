"""Forecasting: one or many series in, a model chosen against classical forecasters, forecasts, backtests and a report out.

See :class:`lstmkit.Forecaster` (``lstmkit.tasks.forecast.estimator``) and :class:`ForecastConfig`.
"""

from .config import BacktestConfig, DataConfig, ForecastConfig, ModelConfig, SelectConfig

__all__ = ["ForecastConfig", "DataConfig", "ModelConfig", "SelectConfig", "BacktestConfig", "Forecaster"]


def __getattr__(name):  # torch, pandas and Lightning load on first use
    if name == "Forecaster":
        from .estimator import Forecaster

        return Forecaster
    raise AttributeError(f"module 'lstmkit.tasks.forecast' has no attribute {name!r}")
