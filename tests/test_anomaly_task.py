"""The anomaly-detection task: the estimator, its rows and choices, streaming, persistence, bad input, CLI."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import lstmkit
from lstmkit.config import replace
from lstmkit.tasks.anomaly.config import AnomalyConfig
from lstmkit.tasks.anomaly.data import from_frame, load_anomaly_data
from lstmkit.tasks.anomaly.estimator import AnomalyDetector

FAST = {
    "detector.window": 32, "detector.hidden_size": 16, "detector.num_layers": 1,
    "train.epochs": 6, "train.progress_bar": False, "train.batch_size": 16, "train.lr": 0.01, "train.num_threads": 1,
    "split.train": "0:0.5",
}


def synthetic(n=1200, channels=1, spike_at=1000, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    x = np.stack([np.sin(2 * np.pi * t / 40 + c) for c in range(channels)], axis=1) + 0.05 * rng.normal(size=(n, channels))
    y = np.zeros(n, dtype=int)
    x[spike_at : spike_at + 15] += 1.5  # a level shift the detector has never seen
    y[spike_at : spike_at + 15] = 1
    return x, y


def cfg(**over):
    return replace(AnomalyConfig(), **{**FAST, **over})


@pytest.fixture(scope="module")
def trained():
    x, y = synthetic()
    det = AnomalyDetector(config=cfg()).fit(x)
    return det, x, y


def test_training_loss_falls_and_the_rows_are_said(trained):
    det, _, _ = trained
    losses = [row["train_loss"] for row in det.fit_result_.history]
    assert losses[-1] < 0.5 * losses[0]
    seg = det.detector_.segments
    # train 0:0.5 of 1200 rows; the validation rows are the last quarter of them (at least 256 rows)
    assert (seg.train, seg.validation, seg.normal) == ((0, 344), (344, 600), (0, 600))
    assert det.choices_["season"] == pytest.approx(40, abs=1) and det.choices_["difference"] is False


def test_only_the_rows_not_fitted_are_scored_and_the_anomaly_tops_them(trained):
    from lstmkit.tasks.anomaly import metrics

    det, x, y = trained
    s = det.score(x)
    assert np.isnan(s[:600]).all() and np.isfinite(s[600:]).all()
    assert metrics.roc_auc(y[600:], s[600:]) > 0.95
    assert 985 <= int(np.nanargmax(s)) <= 1030
    events = det.detect(x)
    assert list(events.columns) == ["start", "end", "peak", "score"]
    assert events["start"].min() >= 600 and ((events["start"] <= 1014) & (events["end"] >= 1000)).any()
    # a span: only those rows (the rows before serve as context)
    s = det.score(x, span=(900, 1100))
    assert np.isnan(s[:900]).all() and np.isnan(s[1100:]).all() and np.isfinite(s[900:1100]).all()
    # another series: every row but the warm-up
    fresh = det.score(x[600:])
    warm = det.detector_.warmup()
    assert np.isnan(fresh[:warm]).all() and np.isfinite(fresh[warm:]).all()


def test_evaluate_beside_the_baselines_on_the_same_rows(trained):
    det, x, y = trained
    ev = det.evaluate(x, y)
    assert ev["rows_scored"] == 600 and ev["first_row_scored"] == 600 and ev["labelled_rows"] == 15
    for name in ("LSTM", "rolling z-score", "isolation forest"):
        m = ev[name]
        assert 0 <= m["pr_auc"] <= 1 and m["flagged_rows"] >= 0 and m["predicted_events"] == m["event"]["predicted_events"]
    assert ev["LSTM"]["roc_auc"] > 0.95 and ev["LSTM"]["ucr_hit"]
    ahead = ev["baselines_ahead_of_lstm"]
    assert ("beats the LSTM" in ev["verdict"]) == bool(ahead)
    frame = pd.DataFrame({"value": x[:, 0], "label": y})
    assert det.evaluate(frame)["rows_scored"] == 600  # labels from the DataFrame's label column


def test_streaming_scores_equal_batch_scores_a_delay_later(trained):
    det, x, _ = trained
    batch = det.score(x[:300])
    stream = det.streaming()
    online = np.array([stream.update(v) for v in x[:300]])
    d = stream.delay
    assert d == max(p - 1 - p // 2 for p in det.pooling_.spans)
    np.testing.assert_allclose(online[d:], batch[: 300 - d], rtol=1e-4, atol=1e-4, equal_nan=True)
    assert np.isfinite(online[d:]).sum() > 150
    with pytest.raises(ValueError, match="finite"):
        stream.update([np.inf])


def test_save_and_load_give_the_same_scores(trained, tmp_path):
    det, x, _ = trained
    det.save(tmp_path / "model")
    loaded = AnomalyDetector.load(tmp_path / "model")
    np.testing.assert_allclose(loaded.score(x), det.score(x), rtol=1e-6, equal_nan=True)
    assert type(lstmkit.load(tmp_path / "model")) is AnomalyDetector
    assert loaded.get_params()["hidden_size"] == 16 and loaded.choices_["window"] == 32


def test_not_fitted_and_channel_errors(trained):
    from lstmkit.tasks.estimator import NotFittedError

    with pytest.raises(NotFittedError, match="AnomalyDetector.score"):
        AnomalyDetector().score(np.zeros(10))
    det, _, _ = trained
    with pytest.raises(ValueError, match="fitted on 1 channel"):
        det.score(np.zeros((100, 2)))


def test_a_trending_series_is_modelled_by_its_differences(tmp_path):
    rng = np.random.default_rng(1)
    t = np.arange(1200)
    x = 10 + 0.02 * t + np.sin(2 * np.pi * t / 24) + 0.1 * rng.normal(size=1200)
    y = np.zeros(1200, dtype=int)
    for i in (700, 850, 1000, 1150):
        x[i] += 3.0
        y[i] = 1
    det = AnomalyDetector(config=cfg(**{"detector.window": 0, "train.epochs": 8})).fit(x)
    assert det.choices_["difference"] is True and det.choices_["window"] == 48
    s = det.score(x)
    top = set(np.argsort(-np.nan_to_num(s, nan=-1))[:4].tolist())
    assert top == {700, 850, 1000, 1150}  # each spike its own row: the rows after it are not flagged instead


def test_reconstruction_detector_on_multivariate_data():
    from lstmkit.tasks.anomaly import metrics

    x, y = synthetic(channels=3)
    det = AnomalyDetector(config=cfg(**{"detector.kind": "reconstruction", "detector.stride": 4, "train.epochs": 8})).fit(x)
    s = det.score(x)
    assert s.shape == (len(x),) and np.isfinite(s[600:]).all()
    assert metrics.roc_auc(y[600:], s[600:]) > 0.9
    with pytest.raises(ValueError, match="reconstruction"):
        det.streaming()


def test_robust_training_option_trims_the_worst_windows():
    import torch

    from lstmkit.tasks.anomaly.detector import _trimmed_mean

    losses = torch.tensor([1.0, 2.0, 3.0, 100.0])
    assert float(_trimmed_mean(losses, 0.25)) == pytest.approx(2.0)
    assert float(_trimmed_mean(losses, 0.0)) == pytest.approx(26.5)


@pytest.mark.parametrize("method", ["false_alarm", "contamination", "dynamic"])
def test_threshold_methods(method):
    from lstmkit.tasks.anomaly.evaluation import decide

    rng = np.random.default_rng(0)
    s = np.abs(rng.normal(size=1000))
    s[800:810] = 20.0
    s[:50] = np.nan  # rows not scored never flag
    det = decide(s, method, level=3.5, contamination=0.015, dynamic_window=0, min_gap=0)
    assert det.flags[800:810].all() and not det.flags[:50].any()
    assert any(e.start <= 805 <= e.end for e in det.events)
    assert det.flags.sum() < 60
    covered = np.zeros(1000, dtype=bool)
    for e in det.events:
        covered[e.start : e.end + 1] = True
        assert det.flags[e.start] and det.flags[e.end]
    assert covered.sum() < 60 + 20 * len(det.events)


def test_segments_of_the_split():
    from lstmkit.tasks.anomaly.config import SplitConfig
    from lstmkit.tasks.anomaly.detector import segments

    seg = segments(1000, SplitConfig(), False, min_rows=100)
    assert (seg.train, seg.validation, seg.normal) == ((0, 750), (750, 1000), (0, 1000))
    seg = segments(1000, SplitConfig(train="0:0.4", validation="0.3:0.4"), False, min_rows=100)
    assert (seg.train, seg.validation) == ((0, 300), (300, 400))
    seg = segments(1000, SplitConfig(train="0:0.4", validation="0.5:0.6"), False, min_rows=100)
    assert (seg.train, seg.validation) == ((0, 400), (500, 600))
    seg = segments(1000, SplitConfig(), True, min_rows=100)
    assert (seg.train, seg.validation) == ((0, 1000), None)
    with pytest.raises(ValueError, match="overlap the training rows"):
        segments(1000, SplitConfig(train="0:0.5", validation="0.2:0.3"), False, min_rows=100)


# ------------------------------------------------------------------ bad input
def _csv(tmp_path, text):
    p = tmp_path / "bad.csv"
    p.write_text(text)
    return p


def test_bad_files(tmp_path):
    with pytest.raises(ValueError, match="empty"):
        load_anomaly_data(_csv(tmp_path, ""))
    with pytest.raises(ValueError, match=r"column 'v' row 3: expected a number, got 'abc'"):
        load_anomaly_data(_csv(tmp_path, "v\n1\nabc\n3\n"))
    with pytest.raises(ValueError, match=r"constant"):
        load_anomaly_data(_csv(tmp_path, "v\n" + "2\n" * 50))
    with pytest.raises(ValueError, match=r"no value column 'w'"):
        from lstmkit.tasks.anomaly.config import DataConfig

        load_anomaly_data(_csv(tmp_path, "v\n1\n2\n"), DataConfig(columns=["w"]))
    with pytest.raises(ValueError, match=r"rows 3-10: 8 missing values in a row"):
        load_anomaly_data(_csv(tmp_path, "v\n1\n" + "".join("nan\n" for _ in range(8)) + "2\n3\n"))
    with pytest.raises(ValueError, match=r"expected a 0/1 label, got"):
        load_anomaly_data(_csv(tmp_path, "v,label\n1,0\n2,3\n"))


@pytest.mark.parametrize("value, what", [("inf", "an infinite value"), ("-inf", "an infinite value"),
                                         ("1e300", "a value beyond")])
def test_non_finite_values_name_the_file_column_and_row(tmp_path, value, what):
    rows = "".join(f"{np.sin(i / 3):.3f},{i % 2}\n" for i in range(40))
    lines = ("v,w\n" + rows).splitlines()
    lines[7] = f"{value},1"  # file row 8 (the header is row 1)
    p = _csv(tmp_path, "\n".join(lines) + "\n")
    with pytest.raises(ValueError, match=rf"bad.csv: column 'v' row 8: expected a finite number, got {what}"):
        load_anomaly_data(p)
    with pytest.raises(ValueError, match=r"column 'value' row 5: expected a finite number"):
        AnomalyDetector().fit(np.r_[np.zeros(5), [np.inf], np.zeros(5)])


def test_text_that_is_not_utf8_is_read_with_a_note_and_a_binary_file_names_the_file(tmp_path):
    ansi = tmp_path / "ansi.csv"  # Excel's CSV on Windows: cp1252
    ansi.write_bytes("Temp\xe9rature,label\n1,0\n2,0\n3,1\n".encode("cp1252"))
    d = load_anomaly_data(ansi)
    assert d.columns == ["Température"] and any("read as Windows-1252" in n for n in d.notes)
    latin = tmp_path / "latin.csv"
    latin.write_bytes("v,label\n1,0\ncaf\xe9,0\n".encode("latin-1"))
    with pytest.raises(ValueError, match=r"latin.csv: column 'v' row 3: expected a number, got 'caf\xe9'"):
        load_anomaly_data(latin)
    binary = tmp_path / "blob.csv"
    binary.write_bytes(b"v\n1\n\x00\x00\x01\x02\n")
    with pytest.raises(ValueError, match=r"blob.csv: line 3: expected CSV text, got a NUL byte"):
        load_anomaly_data(binary)
    parquet = tmp_path / "fake.parquet"
    parquet.write_bytes(b"not parquet at all")
    with pytest.raises(ValueError, match=r"fake.parquet: not a readable table"):
        load_anomaly_data(parquet)


def test_time_column_checks(tmp_path):
    from lstmkit.tasks.anomaly.config import DataConfig

    cfg_t = DataConfig(time="t")
    with pytest.raises(ValueError, match=r"column 't': duplicate timestamp 2 at rows 3 and 4"):
        load_anomaly_data(_csv(tmp_path, "t,v\n1,1\n2,2\n2,3\n3,4\n"), cfg_t)
    autumn = "".join(f"2024-10-27 0{h}:00,{i}\n" for i, h in enumerate([0, 1, 2, 2, 3, 4]))
    d = load_anomaly_data(_csv(tmp_path, "t,v\n" + autumn), cfg_t)  # a local clock's autumn hour: both rows kept
    assert len(d.values) == 6 and any("the hour a local clock repeats when summer time ends" in n for n in d.notes)
    assert not any("not evenly spaced" in n for n in d.notes)
    twice = "".join(f"2024-10-2{d} 0{h}:00,{i}\n" for i, (d, h) in enumerate([(6, 2), (6, 2), (7, 1), (7, 2), (7, 2)]))
    with pytest.raises(ValueError, match=r"duplicate timestamp 2024-10-26 02:00 at rows 2 and 3; local clock times "
                                         r"repeat an hour when summer time ends"):  # on two days: not a clock change
        load_anomaly_data(_csv(tmp_path, "t,v\n" + twice), cfg_t)
    with pytest.raises(ValueError, match=r"row 4: timestamps must increase"):
        load_anomaly_data(_csv(tmp_path, "t,v\n1,1\n3,2\n2,3\n"), cfg_t)
    # newest first, as price exports write it: read forwards in time, labels with their rows, with a note
    newest = "".join(f"2024-01-{d:02d},{d},{int(d == 3)}\n" for d in range(9, 0, -1))
    d = load_anomaly_data(_csv(tmp_path, "t,v,label\n" + newest), cfg_t)
    np.testing.assert_array_equal(d.values[:, 0], np.arange(1.0, 10))
    assert d.labels.tolist() == [0, 0, 1, 0, 0, 0, 0, 0, 0] and str(d.time[0]) == "2024-01-01"
    assert "t: the rows run newest first: read in time order" in d.notes
    assert not any("evenly" in n for n in d.notes)
    with pytest.raises(ValueError, match=r"^anomaly data: .*column 't' row 3: expected a date/time"):
        load_anomaly_data(_csv(tmp_path, "t,v\n2024-01-01,1\nsoon,2\n"), cfg_t)
    data = load_anomaly_data(_csv(tmp_path, "t,v\n2024-01-01,1\n2024-01-02,2\n2024-01-04,5\n"), cfg_t)
    assert "not evenly spaced" in data.notes[0] and data.columns == ["v"]
    with pytest.raises(ValueError, match=r"no time column 'when'"):
        load_anomaly_data(_csv(tmp_path, "t,v\n1,1\n2,2\n"), DataConfig(time="when"))
    months = "".join(f"2023M{m:02d},{m}\n" for m in range(1, 13))  # a statistics office's month codes
    data = load_anomaly_data(_csv(tmp_path, "period,v\n" + months))
    assert data.columns == ["v"] and "not evenly spaced" not in " ".join(data.notes)
    assert any("'period' holds dates" in n for n in data.notes)
    coded = "".join(f"{2023 + (m - 1) // 12}{(m - 1) % 12 + 1:02d},{m}\n" for m in range(1, 25))  # yyyymm integers
    data = load_anomaly_data(_csv(tmp_path, "yyyymm,v\n" + coded))  # the time, not a channel, and even months
    assert data.columns == ["v"] and "not evenly spaced" not in " ".join(data.notes)
    assert any("'yyyymm' holds dates" in n for n in data.notes)


def test_day_first_dates_and_unix_times_are_read_as_the_forecaster_reads_them(tmp_path):
    # the detector's loader had its own reading of the time column: '13.01.2022 00:00' (day first, as written
    # across Europe) was "expected a time" at row 290, where the forecaster's loader reads the column day first
    hours = pd.date_range("2022-01-01", periods=24 * 20, freq="h")
    v = np.sin(np.arange(len(hours)) / 5.0)
    for fmt in ("%d.%m.%Y %H:%M", "%d/%m/%Y %H:%M"):
        path = tmp_path / "eu.csv"
        pd.DataFrame({"when": hours.strftime(fmt), "v": v}).to_csv(path, index=False)
        data = load_anomaly_data(path)
        assert data.columns == ["v"] and data.time_column == "when" and data.time[0] == hours[0].strftime(fmt)
        assert not any("not evenly spaced" in n for n in data.notes)
    seconds = pd.DataFrame({"ts": 1672531200 + 60 * np.arange(50), "v": v[:50]})
    data = from_frame(seconds)
    assert data.columns == ["v"] and any("read as Unix times (seconds since 1970-01-01)" in n for n in data.notes)
    assert data.time[0] == 1672531200  # events keep the user's own time values


def test_year_and_month_columns_are_the_time_not_channels():
    m = pd.date_range("2015-01-01", periods=60, freq="MS")
    data = from_frame(pd.DataFrame({"Year": m.year, "Month": m.month, "load": np.sin(np.arange(60) / 3.0)}))
    assert data.columns == ["load"] and data.time_column == "Year Month" and data.time[0] == "2015-01"
    assert not any("not evenly spaced" in n for n in data.notes)
    yearly = from_frame(pd.DataFrame({"year": 1950 + np.arange(40), "flow": np.cos(np.arange(40) / 2.0)}))
    assert yearly.columns == ["flow"] and yearly.time_column == "year"


def test_numbers_with_thousands_separators_are_read_with_a_note(tmp_path):
    data = load_anomaly_data(_csv(tmp_path, 'v\n"1,200.5"\n980\n"12,000"\n7\n'))
    assert data.values[:, 0].tolist() == [1200.5, 980.0, 12000.0, 7.0]
    assert any("column 'v': 2 number(s) with thousands separators" in n for n in data.notes)


def test_short_gaps_are_interpolated_and_reported(tmp_path):
    data = load_anomaly_data(_csv(tmp_path, "v\n1\nnan\n3\n4\n"))
    assert data.values[:, 0].tolist() == [1.0, 2.0, 3.0, 4.0]
    assert "interpolation" in data.notes[0]


def test_series_shorter_than_the_window():
    x, _ = synthetic(n=50)
    with pytest.raises(ValueError, match=r"shorter than one window"):
        AnomalyDetector(config=cfg(**{"detector.window": 64, "split.train": ""})).fit(x)


def test_constant_training_segment():
    x = np.r_[np.zeros(600), np.sin(np.arange(600))]
    with pytest.raises(ValueError, match="constant on the training segment"):
        AnomalyDetector(config=cfg()).fit(x)


def test_config_errors():
    with pytest.raises(ValueError, match="expected kind in"):
        AnomalyDetector(kind="psychic")
    with pytest.raises(ValueError, match="expected difference in"):
        AnomalyDetector(difference="sometimes")
    with pytest.raises(ValueError, match="expected START:END"):
        from lstmkit.tasks.anomaly.config import parse_segment

        parse_segment("10", 100, "split.train")


# ------------------------------------------------------------------ command line
def _series_file(tmp_path, n=600, spike_at=500):
    x, y = synthetic(n=n, spike_at=spike_at)
    path = tmp_path / "s.csv"
    pd.DataFrame({"value": x[:, 0], "label": y}).to_csv(path, index=False)
    return path, x, y


def _fast_args():
    return [f"--{k}={v}" for k, v in FAST.items() if k != "train.progress_bar"] + ["--train.epochs=2"]


def test_cli_in_process_and_as_subprocess(tmp_path):
    from lstmkit.cli.main import main

    path, _, _ = _series_file(tmp_path)
    assert main(["anomaly", "train", "--data", str(path), "--out", str(tmp_path / "run"), "--quiet"] + _fast_args()) == 0
    for f in ("scores.csv", "events.json", "metrics.json", "report.html", "plots/scores.png", "model/config.json"):
        assert (tmp_path / "run" / f).is_file(), f
    scores = pd.read_csv(tmp_path / "run" / "scores.csv")
    assert list(scores.columns) == ["time", "value", "score", "threshold", "anomaly", "label"] and len(scores) == 600
    assert scores["score"][:300].isna().all() and scores["score"][300:].notna().all()  # the fitted half is not scored
    assert scores["anomaly"][:300].sum() == 0
    html = (tmp_path / "run" / "report.html").read_text()
    assert "What was scored" in html and "Automatic choices" in html and "rolling z-score" in html
    res = subprocess.run([sys.executable, "-m", "lstmkit", "anomaly", "score", "--model", str(tmp_path / "run" / "model"),
                          "--data", str(path), "--out", str(tmp_path / "scored"), "--span", "400:600"],
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    scored = pd.read_csv(tmp_path / "scored" / "scores.csv")
    assert scored["score"][:400].isna().all() and scored["score"][400:].notna().all()



def test_cli_missing_file(tmp_path, capsys):
    from lstmkit.cli.main import main

    assert main(["anomaly", "train", "--data", str(tmp_path / "nope.csv")]) == 2
    assert "file not found" in capsys.readouterr().err


def test_cli_and_python_give_the_same_metrics(tmp_path):
    from lstmkit.cli.main import main

    path, x, y = _series_file(tmp_path)
    assert main(["anomaly", "evaluate", "--data", str(path), "--out", str(tmp_path / "run"), "--quiet"] + _fast_args()) == 0
    cli = json.loads((tmp_path / "run" / "metrics.json").read_text())["evaluation"]
    det = AnomalyDetector(config=cfg(**{"train.epochs": 2})).fit(x)  # FAST names split.train 0:0.5, the CLI's default
    api = det.evaluate(x, y)
    for name in ("LSTM", "rolling z-score", "isolation forest"):
        for key in ("pr_auc", "roc_auc", "flagged_rows", "predicted_events"):
            assert cli[name][key] == pytest.approx(api[name][key], rel=1e-6), (name, key)
    assert cli["rows_scored"] == api["rows_scored"] == 300


def test_cli_bad_inputs_are_one_line_errors(tmp_path, capsys):
    from lstmkit.cli.main import main

    p = tmp_path / "inf.csv"
    p.write_text("v\n" + "".join(f"{np.sin(i):.3f}\n" for i in range(50)) + "inf\n")
    assert main(["anomaly", "train", "--data", str(p), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "inf.csv: column 'v' row 52: expected a finite number" in err


def test_end_to_end_on_the_real_ecg_slice(tmp_path, shared_data):
    # the labelled arrhythmia of the MIT-BIH record lies in rows 6936-7287: keep 4500 rows around it
    frame = pd.read_csv(shared_data / "anomaly" / "mitdb.csv").iloc[3000:].reset_index(drop=True)
    det = AnomalyDetector(config=cfg(**{"detector.window": 96, "train.epochs": 3, "split.train": "0:0.55"}))
    det.fit(frame[["data"]])
    ev = det.evaluate(frame)
    for name in ("LSTM", "rolling z-score", "isolation forest"):
        assert 0 <= ev[name]["pr_auc"] <= 1 and 0 <= ev[name]["roc_auc"] <= 1
    assert ev["first_row_scored"] == int(round(0.55 * len(frame)))
    report = det.report(tmp_path / "report")
    assert report.name == "report.html" and (tmp_path / "report" / "plots" / "scores.png").is_file()
    assert "Point-adjusted" in report.read_text() or "point-adjusted" in report.read_text()


def test_a_column_of_dates_is_the_time_not_a_channel():
    x, _ = synthetic(n=400, spike_at=330)
    stamps = pd.date_range("2000-01-01", periods=400, freq="h")
    df = pd.DataFrame({"when": stamps, "v": x[:, 0]})
    det = AnomalyDetector(config=cfg(**{"split.train": "0:300"})).fit(df)
    assert det.detector_.channels == 1 and det.columns_ == ["v"]
    ev = det.detect(df)
    assert len(ev) and (ev["peak_time"] == stamps[ev["peak"]]).all()
    two = df.assign(other=stamps + pd.Timedelta(minutes=30))  # two different dates a row (the same: one time)
    with pytest.raises(ValueError, match=r"columns \['when', 'other'\] hold dates; name the time column"):
        AnomalyDetector(config=cfg()).fit(two)


def test_predict_flags_the_rows_of_the_detected_events(trained):
    det, x, _ = trained
    flags = det.predict(x)
    assert flags.shape == (len(x),) and set(np.unique(flags)) <= {0, 1}
    ev = det.detect(x)
    want = np.zeros(len(x), dtype=int)
    for s, e in zip(ev["start"], ev["end"]):
        want[s:e + 1] = 1
    np.testing.assert_array_equal(flags, want)


def test_a_column_of_date_text_is_the_time_too():
    from lstmkit.tasks.anomaly.data import from_frame

    x, _ = synthetic(n=50)
    stamps = pd.date_range("2024-01-01", periods=50, freq="h").strftime("%Y-%m-%d %H:%M")
    data = from_frame(pd.DataFrame({"timestamp": stamps, "sensor temp": x[:, 0]}))
    assert data.columns == ["sensor temp"] and data.time_column == "timestamp"
    assert any("holds dates" in n for n in data.notes)
    codes = pd.DataFrame({"code": ["a1", "b2"] * 25, "v": x[:, 0]})  # text that is not dates stays a (bad) value column
    with pytest.raises(ValueError, match="column 'code'"):
        from_frame(codes)


def test_months_written_with_a_dot_are_months_not_decimal_numbers(tmp_path):
    """'01.2002' after '12.2001' (months as German and comma-file exports write them) stopped the detector at
    "timestamps must increase": the text was read as the numbers 1.2002 and 12.2001."""
    months = pd.date_range("2001-01", periods=36, freq="MS")
    path = tmp_path / "m.csv"
    with open(path, "w") as f:
        f.write("Month,Sales\n" + "".join(f"{m:%m.%Y},{100 + k % 12}\n" for k, m in enumerate(months)))
    d = load_anomaly_data(path)
    assert d.time_column == "Month" and len(d.values) == 36 and list(d.time[12:14]) == ["01.2002", "02.2002"]
    assert any("period codes such as '01.2001' read as the time their period starts" in n for n in d.notes), d.notes


def test_text_the_same_in_every_row_is_left_out_and_zone_marked_times_are_read(tmp_path):
    """ENTSO-E's price export: constant 'Area' and 'Sequence' texts stopped the load ("column 'Area': expected a
    number"), and its times carry zone names ('02:00:00 (CEST)'); now one channel, the price, on UTC times."""
    from lstmkit.tasks.anomaly.data import from_frame

    idx = pd.date_range("2023-10-25", periods=24 * 8, freq="h", tz="Europe/Berlin")
    stamp = [f"{a:%d/%m/%Y %H:%M:%S} ({'CEST' if a.dst() else 'CET'})" for a in idx]
    price = 80 + 20 * np.sin(2 * np.pi * idx.hour.to_numpy() / 24) + np.arange(len(idx)) / 50
    frame = pd.DataFrame({"Area": "BZN|DE-LU", "Sequence": "Without Sequence", "MTU (CET/CEST)": stamp,
                          "Day-ahead Price (EUR/MWh)": price})
    path = tmp_path / "prices.csv"
    frame.to_csv(path, index=False)
    d = load_anomaly_data(path)
    assert d.columns == ["Day-ahead Price (EUR/MWh)"] and d.time_column == "MTU (CET/CEST)"
    assert "column(s) ['Area', 'Sequence'] hold one text in every row (e.g. 'BZN|DE-LU'): left out, not channels" \
        in d.notes
    assert len(d.values) == len(idx) and list(d.time[:1]) == [stamp[0]]  # every hour, the times as written
    assert "column 'MTU (CET/CEST)': zone names (CEST), (CET) read as UTC offsets" in d.notes
    with pytest.raises(ValueError, match="column 'Area'"):  # nothing else to read: the text is what is there
        from_frame(frame[["Area"]])


def test_a_row_number_column_and_a_step_column_are_not_channels(tmp_path):
    x = np.arange(200.0)
    frame = pd.DataFrame({"time": np.arange(200) * 10, "a": np.sin(x / 5), "b": np.cos(x / 7)})
    path = tmp_path / "d.csv"
    frame.to_csv(path)  # with pandas' row numbers as a first, unnamed column
    d = load_anomaly_data(path)
    assert d.columns == ["a", "b"] and d.time_column == "time"
    assert any("numbers the rows" in n for n in d.notes)


def test_a_frame_indexed_by_dates_or_periods_keeps_them_as_its_time():
    x = np.arange(120.0)
    for index in (pd.date_range("2024-01-01", periods=120, freq="h"), pd.period_range("2010-01", periods=120, freq="M")):
        d = from_frame(pd.DataFrame({"a": np.sin(x / 5), "b": np.cos(x / 3)}, index=index))
        assert d.columns == ["a", "b"] and d.time_column == "time"
        assert pd.Timestamp(d.time[1]) == pd.Timestamp(index[1].start_time if hasattr(index[1], "start_time")
                                                       else index[1])
