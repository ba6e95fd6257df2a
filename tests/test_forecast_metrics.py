"""Forecast metrics and baselines against hand-computed values."""

from __future__ import annotations

import math

import numpy as np
import pytest

from lstmkit.tasks.forecast import metrics as M
from lstmkit.tasks.forecast.baselines import baseline_windows, naive, seasonal_naive

A = np.array([100.0, 200.0, 400.0])
F = np.array([110.0, 180.0, 400.0])  # errors 10, -20, 0


def test_mae_rmse():
    assert M.mae(A, F) == pytest.approx(10.0)  # (10 + 20 + 0) / 3
    assert M.rmse(A, F) == pytest.approx(math.sqrt(500 / 3))  # (100 + 400 + 0) / 3


def test_mape_smape():
    assert M.mape(A, F) == pytest.approx(100 * (0.1 + 0.1 + 0) / 3)
    # 2*10/210, 2*20/380, 0
    assert M.smape(A, F) == pytest.approx(100 * (20 / 210 + 40 / 380) / 3)
    assert math.isnan(M.mape([0.0, 1.0], [1.0, 1.0]))  # undefined with a zero actual
    assert M.smape([0.0], [0.0]) == 0.0


def test_mase_scale_and_value():
    history = np.array([1.0, 2.0, 4.0, 7.0, 11.0])
    assert M.mase_scale(history, 1) == pytest.approx((1 + 2 + 3 + 4) / 4)  # naive differences
    assert M.mase_scale(history, 2) == pytest.approx((3 + 5 + 7) / 3)  # seasonal differences, m = 2
    assert M.mase(A, F, 5.0) == pytest.approx(10.0 / 5.0)


def test_nan_actuals_are_ignored_and_shapes_checked():
    assert M.mae([1.0, np.nan, 3.0], [2.0, 100.0, 3.0]) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="same shape"):
        M.mae([1.0, 2.0], [1.0])
    with pytest.raises(ValueError, match="at least one actual"):
        M.mae([np.nan], [1.0])


def test_coverage_and_quantile_loss():
    a = np.array([1.0, 5.0, 10.0, 3.0])
    lo = np.array([0.0, 0.0, 0.0, 4.0])
    hi = np.array([2.0, 4.0, 10.0, 6.0])
    assert M.coverage(a, lo, hi) == pytest.approx(50.0)  # 1 in, 5 out, 10 on the edge, 3 out
    # pinball: q=0.1 forecast 2 against 1 -> (q-1)(1-2) = 0.9; q=0.9 forecast 2 against 4 -> 0.9*2 = 1.8
    assert M.quantile_loss(np.array([1.0]), {0.1: np.array([2.0])}) == pytest.approx(0.9)
    assert M.quantile_loss(np.array([4.0]), {0.1: np.array([2.0]), 0.9: np.array([2.0])}) == pytest.approx(
        (0.1 * 2 + 0.9 * 2) / 2)
    assert M.interval_pairs([0.025, 0.1, 0.5, 0.9, 0.975]) == [(0.025, 0.975, 95.0), (0.1, 0.9, 80.0)]


def test_baselines_exact():
    y = np.arange(1.0, 15.0)  # 1..14
    assert naive(y, 3).tolist() == [14.0, 14.0, 14.0]
    # season 4: the last season is 11, 12, 13, 14, repeated
    assert seasonal_naive(y, 6, 4).tolist() == [11.0, 12.0, 13.0, 14.0, 11.0, 12.0]
    assert seasonal_naive(y, 2, 1).tolist() == [14.0, 14.0]
    with pytest.raises(ValueError, match="at least season=12"):
        seasonal_naive(y[:5], 2, 12)
    b = baseline_windows(y, np.array([8, 10]), 2, 4)
    assert b["naive"].tolist() == [[8.0, 8.0], [10.0, 10.0]]
    assert b["seasonal_naive"].tolist() == [[5.0, 6.0], [7.0, 8.0]]
