"""lstmkit.Translator on a small made-up language pair: fit, translate, evaluate, save/load, report, gates."""

from __future__ import annotations

import json

import numpy as np
import pytest
from translate_toy import TINY, toy_pairs, write_toy_tsv

import lstmkit
from lstmkit.tasks.estimator import NotFittedError
from lstmkit.tasks.translate.estimator import Translator
from lstmkit.tasks.translate.pairs import source_key


@pytest.fixture(scope="module")
def fitted():
    return Translator(**TINY).fit(toy_pairs())


def test_fit_learns_the_toy_language_and_reports_every_part(fitted):
    res = fitted.results_["lstm"]
    assert res["beam"]["bleu"] > 50 and res["greedy"]["bleu"] > 50  # word-for-word is learnable in 20 epochs
    assert res["beam"]["sentences"] == fitted.split_["test_sources"] > 0
    assert fitted.split_["train_pairs"] + fitted.split_["dev_pairs"] + fitted.split_["test_pairs"] == len(toy_pairs())
    assert "sha256" in fitted.split_["rule"]
    test = {source_key(s) for s in fitted.test_pairs_.sources}
    assert len(fitted.test_translations_) == len(test)
    assert res["epochs"] == 20 and res["parameters"] == fitted.model_.num_parameters()


def test_translate_evaluate_and_the_beam_argument(fitted):
    out = fitted.translate(["The big cat runs .", "Two red birds ."])
    assert len(out) == 2 and all(isinstance(t, str) and t for t in out)
    assert fitted.translate("The dog sleeps .") == fitted.translate(["The dog sleeps ."])
    greedy = fitted.evaluate(beam=1)
    assert greedy["bleu"] == fitted.results_["lstm"]["greedy"]["bleu"] and greedy["part"] == "test"
    ev = fitted.evaluate(toy_pairs(60, seed=5), return_translations=True)
    assert ev["part"] == "all" and len(ev["translations"]) == ev["sentences"] and ev["beam"] == 3
    with pytest.raises(ValueError, match="expected beam >= 1"):
        fitted.translate(["x"], beam=0)
    with pytest.raises(ValueError, match="expected part in"):
        fitted.evaluate(part="validation")


def test_unknown_words_are_read_as_unk_and_stated(fitted, task_log):
    # task_log, not caplog: caplog misses the line once a command-line test in the session stopped propagation
    tr = list(fitted.translate_iter(["The zebra runs .", "The cat runs ."]))
    assert tr[0].unknown == 1 and tr[1].unknown == 0
    fitted.translate(["The zebra and the gnu run ."])
    assert any("unknown to the model" in line and "4 source token" in line for line in task_log.text.splitlines())


def test_save_and_load_give_identical_translations(fitted, tmp_path):
    path = fitted.save(tmp_path / "model")
    assert {p.name for p in path.iterdir()} >= {"model.safetensors", "config.json", "source_tokenizer.json",
                                               "target_tokenizer.json"}
    loaded = Translator.load(path)
    sentences = ["The big cat runs .", "Two red birds .", "A small dog eats ."]
    for beam in (1, 3):
        assert loaded.translate(sentences, beam=beam) == fitted.translate(sentences, beam=beam)
    assert isinstance(lstmkit.load(path), Translator)
    again = loaded.evaluate(toy_pairs(60, seed=5))
    assert again["bleu"] == fitted.evaluate(toy_pairs(60, seed=5))["bleu"]
    assert loaded.results_["lstm"]["beam"]["bleu"] == fitted.results_["lstm"]["beam"]["bleu"]
    assert loaded.get_params() == fitted.get_params()


def test_alignments_report_and_gate_traces(fitted, tmp_path):
    al = fitted.alignments(["The big cat runs ."])[0]
    w = np.asarray(al["weights"])
    assert w.shape == (len(al["target_tokens"]), len(al["source_tokens"])) and al["target_tokens"][-1] == "<eos>"
    np.testing.assert_allclose(w.sum(1), 1.0, atol=1e-5)
    report = fitted.report(tmp_path / "r" / "report.html", sentences=["The big cat runs .", "Red dog ."])
    html = report.read_text()
    assert "Split by source sentence" in html and "LSTM with attention" in html and "data:image/png" in html
    data = json.loads((tmp_path / "r" / "alignments.json").read_text())
    assert [d["source"] for d in data] == ["The big cat runs .", "Red dog ."]
    assert (tmp_path / "r" / "plots" / "alignment_1.png").is_file()

    g = fitted.gate_traces("The big cat runs .")
    enc, dec = g["encoder"], g["decoder"]
    assert enc.num_directions == 2 and enc.labels == g["source_tokens"] and enc.values(0, "f").shape == (5, 16)
    assert dec.num_directions == 1 and dec.labels == g["target_tokens"] and dec.values(0, "h").shape == (len(dec.labels), 32)
    for t in (enc, dec):
        f = t.values(0, "f")
        assert f.min() >= 0 and f.max() <= 1
    assert g["translation"] == fitted.translate("The big cat runs .")[0]


def test_baselines_are_trained_on_the_same_split_and_reported(tmp_path):
    tr = Translator(**{**TINY, "epochs": 2, "baselines": ["no-attention", "transformer"]}).fit(toy_pairs(150))
    assert set(tr.results_) == {"lstm", "no-attention", "transformer"}
    for r in tr.results_.values():
        assert r["epochs"] == 2 and r["beam"]["sentences"] == tr.split_["test_sources"]
    assert set(tr.baselines_) == {"no-attention", "transformer"}
    html = tr.report(tmp_path / "report.html").read_text()
    assert "Transformer" in html and "LSTM without attention" in html and "baseline" in html


def test_time_budget_stops_training():
    tr = Translator(**{**TINY, "epochs": 500, "max_minutes": 0.02}).fit(toy_pairs(150))
    r = tr.results_["lstm"]
    assert r["stopped_by_time_limit"] and r["epochs"] < 500 and r["train_seconds"] < 30


def test_time_limit_and_warmup_continue_from_the_checkpoint_on_resume():
    """The budget counts the time before the checkpoint; the warm-up follows the trainer's step count."""
    import time
    from types import SimpleNamespace

    import torch

    from lstmkit.tasks.translate.training import WarmupInverseSqrt
    from lstmkit.train.time_budget import TimeBudget

    limit = TimeBudget(1.0)
    limit.on_train_start(SimpleNamespace(optimizers=[]), None)
    limit.start = time.perf_counter() - 50.0
    limit.slowest_epoch = 4.0
    resumed = TimeBudget(1.0)
    resumed.load_state_dict(limit.state_dict())
    resumed.on_train_start(SimpleNamespace(optimizers=[]), None)
    trainer = SimpleNamespace(should_stop=False)
    resumed.on_train_epoch_start(trainer, None)
    resumed.epoch_start -= 1.0
    resumed.on_train_epoch_end(trainer, None)  # 51 s spent in all, epochs of 4 s: 55 s, still within a minute
    assert trainer.should_stop is False and resumed.elapsed() >= 50.0
    resumed.start -= 6.0  # 57 s: the next epoch would overrun
    resumed.on_train_epoch_end(trainer, None)
    assert trainer.should_stop is True and resumed.stopped

    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    warm = WarmupInverseSqrt(lr=1.0, warmup=10)
    warm.on_train_batch_start(SimpleNamespace(optimizers=[opt], global_step=39), None, None, 0)  # a resumed fit
    assert opt.param_groups[0]["lr"] == pytest.approx(0.5)  # step 40 of the schedule, not step 1 again


def test_budget_decay_falls_linearly_to_zero_with_the_time_spent_resume_included():
    from types import SimpleNamespace

    import torch

    from lstmkit.train.time_budget import TimeBudget

    limit = TimeBudget(2.0, anneal=True, floor=0.0, shape="linear")
    limit.load_state_dict({"elapsed": 30.0, "base_lrs": [0.004]})  # a resumed fit: a quarter of the budget was spent
    opt = torch.optim.Adam([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    trainer = SimpleNamespace(optimizers=[opt])
    limit.on_train_batch_start(trainer, None, None, 0)
    assert opt.param_groups[0]["lr"] == pytest.approx(0.003, rel=1e-3)
    limit.load_state_dict({"elapsed": 150.0, "base_lrs": [0.004]})  # past the budget: zero, never negative
    limit.on_train_batch_start(trainer, None, None, 0)
    assert opt.param_groups[0]["lr"] == 0.0
    with pytest.raises(ValueError, match="expected shape in"):
        TimeBudget(1.0, shape="step")


@pytest.mark.parametrize("anneal, minutes", [(True, 5.0), (False, 5.0), (True, 0.0)])
def test_anneal_replaces_the_schedule_and_early_stopping_only_under_a_budget(monkeypatch, anneal, minutes):
    from types import SimpleNamespace

    import torch

    import lstmkit.train
    from lstmkit.tasks.translate import training
    from lstmkit.tasks.translate.config import TranslateConfig
    from lstmkit.tasks.translate.training import train_model
    from lstmkit.train.time_budget import TimeBudget

    seen = {}

    def fake_fit(model, step, train, val, config, callbacks=(), **kw):
        seen.update(config=config, callbacks=list(callbacks))
        return SimpleNamespace(epochs=1, seconds=0.0, best_score=None, history=[])

    monkeypatch.setattr(lstmkit.train, "fit", fake_fit)
    monkeypatch.setattr(training, "_warm_up", lambda model, data: None)
    n = 4
    enc = SimpleNamespace(src=torch.ones(n, 3, dtype=torch.long), src_len=torch.full((n,), 3), tgt_len=torch.full((n,), 2),
                          tgt_in=torch.ones(n, 2, dtype=torch.long), tgt_out=torch.ones(n, 2, dtype=torch.long))
    config = TranslateConfig().train
    train_model("lstm", torch.nn.Linear(2, 2), enc, enc, config, label_smoothing=0.1, max_minutes=minutes, anneal=anneal)
    decays = [c for c in seen["callbacks"] if isinstance(c, TimeBudget) and c.anneal]
    if anneal and minutes:
        assert len(decays) == 1 and seen["config"].schedule == "none" and seen["config"].early_stopping == 0
    else:  # no budget to anneal over, or not asked: the configured schedule and early stopping
        assert not decays and seen["config"].schedule == config.schedule == "plateau"
        assert seen["config"].early_stopping == config.early_stopping > 0


def test_file_input_bad_lines_and_parts(tmp_path):
    bad = write_toy_tsv(tmp_path / "bad.tsv", 150, extra_lines=["no tab here", "Hello .\t"])
    with pytest.raises(ValueError, match=r"bad\.tsv: line 6: expected two columns"):
        Translator(**TINY).fit(bad)
    tr = Translator(**{**TINY, "epochs": 2, "skip_bad_lines": True}).fit(bad)
    assert tr.split_["data"]["skipped_malformed"] == 2
    # evaluate on the file by the model's own split = the test part held out by fit
    assert tr.evaluate(bad, part="test")["bleu"] == tr.results_["lstm"]["beam"]["bleu"]
    latin = tmp_path / "latin.tsv"
    latin.write_bytes("Go .\tVa !\nHe went .\tIl est allé .\n".encode("latin-1"))
    with pytest.raises(ValueError, match=r"latin\.tsv: line 2: expected UTF-8"):
        Translator(**TINY).fit(latin)


def test_explicit_dev_and_test_parts_are_used_as_given():
    pairs = toy_pairs()
    tr = Translator(**{**TINY, "epochs": 1}).fit(pairs[:300], dev=pairs[300:400], test=pairs[400:])
    assert tr.split_["dev_pairs"] == 100 and tr.split_["test_pairs"] == len(pairs) - 400
    assert tr.split_["train_pairs"] == 300 and tr.split_["test_fraction"] == "given"


def test_not_fitted_params_and_missing_default_data(monkeypatch):
    tr = Translator(beam=2, attention="additive")
    assert tr.get_params()["beam"] == 2 and tr.config.model.attention == "additive"
    with pytest.raises(NotFittedError):
        tr.translate(["x"])
    with pytest.raises(ValueError, match="unknown parameter 'beams'"):
        Translator(beams=2)
    from lstmkit.tasks.translate import estimator

    monkeypatch.setattr(estimator, "DEFAULT_DATA", estimator.DEFAULT_DATA.with_name("missing.tsv"))
    with pytest.raises(FileNotFoundError, match="--data FILE"):
        Translator(**TINY).fit()


def test_subword_tokens_split_unseen_words_into_known_pieces():
    tr = Translator(**{**TINY, "tokenizer": "bpe", "vocab_size": 80, "epochs": 1}).fit(toy_pairs(150))
    words = list(tr.translate_iter(["The catdog runs ."]))[0]
    chars = list(tr.translate_iter(["The ☃ runs ."]))[0]
    assert words.unknown == 0 and chars.unknown == 1  # only a never-seen character becomes <unk>


def test_evaluate_without_data_says_no_test_part_was_held_out():
    tr = Translator(**{**TINY, "epochs": 1, "test_fraction": 0}).fit(toy_pairs(40))
    with pytest.raises(ValueError, match=r"no data given and fit\(\) held out no test part \(test_fraction 0"):
        tr.evaluate()


def test_translate_and_evaluate_name_their_own_bad_arguments(tmp_path):
    tr = Translator(**{**TINY, "epochs": 1}).fit(toy_pairs(40))
    got = tr.translate(["The dog sleeps .", "  ", "", "The dog sleeps ."])
    assert got[1] == got[2] == "" and got[0] == got[3] == tr.translate("The dog sleeps .")[0]
    assert [t.unknown for t in tr.translate_iter(["", "  "])] == [0, 0]
    with pytest.raises(TypeError, match="Translator.translate: expected a sentence .* got NoneType"):
        tr.translate(None)
    with pytest.raises(ValueError, match="Translator.evaluate: expected beam >= 1, got 0"):
        tr.evaluate(toy_pairs(5), beam=0)
    tr.save(tmp_path / "t")
    with pytest.raises(ValueError, match="the test part fit\\(\\) held out of pairs in memory is not kept"):
        lstmkit.load(tmp_path / "t").evaluate()
