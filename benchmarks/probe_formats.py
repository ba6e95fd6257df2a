"""Files written the ways outsiders write them, through ``lstmkit forecast backtest`` with every default.

Each probe writes one CSV (a series generated from a fixed seed) in a scratch folder and runs the command
line as a user would, naming nothing but ``--data`` (and ``--target`` where a file has two numeric columns).
One JSON line per probe: the exit code, the data-handling line (how the file was read), the backtest line
(MASE of the model and of each peer) and the verdict, or the one-line error. Nothing in lstmkit was set from
these series; the figures are in ``benchmarks/RESULTS_forecast_long.md``.

    .venv/bin/python benchmarks/probe_formats.py              # all probes, about 3 minutes on 2 cores
    .venv/bin/python benchmarks/probe_formats.py yyyymm mmm_yy
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from lstmkit.data.series import read_table  # noqa: E402


def _monthly(n: int = 60, start: str = "2001-01-01", seed: int = 3):
    rng = np.random.default_rng(seed)
    t = pd.date_range(start, periods=n, freq="MS")
    return t, 100 + np.arange(n) + 10 * np.sin(2 * np.pi * np.arange(n) / 12) + rng.normal(0, 2, n)


def _daily(n: int = 400, seed: int = 5):
    rng = np.random.default_rng(seed)
    t = pd.date_range("2022-01-01", periods=n, freq="D")
    return t, 100 + 10 * np.sin(2 * np.pi * np.arange(n) / 7) + rng.normal(0, 2, n)


def _hourly(n: int = 24 * 60, seed: int = 5):
    rng = np.random.default_rng(seed)
    k = np.arange(n)
    return 50 + 20 * np.sin(2 * np.pi * k / 24) + rng.normal(0, 3, n)


def write(name: str, folder: Path) -> tuple[Path, list[str]]:
    """The probe's file and the extra arguments it needs."""
    path = folder / f"{name}.csv"
    extra: list[str] = []
    if name == "utc_offsets":  # hourly, written with the offsets of Europe/Berlin across the spring change
        idx = pd.date_range("2023-03-01", periods=24 * 60, freq="h", tz="Europe/Berlin")
        pd.DataFrame({"ts": [d.isoformat() for d in idx], "load": _hourly()}).to_csv(path, index=False)
    elif name == "epoch_seconds":  # Unix times: integers, read as UTC dates since 2026-12-06 (before: steps)
        t = pd.date_range("2023-01-01", periods=24 * 60, freq="h").astype("int64") // 10**9
        pd.DataFrame({"epoch": t, "load": _hourly()}).to_csv(path, index=False)
        extra = ["--target", "load"]
    elif name in ("day_first_dots", "semicolon_decimal_comma", "month_first_slashes"):
        t, y = _daily()
        if name == "day_first_dots":
            pd.DataFrame({"Datum": t.strftime("%d.%m.%Y"), "Wert": y}).to_csv(path, index=False)
        elif name == "semicolon_decimal_comma":
            pd.DataFrame({"Datum": t.strftime("%d.%m.%Y"), "Wert": [f"{v:.2f}".replace(".", ",") for v in y]}).to_csv(
                path, index=False, sep=";")
        else:
            pd.DataFrame({"date": t.strftime("%m/%d/%Y"), "sales": y}).to_csv(path, index=False)
    elif name == "ten_seconds":
        rng = np.random.default_rng(5)
        k = np.arange(360 * 12)
        pd.DataFrame({"ts": pd.date_range("2023-01-01", periods=len(k), freq="10s"),
                      "v": 10 + np.sin(2 * np.pi * k / 360) + rng.normal(0, .2, len(k))}).to_csv(path, index=False)
    elif name in ("yyyymm", "yyyymmdd"):
        if name == "yyyymm":
            t, y = _monthly(120, "2010-01-01", 7)
            pd.DataFrame({"yyyymm": t.year * 100 + t.month, "sales": y}).to_csv(path, index=False)
        else:
            t, y = _daily(seed=7)
            pd.DataFrame({"date": t.year * 10000 + t.month * 100 + t.day, "v": y}).to_csv(path, index=False)
    elif name in ("mmm_yy", "yy_mmm", "year_number_month"):
        t, y = _monthly()
        text = {"mmm_yy": t.strftime("%b-%y"), "yy_mmm": t.strftime("%y-%b"),
                "year_number_month": [f"{i // 12 + 1}-{i % 12 + 1:02d}" for i in range(len(t))]}[name]
        pd.DataFrame({"Month": text, "Sales": y}).to_csv(path, index=False)
    elif name == "short_monthly_bom":  # 48 months, UTF-8 with a byte-order mark (Excel's 'CSV UTF-8')
        rng = np.random.default_rng(9)
        t = pd.date_range("2020-01-01", periods=48, freq="MS")
        y = 1000 + np.arange(48) * 20 + 200 * np.sin(2 * np.pi * np.arange(48) / 12) + rng.normal(0, 20, 48)
        pd.DataFrame({"date": t.strftime("%Y-%m-%d"), "v": y}).to_csv(path, index=False, encoding="utf-8-sig")
    elif name in ("thousands", "dollars", "percent"):
        rng = np.random.default_rng(9)
        t = pd.date_range("2020-01-01", periods=48, freq="MS")
        y = 1000 + np.arange(48) * 20 + 200 * np.sin(2 * np.pi * np.arange(48) / 12) + rng.normal(0, 20, 48)
        text = {"thousands": [f"{v:,.2f}" for v in y], "dollars": [f"${v:,.2f}" for v in y],
                "percent": [f"{v / 100:.1f}%" for v in y]}[name]
        pd.DataFrame({"date": t.strftime("%Y-%m-%d"), "value": text}).to_csv(path, index=False)
    elif name == "uci_household":  # UCI's household power file: ';', a date and a time column, '?' for missing
        idx = pd.date_range("2006-12-16 17:00", periods=24 * 60, freq="h")
        text = [f"{v:.3f}" for v in _hourly() / 20]
        for i in (100, 101, 102, 900):
            text[i] = "?"
        pd.DataFrame({"Date": idx.strftime("%d/%m/%Y"), "Time": idx.strftime("%H:%M:%S"),
                      "Global_active_power": text}).to_csv(path, sep=";", index=False)
    elif name == "trailing_separator":  # 'Month,Sales,' on every line (a spreadsheet's export)
        t, y = _monthly(72)
        path.write_text("Month,Sales,\n" + "".join(f"{a:%Y-%m-%d},{b:.2f},\n" for a, b in zip(t, y)))
    elif name in ("utc_z", "am_pm"):  # ISO times in UTC ('...T00:00:00Z'), a US spreadsheet's '1/1/2023 1:00 PM'
        idx = pd.date_range("2023-01-01", periods=24 * 60, freq="h")
        stamps = idx.strftime("%Y-%m-%dT%H:%M:%SZ" if name == "utc_z" else "%m/%d/%Y %I:%M %p")
        pd.DataFrame({"ts": stamps, "load": _hourly()}).to_csv(path, index=False)
    elif name == "logger_jitter":  # a 5-minute logger whose clock runs 0-2 s late
        rng = np.random.default_rng(11)
        idx = pd.date_range("2023-05-01", periods=288 * 10, freq="5min") + pd.to_timedelta(
            rng.integers(0, 3, 288 * 10), unit="s")
        k = np.arange(len(idx))
        y = 40 + 15 * np.sin(2 * np.pi * k / 288) + rng.normal(0, 2, len(idx))
        pd.DataFrame({"timestamp": idx.strftime("%Y-%m-%d %H:%M:%S"), "temp": y}).to_csv(path, index=False)
    elif name == "year_month_columns":  # 'Year,Month,Sales' (a statistics office's table)
        t, y = _monthly(72)
        pd.DataFrame({"Year": t.year, "Month": t.month, "Sales": np.round(y, 2)}).to_csv(path, index=False)
    elif name == "title_line":  # an export's title and a blank line above the header
        t, y = _monthly(72)
        path.write_text("Monthly sales, shop 3\n\nMonth,Sales\n" + "".join(f"{a:%Y-%m},{b:.2f}\n" for a, b in zip(t, y)))
    elif name == "no_header":  # the first line is data
        t, y = _monthly(72)
        path.write_text("".join(f"{a:%Y-%m},{b:.2f}\n" for a, b in zip(t, y)))
    elif name == "sunspots_as_shipped":  # the shipped file, nothing named ('YEAR,SUNACTIVITY')
        path.write_text((ROOT.parent / "shared" / "data" / "series" / "sunspots.csv").read_text())
    elif name == "dates_across":  # one row per page, the days across the header (a web-traffic export)
        rng = np.random.default_rng(13)
        days = pd.date_range("2016-01-01", periods=300, freq="D")
        k = np.arange(300)
        rows = []
        for page in range(8):
            level = rng.uniform(50, 5000)
            week = 1 + 0.25 * np.sin(2 * np.pi * (k + page) / 7)
            rows.append(np.round(level * week * np.exp(np.cumsum(rng.normal(0, 0.02, 300))) + rng.normal(0, level * .05,
                                                                                                         300)))
        table = pd.DataFrame(rows, columns=days.strftime("%Y-%m-%d"))
        table.insert(0, "Page", [f"page_{p}.example.org" for p in range(8)])
        table.to_csv(path, index=False)
    elif name == "excel_day_numbers":  # a spreadsheet's date column saved as numbers: 42005 = 2015-01-01
        t, y = _monthly(72, start="2015-01-01")
        pd.DataFrame({"Date": (t - pd.Timestamp("1899-12-30")).days, "Sales": y.round(2)}).to_csv(path, index=False)
    elif name == "panel_no_id":  # 'region,date,sales' for five regions, the id column not named
        parts = []
        for j, region in enumerate(("north", "south", "east", "west", "centre")):
            t, y = _daily(seed=20 + j)
            parts.append(pd.DataFrame({"region": region, "date": t.strftime("%Y-%m-%d"), "sales": (y * (1 + j)).round(2)}))
        pd.concat(parts).to_csv(path, index=False)
    elif name == "early_outage":  # a sensor's 40-day outage a quarter of the way in: empty cells
        t, y = _daily()
        v = pd.Series(y.round(2))
        v[100:140] = np.nan
        pd.DataFrame({"date": t.strftime("%Y-%m-%d"), "flow": v}).to_csv(path, index=False)
    elif name == "date_hour_ending":  # a grid operator's load: 'Date,HE,Load' with the hour ending 1-24
        idx = pd.date_range("2023-01-01", periods=24 * 60, freq="h")
        pd.DataFrame({"Date": idx.strftime("%m/%d/%Y"), "HE": idx.hour + 1, "Load": _hourly().round(1)}).to_csv(
            path, index=False)
    elif name == "units_row":  # a data logger's export: the units in the row under the header
        idx = pd.date_range("2023-01-01", periods=24 * 60, freq="h")
        rows = "".join(f"{a:%Y-%m-%d %H:%M},{v:.1f}\n" for a, v in zip(idx, _hourly()))
        path.write_text("Timestamp,Power\nUTC,kW\n" + rows)
    elif name == "month_dot_year":  # a German export: 'Monat;Umsatz' with '01.2001;104,08'
        t, y = _monthly(72)
        path.write_text("Monat;Umsatz\n" + "".join(f"{a:%m.%Y};{b:.2f}\n".replace(".", ",").replace(",", ".", 1)
                                                    for a, b in zip(t, y)))
    elif name == "pandas_index":  # DataFrame.to_csv() without index=False: a first column of row numbers
        t, y = _daily()
        pd.DataFrame({"date": t, "sales": np.round(y, 2)}).to_csv(path)
    elif name == "r_ts_time":  # R: write.csv(data.frame(time = time(x), x = x)): row names, decimal years
        t, y = _monthly(96)
        years = 2001 + np.arange(len(y)) / 12
        path.write_text('"","time","x"\n' + "".join(f'"{i + 1}",{a!r},{b:.3f}\n'
                                                     for i, (a, b) in enumerate(zip(years.tolist(), y))))
    elif name == "time_steps":  # 'time,value' with the steps 1, 2, 3, ...: a simulation's or a textbook's file
        pd.DataFrame({"time": np.arange(1, 24 * 60 + 1), "value": np.round(_hourly(), 2)}).to_csv(path, index=False)
    elif name == "google_trends":  # Google Trends' export: a title, a blank line, weeks, '<1' for the smallest shares
        weeks = pd.date_range("2019-01-06", periods=260, freq="W-SUN")
        rng = np.random.default_rng(11)
        k = np.arange(len(weeks))
        share = np.clip(1 + 30 * np.sin(np.pi * k / 52) ** 8 + rng.normal(0, 1, len(k)) + k / 100, 0, None)
        share = 100 * share / share.max()  # the week of most searches is 100
        cells = [str(int(v)) if v >= 1 else "<1" for v in share]
        path.write_text("Category: All categories\n\nWeek,lstm: (Worldwide)\n"
                        + "".join(f"{a:%Y-%m-%d},{b}\n" for a, b in zip(weeks, cells)))
    elif name == "world_bank":  # an indicator as the World Bank writes it: title lines, four naming columns, the
        years = list(range(1960, 2024))  # years across the header, early years empty, a country with no data
        rng = np.random.default_rng(8)
        lines = ['"Data Source","World Development Indicators",', "", '"Last Updated Date","2024-06-28",', "",
                 '"Country Name","Country Code","Indicator Name","Indicator Code",'
                 + ",".join(f'"{y}"' for y in years) + ","]
        for k in range(41):
            level = rng.uniform(40, 70) + np.cumsum(rng.normal(rng.uniform(0.1, 0.4), 0.4, len(years)))
            cells = [f'"{v:.3f}"' for v in level] if k < 40 else ['""'] * len(years)
            early = int(rng.integers(0, 12))
            cells[:early] = ['""'] * early
            cells[-1] = '""'  # the last year not yet published
            lines.append(f'"Country {k}","C{k:02d}","Life expectancy at birth, total (years)","SP.DYN.LE00.IN",'
                         + ",".join(cells) + ",")
        path.write_text("\n".join(lines) + "\n")
    elif name == "store_item":  # Kaggle's store-item demand layout: date, store, item, sales; two columns name a series
        days = pd.date_range("2016-01-01", periods=500, freq="D")
        rng = np.random.default_rng(21)
        rows = []
        for store in (1, 2, 3):
            for item in (1, 2, 3, 4):
                level = rng.uniform(10, 40)
                week = rng.uniform(0.1, 0.4) * np.sin(2 * np.pi * (days.dayofweek.to_numpy() - rng.integers(7)) / 7)
                rows += [(f"{d:%Y-%m-%d}", store, item, int(v)) for d, v in zip(days, rng.poisson(level * (1 + week)))]
        pd.DataFrame(rows, columns=["date", "store", "item", "sales"]).to_csv(path, index=False)
        extra = ["--target", "sales", "--id", "store,item"]
    elif name == "local_autumn":  # hourly wall-clock times with no zone over the end of summer time (02:00 twice)
        idx = pd.date_range("2023-09-01", periods=24 * 90, freq="h", tz="Europe/Berlin")
        k = np.arange(len(idx))
        rng = np.random.default_rng(13)
        local = idx.hour.to_numpy()  # people's load follows the local clock
        load = 50 + 20 * np.sin(2 * np.pi * (local - 6) / 24) + 5 * (idx.dayofweek.to_numpy() < 5) + rng.normal(0, 3, len(k))
        pd.DataFrame({"Datetime": idx.strftime("%Y-%m-%d %H:%M:%S"), "MW": np.round(load, 1)}).to_csv(path, index=False)
    elif name == "entsoe":  # the ENTSO-E transparency platform's load file: intervals as text, 'n/e' for missing
        idx = pd.date_range("2023-01-01", periods=24 * 60, freq="h")
        cells = [f"{v:.0f}" for v in 1000 * _hourly()]
        for k in (100, 101, 900):
            cells[k] = "n/e"
        pd.DataFrame({"Time (UTC)": [f"{a:%d.%m.%Y %H:%M} - {a + pd.Timedelta(hours=1):%d.%m.%Y %H:%M}" for a in idx],
                      "Day-ahead Total Load Forecast [MW] - BZN|DE-LU": cells,
                      "Actual Total Load [MW] - BZN|DE-LU": cells}).to_csv(path, index=False)
        extra = ["--target", "Actual Total Load [MW] - BZN|DE-LU"]
    elif name == "entsoe_prices":  # ENTSO-E's day-ahead prices: 'MTU (CET/CEST)' intervals, day first, zone names
        # on the rows of the autumn change only, constant Area and Sequence columns, empty intraday columns
        idx = pd.date_range("2023-09-01", periods=24 * 90, freq="h", tz="Europe/Berlin")
        rng = np.random.default_rng(19)
        local = idx.hour.to_numpy()
        price = (90 + 30 * np.sin(2 * np.pi * (local - 6) / 24) + 10 * (idx.dayofweek.to_numpy() < 5)
                 + np.cumsum(rng.normal(0, 1, len(idx))) + rng.normal(0, 6, len(idx)))
        alike = idx.strftime("%d/%m/%Y %H").duplicated(keep=False)

        def stamp(d, mark):
            return d.strftime("%d/%m/%Y %H:%M:%S") + (f" ({'CEST' if d.dst() else 'CET'})" if mark else "")

        cells = [f"{stamp(a, m)} - {stamp(a + pd.Timedelta(hours=1), m)}" for a, m in zip(idx, alike)]
        pd.DataFrame({"Area": "BZN|DE-LU", "Sequence": "Without Sequence", "MTU (CET/CEST)": cells,
                      "Day-ahead Price (EUR/MWh)": np.round(price, 2), "Intraday Period (CET/CEST)": "",
                      "Intraday Price (EUR/MWh)": ""}).to_csv(path, index=False)
    elif name == "ecb":  # the ECB data portal's CSV: the day twice ('DATE' and 'TIME PERIOD'), the series' title
        days = pd.bdate_range("2021-01-01", periods=500)
        rng = np.random.default_rng(17)
        rate = 1.1 * np.exp(np.cumsum(rng.normal(0, 0.004, len(days))))
        pd.DataFrame({"DATE": days.strftime("%Y-%m-%d"), "TIME PERIOD": days.strftime("%Y-%m-%d"),
                      "US dollar/Euro (EXR.D.USD.EUR.SP00.A)": np.round(rate, 4)}).to_csv(path, index=False)
    elif name == "event_log":  # a home-automation log: a reading whenever the value changes, at odd moments
        rng = np.random.default_rng(19)
        start = pd.Timestamp("2024-01-01")
        at = start + pd.to_timedelta(np.sort(rng.uniform(0, 45 * 86400, 6000)), unit="s")
        hour = (at - start) / pd.Timedelta(hours=1)
        temp = 20 + 3 * np.sin(2 * np.pi * (hour.to_numpy() - 8) / 24) + rng.normal(0, 0.3, len(at))
        pd.DataFrame({"last_changed": at.strftime("%Y-%m-%dT%H:%M:%S.%f+00:00"), "state": np.round(temp, 2)}).to_csv(
            path, index=False)
        extra = ["--data.freq", "h"]
    elif name == "month_dot_comma":  # months with a dot in a comma file: 'Month,Sales' with '01.2001,104.08'
        t, y = _monthly(72)
        path.write_text("Month,Sales\n" + "".join(f"{a:%m.%Y},{b:.2f}\n" for a, b in zip(t, y)))
    elif name in ("german_thousands", "french_nnbsp", "swiss_apostrophe"):  # 12.345,67 / 12 345,67 / 12'345.67
        t, y = _daily()
        mark, dec, sep, fmt = {"german_thousands": (".", ",", ";", "%d.%m.%Y"),
                               "french_nnbsp": ("\u202f", ",", ";", "%d/%m/%Y"),
                               "swiss_apostrophe": ("'", ".", ",", "%Y-%m-%d")}[name]
        cells = [f"{100 * b:,.2f}".replace(",", "G").replace(".", dec).replace("G", mark) for b in y]
        path.write_text(f"Datum{sep}Umsatz\n" + "".join(f"{a:{fmt}}{sep}{c}\n" for a, c in zip(t, cells)),
                        encoding="utf-8")
    elif name == "german_whole":  # whole numbers grouped by a point in a ';' file: '987' beside '1.052'
        t, y = _monthly(72)
        path.write_text("Monat;Umsatz\n" + "".join(f"{a:%d.%m.%Y};{round(8 * b):,}\n".replace(",", ".")
                                                    for a, b in zip(t, y)))
    elif name == "year_dot_month":  # '2001.01,104.08': year, a dot, a two-digit month, in a comma file
        t, y = _monthly(72)
        path.write_text("period,value\n" + "".join(f"{a:%Y.%m},{b:.2f}\n" for a, b in zip(t, y)))
    elif name == "french_months":  # a French spreadsheet's mmm-yy: 'janv.-01;104,08'
        t, y = _monthly(72)
        fr = "janv. févr. mars avr. mai juin juil. août sept. oct. nov. déc.".split()
        lines = [f"{fr[a.month - 1]}-{a:%y};" + f"{b:.2f}".replace(".", ",") for a, b in zip(t, y)]
        path.write_text("Mois;Ventes\n" + "\n".join(lines) + "\n", encoding="utf-8")
    elif name == "eurostat":  # Eurostat's TSV: dimensions in the first cell, months across, flags, ':' and ': c'
        rng = np.random.default_rng(11)
        t = pd.date_range("2015-01-01", periods=96, freq="MS")
        head = "freq,unit,geo\\TIME_PERIOD\t" + "\t".join(f"{a:%Y-%m} " for a in t)
        rows = []
        for g in ("AT", "BE", "DE", "ES", "FR", "IT", "NL", "PL"):
            _, y = _monthly(96, seed=int(rng.integers(1000)))
            flags = rng.choice(["", "", "", " p", " e", " b"], size=96)
            cells = [f"{v:.1f}{f}" for v, f in zip(y, flags)]
            cells[int(rng.integers(10, 80))] = ":" if g != "DE" else ": c"
            rows.append(f"M,I15,{g}\t" + "\t".join(cells))
        path = path.with_suffix(".tsv")
        path.write_text(head + "\n" + "\n".join(rows) + "\n")
    elif name == "oecd":  # an OECD download: LOCATION, INDICATOR, ..., TIME, Value and an empty 'Flag Codes'
        frames = []
        for k, loc in enumerate(("AUS", "AUT", "BEL", "CAN", "DEU", "FRA")):
            t, y = _monthly(96, seed=20 + k)
            frames.append(pd.DataFrame({"LOCATION": loc, "INDICATOR": "CPI", "SUBJECT": "TOT", "MEASURE": "IDX2015",
                                        "FREQUENCY": "M", "TIME": t.strftime("%Y-%m"), "Value": y.round(2),
                                        "Flag Codes": np.nan}))
        pd.concat(frames).to_csv(path, index=False)
    elif name == "ons":  # the ONS's series file: 8 'key,value' lines, no header, years, quarters, then months
        t, y = _monthly(96)
        meta = ['"Title","RETAIL SALES INDEX: ALL RETAILING"', '"CDID","J5EK"', '"Source dataset ID","DRSI"',
                '"PreUnit",""', '"Unit","Index"', '"Release date","19-01-2024"', '"Next release","16 February 2024"',
                '"Important notes",""']
        yearly = [f'"{a}","{y[k * 12:(k + 1) * 12].mean():.1f}"' for k, a in enumerate(range(2001, 2009))]
        quarterly = [f'"{2001 + k // 4} Q{k % 4 + 1}","{y[k * 3:(k + 1) * 3].mean():.1f}"' for k in range(32)]
        monthly = [f'"{a.year} {a.strftime("%b").upper()}","{b:.1f}"' for a, b in zip(t, y)]
        path.write_text("\n".join(meta + yearly + quarterly + monthly) + "\n")
    elif name == "newest_first":  # a price export: the newest day first (Yahoo, Investing.com)
        t, y = _daily()
        pd.DataFrame({"Date": t.strftime("%m/%d/%Y"), "Close": y.round(2)}).iloc[::-1].to_csv(path, index=False)
    elif name == "excel_ansi":  # Excel's "CSV" on a French Windows: cp1252, ';', decimal commas, '°' and '€'
        t, y = _daily()
        lines = [f"{a:%d/%m/%Y};{b:.2f}".replace(".", ",") for a, b in zip(t, y)]
        path.write_bytes(("Date;Recette (€) – température °C\r\n" + "\r\n".join(lines) + "\r\n").encode("cp1252"))
    elif name == "excel_unicode_text":  # Excel's "Unicode Text": UTF-16 with a byte-order mark, tabs, a .txt
        t, y = _daily()
        path = path.with_suffix(".txt")
        path.write_bytes(("Datum\tUmsatz (€)\n" + "".join(f"{a:%Y-%m-%d}\t{b:.2f}\n" for a, b in zip(t, y)))
                         .encode("utf-16"))
    elif name == "meter_readings":  # a meter read once a month, on whichever day the reader came, day first
        t, y = _monthly(96)
        rng = np.random.default_rng(11)
        read = t + pd.to_timedelta(rng.integers(0, 27, len(t)), unit="D")
        pd.DataFrame({"Read on": read.strftime("%d/%m/%Y"), "kWh": y.round(1)}).to_csv(path, index=False)
    elif name == "weight_log":  # a weight logged each morning, at a different minute each day, from an app
        t, y = _daily()
        rng = np.random.default_rng(12)
        at = t + pd.to_timedelta(rng.integers(6 * 60, 10 * 60, len(t)), unit="min")
        pd.DataFrame({"Date": at.strftime("%Y-%m-%d %H:%M:%S"), "Value": y.round(1)}).to_csv(path, index=False)
    elif name == "weekly_count":  # a weekly count taken on whichever weekday the counter came
        rng = np.random.default_rng(13)
        t = pd.date_range("2018-01-01", periods=260, freq="W-MON") + pd.to_timedelta(rng.integers(0, 5, 260), "D")
        k = np.arange(260)
        y = 500 + k + 80 * np.sin(2 * np.pi * k / 52.18) + rng.normal(0, 20, 260)
        pd.DataFrame({"counted": t.strftime("%Y-%m-%d"), "birds": y.round()}).to_csv(path, index=False)
    elif name == "hourly_sample":  # one sample an hour, taken at any minute of it
        rng = np.random.default_rng(14)
        t = pd.date_range("2023-05-01", periods=24 * 60, freq="h") + pd.to_timedelta(rng.integers(0, 60, 24 * 60),
                                                                                      unit="min")
        pd.DataFrame({"sampled": t.strftime("%Y-%m-%d %H:%M"), "ppm": _hourly().round(2)}).to_csv(path, index=False)
    elif name == "monash_tsf":  # the Monash archive's .tsf: 12 quarterly series of different starts and lengths
        path = path.with_suffix(".tsf")
        rng = np.random.default_rng(15)
        lines = ["# quarterly series as the archive writes them", "@relation tourism_quarterly_like",
                 "@attribute series_name string", "@attribute start_timestamp date", "@frequency quarterly",
                 "@horizon 8", "@missing false", "@equallength false", "@data"]
        for k in range(12):
            n = int(rng.integers(40, 100))
            q = np.arange(n)
            y = 1000 * rng.uniform(0.5, 2) * (1 + 0.01 * q) * (1 + 0.2 * np.sin(2 * np.pi * q / 4 + rng.uniform(0, 6)))
            y = y * np.exp(rng.normal(0, 0.05, n))
            start = pd.Timestamp("1998-01-01") + pd.DateOffset(months=3 * int(rng.integers(0, 20)))
            lines.append(f"T{k + 1}:{start:%Y-%m-%d %H-%M-%S}:" + ",".join(f"{v:.2f}" for v in y))
        path.write_text("\n".join(lines) + "\n")
        extra = ["--horizon", "8"]
    else:
        raise SystemExit(f"probe_formats: no probe {name!r}; the probes: {', '.join(PROBES)}")
    return path, extra


PROBES = ("utc_offsets", "epoch_seconds", "day_first_dots", "semicolon_decimal_comma", "month_first_slashes",
          "ten_seconds", "yyyymm", "yyyymmdd", "mmm_yy", "yy_mmm", "year_number_month", "short_monthly_bom",
          "thousands", "dollars", "percent", "uci_household", "trailing_separator", "utc_z", "am_pm",
          "logger_jitter", "year_month_columns", "title_line", "no_header", "sunspots_as_shipped",
          "dates_across", "excel_ansi", "excel_unicode_text", "excel_day_numbers",
          "panel_no_id", "early_outage", "date_hour_ending", "units_row", "month_dot_year",
          "pandas_index", "r_ts_time", "time_steps", "google_trends", "world_bank", "store_item", "local_autumn", "entsoe", "entsoe_prices", "ecb", "event_log", "month_dot_comma",
          "german_thousands", "french_nnbsp", "swiss_apostrophe", "german_whole", "newest_first", "year_dot_month",
          "french_months", "eurostat", "oecd", "ons", "meter_readings", "weight_log", "weekly_count",
          "hourly_sample", "monash_tsf")


def probe(name: str, folder: Path) -> dict:
    path, extra = write(name, folder)
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    t0 = time.perf_counter()
    p = subprocess.run([sys.executable, "-m", "lstmkit", "forecast", "backtest", "--data", str(path), "--quiet",
                        "--out", str(folder / f"out-{name}"), *extra], env=env, capture_output=True, text=True,
                       timeout=900)
    lines = [ln.strip() for ln in (p.stdout + "\n" + p.stderr).splitlines() if ln.strip()]
    row = {"probe": name, "exit": p.returncode, "seconds": round(time.perf_counter() - t0, 1),
           "first_values": read_table(path).iloc[:2, 0].astype(str).tolist()}
    for ln in lines:
        if ln.startswith("data handling:"):
            row["read"] = ln[len("data handling:"):].strip()
        elif ln.startswith("backtest ("):
            row["mase"] = dict(re.findall(r"(model|naive|seasonal naive|AutoETS|AutoARIMA|AutoTheta) sMAPE [\d.]+% "
                                          r"MASE ([\d.]+)", ln))
        elif ln.startswith(("the model (", "a peer wins")):
            row["verdict"] = ln
        elif "error:" in ln:
            row["error"] = ln.split("error:", 1)[1].strip()
    return row


def main(argv: list[str]) -> None:
    names = argv or list(PROBES)
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            print(json.dumps(probe(name, Path(tmp))), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
