"""``lstmkit explain`` on a translation model: the encoder's and the decoder's gates (issue 18)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from translate_toy import TINY, toy_pairs

from lstmkit.cli.main import main
from lstmkit.tasks.explain import load_explainable
from lstmkit.tasks.translate.estimator import Translator
from lstmkit.tasks.translate.tokens import BOS_ID, EOS_ID, encode_sources, source_pieces

SENTENCE = "The big cat runs ."


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    """A tiny two-layer translator, fitted in-process for a few epochs and saved.

    Without word dropout: the decoder tests read the greedy translation of this seeded, barely trained
    model, and the units test needs one that has sentence ends and other tokens (this fit gives one)."""
    tr = Translator(**{**TINY, "encoder_layers": 2, "decoder_layers": 2, "hidden_size": 16, "embedding_size": 16,
                       "epochs": 3, "test_fraction": 0.0, "word_dropout": 0.0}).fit(toy_pairs(150))
    return tr.save(tmp_path_factory.mktemp("translate") / "model")


def test_encoder_trace_ends_where_the_encoder_does(model_dir):
    ex = load_explainable(model_dir)  # the default part: the encoder
    assert (ex.kind, ex.part, ex.input_kind) == ("translate-seq2seq", "encoder", "text")
    est = ex.estimator
    net = est.model_
    assert ex.layer is net.encoder
    tr = ex.trace(SENTENCE)
    assert tr.labels == source_pieces(est.source_tokenizer_, SENTENCE) and len(tr.labels) == 5
    assert (tr.num_layers, tr.num_directions, tr.hidden_size()) == (2, 2, 8) and tr.meta["part"] == "encoder"
    enc = encode_sources(est.source_tokenizer_, [SENTENCE])
    with torch.no_grad():
        memory = net.encode(enc.src, enc.src_len)
    out = memory["enc"][0].numpy()  # (S, H): top layer, forward then backward halves
    top = tr.num_layers - 1
    last = np.concatenate([tr.values(top, "h", 0)[-1], tr.values(top, "h", 1)[-1]])
    np.testing.assert_allclose(last, out[-1], atol=1e-5)  # the trace's final hidden is the encoder's last output
    np.testing.assert_allclose(tr.values(top, "h", 1), out[:, 8:], atol=1e-5)  # the backward half at every step
    # the bridge reads the forward direction's last and the backward direction's first state
    np.testing.assert_allclose(memory["h"][0].numpy(),
                               np.concatenate([tr.values(top, "h", 0)[-1], tr.values(top, "h", 1)[0]]), atol=1e-5)
    np.testing.assert_allclose(tr.values(0, "c"), est.gate_traces(SENTENCE)["encoder"].values(0, "c"), atol=1e-6)


def test_decoder_trace_equals_the_stepped_decoder(model_dir):
    ex = load_explainable(model_dir, part="decoder")
    est = ex.estimator
    net = est.model_
    assert ex.part == "decoder" and ex.layer is net.decoder and net.feeds  # input feeding: stepped, not run whole
    tr = ex.trace(SENTENCE)
    ids = est._decode(net, [SENTENCE], 1)[0].ids  # the greedy translation, stepped again by hand below
    assert tr.labels[-1] == "<eos>" and len(tr.labels) == len(ids) + 1 and tr.meta["part"] == "decoder"
    assert (tr.num_layers, tr.num_directions, tr.hidden_size()) == (2, 1, 16)
    enc = encode_sources(est.source_tokenizer_, [SENTENCE])
    hs, cs = [], []
    with torch.no_grad():
        memory = net.encode(enc.src, enc.src_len)
        state = net.start(memory)
        for prev in [BOS_ID] + ids:
            _, state, _ = net.step(memory, state, torch.tensor([prev]))
            hs.append(state["h"][0].numpy())
            cs.append(state["c"][0].numpy())
    for layer in range(2):
        np.testing.assert_allclose(tr.values(layer, "h"), np.stack(hs)[:, layer], atol=1e-5)
        np.testing.assert_allclose(tr.values(layer, "c"), np.stack(cs)[:, layer], atol=1e-5)
    stepped = est.gate_traces(SENTENCE, beam=1)["decoder"]  # the cells' own gates, one step at a time
    for name in tr.names:
        np.testing.assert_allclose(tr.values(1, name), stepped.values(1, name), atol=1e-5)
    assert EOS_ID not in ids


def test_explain_command_traces_the_decoder(model_dir, tmp_path, capsys):
    out = tmp_path / "dec"
    assert main(["explain", "--model", str(model_dir), "--text", SENTENCE, "--part", "decoder", "--out", str(out),
                 "--units", "0-3"]) == 0
    said = capsys.readouterr().out
    assert "translate-seq2seq decoder" in said
    data = json.loads((out / "traces.json").read_text())
    labels = load_explainable(model_dir, part="decoder").trace(SENTENCE).labels
    assert data["labels"] == labels and data["meta"]["part"] == "decoder"
    assert [e["layer"] for e in data["layers"]] == [0, 1] and len(data["layers"][0]["h"]) == len(labels)
    assert (out / "heatmap_layer0.png").stat().st_size > 1000 and (out / "heatmap_layer1.png").is_file()
    assert (out / "traces.csv").read_text().splitlines()[0] == "step,label,layer,direction,unit,i,f,g,o,c,h"
    enc_out = tmp_path / "enc"
    assert main(["explain", "--model", str(model_dir), "--text", SENTENCE, "--out", str(enc_out)]) == 0
    assert (enc_out / "heatmap_layer1_dir1.png").is_file()  # the encoder by default: both directions
    tok = Translator.load(model_dir).source_tokenizer_
    assert json.loads((enc_out / "traces.json").read_text())["labels"] == source_pieces(tok, SENTENCE)


def test_part_is_refused_where_it_does_not_apply(model_dir, tmp_path, capsys):
    from explain_models import save_char_lm

    lm = save_char_lm(tmp_path / "lm")
    assert main(["explain", "--model", str(lm), "--text", "hello", "--part", "decoder", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "--part" in err and "lm-lstm" in err and len(err.strip().splitlines()) == 1
    with pytest.raises(SystemExit):  # argparse: not a part
        main(["explain", "--model", str(model_dir), "--text", "hello", "--part", "middle"])
    with pytest.raises(ValueError, match=r"expected part in \('encoder', 'decoder'\), got 'middle'"):
        Translator.load(model_dir).explain_target(part="middle")


def test_units_and_the_explorer_page_on_the_decoder(model_dir, tmp_path, capsys):
    import urllib.request

    from lstmkit.explain.explorer import ExplorerServer, traces_info

    out = tmp_path / "units"
    assert main(["explain", "units", "--model", str(model_dir), "--text", "The cat . The dog runs .", "--part",
                 "decoder", "--property", "sentence_boundary", "--top", "3", "--out", str(out)]) == 0
    units = json.loads((out / "units.json").read_text())
    assert len(units["units"]) == 3 and units["steps"] == len(
        load_explainable(model_dir, part="decoder").trace("The cat . The dog runs .").labels)
    ex = load_explainable(model_dir, part="decoder")
    server = ExplorerServer(ex.trace, traces_info(ex.trace("Hello."), ex.title, ex.input_kind), port=0)
    server.start_background()
    try:
        with urllib.request.urlopen(server.url + "api/info", timeout=30) as r:
            info = json.loads(r.read())
        assert info["kind"] == "translate-seq2seq decoder" and info["directions"] == 1 and info["layers"] == 2
        req = urllib.request.Request(server.url + "api/trace", data=json.dumps({"text": SENTENCE, "layer": 1,
                                                                                "unit": 3}).encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")
        with urllib.request.urlopen(req, timeout=30) as r:
            res = json.loads(r.read())
        want = ex.trace(SENTENCE)
        assert res["labels"] == want.labels
        assert res["gates"]["h"] == pytest.approx(want.values(1, "h")[:, 3].tolist(), abs=1e-5)
    finally:
        server.shutdown()
        server.server_close()
