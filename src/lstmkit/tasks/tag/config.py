"""Configuration of a sequence-tagging run (YAML keys and ``--section.field`` options)."""

from __future__ import annotations

from dataclasses import dataclass, field

from ...config import option, section
from ...train.config import TrainConfig

INPUT_SCHEMES = ("auto", "IOB1", "IOB2", "BIOES", "IO")
MODEL_SCHEMES = ("IOB2", "BIOES")
CHAR_ENCODERS = ("cnn", "lstm", "none")


@dataclass
class TagDataConfig:
    """How CoNLL files are read and turned into features."""

    scheme: str = option("auto", "tag scheme of the files: auto (detected; a mix of schemes is an error), IOB1, "
                         "IOB2, BIOES or IO (tags without prefixes, such as part-of-speech tags)")
    model_scheme: str = option("BIOES", "scheme the CRF learns (IOB2 or BIOES); predictions are written back in the files' scheme")
    lowercase: bool = option(True, "word embeddings see lower-cased words (case goes to the character and shape features)")
    digits_to_zero: bool = option(True, "word embeddings see every digit as 0 (dates and numbers share vectors)")
    min_freq: int = option(1, "words seen fewer times in training become <unk>")
    max_length: int = option(200, "sentences longer than this are tagged in pieces of max_length tokens (a note says how many)")
    max_word_length: int = option(30, "characters per word given to the character encoder (longer words keep their first ones)")
    strict: bool = option(False, "entity scoring: false = conlleval (lenient), true = seqeval strict mode")

    def __post_init__(self):
        if self.scheme not in INPUT_SCHEMES:
            raise ValueError(f"TagDataConfig: expected scheme in {INPUT_SCHEMES}, got {self.scheme!r}")
        if self.model_scheme not in MODEL_SCHEMES:
            raise ValueError(f"TagDataConfig: expected model_scheme in {MODEL_SCHEMES}, got {self.model_scheme!r}")
        if self.min_freq < 1 or self.max_length < 1 or self.max_word_length < 1:
            raise ValueError("TagDataConfig: expected min_freq, max_length and max_word_length >= 1, "
                             f"got {self.min_freq}, {self.max_length}, {self.max_word_length}")


@dataclass
class TagModelConfig:
    """Word + character + shape features -> BiLSTM -> CRF."""

    word_dim: int = option(100, "size of the learned word embeddings (no pretrained vectors)")
    char_encoder: str = option("cnn", "character features: cnn (Ma & Hovy 2016), lstm (Lample et al. 2016) or none")
    char_dim: int = option(30, "size of the character embeddings")
    char_features: int = option(50, "character features per word (CNN filters, or 2 x LSTM units)")
    shape_dim: int = option(10, "size of the word-shape (capitalisation, digits, punctuation) embedding; 0: none")
    hidden_size: int = option(200, "LSTM units per direction")
    num_layers: int = option(1, "stacked BiLSTM layers")
    cell: str = option("lstm", "LSTM variant: lstm, peephole or layernorm")
    backend: str = option("auto", "recurrence engine: auto (the fastest measured for the configuration), cpu, torch, reference or triton")
    dropout: float = option(0.5, "dropout on the word features and on the BiLSTM output")
    word_dropout: float = option(0.05, "in training, replace words by <unk> with this probability (teaches the <unk> vector)")
    crf: bool = option(True, "CRF output layer with scheme constraints (false: independent softmax per token)")

    def __post_init__(self):
        if self.char_encoder not in CHAR_ENCODERS:
            raise ValueError(f"TagModelConfig: expected char_encoder in {CHAR_ENCODERS}, got {self.char_encoder!r}")
        if self.cell not in ("lstm", "peephole", "layernorm"):
            raise ValueError(f"TagModelConfig: expected cell lstm, peephole or layernorm, got {self.cell!r}")
        from lstmkit.backend_names import check_backend_name

        check_backend_name("TagModelConfig", self.backend)
        for name in ("word_dim", "char_dim", "char_features", "hidden_size", "num_layers"):
            if getattr(self, name) < 1:
                raise ValueError(f"TagModelConfig: expected {name} >= 1, got {getattr(self, name)}")
        if self.shape_dim < 0:
            raise ValueError(f"TagModelConfig: expected shape_dim >= 0, got {self.shape_dim}")
        for name in ("dropout", "word_dropout"):
            if not 0 <= getattr(self, name) < 1:
                raise ValueError(f"TagModelConfig: expected {name} in [0, 1), got {getattr(self, name)}")


def _default_train() -> TrainConfig:
    return TrainConfig(epochs=40, batch_size=32, lr=2e-3, early_stopping=6, monitor="val_error", schedule="none", grad_clip=5.0)


@dataclass
class TagConfig:
    """A sequence-tagging run."""

    data: TagDataConfig = section(TagDataConfig)
    model: TagModelConfig = section(TagModelConfig)
    train: TrainConfig = field(default_factory=_default_train, metadata={"help": "the fit loop (early stopping on dev entity F1: val_error = 1 - F1)"})
