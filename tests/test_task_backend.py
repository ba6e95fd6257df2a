"""Every task's model section names its recurrence engine (``model.backend``).

The option is checked when the configuration is read (an unknown engine is a
one-line error naming the section, not a failure at the first forward pass),
and the chosen engine reaches every LSTM the task builds, so a user (and
``benchmarks/bench_tasks.py``) can run any task on ``torch``, ``cpu`` or
``auto``.
"""

from __future__ import annotations

import pytest

from lstmkit.kernels import check_backend_name
from lstmkit.nn import Recurrent
from lstmkit.tasks.anomaly.config import DetectorConfig
from lstmkit.tasks.anomaly.model import EncoderDecoder, NextStepPredictor
from lstmkit.tasks.classify.config import ClassifyModelConfig
from lstmkit.tasks.classify.model import ClassifierNet
from lstmkit.tasks.forecast.config import ModelConfig as ForecastModelConfig
from lstmkit.tasks.lm.config import ModelConfig as LMModelConfig
from lstmkit.tasks.tag.config import TagModelConfig
from lstmkit.tasks.tag.model import BiLSTMCRFTagger
from lstmkit.tasks.translate.config import ModelConfig as TranslateModelConfig

CONFIGS = [ClassifyModelConfig, TagModelConfig, DetectorConfig, ForecastModelConfig, LMModelConfig,
           TranslateModelConfig]


def _engines(module) -> set[str]:
    return {m.backend for m in module.modules() if isinstance(m, Recurrent)}


@pytest.mark.parametrize("cls", CONFIGS, ids=lambda c: c.__module__.split(".")[2])
def test_every_task_config_defaults_to_auto_and_rejects_an_unknown_engine(cls):
    assert cls().backend == "auto"
    assert cls(backend="torch").backend == "torch"
    with pytest.raises(ValueError, match=rf"{cls.__name__}: expected backend auto or one of .*'cpu'.*got 'cuda-fast'"):
        cls(backend="cuda-fast")


def test_check_backend_name_accepts_the_registered_engines_only():
    for name in ("auto", "cpu", "torch", "reference"):
        check_backend_name("here", name)
    with pytest.raises(ValueError, match="here: expected backend"):
        check_backend_name("here", "Torch")


@pytest.mark.parametrize("backend", ["torch", "cpu"])
def test_the_engine_reaches_every_lstm_of_each_task_network(backend):
    clf = ClassifierNet(dict(kind="series", vocab_size=0, unk_id=1, input_size=3, embedding_dim=8, hidden_size=4,
                             num_layers=2, bidirectional=True, cell="lstm", dropout=0.0, pooling="last", num_classes=2,
                             backend=backend))
    tagger = BiLSTMCRFTagger(dict(num_words=10, num_chars=10, num_shapes=4, num_tags=3, unk_id=1, word_dim=4,
                                  char_encoder="lstm", char_dim=3, char_features=4, shape_dim=2, hidden_size=5,
                                  num_layers=1, cell="lstm", dropout=0.0, word_dropout=0.0, crf=True,
                                  backend=backend))
    predictor = NextStepPredictor(2, hidden_size=4, num_layers=2, backend=backend)
    encdec = EncoderDecoder(2, hidden_size=4, backend=backend)
    for net, count in ((clf, 1), (tagger, 2), (predictor, 1), (encdec, 2)):
        assert _engines(net) == {backend}
        assert sum(isinstance(m, Recurrent) for m in net.modules()) == count


def test_a_network_config_without_the_key_keeps_auto():
    """Models saved before the option existed load on ``auto``."""
    clf = ClassifierNet(dict(kind="series", vocab_size=0, unk_id=1, input_size=3, embedding_dim=8, hidden_size=4,
                             num_layers=1, bidirectional=False, cell="lstm", dropout=0.0, pooling="last", num_classes=2))
    assert _engines(clf) == {"auto"}


def test_estimators_train_on_the_engine_they_are_given():
    """The flat estimator parameter ``backend`` is the model section's option
    (classification, tagging, anomaly detection), and the fitted networks run on it."""
    import numpy as np

    import lstmkit
    from lstmkit.config import replace
    from lstmkit.tasks.anomaly.config import AnomalyConfig

    rng = np.random.default_rng(0)
    clf = lstmkit.SequenceClassifier(epochs=1, hidden_size=4, progress_bar=False, num_threads=1, mode="off",
                                     backend="reference").fit(rng.normal(size=(16, 12)), np.array([0, 1] * 8))
    assert _engines(clf.model_) == {"reference"}
    sents = [["EU", "rejects", "German", "call"], ["Peter", "visits", "Paris"]]
    tags = [["B-ORG", "O", "B-MISC", "O"], ["B-PER", "O", "B-LOC"]]
    tagger = lstmkit.SequenceTagger(epochs=1, hidden_size=4, word_dim=4, char_features=4, char_encoder="lstm",
                                    progress_bar=False, num_threads=1, backend="reference").fit(sents, tags)
    assert _engines(tagger.model_) == {"reference"}
    x = np.sin(np.arange(400) / 6.0)[:, None] + 0.05 * rng.normal(size=(400, 1))
    cfg = replace(AnomalyConfig(), **{"detector.window": 16, "detector.hidden_size": 4, "detector.num_layers": 1,
                                      "detector.backend": "reference", "train.epochs": 1, "train.progress_bar": False,
                                      "train.num_threads": 1, "split.train": "0:0.5"})
    det = lstmkit.AnomalyDetector(config=cfg).fit(x)
    assert _engines(det.detector_.model) == {"reference"}
