"""Configuration of sequence classification (YAML keys, ``--section.field`` options, estimator keywords).

Fields whose default is ``auto`` (or ``0`` for numbers) are chosen from the
data: text and series get different settings, and on a small series training
set the cross-validation of :mod:`.selection` chooses among candidates for
every such field (see ``select``). Giving a value fixes that field.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from ...config import option, section
from ...train.config import SCHEDULES, TrainConfig

KINDS = ("auto", "text", "series")
POOLINGS = ("auto", "last", "mean", "max", "attention")
NORMALISATIONS = ("auto", "none", "global", "series")
SWITCHES = ("auto", "on", "off")
UNSEEN_LABELS = ("error", "skip")
SELECT_MODES = ("auto", "cv", "off")


@dataclass
class ClassifyDataConfig:
    """What the data hold and how they become sequences."""

    kind: str = option("auto", "auto (from the data: .ts and numeric CSV are series, TSV/CSV with a text column is text), text or series")
    text_column: str = option("sentence", "text: the column holding the (tokenised) text; 'auto' for the first non-label column")
    label_column: str = option("label", "the column holding the class (text files, CSV series, DataFrames)")
    id_column: str = option("", "series in long layout: the series-id column ('' : wide layout, one row per series)")
    time_column: str = option("", "series in long layout: the column giving each value's order ('' : row order)")
    value_columns: list[str] = option([], "CSV series: the value columns (channels in long layout); empty: every other numeric column")
    lowercase: bool = option(False, "text: lower-case before splitting into words")
    min_freq: int = option(1, "text: words seen fewer times in training become <unk>")
    max_vocab: int = option(0, "text: keep at most this many words (0: no limit)")
    max_length: int = option(256, "sequences longer than this are cut to their first max_length steps (a note says how many); 0: no limit")
    normalize: str = option("auto", "series: none, global (per-channel mean/std of the training set), series (each series "
                                    "z-normalised) or auto (global; the cross-validation also tries series unless the data "
                                    "are z-normalised already)")
    frame: int = option(0, "series: steps per LSTM input vector (frame=5 feeds 5 consecutive values at once, 5x shorter "
                           "sequences); 0: from the series length (about 24 LSTM steps; the cross-validation also tries about 12)")
    diff: bool = option(True, "series: add the first difference of each channel as extra channels")
    validation_fraction: float = option(0.1, "share of training examples held out for early stopping when no validation "
                                             "data is given and no cross-validation runs (0: none)")
    min_validation: int = option(50, "a held-out share smaller than this many examples is not made (too small to stop "
                                     "early on): training runs its full epochs instead")
    unseen_labels: str = option("error", "labels at evaluate time that training never saw: error, or skip those examples (counted in the metrics)")

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"ClassifyDataConfig: expected kind in {KINDS}, got {self.kind!r}")
        if self.normalize not in NORMALISATIONS:
            raise ValueError(f"ClassifyDataConfig: expected normalize in {NORMALISATIONS}, got {self.normalize!r}")
        if self.unseen_labels not in UNSEEN_LABELS:
            raise ValueError(f"ClassifyDataConfig: expected unseen_labels in {UNSEEN_LABELS}, got {self.unseen_labels!r}")
        if self.min_freq < 1 or self.max_vocab < 0 or self.max_length < 0 or self.frame < 0 or self.min_validation < 0:
            raise ValueError("ClassifyDataConfig: expected min_freq >= 1, max_vocab >= 0, max_length >= 0, frame >= 0 and "
                             f"min_validation >= 0, got {self.min_freq}, {self.max_vocab}, {self.max_length}, {self.frame}, "
                             f"{self.min_validation}")
        if not 0 <= self.validation_fraction < 1:
            raise ValueError(f"ClassifyDataConfig: expected validation_fraction in [0, 1), got {self.validation_fraction}")


@dataclass
class ClassifyModelConfig:
    """The (bi)LSTM encoder, its pooling and the optional convolutional branch."""

    embedding_dim: int = option(128, "text: size of the learned word embeddings (no pretrained vectors)")
    hidden_size: int = option(0, "LSTM units per layer and direction; 0: from the data (text 128; series 32, or 64 "
                                 "beyond select.max_examples series)")
    num_layers: int = option(1, "stacked LSTM layers")
    bidirectional: bool = option(True, "read each sequence in both directions")
    pooling: str = option("auto", "how the steps become one vector: last, mean, max, attention or auto (text: max; "
                                  "series: last, the cross-validation also tries mean)")
    cell: str = option("lstm", "LSTM variant: lstm, peephole or layernorm")
    backend: str = option("auto", "recurrence engine: auto (the fastest measured for the configuration), cpu, torch, reference or triton")
    dropout: float = option(0.3, "dropout on the pooled features and between LSTM layers")
    embedding_dropout: float = option(0.2, "text: dropout on the word embeddings")
    word_dropout: float = option(0.0, "text: in training, replace words by <unk> with this probability (teaches the <unk> vector)")
    conv_branch: str = option("auto", "series: LSTM-FCN's convolutional branch beside the LSTM (Karim et al. 2017): on, "
                                      "off or auto (off; the cross-validation also tries it); non-empty conv_channels "
                                      "given with auto mean on")
    conv_channels: list[int] = option([], "series: filters of each convolutional block of the branch; empty: 32,64,32")
    conv_kernels: list[int] = option([8, 5, 3], "series: kernel size of each convolutional block (one per conv_channels entry)")
    ensemble: int = option(0, "train this many networks (seeds train.seed, train.seed+1, ...) and average their class "
                              "probabilities; 0: from the data (5 for series chosen by cross-validation, else 1)")

    def __post_init__(self):
        if self.conv_branch not in SWITCHES:
            raise ValueError(f"ClassifyModelConfig: expected conv_branch in {SWITCHES}, got {self.conv_branch!r}")
        if self.conv_channels and len(self.conv_kernels) != len(self.conv_channels):
            raise ValueError(f"ClassifyModelConfig: expected one conv_kernels entry per conv_channels entry, got "
                             f"{self.conv_kernels} for {self.conv_channels}")
        if any(v < 1 for v in [*self.conv_channels, *self.conv_kernels]):
            raise ValueError(f"ClassifyModelConfig: expected conv_channels and conv_kernels >= 1, got "
                             f"{self.conv_channels} and {self.conv_kernels}")
        if self.ensemble < 0:
            raise ValueError(f"ClassifyModelConfig: expected ensemble >= 0 (networks; 0: from the data), got {self.ensemble}")
        if self.pooling not in POOLINGS:
            raise ValueError(f"ClassifyModelConfig: expected pooling in {POOLINGS}, got {self.pooling!r}")
        if self.cell not in ("lstm", "peephole", "layernorm"):
            raise ValueError(f"ClassifyModelConfig: expected cell lstm, peephole or layernorm, got {self.cell!r}")
        from lstmkit.kernels.registry import check_backend_name

        check_backend_name("ClassifyModelConfig", self.backend)
        if self.hidden_size < 0:
            raise ValueError(f"ClassifyModelConfig: expected hidden_size >= 0 (0: from the data), got {self.hidden_size}")
        for name in ("embedding_dim", "num_layers"):
            if getattr(self, name) < 1:
                raise ValueError(f"ClassifyModelConfig: expected {name} >= 1, got {getattr(self, name)}")
        for name in ("dropout", "embedding_dropout", "word_dropout"):
            if not 0 <= getattr(self, name) < 1:
                raise ValueError(f"ClassifyModelConfig: expected {name} in [0, 1), got {getattr(self, name)}")


@dataclass
class ClassifyTrainConfig(TrainConfig):
    """The fit loop; epochs, batch size, learning rate and schedule default to the data's (0 / auto)."""

    epochs: int = option(0, "passes over the training data; 0: from the data (text 20; series about 1,000 optimiser "
                            "steps, 20-150 epochs, and the cross-validation also tries a quarter and a half of them)")
    batch_size: int = option(0, "examples per optimiser step; 0: from the data (text 64, series 16)")
    lr: float = option(0.0, "peak learning rate; 0: from the data (text 2e-3, series 5e-3)")
    schedule: str = option("auto", "learning-rate schedule: none, cosine, plateau, onecycle or auto (text none, series cosine)")
    early_stopping: int = option(3, "stop after this many epochs without a better validation metric (0: off); only with "
                                    "validation data")
    monitor: str = option("val_error", "the validation metric for early stopping and the best checkpoint")
    num_threads: int = option(0, "torch CPU threads while fitting; 0: from the data (series: 1, since small networks "
                                 "gain nothing from more and lose much on a busy machine; text: torch's choice); the "
                                 "process's setting is restored afterwards")

    def __post_init__(self):
        if self.epochs < 0 or self.batch_size < 0 or self.lr < 0:
            raise ValueError(f"ClassifyTrainConfig: expected epochs, batch_size and lr >= 0 (0: from the data), got "
                             f"{self.epochs}, {self.batch_size}, {self.lr}")
        if self.schedule not in ("auto", *SCHEDULES):
            raise ValueError(f"ClassifyTrainConfig: expected schedule in {('auto', *SCHEDULES)}, got {self.schedule!r}")
        self.resolved(1, 1, 1.0, "none")  # the other fields, checked by TrainConfig

    def resolved(self, epochs: int, batch_size: int, lr: float, schedule: str) -> TrainConfig:
        """A plain :class:`TrainConfig` with every ``0``/``auto`` field replaced by the given value."""
        values = {f.name: getattr(self, f.name) for f in dataclasses.fields(TrainConfig)}
        values.update(epochs=self.epochs or epochs, batch_size=self.batch_size or batch_size, lr=self.lr or lr,
                      schedule=schedule if self.schedule == "auto" else self.schedule)
        return TrainConfig(**values)


@dataclass
class SelectConfig:
    """How a series model is chosen on the training data, and the baselines beside it."""

    mode: str = option("auto", "auto: cross-validate on series training sets of at most max_examples series when no "
                               "validation data is given; cv: always for series; off: never (the data's defaults)")
    max_examples: int = option(1000, "auto mode: the largest series training set that is cross-validated")
    folds: int = option(0, "cross-validation folds (stratified); 0: 5, or 3 from 200 series on")
    neighbours: bool = option(True, "the 1-NN Euclidean and 1-NN DTW classifiers are candidates too: the run falls back "
                                    "to one of them when the cross-validation says it is better")
    baselines: bool = option(True, "series: score 1-NN Euclidean and 1-NN DTW beside the model on every evaluated set")
    dtw_max_cells: float = option(3e9, "DTW work limit (cells of the DTW tables, pairs x steps x steps): beyond it DTW uses "
                                       "a 10% Sakoe-Chiba band, and is skipped if even that exceeds it; the run says which")

    def __post_init__(self):
        if self.mode not in SELECT_MODES:
            raise ValueError(f"SelectConfig: expected mode in {SELECT_MODES}, got {self.mode!r}")
        if self.max_examples < 0 or self.folds < 0 or self.folds == 1:
            raise ValueError(f"SelectConfig: expected max_examples >= 0 and folds 0 or >= 2, got {self.max_examples}, {self.folds}")
        if not self.dtw_max_cells >= 0:
            raise ValueError(f"SelectConfig: expected dtw_max_cells >= 0, got {self.dtw_max_cells}")


@dataclass
class ClassifyConfig:
    """A sequence-classification run."""

    data: ClassifyDataConfig = section(ClassifyDataConfig)
    model: ClassifyModelConfig = section(ClassifyModelConfig)
    train: ClassifyTrainConfig = field(default_factory=ClassifyTrainConfig, metadata={"help": "the fit loop"})
    select: SelectConfig = section(SelectConfig)
