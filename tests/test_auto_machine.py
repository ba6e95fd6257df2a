"""auto's measurements speak for the machine they were taken on, and only for it.

A table of torch.nn / cpu-engine time ratios measured on an Intel Xeon with
AMX read up to 25 % off on an AMD EPYC with AVX2; these tests check that
``auto`` reads only a table recorded on the same kind of machine, hands plain
calls to torch.nn where it has none, and that ``lstmkit calibrate`` makes one.
"""

from __future__ import annotations

import json

import pytest
import torch

import lstmkit
import lstmkit.kernels.cpu as cpu_pkg
from lstmkit import kernels
from lstmkit.cli.main import main
from lstmkit.kernels.cpu import calibrate, machine

HERE = machine.fingerprint()
ELSEWHERE = {**HERE, "vendor": "SomeOtherVendor", "family": "99"}


def _table(fp: dict, ratio: float) -> dict:
    """A table of ``fp`` whose LSTM training ratio is ``ratio`` at every size."""
    return {"machine": fp, "threads": {"1": {"lstm train": [[0.0, ratio, 1.0]], "lstm infer": [[0.0, ratio, 1.0]]}}}


@pytest.fixture
def tables(tmp_path, monkeypatch):
    """auto reads from a shipped folder and a user cache of this test's own."""
    shipped = tmp_path / "shipped"
    shipped.mkdir()
    cache = tmp_path / "cache" / "auto_table.json"
    monkeypatch.delenv("LSTMKIT_AUTO_TABLE", raising=False)
    monkeypatch.setattr(cpu_pkg, "AUTO_TABLES", shipped)
    monkeypatch.setattr(calibrate, "calibrated_table", lambda: cache)
    for name in ("_ratios", "_narrow", "_source", "_unmeasured"):
        monkeypatch.setattr(cpu_pkg, name, getattr(cpu_pkg, name))
    monkeypatch.setattr(cpu_pkg, "_ratios", None)
    return shipped, cache


def _choice(T=100, B=64, grad=True) -> str:
    cells = [lstmkit.cells.LSTMCell(8, 32)]
    with torch.set_grad_enabled(grad):
        return kernels.select_backend(torch.randn(T, B, 8), kernels.RecurrenceSpec(kind="lstm"), cells, None).name


def test_isa_level_names_the_widest_vector_extension():
    assert machine.isa_level("fpu sse4_2 avx avx2 fma avx512f amx_tile") == "amx"
    assert machine.isa_level({"sse4_2", "avx", "avx2", "fma", "avx512f"}) == "avx512"
    assert machine.isa_level("sse4_2 avx avx2 fma") == "avx2"
    assert machine.isa_level("sse4_2 avx avx2") == "avx"  # AVX2 without FMA is not what -march builds for
    assert machine.isa_level("sse4_2") == "sse4"


def test_machines_match_on_processor_vector_extensions_and_torch_line():
    assert machine.same_machine(HERE, HERE)
    assert machine.same_machine({**HERE, "cpu": "a renamed virtual CPU"}, HERE)  # the name alone is not compared
    for key in machine.MATCHED:
        assert not machine.same_machine({**HERE, key: "other"}, HERE), key
    assert not machine.same_machine(None, HERE) and not machine.same_machine("intel", HERE)
    assert "torch" in machine.describe(HERE) and HERE["isa"] in machine.describe(HERE)


def test_a_table_of_another_machine_sends_plain_calls_to_torch_with_the_reason(tables):
    shipped, _ = tables
    (shipped / "other.json").write_text(json.dumps(_table(ELSEWHERE, 3.0)))
    assert _choice() == "torch"
    why = kernels.load_backend("cpu").auto_declines(torch.randn(100, 64, 8), kernels.RecurrenceSpec(kind="lstm"),
                                                    [lstmkit.cells.LSTMCell(8, 32)], None)
    assert why is not None and "lstmkit calibrate" in why and "no table measured on" in why
    status = cpu_pkg.auto_table_status()
    assert not status["measured"] and status["threads"] == []
    # what torch.nn cannot run, or runs far slower, still goes to the engine: lengths, gate traces
    cells, x = [lstmkit.cells.LSTMCell(8, 32)], torch.randn(10, 4, 8)
    assert kernels.select_backend(x, kernels.RecurrenceSpec(kind="lstm"), cells, torch.tensor([10, 9, 5, 2])).name \
        == "cpu"
    assert kernels.select_backend(x, kernels.RecurrenceSpec(kind="lstm", return_gates=True), cells, None).name == "cpu"


def test_the_table_of_this_machine_is_read_and_the_calibrated_one_comes_first(tables):
    shipped, cache = tables
    (shipped / "a_other.json").write_text(json.dumps(_table(ELSEWHERE, 3.0)))
    (shipped / "b_here.json").write_text(json.dumps(_table(HERE, 3.0)))
    assert _choice() == "cpu"
    assert cpu_pkg.auto_table_status()["source"].endswith("b_here.json")
    # a calibrated table of this machine is preferred to the shipped one
    cache.parent.mkdir(parents=True)
    cache.write_text(json.dumps(_table(HERE, 0.5)))
    cpu_pkg.reload_auto_table()
    assert _choice() == "torch" and cpu_pkg.auto_table_status()["source"] == str(cache)
    # ... but not one measured on another machine (a cache folder copied over)
    cache.write_text(json.dumps(_table(ELSEWHERE, 0.5)))
    cpu_pkg.reload_auto_table()
    assert _choice() == "cpu" and cpu_pkg.auto_table_status()["source"].endswith("b_here.json")


def test_the_table_named_by_the_environment_is_taken_as_it_is(tables, monkeypatch, tmp_path):
    named = tmp_path / "named.json"
    named.write_text(json.dumps(_table(ELSEWHERE, 3.0)))
    monkeypatch.setenv("LSTMKIT_AUTO_TABLE", str(named))
    cpu_pkg.reload_auto_table()
    assert _choice() == "cpu" and cpu_pkg.auto_table_status()["measured"]
    monkeypatch.setenv("LSTMKIT_AUTO_TABLE", str(tmp_path / "missing.json"))
    cpu_pkg.reload_auto_table()
    status = cpu_pkg.auto_table_status()
    assert _choice() == "torch" and not status["measured"] and "does not exist" in status["source"]


def test_storing_points_merges_keeps_and_starts_anew_for_another_machine(tmp_path):
    path = tmp_path / "t.json"
    table, note = calibrate.read_table(path)
    assert note is None and table["machine"] == HERE
    calibrate.store_points(table, 1, {"lstm train": [[10.0, 1.3, 4], [1.0, 0.9, 2]]}, "run a")
    calibrate.store_points(table, 1, {"gru train": [[5.0, 2.0, 4]]}, "run b")
    assert table["threads"]["1"]["lstm train"] == [[1.0, 0.9, 2], [10.0, 1.3, 4]]  # sorted by work, kept
    assert table["measured"]["1"] == ["run a", "run b"]
    calibrate.store_points(table, 1, {"lstm train": [[10.0, 1.5, 4], [1.0, 0.8, 2]]}, "run c", merge=True)
    assert table["threads"]["1"]["lstm train"] == [[1.0, 0.8, 2], [10.0, 1.3, 4]]  # the lower of the two
    calibrate.store_grid(table, 1, {"lstm infer": [[100, 1, 32, 1.4], [100, 1, 32, 1.1, 8]]}, "grid a")
    calibrate.store_grid(table, 1, {"lstm infer": [[100, 1, 32, 1.2], [100, 1, 32, 1.3, 8]]}, "grid b", merge=True)
    # merged per point and input plane: the I = H point takes 1.2, the I = 8 point keeps its 1.1
    assert table["narrow"]["1"]["lstm infer"] == [[100, 1, 32, 1.2], [100, 1, 32, 1.1, 8]]
    # a run of another hidden size adds its points and keeps the stored ones
    calibrate.store_grid(table, 1, {"lstm infer": [[100, 1, 64, 1.25]]}, "grid c", merge=True)
    assert table["narrow"]["1"]["lstm infer"] == [[100, 1, 64, 1.25], [100, 1, 32, 1.2], [100, 1, 32, 1.1, 8]]
    assert table["narrow_measured"]["1"] == ["grid a", "grid b", "grid c"]
    calibrate.write_table(path, table)
    again, note = calibrate.read_table(path)
    assert note is None and again == json.loads(json.dumps(table))
    assert [p.name for p in tmp_path.iterdir()] == ["t.json"]  # no temporary file left
    path.write_text(json.dumps({**table, "machine": ELSEWHERE}))
    fresh, note = calibrate.read_table(path)
    assert fresh["threads"] == {} and "not this machine" in note
    path.write_text("{ not json")
    fresh, note = calibrate.read_table(path)
    assert fresh["threads"] == {} and "could not be read" in note
    # read, store and write in one: what the benchmarks call
    note = calibrate.update_table(path, 2, "run d", points={"gru infer": [[1.0, 1.1, 2]]},
                                  grid={"gru infer": [[100, 1, 32, 1.3]]})
    written = json.loads(path.read_text())
    assert "could not be read" in note and written["machine"] == HERE
    assert written["threads"]["2"] == {"gru infer": [[1.0, 1.1, 2]]}
    assert written["narrow"]["2"]["gru infer"] == [[100, 1, 32, 1.3]]
    assert calibrate.update_table(path, 2, "run e", points={"gru train": [[1.0, 2.0, 2]]}) is None
    assert sorted(json.loads(path.read_text())["threads"]["2"]) == ["gru infer", "gru train"]


def test_measure_table_times_both_engines_on_a_real_call():
    shapes = {"t": dict(T=3, B=2, I=2, H=4, L=1)}
    seen = []
    points = calibrate.measure_table(["gru"], reps=3, budget=1.0, shapes=shapes, on_case=lambda *a: seen.append(a))
    assert sorted(points) == ["gru infer", "gru train"]
    for (work, ratio, rows, steps), in points.values():
        assert work == 3 * 2 * 3 * 4 * (2 + 4) and rows == 6 and steps == 3 and ratio > 0
    assert [label for label, _ in seen] == ["gru train t", "gru infer t"]


def test_calibrate_writes_this_machines_table_and_auto_reads_it(tables, monkeypatch):
    _, cache = tables
    threads_seen = []

    def fake_table(reps, budget, on_case, lengths=False, dtype=torch.float32):
        if lengths:
            return {calibrate.dtype_key("lstm infer lengths", dtype): [[0.0, 0.5, 1.0]]}
        if dtype == torch.float64:
            return {"lstm train float64": [[0.0, 1.5, 1.0]], "lstm infer float64": [[0.0, 0.7, 1.0]]}
        threads_seen.append(torch.get_num_threads())
        on_case("lstm train x", 2.0)
        return {"lstm train": [[0.0, 2.0, 1.0]], "lstm infer": [[0.0, 2.0, 1.0]]}

    monkeypatch.setattr(calibrate, "measure_table", fake_table)
    monkeypatch.setattr(calibrate, "measure_grid", lambda on_case: {"lstm train": [[100, 1, 32, 2.0]]})
    before = torch.get_num_threads()
    assert _choice() == "torch"  # nothing measured here yet
    path = calibrate.calibrate([1, 2], on_case=lambda *a: None, command="test")
    assert path == cache and threads_seen == [1, 2] and torch.get_num_threads() == before
    table = json.loads(cache.read_text())
    assert table["machine"] == HERE and sorted(table["threads"]) == ["1", "2"] and sorted(table["narrow"]) == ["1", "2"]
    assert sorted(table["threads"]["1"]) == ["lstm infer", "lstm infer float64", "lstm infer lengths",
                                             "lstm infer lengths float64", "lstm train", "lstm train float64"]
    assert _choice() == "cpu" and cpu_pkg.auto_table_status()["source"] == str(cache)
    # a second calibration replaces the first for the thread counts it measures, run log included
    calibrate.calibrate([2], on_case=lambda *a: None, command="again")
    table = json.loads(cache.read_text())
    # the table and lengths, in float32 and float64
    assert [r.split(" (")[0] for r in table["measured"]["2"]] == ["again"] * 4
    assert [r.split(" (")[0] for r in table["narrow_measured"]["2"]] == ["again"]
    assert [r.split(" (")[0] for r in table["measured"]["1"]] == ["test"] * 4  # 1 thread: kept
    # float64 points alone, the rest kept
    monkeypatch.setattr(calibrate, "measure_table", lambda reps, budget, on_case, lengths, dtype: (
        {calibrate.dtype_key("gru train" + (" lengths" if lengths else ""), dtype): [[0.0, 1.2, 1.0]]}
        if dtype == torch.float64 else pytest.fail("float64 only")))
    calibrate.calibrate([1], on_case=lambda *a: None, command="f64", float64_only=True)
    table = json.loads(cache.read_text())
    assert {"gru train float64", "gru train lengths float64", "lstm train"} <= set(table["threads"]["1"])
    assert table["measured"]["1"][-1].startswith("f64") and len(table["measured"]["1"]) == 6


def test_the_calibrate_command_shows_and_rejects_bad_thread_counts(tables, capsys):
    assert main(["calibrate", "--show"]) == 0
    out = capsys.readouterr().out
    assert "plain calls go to torch.nn" in out and machine.describe() in out
    for bad in ("x", "0", ","):
        with pytest.raises(SystemExit, match="--threads"):
            main(["calibrate", "--threads", bad])


def test_the_calibrate_command_measures_writes_and_says_what_won(tables, monkeypatch, capsys):
    _, cache = tables
    ratios = iter([2.0, 0.9])

    def fake_table(reps, budget, on_case, lengths=False, dtype=torch.float32):
        assert reps == 3
        if dtype == torch.float64:
            return {}
        if lengths:
            on_case("lstm infer lengths a", 3.0)
            return {"lstm infer lengths": [[0.0, 3.0, 1.0]]}
        for label in ("lstm train a", "lstm infer a"):
            on_case(label, next(ratios))
        return {"lstm train": [[0.0, 2.0, 1.0]], "lstm infer": [[0.0, 0.9, 1.0]]}

    monkeypatch.setattr(calibrate, "measure_table", fake_table)
    monkeypatch.setattr(calibrate, "measure_grid", lambda on_case: pytest.fail("--no-grid measures no grid"))
    assert main(["calibrate", "--threads", "1", "--reps", "3", "--no-grid"]) == 0
    out = capsys.readouterr().out
    assert "measured 3 cases" in out and "ahead of torch.nn in 2;" in out and str(cache) in out
    assert json.loads(cache.read_text())["threads"]["1"]["lstm infer"] == [[0.0, 0.9, 1.0]]
    assert _choice(grad=True) == "cpu" and _choice(grad=False) == "torch"  # auto follows the new table


def test_float64_calls_follow_the_tables_float64_keys_and_else_go_to_torch(tables):
    """A float32 point says nothing of a float64 call (measured on a Zen 4:
    the engine led float32 GRU inference and ran float64's at 0.62-0.83x
    torch.nn's speed), so a full-length float64 call is judged by the
    table's float64 points, and goes to torch.nn where it has none."""
    shipped, _ = tables
    table = _table(HERE, 3.0)  # float32 points only: the engine 3x ahead
    path = shipped / "here.json"
    path.write_text(json.dumps(table))
    cells, spec = [lstmkit.cells.GRUCell(8, 32)], kernels.RecurrenceSpec(kind="gru")
    x32, x64 = torch.randn(10, 4, 8), torch.randn(10, 4, 8, dtype=torch.float64)
    cells64 = [lstmkit.cells.GRUCell(8, 32).double()]
    with torch.no_grad():
        assert kernels.select_backend(x32, spec, cells, None).name == "cpu"
        assert kernels.select_backend(x64, spec, cells64, None).name == "torch"
        why = kernels.load_backend("cpu").auto_declines(x64, spec, cells64, None)
        assert "float64" in why and "calibrate" in why
    # with float64 points: the engine where they say so, torch.nn where they do not
    table["threads"]["1"]["gru infer float64"] = [[0.0, 0.6, 1.0]]
    table["threads"]["1"]["gru train float64"] = [[0.0, 1.5, 1.0]]
    path.write_text(json.dumps(table))
    cpu_pkg.reload_auto_table()
    with torch.no_grad():
        assert kernels.select_backend(x64, spec, cells64, None).name == "torch"
        assert "0.60x" in kernels.load_backend("cpu").auto_declines(x64, spec, cells64, None)
    assert kernels.select_backend(x64.requires_grad_(), spec, cells64, None).name == "cpu"
    # with lengths: inference by the float64 lengths points, else torch.nn; training on the engine
    lengths = torch.tensor([10, 7, 5, 2])
    x64 = x64.detach()
    with torch.no_grad():
        assert kernels.select_backend(x64, spec, cells64, lengths).name == "torch"
        table["threads"]["1"]["gru infer lengths float64"] = [[0.0, 1.4, 1.0]]
        path.write_text(json.dumps(table))
        cpu_pkg.reload_auto_table()
        assert kernels.select_backend(x64, spec, cells64, lengths).name == "cpu"
    assert kernels.select_backend(x64.requires_grad_(), spec, cells64, lengths).name == "cpu"


def test_calls_with_lengths_follow_the_tables_lengths_keys_where_it_has_them(tables):
    """torch.nn packs a call with lengths; the engine masks. Where the table
    measured such calls, auto follows it; where it did not (another key, no
    table for this machine), the engine keeps them."""
    shipped, _ = tables
    table = _table(HERE, 3.0)
    table["threads"]["1"]["lstm infer lengths"] = [[0.0, 0.8, 1.0]]
    (shipped / "here.json").write_text(json.dumps(table))
    cells, x = [lstmkit.cells.LSTMCell(8, 32)], torch.randn(10, 4, 8)
    lengths, spec = torch.tensor([10, 9, 5, 2]), kernels.RecurrenceSpec(kind="lstm")
    with torch.no_grad():
        assert kernels.select_backend(x, spec, cells, lengths).name == "torch"
        why = kernels.load_backend("cpu").auto_declines(x, spec, cells, lengths)
        assert "packed" in why and "0.80x" in why and "lstm infer lengths" in why
        assert kernels.select_backend(x, spec, cells, None).name == "cpu"  # the full-length key: 3.0x
    assert kernels.select_backend(x, spec, cells, lengths).name == "cpu"  # training with lengths: not measured
    # the packed call auto now makes gives the reference loop's outputs
    layer = lstmkit.LSTM(8, 32)
    ref = lstmkit.LSTM(8, 32, backend="reference")
    ref.load_state_dict(layer.state_dict())
    with torch.no_grad():
        torch.testing.assert_close(layer(x, lengths=lengths)[0], ref(x, lengths=lengths)[0], rtol=1e-5, atol=1e-6)
