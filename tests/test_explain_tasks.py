"""``lstmkit explain`` on every task's model folder: anomaly detectors, forecasters, classifiers, taggers."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from lstmkit.cli.main import main
from lstmkit.config import replace
from lstmkit.tasks.explain import load_explainable

QUIET = {"train.progress_bar": False, "train.num_threads": 1, "train.epochs": 1}
SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def _model_dir(root: Path) -> Path:
    return next(p.parent for p in root.rglob("config.json") if (p.parent / "model.safetensors").is_file())


def test_anomaly_detector_series_traces_and_seasonal_units(tmp_path, capsys):
    from lstmkit import AnomalyDetector
    from lstmkit.tasks.anomaly.config import AnomalyConfig

    t = np.arange(600)
    x = np.sin(2 * np.pi * t / 40)[:, None] + 0.05 * np.random.default_rng(0).normal(size=(600, 1))
    det = AnomalyDetector(replace(AnomalyConfig(), **{**QUIET, "detector.window": 32, "detector.hidden_size": 8,
                                                      "detector.num_layers": 1, "train.epochs": 4,
                                                      "train.batch_size": 16, "train.lr": 0.01}))
    det.fit(x)
    det.save(tmp_path / "model")
    ex = load_explainable(tmp_path / "model")  # through the registry: AnomalyDetector.explain_target
    assert (ex.kind, ex.input_kind) == ("anomaly-prediction", "series") and isinstance(ex.estimator, AnomalyDetector)
    tr = ex.trace(x[:120, 0].tolist())
    assert tr.labels == [str(i) for i in range(120)] and tr.values(0, "c").shape == (120, 8)
    csv = tmp_path / "s.csv"
    csv.write_text("value\n" + "\n".join(f"{v:.5f}" for v in x[:120, 0]))
    out = tmp_path / "units"
    assert main(["explain", "units", "--model", str(tmp_path / "model"), "--series", str(csv), "--property",
                 "seasonal_phase", "--period", "40", "--top", "3", "--out", str(out)]) == 0
    best = json.loads((out / "units.json").read_text())["units"][0]
    assert best["abs_r"] > 0.5  # some unit follows the 40-step cycle of a sine it was trained on
    assert main(["explain", "--model", str(tmp_path / "model"), "--text", "hello"]) == 2
    assert "reads a series" in capsys.readouterr().err
    rec = AnomalyDetector(replace(AnomalyConfig(), **{**QUIET, "detector.kind": "reconstruction",
                                                      "detector.window": 32, "detector.hidden_size": 8,
                                                      "detector.num_layers": 1}))
    rec.fit(x[:300])
    rec.save(tmp_path / "rec")
    ex = load_explainable(tmp_path / "rec")
    assert ex.kind == "anomaly-reconstruction" and ex.layer is ex.model.encoder
    assert ex.trace(x[:50, 0].tolist()).values(0, "f").shape == (50, 8)


def test_forecaster_traces_its_input_window(tmp_path):
    from lstmkit import Forecaster

    f = Forecaster(model="lstm", ensemble=1, hidden_size=8, epochs=2, progress_bar=False).fit()
    model_dir = f.save(tmp_path / "model")
    ex = load_explainable(model_dir)
    n = ex.model.first.input_size
    tr = ex.trace([float(v) for v in 100 + np.arange(200) % 12])
    assert len(tr.labels) == n and tr.labels[-1] == "199" and tr.values(0, "f").shape == (n, 8)
    assert ex.layer.backend == ex.model.first.encoder.backend  # restored after the gate run
    out = tmp_path / "ex"
    assert main(["explain", "--model", str(model_dir), "--series", ",".join(str(100 + i % 12) for i in range(80)),
                 "--out", str(out)]) == 0
    assert (out / "heatmap_layer0.png").is_file() and len(json.loads((out / "traces.json").read_text())["labels"]) == n
    # no --series: the data it was fitted on (here the built-in airline series), read as the training data were:
    # the window before its end, labelled with its months (an error asking for --series until 2026-12-07)
    out2 = tmp_path / "ex2"
    assert main(["explain", "--model", str(model_dir), "--out", str(out2)]) == 0
    labels = json.loads((out2 / "traces.json").read_text())["labels"]
    assert len(labels) == n and labels[-1].startswith("1960-12")
    import pandas as pd

    g = Forecaster(model="lstm", ensemble=1, hidden_size=8, epochs=1, progress_bar=False)
    g.fit(pd.DataFrame({"v": 100 + np.arange(60.0) % 12}), target="v")  # in memory: nothing to default to
    assert g.training_file() is None
    assert main(["explain", "--model", str(g.save(tmp_path / "mem")), "--out", str(tmp_path / "ex3")]) == 2


def test_a_forecaster_that_chose_a_classical_model_is_refused_in_one_line(tmp_path, capsys):
    from lstmkit import Forecaster

    model_dir = Forecaster(model="seasonal_naive", progress_bar=False).fit().save(tmp_path / "model")
    with pytest.raises(ValueError, match=r"chose seasonal naive, not an LSTM; there are no gates to show") as e:
        load_explainable(model_dir)
    assert str(model_dir) in str(e.value) and "\n" not in str(e.value)
    assert main(["explain", "--model", str(model_dir), "--series", "1,2,3", "--out", str(tmp_path / "ex")]) == 2
    assert "no gates to show" in capsys.readouterr().err and not (tmp_path / "ex").exists()


def test_classifier_and_tagger_trace_words(tmp_path):
    from lstmkit.data.conll import read_conll, write_conll
    from lstmkit.tasks.classify import api as capi
    from lstmkit.tasks.classify.config import ClassifyConfig
    from lstmkit.tasks.tag import api as tapi
    from lstmkit.tasks.tag.config import TagConfig

    if not (SHARED / "sst2").is_dir() or not (SHARED / "conll2003").is_dir():
        pytest.skip(f"shared SST-2 / CoNLL-2003 data not found under {SHARED}")
    lines = (SHARED / "sst2" / "train.tsv").read_text().splitlines()
    (tmp_path / "train.tsv").write_text("\n".join(lines[:201]) + "\n")
    capi.train(replace(ClassifyConfig(), **{**QUIET, "model.embedding_dim": 8, "model.hidden_size": 8}),
               tmp_path / "train.tsv", tmp_path / "cls", say=lambda s: None)
    ex = load_explainable(_model_dir(tmp_path / "cls"))
    tr = ex.trace("a gripping , funny film")
    assert ex.kind == "classify-lstm" and tr.labels == ["a", "gripping", ",", "funny", "film"]
    write_conll(tmp_path / "train.txt", read_conll(SHARED / "conll2003" / "train.txt")[:60])
    tapi.train(replace(TagConfig(), **{**QUIET, "model.hidden_size": 8, "model.word_dim": 8, "model.char_features": 4}),
               tmp_path / "train.txt", None, tmp_path / "tag", say=lambda s: None)
    ex = load_explainable(_model_dir(tmp_path / "tag"))
    tr = ex.trace("EU rejects German call")
    assert ex.kind == "tag-bilstm-crf" and tr.labels == ["EU", "rejects", "German", "call"]
    assert tr.num_directions == 2 and tr.values(0, "h", 1).shape == (4, 8)
