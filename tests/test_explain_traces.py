"""Gate traces, heatmaps, built-in properties and the unit search, on small layers and hand-made models."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from explain_models import TEXT, char_lm, save_char_lm

from lstmkit.explain.heatmap import plot_heatmap, plot_unit_lines
from lstmkit.explain.properties import (bracket_depth, inside_quotes, line_position, property_values, seasonal_phase,
                                        sentence_boundary)
from lstmkit.explain.traces import LayerInputRecorder, Traces, layer_traces
from lstmkit.explain.unit_search import correlations, rank_units
from lstmkit.nn import GRU, LSTM, RNN
from lstmkit.tasks.explain import load_explainable, read_series


@pytest.mark.parametrize("cls,names", [(LSTM, ("i", "f", "g", "o", "c", "h")), (GRU, ("r", "z", "n", "h")), (RNN, ("h",))])
@pytest.mark.parametrize("batch_first", [True, False])
def test_layer_traces_match_the_layer(cls, names, batch_first):
    layer = cls(3, 5, num_layers=2, batch_first=batch_first)
    x = torch.randn(2, 7, 3) if batch_first else torch.randn(7, 2, 3)
    tr = layer_traces(layer, x, index=1)
    assert tr.names == names and tr.num_layers == 2 and tr.labels == [str(t) for t in range(7)]
    out = layer(x)[0]
    top_h = out[1] if batch_first else out[:, 1]
    np.testing.assert_allclose(tr.values(1, "h"), top_h.detach().numpy(), rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="expected a gate name"):
        tr.values(0, "q")
    with pytest.raises(ValueError, match=r"expected 7 labels"):
        layer_traces(layer, x, labels=["a"])


def test_lstm_gates_obey_the_cell_equations():
    tr = layer_traces(LSTM(4, 6, batch_first=True), torch.randn(1, 9, 4))
    i, f, g, o, c, h = (tr.values(0, k) for k in "ifgoc" + "h")
    c_prev = np.vstack([np.zeros((1, 6)), c[:-1]])
    np.testing.assert_allclose(c, f * c_prev + i * g, atol=1e-5)
    np.testing.assert_allclose(h, o * np.tanh(c), atol=1e-5)
    assert ((0 < f) & (f < 1)).all() and ((-1 <= g) & (g <= 1)).all()


def test_json_and_csv_files(tmp_path):
    tr = layer_traces(LSTM(2, 4, batch_first=True, bidirectional=True), torch.randn(1, 5, 2), labels=list("hello"))
    d = json.loads(tr.write_json(tmp_path / "t.json", units=[1, 3], names=["f", "c"]).read_text())
    assert d["labels"] == list("hello") and len(d["layers"]) == 2  # two directions
    assert d["layers"][1]["direction"] == 1 and d["layers"][0]["units"] == [1, 3]
    np.testing.assert_allclose(d["layers"][1]["f"], tr.values(0, "f", 1)[:, [1, 3]], atol=1e-6)
    rows = tr.write_csv(tmp_path / "t.csv", units=[0]).read_text().splitlines()
    assert rows[0] == "step,label,layer,direction,unit,i,f,g,o,c,h"
    assert len(rows) == 1 + 5 * 2  # steps x directions, one unit
    assert rows[1].startswith("0,h,0,0,0,")
    with pytest.raises(ValueError, match=r"expected units in \[0, 4\)"):
        tr.to_dict(units=[4])


def test_heatmap_and_unit_plot_write_pngs(tmp_path):
    import matplotlib.image as mpimg

    tr = layer_traces(LSTM(2, 6, batch_first=True), torch.randn(1, 30, 2), labels=list("ab.\n" * 7 + "xy"))
    p = plot_heatmap(tr, tmp_path / "h.png", units=[0, 2, 5], names=["f", "c"], max_steps=20)
    img = mpimg.imread(p)
    assert img.shape[0] > 100 and img[..., :3].std() > 0.05
    q = plot_unit_lines(tr, tmp_path / "u.png", 0, 1, prop=np.arange(30.0))
    assert q.stat().st_size > 2000


def test_text_properties_by_hand():
    toks = list('a "b(c)" d.\nxy')
    assert inside_quotes(toks).tolist() == [0, 0, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0]
    assert line_position(toks).tolist() == list(range(12)) + [0, 1]
    assert sentence_boundary(toks).tolist() == [0] * 10 + [1, 1, 0, 0]
    assert bracket_depth(toks).tolist() == [0, 0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0]
    assert bracket_depth(list("((a)b)")).tolist() == [1, 2, 2, 2, 1, 1]
    np.testing.assert_allclose(seasonal_phase(5, 4), [1, 0, -1, 0, 1], atol=1e-12)
    np.testing.assert_allclose(property_values("seasonal_phase_sin", ["0"] * 4, period=4), [0, 1, 0, -1], atol=1e-12)
    with pytest.raises(ValueError, match="needs a period"):
        property_values("seasonal_phase", toks)
    with pytest.raises(ValueError, match="expected a property in"):
        property_values("sarcasm", toks)


def test_correlations_and_ranking_find_a_planted_unit():
    rng = np.random.default_rng(0)
    toks = list(TEXT * 3)
    prop = inside_quotes(toks)
    h = rng.normal(size=(len(toks), 12))
    h[:, 7] = -2 * prop + 0.1 * rng.normal(size=len(toks))  # unit 7 tracks quotes, with the opposite sign
    c = rng.normal(size=(len(toks), 12))
    for u in (0, 7):
        assert correlations(h, prop)[u] == pytest.approx(np.corrcoef(h[:, u], prop)[0, 1], abs=1e-12)
    tr = Traces(toks, [[{"c": c, "h": h}]])
    best = rank_units(tr, prop, top=3)
    assert (best[0].unit, best[0].name) == (7, "h") and best[0].r < -0.95
    assert abs(best[1].r) < 0.3 and len(best) == 3
    assert correlations(np.ones((5, 2)), np.arange(5.0)).tolist() == [0.0, 0.0]
    with pytest.raises(ValueError, match="constant"):
        rank_units(tr, np.zeros(len(toks)))


def test_recorder_gives_what_the_model_fed_its_lstm():
    model, tok = char_lm()
    ids = torch.tensor([tok.encode(TEXT)])
    with LayerInputRecorder(model.lstm) as rec, torch.no_grad():
        model(ids)
    assert rec.args[0].shape == (1, len(TEXT), model.config.embedding_dim)
    torch.testing.assert_close(rec.args[0], model.embedding(ids))
    assert not model.lstm._forward_pre_hooks  # removed on exit


def test_load_explainable_lm_traces_equal_the_networks_own_gates(tmp_path):
    from lstmkit import LanguageModel

    d = save_char_lm(tmp_path / "lm")
    ex = load_explainable(d)  # opened through the registry: the estimator's explain_target
    assert (ex.kind, ex.input_kind) == ("lm-lstm", "text") and isinstance(ex.estimator, LanguageModel)
    text = "Bob is nice. Dan~ is evil"  # '~' is not in the vocabulary: <unk> to the model
    tr = ex.trace(text)
    assert tr.labels == list(text) and tr.num_layers == 2
    net, tok = ex.estimator.model_, ex.estimator.tokenizer_
    assert ex.model is net and ex.layer is net.lstm
    with torch.no_grad():
        _, _, gates = net(torch.tensor([tok.encode(text)]), return_gates=True)
    for layer in (0, 1):
        for name in "ifgoch":
            np.testing.assert_allclose(tr.values(layer, name), gates[layer][0][name][0].numpy(), atol=1e-6)
    np.testing.assert_array_equal(ex.estimator.gate_traces(text).values(1, "c"), tr.values(1, "c"))
    with pytest.raises(ValueError, match="reads text"):
        ex.trace([1.0, 2.0])
    with pytest.raises(FileNotFoundError, match="expected a model folder"):
        load_explainable(tmp_path / "nothing")


def test_load_explainable_refuses_unknown_kinds_and_kinds_it_cannot_trace_yet(tmp_path, monkeypatch):
    import json

    from lstmkit.tasks import registry
    from lstmkit.train.checkpoint import ModelFolderError

    d = save_char_lm(tmp_path / "lm")
    meta = json.loads((d / "config.json").read_text())
    (d / "config.json").write_text(json.dumps({**meta, "kind": "no-such-kind"}))
    with pytest.raises(ModelFolderError, match="unknown model kind 'no-such-kind'"):
        load_explainable(d)
    # a registered kind whose estimator module does not exist (yet): one line
    monkeypatch.setitem(registry._ESTIMATORS, "no-such-kind", "lstmkit.tasks.nosuchtask.estimator:Nothing")
    with pytest.raises(ValueError, match="cannot be traced yet") as e:
        load_explainable(d)
    assert "\n" not in str(e.value)
    # an estimator without explain_target: refused before it opens the folder, naming the class
    monkeypatch.setitem(registry._ESTIMATORS, "no-such-kind", "lstmkit.tasks.estimator:Estimator")
    with pytest.raises(ValueError, match=r"cannot be traced yet: expected an estimator with explain_target\(\), "
                                         r"got lstmkit.tasks.estimator.Estimator without one") as e:
        load_explainable(d)
    assert "\n" not in str(e.value) and str(d) in str(e.value)


def test_read_series_from_numbers_and_csv(tmp_path):
    v, labels = read_series("1, 2 3")
    assert v.shape == (3, 1) and labels == ["0", "1", "2"]
    (tmp_path / "s.csv").write_text("time,value,label\n2020-01,1.5,0\n2020-02,2.5,1\n")
    v, labels = read_series(tmp_path / "s.csv")
    assert v[:, 0].tolist() == [1.5, 2.5] and labels == ["2020-01", "2020-02"]
    with pytest.raises(ValueError, match="expected a column 'x'"):
        read_series(tmp_path / "s.csv", "x")
