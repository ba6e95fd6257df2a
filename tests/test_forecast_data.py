"""Loading series: layouts, formats, and a clear error (or a stated fix) for each kind of bad input."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest

from lstmkit.data.series import load_series
from lstmkit.tasks.forecast.seasonality import resolve_season


def _monthly(n=30, start="2000-01"):
    t = pd.date_range(start, periods=n, freq="MS")
    return pd.DataFrame({"month": t.strftime("%Y-%m"), "sales": np.arange(1.0, n + 1)})


def _write(tmp_path, df, name="d.csv"):
    path = tmp_path / name
    df.to_csv(path, index=False)
    return path


def test_airline_shared_and_builtin_agree(shared_data):
    from lstmkit.tasks.forecast.estimator import Forecaster

    shared = load_series(shared_data / "series" / "airline.csv", "Passengers", "Date")
    builtin = Forecaster().read()
    s = shared.series[0]
    assert len(s) == 144 and shared.freq == "MS" and shared.notes == []
    assert str(s.time[0].date()) == "1949-01-01" and s.values[0] == 112 and s.values[-1] == 432
    np.testing.assert_array_equal(builtin.series[0].values, s.values)
    assert resolve_season(0, shared.freq) == (12, "from the 'MS' frequency")


def test_integer_time_sunspots(shared_data):
    d = load_series(shared_data / "series" / "sunspots.csv", "SUNACTIVITY", "YEAR")
    assert d.freq == 1 and len(d.series[0]) == 309 and d.series[0].time[0] == 1700
    assert resolve_season(0, d.freq) == (1, "no calendar season")  # integer steps: no calendar season ...
    m, why = resolve_season(0, d.freq, [d.series[0].values])
    assert m in (10, 11) and why.startswith("detected")  # ... but the ~11-year cycle is found in the data


def test_long_many_series_wide_and_parquet(tmp_path):
    a, b = _monthly(24), _monthly(20, "2001-01")
    long = pd.concat([a.assign(store="A"), b.assign(store="B", sales=b.sales * 10)])
    d = load_series(_write(tmp_path, long), "sales", "month", id="store")
    assert [s.id for s in d.series] == ["A", "B"] and [len(s) for s in d.series] == [24, 20]
    assert d.series[1].values[0] == 10.0
    wide = a.assign(other=a.sales * 2)
    w = load_series(_write(tmp_path, wide, "w.csv"), None, "month", layout="wide")
    assert [s.id for s in w.series] == ["sales", "other"] and w.series[1].values[3] == 8.0
    long.to_parquet(tmp_path / "d.parquet")
    p = load_series(tmp_path / "d.parquet", "sales", "month", id="store")
    np.testing.assert_array_equal(p.series[1].values, d.series[1].values)


def test_empty_file(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_text("")
    with pytest.raises(ValueError, match=r"empty.csv: the file is empty"):
        load_series(path, "sales", "month")
    path.write_text("month,sales\n")
    with pytest.raises(ValueError, match=r"empty.csv: no data rows"):
        load_series(path, "sales", "month")


def test_missing_column(tmp_path):
    path = _write(tmp_path, _monthly())
    with pytest.raises(ValueError, match=r"d.csv: no target column 'revenue'; the columns are \['month', 'sales'\]"):
        load_series(path, "revenue", "month")
    with pytest.raises(ValueError, match=r"no time column 'date'"):
        load_series(path, "sales", "date")


def test_non_numeric_value_names_row(tmp_path):
    df = _monthly().astype({"sales": object})
    df.loc[4, "sales"] = "n/a?"
    with pytest.raises(ValueError, match=r"d.csv: column 'sales' row 6: expected a number, got 'n/a\?'"):
        load_series(_write(tmp_path, df), "sales", "month")


def test_bad_timestamp_names_row(tmp_path):
    df = _monthly()
    df.loc[2, "month"] = "not a date"
    with pytest.raises(ValueError, match=r"column 'month' row 4: expected a date"):
        load_series(_write(tmp_path, df), "sales", "month")


def test_duplicate_timestamps_name_rows(tmp_path):
    df = _monthly()
    df.loc[5, "month"] = df.loc[4, "month"]
    with pytest.raises(ValueError, match=r"series 'sales', column 'month': duplicate timestamp 2000-05-01 00:00:00 at rows 6 and 7"):
        load_series(_write(tmp_path, df), "sales", "month")


@pytest.mark.parametrize("freq", ["h", "15min"])
def test_the_hour_a_local_clock_skips_in_spring_is_named_in_the_gap_note(tmp_path, freq):
    # wall-clock times over the start of summer time lack 02:00-02:59; the note said only "missing from the grid"
    t = pd.date_range("2024-03-30", "2024-04-01 23:59", freq=freq, tz="Europe/Paris").tz_localize(None)
    df = pd.DataFrame({"time": t.strftime("%Y-%m-%d %H:%M"), "load": np.arange(len(t), dtype=float)})
    d = load_series(_write(tmp_path, df), "load")
    assert any("inserted as missing values (most likely the hour a local clock skips when summer time begins" in n
               for n in d.notes)
    # an hour missing at noon, or two hours at night, is a plain gap: no such hint
    for drop in (df.index[df["time"].str.endswith("12:00")], df.index[df["time"].str.startswith("2024-03-31 01")]):
        d = load_series(_write(tmp_path, df.drop(index=drop)), "load")
        assert any("inserted as missing values" in n for n in d.notes)
        assert not any("summer time" in n for n in d.notes)


@pytest.mark.parametrize("freq", ["h", "15min"])
def test_the_hour_a_local_clock_repeats_in_autumn_holds_the_mean_of_its_values(tmp_path, freq):
    # wall-clock times over the end of summer time repeat 02:00-02:59; the load stopped at "duplicate timestamp"
    t = pd.date_range("2024-10-26", "2024-10-28 23:59", freq=freq, tz="Europe/Paris").tz_localize(None)
    df = pd.DataFrame({"time": t.strftime("%Y-%m-%d %H:%M"), "load": np.arange(len(t), dtype=float)})
    d = load_series(_write(tmp_path, df), "load")
    per_hour = 4 if freq == "15min" else 1
    assert len(d.series[0]) == len(t) - per_hour
    at = list(d.series[0].time).index(pd.Timestamp("2024-10-27 02:00"))
    assert d.series[0].values[at] == df.loc[df["time"] == "2024-10-27 02:00", "load"].mean()
    assert d.series[0].values[at + per_hour] == df.loc[df["time"] == "2024-10-27 03:00", "load"].iloc[0]
    assert any(n.startswith("the hour a local clock repeats when summer time ends") and "values averaged" in n
               for n in d.notes)


def test_a_local_clock_going_back_an_hour_is_named_in_the_duplicate_error(tmp_path):
    # small hours repeated on two days of one year are no clock change: the error says what it may be and what to
    # write
    t = pd.date_range("2024-10-26", periods=48, freq="h", tz="Europe/Paris").tz_localize(None)
    df = pd.DataFrame({"time": t.strftime("%Y-%m-%d %H:%M"), "load": np.arange(48.0)})
    twice = pd.concat([df, df.iloc[[1]]]).sort_values("time", kind="stable")
    with pytest.raises(ValueError, match=r"duplicate timestamp 2024-10-26 01:00:00 .*summer time ends: write the "
                                         r"times with their UTC offset"):
        load_series(_write(tmp_path, twice), "load")
    # a repeat at noon, or in monthly data, is a plain duplicate: no such hint
    df.loc[13, "time"] = df.loc[12, "time"]
    df.loc[27, "time"] = df.loc[28, "time"] = "2024-10-27 05:00"
    with pytest.raises(ValueError, match=r"duplicate timestamp") as err:
        load_series(_write(tmp_path, df.drop(index=[26, 27])), "load")
    assert "summer time" not in str(err.value)
    monthly = _monthly()
    monthly.loc[9, "month"] = monthly.loc[10, "month"] = "2000-10-01"
    with pytest.raises(ValueError, match=r"duplicate timestamp") as err:
        load_series(_write(tmp_path, monthly), "sales", "month")
    assert "summer time" not in str(err.value)


def test_irregular_frequency(tmp_path):
    df = _monthly()
    df.loc[7, "month"] = "2000-08-15"
    with pytest.raises(ValueError, match=r"row 9: irregular frequency: 2000-08-15 00:00:00 is off the 'MS' grid"):
        load_series(_write(tmp_path, df), "sales", "month")
    years = pd.DataFrame({"year": [2000, 2001, 2002, 2004, 2005, 2007], "v": [1.0, 2, 3, 4, 5, 6]})
    d = load_series(_write(tmp_path, years, "y.csv"), "v", "year")  # gaps on the yearly grid: filled, reported
    assert len(d.series[0]) == 8 and any("2 timestamp(s) missing" in n for n in d.notes)
    odd = pd.DataFrame({"t": [0, 3, 6, 7, 9, 12], "v": [1.0, 2, 3, 4, 5, 6]})
    with pytest.raises(ValueError, match=r"row 5: irregular frequency: expected steps of 3 from 0, got 7"):
        load_series(_write(tmp_path, odd, "o.csv"), "v", "t")


def test_missing_timestamps_and_short_gaps_interpolated(tmp_path):
    df = _monthly().drop(index=[10])  # one month absent
    df.loc[3, "sales"] = np.nan
    d = load_series(_write(tmp_path, df), "sales", "month")
    s = d.series[0]
    assert len(s) == 30
    np.testing.assert_allclose(s.values, np.arange(1.0, 31.0))  # linear data: interpolation is exact
    assert any("inserted as missing" in n for n in d.notes)
    assert any("filled by linear interpolation" in n for n in d.notes)


def test_long_nan_run_is_an_error_and_error_policy(tmp_path):
    df = _monthly()
    df.loc[15:22, "sales"] = np.nan  # 8 missing in a row, 15 values before them and 7 after
    path = _write(tmp_path, df)
    with pytest.raises(ValueError, match=r"a run of 8 missing values from row 17 is longer than max_gap=3 \(the values "
                                         r"after it are fewer than those before, so the series is not cut there\)"):
        load_series(path, "sales", "month", max_gap=3)
    assert len(load_series(path, "sales", "month", max_gap=8).series[0]) == 30
    with pytest.raises(ValueError, match=r"row 17: missing value"):
        load_series(path, "sales", "month", missing="error")


def test_an_outage_early_in_a_series_starts_it_after_the_outage(tmp_path):
    # 40 days missing from a 500-day series stopped the run ("a run of 40 missing values ... is longer than
    # max_gap=12"); with more values after the outage than before it, the series now starts after it
    t = pd.date_range("2021-01-01", periods=500, freq="D")
    df = pd.DataFrame({"date": t, "v": np.arange(500.0)}).drop(index=range(200, 240))
    d = load_series(_write(tmp_path, df), "v", "date")
    s = d.series[0]
    assert len(s) == 260 and s.time[0] == t[240] and s.values[0] == 240.0 and s.rows[0] == 200
    assert any("the 200 value(s) of 'v' before a run of 40 missing values (from step 200 of the series; longer than "
               "max_gap=12) left out, the 260 after it kept (--data.max_gap 40 interpolates" in n for n in d.notes)
    assert len(load_series(_write(tmp_path, df), "v", "date", max_gap=40).series[0]) == 500  # or interpolated
    two = df.drop(index=range(260, 280))  # a second outage: the series starts after the last one
    assert load_series(_write(tmp_path, two), "v", "date").series[0].time[0] == t[280]
    late = pd.DataFrame({"date": t, "v": np.arange(500.0)}).drop(index=range(300, 340))  # fewer after: the error
    with pytest.raises(ValueError, match=r"a run of 40 missing values from step 300 of the series is longer"):
        load_series(_write(tmp_path, late), "v", "date")
    # many series: each is cut on its own
    panel = pd.concat([df.assign(store="a"), pd.DataFrame({"date": t, "v": np.arange(500.0), "store": "b"})])
    ss = load_series(_write(tmp_path, panel), "v", "date", id="store")
    assert [len(x) for x in ss.series] == [260, 500]


def test_leading_trailing_missing_dropped(tmp_path):
    df = _monthly()
    df.loc[[0, 1, 29], "sales"] = np.nan
    d = load_series(_write(tmp_path, df), "sales", "month")
    assert len(d.series[0]) == 27 and d.series[0].values[0] == 3.0
    assert any("2 leading" in n for n in d.notes) and any("1 trailing" in n for n in d.notes)


def test_horizon_longer_than_history_is_clear_and_short_history_falls_back(tmp_path):
    from lstmkit.tasks.forecast.estimator import Forecaster

    df = _monthly(30)
    f = Forecaster(horizon=40, progress_bar=False)
    with pytest.raises(ValueError, match=r"DataFrame: no series is long enough for a backtest of horizon 40 \(it needs "
                                         r"42 values: .* the longest has 30\)"):
        f.backtest(df, target="sales", time="month")
    # 22 values before the first origin: too few for a two-season window; never an exception
    f = Forecaster(horizon=8, start="-8", candidates=["lstm", "seasonal_naive", "naive"], epochs=2, hidden_size=4,
                   ensemble=1, progress_bar=False, peers=[])
    frame = f.backtest(df, target="sales", time="month")
    assert len(frame) == 8
    plan = f.backtest_.cores[0].plan
    assert plan.input_size < 24 and any("input window" in r and "history" in r for r in plan.reasons)


def test_in_memory_frames_series_and_arrays_match_the_file(tmp_path):
    df = _monthly(30)
    path = _write(tmp_path, df)
    from_file = load_series(path, "sales", "month")
    from_frame = load_series(df, "sales", "month")
    assert from_frame.source == "DataFrame" and from_file.source == str(path)
    np.testing.assert_array_equal(from_file.series[0].values, from_frame.series[0].values)
    assert list(from_file.series[0].time) == list(from_frame.series[0].time) and from_frame.freq == "MS"
    s = pd.Series(df["sales"].to_numpy(), index=pd.to_datetime(df["month"]), name="sales")
    from_series = load_series(s)
    assert from_series.freq == "MS" and from_series.series[0].id == "sales"
    from_array = load_series(df["sales"].to_numpy())
    assert from_array.freq == 1 and len(from_array.series[0]) == 30 and from_array.series[0].id == "value"
    # nothing but missing values: said so (a Series asked for the value column to be named, until 2026-12-07)
    with pytest.raises(ValueError, match=r"load_series: Series: every one of its 2 values is missing"):
        load_series(pd.Series([np.nan, np.nan], index=s.index[:2]))
    with pytest.raises(ValueError, match=r"load_series: array: every one of its 3 values is missing"):
        load_series(np.full(3, np.nan))
    bad = df.astype({"sales": object})
    bad.loc[4, "sales"] = "x"
    with pytest.raises(ValueError, match=r"DataFrame: column 'sales' position 4: expected a number, got 'x'"):
        load_series(bad, "sales", "month")


@pytest.mark.parametrize("value", [np.inf, -np.inf, 1e300])
def test_non_finite_and_overflowing_values_name_file_column_and_row(tmp_path, value):
    df = _monthly()
    df.loc[6, "sales"] = value
    with pytest.raises(ValueError, match=r"d.csv: column 'sales' row 8: expected a finite number of magnitude at "
                                         r"most 1e\+100, got -?(inf|1e\+300)"):
        load_series(_write(tmp_path, df), "sales", "month")
    wide = _monthly().assign(other=1.0)
    wide.loc[2, "other"] = value
    with pytest.raises(ValueError, match=r"w.csv: column 'other' row 4: expected a finite number"):
        load_series(_write(tmp_path, wide, "w.csv"), None, "month", layout="wide")
    cov = _monthly().assign(promo=0.0)
    cov.loc[9, "promo"] = value
    with pytest.raises(ValueError, match=r"c.csv: column 'promo' row 11: expected a finite number"):
        load_series(_write(tmp_path, cov, "c.csv"), "sales", "month", future_covariates=["promo"])


def test_day_first_dates_are_read_in_one_format_for_the_whole_column():
    """Each value read on its own took 02/01 as 1 February and 13/01 as 13 January in one column."""
    import pandas as pd

    from lstmkit.data.series import load_series

    days = pd.date_range("2024-01-01", periods=60, freq="D")
    for fmt in ("%d/%m/%Y", "%d.%m.%Y"):
        s = load_series(pd.DataFrame({"Date": days.strftime(fmt), "Sales": np.arange(60.0)}), target="Sales", time="Date")
        assert s.freq == "D" and list(s.series[0].time) == list(days)
    months = pd.date_range("2015-01-01", periods=30, freq="MS")  # every day <= 12: both orders read every value
    s = load_series(pd.DataFrame({"Date": months.strftime("%d/%m/%Y"), "y": np.arange(30.0)}), target="y", time="Date")
    assert s.freq == "MS" and any("read day first" in n for n in s.notes)
    short = pd.date_range("2015-01-01", periods=11, freq="MS")  # both orders regular: month first, and it says so
    s = load_series(pd.DataFrame({"Date": short.strftime("%d/%m/%Y"), "y": np.arange(11.0)}), target="y", time="Date")
    assert any("could be day or month first" in n for n in s.notes)
    us = pd.date_range("2019-01-01", periods=24, freq="D")  # month first; read day first they are off the grid
    s = load_series(pd.DataFrame({"Date": us.strftime("%m/%d/%y"), "y": np.arange(24.0)}), target="y", time="Date")
    assert s.freq == "D" and list(s.series[0].time) == list(us) and s.notes == []


def test_a_csv_with_semicolons_and_decimal_commas_and_a_latin1_csv(tmp_path):
    from lstmkit.data.series import read_table

    semi = tmp_path / "semi.csv"
    semi.write_text("date;units sold\n2015-01-01;100,13\n2015-02-01;101,5\n")
    df = read_table(semi)
    assert list(df.columns) == ["date", "units sold"] and df["units sold"].tolist() == [100.13, 101.5]
    # the same table saved as .txt (a "Text" export): read by pandas' sniffer, which found the ';' but not the
    # decimal comma ("expected a number, got '100,13'") until 2026-12-07; a space-separated .txt still is sniffed
    txt = tmp_path / "semi.txt"
    txt.write_text(semi.read_text())
    assert read_table(txt)["units sold"].tolist() == [100.13, 101.5]
    spaced = tmp_path / "spaced.txt"
    spaced.write_text("year value\n1949 112.5\n1950 118\n")
    assert read_table(spaced)["value"].tolist() == [112.5, 118.0]


def test_tables_saved_by_excel_in_other_encodings_are_read_with_a_note_and_binary_files_are_refused(tmp_path):
    from lstmkit.data.series import read_table, text_encoding

    rows = "".join(f"2015-{m:02d}-01;{m},5\n" for m in range(1, 13))
    ansi = tmp_path / "ansi.csv"  # Excel's "CSV" on a French Windows: cp1252, ';' and decimal commas
    ansi.write_bytes(("Date;Température (°C) – moyenne €\n" + rows).encode("cp1252"))
    df = read_table(ansi)
    assert list(df.columns) == ["Date", "Température (°C) – moyenne €"] and df.iloc[:, 1].tolist()[:2] == [1.5, 2.5]
    assert any("not UTF-8 (byte 0xe9 on line 1): read as Windows-1252" in n for n in df.attrs["read_notes"])
    s = load_series(ansi)
    assert s.freq == "MS" and s.target == "Température (°C) – moyenne €" and len(s.series[0].values) == 12
    assert any("Windows-1252" in n for n in s.notes)
    latin = tmp_path / "latin.csv"  # 0x81 is not a Windows-1252 letter: Latin-1
    latin.write_bytes("date,caf\xe9\x81\n2015-01-01,1\n".encode("latin-1"))
    df = read_table(latin)
    assert list(df.columns) == ["date", "caf\xe9\x81"] and any("read as Latin-1" in n for n in df.attrs["read_notes"])
    utf16 = tmp_path / "unicode.txt"  # Excel's "Unicode Text": UTF-16 with its byte-order mark, tab-separated
    utf16.write_bytes("Monat\tUmsatz (€)\n".encode("utf-16") + "".join(
        f"2015-{m:02d}-01\t{m}\n" for m in range(1, 13)).encode("utf-16-le"))
    df = read_table(utf16)
    assert list(df.columns) == ["Monat", "Umsatz (€)"] and df["Umsatz (€)"].tolist() == list(range(1, 13))
    assert any("UTF-16" in n for n in df.attrs["read_notes"])
    plain = tmp_path / "plain.csv"
    plain.write_text("date,café\n2015-01-01,1\n", encoding="utf-8")
    assert list(read_table(plain).columns) == ["date", "café"] and read_table(plain).attrs["read_notes"] == []
    # read in pieces of a megabyte: a character across a piece's end is whole, a late byte or NUL has its line
    body = "".join(f"2015-01-01,{k}\n" for k in range(90_000))  # about 1.5 MB
    big = tmp_path / "big.csv"
    big.write_bytes(("date,caf\u00e9\n" + body[:1_048_564] + "\u00e9\u00e9\u00e9" + body[1_048_564:]).encode("utf-8"))
    assert text_encoding(big) == ("utf-8-sig", None)
    late = tmp_path / "late.csv"
    late.write_bytes(("date,v\n" + body).encode() + "caf\xe9,1\n".encode("cp1252"))
    assert "(byte 0xe9 on line 90002): read as Windows-1252" in text_encoding(late)[1]
    late.write_bytes(("date,v\n" + body).encode() + b"\x00\n")
    with pytest.raises(ValueError, match=r"late.csv: line 90002: expected CSV text, got a NUL byte"):
        text_encoding(late)
    blob = tmp_path / "blob.csv"
    blob.write_bytes(b"v\n1\n\x00\x00\xe9\x02\n")
    with pytest.raises(ValueError, match=r"blob.csv: line 3: expected CSV text, got a NUL byte"):
        read_table(blob)


def test_an_unnamed_column_of_dates_is_the_time_column_and_orders_the_rows(tmp_path):
    df = _monthly(36)
    shuffled = df.sample(frac=1, random_state=0)
    named = load_series(_write(tmp_path, df, "sorted.csv"), "sales", "month")
    found = load_series(_write(tmp_path, shuffled, "shuffled.csv"))  # no time, no target named
    assert found.freq == "MS" and named.freq == "MS"
    np.testing.assert_array_equal(found.series[0].values, named.series[0].values)  # sorted by date, not file order
    assert any("'month' holds dates: it is the time column (none was named" in n for n in found.notes)
    assert load_series(shuffled.astype({"month": "string"})).freq == "MS"  # pandas' string type (Parquet, pandas 3)
    # a column of words, ids or numbers is not taken for dates: the row order stays the time
    words = pd.DataFrame({"who": ["ann", "bob"] * 10, "code": [f"N{i}" for i in range(20)], "v": np.arange(20.0)})
    plain = load_series(words, "v")
    assert plain.freq == 1 and not plain.datetime and plain.notes == []
    ends = pd.to_datetime(df["month"]) + pd.offsets.MonthEnd(0)  # two different dates a row: which is the time?
    with pytest.raises(ValueError, match=r"columns \['month', 'end'\] hold dates; name the time column"):
        load_series(df.assign(end=ends.dt.strftime("%Y-%m-%d")), "sales")
    assert load_series(df.assign(end=df["month"]), "sales").series[0].time[0] == found.series[0].time[0]  # the same


def test_year_first_dates_carry_no_day_or_month_doubt_and_trailing_empty_rows_are_skipped(tmp_path):
    t = pd.date_range("2020-01-01", periods=30, freq="MS").strftime("%Y-%m-%d")
    path = _write(tmp_path, pd.DataFrame({"date": t, "v": np.arange(30.0)}))
    with open(path, "a") as f:
        f.write(",\n,\n")  # a spreadsheet's export: empty lines with their separators
    d = load_series(path, "v", "date")
    assert d.freq == "MS" and len(d.series[0]) == 30
    assert not any("day or month first" in n for n in d.notes)
    assert any("2 empty row(s) at the end skipped (from row 32)" in n for n in d.notes)
    # an empty row inside still has no timestamp: an error naming it
    inner = pd.DataFrame({"date": [*t[:5], None, *t[5:]], "v": [*range(5), None, *range(5, 30)]})
    with pytest.raises(ValueError, match="column 'date' row 7: missing timestamp"):
        load_series(_write(tmp_path, inner, "inner.csv"), "v", "date")


def test_a_row_without_a_series_id_is_refused_naming_it_as_one_without_a_timestamp_is(tmp_path):
    """It used to become a series of its own named 'nan' (or 'None'), while the series it belonged to lost a row."""
    t = pd.date_range("2020-01-01", periods=24, freq="MS")
    df = pd.concat([pd.DataFrame({"store": k, "date": t, "v": np.arange(24.0)}) for k in ("a", "b")],
                   ignore_index=True)
    df.loc[5, "store"] = None
    with pytest.raises(ValueError, match="column 'store' row 7: missing series id"):
        load_series(_write(tmp_path, df), "v", "date", id="store")
    with pytest.raises(ValueError, match="column 'store' position 5: missing series id"):
        load_series(df, "v", "date", id="store")
    two = df.assign(region="north")
    with pytest.raises(ValueError, match="column 'store' position 5: missing series id"):
        load_series(two, "v", "date", id=["region", "store"])


def test_numbers_with_thousands_separators_are_read_and_other_forms_name_the_row_and_the_cause(tmp_path):
    # a spreadsheet's number format ("1,124.86" beside "983.94") used to stop the load; it is read, with a note
    t = pd.date_range("2020-01-01", periods=12, freq="MS").strftime("%Y-%m-%d")
    path = tmp_path / "k.csv"
    values = [980.5 + 37.25 * i for i in range(12)]
    path.write_text("date,v\n" + "".join(f'{d},"{v:,}"\n' for d, v in zip(t, values)))
    d = load_series(path)  # neither column named: the dates are the time, the one other column the target
    np.testing.assert_allclose(d.series[0].values, values)
    assert any("column 'v': 11 number(s) with thousands separators (',') such as '1,017.75' read as 1017.75" in n
               for n in d.notes)
    wide = tmp_path / "w.csv"  # the wide layout reads them too
    wide.write_text("date,a,b\n" + "".join(f'{d},"{v:,}",{i}\n' for i, (d, v) in enumerate(zip(t, values))))
    w = load_series(wide, layout="wide")  # unnamed: the text column of such numbers is a series too
    assert [x.id for x in w.series] == ["a", "b"]
    np.testing.assert_allclose(w.series[0].values, values)
    beside = pd.DataFrame({"date": t, "revenue": [f"{v:,}" for v in values], "units": np.arange(12)})
    with pytest.raises(ValueError, match=r"numeric columns: \['revenue', 'units'\]"):  # not 'units' chosen silently
        load_series(beside)
    assert any("the series columns: 11 number(s) with thousands separators" in n for n in w.notes)
    european = str.maketrans(",.", ".,")
    path.write_text("date,v\n" + "".join(f'{d},"{f"{v + 1000:,.1f}".translate(european)}"\n' for d, v in zip(t, values)))
    with pytest.raises(ValueError, match=r"column 'v' row 2: expected a number, got '1.980,5' .*thousands separators"):
        load_series(path)  # 1.980,5 (European) is not read as 1980.5: the row and the cause are named
    for written in ("$1,000.50", "12.5%", "€ 3", "40 kg"):  # units and signs: the hint says what to write
        path.write_text("date,v\n" + "".join(f'{d},"{written if i == 3 else i}"\n' for i, d in enumerate(t)))
        with pytest.raises(ValueError, match=r"row 5: expected a number, got .*units and currency or percent signs"):
            load_series(path)
    path.write_text("date,v\n" + "".join(f'{d},{"unknown" if i == 3 else i}\n' for i, d in enumerate(t)))
    with pytest.raises(ValueError, match=r"row 5: expected a number, got 'unknown' \(1 non-numeric value\(s\) in the "
                                         r"column\)$"):
        load_series(path)  # a word is no unit


@pytest.mark.parametrize("sep,mark,decimal", [(";", ".", ","), (";", " ", ","), (";", "\u202f", ","),
                                              (";", "\u00a0", ","), (",", "'", "."), (",", " ", ".")])
def test_thousands_separators_of_other_countries_are_read_where_they_cannot_be_the_decimal_mark(tmp_path, sep, mark,
                                                                                                 decimal):
    # German (1.234,5), French (1 234,5 with a space or Excel's narrow no-break space) and Swiss (1'234.5) exports
    # stopped at "expected a number"; in a ';' file pandas also read '1.234' as 1.234 beside '1.234,5'
    values = [880.5 + 37.25 * i for i in range(12)] + [1234.0, 1.5]
    t = pd.date_range("2020-01-01", periods=len(values), freq="MS").strftime("%Y-%m-%d")

    def written(v):
        whole, frac = f"{v:,.2f}".split(".")
        text = whole.replace(",", mark) + (decimal + frac if frac != "00" else "")
        return f'"{text}"' if sep in text else text

    path = tmp_path / "k.csv"
    path.write_text(f"date{sep}v\n" + "".join(f"{d}{sep}{written(v)}\n" for d, v in zip(t, values)), encoding="utf-8")
    d = load_series(path)
    np.testing.assert_allclose(d.series[0].values, values)  # '1.234' (no decimals) is 1234 where '.' groups
    assert any(f"number(s) with thousands separators ({mark!r})" in n for n in d.notes)
    other = '"1,234"' if decimal == "." else ("1 234" if mark == "." else "1.234")  # a second kind of mark
    mixed = path.read_text(encoding="utf-8").replace(f"{sep}{written(1234.0)}\n", f"{sep}{other}\n")
    path.write_text(mixed, encoding="utf-8")
    with pytest.raises(ValueError, match=r"column 'v' row 14: expected a number, got .* \(two kinds of thousands "
                                         r"separator in the column, .*in 1 value\(s\).*: write one kind\)$"):
        load_series(path)


def test_whole_numbers_grouped_by_points_in_a_semicolon_file(tmp_path):
    # a German export of whole numbers: '723' and '1.252'; pandas read the point as a decimal mark, and the series
    # dropped from 723 to 1.252 where it passed 1000, without a word
    t = pd.date_range("2022-01-01", periods=40, freq="MS")
    y = np.round(1000 + 300 * np.sin(np.arange(40)))
    path = tmp_path / "umsatz.csv"
    path.write_text("Datum;Umsatz\n" + "".join(f"{a:%d.%m.%Y};{int(b):,}\n".replace(",", ".") for a, b in zip(t, y)))
    d = load_series(path)
    np.testing.assert_allclose(d.series[0].values, y)
    assert any("the point read as the thousands separator (1000)" in n for n in d.notes)
    # every value with a point ('2.252', a meter's three decimals, or thousands?): read as decimals, with a note
    path.write_text("Datum;Umsatz\n" + "".join(f"{a:%d.%m.%Y};{b / 1000 + 1:.3f}\n" for a, b in zip(t, y)))
    d = load_series(path)
    np.testing.assert_allclose(d.series[0].values, np.round(y / 1000 + 1, 3))
    assert any("read with the point as the decimal mark (2); where it separates thousands" in n for n in d.notes)
    # small counts beside one '1.500': no three-digit numbers to show the scale, so the point stays a decimal
    path.write_text("Datum;n\n" + "".join(f"{a:%d.%m.%Y};{'1.500' if i == 5 else i % 3}\n" for i, a in enumerate(t)))
    assert load_series(path).series[0].values[5] == 1.5


@pytest.mark.parametrize("sep", [",", ";"])
def test_months_written_year_dot_month_are_months(tmp_path, sep):
    # '2020.01' (East Asian statistics, some spreadsheets): in a comma file pandas read the number 2020.01, and the
    # loader stopped at "a run of 88 missing values" between 2020.12 and 2021.01
    t = pd.date_range("2020-01-01", periods=36, freq="MS")
    y = 100 + np.arange(36.0)
    path = tmp_path / "m.csv"
    path.write_text(f"period{sep}value\n" + "".join(f"{a:%Y.%m}{sep}{v:g}\n" for a, v in zip(t, y)))
    d = load_series(path)
    assert d.freq == "MS" and str(d.series[0].time[0].date()) == "2020-01-01" and len(d.series[0]) == 36
    np.testing.assert_allclose(d.series[0].values, y)
    assert any("period codes such as '2020.01'" in n for n in d.notes)
    # two decimals that are not all months (a price column) stay numbers
    prices = [f"{2020 + k % 3}.{(k * 7) % 100:02d}" for k in range(36)]
    path.write_text(f"date{sep}price\n" + "".join(f"{a:%Y-%m-%d}{sep}{p}\n" for a, p in zip(t, prices)))
    d = load_series(path)
    assert d.freq == "MS" and d.series[0].values[1] == pytest.approx(2021.07)


def test_a_series_too_short_to_show_its_step_takes_the_step_the_other_series_show():
    """Among many series, one of two timestamps used to stop the whole load ('could not infer a regular step')."""
    rows = [("a", t, 1.0 + i) for i, t in enumerate(pd.date_range("2020-01-06", periods=30, freq="D"))]
    rows += [("b", t, 2.0 + i) for i, t in enumerate(pd.date_range("2020-02-01", periods=20, freq="D"))]
    rows += [("c", t, 5.0) for t in pd.to_datetime(["2020-03-01", "2020-03-03"])]  # two values, a gap between
    d = load_series(pd.DataFrame(rows, columns=["id", "t", "y"]), "y", "t", id="id")
    assert d.freq == "D" and [len(s) for s in d.series] == [30, 20, 3]  # the gap filled on the daily grid
    assert any("series 'c': too few timestamps (2) to show their step; the 'D' of the other series taken" in n
               for n in d.notes)
    with pytest.raises(ValueError, match="could not infer a regular step"):  # alone, it still cannot be read
        load_series(pd.DataFrame(rows[-2:], columns=["id", "t", "y"]), "y", "t", id="id")


@pytest.mark.parametrize("freq,expect", [("SMS", "SMS-15"), ("SMS-10", "SMS-10"), ("SME", "SME-15")])
def test_twice_a_month_data_is_read_on_its_own_grid_with_a_season_of_24(tmp_path, freq, expect):
    # pandas' infer_freq names no semi-monthly step: the loader used to stop at "could not infer a regular step"
    t = pd.date_range("2019-01-01", periods=60, freq=freq)
    df = pd.DataFrame({"date": t.strftime("%Y-%m-%d"), "v": np.arange(60.0)})
    d = load_series(_write(tmp_path, df), "v", "date")
    assert d.freq == expect and len(d.series[0]) == 60
    assert resolve_season(0, d.freq)[0] == 24
    gap = load_series(_write(tmp_path, df.drop(index=[20]), "g.csv"), "v", "date")  # one date absent: filled
    assert gap.freq == expect and len(gap.series[0]) == 60
    np.testing.assert_allclose(gap.series[0].values, np.arange(60.0))
    odd = df.copy()
    odd.loc[30, "date"] = "2020-04-20"  # a day off the grid stays an error naming the row
    with pytest.raises(ValueError, match=r"row 32: irregular frequency"):
        load_series(_write(tmp_path, odd, "o.csv"), "v", "date")


@pytest.mark.parametrize("fmt,freq", [("%Y%m", "MS"), ("%Y%m%d", "D")])
def test_integers_written_as_yyyymm_or_yyyymmdd_are_read_as_dates(tmp_path, fmt, freq):
    # 200112 -> 200201 is a step of 89 as integers: the loader took such a column for integer steps (a "run of 88
    # missing values" error when named) or, unnamed, for a second value column ("expected the value column ...")
    t = pd.date_range("2001-11-01", periods=30, freq=freq)
    df = pd.DataFrame({"when": t.strftime(fmt).astype(int), "v": np.arange(30.0)})
    for time in (None, "when"):
        d = load_series(_write(tmp_path, df.sample(frac=1, random_state=1)), None if time is None else "v", time)
        assert d.freq == freq and str(d.series[0].time[0].date()) == "2001-11-01"
        np.testing.assert_allclose(d.series[0].values, np.arange(30.0))
        assert any(re.search(r"column 'when': integers such as \d+ read as year", n) for n in d.notes)
    bad = df.copy()
    bad.loc[3, "when"] = 20011131 if freq == "D" else 200113  # no such day / month
    if freq == "D":  # a yyyymmdd column with an impossible day names its row
        with pytest.raises(ValueError, match=r"column 'when' row 5: integers read as dates \(yyyymmdd\), got "):
            load_series(_write(tmp_path, bad), "v", "when")
    else:  # not every value a month: integer steps, as before (here with a gap too long to fill)
        with pytest.raises(ValueError, match="missing values"):
            load_series(_write(tmp_path, bad), "v", "when")
    # plain integer steps and years stay integer steps; a short column is not taken for dates unless named
    for steps in (np.arange(30) + 1990, np.arange(30) * 7 + 100000):
        d = load_series(_write(tmp_path, pd.DataFrame({"k": steps, "v": np.arange(30.0)})), "v", "k")
        assert not d.datetime and d.series[0].time[0] == steps[0]
    short = df.head(5)
    with pytest.raises(ValueError, match="expected the value column to be named"):
        load_series(_write(tmp_path, short), None, None)
    assert load_series(_write(tmp_path, short), "v", "when").freq == freq


def test_numeric_columns_left_unused_are_named_in_a_note():
    # large serial numbers (or store numbers) beside the value were dropped without a word once the target was named
    df = pd.DataFrame({"serial": 1672531200 + 3600 * np.arange(30), "load": np.arange(30.0), "store": 7})
    d = load_series(df, "load")
    assert not d.datetime and len(d.series) == 1
    assert any("numeric column(s) ['serial', 'store'] not used (time=, id=" in n for n in d.notes)
    named = load_series(df, "load", "serial", id="store")
    assert not any("not used" in n for n in named.notes) and named.freq == "h"  # named: read as Unix seconds


def test_unix_times_are_read_as_utc_dates():
    # sensor and log exports write seconds (or milliseconds) since 1970: they were steps of 3600 with no calendar,
    # and where the time was not named the column was dropped with a note (so no daily season from the calendar)
    k = np.arange(60)
    first = pd.Timestamp("2023-01-01 00:00")
    for col, values, unit in (("timestamp", 1672531200 + 3600 * k, "seconds"),
                              ("epoch_ms", 1672531200000 + 3600000 * k, "milliseconds"),
                              ("time_us", 1672531200000000 + 3600000000 * k, "microseconds"),
                              ("time_ns", 1672531200000000000 + 3600000000000 * k, "nanoseconds"),
                              ("ts", 1672531200.0 + 3600 * k, "seconds")):
        for time in (None, col):
            d = load_series(pd.DataFrame({col: values, "load": np.sin(k / 3.8)}), "load", time)
            assert d.freq == "h" and d.series[0].time[0] == first, (col, time)
            assert any(f"read as Unix times ({unit} since 1970-01-01), in UTC: 2023-01-01 00:00:00" in n
                       for n in d.notes)
    half = load_series(pd.DataFrame({"t": 1672531200.5 + 1800 * k, "v": k * 1.0}), "v", "t")
    assert half.freq == "30min" and half.series[0].time[0] == first + pd.Timedelta("500ms")
    odd_ns = load_series(pd.DataFrame({"t": 1672531200000000001 + 3600000000000 * k, "v": k * 1.0}), "v", "t")
    assert odd_ns.series[0].time[0] == first + pd.Timedelta(1, "ns")  # read as integers, not through a float
    # not Unix times: a column whose name says nothing of time, too few rows, a value before 2001-09-09, steps
    for df, time in ((pd.DataFrame({"population": 1672531200 + k, "v": k * 1.0}), None),
                     (pd.DataFrame({"timestamp": 1672531200 + 3600 * k[:7], "v": k[:7] * 1.0}), None),
                     (pd.DataFrame({"time": 999996400 + 3600 * k, "v": k * 1.0}), "time"),  # from 2001-09-08
                     (pd.DataFrame({"time": k, "v": k * 1.0}), "time")):
        assert not load_series(df, "v", time).datetime
    # the anomaly detector's loader takes such a column for the time, not for a channel
    from lstmkit.tasks.anomaly.data import from_frame

    a = from_frame(pd.DataFrame({"timestamp": 1672531200 + 60 * k, "cpu": np.sin(k / 5.0)}))
    assert a.columns == ["cpu"] and a.time_column == "timestamp"


def test_excel_day_numbers_in_a_column_named_date_are_read_as_dates(tmp_path):
    # a date column saved from a spreadsheet as numbers (42005 = 2015-01-01): the loader took 'Date' for a second
    # value column ("expected the value column to be named"), and named as the time, monthly ones were irregular
    months = pd.date_range("2015-01-01", periods=48, freq="MS")
    hours = pd.date_range("2022-03-01", periods=24 * 10, freq="h")
    excel = pd.Timestamp("1899-12-30")
    for col, when, freq in (("Date", months, "MS"), ("order_date", months, "MS"), ("OrderDate", months, "MS"),
                            ("Datum", hours, "h")):
        days = (when - excel) / pd.Timedelta(days=1)  # whole days, or fractions for the time of day
        path = _write(tmp_path, pd.DataFrame({col: days, "sales": np.arange(len(when)) * 1.0}))
        for time in (None, col):
            d = load_series(path, None if time is None else "sales", time)
            assert d.freq == freq and list(d.series[0].time[:2]) == list(when[:2]), (col, time)
            assert any(f"read as Excel day numbers (days since 1899-12-30): {when[0]}" in n for n in d.notes)
    # not day numbers: a name that does not say date, 'update', values before 1960, too few rows
    k = np.arange(48)
    for df in (pd.DataFrame({"time": 42005 + k, "v": k * 1.0}), pd.DataFrame({"update": 42005 + k, "v": k * 1.0}),
               pd.DataFrame({"date": 20000 + k, "v": k * 1.0}), pd.DataFrame({"date": 42005 + k[:7], "v": k[:7] * 1.0})):
        name = df.columns[0]
        assert not load_series(df, "v", name).datetime, name
    from lstmkit.tasks.anomaly.data import from_frame

    a = from_frame(pd.DataFrame({"Date": (hours - excel) / pd.Timedelta(days=1), "cpu": np.sin(np.arange(240) / 5.0)}))
    assert a.columns == ["cpu"] and a.time_column == "Date" and not any("not evenly spaced" in n for n in a.notes)


def test_a_mistyped_time_far_off_the_others_is_an_error_naming_it_not_a_grid_that_fills_memory(tmp_path):
    # one time typed wrong made the loader build a grid from it to the others, step by step (672 million integer
    # steps here, or a minute grid to the year 2203): memory ran out before the too-long gap was reported
    k = np.arange(50)
    steps = pd.DataFrame({"t": np.r_[1000, 672_000_000 + k[1:]], "v": k * 1.0})
    with pytest.raises(ValueError, match=r"the times span 671999050 steps for 50 rows; the longest gap is 671999000 "
                                         r"missing steps, from 1000 position 0 to 672000001 position 1: check"):
        load_series(steps, "v", "t")
    minutes = pd.date_range("2023-05-01", periods=50, freq="min").astype(str).tolist()
    minutes[-1] = "2203-05-01 00:49:00"
    with pytest.raises(ValueError, match=r"\.csv.*span \d+ steps for 50 rows.*from 2023-05-01 00:48:00 row 50 to "
                                         r"2203-05-01 00:49:00 row 51"):
        load_series(_write(tmp_path, pd.DataFrame({"when": minutes, "v": k * 1.0})), "v", "when")
    # gaps that the default filling handles stay as they were: a long series with a few missing steps loads
    ok = load_series(pd.DataFrame({"t": np.r_[k[:20], k[22:]], "v": np.r_[k[:20], k[22:]] * 1.0}), "v", "t")
    assert len(ok.series[0].values) == 50


def test_spreadsheet_months_such_as_jan_01_are_read_as_months_and_unread_text_times_are_named(tmp_path):
    # a spreadsheet's mmm-yy ('Jan-49', the airline data as often shared): pandas calls it "out of bounds", so the
    # column was dropped without a word and the rows taken as steps without a calendar
    t = pd.date_range("1970-01-01", periods=30, freq="MS")  # (read as 2070 from the year 2050 on, as it should)
    for fmt in ("%b-%y", "%b %y", "%B'%y"):
        df = pd.DataFrame({"Month": t.strftime(fmt), "v": np.arange(30.0)})
        d = load_series(_write(tmp_path, df), None, None)
        assert d.freq == "MS" and str(d.series[0].time[0].date()) == "1970-01-01"  # the century: not 2070
        assert any("period codes such as" in n for n in d.notes)
    recent = pd.DataFrame({"Month": pd.date_range("2001-11-01", periods=30, freq="MS").strftime("%b-%y"),
                           "v": np.arange(30.0)})
    assert str(load_series(_write(tmp_path, recent), "v", "Month").series[0].time[0].date()) == "2001-11-01"
    # the same text as days without a year (Jan-01 .. Jan-31, Feb-01 ..): not months; labels with digits neither
    days = pd.date_range("2023-01-01", periods=40, freq="D").strftime("%b-%d")
    for text in (days, [f"Run-{i:02d}" for i in range(40)]):
        d = load_series(_write(tmp_path, pd.DataFrame({"when": text, "v": np.arange(40.0)})), "v", None)
        assert not d.datetime  # rows in file order, and the note names the column that was not read
        assert any("no column reads as dates" in n and "column 'when'" in n for n in d.notes)
    plain = load_series(_write(tmp_path, pd.DataFrame({"region": ["north"] * 40, "v": np.arange(40.0)})), "v", None)
    assert not any("no column reads as dates" in n for n in plain.notes)  # a label column is no time column


def test_months_written_year_first_or_as_numbers_with_two_digit_years_are_months(tmp_path):
    # '15-Jan' (mmm-yy as other locales' spreadsheets show it) and '01/15' or '1/15' (mm/yy) were rows in file
    # order, without a calendar
    t = pd.date_range("1998-11-01", periods=30, freq="MS")
    for text in (t.strftime("%y-%b"), t.strftime("%m/%y"), [f"{d.month}/{d.strftime('%y')}" for d in t],
                 t.strftime("%m-%y")):
        d = load_series(_write(tmp_path, pd.DataFrame({"Month": text, "v": np.arange(30.0)})), None, None)
        assert d.freq == "MS" and str(d.series[0].time[0].date()) == "1998-11-01", text[:2]
    # the same shapes as days without a year ('01-Jan' .. '31-Jan', '01/15' .. '01/31', '15/01' ..) stay rows
    days = pd.date_range("2023-01-01", periods=40, freq="D")
    for text in (days.strftime("%d-%b"), days.strftime("%m/%d"), days.strftime("%d/%m")):
        d = load_series(_write(tmp_path, pd.DataFrame({"when": text, "v": np.arange(40.0)})), "v", None)
        assert not d.datetime, text[:2]


@pytest.mark.parametrize("names", [
    "janv. févr. mars avr. mai juin juil. août sept. oct. nov. déc.",  # French Excel
    "Jan Feb Mrz Apr Mai Jun Jul Aug Sep Okt Nov Dez",  # German
    "Jänner Februar März April Mai Juni Juli August September Oktober November Dezember",  # Austrian, in full
    "ene feb mar abr may jun jul ago sept oct nov dic",  # Spanish
    "gen feb mar apr mag giu lug ago set ott nov dic",  # Italian
    "jan feb mrt apr mei jun jul aug sep okt nov dec",  # Dutch
    "jan fev mar abr mai jun jul ago set out nov dez",  # Portuguese
])
def test_month_names_in_other_languages_are_months(tmp_path, names):
    # a spreadsheet in French, German, Spanish ... writes 'janv.-21' or 'Mrz 2021': pandas reads none of them, so
    # the column was left out and the rows taken as steps without a calendar
    t = pd.date_range("2019-11-01", periods=30, freq="MS")
    month = names.split()
    for fmt in ("{m}-{yy:02d}", "{m} {yyyy}"):
        text = [fmt.format(m=month[a.month - 1], yy=a.year % 100, yyyy=a.year) for a in t]
        d = load_series(_write(tmp_path, pd.DataFrame({"Monat": text, "v": np.arange(30.0)})))
        assert d.freq == "MS" and str(d.series[0].time[0].date()) == "2019-11-01" and len(d.series[0]) == 30
    # a word that begins two months' names (French 'jui': juin, juillet) names neither: rows as steps
    labels = pd.DataFrame({"when": [f"jui {2000 + k}" for k in range(30)], "v": np.arange(30.0)})
    assert not load_series(_write(tmp_path, labels), "v", None).datetime


@pytest.mark.parametrize("code,freq,first", [
    (lambda t: f"{t.year}M{t.month:02d}", "MS", "2001-01-01"),  # Eurostat, IMF
    (lambda t: f"{t.year}m{t.month}", "MS", "2001-01-01"),  # Stata
    (lambda t: t.strftime("%G-W%V"), "W-MON", "2001-01-01"),  # ISO 8601 weeks: the Monday
    (lambda t: f"{t.year} Q{t.quarter}", "QS-OCT", "2001-01-01"),
    (lambda t: f"Q{t.quarter} {t.year}", "QS-OCT", "2001-01-01"),
])
def test_month_quarter_and_week_period_codes_are_read_as_dates_with_their_calendar_season(tmp_path, code, freq, first):
    # pandas reads neither code: '2001M01' used to make the column look like labels, the rows were taken in file
    # order as integer steps (no calendar season), and naming the column was an error
    t = pd.date_range("2001-01-01", periods=40, freq="QS" if freq.startswith("QS") else freq)
    df = pd.DataFrame({"period": [code(x) for x in t], "v": np.arange(40.0)})
    for time in (None, "period"):
        d = load_series(_write(tmp_path, df.sample(frac=1, random_state=0)), "v", time)  # shuffled: dates order it
        assert d.freq == freq and str(d.series[0].time[0].date()) == first
        np.testing.assert_allclose(d.series[0].values, np.arange(40.0))
        assert any("period codes such as" in n for n in d.notes)
        assert resolve_season(0, d.freq)[0] == {"MS": 12, "W-MON": 52, "QS-OCT": 4}[freq]
    bad = df.copy()
    no_such = {"MS": "2001M13", "W-MON": "2001-W54"}.get(freq) or df.loc[5, "period"].replace("Q2", "Q5")
    bad.loc[5, "period"] = no_such  # no such period: the row is named
    with pytest.raises(ValueError, match=r"column 'period' row 7: expected a date/time"):
        load_series(_write(tmp_path, bad), "v", "period")


def test_question_marks_and_dashes_for_missing_values_are_read_as_missing(tmp_path):
    # UCI's files write '?' for a missing value, statistics tables a dash: the load stopped at the first one
    k = np.arange(40)
    v = [f"{x:.1f}" for x in 10 + np.sin(k / 2.0)]
    v[7], v[20], v[21] = "?", "-", " ? "
    d = load_series(_write(tmp_path, pd.DataFrame({"day": pd.date_range("2024-01-01", periods=40).strftime("%Y-%m-%d"),
                                                   "v": v})), None, None)  # the value column found, not named
    assert d.series[0].values.shape == (40,) and np.isfinite(d.series[0].values).all()
    assert any("column 'v': 3 value(s) written '-' or '?' read as missing (first at row 9)" in n for n in d.notes)
    assert any("filled by linear interpolation" in n for n in d.notes)
    with pytest.raises(ValueError, match=r"missing"):  # missing='error' still refuses them
        load_series(_write(tmp_path, pd.DataFrame({"v": v})), "v", None, missing="error")
    v[30] = "n/v"  # other text stays an error naming its row
    with pytest.raises(ValueError, match=r"column 'v' row 32: expected a number, got 'n/v' \(1 non-numeric"):
        load_series(_write(tmp_path, pd.DataFrame({"v": v})), "v", None)


def test_a_separator_at_the_end_of_every_line_leaves_no_column_behind(tmp_path):
    # 'Month,Sales,' (a spreadsheet's export): pandas adds an empty 'Unnamed: 2', which was then a second numeric
    # column, so the value column had to be named
    rows = "".join(f"2020-{m:02d}-01,{100 + m},\n" for m in range(1, 13)) + "".join(
        f"2021-{m:02d}-01,{110 + m},\n" for m in range(1, 13))
    path = tmp_path / "trail.csv"
    path.write_text("Month,Sales,\n" + rows)
    d = load_series(path, None, None)
    assert d.target == "Sales" and d.freq == "MS" and len(d.series[0].values) == 24
    assert any("empty column(s) ['Unnamed: 2'] left out" in n for n in d.notes)
    kept = pd.DataFrame({"Sales": np.arange(24.0), "Unnamed: 2": np.r_[np.nan, np.ones(23)]})  # not empty: kept
    with pytest.raises(ValueError, match=r"numeric columns: \['Sales', 'Unnamed: 2'\]"):
        load_series(kept, None, None)


def test_a_date_column_and_a_time_of_day_column_are_read_together(tmp_path):
    # data loggers and UCI's household power file write '16/12/2006;17:24:00': two columns that each read as dates,
    # which stopped the load ("columns ['Date', 'Time'] hold dates; name the time column"); naming either made
    # every hour of a day the same timestamp
    hours = pd.date_range("2006-12-16 17:00", periods=24 * 10, freq="h")
    v = [f"{x:.3f}" for x in 2 + np.sin(np.arange(len(hours)) * 2 * np.pi / 24)]
    v[5] = "?"
    frame = pd.DataFrame({"Date": hours.strftime("%d/%m/%Y"), "Time": hours.strftime("%H:%M:%S"),
                          "Global_active_power": v})
    path = tmp_path / "household_power_consumption.txt"
    frame.to_csv(path, sep=";", index=False)
    d = load_series(path, None, None)
    assert d.freq == "h" and d.series[0].time[0] == hours[0] and d.series[0].time[-1] == hours[-1]
    assert any("columns 'Date' and 'Time' hold a date and a time of day: read together as the time "
               "(e.g. '16/12/2006 17:00:00')" in n for n in d.notes)
    ampm = pd.DataFrame({"day": hours.strftime("%Y-%m-%d"), "clock": hours.strftime("%I:%M %p"), "v": np.arange(240.0)})
    assert load_series(ampm, "v", None).series[0].time[13] == hours[13]
    # two columns of full dates stay an error: which one is the time is the user's to say
    two = pd.DataFrame({"start": hours.strftime("%Y-%m-%d %H:%M"), "end": (hours + pd.Timedelta("1h")).strftime(
        "%Y-%m-%d %H:%M"), "v": np.arange(240.0)})
    with pytest.raises(ValueError, match=r"columns \['start', 'end'\] hold dates; name the time column"):
        load_series(two, "v", None)
    from lstmkit.tasks.anomaly.data import load_anomaly_data

    a = load_anomaly_data(path)  # the detector's loader: the pair is the time, neither column a channel
    assert a.columns == ["Global_active_power"] and a.time_column == "Date Time" and a.time[0] == "16/12/2006 17:00:00"


def test_a_logger_clock_a_little_late_or_early_is_rounded_to_its_grid(tmp_path):
    # '00:05:01', '00:10:02' ...: a 5-minute logger's clock that runs late; the load stopped ("could not infer a
    # regular step"; with freq='5min': "00:05:01 is off the '5min' grid that starts at 00:00:02")
    rng = np.random.default_rng(0)
    grid = pd.date_range("2023-01-01", periods=300, freq="5min")
    late = grid + pd.to_timedelta(rng.integers(0, 3, 300), unit="s")
    df = pd.DataFrame({"ts": late.strftime("%Y-%m-%d %H:%M:%S"), "v": np.sin(np.arange(300) / 10)})
    for freq in (None, "5min"):
        d = load_series(df, "v", "ts", freq=freq)
        assert d.freq == "5min" and (d.series[0].time == grid).all()
        moved = int((late != grid).sum())
        assert d.notes[-1] == (f"{moved} timestamp(s) a little off the '5min' grid (at most 2 s) rounded to it (a "
                              "logger's clock that runs late or early)")
    # left as they are: a grid with gaps, daily stamps at 03:00 with gaps, times too far off, two in one slot
    gaps = pd.DataFrame({"ts": np.r_[grid[:100], grid[103:]], "v": np.arange(297.0)})
    assert not any("rounded" in n for n in load_series(gaps, "v", "ts").notes)
    days = pd.date_range("2023-01-01 03:00", periods=60, freq="D")
    d = load_series(pd.DataFrame({"ts": np.r_[days[:20], days[25:]], "v": np.arange(55.0)}), "v", "ts")
    assert d.series[0].time[0] == days[0] and not any("rounded" in n for n in d.notes)
    far = grid + pd.to_timedelta(rng.integers(0, 90, 300), unit="s")  # up to 1.5 of 5 minutes late: too far to
    d = load_series(pd.DataFrame({"ts": far, "v": np.arange(300.0)}), "v", "ts")  # round, but one each period
    assert (d.series[0].time == grid).all() and not any("rounded" in n for n in d.notes)
    assert any(n.startswith("one reading each 5-minute period at varying moments") for n in d.notes)
    crowded = grid.append(pd.DatetimeIndex([grid[10] + pd.Timedelta("1s")])).sort_values()
    with pytest.raises(ValueError, match=r"irregular frequency"):
        load_series(pd.DataFrame({"ts": crowded, "v": np.arange(301.0)}), "v", "ts")


@pytest.mark.parametrize("freq,moment,word", [
    ("h", "min", "hour"),  # a sample at any minute of each hour
    ("D", "min", "day"),  # a weight logged each morning at a different time
    ("B", "min", "business day"),  # a reading each working day, weekends absent
    ("W-MON", "D", "week"),  # a weekly count taken Monday to Friday
    ("MS", "D", "month"),  # a meter read on a different day each month
    ("QS", "D", "quarter"),
])
def test_readings_once_a_period_at_varying_moments_are_laid_on_that_periods_grid(freq, moment, word):
    # no regular step describes them: the load stopped at "could not infer a regular step" and asked for freq=
    rng = np.random.default_rng(0)
    starts = pd.date_range("2020-01-06", periods=80, freq=freq)
    width = {"min": (0, 59 if freq == "h" else 23 * 60), "D": (0, 4 if freq == "W-MON" else 27)}[moment]
    times = starts + pd.to_timedelta(rng.integers(*width, 80), unit=moment)
    df = pd.DataFrame({"t": times.strftime("%Y-%m-%d %H:%M"), "v": np.arange(80.0)})
    d = load_series(df.drop(index=[30]), "v", "t")  # one period without a reading: filled
    assert d.freq == freq and (d.series[0].time == starts).all()
    np.testing.assert_allclose(d.series[0].values, np.arange(80.0))
    assert (f"one reading each {word} at varying moments, which no regular step describes: each {word}'s reading "
            f"is taken as its value, dated the {word}'s start (freq {freq!r}; freq= gives another)") in d.notes
    later = (times + pd.Timedelta(minutes=1)).strftime("%Y-%m-%d %H:%M")  # a minute later, in the same period
    twice = pd.concat([df, df.iloc[[10]].assign(t=later[10], v=100.0)])  # one period read twice: averaged, said
    d = load_series(twice, "v", "t")
    assert d.series[0].values[10] == pytest.approx(55.0) and any("1 " + word in n for n in d.notes)
    crowded = pd.concat([df, df.iloc[:8].assign(t=later[:8], v=0.0)])  # two in a tenth of them: not once each
    with pytest.raises(ValueError, match="irregular frequency"):
        load_series(crowded, "v", "t")
    panel = pd.concat([df.assign(id="a"), df.iloc[:50].assign(id="b")])
    d = load_series(panel, "v", "t", id="id")
    assert d.freq == freq and [len(s) for s in d.series] == [80, 50]
    assert any(n.startswith(f"2 series read once each {word} at varying moments") for n in d.notes)


def test_readings_on_one_grid_but_for_a_few_keep_the_regular_grid_or_its_error():
    days = pd.date_range("2023-01-01 03:00", periods=60, freq="D")  # 03:00 each day, a gap: the 03:00 grid
    d = load_series(pd.DataFrame({"ts": np.r_[days[:20], days[25:]], "v": np.arange(55.0)}), "v", "ts")
    assert d.freq == "D" and d.series[0].time[0] == days[0] and len(d.series[0]) == 60
    assert not any("varying moments" in n for n in d.notes)
    typo = days.strftime("%Y-%m-%d %H:%M").tolist()
    typo[7] = "2023-01-08 13:00"  # one time mistyped: the error names its row, as before
    with pytest.raises(ValueError, match=r"position 7: irregular frequency"):
        load_series(pd.DataFrame({"ts": typo, "v": np.arange(60.0)}), "v", "ts")


def test_monthly_dates_stamped_mid_month_are_read_as_their_months_and_too_few_get_an_error_that_says_how():
    # no pandas frequency describes 'the 15th of every month': the load stopped, asking for freq=
    mid = pd.date_range("2015-01-01", periods=40, freq="MS") + pd.Timedelta(days=14)
    d = load_series(pd.DataFrame({"d": mid.strftime("%Y-%m-%d"), "v": np.arange(40.0)}), "v", "d")
    assert d.freq == "MS" and d.series[0].values.tolist() == list(np.arange(40.0))  # each in its month
    assert (d.series[0].time == mid - pd.Timedelta(days=14)).all()
    assert any(n.startswith("one reading each month at varying moments") for n in d.notes)
    few = mid[:6]  # too few to tell: the error names the fix
    with pytest.raises(ValueError, match=r"irregular frequency: .*every date is on day 15 of its month: monthly "
                                         r"data stamped mid-month have no pandas frequency; write each as its "
                                         r"month \(2015-01\) or its first day \(2015-01-01\)"):
        load_series(pd.DataFrame({"d": few.strftime("%Y-%m-%d"), "v": np.arange(6.0)}), "v", "d")
    given = load_series(pd.DataFrame({"d": few.strftime("%Y-%m-%d"), "v": np.arange(6.0)}), "v", "d", freq="MS")
    assert given.freq == "MS" and given.series[0].values.tolist() == list(np.arange(6.0))  # each in its month
    months = load_series(pd.DataFrame({"d": few.strftime("%Y-%m"), "v": np.arange(6.0)}), "v", "d")
    assert months.freq == "MS" and len(months.series[0].values) == 6  # the fix the message names works
    jumpy = pd.DatetimeIndex(["2015-01-03", "2015-01-09", "2015-02-20", "2015-04-01"])  # not one day: no hint
    with pytest.raises(ValueError, match=r"irregular frequency") as err:
        load_series(pd.DataFrame({"d": jumpy, "v": np.arange(4.0)}), "v", "d")
    assert "stamped mid-month" not in str(err.value)


def test_a_file_without_a_header_row_keeps_its_first_line_as_data(tmp_path):
    # '1949-01,112' as the first line: pandas made it the header, so the first value was lost without a word and
    # the series was called '112'
    path = tmp_path / "airline_noheader.csv"
    path.write_text("1949-01,112\n1949-02,118\n1949-03,132\n1949-04,129\n1949-05,121\n")
    d = load_series(path, None, None)
    assert d.target == "column_2" and d.freq == "MS" and list(d.series[0].values) == [112, 118, 132, 129, 121]
    assert d.notes[0] == ("the file has no header row (its first line, '1949-01,112', is data): its columns are "
                          "named column_1, column_2")
    path.write_text("1949-01,112\n1949-02,118\n1949-03,oops\n")
    with pytest.raises(ValueError, match=r"column 'column_2' row 3: expected a number"):  # the file's own line
        load_series(path, None, None)
    one = tmp_path / "values.csv"
    one.write_text("266.0\n145.9\n183.1\n119.3\n180.3\n")
    assert load_series(one, None, None).series[0].values[0] == 266.0
    # headers stay headers: names, and whole numbers naming series
    for text in ("Month,Passengers\n1949-01,112\n1949-02,118\n1949-03,132\n", "1,2,3\n10,20,30\n11,21,31\n12,22,32\n"):
        path.write_text(text)
        d = load_series(path, None, None, layout="wide" if text.startswith("1,") else "long")
        assert not any("no header row" in n for n in d.notes)
    from lstmkit.tasks.anomaly.data import load_anomaly_data

    path.write_text("".join(f"2024-01-01 00:{m:02d},{m % 7}.5\n" for m in range(40)))
    a = load_anomaly_data(path)
    assert a.columns == ["column_2"] and a.time_column == "column_1" and len(a.values) == 40


def test_the_shipped_sunspots_file_loads_with_nothing_named(shared_data):
    # 'YEAR,SUNACTIVITY': with no time named the load stopped at "expected the value column to be named; numeric
    # columns: ['YEAR', 'SUNACTIVITY']"
    sun = load_series(shared_data / "series" / "sunspots.csv", None, None)
    assert sun.target == "SUNACTIVITY" and sun.freq == 1 and sun.series[0].time[0] == 1700
    assert any("column 'YEAR' holds years: it is the time column" in n for n in sun.notes)


def test_year_columns_alone_or_with_a_month_or_quarter_column_are_the_time(tmp_path):
    # 'Year,Sales' or 'Year,Month,Sales': with no time named the load stopped at "expected the value column to be
    # named; numeric columns: ['Year', 'Month', 'Sales']"
    yearly = load_series(pd.DataFrame({"Year": 1990 + np.arange(30), "Sales": np.arange(30.0)}), None, None)
    assert yearly.target == "Sales" and yearly.freq == 1 and yearly.series[0].time[0] == 1990
    m = pd.date_range("2020-01-01", periods=24, freq="MS")
    for month in (m.month, m.strftime("%B"), m.strftime("%b")):
        d = load_series(pd.DataFrame({"Year": m.year, "Month": month, "Sales": np.arange(24.0)}), None, None)
        assert d.target == "Sales" and d.freq == "MS" and (d.series[0].time == m).all()
        assert any("columns 'Year' and 'Month' hold the year and the month: read together" in n for n in d.notes)
    q = pd.date_range("2018-01-01", periods=16, freq="QS")
    for quarter in (q.quarter, [f"Q{k}" for k in q.quarter]):
        d = load_series(pd.DataFrame({"yr": q.year, "Quarter": quarter, "v": np.arange(16.0)}), None, None)
        assert d.freq.startswith("QS") and (d.series[0].time == q).all()
    panel = pd.DataFrame({"country": np.repeat(["A", "B"], 20), "year": np.tile(1990 + np.arange(20), 2),
                          "gdp": np.arange(40.0)})
    assert [len(s.values) for s in load_series(panel, None, None, id="country").series] == [20, 20]
    # not years: a name that says something else, values outside 1000-2999, rainfall in 'mm' beside a year
    for df in (pd.DataFrame({"count": 1990 + np.arange(30), "v": np.arange(30.0)}),
               pd.DataFrame({"year": np.arange(30), "v": np.arange(30.0)})):
        with pytest.raises(ValueError, match=r"expected the value column to be named"):
            load_series(df, None, None)
    rain = load_series(pd.DataFrame({"Year": 1990 + np.arange(30), "mm": np.arange(30) % 12 + 1.0}), "mm", None)
    assert rain.freq == 1 and rain.target == "mm"
    path = tmp_path / "pipes.csv"  # '|' as the separator
    path.write_text("Month|Sales\n" + "".join(f"{d:%Y-%m}|{100 + i}\n" for i, d in enumerate(m)))
    assert load_series(path, None, None).freq == "MS"


def test_title_lines_before_the_header_are_left_out(tmp_path):
    # an export's title ('# sales export', 'Monthly sales, shop 3' and a blank line) above the header: the title
    # became the header, and the load stopped at the header row ("expected a number, got 'Sales'")
    m = pd.date_range("2020-01-01", periods=24, freq="MS")
    body = "".join(f"{d:%Y-%m},{100 + i}\n" for i, d in enumerate(m))
    path = tmp_path / "export.csv"
    for title, skipped in (("# sales export\n", 1), ("Monthly sales, shop 3\n\n", 2)):
        path.write_text(title + "Month,Sales\n" + body)
        d = load_series(path, None, None)
        assert d.target == "Sales" and d.freq == "MS" and d.series[0].values[0] == 100
        assert d.notes[0].startswith(f"{skipped} line(s) before the header left out ('")
    path.write_text("Export 2023\nMonth;Sales\n" + "".join(f"{d:%Y-%m};{100 + i},5\n" for i, d in enumerate(m)))
    assert load_series(path, None, None).series[0].values[0] == 100.5  # the header's ';' and decimal commas
    path.write_text("# x\nMonth,Sales\n" + body.replace("2020-05,104", "2020-05,abc"))
    with pytest.raises(ValueError, match=r"column 'Sales' row 7: expected a number"):  # the file's own line
        load_series(path, None, None)
    path.write_text("Month,Sales\n" + body)  # a plain file: nothing left out
    assert not any("before the header" in n for n in load_series(path, None, None).notes)


def test_one_row_per_series_with_the_dates_across_the_header_is_read_as_such(tmp_path):
    # 'Page,2015-07-01,2015-07-02,...' (web-traffic and sales exports): the load stopped at "expected the value
    # column to be named" with every date column listed
    days = pd.date_range("2015-07-01", periods=40, freq="D")
    rng = np.random.default_rng(0)
    table = pd.DataFrame(rng.poisson(50, (3, 40)).astype(float), columns=days.strftime("%Y-%m-%d"))
    table.iloc[2, :5] = np.nan  # a page that starts later
    table.iloc[0, 20] = np.nan  # a missing day
    table.insert(0, "Page", ["a.org", "b.org", "c.org"])
    path = tmp_path / "traffic.csv"
    table.to_csv(path, index=False)
    d = load_series(path, None, None)
    assert [s.id for s in d.series] == ["a.org", "b.org", "c.org"] and d.freq == "D"
    assert len(d.series[0].values) == 40 and len(d.series[2].values) == 35 and d.series[2].time[0] == days[5]
    assert d.series[1].values[:3].tolist() == table.iloc[1, 1:4].tolist()
    assert d.notes[0] == ("40 columns named by dates ('2015-07-01' .. '2015-08-09'): one row per series (id column "
                          "'Page'), read as such")
    assert not any("not used" in n for n in d.notes)
    bad = table.drop(columns="Page").astype(object)
    bad.iloc[1, 7] = "x"
    bad.to_csv(path, index=False)
    with pytest.raises(ValueError, match=r"column '2015-07-08' row 3: expected a number, got 'x'"):  # file rows
        load_series(path, None, None)
    assert [s.id for s in load_series(table.drop(columns="Page"), None, None).series] == [
        "position 0", "position 1", "position 2"]
    # several columns not named by dates: the first that names each row once is the id, the others left out
    two = table.assign(Region=["n", "s", "n"])
    d = load_series(two, None, None)
    assert [s.id for s in d.series] == ["a.org", "b.org", "c.org"]
    assert "column(s) ['Region'] left out: 'Page' names each row's series" in d.notes
    with pytest.raises(ValueError, match=r"expected the value column to be named"):  # none does: not this layout
        load_series(two.assign(Page=["a.org", "a.org", "b.org"]), None, None)


def test_a_header_shorter_than_its_rows_stays_the_header(tmp_path):
    # rows written with a trailing separator under a header without one: not a title line above a header
    path = tmp_path / "short_header.csv"
    path.write_text("Month,Sales\n" + "".join(f"2020-{m:02d},{100 + m},\n" for m in range(1, 13)))
    d = load_series(path, "Sales", "Month")
    assert len(d.series[0].values) == 12 and d.series[0].values[0] == 101
    assert not any("before the header" in n for n in d.notes)


def test_a_column_whose_every_value_carries_one_sign_or_unit_is_read(tmp_path):
    # '$983.94' or '9.8%' in every row (a spreadsheet's currency and percent formats) stopped the load; one sign
    # for the whole column is unambiguous, so it is read with a note; signs on some values only stay an error
    t = pd.date_range("2020-01-01", periods=12, freq="MS").strftime("%Y-%m-%d")
    path = tmp_path / "signed.csv"
    for written, sign, first in ((lambda v: f"${v:,.2f}", "$", 983.94), (lambda v: f"{v / 100:.1f}%", "%", 9.8),
                                 (lambda v: f"{v:.0f} kWh", "kWh", 984.0), (lambda v: f"€ {v:.2f}", "€", 983.94)):
        values = [983.94 + 100.5 * i for i in range(12)]
        path.write_text("date,revenue\n" + "".join(f'{d},"{written(v)}"\n' for d, v in zip(t, values)))
        d = load_series(path)  # nothing named: the signed column is the value column
        assert d.target == "revenue" and d.series[0].values[0] == pytest.approx(first)
        assert any(f"column 'revenue': every value written with {sign!r}" in n for n in d.notes)
    for mixed in (["$5"] * 6 + ["€5"] * 6, ["5%"] * 6 + ["0.05"] * 6, ["3 pm"] * 12):
        with pytest.raises(ValueError, match=r"expected a number"):
            load_series(pd.DataFrame({"date": t, "v": mixed}), "v", "date")


def test_a_file_of_several_value_columns_or_a_spreadsheet_gets_an_error_that_says_what_to_do(tmp_path):
    t = pd.date_range("2020-01-01", periods=30, freq="MS")
    wide = _write(tmp_path, pd.DataFrame({"when": t, "a": np.arange(30.0), "b": np.arange(30.0) * 2}))
    with pytest.raises(ValueError, match=r"\(--target on the command line\) or layout='wide' \(--data.layout wide\) "
                                         r"to forecast each of them as a series; numeric columns: \['a', 'b'\]"):
        load_series(wide)
    assert [s.id for s in load_series(wide, layout="wide").series] == ["a", "b"]
    steps = pd.DataFrame({"time": np.arange(30) * 7, "a": np.arange(30.0)})  # increasing, and its name says time
    assert list(load_series(steps).series[0].time[:2]) == [0, 7]
    jumbled = pd.DataFrame({"time": np.random.default_rng(0).permutation(90)[:30], "a": np.arange(30.0)})
    with pytest.raises(ValueError, match=r"command line\); numeric columns: \['time', 'a'\]"):  # no wide hint
        load_series(jumbled)
    sheet = tmp_path / "sales.xlsx"
    sheet.write_bytes(b"PK\x03\x04")
    with pytest.raises(ValueError, match=r"sales.xlsx: expected a .csv .*, .parquet or .tsf file, got '.xlsx' \(save the sheet as CSV"):
        load_series(sheet)


def test_a_long_table_of_several_series_finds_its_id_column_where_one_splits_the_repeated_times(tmp_path):
    # 'region,month,sales' for three regions: the loader stopped at "duplicate timestamp 2020-01-01 at rows 2 and
    # 62"; 'store_id,month,sales' at "expected the value column to be named" (store_id counted as a value column)
    t = pd.date_range("2020-01-01", periods=30, freq="MS").strftime("%Y-%m-%d")
    k = np.arange(30.0)
    for col, ids in (("region", ["north", "south", "east"]), ("store_id", [101, 102, 103]), ("StoreID", [7, 8, 9])):
        df = pd.concat([pd.DataFrame({col: i, "month": t, "sales": k + j}) for j, i in enumerate(ids)])
        path = _write(tmp_path, df)
        for target in (None, "sales"):
            s = load_series(path, target)
            assert [x.id for x in s.series] == [str(i) for i in ids] and s.freq == "MS", (col, target)
            assert s.series[2].values[0] == 2.0
            assert any(f"column {col!r} (3 values) splits the repeated times into series" in n for n in s.notes)
    # a count under an id-like name beside a label column: the label is the id
    counts = pd.concat([pd.DataFrame({"store": s, "month": t, "sku_count": j + np.arange(30) % 5, "sales": k})
                        for j, s in enumerate(("a", "b"))])
    s = load_series(_write(tmp_path, counts), "sales")
    assert [x.id for x in s.series] == ["a", "b"] and any("column 'store' (2 values)" in n for n in s.notes)
    # two columns that could be the id: named in the error
    both = pd.concat([pd.DataFrame({"region": r, "manager": m, "month": t, "sales": k})
                      for r, m in (("north", "ann"), ("south", "bob"))])
    with pytest.raises(ValueError, match=r"several columns could be the series id: \['region', 'manager'\]; name one"):
        load_series(_write(tmp_path, both))
    # times that repeat within a column's groups, or a number column not named as an id: the duplicate error
    # (the error names the column that would split them where one does)
    for bad, hint in ((pd.concat([pd.DataFrame({"region": "north", "month": t, "sales": k})] * 2), "name their id column"),
                      (pd.concat([pd.DataFrame({"store": j, "month": t, "sales": k}) for j in (1, 2)]),
                       "'store' would split the rows into 2 series with each time once: id='store'")):
        with pytest.raises(ValueError, match=r"duplicate timestamp 2020-01-01 00:00:00 at rows 2 and 32 \(30 "
                                             r"duplicate\(s\)\); several series in one table\? " + hint):
            load_series(_write(tmp_path, bad), "sales")
    # an hour repeated where the clock goes back, beside a zone column: not two series, the clock's repeated hour
    local = pd.date_range("2022-10-29", periods=72, freq="h", tz="Europe/Berlin")
    dst = pd.DataFrame({"time": local.strftime("%Y-%m-%d %H:%M"), "zone": local.strftime("%Z"), "load": np.arange(72.)})
    one = load_series(_write(tmp_path, dst), "load", "time")
    assert len(one.series) == 1 and len(one.series[0]) == 71
    single = load_series(_write(tmp_path, pd.DataFrame({"region": "north", "month": t, "sales": k})))
    assert len(single.series) == 1 and single.series[0].id == "sales"  # times once: no id looked for


def test_a_date_column_and_an_hour_column_are_read_together_as_the_time(tmp_path):
    # 'Date,HE,Load' (a grid operator's hour ending 1-24) and 'Date,Hour,Load' (0-23) stopped at "expected the value
    # column to be named; numeric columns: ['HE', 'Load']" (and, with --target, duplicate dates)
    t = pd.date_range("2022-03-01", periods=24 * 10, freq="h")
    load = np.arange(240.0)
    for col, hour, how in (("Hour", t.hour, "the hour 0-23"), ("HE", t.hour + 1, "the hour ending 1-24"),
                           ("Hour Ending", t.hour + 1, "the hour ending 1-24")):
        for day in (t.strftime("%Y-%m-%d"), t.strftime("%d/%m/%Y")):
            s = load_series(_write(tmp_path, pd.DataFrame({"Date": day, col: hour, "Load": load})))
            assert s.freq == "h" and list(s.series[0].time) == list(t) and s.target == "Load", (col, day[0])
            assert s.series[0].values.tolist() == load.tolist()
            assert any(f"columns 'Date' and {col!r} hold a date and {how}" in n for n in s.notes)
    from lstmkit.tasks.anomaly.data import from_frame

    a = from_frame(pd.DataFrame({"Date": t.strftime("%Y-%m-%d"), "HE": t.hour + 1, "Load": load}))
    assert a.columns == ["Load"] and a.time_column == "Date HE" and a.time[0] == "2022-03-01 00:00"
    # not joined: one row a day (an 'hours' value), hours 0-24 both, a repeated (day, hour)
    days = pd.date_range("2022-03-01", periods=30, freq="D").strftime("%Y-%m-%d")
    daily = load_series(pd.DataFrame({"Date": days, "hours": np.arange(30) % 24, "v": np.arange(30.0)}), "v")
    assert daily.freq == "D" and not any("hold a date and" in n for n in daily.notes)
    both = pd.DataFrame({"Date": np.repeat(days[:10], 25), "Hour": np.tile(np.arange(25), 10), "v": np.arange(250.0)})
    with pytest.raises(ValueError, match=r"expected the value column to be named"):
        load_series(both)


def test_a_row_of_units_under_the_header_is_left_out(tmp_path):
    # 'Timestamp,Power,Temp' then ',kW,degC' (a data logger's export) stopped at "column 'Power' row 2: expected a
    # number, got 'kW'"
    t = pd.date_range("2023-01-01", periods=48, freq="h")
    body = "".join(f"{a:%Y-%m-%d %H:%M},{k * 1.5},{k % 7}\n" for k, a in enumerate(t))
    path = tmp_path / "logger.csv"
    path.write_text("Timestamp,Power,Temp\n,kW,degC\n" + body)
    s = load_series(path, "Power")
    assert s.freq == "h" and s.series[0].values[:2].tolist() == [0.0, 1.5] and list(s.series[0].time[:1]) == [t[0]]
    assert any("the row under the header holds units or labels (Power: 'kW', Temp: 'degC'): left out" in n
               for n in s.notes)
    bad = tmp_path / "bad.csv"  # rows keep their file numbers: the header, the units, then data from row 3
    bad.write_text("Timestamp,Power,Temp\nUTC,kW,degC\n" + body.replace(",3.0,", ",x,", 1))
    with pytest.raises(ValueError, match=r"column 'Power' row 5: expected a number, got 'x'"):
        load_series(bad, "Power", "Timestamp")
    semi = tmp_path / "semi.csv"  # ';' and decimal commas: typed by pandas once the row is out
    semi.write_text("Zeit;Leistung\n;kW\n" + "".join(f"{a:%d.%m.%Y %H:%M};{k},5\n" for k, a in enumerate(t)))
    assert load_series(semi, "Leistung").series[0].values[:2].tolist() == [0.5, 1.5]
    # a first row of data is kept: a date in it, or a number, or a missing-value mark
    for first in ("2022-12-31 23:00,kW,1", "x,3,1", "?,kW,degC", 'x,"1,200.5",y'):
        keep = tmp_path / "keep.csv"
        keep.write_text("Timestamp,Power,Temp\n" + first + "\n" + body)
        with pytest.raises(ValueError, match=r"row 2"):
            load_series(keep, "Power", "Timestamp")


def test_months_written_with_a_dot_are_read_as_months(tmp_path):
    # 'Monat;Umsatz' with '01.2018;100,5' (a German export): "no column reads as dates", rows taken as steps
    m = pd.date_range("2018-01-01", periods=30, freq="MS")
    path = tmp_path / "de.csv"
    path.write_text("Monat;Umsatz\n" + "".join(f"{d:%m.%Y};{100 + i},5\n" for i, d in enumerate(m)))
    s = load_series(path)
    assert s.freq == "MS" and list(s.series[0].time) == list(m) and s.series[0].values[0] == 100.5
    assert any("period codes such as '01.2018' read as the time their period starts (2018-01-01)" in n for n in s.notes)
    short = pd.DataFrame({"Monat": [f"{d.month}.{d.year}" for d in m], "v": np.arange(30.0)})  # '1.2018' too
    assert load_series(short, "v").freq == "MS"
    # not months: a thirteenth month, too few rows
    bad = pd.DataFrame({"Monat": ["13.2018"] + [f"{d:%m.%Y}" for d in m[1:]], "v": np.arange(30.0)})
    assert not load_series(bad, "v").datetime
    assert not load_series(short.head(7), "v").datetime


def test_a_row_number_column_as_pandas_and_r_write_it_is_left_out(tmp_path):
    t = pd.date_range("2020-01-01", periods=40, freq="D")
    frame = pd.DataFrame({"date": t, "sales": np.arange(40.0) % 7})
    path = tmp_path / "index.csv"
    frame.to_csv(path)  # pandas' default: the index, with no header, as the first column
    d = load_series(path)
    assert d.target == "sales" and d.freq == "D" and len(d.series[0]) == 40
    assert any("numbers the rows, as pandas' to_csv and R's write.csv write them" in n for n in d.notes)
    frame.iloc[::2].to_csv(path)  # a filtered frame keeps its row numbers: 0, 2, 4, ...
    assert load_series(path).target == "sales"
    path.write_text('"","x"\n' + "".join(f'"{i + 1}",{v}\n' for i, v in enumerate(np.arange(30.0) % 5)))  # R
    d = load_series(path)
    assert d.target == "x" and d.freq == 1 and list(d.series[0].values[:3]) == [0.0, 1.0, 2.0]
    assert load_series(path, target="Unnamed: 0").target == "Unnamed: 0"  # a column the user names is kept
    reset = pd.DataFrame({"index": np.arange(40), "date": t, "sales": np.arange(40.0)})  # reset_index()
    assert load_series(reset).target == "sales"
    years = pd.DataFrame({"Unnamed: 0": np.arange(1990, 2020), "x": np.arange(30.0)})  # R's row names as years: kept
    with pytest.raises(ValueError, match=r"numeric columns: \['Unnamed: 0', 'x'\]"):
        load_series(years)
    numbered = pd.DataFrame({"index": [3, 1, 2], "a": [1.0, 2.0, 3.0]})  # not a count of the rows: kept
    with pytest.raises(ValueError, match=r"numeric columns: \['index', 'a'\]"):
        load_series(numbered)


def test_decimal_years_as_r_writes_a_ts_read_as_months_quarters_and_half_years(tmp_path):
    path = tmp_path / "r.csv"
    months = 1990 + np.arange(36) / 12
    path.write_text('"","time","x"\n' + "".join(f'"{i + 1}",{t!r},{i % 12}\n' for i, t in enumerate(months.tolist())))
    d = load_series(path)
    assert d.freq == "MS" and str(d.series[0].time[0].date()) == "1990-01-01"
    assert str(d.series[0].time[13].date()) == "1991-02-01"
    assert any("decimal years such as 1990.0833" in n and "read as months" in n for n in d.notes)
    rounded = pd.DataFrame({"time": np.round(months, 3), "x": np.arange(36.0)})  # printed to three places
    assert load_series(rounded).freq == "MS"
    quarters = load_series(pd.DataFrame({"time": 1990 + np.arange(20) / 4, "x": np.arange(20.0)}))
    assert quarters.freq.startswith("QS") and str(quarters.series[0].time[5].date()) == "1991-04-01"
    halves = load_series(pd.DataFrame({"t": 2001 + np.arange(10) / 2, "x": np.arange(10.0)}), time="t")
    assert str(halves.series[0].time[3].date()) == "2002-07-01"


def test_a_numeric_time_column_named_for_time_is_the_time_as_steps(tmp_path):
    d = load_series(_write(tmp_path, pd.DataFrame({"time": np.arange(1, 41), "value": np.arange(40.0)})))
    assert d.target == "value" and d.freq == 1 and list(d.series[0].time[:2]) == [1, 2]
    assert any("its name says time: it is the time column" in n for n in d.notes)
    half = load_series(pd.DataFrame({"t": np.arange(40) * 0.5, "y": np.arange(40.0)}))
    assert list(half.series[0].time[:3]) == [0, 1, 2]
    assert any("evenly spaced numbers (0, 0.5, ...) read as steps 0, 1, 2, ... of 0.5" in n for n in half.notes)
    gaps = load_series(pd.DataFrame({"t": np.delete(np.arange(40) * 0.25, [5]), "y": np.arange(39.0)}))
    assert len(gaps.series[0]) == 40  # the missing step is inserted and filled
    panel = pd.DataFrame({"shop": np.repeat(["a", "b"], 20), "step": np.tile(np.arange(20), 2),
                          "y": np.arange(40.0)})
    assert len(load_series(panel).series) == 2
    with pytest.raises(ValueError, match=r"column 't': numbers that are not whole and not evenly spaced \(0.1, 0.35, "):
        load_series(pd.DataFrame({"t": [0.1, 0.35, 0.9, 1.7], "y": [1.0, 2, 3, 4]}), "y", "t")
    with pytest.raises(ValueError, match=r"numeric columns: \['weight', 'y'\]"):  # the name does not say time
        load_series(pd.DataFrame({"weight": np.arange(40), "y": np.arange(40.0)}))


def test_values_below_a_limit_read_as_half_of_it(tmp_path):
    weeks = pd.date_range("2021-01-03", periods=30, freq="W-SUN")
    shares = [str(k % 9) if k % 9 else "<1" for k in range(30)]
    path = tmp_path / "trends.csv"  # as Google Trends writes it: a title, a blank line, '<1' for the smallest shares
    path.write_text("Category: All categories\n\nWeek,lstm: (Worldwide)\n"
                    + "".join(f"{d:%Y-%m-%d},{v}\n" for d, v in zip(weeks, shares)))
    d = load_series(path)
    assert d.freq == "W-SUN" and d.series[0].values[0] == 0.5 and d.series[0].values[1] == 1.0
    assert any("4 value(s) written '<1' (below a limit" in n and "read as half the limit (0.5; first at row 4)" in n
               for n in d.notes)
    lab = pd.DataFrame({"t": np.arange(12), "nitrate": ["< 0.05", "0.2", "0.3"] * 4})
    assert load_series(lab, "nitrate", "t").series[0].values[0] == pytest.approx(0.025)
    with pytest.raises(ValueError, match=r"expected a number, got '<<1'"):
        load_series(pd.DataFrame({"t": np.arange(12), "y": ["<<1"] + ["2"] * 11}), "y", "t")


def _world_bank(path, countries: int, empty: int = 0):
    """A World Bank indicator file: four title lines, four naming columns, the years across the header, a
    separator at the end of every line, early years empty."""
    years = list(range(1960, 2024))
    lines = ['"Data Source","World Development Indicators",', "", '"Last Updated Date","2024-06-28",', "",
             '"Country Name","Country Code","Indicator Name","Indicator Code",'
             + ",".join(f'"{y}"' for y in years) + ","]
    rng = np.random.default_rng(4)
    for k in range(countries + empty):
        cells = [f'"{v:.3f}"' for v in 60 + np.cumsum(rng.normal(0.2, 0.5, len(years)))] if k < countries else \
            ['""'] * len(years)
        cells[: k % 5] = ['""'] * (k % 5)
        lines.append(f'"Country {k}","C{k:02d}","Life expectancy at birth, total (years)","SP.DYN.LE00.IN",'
                     + ",".join(cells) + ",")
    path.write_text("\n".join(lines) + "\n")
    return path


def test_a_world_bank_file_years_across_the_header_is_one_series_a_country(tmp_path):
    d = load_series(_world_bank(tmp_path / "API_SP.DYN.LE00.IN.csv", 12, empty=2))
    assert len(d.series) == 12 and d.freq == 1 and d.series[0].id == "Country 0"
    assert list(d.series[0].time[:2]) == [1960, 1961] and list(d.series[1].time[:1]) == [1961]
    assert any("64 columns named by years ('1960' .. '2023')" in n for n in d.notes)
    assert any("['Country Code', 'Indicator Name', 'Indicator Code'] left out: 'Country Name' names each row" in n
               for n in d.notes)
    assert any(n.startswith("2 series with fewer than 2 observed values of 'value' left out") and "'Country 12'" in n
               for n in d.notes)
    gathered = [n for n in d.notes if "leading missing value(s) dropped" in n]
    assert len(gathered) == 1 and "(and 6 more series alike: 9 in all)" in gathered[0]  # not 9 notes
    lone = pd.DataFrame({"t": np.arange(5), "y": [np.nan] * 5})
    with pytest.raises(ValueError, match=r"expected at least 2 observed values"):  # one series: still an error
        load_series(lone, "y", "t")
    databank = pd.DataFrame({"Series Name": ["GDP", "CPI"], **{f"{y} [YR{y}]": [1.0 + y, 2.0] for y in range(2000, 2012)}})
    assert [s.id for s in load_series(databank).series] == ["GDP", "CPI"]


def test_two_id_columns_together_name_the_series_and_the_error_says_which(tmp_path):
    days = pd.date_range("2017-01-01", periods=20, freq="D")
    frame = pd.DataFrame([(d, s, i, float(s * 10 + i + k % 7)) for s in (1, 2) for i in (1, 2, 3)
                          for k, d in enumerate(days)], columns=["date", "store", "item", "sales"])
    path = _write(tmp_path, frame)
    with pytest.raises(ValueError, match=r"numeric columns: \['store', 'item', 'sales'\]; several series in one table\? "
                                         r"'store' and 'item' would split the rows into 6 series with each time once: "
                                         r"id='store,item' \(--id store,item on the command line\)"):
        load_series(path)
    with pytest.raises(ValueError, match=r"duplicate timestamp .* 'store' and 'item' would split the rows into 6"):
        load_series(path, target="sales")
    for id in ("store,item", ["store", "item"]):
        d = load_series(path, target="sales", id=id)
        assert [s.id for s in d.series] == ["1/1", "1/2", "1/3", "2/1", "2/2", "2/3"]
        assert "columns ['store', 'item'] together name the series (ids such as '1/1')" in d.notes
    back = d.form.frame(pd.DataFrame({"id": ["2/3", "1/1"], "time": days[:2], "forecast": [1.0, 2.0]}))
    assert list(back.columns) == ["store", "item", "time", "forecast"]
    assert back["store"].tolist() == [2, 1] and back["item"].tolist() == [3, 1]  # the user's values, as numbers
    from lstmkit.data.series import OutputForm

    again = OutputForm.from_dict(json.loads(json.dumps(d.form.to_dict())))  # as a saved model keeps it
    assert again.frame(back.assign(id=["2/3", "1/1"])[["id", "time"]]).columns.tolist() == ["store", "item", "time"]


def test_frames_and_series_keep_their_calendar_from_periods_text_dates_and_index_levels(tmp_path):
    y = 100 + np.arange(48.0) + 10 * np.sin(np.arange(48) * 2 * np.pi / 12)
    months = pd.period_range("2000-01", periods=48, freq="M")
    for data in (pd.Series(y, index=months, name="sales"), pd.DataFrame({"sales": y}, index=months)):
        d = load_series(data)  # statsmodels' data sets come with periods
        assert d.freq == "MS" and str(d.series[0].time[0].date()) == "2000-01-01"
    assert load_series(pd.Series(y, index=pd.period_range("2000Q1", periods=48, freq="Q"))).freq.startswith("QS")
    path = tmp_path / "m.csv"
    pd.DataFrame({"date": months.to_timestamp(), "sales": y}).to_csv(path, index=False)
    d = load_series(pd.read_csv(path, index_col=0))  # the dates as the index, still text
    assert d.freq == "MS" and any("column 'date' holds dates" in n for n in d.notes)
    stores = pd.DataFrame({"sales": np.r_[y, 2 * y]},
                          index=pd.MultiIndex.from_product([["a", "b"], months.to_timestamp()], names=["store", "day"]))
    for data in (stores, stores["sales"]):  # not one series of 96 values: two of 48
        d = load_series(data)
        assert [s.id for s in d.series] == ["a", "b"] and d.freq == "MS" and len(d.series[1]) == 48
    # periods in a column (a PeriodIndex reset, a (store, month) index of periods): refused until 2026-12-07
    long = pd.DataFrame({"store": np.repeat(["a", "b"], 48), "month": np.r_[months, months], "sales": np.r_[y, 2 * y]})
    for data, cols in ((long, dict(time="month", id="store", target="sales")),
                       (long.set_index(["store", "month"]), {})):
        d = load_series(data, **cols)
        assert d.freq == "MS" and [s.id for s in d.series] == ["a", "b"]
        assert str(d.series[1].time[-1].date()) == "2003-12-01" and d.series[1].values[-1] == 2 * y[-1]
    every_other = pd.DataFrame({"date": months.to_timestamp(), "sales": y}).iloc[::2]  # row labels 0, 2, 4, ...
    assert load_series(every_other).freq == "2MS"
    with pytest.raises(ValueError, match=r"the index and a column are both named 'sales'"):
        load_series(pd.DataFrame({"sales": y}, index=pd.Index(y, name="sales")))


def test_intervals_read_by_their_start_and_more_missing_markers(tmp_path):
    t = pd.date_range("2020-01-01", periods=24 * 20, freq="h")
    cells = [str(int(v)) for v in 50000 + 8000 * np.sin(2 * np.pi * (t.hour.to_numpy() - 6) / 24)]
    cells[30], cells[60], cells[90], cells[120] = "n/e", "#DIV/0!", ":", "n.a."
    path = tmp_path / "entsoe.csv"  # as the ENTSO-E transparency platform writes a load file
    pd.DataFrame({"Time (CET/CEST)": [f"{a:%d.%m.%Y %H:%M} - {a + pd.Timedelta(hours=1):%d.%m.%Y %H:%M}" for a in t],
                  "Actual Total Load [MW]": cells}).to_csv(path, index=False)
    d = load_series(path)
    assert d.freq == "h" and d.series[0].time[24 * 12] == pd.Timestamp("2020-01-13")  # day first, by their starts
    assert any("intervals such as '01.01.2020 00:00 - 01.01.2020 01:00' read by their start" in n for n in d.notes)
    assert any("4 value(s) written" in n and "'n/e'" in n and "'#DIV/0!'" in n for n in d.notes)
    assert len(d.series[0]) == len(t) and not np.isnan(d.series[0].values).any()
    ranges = pd.DataFrame({"band": ["10 - 20", "20 - 30", "30 - 40"], "t": [0, 1, 2], "y": [1.0, 2.0, 3.0]})
    assert load_series(ranges, "y").series[0].time.tolist() == [0, 1, 2]  # number ranges are no dates: t is the time


def _entsoe_marked(every: bool, interval: bool = True) -> pd.DataFrame:
    """Hourly prices over the end of summer time, times in Berlin's wall clock with ENTSO-E's zone marks: on every
    time, or only on the two hours that would otherwise read alike (and the hour ending in one of them)."""
    idx = pd.date_range("2023-10-20", periods=24 * 20, freq="h", tz="Europe/Berlin")
    alike = idx.strftime("%d/%m/%Y %H").duplicated(keep=False)

    def stamp(d, mark: bool) -> str:
        return d.strftime("%d/%m/%Y %H:%M:%S") + (f" ({'CEST' if d.dst() else 'CET'})" if mark else "")

    cells = []
    for k, a in enumerate(idx):
        b = a + pd.Timedelta(hours=1)
        mark = every or alike[k] or (k + 1 < len(idx) and alike[k + 1])
        cells.append(f"{stamp(a, mark)} - {stamp(b, mark)}" if interval else stamp(a, mark))
    price = 80 + 30 * np.sin(2 * np.pi * (idx.hour.to_numpy() - 6) / 24) + np.arange(len(idx)) / 100
    return pd.DataFrame({"Area": "BZN|DE-LU", "Sequence": "Without Sequence", "MTU (CET/CEST)": cells,
                         "Day-ahead Price (EUR/MWh)": np.round(price, 2), "Intraday Price (EUR/MWh)": ""})


@pytest.mark.parametrize("interval", [True, False])
def test_times_marked_with_their_zone_on_every_row_read_at_their_utc_offsets(tmp_path, interval):
    """'29/10/2023 02:00:00 (CEST) - ...' (ENTSO-E's export): the marks kept every column from reading as dates, so
    the rows were steps; marked on every row, the two 02:00 hours are two hours."""
    df = _entsoe_marked(every=True, interval=interval)
    d = load_series(_write(tmp_path, df))
    assert d.time_column == "MTU (CET/CEST)" and d.freq == "h"
    t = d.series[0].time
    assert len(t) == len(df) and (np.diff(t.to_numpy()) == np.timedelta64(1, "h")).all()  # in UTC: no hour twice
    assert t[0] == pd.Timestamp("2023-10-19 22:00")  # 00:00 CEST
    assert "column 'MTU (CET/CEST)': zone names (CEST), (CET) read as UTC offsets" in d.notes
    assert np.allclose(d.series[0].values, df["Day-ahead Price (EUR/MWh)"])


def test_zone_marks_on_a_few_rows_are_left_out_and_the_clock_read_as_written(tmp_path):
    df = _entsoe_marked(every=False)
    d = load_series(_write(tmp_path, df))
    t = d.series[0].time
    assert d.freq == "h" and t[0] == pd.Timestamp("2023-10-20") and len(t) == len(df) - 1  # 02:00 twice: one slot
    assert any("zone names (CEST), (CET) on 3 of 480 times only: left out" in n for n in d.notes), d.notes
    assert any("the hour a local clock repeats when summer time ends" in n for n in d.notes)


def test_two_columns_of_the_same_dates_are_one_time_column(tmp_path):
    days = pd.bdate_range("2020-01-01", periods=60)
    rate = 1.1 + np.arange(60) / 1000
    ecb = pd.DataFrame({"DATE": days.strftime("%Y-%m-%d"), "TIME PERIOD": days.strftime("%d %b %Y"),
                        "US dollar/Euro (EXR.D.USD.EUR.SP00.A)": rate})  # as the ECB's data portal writes it
    d = load_series(_write(tmp_path, ecb))
    assert d.freq == "B" and d.target.startswith("US dollar/Euro")
    assert "columns ['DATE', 'TIME PERIOD'] hold the same dates: 'DATE' is read, the others left out" in d.notes
    shipped = ecb.assign(**{"TIME PERIOD": (days + pd.Timedelta(days=3)).strftime("%d %b %Y")})  # two different dates
    with pytest.raises(ValueError, match=r"columns \['DATE', 'TIME PERIOD'\] hold dates; name the time column"):
        load_series(_write(tmp_path, shipped))


def test_a_given_grid_of_several_days_starts_on_the_datas_first_day():
    # '2D' was laid out from the epoch, so data on the other days moved by one (a single reading on a model's grid
    # left it, and evaluate found no actual at the forecast's time); now from the first day, as pandas' resample
    t = pd.date_range("2023-02-13", periods=6, freq="2D")  # 19401 days after the epoch: odd
    d = load_series(pd.DataFrame({"t": t, "y": np.arange(6.0)}), "y", "t", freq="2D")
    assert list(d.series[0].time) == list(t) and not any("between the points" in n for n in d.notes)
    one = load_series(pd.DataFrame({"t": t[-1:], "y": [1.0]}), "y", "t", freq="2D", min_length=1)
    assert list(one.series[0].time) == [t[-1]]
    odd = pd.DataFrame({"t": pd.to_datetime(["2023-02-13 05:00", "2023-02-14 07:00", "2023-02-15 09:00"]),
                        "y": [1.0, 2.0, 3.0]})  # readings within a period: grouped from the first day's midnight
    g = load_series(odd, "y", "t", freq="2D")
    assert list(g.series[0].time) == list(pd.to_datetime(["2023-02-13", "2023-02-15"]))
    assert g.series[0].values.tolist() == [1.5, 3.0]


def test_times_between_the_points_of_a_given_grid_are_grouped_into_its_periods(tmp_path):
    # a log of readings at odd moments stopped at "irregular frequency ... give it with freq=", and with freq= at
    # "is off the 'h' grid": the advice led nowhere
    stamps = pd.to_datetime(["2024-01-01 00:10", "2024-01-01 00:40", "2024-01-01 01:05", "2024-01-01 02:30",
                             "2024-01-01 02:31", "2024-01-01 02:59", "2024-01-01 04:15"])
    log = pd.DataFrame({"at": stamps.strftime("%Y-%m-%d %H:%M"), "v": [1.0, 3.0, 5.0, 2.0, np.nan, 8.0, 7.0]})
    path = _write(tmp_path, log)
    with pytest.raises(ValueError, match=r"give it with freq= .*the values of each period are then averaged"):
        load_series(path, "v")
    for how, expect in (("mean", [2, 5, 5, 7]), ("sum", [4, 5, 10, 7]), ("last", [3, 5, 8, 7]),
                        ("max", [3, 5, 8, 7]), ("min", [1, 5, 2, 7])):
        d = load_series(path, "v", freq="h", aggregate=how)
        s = d.series[0]
        assert list(s.time) == list(pd.date_range("2024-01-01", periods=5, freq="h"))
        np.testing.assert_allclose(s.values[[0, 1, 2, 4]], expect)
        assert np.isfinite(s.values[3])  # the empty hour: inserted and interpolated
        assert any("7 time(s) between the points of the 'h' grid" in n for n in d.notes)
    days = pd.date_range("2023-01-01", "2023-12-31", freq="D")
    daily = pd.DataFrame({"day": days, "sold": np.ones(len(days))})
    monthly = load_series(daily, "sold", "day", freq="MS", aggregate="sum")
    assert monthly.freq == "MS" and monthly.series[0].values[:3].tolist() == [31.0, 28.0, 31.0]
    # periods named by their last day, as pandas' resample names them: January's days under the 31st of January
    # (they were laid on the 31st of December, the 1st a month early, until 2026-12-07)
    # a frequency in words: the Monash archive's, as a user may write it
    words = load_series(daily, "sold", "day", freq="Monthly", aggregate="sum")
    assert words.freq == "MS" and words.series[0].values[:3].tolist() == [31.0, 28.0, 31.0]
    assert "freq 'Monthly' read as the pandas frequency 'MS'" in words.notes
    with pytest.raises(ValueError, match=r"expected a pandas frequency \(MS, W-MON, D, h, 15min, ...\) or a word"):
        load_series(daily, "sold", "day", freq="fortnightly")
    span = pd.date_range("2022-01-01", "2024-12-31", freq="D")
    ramp = pd.DataFrame({"day": span, "sold": np.arange(len(span), dtype=float)})
    for freq in ("ME", "QE", "YE", "BME"):
        d = load_series(ramp, "sold", "day", freq=freq, aggregate="sum")
        want = ramp.set_index("day")["sold"].resample(freq).sum()
        assert list(d.series[0].time) == list(want.index) and d.series[0].values.tolist() == want.tolist()
    twice = pd.concat([daily, daily])  # the same times twice, on the grid: two series, not one period's values
    with pytest.raises(ValueError, match=r"duplicate timestamp"):
        load_series(twice, "sold", "day", freq="D")
    with pytest.raises(ValueError, match=r"expected aggregate one of"):
        load_series(daily, "sold", "day", freq="MS", aggregate="median")


def test_months_with_a_dot_in_a_comma_file_are_months_not_numbers(tmp_path):
    # pandas read '01.2015' as the number 1.202 (and '10.2015' as 10.202): the file was refused with two numeric
    # columns; in a ';' file, where the decimal mark is a comma, they stayed text and were read as months already
    months = pd.date_range("2015-01-01", periods=30, freq="MS")
    body = "".join(f"{m:%m.%Y},{100 + k}\n" for k, m in enumerate(months))
    for name, text in (("header", "Month,Sales\n" + body), ("no_header", body), ("units", "Month,Sales\n,EUR\n" + body)):
        path = tmp_path / f"{name}.csv"
        path.write_text(text)
        d = load_series(path)
        assert d.freq == "MS" and len(d.series[0]) == 30, name
        assert d.series[0].time[9] == pd.Timestamp("2015-10-01") and d.series[0].values[0] == 100.0, name
    prices = tmp_path / "prices.csv"  # one cell not a month: the column is numbers
    prices.write_text("t,price\n" + "".join(f"{k},{v}\n" for k, v in enumerate(["1.2015"] * 9 + ["3.5"])))
    assert load_series(prices, "price", "t").series[0].values.tolist() == [1.2015] * 9 + [3.5]


def test_rows_newest_first_or_out_of_order_are_read_in_time_order_with_a_note(tmp_path):
    # price exports (Yahoo, Investing.com, the ECB's tables) write the newest day first: the rows were sorted
    # without a word, so a user could not tell the file was read as meant
    df = _monthly(30)
    d = load_series(_write(tmp_path, df.iloc[::-1]), "sales", "month")
    np.testing.assert_array_equal(d.series[0].values, np.arange(1.0, 31))
    assert "the rows run newest first: read in time order" in d.notes
    d = load_series(_write(tmp_path, df.sample(frac=1, random_state=2)), "sales", "month")
    np.testing.assert_array_equal(d.series[0].values, np.arange(1.0, 31))
    assert "the rows are not in time order: read in time order" in d.notes
    assert not any("time order" in n for n in load_series(_write(tmp_path, df), "sales", "month").notes)
    # a long table: each series' own rows count, not the file's (all stores at one time, then the next time)
    both = pd.concat([df.assign(store=s) for s in ("a", "b")]).sort_values(["month", "store"])
    assert not any("time order" in n for n in load_series(_write(tmp_path, both), "sales", "month", id="store").notes)
    flipped = pd.concat([df.assign(store="a"), df.iloc[::-1].assign(store="b")])
    d = load_series(_write(tmp_path, flipped), "sales", "month", id="store")
    assert "the rows run newest first in 1 series ('b'): read in time order" in d.notes
    np.testing.assert_array_equal(d.series[1].values, np.arange(1.0, 31))


@pytest.mark.parametrize("period", ["{y}-{m:02d}", "{y}M{m:02d}"])
def test_eurostat_tsv_with_its_dimensions_flags_and_periods_across_is_read(tmp_path, period):
    # Eurostat's download: 'freq,unit,geo\TIME_PERIOD' then the periods across the header (tab-separated), the first
    # cell of each row its dimensions ('M,I15,AT'), values with flags ('101.2 p') and ':' or ': c' for none. It
    # stopped at "expected the value column to be named; numeric columns: []" (read as three comma columns)
    rng = np.random.default_rng(0)
    months = [(2018 + k // 12, k % 12 + 1) for k in range(40)]
    head = "freq,unit,geo\\TIME_PERIOD\t" + "\t".join(period.format(y=y, m=m) + " " for y, m in months)
    values = {g: 100 + np.arange(40.0) + rng.normal(0, 1, 40).round(1) for g in ("AT", "BE", "DE")}
    lines = []
    for g, v in values.items():
        cells = [f"{x:.1f}" + ("", " p", " e", " bep")[k % 4] for k, x in enumerate(v)]
        if g == "AT":
            cells[5], cells[9] = ":", ": c"
        lines.append(f"M,I15,{g}\t" + "\t".join(cells))
    path = tmp_path / "estat.tsv"
    path.write_text(head + "\n" + "\n".join(lines) + "\n")
    d = load_series(path)
    assert [s.id for s in d.series] == ["AT", "BE", "DE"] and d.freq == "MS"
    assert str(d.series[0].time[0].date()) == "2018-01-01" and len(d.series[0]) == 40
    np.testing.assert_allclose(d.series[1].values, values["BE"].round(1))
    at = d.series[0].values  # the two missing ones interpolated, the flagged ones read as their numbers
    np.testing.assert_allclose(at[[4, 6, 7]], values["AT"][[4, 6, 7]].round(1))
    assert at[5] == pytest.approx((values["AT"][4].round(1) + values["AT"][6].round(1)) / 2)
    assert any("'geo' names the series; the same in every row, left out: freq 'M', unit 'I15'" in n for n in d.notes)
    assert any("with Eurostat's flags (bep, e, p" in n for n in d.notes)
    assert any("written ':' or ': c' read as missing (first at row 2)" in n for n in d.notes)  # AT's row, not a melted one
    # a flag on a value among plain numbers in an ordinary file is read too; a unit on every value still is a unit
    df = pd.DataFrame({"month": pd.date_range("2020-01", periods=30, freq="MS").strftime("%Y-%m"),
                       "v": [f"{k}.5 p" if k % 5 == 0 else f"{k}.5" for k in range(30)]})
    np.testing.assert_allclose(load_series(_write(tmp_path, df)).series[0].values, np.arange(30) + 0.5)
    df["v"] = [f"{k} kg" for k in range(30)]
    assert any("every value written with 'kg'" in n for n in load_series(_write(tmp_path, df)).notes)


def test_a_named_column_with_no_value_is_left_out_unless_the_user_names_it(tmp_path):
    # an OECD download: LOCATION, INDICATOR, ..., TIME, Value and an empty 'Flag Codes'; the empty column counted as
    # a second numeric column, so the load stopped at "expected the value column to be named"
    t = pd.date_range("2015-01-01", periods=40, freq="MS").strftime("%Y-%m")
    df = pd.concat([pd.DataFrame({"LOCATION": loc, "INDICATOR": "CPI", "TIME": t, "Value": np.arange(40.0) + k,
                                  "Flag Codes": np.nan}) for k, loc in enumerate(["AUS", "AUT"])])
    d = load_series(_write(tmp_path, df))
    assert [s.id for s in d.series] == ["AUS", "AUT"] and d.freq == "MS"
    np.testing.assert_allclose(d.series[1].values, np.arange(40.0) + 1)
    assert "column(s) ['Flag Codes'] hold no value: left out" in d.notes
    with pytest.raises(ValueError, match="Flag Codes"):  # named as the target, it is not dropped: its error says so
        load_series(_write(tmp_path, df), "Flag Codes", "TIME", id="LOCATION")


def test_an_ons_series_file_metadata_lines_and_several_frequencies_in_one_column(tmp_path):
    # the UK's Office for National Statistics: eight 'key,value' lines, no header, then the series as years, then
    # as quarters, then as months, in one column. The first line became the header and the load stopped at
    # "expected the value column to be named; numeric columns: []"
    meta = ['"Title","CPIH ANNUAL RATE 00: ALL ITEMS 2015=100"', '"CDID","L55O"', '"Source dataset ID","MM23"',
            '"PreUnit",""', '"Unit","%"', '"Release date","14-02-2024"', '"Next release","13 March 2024"',
            '"Important notes",""']
    years = [f'"{y}","{y - 2000}.5"' for y in range(2015, 2020)]
    quarters = [f'"{y} Q{q}","{q}.0"' for y in range(2015, 2020) for q in range(1, 5)]
    names = "JAN FEB MAR APR MAY JUN JUL AUG SEP OCT NOV DEC".split()
    months = [f'"{y} {m}","{k}.25"' for k, (y, m) in enumerate((y, m) for y in range(2015, 2020) for m in names)]
    path = tmp_path / "ons.csv"
    path.write_text("\n".join(meta + years + quarters + months) + "\n")
    d = load_series(path)
    assert d.freq == "MS" and len(d.series[0]) == 60 and str(d.series[0].time[0].date()) == "2015-01-01"
    np.testing.assert_allclose(d.series[0].values, np.arange(60) + 0.25)
    assert any(n.startswith("8 line(s) of metadata before the table left out ('\"Title\"") for n in d.notes)
    assert "the first column holds the series at several frequencies: its 60 months kept, 5 years and 20 quarters " \
           "left out" in d.notes
    path.write_text("\n".join(meta + years + quarters) + "\n")  # a quarterly series: its years left out
    assert load_series(path).freq.startswith("QS") and len(load_series(path).series[0]) == 20
    # a header and a row of units above dated rows are not metadata: the header stays
    units = "Timestamp,Power\nUTC,kW\n" + "".join(f"2023-01-01 {h:02d}:00,{h}\n" for h in range(24))
    path.write_text(units)
    assert load_series(path).target == "Power"


@pytest.mark.parametrize("sep", [",", ";"])
def test_numbers_in_parentheses_are_negative_as_accounts_write_them(tmp_path, sep):
    # a profit-and-loss export: '(1,513.60)' for -1513.6 (and '(1.513,60)' in a ';' file) stopped at "expected a number"
    t = pd.date_range("2020-01-01", periods=30, freq="MS").strftime("%Y-%m")
    x = (np.sin(np.arange(30)) * 2000).round(2)
    text = [f"({abs(a):,.2f})" if a < 0 else f"{a:,.2f}" for a in x]
    if sep == ";":
        text = [v.replace(",", "_").replace(".", ",").replace("_", ".") for v in text]
    path = tmp_path / "pl.csv"
    pd.DataFrame({"month": t, "profit": text}).to_csv(path, index=False, sep=sep)
    d = load_series(path)
    np.testing.assert_allclose(d.series[0].values, x)
    assert any("14 value(s) in parentheses such as" in n and "read as -1513.6" in n for n in d.notes)
    pd.DataFrame({"month": t, "profit": ["(3)", "(a note)", *map(str, x[2:])]}).to_csv(path, index=False, sep=sep)
    with pytest.raises(ValueError, match=r"row 3: expected a number, got '\(a note\)'"):  # words stay an error
        load_series(path)


def test_a_frame_read_without_decimal_comma_has_its_numbers_read_not_a_month_column_forecast():
    """``pd.read_csv(path, sep=';')`` on a German export leaves '104,08' as text. The frame's month codes (read by
    pandas as 1.2001, 2.2001, ...) were then the only numeric column and were forecast, without a word; now the
    sales are the target and the codes the months."""
    from lstmkit.data.series import decimal_commas

    months = pd.date_range("2001-01", periods=36, freq="MS")
    sales = [f"{100 + k % 12},{k % 7}{k % 10}" for k in range(36)]
    frame = pd.DataFrame({"Monat": [float(f"{m:%m.%Y}") for m in months], "Umsatz": sales})
    whole = load_series(frame)  # the months too, since pandas' 1.2001 is read as January 2001
    assert whole.target == "Umsatz" and whole.time_column == "Monat" and whole.freq == "MS"
    d = load_series(frame.assign(Monat=months.strftime("%Y-%m")))
    assert d.target == "Umsatz" and d.series[0].values[1] == pytest.approx(101.11)
    assert any("numbers written with a decimal comma (such as '100,00') read as 100" in n for n in d.notes), d.notes
    assert decimal_commas(pd.Series(["1,234", "2,345"])) is None  # three digits after every comma: thousands as likely
    grouped = load_series(pd.DataFrame({"t": months.strftime("%Y-%m"), "v": ["9.839,61", "10.516,96", "987,5"] * 12}))
    assert grouped.series[0].values[:3] == pytest.approx([9839.61, 10516.96, 987.5])  # '9.839,61' as Germans group
    assert decimal_commas(pd.Series(["1.234,5", "1,234.5"])) is None  # two readings in one column: no guess


@pytest.mark.parametrize("form", ["%m.%Y", "%Y.%m"])
def test_months_that_pandas_read_as_numbers_are_months(form):
    """``pd.read_csv`` reads '01.2001' as 1.2001 and '2001.01' as 2001.01 (lstmkit's own reader keeps them as text):
    in a frame, such a column was a second value column ("numeric columns: ['Month', 'Sales']") or, for
    year.month, R's decimal years with most months missing."""
    from lstmkit.data.series import dotted_months

    months = pd.date_range("2001-01", periods=40, freq="MS")
    frame = pd.DataFrame({"Month": [float(f"{m:{form}}") for m in months], "Sales": 100 + np.arange(40.0) % 12})
    d = load_series(frame)
    assert d.time_column == "Month" and d.target == "Sales" and d.freq == "MS"
    assert d.series[0].time[0] == pd.Timestamp("2001-01-01") and len(d.series[0]) == 40
    assert any("read as months written" in n for n in d.notes), d.notes
    rng = np.random.default_rng(0)
    assert dotted_months(pd.Series(np.round(2000 + rng.uniform(0, 5, 40), 2))) is None  # prices near 2000
    assert dotted_months(pd.Series([2001.01, 2001.05, 2001.09, 2002.01, 2002.05])) is None  # not month after month


def _open_hours(freq="h", days=28, start="2024-01-01", opens="10:00", closes="18:00", weekdays=range(7)):
    t = pd.date_range(start, periods=days * 86400 * 10**9 // pd.tseries.frequencies.to_offset(freq).nanos, freq=freq)
    minutes = t.hour * 60 + t.minute
    a, b = (int(x[:2]) * 60 + int(x[3:]) for x in (opens, closes))
    return t[(minutes >= a) & (minutes < b) & np.isin(t.dayofweek, list(weekdays))]


def test_opening_hours_step_from_one_open_slot_to_the_next_and_forecast_on_them():
    # a shop's hours from 10:00 to 18:00 used to stop at "off the 'bh' grid"; 08:00 to 20:00 had its nights
    # inserted as missing and filled by interpolation (half the series made up); half hours on weekdays stopped
    # at "a run of 35 missing values"
    from lstmkit.data import sessions
    from lstmkit.data.series import future_index
    from lstmkit.tasks.forecast.seasonality import calendar_cycles, resolve_season

    for t, freq, describe in [
        (_open_hours(), "h 10:00-18:00 daily", "8 slots of 1 hour from 10:00 to 18:00, every day"),
        (_open_hours(opens="08:00", closes="20:00", weekdays=range(6)), "h 08:00-20:00 Mon-Sat",
         "12 slots of 1 hour from 08:00 to 20:00, Mon-Sat"),
        (_open_hours("30min", opens="09:30", closes="16:00", weekdays=range(5)), "30min 09:30-16:00 Mon-Fri",
         "13 slots of 30 minutes from 09:30 to 16:00, Mon-Fri"),
    ]:
        y = np.arange(len(t), dtype=float)
        d = load_series(pd.DataFrame({"t": t.strftime("%Y-%m-%d %H:%M"), "y": y}), "y", "t")
        s = d.series[0]
        assert d.freq == freq and (s.time == t).all() and (s.values == y).all()  # nothing inserted, nothing made up
        assert any(f"the same slots of each open day ({describe}): the hours between are closed, not missing" in n
                   for n in d.notes)
        assert not any("interpolation" in n or "inserted" in n for n in d.notes)
        session = sessions.parse(freq)
        assert session is not None and session.freq == freq
        after = future_index(s, d.freq, 2 * session.slots)  # the next open slots, over the closed hours and days
        assert (after == session.grid(t[-1] + pd.Timedelta(minutes=1), after[-1])).all() and after[0] > t[-1]
        assert np.isin(after.dayofweek, session.days).all()
        assert (after.hour * 60 + after.minute).min() == session.open // 60_000_000_000
        assert resolve_season(0, d.freq)[0] == session.slots  # the open day; the open week is a candidate too
        assert calendar_cycles(d.freq) == [session.slots, session.slots * len(session.days)]


def test_a_holiday_in_opening_hours_is_a_closed_day_and_a_named_session_is_kept():
    from lstmkit.data.series import future_index

    t = _open_hours("30min", opens="09:30", closes="16:00", weekdays=range(5))
    t = t[t.normalize() != pd.Timestamp("2024-01-15")]  # a Monday holiday: no session that day
    df = pd.DataFrame({"t": t, "v": np.arange(len(t), dtype=float)})
    d = load_series(df, "v", "t")
    assert d.freq == "30min 09:30-16:00 Mon-Fri" and len(d.series[0]) == len(t)
    assert "1 open day(s) without a reading (holidays?) left out as closed" in d.notes
    # a short history read with the session named (as a fitted model reads new data); a time off its slots
    few = load_series(df.iloc[-3:], "v", "t", freq="30min 09:30-16:00 Mon-Fri")
    assert few.freq == "30min 09:30-16:00 Mon-Fri" and list(few.series[0].values) == list(df["v"].iloc[-3:])
    assert future_index(few.series[0], few.freq, 1)[0] == pd.Timestamp("2024-01-29 09:30")  # Friday -> Monday
    off = df.iloc[-3:].copy()
    off.iloc[1, 0] = pd.Timestamp("2024-01-26 17:00")
    with pytest.raises(ValueError, match=r"position 1: 2024-01-26 17:00:00 is off the open slots of "
                                         r"'30min 09:30-16:00 Mon-Fri' \(13 slots of 30 minutes"):
        load_series(off, "v", "t", freq="30min 09:30-16:00 Mon-Fri")


def test_round_the_clock_data_and_pandas_business_hours_are_not_sessions_and_a_saturday_opened_once_is_kept():
    t = pd.date_range("2024-01-01", periods=24 * 20, freq="h")
    gap = np.r_[t[:100], t[103:]]  # three hours missing once: the hourly grid, filled
    d = load_series(pd.DataFrame({"t": gap, "v": np.arange(len(gap), dtype=float)}), "v", "t")
    assert d.freq == "h" and len(d.series[0]) == len(t)
    bh = _open_hours(opens="09:00", closes="17:00", weekdays=range(5))
    d = load_series(pd.DataFrame({"t": bh, "v": np.arange(len(bh), dtype=float)}), "v", "t")
    assert d.freq == "bh" and len(d.series[0]) == len(bh)
    from lstmkit.tasks.forecast.seasonality import calendar_cycles

    assert calendar_cycles("bh") == [8, 40]
    weekend_once = _open_hours(weekdays=range(5)).append(_open_hours(days=7, start="2024-01-06", weekdays=[5]))
    weekend_once = weekend_once.sort_values()  # one Saturday open in four: kept, but not forecast
    d = load_series(pd.DataFrame({"t": weekend_once, "v": np.arange(len(weekend_once), dtype=float)}), "v", "t")
    assert d.freq == "h 10:00-18:00 Mon-Fri" and (d.series[0].time == weekend_once).all()
    assert "1 day(s) of weekdays mostly closed hold readings: kept in the history (forecasts are for the open " \
           "weekdays)" in d.notes


def test_calendar_phases_of_business_days_and_hours_follow_the_clock():
    # business days with their season of 5 had the month as phase (constant within a month)
    from lstmkit.data.calendar import time_features

    def phase(f, m):
        return np.round(np.arctan2(f[:, 0], f[:, 1]) / (2 * np.pi) * m).astype(int) % m

    days = pd.bdate_range("2024-01-01", periods=15)
    f, names = time_features(days, "B", 5)
    assert names == ["season_sin", "season_cos"] and (phase(f, 5) == days.dayofweek).all()
    hours = pd.date_range("2024-01-05 09:00", periods=16, freq="bh")
    f, names = time_features(hours, "bh", 8)
    assert names == ["season_sin", "season_cos", "dow_sin", "dow_cos"]
    assert (phase(f, 8) == hours.hour - 9).all()
    week = phase(time_features(hours, "bh", 40)[0], 40)
    assert (np.diff(week) % 40 == 1).all()  # one step of the open week each working hour, over the weekend
    from lstmkit.data import sessions

    s = sessions.parse("30min 09:30-16:00 Mon-Fri")
    t = s.grid(pd.Timestamp("2024-01-05 15:00"), pd.Timestamp("2024-01-08 10:30"))
    f, names = time_features(t, s.freq, 13)
    assert names == ["season_sin", "season_cos", "dow_sin", "dow_cos"]
    assert list(phase(f, 13)) == list(s.position(t)) == [11, 12, 0, 1, 2]


def test_dates_on_the_same_weekdays_each_week_step_over_the_closed_days():
    # a shop shut on Sundays: the daily grid inserted every Sunday and made it up by interpolation (a seventh of
    # the series), and forecast Sundays
    from lstmkit.data.series import future_index
    from lstmkit.tasks.forecast.seasonality import resolve_season

    rng = np.random.default_rng(0)
    t = pd.date_range("2023-01-02", periods=300, freq="D")
    for days, freq, season in [(range(6), "D Mon-Sat", 6), (range(1, 6), "D Tue-Sat", 5)]:
        open_ = t[np.isin(t.dayofweek, list(days))]
        d = load_series(pd.DataFrame({"day": open_.strftime("%Y-%m-%d"), "sales": np.arange(len(open_), dtype=float)}))
        assert d.freq == freq and (d.series[0].time == open_).all()
        assert not any("interpolation" in n or "inserted" in n for n in d.notes)
        assert any(n.startswith(f"the readings fall on the same weekdays each week ({freq[2:]}): the other days are "
                                "closed, not missing") for n in d.notes)
        after = future_index(d.series[0], d.freq, 14)
        assert np.isin(after.dayofweek, list(days)).all() and after[0] > open_[-1]
        assert resolve_season(0, d.freq)[0] == season  # the open week
    weekdays = t[t.dayofweek < 5]  # Monday to Friday: pandas' business days, as before
    assert load_series(pd.DataFrame({"d": weekdays, "v": np.arange(len(weekdays), dtype=float)}), "v", "d").freq == "B"
    k = np.arange(len(t))  # days absent at random, and every third one of the first month: no even stretch at the
    scattered = t[(rng.random(len(t)) < 0.85) & ((k % 3 != 1) | (k >= 30))]  # start; the daily grid, gaps filled
    d = load_series(pd.DataFrame({"d": scattered, "v": np.arange(len(scattered), dtype=float)}), "v", "d")
    assert d.freq == "D" and len(d.series[0]) == (scattered[-1] - scattered[0]).days + 1
    assert not any("same weekdays" in n for n in d.notes)


def test_every_other_business_day_and_a_weekday_of_the_month_are_read_on_their_own_grids():
    # every other business day stopped at "could not infer a regular step" (a first mend read it on a 2-day grid
    # with the weekends made up); the second Monday of each month had no calendar season
    from lstmkit.data.series import future_index
    from lstmkit.tasks.forecast.seasonality import resolve_season

    t = pd.bdate_range("2020-01-01", periods=300)[::2]
    d = load_series(pd.DataFrame({"t": t, "y": np.arange(len(t), dtype=float)}), "y", "t")
    assert d.freq == "2B" and (d.series[0].time == t).all()
    assert future_index(d.series[0], d.freq, 1)[0] == pd.bdate_range(t[-1], periods=3)[-1]
    months = pd.date_range("2015-01-01", periods=60, freq="WOM-2MON")
    d = load_series(pd.DataFrame({"t": months, "y": np.arange(60.0)}), "y", "t")
    assert d.freq == "WOM-2MON" and resolve_season(0, d.freq)[0] == 12


def test_opening_hours_with_a_lunch_break_keep_both_stretches():
    # a market's morning and afternoon sessions (09:00-11:30, 12:30-15:00): the lunch hour is closed too
    from lstmkit.data import sessions
    from lstmkit.data.series import future_index

    t = _open_hours("30min", opens="09:00", closes="15:00", weekdays=range(5))
    t = t[(t.hour * 60 + t.minute < 690) | (t.hour * 60 + t.minute >= 750)]
    d = load_series(pd.DataFrame({"t": t, "v": np.arange(len(t), dtype=float)}), "v", "t")
    assert d.freq == "30min 09:00-11:30,12:30-15:00 Mon-Fri" and (d.series[0].time == t).all()
    assert any("10 slots of 30 minutes from 09:00 to 11:30 and 12:30 to 15:00, Mon-Fri" in n for n in d.notes)
    s = sessions.parse(d.freq)
    assert s.slots == 10 and s.freq == d.freq and list(s.position(t[:10])) == list(range(10))
    after = future_index(d.series[0], d.freq, 6)
    assert [x.strftime("%H:%M") for x in after] == ["09:00", "09:30", "10:00", "10:30", "11:00", "12:30"]
    assert sessions.parse("h 09:00-12:00,11:00-15:00 daily") is None  # stretches that overlap name no session


def _tsf(tmp_path, body: str, name="x.tsf"):
    path = tmp_path / name
    path.write_text(body)
    return path


def test_monash_tsf_files_are_read_with_their_names_frequency_and_missing_values(tmp_path):
    # the forecasting archive's own format stopped at "expected a .csv or .parquet file"
    header = ("# generated\n@relation tiny\n@attribute series_name string\n@attribute state string\n"
              "@attribute start_timestamp date\n@frequency monthly\n@horizon 6\n@missing true\n@equallength false\n"
              "@data\n")
    a = ",".join(str(v) for v in range(1, 25))
    path = _tsf(tmp_path, header + f"T1:NSW:1979-01-01 00-00-00:{a}\nT2:VIC:1985-03-31 00-00-00:5,?,7,8,9,10,11,12\n")
    d = load_series(path)
    assert d.freq == "MS" and [s.id for s in d.series] == ["T1", "T2"]
    assert list(d.series[0].values) == list(range(1, 25)) and d.series[0].time[0] == pd.Timestamp("1979-01-01")
    assert d.series[1].time[0] == pd.Timestamp("1985-03-01")  # a month's last day: the month
    assert d.series[1].values[1] == 6.0  # '?' missing, filled
    assert "the .tsf attributes state left out; 'series_name' names the series" in d.notes
    assert "the .tsf file gives a horizon of 6 (horizon=, --horizon, sets the one forecast)" in d.notes
    weekly = _tsf(tmp_path, "@relation w\n@attribute series_name string\n@attribute start_timestamp date\n"
                            f"@frequency weekly\n@data\nA:2015-01-07 00-00-00:{a}\n", "w.tsf")
    assert load_series(weekly).freq == "W-WED"  # weeks anchored on the first date's weekday
    steps = _tsf(tmp_path, f"@relation s\n@attribute series_name string\n@frequency monthly\n@data\nY1:{a}\nY2:{a}\n",
                 "s.tsf")
    d = load_series(steps)
    assert d.freq == 1 and [len(s) for s in d.series] == [24, 24]  # no start: steps, the season still monthly's
    from lstmkit.tasks.forecast.config import ForecastConfig
    from lstmkit.tasks.forecast.plan import make_plan

    assert d.calendar == "MS" and make_plan(ForecastConfig(horizon=3), d, [24, 24]).season == 12
    with pytest.raises(ValueError, match=r"b.tsf: line 5: expected numbers or '\?', got 'x'"):
        load_series(_tsf(tmp_path, "@relation b\n@attribute series_name string\n@frequency daily\n@data\nA:1,x\n",
                         "b.tsf"))
    with pytest.raises(ValueError, match=r"no @data line"):
        load_series(_tsf(tmp_path, "@relation n\n@attribute series_name string\n", "n.tsf"))
    with pytest.raises(ValueError, match=r"c.tsf: line 1: expected an @ line of the header or @data, got 'just,a,csv'"):
        load_series(_tsf(tmp_path, "just,a,csv\n1,2,3\n", "c.tsf"))
    f = lstmkit_forecaster(horizon=3).fit(path)
    assert list(f.predict()["time"][:3]) == list(pd.date_range("1981-01-01", periods=3, freq="MS"))


def lstmkit_forecaster(**kw):
    from lstmkit import Forecaster

    return Forecaster(candidates=["naive"], peers=[], progress_bar=False, **kw)


@pytest.mark.parametrize("codes,freq,first", [
    ([f"{y}H{h}" for y in range(2000, 2012) for h in (1, 2)], "2QS-OCT", "2000-01-01"),  # half-years
    ([f"{y}-S{h}" for y in range(2000, 2012) for h in (1, 2)], "2QS-OCT", "2000-01-01"),  # Eurostat's semesters
    ([f"{y}/{(y + 1) % 100:02d}" for y in range(1998, 2012)], "YS-JAN", "1998-01-01"),  # seasons, fiscal years
    ([f"FY{y}" for y in range(2000, 2012)], "YS-JAN", "2000-01-01"),
    ([f"{y}-{m:02d}-D{d}" for y in (2019, 2020) for m in range(1, 13) for d in (1, 2, 3)], "10D each month",
     "2019-01-01"),  # dekads
    ([f"A{y}{d:03d}" for y in (2019, 2020, 2021) for d in range(1, 366, 8)], "8D each year", "2019-01-01"),  # MODIS
    ([f"Q{q}-{y % 100:02d}" for y in range(1998, 2004) for q in range(1, 5)], "QS-OCT", "1998-01-01"),
    ([f"{y}-{q}" for y in range(2000, 2006) for q in range(1, 5)], "QS-OCT", "2000-01-01"),  # were January-April
])
def test_period_codes_of_half_years_seasons_fiscal_years_dekads_and_days_of_the_year_are_dates(codes, freq, first):
    # these were read as the row order (steps, no dates, no season); the day-of-year codes stopped once read
    # as dates ("off the '8D' grid": the steps start again each year)
    from lstmkit.tasks.forecast.seasonality import resolve_season

    d = load_series(pd.DataFrame({"period": codes, "v": np.arange(len(codes), dtype=float)}))
    assert d.freq == freq and d.series[0].time[0] == pd.Timestamp(first) and len(d.series[0]) == len(codes)
    assert resolve_season(0, d.freq)[0] == {"2QS-OCT": 2, "YS-JAN": 1, "10D each month": 36, "8D each year": 46,
                                            "QS-OCT": 4}[freq]


def test_steps_that_start_again_each_month_or_year_forecast_on_that_calendar():
    from lstmkit.data import sessions
    from lstmkit.data.calendar import time_features
    from lstmkit.data.series import future_index

    sixteen = pd.DatetimeIndex([pd.Timestamp(f"{y}-01-01") + pd.Timedelta(days=d)
                                for y in (2018, 2019, 2020) for d in range(0, 365, 16)])  # NDVI composites
    d = load_series(pd.DataFrame({"date": sixteen.strftime("%Y-%m-%d"), "ndvi": np.linspace(0, 1, len(sixteen))}))
    assert d.freq == "16D each year" and (d.series[0].time == sixteen).all()
    assert any("the dates step by 16 days from the first day of each year" in n for n in d.notes)
    after = future_index(d.series[0], d.freq, 3)
    assert list(after) == [pd.Timestamp("2021-01-01"), pd.Timestamp("2021-01-17"), pd.Timestamp("2021-02-02")]
    f, names = time_features(sixteen[20:26], d.freq, 23)
    phase = np.round(np.arctan2(f[:, 0], f[:, 1]) / (2 * np.pi) * 23).astype(int) % 23
    assert list(phase) == [20, 21, 22, 0, 1, 2]  # the composite of the year, over the new year
    gap = sixteen.delete([30])  # one composite absent: filled on the calendar
    assert len(load_series(pd.DataFrame({"t": gap, "v": np.arange(len(gap), dtype=float)}), "v", "t").series[0]) \
        == len(sixteen)
    regular = pd.date_range("2018-01-01", periods=80, freq="8D")  # 8 days on end, across the years: pandas' 8D
    assert load_series(pd.DataFrame({"t": regular, "v": np.arange(80.0)}), "v", "t").freq == "8D"
    assert sessions.parse("16D each year").slots == 23 and sessions.parse("5D each month").per_year == 72
    off = pd.DataFrame({"t": sixteen[:5].append(pd.DatetimeIndex(["2018-03-02"])), "v": np.arange(6.0)})
    with pytest.raises(ValueError, match=r"position 5: 2018-03-02 00:00:00 is off the calendar '16D each year'"):
        load_series(off, "v", "t", freq="16D each year")


def test_hour_ending_24_00_dotted_clocks_and_iso_week_dates_are_read_as_times():
    # '2020-01-01 24:00' (midnight as data stamped by the hour ending write it) was not a date: the column was
    # read as the row order; as a time column beside a date column it split the rows into 24 series, one an hour
    t = pd.date_range("2020-01-01 01:00", periods=72, freq="h")
    day = [(x - pd.Timedelta(hours=1)) for x in t]
    clock = ["24:00" if x.hour == 0 else x.strftime("%H:%M") for x in t]
    one = pd.DataFrame({"when": [f"{d:%d/%m/%Y} {c}" for d, c in zip(day, clock)], "mw": np.arange(72.0)})
    two = pd.DataFrame({"Date": [f"{d:%Y-%m-%d}" for d in day], "Time": clock, "mw": np.arange(72.0)})
    for df in (one, two):
        d = load_series(df)
        assert d.freq == "h" and len(d.series) == 1 and (d.series[0].time == t).all()
        assert any("3 time(s) of 24:00 (the hour ending at midnight) read as 00:00 of the next day" in n
                   for n in d.notes)
    dots = pd.DataFrame({"aika": t.strftime("%d.%m.%Y %H.%M"), "kw": np.arange(72.0)})  # a Finnish export
    d = load_series(dots)
    assert d.freq == "h" and (d.series[0].time == t).all()
    assert any("clocks written with dots ('01.01.2020 01.00') read as hours and minutes" in n for n in d.notes)
    weeks = pd.date_range("2020-01-06", periods=30, freq="D")
    iso = [f"{x.isocalendar()[0]}-W{x.isocalendar()[1]:02d}-{x.isocalendar()[2]}" for x in weeks]
    d = load_series(pd.DataFrame({"day": iso, "v": np.arange(30.0)}))
    assert d.freq == "D" and (d.series[0].time == weeks).all()


def test_files_joined_one_after_another_have_their_repeated_headers_left_out(tmp_path):
    # 'cat jan.csv feb.csv mar.csv': the headers inside made every column text, and the load stopped at
    # "expected the value column to be named ... numeric columns: []"
    t = pd.date_range("2022-01-01", periods=90, freq="D")
    parts = ["date,sales\n" + "".join(f"{a:%Y-%m-%d},{100 + k:.2f}\n" for k, a in enumerate(t[m * 30:(m + 1) * 30],
                                                                                          start=m * 30))
             for m in range(3)]
    path = tmp_path / "joined.csv"
    path.write_text("".join(parts))
    d = load_series(path)
    assert d.freq == "D" and list(d.series[0].values) == [100.0 + k for k in range(90)]
    assert d.notes[0] == ("2 line(s) repeating the header (files joined one after another) left out, the first at "
                          "row 32")
    path.write_text("".join(parts).replace("2022-02-15,145.00", "2022-02-15,oops"))
    with pytest.raises(ValueError, match=r"column 'sales' row 48: expected a number, got 'oops'"):  # the file's row
        load_series(path)


def test_an_irregular_frequency_error_suggests_the_step_that_groups_the_times():
    rng = np.random.default_rng(0)
    # a log of events at odd moments: the error asked for freq= without saying which
    for span_days, n, hint in ((60, 5000, r"the times are 1\d minutes apart at the median: freq='15min' groups them "
                                          r"into quarter hours$"),
                               (4000, 100, r"the times are 2\d\.\d days apart at the median: freq='MS' groups them "
                                           r"into months$")):
        t = pd.Timestamp("2024-01-01") + pd.to_timedelta(np.sort(rng.uniform(0, span_days * 86400, n)), unit="s")
        with pytest.raises(ValueError, match="irregular frequency: could not infer a regular step.*" + hint):
            load_series(pd.DataFrame({"t": t, "y": rng.normal(size=n)}), "y", "t")


def test_series_read_once_a_week_on_different_weekdays_share_one_week():
    # each series took the week start nearest its readings, and the panel's one frequency dated the forecasts of
    # the others a day or two off
    from lstmkit.data.series import future_index

    rng = np.random.default_rng(1)
    weeks = pd.date_range("2021-01-04", periods=60, freq="W-MON")
    early = weeks + pd.to_timedelta(rng.integers(0, 3, 60), unit="D")  # Monday to Wednesday
    late = weeks + pd.to_timedelta(rng.integers(2, 7, 60), unit="D")  # Wednesday to Sunday
    panel = pd.concat([pd.DataFrame({"id": "a", "t": early, "v": np.arange(60.0)}),
                       pd.DataFrame({"id": "b", "t": late, "v": np.arange(60.0)}),
                       pd.DataFrame({"id": "c", "t": early[:50], "v": np.arange(50.0)})])
    d = load_series(panel, "v", "t", id="id")
    assert d.freq == "W-MON" and all((s.time == weeks[:len(s)]).all() for s in d.series)
    assert all(list(s.values) == list(np.arange(float(len(s)))) for s in d.series)
    assert d.notes[0].startswith("the series read once a week settled on weeks starting on different days")
    assert all(future_index(s, d.freq, 1)[0].dayofweek == 0 for s in d.series)
    # the panel is read again as the caller named it, not by the columns the first reading joined (the time
    # 'Year Month Day' exists only inside it)
    parts = pd.DataFrame({"id": panel["id"].to_numpy(), "Year": panel["t"].dt.year.to_numpy(),
                          "Month": panel["t"].dt.month.to_numpy(), "Day": panel["t"].dt.day.to_numpy(),
                          "v": panel["v"].to_numpy()})
    again = load_series(parts, "v", id="id")
    assert again.freq == "W-MON" and all((s.time == weeks[:len(s)]).all() for s in again.series)


def test_date_codes_held_as_text_in_a_frame_read_as_a_file_holds_them():
    # a frame read with dtype=str holds '200001' as text: it was no date (the row order), where the same file
    # read by lstmkit, or by pandas without dtype=str, gave months
    t = pd.date_range("2000-01-01", periods=36, freq="MS")
    for codes, what in ((t.strftime("%Y%m").tolist(), "yyyymm"), (t.strftime("%Y%m%d").tolist(), "yyyymmdd")):
        d = load_series(pd.DataFrame({"period": codes, "v": np.arange(36.0)}))
        assert d.freq == "MS" and (d.series[0].time == t).all()
        assert any(f"({what})" in n for n in d.notes)


def test_year_month_day_hour_and_day_of_year_columns_are_read_together_as_the_time(tmp_path):
    # 'YEAR,MO,DY,T2M' (NASA POWER), 'Year,Month,Day,Hour', 'YEAR,DOY': only a year with a month was joined; these
    # stopped at "expected the value column to be named ... 'Day' would split the rows into 31 series"
    days = pd.date_range("2020-01-01", periods=100, freq="D")
    hours = pd.date_range("2020-01-01", periods=100, freq="h")
    for cols, t, what in (
            ({"YEAR": days.year, "MO": days.month, "DY": days.day}, days, "the year, the month and the day"),
            ({"Year": hours.year, "Month": hours.month, "Day": hours.day, "Hour": hours.hour}, hours,
             "the year, the month, the day and the hour"),
            ({"YEAR": days.year, "DOY": days.dayofyear}, days, "the year and the day of the year"),
            ({"year": hours.year, "doy": hours.dayofyear, "HE": hours.hour + 1}, hours,
             "the year, the day of the year and the hour")):
        d = load_series(_write(tmp_path, pd.DataFrame({**cols, "T2M": np.arange(100.0)})))
        assert d.target == "T2M" and (d.series[0].time == t).all(), what
        assert any(f"hold {what}: read together as the time" in n for n in d.notes)


def test_opening_hours_past_midnight_belong_to_the_evening_they_opened():
    # a bar open 18:00-02:00 stopped at "off the 'bh' grid"; night shifts (22:00-06:00, Monday to Friday nights)
    # at a run of missing values
    from lstmkit.data import sessions
    from lstmkit.data.calendar import time_features
    from lstmkit.data.series import future_index

    t = pd.date_range("2024-01-01", periods=24 * 60, freq="h")
    bar = t[(t.hour >= 18) | (t.hour < 2)]
    nights = t[((t.hour >= 22) & (t.dayofweek < 5)) | ((t.hour < 6) & (t.dayofweek >= 1) & (t.dayofweek <= 5))]
    for times, freq, slots, first_after in ((bar, "h 18:00-02:00 daily", 8, "2024-03-01 00:00"),
                                            (nights, "h 22:00-06:00 Mon-Fri", 8, "2024-03-01 00:00")):
        d = load_series(pd.DataFrame({"t": times, "v": np.arange(len(times), dtype=float)}), "v", "t")
        assert d.freq == freq and (d.series[0].time == times).all() and d.notes[0].startswith("the readings fall")
        assert len(d.notes) == 1  # nothing inserted, dropped or filled
        s = sessions.parse(freq)
        assert s.freq == freq and s.slots == slots
        after = future_index(d.series[0], d.freq, 2 * slots)
        last = int(s.position(times[-1:])[0])
        assert after[0] == pd.Timestamp(first_after)
        assert list(s.position(after)) == [(last + 1 + k) % slots for k in range(2 * slots)]
        steps = s.steps_from_epoch(times)
        assert (np.diff(steps) == 1).all()  # one step a slot, over midnight and over the closed days
        phase = time_features(times[:slots + 2], freq, slots)[0]
        np.testing.assert_allclose(phase[slots, :2], phase[0, :2], atol=1e-9)  # that slot of the next session
    assert sessions.parse("h 22:00-06:00 Mon-Fri").session_days([pd.Timestamp("2024-01-06 03:00")])[0] == \
        np.datetime64("2024-01-05")  # Saturday 03:00 belongs to Friday night


def test_several_target_columns_without_an_id_are_read_as_series_of_their_own(tmp_path):
    """target=['s0', 's1'] (or --target s0,s1) was refused as 'the long layout takes one target column'."""
    t = pd.date_range("2020-01-01", periods=24, freq="MS")
    df = pd.DataFrame({"t": t, "s0": np.arange(24.0), "s1": np.arange(24.0) * 2, "s2": 1.0})
    d = load_series(df, ["s0", "s1"], "t")
    assert [s.id for s in d.series] == ["s0", "s1"] and any("2 target columns" in n for n in d.notes)
    assert [s.id for s in load_series(_write(tmp_path, df), "s0,s1", "t").series] == ["s0", "s1"]
    with pytest.raises(ValueError, match="the long layout takes one target column.*wide layout"):
        load_series(df.assign(k="a"), ["s0", "s1"], "t", id="k")


def test_series_of_different_steps_are_refused_and_of_one_step_anchored_differently_read_on_one_grid():
    """A monthly and a quarterly series in one table used to be read each on its own grid under the last one's
    frequency: the monthly series was then forecast in quarters (and with season 4); month starts beside month
    ends, the month-start series forecast at month ends."""
    def two(a, b):
        return pd.concat([pd.DataFrame({"id": "a", "t": a, "y": np.arange(len(a), dtype=float)}),
                          pd.DataFrame({"id": "b", "t": b, "y": np.arange(len(b), dtype=float)})])

    months, quarters = pd.date_range("2015-01-01", periods=60, freq="MS"), pd.date_range("2010-01-01", periods=40, freq="QS")
    with pytest.raises(ValueError, match=r"step at different frequencies \('MS': 1 series \('a'\); 'QS-OCT'"):
        load_series(two(months, quarters), "y", "t", id="id")
    assert load_series(two(months, quarters), "y", "t", id="id", freq="QS").freq == "QS"  # given: one grid
    with pytest.raises(ValueError, match="step at different frequencies"):
        load_series(pd.DataFrame({"id": ["a"] * 5 + ["b"] * 5, "t": [*range(5), *range(0, 10, 2)], "y": 1.0}),
                    "y", "t", id="id")
    ends = pd.date_range("2015-01-31", periods=30, freq="ME")
    d = load_series(two(months[:40], ends), "y", "t", id="id")
    assert d.freq == "MS" and any("anchored differently" in n for n in d.notes)
    b = d.series[1]
    assert b.time[0] == pd.Timestamp("2015-01-01") and b.time[-1] == pd.Timestamp("2017-06-01")
    np.testing.assert_array_equal(b.values, np.arange(30.0))  # each value in its own month


def test_an_infinite_value_is_refused_without_numpy_warnings_before_the_one_line_error(tmp_path):
    """The command line printed two RuntimeWarnings (the date detectors' remainder of inf) above its error."""
    import warnings

    path = tmp_path / "inf.csv"
    path.write_text("v\n" + "".join(f"{np.sin(i):.3f}\n" for i in range(50)) + "inf\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        with pytest.raises(ValueError, match="column 'v' row 52: expected a finite number"):
            load_series(path)


@pytest.mark.parametrize("compression", ["gzip", "bz2", "xz", "zip"])
def test_a_compressed_csv_reads_as_the_plain_one(tmp_path, compression):
    """A Kaggle download ('train.csv.zip') was refused as 'expected a .csv ... got .zip'; .gz alone was read."""
    t = pd.date_range("2020-01-01", periods=30, freq="D").strftime("%d.%m.%Y")
    df = pd.DataFrame({"Datum": t, "Menge": [f"{v:.1f}".replace(".", ",") for v in np.arange(30.0) / 3]})
    plain = tmp_path / "d.csv"
    df.to_csv(plain, sep=";", index=False)
    packed = tmp_path / f"d.csv.{ {'gzip': 'gz'}.get(compression, compression) }"
    df.to_csv(packed, sep=";", index=False, compression=compression)
    a, b = load_series(plain), load_series(packed)
    assert b.freq == a.freq == "D" and a.notes == [n.replace(packed.name, plain.name) for n in b.notes]
    np.testing.assert_array_equal(a.series[0].values, b.series[0].values)
    if compression == "zip":
        import zipfile

        with zipfile.ZipFile(tmp_path / "two.zip", "w") as z:
            z.writestr("a.csv", "x\n1\n")
            z.writestr("b.csv", "x\n1\n")
        with pytest.raises(ValueError, match=r"two.zip: expected one file inside the zip archive, got 2 \(a.csv, b.csv\)"):
            load_series(tmp_path / "two.zip")


def test_ids_with_spaces_around_them_name_the_same_series(tmp_path):
    """'b ' in the last rows of series 'b' (a padded export) made a second series of five rows, and 'b' ended
    five days early."""
    t = pd.date_range("2020-01-01", periods=40, freq="D")
    df = pd.concat([pd.DataFrame({"store": k, "date": t, "sales": 20.0 + np.arange(40) % 7}) for k in ("a", "b")],
                   ignore_index=True)
    df.loc[df.index[-5:], "store"] = "b "
    for data in (df, _write(tmp_path, df)):
        d = load_series(data, "sales", "date", id="store")
        assert [(s.id, len(s)) for s in d.series] == [("a", 40), ("b", 40)]
        assert any("5 id(s) in column 'store' with spaces around them read without ('b ' as 'b')" in n for n in d.notes)
    assert df["store"].iloc[-1] == "b "  # the caller's frame is left as it was
    two = df.assign(region=" north")
    assert [s.id for s in load_series(two, "sales", "date", id=["region", "store"]).series] == ["north/a", "north/b"]


def test_a_wide_table_names_the_columns_it_leaves_out_for_not_holding_numbers():
    t = pd.date_range("2020-01-01", periods=30, freq="D")
    d = load_series(pd.DataFrame({"date": t, "A": np.arange(30.0), "note": ["x"] * 30}), time="date", layout="wide")
    assert [s.id for s in d.series] == ["A"]
    assert any("column(s) ['note'] do not hold numbers: left out" in n for n in d.notes)
