"""The translation networks: shapes, padding never changes an output, the decoder's two paths agree."""

from __future__ import annotations

import pytest
import torch

from lstmkit.tasks.translate.attention import Attention
from lstmkit.tasks.translate.config import ModelConfig, TransformerConfig
from lstmkit.tasks.translate.search import beam_search, greedy_search
from lstmkit.tasks.translate.seq2seq import Seq2SeqNet
from lstmkit.tasks.translate.transformer import TransformerNet, count_parameters, width_for

SV, TV = 40, 30


def _net(attention="multiplicative", feed=True, cell="lstm", layers=(2, 2), seed=0):
    torch.manual_seed(seed)
    cfg = ModelConfig(embedding_size=16, hidden_size=16, encoder_layers=layers[0], decoder_layers=layers[1],
                      attention=attention, input_feeding=feed, cell=cell, dropout=0.2)
    return Seq2SeqNet(SV, TV, cfg).eval()


def _transformer(seed=0):
    torch.manual_seed(seed)
    return TransformerNet(SV, TV, 32, TransformerConfig(layers=2, heads=4, dropout=0.1)).eval()


@pytest.mark.parametrize("attention", ["additive", "multiplicative", "none"])
@pytest.mark.parametrize("cell", ["lstm", "layernorm"])
def test_shapes_and_attention_weights(attention, cell):
    net = _net(attention, cell=cell)
    src, src_len = torch.randint(4, SV, (3, 7)), torch.tensor([7, 4, 2])
    with torch.no_grad():
        logits, w = net(src, src_len, torch.randint(4, TV, (3, 5)), return_attention=True)
    assert logits.shape == (3, 5, TV)
    if attention == "none":
        assert w is None
    else:
        assert w.shape == (3, 5, 7)
        torch.testing.assert_close(w.sum(-1), torch.ones(3, 5))
        assert float(w[1, :, 4:].abs().max()) == 0.0 and float(w[2, :, 2:].abs().max()) == 0.0  # padding gets none


def test_tied_embeddings_and_bad_input():
    net = _net()
    assert net.out.weight is net.tgt_emb.weight
    with pytest.raises(ValueError, match="expected src \\(B, S\\)"):
        net.encode(torch.randint(4, SV, (7,)), torch.tensor([7]))
    with pytest.raises(ValueError, match="tie_embeddings needs embedding_size == hidden_size"):
        ModelConfig(embedding_size=8, hidden_size=16)


def _padded_batch():
    """The probe sentence (5 tokens) alone, and in a batch beside longer and shorter ones."""
    torch.manual_seed(1)
    probe = torch.randint(4, SV, (5,))
    others = [torch.randint(4, SV, (n,)) for n in (9, 2)]
    src = torch.zeros(3, 9, dtype=torch.int64)
    src[0, :9], src[1, :5], src[2, :2] = others[0], probe, others[1]
    return probe.unsqueeze(0), torch.tensor([5]), src, torch.tensor([9, 5, 2])


@pytest.mark.parametrize("make", [lambda: _net("additive"), lambda: _net("multiplicative"),
                                  lambda: _net("none"), lambda: _net("multiplicative", feed=False), _transformer],
                         ids=["additive", "multiplicative", "no-attention", "no-feeding", "transformer"])
def test_padding_never_changes_outputs_or_translations(make):
    net = make()
    alone, alone_len, batch, batch_len = _padded_batch()
    tgt = torch.randint(4, TV, (3, 6))
    tgt[1, 4:] = 0  # the probe's target is padded too
    with torch.no_grad():
        a = net(alone, alone_len, tgt[1:2, :4])
        b = net(batch, batch_len, tgt)
    torch.testing.assert_close(b[1, :4], a[0], atol=1e-5, rtol=1e-5)
    ga = greedy_search(net, alone, alone_len, torch.tensor([8]))[0]
    gb = greedy_search(net, batch, batch_len, torch.tensor([8, 8, 8]))[1]
    ba = beam_search(net, alone, alone_len, 3, torch.tensor([8]))[0]
    bb = beam_search(net, batch, batch_len, 3, torch.tensor([8, 8, 8]))[1]
    assert ga.ids == gb.ids and ba.ids == bb.ids
    assert ga.logprob == pytest.approx(gb.logprob, abs=1e-4) and ba.score == pytest.approx(bb.score, abs=1e-4)


@pytest.mark.parametrize("make", [lambda: _net("additive", feed=False), lambda: _net("none"), _transformer],
                         ids=["attention", "no-attention", "transformer"])
def test_stepping_equals_the_whole_sequence_at_once(make):
    net = make()
    src, src_len = torch.randint(4, SV, (3, 6)), torch.tensor([6, 3, 1])
    tgt = torch.randint(4, TV, (3, 5))
    with torch.no_grad():
        whole = net(src, src_len, tgt)
        memory = net.encode(src, src_len)
        state = net.start(memory)
        steps = []
        for t in range(5):
            logits, state, _ = net.step(memory, state, tgt[:, t])
            steps.append(logits)
    torch.testing.assert_close(torch.stack(steps, 1), whole, atol=1e-5, rtol=1e-5)


def test_dropout_and_scheduled_sampling_only_in_training():
    net = _net()
    src, src_len, tgt = torch.randint(4, SV, (2, 4)), torch.tensor([4, 3]), torch.randint(4, TV, (2, 5))
    with torch.no_grad():
        a = net(src, src_len, tgt, teacher_forcing=0.0)  # eval: always the reference
        b = net(src, src_len, tgt)
    torch.testing.assert_close(a, b)
    net.train()
    out = net(src, src_len, tgt, teacher_forcing=0.5)
    out.sum().backward()
    assert net.decoder.cells[0].weight_ih.grad is not None


def test_word_dropout_zeroes_whole_embeddings_in_training_only():
    torch.manual_seed(0)
    cfg = ModelConfig(embedding_size=16, hidden_size=16, encoder_layers=1, dropout=0.0, word_dropout=0.5)
    net = Seq2SeqNet(SV, TV, cfg)
    plain = Seq2SeqNet(SV, TV, ModelConfig(embedding_size=16, hidden_size=16, encoder_layers=1, dropout=0.0))
    plain.load_state_dict(net.state_dict())
    ids = torch.randint(4, SV, (8, 50))
    net.train()
    x = net._embed(net.src_emb, ids)
    zeroed = (x == 0).all(-1)
    assert 0.3 < float(zeroed.float().mean()) < 0.7  # about half of the tokens, each whole
    torch.testing.assert_close(x[~zeroed], net.src_emb(ids)[~zeroed])  # the rest untouched, not rescaled
    net.eval(), plain.eval()
    src, src_len, tgt = torch.randint(4, SV, (2, 4)), torch.tensor([4, 3]), torch.randint(4, TV, (2, 5))
    with torch.no_grad():
        torch.testing.assert_close(net(src, src_len, tgt), plain(src, src_len, tgt))  # inference: every word read
    with pytest.raises(ValueError, match="word_dropout in \\[0, 1\\)"):
        ModelConfig(word_dropout=1.0)


def test_additive_attention_example_from_the_docstring():
    att = Attention("additive", 8, 6)
    mem, mask = torch.randn(2, 5, 6), torch.tensor([[1, 1, 1, 0, 0], [1] * 5]).bool()
    with torch.no_grad():
        ctx, w = att(torch.randn(2, 8), att.keys(mem), mem, mask)
    assert ctx.shape == (2, 6) and float(w[0, 3:].sum()) == 0.0
    with pytest.raises(ValueError, match="expected score in"):
        Attention("dot-product", 8, 6)


def test_transformer_is_sized_to_the_lstm_parameter_count():
    cfg = TransformerConfig(layers=2, heads=4, ffn_ratio=2)
    for d in (32, 64):
        assert count_parameters(SV, TV, d, cfg) == TransformerNet(SV, TV, d, cfg).num_parameters()
    lstm = Seq2SeqNet(2000, 2000, ModelConfig()).num_parameters()  # the default model on 2000-token vocabularies
    d = width_for(lstm, 2000, 2000, TransformerConfig())
    assert d % 32 == 0 and abs(count_parameters(2000, 2000, d, TransformerConfig()) - lstm) <= 0.05 * lstm
