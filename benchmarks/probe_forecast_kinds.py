"""One forecaster run, all defaults, on a generated series of a kind the project's tables do not hold.

Each case is a series a user might bring (5-minute load over two weeks, business-day prices, intermittent
daily counts, a monthly series crossing zero, integer steps with an undeclared cycle, a short weekly
series); ``lstmkit.Forecaster(horizon=h)`` backtests it with every other setting at its default (the
first origin included: ``start=auto``), and one JSON line gives the season and window derived, the
choice, every validation score, the test MASE of the model and of each peer, and the wall and CPU time.
The series are generated with a fixed seed; nothing in the forecaster was set from them.

    .venv/bin/python benchmarks/probe_forecast_kinds.py fivemin
    for c in bday_rw intermittent monthly_neg steps_noseason weekly_short; do
        .venv/bin/python benchmarks/probe_forecast_kinds.py $c; done
    for c in daily3y monthly_mult hourly_week level_shift minute quarterly_short yearly_trend month_end; do
        .venv/bin/python benchmarks/probe_forecast_kinds.py $c; done
    .venv/bin/python benchmarks/probe_forecast_kinds.py hourly_week --longer-season 168   # + seasonal naive
    # 10-second data with an hourly wave: the hour the values show (default) against the calendar's minute
    for c in ten_second_hour ten_second_hour_h60; do for s in 0 6; do
        .venv/bin/python benchmarks/probe_forecast_kinds.py $c --start -720 --season $s; done; done
    .venv/bin/python benchmarks/probe_forecast_kinds.py stores   # 200 series, a few too short (minutes)
    for c in six_hourly biweekly bimonthly semimonthly ten_minute fifteen_minute daily_temperature \
        monthly_cycle132; do .venv/bin/python benchmarks/probe_forecast_kinds.py $c; done
    # a year of 5-minute values through the main command (backtest + final fit, about 14 minutes)
    .venv/bin/python benchmarks/probe_forecast_kinds.py fivemin_year --csv /tmp/fivemin_year.csv
    .venv/bin/lstmkit forecast train --data /tmp/fivemin_year.csv --out /tmp/fivemin_year
    # the same for ten years of hourly values (about 15 minutes)
    .venv/bin/python benchmarks/probe_forecast_kinds.py hourly10y --csv /tmp/hourly10y.csv
    .venv/bin/lstmkit forecast train --data /tmp/hourly10y.csv --out /tmp/hourly10y

Figures: ``benchmarks/RESULTS_forecast_long.md``.
"""

from __future__ import annotations

import json
import sys
import time

import numpy as np
import pandas as pd

CASES = ("fivemin", "hourly2y", "bday_rw", "intermittent", "monthly_neg", "steps_noseason", "weekly_short",
         "daily3y", "monthly_mult", "hourly_week", "level_shift", "minute", "quarterly_short", "yearly_trend",
         "month_end", "stores", "six_hourly", "biweekly", "bimonthly", "semimonthly", "ten_minute", "fifteen_minute",
         "daily_temperature", "monthly_cycle132", "fivemin_year", "hourly10y", "ten_second_hour", "ten_second_hour_h60",
         "business_days", "business_hours", "shop_hours", "market_half_hours",
         "shop_days", "lunch_break", "ndvi_16day", "dekad_rain")


def case(name: str) -> tuple[pd.DataFrame, int]:
    """The series (time column first, value column second) and its horizon."""
    rng = np.random.default_rng(777)
    if name == "hourly2y":
        n = 24 * 365 * 2
        t = np.arange(n)
        y = (50 + 20 * np.sin(2 * np.pi * t / 24) + 8 * (t // 24 % 7 >= 5) + np.cumsum(rng.normal(0, .3, n))
             + rng.normal(0, 3, n))
        return pd.DataFrame({"ts": pd.date_range("2022-01-01", periods=n, freq="h"), "load": y}), 24
    if name == "fivemin":
        n = 288 * 14
        t = np.arange(n)
        y = 10 + 4 * np.maximum(0, np.sin(2 * np.pi * t / 288)) + rng.normal(0, .5, n)
        return pd.DataFrame({"ts": pd.date_range("2023-03-01", periods=n, freq="5min"), "kw": y}), 12
    if name == "bday_rw":
        n = 500
        y = 100 * np.exp(np.cumsum(rng.normal(0.0003, 0.01, n)))
        return pd.DataFrame({"ts": pd.bdate_range("2021-01-04", periods=n), "px": y}), 5
    if name == "intermittent":
        n = 365
        y = rng.poisson(0.4, n) * rng.integers(1, 5, n)
        return pd.DataFrame({"ts": pd.date_range("2022-01-01", periods=n, freq="D"), "units": y}), 7
    if name == "monthly_neg":
        n = 96
        t = np.arange(n)
        y = 5 * np.sin(2 * np.pi * t / 12) + np.cumsum(rng.normal(0, 1, n)) + rng.normal(0, 1, n) - 3
        return pd.DataFrame({"ts": pd.date_range("2015-01", periods=n, freq="MS"), "flow": y}), 12
    if name == "steps_noseason":
        n = 400
        t = np.arange(n)
        y = 20 + 10 * np.sin(2 * np.pi * t / 17) + rng.normal(0, 2, n)
        return pd.DataFrame({"step": t, "v": y}), 10
    if name == "weekly_short":
        n = 60
        t = np.arange(n)
        y = 300 + 2 * t + rng.normal(0, 20, n)
        return pd.DataFrame({"ts": pd.date_range("2022-01-02", periods=n, freq="W"), "v": y}), 4
    if name == "daily3y":  # a yearly cycle the daily frequency's season (7) does not name, and weekends
        n = 365 * 3
        t = np.arange(n)
        y = (200 + 30 * np.sin(2 * np.pi * t / 365.25) + 15 * (t % 7 >= 5) + np.cumsum(rng.normal(0, 1, n))
             + rng.normal(0, 6, n))
        return pd.DataFrame({"ts": pd.date_range("2020-01-01", periods=n, freq="D"), "v": y}), 14
    if name == "monthly_mult":  # growth with a season that grows with the level
        n = 132
        t = np.arange(n)
        y = 50 * np.exp(0.008 * t) * (1 + 0.25 * np.sin(2 * np.pi * t / 12 + 1)) * np.exp(rng.normal(0, .04, n))
        return pd.DataFrame({"ts": pd.date_range("2010-01", periods=n, freq="MS"), "v": y}), 12
    if name == "hourly_week":  # a daytime peak, five times higher on weekdays than at weekends
        n = 24 * 7 * 8
        t = np.arange(n)
        amp = np.where((t // 24) % 7 < 5, 25, 5)
        y = 30 + amp * np.maximum(0, np.sin(2 * np.pi * (t % 24 - 6) / 24)) + rng.normal(0, 2, n)
        return pd.DataFrame({"ts": pd.date_range("2024-01-01", periods=n, freq="h"), "v": y}), 24
    if name == "level_shift":  # a weekly cycle and a step up in the last fifth
        n = 300
        t = np.arange(n)
        y = 100 + 10 * np.sin(2 * np.pi * t / 7) + rng.normal(0, 3, n) + 40 * (t >= 240)
        return pd.DataFrame({"ts": pd.date_range("2023-01-01", periods=n, freq="D"), "v": y}), 7
    if name.startswith("ten_second_hour"):  # 12 hours of 10-second readings, an hourly wave (probe_formats' ten_seconds)
        r = np.random.default_rng(5)
        k = np.arange(360 * 12)
        y = 10 + np.sin(2 * np.pi * k / 360) + r.normal(0, .2, len(k))
        return pd.DataFrame({"ts": pd.date_range("2023-01-01", periods=len(k), freq="10s"), "v": y}), \
            (60 if name.endswith("h60") else 6)
    if name == "minute":  # two days by the minute, an hourly cycle on a wandering level
        n = 60 * 24 * 2
        t = np.arange(n)
        y = 5 + 2 * np.sin(2 * np.pi * t / 60) + np.cumsum(rng.normal(0, .05, n)) + rng.normal(0, .3, n)
        return pd.DataFrame({"ts": pd.date_range("2024-05-01", periods=n, freq="min"), "v": y}), 30
    if name == "quarterly_short":  # seven years of quarters
        n = 28
        t = np.arange(n)
        y = 1000 + 12 * t + 80 * np.array([1, -1, .5, -.5])[t % 4] + rng.normal(0, 25, n)
        return pd.DataFrame({"ts": pd.date_range("2017-01", periods=n, freq="QS"), "v": y}), 4
    if name == "yearly_trend":  # forty years, a trend and a random walk, no cycle
        n = 40
        t = np.arange(n)
        y = 500 + 8 * t + np.cumsum(rng.normal(0, 10, n))
        return pd.DataFrame({"ts": pd.date_range("1985", periods=n, freq="YS"), "v": y}), 5
    if name == "month_end":  # month-end time stamps ('ME'), seven years
        n = 84
        t = np.arange(n)
        y = 20 + 6 * np.sin(2 * np.pi * t / 12) + 0.1 * t + rng.normal(0, 1.5, n)
        return pd.DataFrame({"ts": pd.date_range("2017-01-31", periods=n, freq="ME"), "v": y}), 6
    if name == "stores":  # 200 daily series of 3-400 values, different starts, rows shuffled, no time column named
        rows = []
        for k in range(200):
            n = int(rng.integers(20, 400)) if k % 25 else int(rng.integers(3, 12))
            t = pd.date_range(pd.Timestamp("2022-01-01") + pd.Timedelta(days=int(rng.integers(0, 300))), periods=n,
                              freq="D")
            lvl = rng.uniform(5, 500)
            y = lvl * (1 + 0.2 * np.sin(2 * np.pi * np.arange(n) / 7 + rng.uniform(0, 6))) + rng.normal(0, lvl * .05, n)
            rows += [(f"store{k:03d}", d, round(max(v, 0.0), 2)) for d, v in zip(t.strftime("%Y-%m-%d"), y)]
        return pd.DataFrame(rows, columns=["store", "day", "sales"]).sample(frac=1, random_state=1), 14
    if name == "six_hourly":  # four readings a day for a year: a daily cycle of 4 steps and a slow yearly swing
        n = 4 * 365
        t = np.arange(n)
        y = 50 + 10 * np.sin(2 * np.pi * t / n) + 6 * np.array([-1, 0.5, 1.5, -1])[t % 4] + rng.normal(0, 2, n)
        return pd.DataFrame({"ts": pd.date_range("2021-01-01", periods=n, freq="6h"), "v": y}), 8
    if name == "biweekly":  # a pay-period series ('2W': 26 a year) over five years, with growth
        n = 130
        t = np.arange(n)
        y = 300 * (1 + 0.004 * t) * (1 + 0.15 * np.cos(2 * np.pi * t / 26)) + rng.normal(0, 12, n)
        return pd.DataFrame({"ts": pd.date_range("2019-01-06", periods=n, freq="2W"), "v": y}), 6
    if name == "bimonthly":  # every other month ('2MS': 6 a year), twelve years, a random-walk level
        n = 72
        t = np.arange(n)
        y = 80 + np.cumsum(rng.normal(0, 1.5, n)) + 7 * np.sin(2 * np.pi * t / 6 + 1) + rng.normal(0, 1.5, n)
        return pd.DataFrame({"ts": pd.date_range("2012-01-01", periods=n, freq="2MS"), "v": y}), 6
    if name == "semimonthly":  # the 1st and the 15th ('SMS': 24 a year), six years
        n = 144
        t = np.arange(n)
        y = 40 + 0.05 * t + 5 * np.sin(2 * np.pi * t / 24) + 3 * (t % 2) + rng.normal(0, 1.2, n)
        return pd.DataFrame({"ts": pd.date_range("2018-01-01", periods=n, freq="SMS"), "v": y}), 12
    if name == "ten_minute":  # two weeks of 10-minute wind power: a daily cycle of 144 steps on a wandering level
        n = 144 * 14
        t = np.arange(n)
        y = np.clip(20 + np.cumsum(rng.normal(0, 0.4, n)) + 8 * np.sin(2 * np.pi * t / 144) + rng.normal(0, 1, n), 0,
                    None)
        return pd.DataFrame({"ts": pd.date_range("2023-06-01", periods=n, freq="10min"), "v": y}), 36
    if name == "fifteen_minute":  # three weeks of 15-minute building load: weekday working hours, quiet weekends
        n = 96 * 21
        t = np.arange(n)
        hour = (t % 96) / 4
        work = ((hour >= 8) & (hour < 18) & ((t // 96) % 7 < 5)).astype(float)
        y = 30 + 40 * work + 5 * np.sin(2 * np.pi * t / 96) + rng.normal(0, 3, n)
        return pd.DataFrame({"ts": pd.date_range("2023-03-06", periods=n, freq="15min"), "v": y}), 48
    if name == "daily_temperature":  # ten years of daily minimum temperatures: a yearly cycle, AR(1) weather
        n = 3650
        t = np.arange(n)
        e = np.zeros(n)
        for i in range(1, n):
            e[i] = 0.7 * e[i - 1] + rng.normal(0, 2.0)
        y = np.round(11 + 4 * np.cos(2 * np.pi * (t - 15) / 365.25) + e, 1)
        return pd.DataFrame({"Date": pd.date_range("1981-01-01", periods=n, freq="D"), "Temp": y}), 6
    if name == "monthly_cycle132":  # monthly counts with an 11-year cycle and no monthly season, as sunspots
        n = 1200
        t = np.arange(n)
        phase = 1 + np.sin(2 * np.pi * t / 132)
        y = np.maximum(0, (60 + 30 * np.sin(2 * np.pi * t / 1100)) * phase + rng.gamma(2, 6, n) * phase
                       + rng.normal(0, 8, n))
        return pd.DataFrame({"Month": pd.date_range("1900-01", periods=n, freq="MS"), "Sunspots": y}), 6
    if name == "fivemin_year":  # a year of 5-minute power: daily cycle, quiet weekends, a wandering level
        r = np.random.default_rng(7)
        t = pd.date_range("2023-01-01", periods=105_120, freq="5min")
        i = np.arange(len(t))
        y = (50 + np.sin(2 * np.pi * i / 288) * 10 + np.sin(4 * np.pi * i / 288) * 3 + np.where(t.dayofweek >= 5, -8, 0)
             + np.cumsum(r.normal(0, 0.05, len(t))) + r.normal(0, 2, len(t)))
        return pd.DataFrame({"timestamp": t.strftime("%Y-%m-%d %H:%M"), "power_kw": y.round(2)}), 6
    if name == "hourly10y":  # ten years of hourly load: day and night, weekends, winter peaks, a drifting level
        r = np.random.default_rng(11)
        t = pd.date_range("2014-01-01", periods=87_600, freq="h")
        day = np.where((t.hour >= 7) & (t.hour < 22), 1.0, 0.4) * (1 + 0.3 * np.sin(2 * np.pi * (t.hour - 6) / 24))
        year = 1 + 0.25 * np.cos(2 * np.pi * (t.dayofyear - 15) / 365.25)
        level = 1000 * np.exp(np.cumsum(r.normal(0, 0.002, len(t))))
        y = level * day * np.where(t.dayofweek >= 5, 0.75, 1.0) * year * np.exp(r.normal(0, 0.03, len(t)))
        return pd.DataFrame({"Datetime": t.strftime("%Y-%m-%d %H:%M:%S"), "MW": y.round(1)}), 6
    if name == "business_days":  # calls to an office open Monday to Friday: Mondays busiest, a slow drift
        t = pd.bdate_range("2021-01-04", periods=600)
        y = (200 + np.cumsum(rng.normal(0, 2, len(t)))) * np.array([1.3, 1.1, 1.0, 0.95, 0.8])[t.dayofweek]
        return pd.DataFrame({"day": t.strftime("%Y-%m-%d"), "calls": (y + rng.normal(0, 8, len(t))).round()}), 10
    if name == "business_hours":  # a shop's till, 9:00 to 17:00 on weekdays: a lunchtime peak, quiet Fridays
        t = pd.date_range("2023-01-02", periods=24 * 7 * 30, freq="h")
        t = t[(t.dayofweek < 5) & (t.hour >= 9) & (t.hour < 17)]
        hour = np.array([0.5, 0.8, 1.0, 1.6, 1.8, 1.2, 0.9, 0.7])[t.hour - 9]
        y = 40 * hour * np.where(t.dayofweek == 4, 0.7, 1.0) + rng.normal(0, 3, len(t))
        return pd.DataFrame({"hour": t.strftime("%Y-%m-%d %H:%M"), "sales": y.round(1)}), 8
    if name == "shop_hours":  # a shop's hourly till, 08:00 to 20:00 every day: evening peak, busy Saturdays
        t = pd.date_range("2023-03-06", periods=24 * 7 * 16, freq="h")
        t = t[(t.hour >= 8) & (t.hour < 20)]
        hour = 1 + 0.6 * np.exp(-0.5 * ((t.hour - 17.5) / 1.5) ** 2) + 0.3 * np.exp(-0.5 * ((t.hour - 12.5) / 1) ** 2)
        level = 60 + np.cumsum(rng.normal(0, 0.3, len(t)))
        y = level * hour * np.array([0.9, 0.9, 0.95, 1.0, 1.15, 1.4, 0.8])[t.dayofweek] + rng.normal(0, 4, len(t))
        return pd.DataFrame({"time": t.strftime("%Y-%m-%d %H:%M"), "takings": y.round(2)}), 12
    if name == "market_half_hours":  # traded volume each half hour, 09:30 to 16:00 on weekdays: a U shape
        t = pd.date_range("2024-01-01", periods=48 * 7 * 20, freq="30min")
        t = t[(t.dayofweek < 5) & (t.hour * 60 + t.minute >= 570) & (t.hour < 16)]
        t = t[t.normalize() != pd.Timestamp("2024-01-15")]  # a holiday: no session that day
        k = (t.hour * 60 + t.minute - 570) / 30
        u = 1 + 1.5 * np.exp(-k / 1.5) + 1.2 * np.exp(-(12 - k) / 1.5)
        level = np.exp(np.cumsum(rng.normal(0, 0.01, len(t))))
        y = 1e5 * level * u * np.exp(rng.normal(0, 0.15, len(t)))
        return pd.DataFrame({"Datetime": t.strftime("%Y-%m-%d %H:%M:%S"), "Volume": y.round()}), 13
    if name == "shop_days":  # a shop's daily takings, shut on Sundays: busy Saturdays, a yearly swing, growth
        t = pd.date_range("2021-01-04", periods=3 * 365, freq="D")
        t = t[t.dayofweek < 6]
        week = np.array([0.85, 0.8, 0.9, 0.95, 1.1, 1.5])[t.dayofweek]
        year = 1 + 0.15 * np.sin(2 * np.pi * (t.dayofyear - 80) / 365.25)
        level = 1000 * np.exp(np.cumsum(rng.normal(0.0004, 0.01, len(t))))
        y = level * week * year * np.exp(rng.normal(0, 0.06, len(t)))
        return pd.DataFrame({"date": t.strftime("%d.%m.%Y"), "takings": y.round(2)}), 12
    if name == "lunch_break":  # a shop open 09:00-12:00 and 14:00-19:00, Monday to Saturday: busier Saturdays
        t = pd.date_range("2024-01-01", periods=24 * 120, freq="h")
        t = t[((t.hour >= 9) & (t.hour < 12) | (t.hour >= 14) & (t.hour < 19)) & (t.dayofweek < 6)]
        k = np.searchsorted([9, 10, 11, 14, 15, 16, 17, 18], t.hour)
        y = 50 + 20 * np.sin(np.pi * k / 7) + np.where(t.dayofweek == 5, 15, 0) + rng.normal(0, 3, len(t))
        return pd.DataFrame({"t": t.strftime("%Y-%m-%d %H:%M"), "customers": y.round(1)}), 8
    if name == "ndvi_16day":  # a field's NDVI, 16-day composites (days 1, 17, ..., 353 of each year), 12 years
        t = pd.DatetimeIndex([pd.Timestamp(f"{y}-01-01") + pd.Timedelta(days=d)
                              for y in range(2010, 2022) for d in range(0, 365, 16)])
        green = np.exp(-0.5 * ((np.asarray(t.dayofyear) - 200) / 45) ** 2)
        y = 0.2 + 0.5 * green * (1 + 0.1 * np.sin(2 * np.pi * (np.asarray(t.year) - 2010) / 5)) + rng.normal(0, 0.03, len(t))
        return pd.DataFrame({"date": t.strftime("%Y-%m-%d"), "ndvi": y.clip(0, 1).round(4)}), 23
    if name == "dekad_rain":  # rainfall by dekad (the 1st, 11th and 21st), 15 years: a wet season, dry spells
        t = pd.DatetimeIndex([pd.Timestamp(f"{y}-{m:02d}-{d:02d}") for y in range(2005, 2020)
                              for m in range(1, 13) for d in (1, 11, 21)])
        wet = np.clip(np.sin(2 * np.pi * (np.asarray(t.dayofyear) - 100) / 365.25), 0, None) ** 2
        y = rng.gamma(2.0, 1.0, len(t)) * 40 * wet + rng.gamma(0.5, 2.0, len(t))
        return pd.DataFrame({"dekad": t.strftime("%Y-%m-%d"), "rain_mm": y.round(1)}), 6
    raise KeyError(f"unknown case {name!r}; one of {', '.join(CASES)}")


def main() -> int:
    from lstmkit import Forecaster

    args = sys.argv[1:]
    longer = 0
    if len(args) == 3 and args[1] == "--csv" and args[0] in CASES:  # the series as a file, for the command line
        case(args[0])[0].to_csv(args[2], index=False)
        return 0
    given = {}  # --season N / --start S: a setting forced, to compare with the default on the same windows
    while len(args) >= 3 and args[-2] in ("--longer-season", "--season", "--start"):
        given[args[-2]] = args[-1]
        args = args[:-2]
    longer = int(given.get("--longer-season", 0))
    if len(args) != 1 or args[0] not in CASES:
        print(__doc__)
        return 2
    name = args[0]
    df, h = case(name)
    f = Forecaster(horizon=h, progress_bar=False, season=int(given.get("--season", 0)))
    t0, c0 = time.perf_counter(), time.process_time()
    cols = dict(id="store", target="sales") if name == "stores" else dict(time=df.columns[0], target=df.columns[1])
    frame = f.backtest(df, **cols, **({"start": given["--start"]} if "--start" in given else {}))
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    m = f.evaluate()
    core = f.backtest_.cores[0]
    mae = {k: round(m[k]["mae"], 4) for k in ["model", *m["peers"]]}
    if longer:  # seasonal naive at a season the forecaster did not take (a week of hours), the same origins: MAE
        g = Forecaster(horizon=h, season=longer, candidates=["seasonal_naive"], peers=[], progress_bar=False)
        g.backtest(df, time=df.columns[0], target=df.columns[1], start=str(frame["origin"].min()))
        assert g.evaluate()["origins"] == m["origins"]
        mae[f"seasonal_naive_{longer}"] = round(g.evaluate()["model"]["mae"], 4)
    print(json.dumps({
        "case": name, "values": len(df), "horizon": h, "origins": m["origins"], "stride": m["stride"],
        "season": m["season"], "season_reason": core.plan.season_reason, "window": core.plan.input_size,
        "validation_origins": core.val_count, "chosen": core.chosen, "given": given,
        "mae": mae,
        "validation": {k: round(v, 3) for k, v in core.scores.items()},
        "mase": {k: round(m[k]["mase"], 3) for k in ["model", *m["peers"]]},
        "seconds": {"wall": round(wall, 1), "cpu_main": round(cpu, 1)},
        "stages": {k: round(v, 1) for k, v in core.seconds.items()}, "series": int(frame["id"].nunique()),
        "notes": [n[:160] for n in m.get("notes", [])],
    }))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
