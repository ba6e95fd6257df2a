"""``lstmkit export`` and ``Estimator.export``: a tiny fitted model of every task, exported through the command
line, run in onnxruntime against its PyTorch network (and at another batch size), and the one-line refusals."""

from __future__ import annotations

import json
import numpy as np
import pytest

pytest.importorskip("onnxruntime", reason="onnxruntime is needed to run the exported graphs")
pytest.importorskip("onnxscript", reason="the dynamo ONNX exporter needs onnxscript")

import onnxruntime as ort  # noqa: E402
import torch  # noqa: E402

import lstmkit  # noqa: E402
from lstmkit.cli.main import main  # noqa: E402
from lstmkit.tasks.export import read_metadata  # noqa: E402

RTOL, ATOL = 1e-4, 1e-5
FIT = dict(progress_bar=False, num_threads=1)


@pytest.fixture(autouse=True)
def _task_logger_as_found():
    """``main`` routes the ``lstmkit.tasks`` logger to stdout; put it back so later tests' ``caplog`` sees it."""
    import logging

    logger = logging.getLogger("lstmkit.tasks")
    saved = (list(logger.handlers), logger.level, logger.propagate)
    yield
    logger.handlers[:], logger.level, logger.propagate = saved


def export_cli(model_dir, out, *extra) -> list:
    """Export through the command line (in-process) and open every graph written."""
    assert main(["export", "--model", str(model_dir), "--out", str(out), *map(str, extra)]) == 0
    return [ort.InferenceSession(str(p)) for p in sorted(out.parent.glob(out.stem + "*.onnx"))]


def feeds_for(session, batch: int, rng, ints: dict[str, int] | None = None) -> dict[str, np.ndarray]:
    """Random inputs for ``session`` at ``batch`` (floats; int64 ids below ``ints[name]``; ``lengths`` full)."""
    out = {}
    for i in session.get_inputs():
        shape = [batch if isinstance(d, str) else d for d in i.shape]
        if i.type == "tensor(int64)":
            out[i.name] = rng.integers(1, (ints or {}).get(i.name, 2), size=shape).astype(np.int64)
        elif i.type == "tensor(bool)":
            out[i.name] = np.ones(shape, dtype=bool)
        else:
            out[i.name] = rng.normal(size=shape).astype(np.float32)
    return out


def assert_close(got: list[np.ndarray], want, names=None) -> None:
    for k, (g, w) in enumerate(zip(got, want)):
        w = w.detach().numpy() if isinstance(w, torch.Tensor) else np.asarray(w)
        assert g.shape == w.shape, f"output {names[k] if names else k}: {g.shape} vs {w.shape}"
        np.testing.assert_allclose(g.astype(np.float64), w.astype(np.float64), rtol=RTOL, atol=ATOL,
                                   err_msg=names[k] if names else str(k))


def batch_of(session) -> list:
    """The batch dimension of each input (its name where dynamic)."""
    return [next((d for d in i.shape if isinstance(d, str)), None) for i in session.get_inputs()]


# ---------------------------------------------------------------- one test per task
def test_forecast_network_on_scaled_windows(tmp_path):
    import pandas as pd

    n = 40
    t = pd.date_range("2015-01", periods=n, freq="MS")
    y = 200 + np.arange(n) + 30 * np.sin(2 * np.pi * np.arange(n) / 12)
    f = lstmkit.Forecaster(horizon=3, model="lstm", candidates=["lstm"], peers=[], epochs=1, ensemble=1, hidden_size=4,
                           input_size=6, **{"progress_bar": False}).fit(pd.DataFrame({"m": t, "s": y}), time="m", target="s")
    f.save(tmp_path / "run" / "model")
    (s,) = export_cli(tmp_path / "run", tmp_path / "f.onnx")  # a run folder: its model/ is found
    assert all(b == "batch" for b in batch_of(s))
    net = f.model_
    first = net.first
    for B in (2, 5):  # the example's batch and another
        feeds = feeds_for(s, B, np.random.default_rng(B))
        past = torch.zeros(B, first.input_size, 0)
        future = (torch.as_tensor(feeds["future"]) if "future" in feeds
                  else torch.zeros(B, first.input_size + first.horizon, 0))
        with torch.no_grad():
            want = net(torch.as_tensor(feeds["y"]), past, future)
        assert_close(s.run(None, feeds), [want])
    meta = read_metadata(tmp_path / "f.onnx")
    assert meta["task"] == "forecast" and meta["kind"] == "forecast-lstm" and "Scaling stays outside" in meta["graph"]
    tr = json.loads(meta["transform"])
    assert tr["scaler"]["loc"] == f.lstm_.transform.scaler.loc and json.loads(meta["horizon"]) == 3
    assert not net.training  # the export leaves the network in the mode it found it in

    classical = lstmkit.Forecaster(horizon=3, candidates=["naive"], peers=[], progress_bar=False).fit(y)
    with pytest.raises(ValueError, match=r"Forecaster.export: the fitted model is 'naive', a classical forecaster"):
        classical.export(tmp_path / "naive.onnx")


@pytest.mark.parametrize("kind", ["prediction", "reconstruction"])
def test_anomaly_networks(tmp_path, kind):
    from lstmkit.config import replace
    from lstmkit.tasks.anomaly.config import AnomalyConfig
    from lstmkit.tasks.anomaly.estimator import AnomalyDetector

    t = np.arange(200)
    x = np.stack([np.sin(2 * np.pi * t / 20), np.cos(2 * np.pi * t / 20)], 1) + 0.01 * np.random.default_rng(0).normal(size=(200, 2))
    cfg = replace(AnomalyConfig(), **{"detector.window": 8, "detector.hidden_size": 4, "detector.num_layers": 1,
                                      "detector.kind": kind, "train.epochs": 1, "train.batch_size": 16,
                                      "train.progress_bar": False, "train.num_threads": 1})
    det = AnomalyDetector(config=cfg).fit(x)
    det.save(tmp_path / "m")
    (s,) = export_cli(tmp_path / "m", tmp_path / "a.onnx", "--steps", 4)  # graphs unroll their steps: keep them short
    for B in (2, 3):
        feeds = feeds_for(s, B, np.random.default_rng(B))
        with torch.no_grad():
            if kind == "prediction":
                pred, (h, c) = det.model_(torch.as_tensor(feeds["x"]), (torch.as_tensor(feeds["h0"]), torch.as_tensor(feeds["c0"])))
                want = [pred, h, c]
            else:
                want = [det.model_(torch.as_tensor(feeds["x"]))]
        assert_close(s.run(None, feeds), want)
    meta = read_metadata(tmp_path / "a.onnx")
    assert meta["kind"] == f"anomaly-{kind}" and json.loads(meta["scaler"])["center"] == det.detector_.scaler.center.tolist()
    if kind == "prediction":
        assert [i.name for i in s.get_inputs()] == ["x", "h0", "c0"] and [o.name for o in s.get_outputs()] == ["pred", "h_n", "c_n"]


def test_classify_network_with_lengths_and_the_1nn_refusal(tmp_path, capsys):
    rng = np.random.default_rng(0)
    t = np.linspace(0, 1, 8)
    X = np.stack([np.sin(2 * np.pi * (1 + 2 * (k % 2)) * t) + 0.1 * rng.normal(size=8) for k in range(12)])
    y = np.where(np.arange(12) % 2, "fast", "slow")
    clf = lstmkit.SequenceClassifier(epochs=1, hidden_size=4, mode="off", ensemble=1, **FIT).fit(X, y)
    assert clf.fit_info_["max_steps"] == 8
    clf.save(tmp_path / "m")
    (s,) = export_cli(tmp_path / "m", tmp_path / "c.onnx", "--steps", 4)
    F = s.get_inputs()[0].shape[2]
    for B, lengths in ((2, [4, 3]), (4, [4, 1, 3, 2])):  # padded batches: each sequence's own length
        x = rng.normal(size=(B, 4, F)).astype(np.float32)
        L = np.array(lengths, dtype=np.int64)
        with torch.no_grad():
            want = clf.model_(torch.as_tensor(x), torch.as_tensor(L))
        assert_close(s.run(None, {"x": x, "lengths": L}), [want])
    meta = read_metadata(tmp_path / "c.onnx")
    assert json.loads(meta["classes"]) == ["fast", "slow"] and json.loads(meta["steps"]) == 4

    # a 1-NN classifier (the cross-validation falls back to it on exact templates) has no network
    templates = rng.normal(size=(2, 10))
    Xn = np.stack([templates[k % 2] + 0.01 * rng.normal(size=10) for k in range(8)])
    knn = lstmkit.SequenceClassifier(epochs=1, hidden_size=2, folds=2, ensemble=1, **FIT).fit(Xn, np.arange(8) % 2)
    assert knn.encoder_ is None
    knn.save(tmp_path / "nn")
    capsys.readouterr()
    assert main(["export", "--model", str(tmp_path / "nn"), "--out", str(tmp_path / "nn.onnx")]) != 0
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "nearest-neighbour classifier with no network to export" in err
    assert not (tmp_path / "nn.onnx").exists()


def test_tag_emissions_crf_outside(tmp_path):
    sents = [["EU", "rejects", "German", "call"], ["Peter", "Blackburn", "visits", "Paris"], ["BRUSSELS", "1996-08-22"]]
    tags = [["B-ORG", "O", "B-MISC", "O"], ["B-PER", "I-PER", "O", "B-LOC"], ["B-LOC", "O"]]
    tagger = lstmkit.SequenceTagger(epochs=1, hidden_size=4, word_dim=4, char_features=4, **FIT).fit(sents * 2, tags * 2)
    tagger.save(tmp_path / "m")
    (s,) = export_cli(tmp_path / "m", tmp_path / "t.onnx", "--steps", 3)
    assert [i.name for i in s.get_inputs()] == ["words", "lengths", "chars", "shapes"]
    net = tagger.model_
    rng = np.random.default_rng(1)
    for B, lengths in ((2, [3, 2]), (3, [1, 3, 2])):
        feeds = feeds_for(s, B, rng, {"words": net.config["num_words"], "chars": net.config["num_chars"],
                                      "shapes": net.config["num_shapes"]})
        feeds["lengths"] = np.array(lengths, dtype=np.int64)
        with torch.no_grad():
            want = net(*(torch.as_tensor(feeds[k]) for k in ("words", "chars", "shapes", "lengths")))
        assert_close(s.run(None, feeds), [want])
    meta = read_metadata(tmp_path / "t.onnx")
    assert "CRF Viterbi decoding stays outside the graph" in meta["graph"]
    crf = json.loads(meta["crf"])
    np.testing.assert_allclose(crf["transitions"], net.crf.transitions.detach().numpy(), rtol=1e-6)
    assert json.loads(meta["tags"]) == tagger.encoder_.tag_names


def test_lm_step_with_state(tmp_path, capsys):
    import onnx

    text = "First Citizen:\nBefore we proceed any further, hear me speak.\n" * 4
    lm = lstmkit.LanguageModel(hidden_size=8, num_layers=2, dropout=0.0, output_dropout=0.0, length=16, batch_size=4,
                               epochs=1, early_stopping=0, **FIT).fit(text)
    lm.save(tmp_path / "m")
    capsys.readouterr()
    assert main(["export", "--model", str(tmp_path / "m"), "--out", str(tmp_path / "bad.onnx"), "--opset", "99"]) == 2
    err = capsys.readouterr().err.strip()
    assert "expected an ONNX opset between 7 and" in err and "got 99" in err and "\n" not in err
    (s,) = export_cli(tmp_path / "m", tmp_path / "lm.onnx", "--opset", 18)  # default: one step
    assert [o.version for o in onnx.load(str(tmp_path / "lm.onnx")).opset_import if o.domain == ""] == [18]
    net = lm.model_
    V = net.vocab_size
    h, c = (t.numpy() for t in net.init_state(3))  # streaming: three steps, the state carried, batch 3
    rng = np.random.default_rng(2)
    for _ in range(3):
        ids = rng.integers(0, V, size=(3, 1)).astype(np.int64)
        got = s.run(None, {"ids": ids, "h0": h, "c0": c})
        with torch.no_grad():
            logits, (h_t, c_t) = net(torch.as_tensor(ids), (torch.as_tensor(h), torch.as_tensor(c)))
        assert_close(got, [logits, h_t, c_t], ["logits", "h_n", "c_n"])
        h, c = got[1], got[2]
    meta = read_metadata(tmp_path / "lm.onnx")
    assert json.loads(meta["tokenizer"])["kind"] == lm.tokenizer_.kind and json.loads(meta["steps"]) == 1


def test_translate_encoder_and_decoder_step(tmp_path):
    from translate_toy import TINY, toy_pairs

    tr = lstmkit.Translator(**{**TINY, "epochs": 1, "hidden_size": 8, "embedding_size": 8, "beam": 1,
                               "dev_fraction": 0.0, "test_fraction": 0.0}).fit(toy_pairs(30))
    tr.save(tmp_path / "m")
    enc_s, step_s = export_cli(tmp_path / "m", tmp_path / "tr.onnx", "--steps", 3)
    assert (tmp_path / "tr.step.onnx").is_file()
    assert [o.name for o in enc_s.get_outputs()] == ["enc", "mask", "h0", "c0", "keys", "feed0"]
    net = tr.model_
    rng = np.random.default_rng(3)
    for B, lengths in ((2, [3, 2]), (3, [1, 3, 2])):
        L = np.array(lengths, dtype=np.int64)
        src = rng.integers(4, net.src_vocab, size=(B, 3)).astype(np.int64)
        src[np.arange(3)[None, :] >= L[:, None]] = 0
        got = enc_s.run(None, {"src": src, "src_len": L})
        with torch.no_grad():
            mem = net.encode(torch.as_tensor(src), torch.as_tensor(L))
            st = net.start(mem)
        assert (got[1] == mem["mask"].numpy()).all()
        assert_close([got[0], *got[2:]], [mem["enc"], st["h"], st["c"], mem["keys"], st["feed"]])
        byname = dict(zip([o.name for o in enc_s.get_outputs()], got))
        prev = rng.integers(2, net.tgt_vocab, size=B).astype(np.int64)
        step_in = {"prev": prev, "h": byname["h0"], "c": byname["c0"], "enc": byname["enc"], "mask": byname["mask"],
                   "keys": byname["keys"], "feed": byname["feed0"]}
        with torch.no_grad():
            logits, new, w = net.step(mem, st, torch.as_tensor(prev))
        assert_close(step_s.run(None, step_in), [logits, new["h"], new["c"], new["feed"], w],
                     ["logits", "h_next", "c_next", "feed_next", "attention"])
    assert json.loads(read_metadata(tmp_path / "tr.step.onnx")["graphs"]) == {"main": "tr.onnx", ".step": "tr.step.onnx"}


# ---------------------------------------------------------------- refusals
def test_bad_folders_and_out_paths_are_one_line_errors(tmp_path, capsys):
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "a.txt").write_text("hello")
    (tmp_path / "file").write_text("x")
    cases = {
        "not a model folder": (["--model", tmp_path / "notes", "--out", tmp_path / "o.onnx"], "expected config.json in"),
        "no folder": (["--model", tmp_path / "missing", "--out", tmp_path / "o.onnx"], "no such folder"),
        "out under a file": (["--model", tmp_path / "notes", "--out", tmp_path / "file" / "o.onnx"], "is a file, not a folder"),
        "out not .onnx": (["--model", tmp_path / "notes", "--out", tmp_path / "o.txt"], "expected an output file ending in .onnx"),
        "out is a folder": (["--model", tmp_path / "notes", "--out", tmp_path / "notes.onnx"], "expected an output file, got the folder"),
    }
    (tmp_path / "notes.onnx").mkdir()
    for name, (argv, message) in cases.items():
        capsys.readouterr()
        assert main(["export", *map(str, argv)]) == 2, name
        err = capsys.readouterr().err.strip()
        assert err.startswith("lstmkit export: error:") and message in err and "\n" not in err, (name, err)


def test_an_unfitted_estimator_and_an_unknown_format_are_refused(tmp_path):
    from lstmkit.tasks.estimator import NotFittedError

    with pytest.raises(NotFittedError, match="LanguageModel.export: no trained model yet"):
        lstmkit.LanguageModel().export(tmp_path / "x.onnx")
    with pytest.raises(ValueError, match=r"SequenceTagger.export: expected format one of \['onnx'\], got 'tflite'"):
        lstmkit.SequenceTagger().export(tmp_path / "x.onnx", format="tflite")
