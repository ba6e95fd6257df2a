"""The .ts reader on the shared UCR/UEA files and on small malformed files."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from lstmkit.data.ts_format import read_ts

HEAD = "@problemName toy\n@timeStamps false\n@missing true\n@univariate {uni}\n{extra}@equalLength {eq}\n@classLabel true a b\n@data\n"


def _write(tmp_path, body: str, uni: str = "true", eq: str = "true", extra: str = "", head: str | None = None):
    path = tmp_path / "toy.ts"
    path.write_text((HEAD.format(uni=uni, eq=eq, extra=extra) if head is None else head) + body, encoding="utf-8")
    return path


@pytest.mark.parametrize("split, n", [("TRAIN", 50), ("TEST", 150)])
def test_gunpoint(shared_data, split, n):
    path = shared_data / "ucr" / f"GunPoint_{split}.ts"
    data = read_ts(path)
    assert data.X.shape == (n, 1, 150) and data.X.dtype == np.float64 and len(data) == n
    assert data.name == "GunPoint" and data.classes == ["1", "2"]
    rows = [line for line in path.read_text().splitlines() if line and line[0] not in "#@"]
    first = [float(v) for v in rows[0].split(":")[0].split(",")]
    np.testing.assert_array_equal(data.X[0, 0], first)
    assert Counter(data.y.tolist()) == Counter(r.rsplit(":", 1)[1] for r in rows)
    assert set(data.y_index.tolist()) == {0, 1} and (data.y_index == (data.y == "2")).all()
    assert (data.lengths == 150).all() and np.isfinite(data.X).all()


@pytest.mark.parametrize("split", ["TRAIN", "TEST"])
def test_basic_motions_multivariate(shared_data, split):
    path = shared_data / "ucr" / f"BasicMotions_{split}.ts"
    data = read_ts(path, dtype=np.float32)
    assert data.X.shape == (40, 6, 100) and data.X.dtype == np.float32
    assert data.classes == ["Standing", "Running", "Walking", "Badminton"]
    assert Counter(data.y.tolist()) == {c: 10 for c in data.classes}
    last = [line for line in path.read_text().splitlines() if line and line[0] not in "#@"][-1]
    fields = last.split(":")
    for c in range(6):
        np.testing.assert_allclose(data.X[-1, c], [float(v) for v in fields[c].split(",")], rtol=1e-6)
    assert data.y[-1] == fields[-1]


def test_missing_values_and_unequal_lengths(tmp_path):
    data = read_ts(_write(tmp_path, "1,?,3:a\n4,5:b\n", eq="false"))
    assert data.X.shape == (2, 1, 3) and data.lengths.tolist() == [3, 2]
    assert np.isnan(data.X[0, 0, 1]) and np.isnan(data.X[1, 0, 2]) and data.X[1, 0, 1] == 5
    assert data.y.tolist() == ["a", "b"] and data.y_index.tolist() == [0, 1]


def test_regression_targets_and_no_labels(tmp_path):
    head = "@problemName r\n@targetLabel true\n@data\n"
    data = read_ts(_write(tmp_path, "1,2:3,4:0.5\n5,6:7,8:-2\n", head=head))
    assert data.X.shape == (2, 2, 2) and data.y.tolist() == [0.5, -2.0] and data.classes is None
    data = read_ts(_write(tmp_path, "1,2\n3,4\n", head="@classLabel false\n@data\n"))
    assert data.y is None and data.X[:, 0].tolist() == [[1, 2], [3, 4]]
    with pytest.raises(ValueError, match="TSData: expected a file with @classLabel true"):
        data.y_index


@pytest.mark.parametrize(
    "body, kw, line, message",
    [
        ("1,2,x:a\n", {}, 8, "expected a number in channel 0 at position 2, got 'x'"),
        ("1,2:a\n1,2:c\n", {}, 9, "expected a class label in ['a', 'b'], got 'c'"),
        ("1,2:a\n1,2,3:b\n", {}, 9, "expected every channel of length 2 (@equalLength true), got [3]"),
        ("1,2:3,4:a\n", {"uni": "false"}, 8, ""),  # fine: see the next two
        ("1,2:3,4:a\n1,2:b\n", {"uni": "false"}, 9, "expected 2 channels as in the first series (line 8), got 1"),
        ("1,2:3,4:a\n", {}, 8, "expected 1 channel (@univariate true), got 2"),
        ("1,2:3,4:a\n", {"uni": "false", "extra": "@dimensions 3\n"}, 9, "expected 3 channels (@dimensions), got 2"),
        ("1,2\n", {}, 8, "expected series then ':' and a label, got no ':'"),
        ("(0,1),(1,2):a\n", {}, 8, "time-stamped value"),
    ],
)
def test_malformed_lines_name_file_and_line(tmp_path, body, kw, line, message):
    path = _write(tmp_path, body, **kw)
    if not message:
        assert read_ts(path).X.shape == (1, 2, 2)
        return
    with pytest.raises(ValueError) as info:
        read_ts(path)
    assert f"read_ts: {path}:{line}: " in str(info.value) and message in str(info.value)


@pytest.mark.parametrize(
    "text, message",
    [
        ("@problemName x\n1,2\n", ":2: expected a header line starting with '@' before @data"),
        ("@problemName x\n", "expected an @data line, got none"),
        ("@univariate maybe\n@data\n", ":1: expected @univariate true or false, got 'maybe'"),
        ("@seriesLength many\n@data\n", ":1: expected @serieslength a positive integer"),
        ("@classLabel true\n@data\n", ":1: expected class names after '@classLabel true'"),
        ("@classLabel true a\n@data\n", "expected at least one series after @data"),
        ("@timeStamps true\n@classLabel false\n@data\n1,2\n", ":1: expected @timeStamps false, got true"),
    ],
)
def test_malformed_headers(tmp_path, text, message):
    path = _write(tmp_path, "", head=text)
    with pytest.raises(ValueError, match="read_ts: ") as info:
        read_ts(path)
    assert message in str(info.value)
