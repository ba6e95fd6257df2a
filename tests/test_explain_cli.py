"""``lstmkit explain`` and ``lstmkit experiment`` in-process and as a subprocess, and the explorer's JSON endpoint."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.error
import urllib.request

import pytest
from explain_models import TEXT, full_stop_lm, save_char_lm

from lstmkit.cli.main import main
from lstmkit.explain.explorer import ExplorerServer, traces_info
from lstmkit.tasks.explain import load_explainable


@pytest.fixture(scope="module")
def lm_dir(tmp_path_factory):
    return save_char_lm(tmp_path_factory.mktemp("explain") / "lm", hidden=8)


def test_explain_trace_writes_heatmaps_json_and_csv(lm_dir, tmp_path, capsys):
    out = tmp_path / "ex"
    assert main(["explain", "--model", str(lm_dir), "--text", "Bob is nice. Dan", "--units", "0-3",
                 "--out", str(out)]) == 0
    assert "traced 16 steps" in capsys.readouterr().out
    assert {p.name for p in out.iterdir()} == {"heatmap_layer0.png", "heatmap_layer1.png", "traces.json", "traces.csv"}
    d = json.loads((out / "traces.json").read_text())
    assert d["labels"] == list("Bob is nice. Dan") and [e["units"] for e in d["layers"]] == [[0, 1, 2, 3]] * 2
    assert set(d["layers"][0]) >= {"i", "f", "g", "o", "c", "h"}
    assert len((out / "traces.csv").read_text().splitlines()) == 1 + 16 * 2 * 4
    assert main(["explain", "--model", str(lm_dir), "--text", "Bob", "--units", "all", "--layers", "1", "--gates", "f,c",
                 "--out", str(out)]) == 0
    d = json.loads((out / "traces.json").read_text())
    assert [e["layer"] for e in d["layers"]] == [1] and d["layers"][0]["units"] == list(range(8))
    assert "i" not in d["layers"][0] and len(d["layers"][0]["f"]) == 3


def test_explain_units_ranks_and_plots(lm_dir, tmp_path, capsys):
    text_file = tmp_path / "t.txt"
    text_file.write_text(TEXT * 3)
    out = tmp_path / "units"
    assert main(["explain", "units", "--model", str(lm_dir), "--text-file", str(text_file), "--property",
                 "line_position", "--top", "4", "--out", str(out)]) == 0
    d = json.loads((out / "units.json").read_text())
    assert d["property"] == "line_position" and d["steps"] == len(TEXT) * 3 and len(d["units"]) == 4
    rs = [u["abs_r"] for u in d["units"]]
    assert rs == sorted(rs, reverse=True) and 0 < rs[0] <= 1
    assert (out / "units_heatmap.png").is_file() and len(list(out.glob("unit_*.png"))) == 3
    assert "units tracking line_position" in capsys.readouterr().out
    prop = tmp_path / "p.csv"
    prop.write_text("value\n" + "\n".join(str(i % 7) for i in range(len(TEXT) * 3)))
    assert main(["explain", "units", "--model", str(lm_dir), "--text-file", str(text_file), "--property-file",
                 str(prop), "--out", str(out)]) == 0


@pytest.mark.parametrize("argv,message", [
    (["--text", "hi", "--series", "1,2"], "expected one of --text"),
    (["--series", "1,2"], "reads text"),
    (["--text", "hi", "--units", "0-99"], r"expected units in \[0, 8\)"),
    (["--text", "hi", "--units", "a"], "expected units like"),
    (["units", "--text", "hi"], "expected --property"),
    (["units", "--text", "no quotes", "--property", "inside_quotes"], "constant"),
])
def test_explain_bad_input_exits_2(lm_dir, tmp_path, capsys, argv, message):
    assert main(["explain", "--model", str(lm_dir), "--out", str(tmp_path), *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("lstmkit explain: error:")
    assert __import__("re").search(message, err)


def test_explain_missing_model(tmp_path, capsys):
    assert main(["explain", "--model", str(tmp_path / "none"), "--text", "x"]) == 2
    assert "expected a model folder" in capsys.readouterr().err


def test_experiment_adding_and_vanishing_commands(tmp_path, capsys):
    out = tmp_path / "adding"
    assert main(["experiment", "adding", "--T", "15", "--steps", "20", "--test-size", "64", "--hidden-size", "8",
                 "--cells", "rnn,lstm", "--quiet", "--out", str(out)]) == 0
    rows = (out / "table.csv").read_text().splitlines()
    assert rows[0].startswith("task,T,cell,init,hidden,steps,wrong,test") and len(rows) == 3
    assert rows[1].split(",")[2:4] == ["rnn", "-"] and rows[2].split(",")[2:4] == ["lstm", "chrono"]
    assert (out / "adding.png").is_file() and json.loads((out / "adding.json").read_text())[1]["cell"] == "lstm"
    assert main(["experiment", "adding", "--T", "15", "--steps", "2", "--test-size", "8", "--hidden-size", "4",
                 "--cells", "lstm", "--init", "forget1", "--quiet", "--out", str(out)]) == 0
    assert json.loads((out / "adding.json").read_text())[0]["init"] == "forget1"
    out2 = tmp_path / "van"
    assert main(["experiment", "vanishing", "--T", "20", "--steps", "3", "--hidden-size", "8", "--quiet",
                 "--out", str(out2)]) == 0
    assert (out2 / "vanishing_T20.png").is_file() and len((out2 / "table.csv").read_text().splitlines()) == 7
    assert main(["experiment", "adding", "--T", "5", "--quiet", "--out", str(out)]) == 2
    assert "expected T >= 12" in capsys.readouterr().err


def test_experiment_full_stop_command_on_a_wired_model(tmp_path, capsys):
    model_dir = tmp_path / "fs"
    full_stop_lm(model_dir)
    text = tmp_path / "t.txt"
    text.write_text("Bob is a nice person. Dan, on the other hand, is evil. " * 5)
    out = tmp_path / "out"
    assert main(["experiment", "full-stop", "--model", str(model_dir), "--text-file", str(text), "--permutations",
                 "200", "--out", str(out)]) == 0
    d = json.loads((out / "full_stop.json").read_text())
    assert d["boundary_steps"] == 10 and d["difference"] < -0.98 and d["p_permutation"] < 0.01
    assert (out / "full_stop.png").is_file()
    assert main(["experiment", "full-stop", "--out", str(out)]) == 2
    assert "expected --model" in capsys.readouterr().err


def test_experiment_subprocess_help_and_run(tmp_path):
    r = subprocess.run([sys.executable, "-m", "lstmkit", "experiment", "temporal-order", "--T", "20", "--steps", "5",
                        "--test-size", "32", "--hidden-size", "4", "--cells", "lstm", "--quiet", "--out", str(tmp_path)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "temporal_order" in r.stdout and (tmp_path / "temporal_order.png").is_file()


def _post(url, body):
    req = urllib.request.Request(url + "api/trace", data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def test_explorer_server_endpoints(lm_dir):
    ex = load_explainable(lm_dir)
    server = ExplorerServer(ex.trace, traces_info(ex.trace("Hi."), ex.kind, ex.input_kind), port=0)
    server.start_background()
    try:
        assert server.url.startswith("http://127.0.0.1:")
        with urllib.request.urlopen(server.url, timeout=30) as r:
            page = r.read().decode()
        assert "lstmkit gate explorer" in page and "/api/trace" in page
        with urllib.request.urlopen(server.url + "api/info", timeout=30) as r:
            info = json.loads(r.read())
        assert info["hidden_sizes"] == [8, 8] and info["gates"] == ["i", "f", "g", "o", "c", "h"]
        status, res = _post(server.url, {"text": "Bob. Dan", "layer": 1, "unit": 5})
        assert status == 200 and res["labels"] == list("Bob. Dan") and set(res["gates"]) == set(info["gates"])
        want = ex.trace("Bob. Dan").values(1, "f")[:, 5]
        assert res["gates"]["f"] == pytest.approx(want.tolist(), abs=1e-5)
        assert _post(server.url, {"text": "  "})[0] == 400
        status, res = _post(server.url, {"text": "x", "unit": 8})
        assert status == 400 and "unit in [0, 8)" in res["error"]
        assert _post(server.url, {"series": [1, 2]})[0] == 400
    finally:
        server.shutdown()
        server.server_close()


def test_serve_command_prints_the_url_of_a_free_port(lm_dir):
    import os
    import signal

    # a test run started in the background ignores SIGINT, and children inherit that: the child gives Ctrl-C back
    # to Python before running the command line
    code = ("import signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
            "from lstmkit.cli.main import main; sys.exit(main(sys.argv[1:]))")
    proc = subprocess.Popen([sys.executable, "-c", code, "explain", "serve", "--model", str(lm_dir), "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        url = __import__("re").search(r"http://127\.0\.0\.1:(\d+)/", line)
        assert url and int(url.group(1)) > 0, line + proc.stderr.read() if proc.poll() is not None else line
        with urllib.request.urlopen(url.group(0) + "api/info", timeout=30) as r:
            assert json.loads(r.read())["kind"] == "lm-lstm"
        status, res = _post(url.group(0), {"text": "Hello.", "unit": 0})
        assert status == 200 and res["labels"] == list("Hello.")
    finally:
        os.kill(proc.pid, signal.SIGINT)
        assert proc.wait(timeout=30) == 0  # Ctrl-C stops it cleanly


def test_explorer_serves_series_models():
    from lstmkit.explain.traces import layer_traces
    from lstmkit.nn import LSTM

    layer = LSTM(1, 4, batch_first=True)

    def trace(values):
        return layer_traces(layer, __import__("torch").tensor(values).view(1, -1, 1))

    server = ExplorerServer(trace, traces_info(trace([0.0, 1.0]), "test", "series"), port=0)
    server.start_background()
    try:
        status, res = _post(server.url, {"series": [0.5, 1.5, -2.0], "unit": 3})
        assert status == 200 and res["values"] == [0.5, 1.5, -2.0] and len(res["gates"]["c"]) == 3
        assert _post(server.url, {"series": ["a"]})[0] == 400
        assert _post(server.url, {"text": "abc"})[0] == 400
    finally:
        server.shutdown()
        server.server_close()


def test_a_classifiers_wide_file_is_traced_one_row_at_a_time(tmp_path, capsys):
    import numpy as np
    import pandas as pd

    import lstmkit

    rng = np.random.default_rng(0)
    X = rng.normal(size=(20, 30)) + np.repeat([0.0, 2.0], 10)[:, None]
    clf = lstmkit.SequenceClassifier(epochs=2, mode="off", progress_bar=False).fit(X, np.repeat([0, 1], 10))
    clf.save(tmp_path / "model")
    wide = tmp_path / "new.csv"
    pd.DataFrame(X, columns=[f"t{i}" for i in range(30)]).to_csv(wide, index=False)
    assert main(["explain", "--model", str(tmp_path / "model"), "--series", str(wide), "--row", "3",
                 "--out", str(tmp_path / "ex")]) == 0
    assert "tracing row 3" in capsys.readouterr().out
    steps = json.loads((tmp_path / "ex" / "traces.json").read_text())
    assert steps  # written
    assert main(["explain", "--model", str(tmp_path / "model"), "--series", str(wide), "--row", "20",
                 "--out", str(tmp_path / "ex2")]) == 2
    assert "--row 20" in capsys.readouterr().err
