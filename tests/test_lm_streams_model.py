"""Truncated BPTT streams, the carried state, and the language model itself."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from lstmkit.config import load_config
from lstmkit.data.tokenize import CharTokenizer
from lstmkit.tasks.lm.estimator import LanguageModel
from lstmkit.tasks.lm.config import LMConfig, ModelConfig
from lstmkit.tasks.lm.model import LMNet
from lstmkit.tasks.lm.streams import StreamChunks, TBPTTStep, batchify


def test_batchify_and_chunks_follow_the_docstring_example():
    ids = list(range(12))
    assert batchify(ids, 2).tolist() == [[0, 1, 2, 3, 4, 5], [6, 7, 8, 9, 10, 11]]
    assert batchify(list(range(13)), 2).shape == (2, 6)  # the 13th token is left out
    chunks = list(StreamChunks(ids, 2, 2))
    assert len(chunks) == len(StreamChunks(ids, 2, 2)) == 3
    assert [c[0].tolist() for c in chunks] == [[[0, 1], [6, 7]], [[2, 3], [8, 9]], [[4], [10]]]
    assert [c[1].tolist() for c in chunks] == [[[1, 2], [7, 8]], [[3, 4], [9, 10]], [[5], [11]]]
    assert [bool(c[2]) for c in chunks] == [True, False, False]
    with pytest.raises(ValueError, match="at least 2 tokens per stream"):
        batchify([1, 2, 3], 2)


def test_random_offsets_keep_the_length_and_the_order():
    ids = list(range(1000))
    chunks = StreamChunks(ids, 4, 10, random_offset=True, seed=3)
    starts = set()
    for _ in range(6):
        got = list(chunks)
        assert len(got) == len(chunks)  # Lightning relies on a fixed length
        x0 = got[0][0]
        starts.add(int(x0[0, 0]))
        for (x, y, first), (x2, _, _) in zip(got, got[1:]):
            assert x.shape == (4, 10) and torch.equal(y[:, :-1], x[:, 1:])
            assert torch.equal(x2[:, 0], y[:, -1])  # the next chunk continues each stream
        assert [bool(c[2]) for c in got] == [True] + [False] * (len(got) - 1)
    assert len(starts) > 1  # the borders moved between epochs


def _tiny_model(V, **kw):
    cfg = dict(hidden_size=12, num_layers=2, dropout=0.0, output_dropout=0.0)
    cfg.update(kw)
    return LMNet(V, ModelConfig(**cfg)).double()


def test_tbptt_step_carries_the_state_exactly():
    torch.manual_seed(0)
    V = 9
    model = _tiny_model(V).eval()
    ids = torch.randint(0, V, (3 * 25,))
    chunks = StreamChunks(ids, 3, 7)
    step = TBPTTStep()
    losses = [step(model, batch)["loss"] for batch in chunks]
    data = batchify(ids, 3)
    with torch.no_grad():
        logits, _ = model(data[:, :-1])
    full = F.cross_entropy(logits.transpose(1, 2), data[:, 1:], reduction="none")  # (B, L-1)
    for k, loss in enumerate(losses):
        assert float(loss.detach()) == pytest.approx(float(full[:, 7 * k : 7 * k + 7].mean()), rel=1e-9)
    assert not step.state[0].requires_grad  # detached: gradients stop at the chunk border
    # a new epoch starts from zeros again
    again = [step(model, batch)["loss"] for batch in chunks]
    assert float(again[0].detach()) == pytest.approx(float(losses[0].detach()), rel=1e-12)


def test_tbptt_gradients_stop_at_the_chunk_border():
    torch.manual_seed(0)
    model = _tiny_model(7)
    step = TBPTTStep()
    chunks = list(StreamChunks(torch.randint(0, 7, (40,)), 2, 5))
    step(model, chunks[0])["loss"].backward()  # the first chunk builds the state
    model.zero_grad()
    step(model, chunks[1])["loss"].backward()  # must not reach back into chunk 0's graph (no error)
    assert all(p.grad is not None for p in model.parameters())


def test_weight_tying_and_sizes():
    m = LMNet(50, ModelConfig(hidden_size=32, num_layers=1, dropout=0.0))
    assert m.tied and m.decoder.weight is m.embedding.weight
    untied = LMNet(50, ModelConfig(hidden_size=32, num_layers=1, dropout=0.0, tie_weights=False))
    assert untied.num_parameters() - m.num_parameters() == 50 * 32  # the shared matrix counted once
    proj = LMNet(50, ModelConfig(hidden_size=32, proj_size=16, num_layers=2))
    assert proj.embedding.weight.shape == (50, 16) and proj.tied
    logits, (h, c) = proj(torch.randint(0, 50, (3, 5)))
    assert logits.shape == (3, 5, 50) and h.shape == (2, 3, 16) and c.shape == (2, 3, 32)
    with pytest.raises(ValueError, match="tie_weights needs embedding_size equal to the LSTM output size"):
        ModelConfig(hidden_size=32, embedding_size=8)
    assert LMNet(50, ModelConfig(hidden_size=32, embedding_size=8, tie_weights=False)).embedding.weight.shape == (50, 8)


def test_dropout_variants_reach_the_lstm():
    m = LMNet(20, ModelConfig(hidden_size=8, num_layers=2, dropout=0.1, input_dropout=0.2, hidden_dropout=0.3,
                                      zoneout=0.05, cell="layernorm"))
    assert (m.lstm.dropout, m.lstm.input_dropout, m.lstm.hidden_dropout, m.lstm.zoneout) == (0.1, 0.2, 0.3, 0.05)
    assert m.lstm.kind == "layernorm"
    m.train()
    x = torch.randint(0, 20, (2, 6))
    assert not torch.equal(m(x)[0], m(x)[0])  # stochastic in training
    m.eval()
    assert torch.equal(m(x)[0], m(x)[0])


def test_forget_bias_reaches_every_layer():
    m = LMNet(10, ModelConfig(hidden_size=8, num_layers=3, forget_bias=1.0))
    for layer in range(3):
        assert torch.equal(getattr(m.lstm, f"bias_ih_l{layer}")[8:16], torch.ones(8))  # gate order i, f, g, o
        assert torch.equal(getattr(m.lstm, f"bias_hh_l{layer}")[8:16], torch.zeros(8))


def test_model_rejects_bad_ids():
    m = LMNet(10, ModelConfig(hidden_size=8, num_layers=1, dropout=0.0))
    with pytest.raises(ValueError, match=r"expected token ids in \[0, 10\), got values in \[0, 12\]"):
        m(torch.tensor([[0, 12]]))
    with pytest.raises(ValueError, match="shape \\(B, T\\)"):
        m(torch.tensor([1, 2]))


def test_save_load_round_trip_and_gate_traces(tmp_path):
    tok = CharTokenizer.train(["hello world\n"])
    m = LMNet(tok.vocab_size, ModelConfig(hidden_size=16, num_layers=2, dropout=0.0, backend="torch")).eval()
    LanguageModel.from_network(m, tok, context=tok.encode("\n")).save(tmp_path / "model")
    lm = LanguageModel.load(tmp_path / "model")
    loaded, tok2 = lm.model_, lm.tokenizer_
    assert loaded.tied and lm.context_ == tok.encode("\n") and tok2.encode("hello") == tok.encode("hello")
    assert lm.get_params()["backend"] == "torch" and loaded.lstm.backend == "torch"  # the trained choice is kept
    x = torch.tensor([tok.encode("hello world")])
    with torch.no_grad():
        assert torch.allclose(loaded(x)[0], m(x)[0], atol=1e-6)
    tr = lm.gate_traces("hello")  # torch's fused kernels give no gates: traced on 'auto', then put back
    assert loaded.lstm.backend == "torch"
    assert tr.labels == list("hello")
    assert tr.num_layers == 2 and set("ifgoch") <= set(tr.names)
    assert tr.values(1, "f").shape == (5, 16)
    assert bool(((tr.values(0, "f") > 0) & (tr.values(0, "f") < 1)).all())


def test_config_rejects_unknown_keys_and_bad_values():
    with pytest.raises(ValueError, match="unknown key"):
        load_config(LMConfig, None, {"model.hidden": "3"})
    with pytest.raises(ValueError, match="expected tokenizer in"):
        load_config(LMConfig, None, {"data.tokenizer": "bytes"})
    with pytest.raises(ValueError, match="BPTTConfig: expected length >= 1"):
        load_config(LMConfig, None, {"bptt.length": "0"})
    cfg = load_config(LMConfig, None, {"model.hidden_size": "64", "train.batch_size": "8"})
    assert cfg.model.hidden_size == 64 and cfg.train.batch_size == 8
