"""lstmkit.SequenceClassifier on in-memory data: every input form, the cross-validated choice, the 1-NN baselines,
saving and loading, bad input named, and the command line giving the same metrics as the API."""

from __future__ import annotations

import json

import numpy as np
import pytest

import lstmkit
from lstmkit.tasks.classify.config import ClassifyDataConfig
from lstmkit.tasks.classify.data import read_examples
from lstmkit.tasks.classify.selection import stratified_folds

#: a tiny network trained briefly: these tests check the plumbing, not the accuracy
TINY = dict(epochs=3, hidden_size=4, progress_bar=False, num_threads=1)


def _waves(n: int = 24, T: int = 20, seed: int = 0, channels: int = 1):
    """Two classes of noisy waves (slow, fast), ``(n, T, channels)``."""
    rng = np.random.default_rng(seed)
    t = np.linspace(0, 1, T)
    X = np.stack([np.stack([np.sin(2 * np.pi * (1 + 2 * (k % 2)) * t + c + rng.uniform(0, 0.5)) for c in range(channels)], 1)
                  + 0.1 * rng.normal(size=(T, channels)) for k in range(n)])
    y = np.where(np.arange(n) % 2, "fast", "slow")
    return X, y


def test_every_input_form_gives_the_same_model_and_it_saves_and_loads(tmp_path):
    pd = pytest.importorskip("pandas")
    X, y = _waves()
    est = dict(TINY, mode="off", ensemble=1)
    ref = lstmkit.SequenceClassifier(**est).fit(X[:, :, 0], y)  # (N, T)
    probs = ref.predict_proba(X[:, :, 0])
    assert probs.shape == (24, 2) and np.allclose(probs.sum(1), 1) and list(ref.classes_) == ["fast", "slow"]
    assert ref.predict(X[:3, :, 0]).tolist() == [ref.classes_[k] for k in probs[:3].argmax(1)]
    same_data = {
        "(N, T, 1)": X,
        "list of (T,)": [x[:, 0] for x in X],
        "list of lists": [x[:, 0].tolist() for x in X],
        "wide DataFrame": pd.DataFrame(X[:, :, 0], columns=[f"t{i}" for i in range(20)]),
    }
    for name, data in same_data.items():
        other = lstmkit.SequenceClassifier(**est).fit(data, y)
        np.testing.assert_allclose(other.predict_proba(data), probs, atol=1e-6, err_msg=name)
    long = pd.DataFrame([{"id": f"s{i:02d}", "t": t, "value": X[i, t, 0], "label": y[i]} for i in range(24) for t in range(20)])
    from_long = lstmkit.SequenceClassifier(**est, id_column="id", time_column="t").fit(long.sample(frac=1, random_state=0))
    np.testing.assert_allclose(from_long.predict_proba(long), probs, atol=1e-6)  # labels from the frame's column
    m = ref.evaluate(X[:, :, 0], y)
    assert m["examples"] == 24 and sum(map(sum, m["confusion_matrix"])) == 24 and 0 <= m["accuracy"] <= 1
    assert set(m["baselines"]) == {"1-NN Euclidean", "1-NN DTW"}
    assert m["baselines"]["1-NN Euclidean"]["accuracy"] == 1.0  # the training series themselves: distance 0
    assert m["beaten_by"] == [k for k, b in m["baselines"].items() if b["accuracy"] > m["accuracy"]]
    ref.save(tmp_path / "m")
    loaded = lstmkit.load(tmp_path / "m")
    assert type(loaded) is lstmkit.SequenceClassifier and loaded.model_name == ref.model_name
    np.testing.assert_allclose(loaded.predict_proba(X[:, :, 0]), probs, atol=1e-6)
    again = loaded.evaluate(X[:, :, 0], y)  # the training series came along (model/neighbours) for the baselines
    assert {k: b["accuracy"] for k, b in again["baselines"].items()} == {k: b["accuracy"] for k, b in m["baselines"].items()}
    assert loaded.get_params()["hidden_size"] == 4 and loaded.config_.data.frame >= 1  # as given, and as resolved


def test_variable_length_multichannel_series_and_integer_labels(tmp_path):
    X, _ = _waves(n=16, T=30, channels=3)
    rng = np.random.default_rng(1)
    series = [x[: int(rng.integers(12, 31))] for x in X]  # lengths 12-30
    y = np.arange(16) % 2  # integer labels stay integers
    clf = lstmkit.SequenceClassifier(**TINY, mode="off").fit(series, y)
    pred = clf.predict(series)
    assert set(pred.tolist()) <= {0, 1} and all(isinstance(v, int) for v in pred.tolist())
    assert clf.classes_ == [0, 1]
    m = clf.evaluate(series, y)
    assert m["baselines"]["1-NN DTW"]["accuracy"] == 1.0 and m["baselines"]["1-NN Euclidean"]["accuracy"] == 1.0
    padded = np.full((16, 30, 3), np.nan)
    for i, s in enumerate(series):
        padded[i, : len(s)] = s  # trailing NaN: the same variable-length series
    np.testing.assert_allclose(clf.predict_proba(padded), clf.predict_proba(series), atol=1e-6)
    clf.save(tmp_path / "v")
    assert lstmkit.SequenceClassifier.load(tmp_path / "v").classes_ == [0, 1]


def test_text_in_memory_and_from_a_dataframe():
    pd = pytest.importorskip("pandas")
    texts = ["a gripping , funny film", "dull and far too long", "funny and moving", "a dull mess"] * 5
    labels = ["pos", "neg", "pos", "neg"] * 5
    a = lstmkit.SequenceClassifier(**TINY).fit(texts, labels)
    b = lstmkit.SequenceClassifier(**TINY).fit(pd.DataFrame({"sentence": texts, "label": labels}))
    np.testing.assert_allclose(a.predict_proba(texts), b.predict_proba(texts), atol=1e-6)
    assert a.selection_ is None and a.neighbours_ is None and "baselines" not in a.evaluate(texts, labels)
    with pytest.raises(ValueError, match="SequenceClassifier.predict: expected text \\(as in training\\), got series"):
        a.predict(np.zeros((2, 5)))
    with pytest.raises(lstmkit.tasks.estimator.NotFittedError, match="SequenceClassifier.predict: no trained model yet"):
        lstmkit.SequenceClassifier().predict(texts)


def test_cross_validation_falls_back_to_the_nearest_neighbour_and_says_so(tmp_path):
    # each class is one exact template plus tiny noise: 1-NN is perfect, a network trained for 1 epoch is not
    rng = np.random.default_rng(0)
    templates = rng.normal(size=(3, 24))
    X = np.stack([templates[k % 3] + 0.01 * rng.normal(size=24) for k in range(18)])
    y = np.array(["a", "b", "c"])[np.arange(18) % 3]
    clf = lstmkit.SequenceClassifier(epochs=1, hidden_size=2, folds=3, ensemble=1, progress_bar=False).fit(X, y)
    sel = clf.selection_
    nets = [r for r in sel["candidates"] if r["kind"] == "network"]
    knn = [r for r in sel["candidates"] if r["kind"] in ("euclidean", "dtw")]
    assert {r["name"] for r in knn} == {"1-NN Euclidean", "1-NN DTW"} and len(nets) >= 4  # pooling, frame, FCN, scaling
    assert max(r["cv_accuracy"] for r in knn) == 1.0 > max(r["cv_accuracy"] for r in nets)
    assert sel["fell_back_to_neighbours"] and sel["chosen"]["kind"] in ("euclidean", "dtw")
    assert clf.model_name == sel["chosen"]["name"] and clf.encoder_ is None
    m = clf.evaluate(X, y, name="train")
    assert m["model"] == clf.model_name and m["accuracy"] == 1.0
    clf.report(tmp_path / "report.html")
    page = (tmp_path / "report.html").read_text()
    assert "so the model is that 1-NN classifier, not an LSTM" in page and "Model selection" in page
    clf.save(tmp_path / "nn")
    assert json.loads((tmp_path / "nn" / "config.json").read_text())["kind"] == "classify-nn"
    loaded = lstmkit.load(tmp_path / "nn")
    np.testing.assert_allclose(loaded.predict_proba(X), clf.predict_proba(X), atol=1e-9)
    from lstmkit.tasks.explain.models import load_explainable

    with pytest.raises(ValueError, match=r"holds a 1-NN (Euclidean|DTW) classifier .* it has no LSTM gates to show"):
        load_explainable(tmp_path / "nn")


def test_the_network_is_kept_unless_a_nearest_neighbour_is_strictly_better():
    X, y = _waves(n=20, T=24)
    clf = lstmkit.SequenceClassifier(epochs=4, hidden_size=4, folds=2, ensemble=1, progress_bar=False).fit(X, y)
    sel = clf.selection_
    rank = lambda r: (-r["cv_accuracy"], r["cv_log_loss"])  # noqa: E731
    nets = [r for r in sel["candidates"] if r["kind"] == "network"]
    blends = [r for r in sel["candidates"] if r["kind"] == "blend"]
    knn = [r for r in sel["candidates"] if r["kind"] in ("euclidean", "dtw")]
    best_net = min(nets, key=rank)
    assert {b["name"] for b in blends} == {f"{best_net['name']}, {best_net['epochs']} epochs + {k['name']}" for k in knn}
    better = [r for r in blends + knn if r["cv_accuracy"] > best_net["cv_accuracy"]]
    best = min(better, key=rank) if better else best_net  # a nearest neighbour only when it is more accurate
    assert sel["chosen"]["name"] == best["name"] and sel["fell_back_to_neighbours"] == (best["kind"] in ("euclidean", "dtw"))
    if best["kind"] != "euclidean" and best["kind"] != "dtw":
        assert clf.fit_info_["epochs"] == best["epochs"] and clf.encoder_ is not None
        assert (clf.blend_ is not None) == (best["kind"] == "blend")
    assert sel["folds"] == 2 and all(r["cv_accuracy"] <= 1 for r in sel["candidates"])


def test_a_blend_averages_the_network_and_the_nearest_neighbour_and_saves(tmp_path):
    X, y = _waves(n=16, T=24)
    clf = lstmkit.SequenceClassifier(**TINY, mode="off").fit(X, y)
    net = clf.predict_proba(X)
    clf.blend_ = {"metric": "dtw", "temperature": 0.5, "weight": 0.5}  # what the cross-validation sets when a blend wins
    near = clf.neighbours_.predict_proba(list(X), "dtw", 0.5)
    np.testing.assert_allclose(clf.predict_proba(X), 0.5 * net + 0.5 * near, atol=1e-9)
    assert clf.model_name.endswith("+ 1-NN DTW, probabilities averaged")
    clf.save(tmp_path / "b")
    loaded = lstmkit.load(tmp_path / "b")
    assert loaded.blend_ == clf.blend_
    np.testing.assert_allclose(loaded.predict_proba(X), clf.predict_proba(X), atol=1e-6)
    import shutil

    shutil.rmtree(tmp_path / "b" / "neighbours")
    with pytest.raises(ValueError, match="the model blends in 1-NN, but the folder 'neighbours' with the training series is missing"):
        lstmkit.load(tmp_path / "b")


def test_dtw_falls_back_to_a_band_then_to_nothing_when_the_work_is_too_much():
    X, y = _waves(n=12, T=40)
    clf = lstmkit.SequenceClassifier(**TINY, mode="off").fit(X, y)
    full = clf.evaluate(X, y)["baselines"]["1-NN DTW"]
    assert "window" not in full and full["accuracy"] == 1.0
    clf.config_.select.dtw_max_cells = 12 * 12 * 40 * 40 - 1  # the full tables no longer fit; a 10 % band does
    banded = clf.evaluate(X, y)["baselines"]["1-NN DTW"]
    assert banded["window"] == 4 and banded["accuracy"] == 1.0
    clf.config_.select.dtw_max_cells = 100
    skipped = clf.evaluate(X, y)["baselines"]["1-NN DTW"]
    assert skipped["accuracy"] is None and "DTW skipped" in skipped["skipped"]
    sel = lstmkit.SequenceClassifier(epochs=1, hidden_size=2, folds=2, ensemble=1, progress_bar=False,
                                     dtw_max_cells=12 * 12 * 40 * 40 - 1).fit(X, y).selection_
    dtw = next(r for r in sel["candidates"] if r["kind"] == "dtw")
    assert dtw["window"] == 4 and dtw["name"] == "1-NN DTW (band 4)" and any("Sakoe-Chiba band of 4" in n for n in sel["notes"])


def test_stratified_folds_spread_every_class_and_repeat_with_the_seed():
    labels = ["a"] * 10 + ["b"] * 5 + ["c"] * 3
    f = stratified_folds(labels, 3, seed=4)
    for c in "abc":
        counts = np.bincount(f[np.array(labels) == c], minlength=3)
        assert counts.max() - counts.min() <= 1
    assert np.array_equal(f, stratified_folds(labels, 3, seed=4)) and not np.array_equal(f, stratified_folds(labels, 3, seed=5))


def test_no_early_stopping_on_a_validation_split_too_small_to_mean_anything(task_log):
    X, y = _waves(n=30)
    clf = lstmkit.SequenceClassifier(**TINY, mode="off").fit(X, y)
    assert "no validation share held out: 4 example(s) < data.min_validation=50" in task_log.text
    assert clf.fit_info_["validation_examples"] == 0 and clf.fit_info_["epochs"] == 3
    clf = lstmkit.SequenceClassifier(**TINY, mode="off", min_validation=2, validation_fraction=0.2).fit(X, y)
    assert clf.fit_info_["validation_examples"] == 6 and "validation" in clf.scores_


# ------------------------------------------------------------------ bad input
def test_non_finite_values_are_errors_naming_the_place(tmp_path):
    X, y = _waves(n=6)
    bad = X[:, :, 0].copy()
    bad[2, 3] = np.inf
    with pytest.raises(ValueError, match=r"X\[2\], step 3, channel 0: expected a finite value .*got inf"):
        lstmkit.SequenceClassifier(**TINY).fit(bad, y)
    bad[2, 3] = 1e300
    with pytest.raises(ValueError, match=r"X\[2\], step 3, channel 0: expected a finite value within float32 range .*got 1e\+300"):
        lstmkit.SequenceClassifier(**TINY).fit(bad, y)
    bad[2, 3] = np.nan
    with pytest.raises(ValueError, match=r"X\[2\], step 3, channel 0: .*got a missing value \(NaN\) before the series' end"):
        lstmkit.SequenceClassifier(**TINY).fit(bad, y)
    wide = tmp_path / "wide.csv"
    wide.write_text("label,t0,t1,t2\na,1,2,3\nb,4,inf,6\n")
    with pytest.raises(ValueError, match=r"wide.csv: line 3, column 't1': expected a finite value .*got inf"):
        read_examples(wide, ClassifyDataConfig())
    long = tmp_path / "long.csv"
    long.write_text("id,x,label\ns1,1,a\ns1,2,a\ns2,3,b\ns2,-1e999,b\n")
    with pytest.raises(ValueError, match=r"long.csv: series 's2', line 5, column 'x': expected a finite value .*got -inf"):
        read_examples(long, ClassifyDataConfig(id_column="id"))
    ts = tmp_path / "bad.ts"
    ts.write_text("@problemName x\n@univariate true\n@equalLength true\n@classLabel true a b\n@data\n"
                  "1,2,3:a\n4,Infinity,6:b\n")
    with pytest.raises(ValueError, match=r"bad.ts:7: series 1, step 1, channel 0: expected a finite value .*got inf"):
        read_examples(ts, ClassifyDataConfig())


def test_latin1_and_binary_files_are_errors_naming_the_file(tmp_path, capsys):
    from lstmkit.cli.main import main

    latin = tmp_path / "latin.tsv"
    latin.write_bytes("sentence\tlabel\ncaf\xe9 cr\xe8me\t1\n".encode("latin-1"))
    binary = tmp_path / "data.ts"
    binary.write_bytes(bytes(range(256)) * 4)
    for path in (latin, binary):
        assert main(["classify", "train", "--data", str(path), "--out", str(tmp_path / "r")]) == 2
        err = capsys.readouterr().err
        assert f"lstmkit classify: error: {path}: line " in err and "expected UTF-8 text" in err and "Traceback" not in err
    nul = tmp_path / "nul.csv"
    nul.write_bytes(b"label,t0\na,1\x00\n")
    with pytest.raises(ValueError, match=r"nul.csv: line 2: expected UTF-8 text \(classification data\), got binary data"):
        read_examples(nul, ClassifyDataConfig())


# ------------------------------------------------------------------ the command line is the API
def test_cli_and_api_give_the_same_metrics(shared_data, tmp_path, capsys):
    from lstmkit.cli.main import main

    lines = (shared_data / "sst2" / "train.tsv").read_text().splitlines()
    (tmp_path / "train.tsv").write_text("\n".join(lines[:201]) + "\n")
    (tmp_path / "test.tsv").write_text("\n".join(lines[:1] + lines[201:261]) + "\n")
    out = tmp_path / "run"
    assert main(["classify", "train", "--data", str(tmp_path / "train.tsv"), "--test", str(tmp_path / "test.tsv"),
                 "--out", str(out), "--train.epochs", "2", "--model.hidden_size", "8", "--model.embedding_dim", "8",
                 "--train.seed", "3", "--quiet"]) == 0
    cli = json.loads((out / "metrics.json").read_text())["test"]
    rows = [line.split("\t") for line in lines[1:261]]
    api = lstmkit.SequenceClassifier(epochs=2, hidden_size=8, embedding_dim=8, seed=3, progress_bar=False)
    api.fit([r[0] for r in rows[:200]], [r[1] for r in rows[:200]])
    got = api.evaluate([r[0] for r in rows[200:]], [r[1] for r in rows[200:]])
    assert got["confusion_matrix"] == cli["confusion_matrix"] and got["examples"] == cli["examples"] == 60
    for key in ("accuracy", "macro_f1", "log_loss"):
        assert got[key] == pytest.approx(cli[key], abs=1e-12), key
    # a series run through the command line (its automatic choice switched off) and through the API
    series_out = tmp_path / "series"
    gp = shared_data / "ucr"
    assert main(["classify", "train", "--data", str(gp / "ItalyPowerDemand_TRAIN.ts"), "--test", str(gp / "ItalyPowerDemand_TEST.ts"),
                 "--out", str(series_out), "--select.mode", "off", "--train.epochs", "2", "--model.hidden_size", "4",
                 "--quiet"]) == 0
    cli = json.loads((series_out / "metrics.json").read_text())["test"]
    from lstmkit.data.ts_format import read_ts

    tr, te = read_ts(gp / "ItalyPowerDemand_TRAIN.ts"), read_ts(gp / "ItalyPowerDemand_TEST.ts")
    api = lstmkit.SequenceClassifier(mode="off", epochs=2, hidden_size=4, progress_bar=False).fit(tr.X.transpose(0, 2, 1), tr.y)
    got = api.evaluate(te.X.transpose(0, 2, 1), te.y)
    assert got["confusion_matrix"] == cli["confusion_matrix"]
    for key in ("accuracy", "log_loss"):
        assert got[key] == pytest.approx(cli[key], abs=1e-12), key
    assert got["baselines"]["1-NN Euclidean"]["accuracy"] == cli["baselines"]["1-NN Euclidean"]["accuracy"]
    printed = capsys.readouterr().out
    assert "| 1-NN Euclidean 0." in printed and "| 1-NN DTW 0." in printed


def _two_classes(seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(20, 15)) + np.repeat([0.0, 2.0], 10)[:, None], np.repeat([0, 1], 10)


def test_labels_as_one_column_and_predictions_in_the_labels_dtype():
    import pandas as pd

    X, y = _two_classes()
    quick = dict(epochs=2, mode="off", progress_bar=False, seed=0)
    want = lstmkit.SequenceClassifier(**quick).fit(X, y).predict_proba(X)
    for labels in (y[:, None], pd.DataFrame({"label": y})):
        c = lstmkit.SequenceClassifier(**quick).fit(X, labels)
        assert c.classes_ == [0, 1]
        np.testing.assert_allclose(c.predict_proba(X), want)
    pred = lstmkit.SequenceClassifier(**quick).fit(X, y).predict(X)
    assert pred.dtype == np.int64 and set(pred.tolist()) <= {0, 1}
    assert lstmkit.SequenceClassifier(**quick).fit(X, y.astype(bool)).predict(X).dtype == bool
    with pytest.raises(ValueError, match=r"expected one label per example \(a 1-D sequence\), got an array of shape \(20, 2\)"):
        lstmkit.SequenceClassifier(**quick).fit(X, np.c_[y, y])


def test_series_of_any_scale_are_scaled_alike():
    """The scaling's floor is relative to the values: series of 1e-10 are not flattened to zeros."""
    X, y = _two_classes()
    quick = dict(epochs=2, mode="off", progress_bar=False, seed=0)
    want = lstmkit.SequenceClassifier(**quick).fit(X, y).predict_proba(X)
    for scale in (1e-10, 1e10):
        got = lstmkit.SequenceClassifier(**quick).fit(X * scale, y).predict_proba(X * scale)
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


def test_a_frames_one_text_column_is_the_text_and_tuple_labels_survive_save_and_load(tmp_path):
    import pandas as pd

    texts, y = ["good movie", "bad film", "great", "awful"] * 6, ["pos", "neg", "pos", "neg"] * 6
    quick = dict(epochs=2, mode="off", progress_bar=False, seed=0)
    c = lstmkit.SequenceClassifier(**quick).fit(pd.DataFrame({"review": texts, "label": y}))
    assert c.classes_ == ["neg", "pos"]
    np.testing.assert_allclose(c.predict_proba(pd.DataFrame({"review": texts[:4]})), c.predict_proba(texts[:4]))
    X, _ = _two_classes()
    pairs = [(1, 2)] * 10 + [(3, 4)] * 10
    t = lstmkit.SequenceClassifier(**quick).fit(X, pairs)
    t.save(tmp_path / "m")
    back = lstmkit.load(tmp_path / "m")
    assert back.classes_ == [(1, 2), (3, 4)] and list(back.predict(X)) == list(t.predict(X))
