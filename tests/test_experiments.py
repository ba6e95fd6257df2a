"""Small versions of the experiments: the tasks' data, the 0.04 rule, gradients by lag, the full-stop statistic."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from explain_models import full_stop_lm

from lstmkit.explain.experiments.full_stop import boundary_mask, forget_gate_at_boundaries
from lstmkit.explain.experiments.long_lag import run_long_lag, evaluate_model, train_model
from lstmkit.explain.experiments.long_lag_tasks import (adding_batch, adding_wrong, set_seed_generator,
                                                        temporal_order_batch)
from lstmkit.explain.experiments.sequence_model import build
from lstmkit.explain.experiments.vanishing import gradient_by_lag, run_vanishing
from lstmkit.explain.traces import Traces


def test_adding_batch_follows_the_paper():
    x, y = adding_batch(500, 40, set_seed_generator(0))
    values, markers = x[..., 0], x[..., 1]
    assert x.shape == (500, 40, 2) and (markers.sum(1) == 2).all()
    assert values.min() >= -1 and values.max() <= 1
    first = markers.argmax(1)
    assert (first < 10).all()
    second = 39 - markers.flip(1).argmax(1)
    assert (second < 40 // 2).all()
    torch.testing.assert_close(y, 0.5 + (values * markers).sum(1) / 4)
    assert (0 <= y).all() and (y <= 1).all()


def test_the_004_rule_on_hand_made_predictions():
    target = [0.5, 0.5, 0.5, 0.5, 0.5]
    pred = [0.5, 0.539, 0.46 + 1e-9, 0.54, 0.7]  # errors 0, 0.039, just under 0.04, 0.04, 0.2
    assert adding_wrong(pred, target) == 2
    assert adding_wrong(pred, target, tolerance=0.3) == 0
    with pytest.raises(ValueError, match="same length"):
        adding_wrong([0.1], [0.1, 0.2])


def test_temporal_order_batch():
    x, lengths, cls = temporal_order_batch(300, 30, set_seed_generator(1))
    sym = x.argmax(-1)
    assert x.shape == (300, 40, 8) and ((lengths >= 30) & (lengths <= 40)).all()
    start = 40 - lengths
    rows = torch.arange(300)
    assert (sym[rows, start] == 5).all() and (sym[:, -1] == 4).all()  # E first, B last
    assert (x.sum(-1) == (torch.arange(40)[None] >= start[:, None])).all()  # zero padding before E
    xy = [(s[(s == 6) | (s == 7)] - 6).tolist() for s in sym]
    assert all(len(p) == 2 for p in xy)
    assert [p[0] * 2 + p[1] for p in xy] == cls.tolist()
    assert set(cls.tolist()) == {0, 1, 2, 3}
    t1 = torch.tensor([int(torch.nonzero(s >= 6)[0]) for s in sym]) - start
    assert ((t1 >= 3) & (t1 <= 6)).all()


def test_lstm_learns_a_short_adding_problem_and_counts_wrong_by_the_rule():
    model = build("lstm", 2, 16, 1, seed=0, init="forget1")
    before, _ = evaluate_model(model, "adding", 20, 256)
    losses = train_model(model, "adding", 20, steps=250, lr=1e-2, log_every=25)
    after, mse = evaluate_model(model, "adding", 20, 256)
    assert losses[-1] < 0.3 * losses[0]
    assert after < before and after < 256 * 0.5
    x, y = adding_batch(256, 20, set_seed_generator(10_000))  # the test set of seed 0
    with torch.no_grad():
        assert adding_wrong(model(x)[:, 0], y) == after
    res = run_long_lag("temporal_order", 20, cells=("lstm",), hidden_size=16, steps=150, test_size=256, init="forget1")
    assert res[0].wrong < 256 * 0.5 and res[0].losses[-1] < res[0].losses[0]  # chance: 3/4 wrong


def test_gradient_by_lag_matches_autograd_one_step_at_a_time():
    model = build("gru", 2, 8, 1, seed=0)
    x, y = adding_batch(4, 15, set_seed_generator(3))
    g = gradient_by_lag(model, x, y)
    k = 6
    norms = []
    for b in range(4):
        xb = x[b : b + 1].clone().requires_grad_(True)
        loss = ((model(xb)[:, 0] - y[b]) ** 2).sum()
        (grad,) = torch.autograd.grad(loss, xb)
        norms.append(grad[0, 14 - k].norm())
    assert g[k] == pytest.approx(float(torch.stack(norms).mean()), rel=1e-5)


def test_rnn_gradient_vanishes_faster_than_lstm_at_initialisation():
    res = {(r.cell, r.stage): np.asarray(r.norms) for r in run_vanishing(T=40, hidden_size=16, train_steps=5)}
    assert set(res) == {(c, s) for c in ("rnn", "gru", "lstm") for s in ("init", "trained")}
    decay = {c: res[c, "init"][39] / res[c, "init"][0] for c in ("rnn", "lstm")}
    assert decay["rnn"] < 1e-2 * decay["lstm"]
    assert all(len(v) == 40 and (v >= 0).all() for v in res.values())


def test_boundary_mask():
    toks = list("Hi. Mr.X is here.\nOk? 3.5")
    m = boundary_mask(toks)
    assert [i for i, v in enumerate(m) if v] == [2, 16, 20]


def test_full_stop_statistic_by_hand():
    rng = np.random.default_rng(0)
    toks = list("Bob is a nice person. Dan, on the other hand, is evil. " * 6)
    mask = boundary_mask(toks)
    f = rng.uniform(0.6, 0.9, size=(len(toks), 3))
    f[mask, 0] = 0.1  # unit 0 forgets at the full stop
    res = forget_gate_at_boundaries(Traces(toks, [[{"f": f}]]), permutations=300)
    a, b = f.mean(1)[mask], f.mean(1)[~mask]
    assert (res.boundary_steps, res.other_steps) == (12, len(toks) - 12)
    assert res.difference == pytest.approx(a.mean() - b.mean())
    se = np.sqrt(a.var(ddof=1) / len(a) + b.var(ddof=1) / len(b))
    assert res.welch_t == pytest.approx((a.mean() - b.mean()) / se)
    assert res.p_permutation < 0.01 and res.top_units[0]["unit"] == 0
    with pytest.raises(ValueError, match="at least 2 sentence-boundary steps"):
        forget_gate_at_boundaries(Traces(list("no stop here"), [[{"f": np.ones((12, 2))}]]))


def test_full_stop_on_a_model_wired_to_forget_at_the_full_stop():
    lm = full_stop_lm()
    text = "Bob is a nice person. Dan, on the other hand, is evil. Ann sings. Tom is late. "
    tr = lm.gate_traces(text)
    assert tr.labels == list(text)
    res = forget_gate_at_boundaries(tr, permutations=200)
    assert res.f_boundary < 1e-3 and res.f_other > 0.99
    assert res.difference < -0.98 and res.units_lower_at_boundary == 4 and res.p_permutation < 0.01


@pytest.mark.slow
def test_run_experiments_smoke_writes_every_section(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    if not (root.parent / "shared" / "data" / "tinyshakespeare").is_dir():
        pytest.skip("shared Tiny Shakespeare data not found")
    results = tmp_path / "R.md"
    r = subprocess.run([sys.executable, str(root / "benchmarks" / "run_experiments.py"), "--size", "smoke", "--out",
                        str(tmp_path / "out"), "--results", str(results)], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    text = results.read_text()
    for heading in ("1. Vanishing gradients", "2a. The adding problem", "2b. Temporal order", "3. Forgetting at the full stop"):
        assert heading in text
    assert "lstmkit experiment full-stop --model" in text


def test_full_stop_on_a_tiny_trained_shakespeare_model(tmp_path, shared_data, capsys):
    import json

    from lstmkit.cli.main import main
    from lstmkit.config import replace
    from lstmkit import LanguageModel
    from lstmkit.tasks.lm.config import LMConfig
    from lstmkit.tasks.lm.corpus import read_text, split_text
    from lstmkit.tasks.lm.run_folder import train_run

    path = shared_data / "tinyshakespeare" / "input.txt"
    cfg = replace(LMConfig(), **{
        "data.path": str(path), "data.max_chars": 20000, "model.hidden_size": 16, "model.num_layers": 1,
        "model.dropout": 0.0, "model.output_dropout": 0.0, "bptt.length": 32, "train.batch_size": 16,
        "train.epochs": 1, "train.lr": 1e-2, "train.progress_bar": False, "train.num_threads": 1,
        "train.early_stopping": 0, "run.sample_length": 0, "run.out_dir": str(tmp_path / "lm")})
    run = train_run(cfg)
    out = tmp_path / "fs"
    assert main(["experiment", "full-stop", "--model", str(run.out / "model"), "--max-chars", "1500",
                 "--permutations", "100", "--out", str(out)]) == 0
    d = json.loads((out / "full_stop.json").read_text())
    text = split_text(read_text(path, 20000), 0.1)[1][:1500]  # the validation part of the model's data
    assert d["characters"] == len(text) and d["boundary_steps"] == int(boundary_mask(list(text)).sum())
    f = LanguageModel.load(run.out / "model").gate_traces(text).values(0, "f").mean(1)
    m = boundary_mask(list(text))
    assert d["f_boundary"] == pytest.approx(f[m].mean(), abs=1e-6) and d["f_other"] == pytest.approx(f[~m].mean(), abs=1e-6)
    assert 0 < d["p_permutation"] <= 1 and d["units"] == 16
