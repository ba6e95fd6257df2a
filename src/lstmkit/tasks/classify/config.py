"""Configuration of a sequence-classification run (YAML keys and ``--section.field`` options)."""

from __future__ import annotations

from dataclasses import dataclass, field

from ...config import option, section
from ...train.config import TrainConfig

KINDS = ("auto", "text", "series")
POOLINGS = ("last", "mean", "max", "attention")
NORMALISATIONS = ("none", "global", "series")
UNSEEN_LABELS = ("error", "skip")


@dataclass
class ClassifyDataConfig:
    """What the files hold and how they become sequences."""

    kind: str = option("auto", "auto (from the file: .ts and numeric CSV are series, TSV/CSV with a text column is text), text or series")
    text_column: str = option("sentence", "text: the column holding the (tokenised) text; 'auto' for the first non-label column")
    label_column: str = option("label", "the column holding the class (text files and CSV series)")
    id_column: str = option("", "CSV series in long layout: the series-id column ('' : wide layout, one row per series)")
    time_column: str = option("", "CSV series in long layout: the column giving each value's order ('' : row order)")
    value_columns: list[str] = option([], "CSV series: the value columns (channels in long layout); empty: every other numeric column")
    lowercase: bool = option(False, "text: lower-case before splitting into words")
    min_freq: int = option(1, "text: words seen fewer times in training become <unk>")
    max_vocab: int = option(0, "text: keep at most this many words (0: no limit)")
    max_length: int = option(256, "sequences longer than this are cut to their first max_length steps (a note says how many); 0: no limit")
    normalize: str = option("global", "series: none, global (per-channel mean/std of the training set) or series (each series z-normalised)")
    frame: int = option(1, "series: steps per LSTM input vector (frame=5 feeds 5 consecutive values at once, 5x shorter sequences)")
    diff: bool = option(False, "series: add the first difference of each channel as extra channels")
    validation_fraction: float = option(0.1, "share of training examples held out for early stopping when no --val file is given (0: none)")
    unseen_labels: str = option("error", "labels at evaluate time that training never saw: error, or skip those examples (counted in metrics.json)")

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"ClassifyDataConfig: expected kind in {KINDS}, got {self.kind!r}")
        if self.normalize not in NORMALISATIONS:
            raise ValueError(f"ClassifyDataConfig: expected normalize in {NORMALISATIONS}, got {self.normalize!r}")
        if self.unseen_labels not in UNSEEN_LABELS:
            raise ValueError(f"ClassifyDataConfig: expected unseen_labels in {UNSEEN_LABELS}, got {self.unseen_labels!r}")
        if self.min_freq < 1 or self.max_vocab < 0 or self.max_length < 0 or self.frame < 1:
            raise ValueError("ClassifyDataConfig: expected min_freq >= 1, max_vocab >= 0, max_length >= 0 and frame >= 1, "
                             f"got {self.min_freq}, {self.max_vocab}, {self.max_length}, {self.frame}")
        if not 0 <= self.validation_fraction < 1:
            raise ValueError(f"ClassifyDataConfig: expected validation_fraction in [0, 1), got {self.validation_fraction}")


@dataclass
class ClassifyModelConfig:
    """The (bi)LSTM encoder and its pooling."""

    embedding_dim: int = option(128, "text: size of the learned word embeddings (no pretrained vectors)")
    hidden_size: int = option(128, "LSTM units per layer and direction")
    num_layers: int = option(1, "stacked LSTM layers")
    bidirectional: bool = option(True, "read each sequence in both directions")
    pooling: str = option("max", "how the steps become one vector: last, mean, max or attention")
    cell: str = option("lstm", "LSTM variant: lstm, peephole or layernorm")
    dropout: float = option(0.3, "dropout on the pooled features and between LSTM layers")
    embedding_dropout: float = option(0.2, "text: dropout on the word embeddings")
    word_dropout: float = option(0.0, "text: in training, replace words by <unk> with this probability (teaches the <unk> vector)")
    conv_channels: list[int] = option([], "series: a convolutional branch beside the LSTM (LSTM-FCN, Karim et al. 2017) "
                                          "with these filters per block, e.g. 128,256,128; empty: none")
    conv_kernels: list[int] = option([8, 5, 3], "series: kernel size of each convolutional block (one per conv_channels entry)")
    ensemble: int = option(1, "train this many networks (seeds train.seed, train.seed+1, ...) and average their class "
                              "probabilities; steadier on small data sets (1: one network)")

    def __post_init__(self):
        if self.conv_channels and len(self.conv_kernels) != len(self.conv_channels):
            raise ValueError(f"ClassifyModelConfig: expected one conv_kernels entry per conv_channels entry, got "
                             f"{self.conv_kernels} for {self.conv_channels}")
        if any(v < 1 for v in [*self.conv_channels, *self.conv_kernels]):
            raise ValueError(f"ClassifyModelConfig: expected conv_channels and conv_kernels >= 1, got "
                             f"{self.conv_channels} and {self.conv_kernels}")
        if self.ensemble < 1:
            raise ValueError(f"ClassifyModelConfig: expected ensemble >= 1 (networks), got {self.ensemble}")
        if self.pooling not in POOLINGS:
            raise ValueError(f"ClassifyModelConfig: expected pooling in {POOLINGS}, got {self.pooling!r}")
        if self.cell not in ("lstm", "peephole", "layernorm"):
            raise ValueError(f"ClassifyModelConfig: expected cell lstm, peephole or layernorm, got {self.cell!r}")
        for name in ("embedding_dim", "hidden_size", "num_layers"):
            if getattr(self, name) < 1:
                raise ValueError(f"ClassifyModelConfig: expected {name} >= 1, got {getattr(self, name)}")
        for name in ("dropout", "embedding_dropout", "word_dropout"):
            if not 0 <= getattr(self, name) < 1:
                raise ValueError(f"ClassifyModelConfig: expected {name} in [0, 1), got {getattr(self, name)}")


def _default_train() -> TrainConfig:
    return TrainConfig(epochs=20, batch_size=64, lr=2e-3, early_stopping=3, monitor="val_error", schedule="none")


@dataclass
class ClassifyConfig:
    """A sequence-classification run."""

    data: ClassifyDataConfig = section(ClassifyDataConfig)
    model: ClassifyModelConfig = section(ClassifyModelConfig)
    train: TrainConfig = field(default_factory=_default_train, metadata={"help": "the fit loop"})
