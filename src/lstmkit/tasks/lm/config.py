"""Configuration of a language-modelling run (YAML keys and ``--section.field`` options).

Every field has a default and a help line; ``lstmkit lm train --help`` lists
them all, ``--config run.yaml`` sets them with the same nesting, and
``--model.hidden_size 512`` overrides one. The defaults are a small
character model (2 x 256 LSTM, 10 epochs at most); the configuration for the
Tiny Shakespeare quality bar is ``QUALITY`` in ``benchmarks/eval_lm.py``
(results in ``benchmarks/RESULTS_lm.md``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ...config import option, section
from ...train.config import TrainConfig

TOKENIZERS = ("char", "word", "bpe")
CELLS = ("lstm", "peephole", "layernorm")


@dataclass
class DataConfig:
    """Which text, how it is split and how it becomes tokens."""

    path: str = option("", "UTF-8 text file; empty: ../shared/data/tinyshakespeare/input.txt beside the repository")
    val_fraction: float = option(0.1, "the last fraction of the characters is the validation text (nanoGPT's split: 0.1)")
    max_chars: int = option(0, "read only the first N characters of the file (0: all), for quick runs")
    tokenizer: str = option("char", "char, word (whitespace-separated words) or bpe (subwords, tokenizers library)")
    vocab_size: int = option(2000, "bpe: the largest vocabulary; word: keep at most this many words (0: all)")
    min_freq: int = option(1, "word and bpe: tokens seen fewer times in training become <unk> / are not merged")
    lowercase: bool = option(False, "word and bpe: lower-case the text first")

    def __post_init__(self):
        if self.tokenizer not in TOKENIZERS:
            raise ValueError(f"DataConfig: expected tokenizer in {TOKENIZERS}, got {self.tokenizer!r}")
        if not 0 < self.val_fraction < 1:
            raise ValueError(f"DataConfig: expected val_fraction in (0, 1), got {self.val_fraction}")
        if self.max_chars < 0 or self.vocab_size < 0 or self.min_freq < 1:
            raise ValueError(f"DataConfig: expected max_chars >= 0, vocab_size >= 0 and min_freq >= 1, "
                             f"got {self.max_chars}, {self.vocab_size}, {self.min_freq}")


@dataclass
class ModelConfig:
    """Embedding -> LSTM stack -> (projection) -> decoder over the vocabulary."""

    cell: str = option("lstm", "LSTM cell: lstm, peephole or layernorm")
    hidden_size: int = option(256, "LSTM units per layer")
    num_layers: int = option(2, "stacked LSTM layers")
    embedding_size: int = option(0, "token embedding size; 0: the LSTM output size (needed for tie_weights)")
    proj_size: int = option(0, "LSTMP projection of each layer's output (0: none)")
    tie_weights: bool = option(True, "share the embedding matrix with the decoder (Press & Wolf 2017)")
    dropout: float = option(0.2, "dropout between LSTM layers")
    embedding_dropout: float = option(0.0, "dropout on the embeddings")
    output_dropout: float = option(0.2, "dropout on the last LSTM layer's output, before the decoder")
    input_dropout: float = option(0.0, "variational dropout on every LSTM layer's input (one mask per chunk)")
    hidden_dropout: float = option(0.0, "variational dropout on h_{t-1} in the recurrent product (one mask per chunk)")
    zoneout: float = option(0.0, "zoneout probability on the hidden and cell state")
    forget_bias: float | None = option(None, "initial forget-gate bias (1.0: Jozefowicz et al. 2015); none: torch's init")
    backend: str = option("auto", "recurrence engine: auto, cpu, torch, reference or triton")

    def __post_init__(self):
        from lstmkit.kernels.registry import check_backend_name

        check_backend_name("ModelConfig", self.backend)
        if self.cell not in CELLS:
            raise ValueError(f"ModelConfig: expected cell in {CELLS}, got {self.cell!r}")
        if self.hidden_size < 1 or self.num_layers < 1:
            raise ValueError(f"ModelConfig: expected hidden_size >= 1 and num_layers >= 1, "
                             f"got {self.hidden_size}, {self.num_layers}")
        if self.embedding_size < 0 or self.proj_size < 0:
            raise ValueError(f"ModelConfig: expected embedding_size >= 0 and proj_size >= 0, "
                             f"got {self.embedding_size}, {self.proj_size}")
        if self.proj_size >= self.hidden_size:
            raise ValueError(f"ModelConfig: expected proj_size < hidden_size ({self.hidden_size}), got {self.proj_size}")
        for name in ("dropout", "embedding_dropout", "output_dropout", "input_dropout", "hidden_dropout", "zoneout"):
            if not 0 <= getattr(self, name) < 1:
                raise ValueError(f"ModelConfig: expected {name} in [0, 1), got {getattr(self, name)}")
        out = self.proj_size or self.hidden_size
        if self.tie_weights and self.embedding_size not in (0, out):
            raise ValueError(f"ModelConfig: tie_weights needs embedding_size equal to the LSTM output size "
                             f"({out} = proj_size or hidden_size) or 0, got embedding_size {self.embedding_size}")

    @property
    def output_size(self) -> int:
        return self.proj_size or self.hidden_size

    @property
    def embedding_dim(self) -> int:
        return self.embedding_size or self.output_size


@dataclass
class BPTTConfig:
    """Truncated backpropagation through time over parallel streams of the text."""

    length: int = option(128, "tokens per chunk: gradients flow back at most this far; the state carries on")
    random_offset: bool = option(True, "start each training epoch at a random offset below `length`, so chunk borders move")
    eval_batch_size: int = option(32, "parallel streams when scoring the validation text")

    def __post_init__(self):
        if self.length < 1 or self.eval_batch_size < 1:
            raise ValueError(f"BPTTConfig: expected length >= 1 and eval_batch_size >= 1, "
                             f"got {self.length}, {self.eval_batch_size}")


@dataclass
class RunConfig:
    """Time budget and what the run writes besides the model."""

    max_minutes: float = option(0.0, "train for at most this many minutes (0: no limit): stop at the last epoch "
                                     "border that fits; the best weights are kept")
    anneal_over_time: bool = option(False, "with max_minutes: cosine-anneal the learning rate over the time budget "
                                           "(to 1% of train.lr) instead of over epochs; needs train.schedule none")
    sample_length: int = option(500, "tokens of sample text written to sample.txt and the report (0: none)")
    temperature: float = option(0.8, "sampling temperature of that sample")
    out_dir: str = option("", "output folder; empty: runs/lm-<data name>")

    def __post_init__(self):
        if self.max_minutes < 0 or self.sample_length < 0 or self.temperature < 0:
            raise ValueError(f"RunConfig: expected max_minutes, sample_length and temperature >= 0, "
                             f"got {self.max_minutes}, {self.sample_length}, {self.temperature}")
        if self.anneal_over_time and not self.max_minutes:
            raise ValueError("RunConfig: anneal_over_time needs a time budget, got max_minutes 0")


def _default_train() -> TrainConfig:
    return TrainConfig(epochs=10, batch_size=32, lr=2e-3, schedule="cosine", grad_clip=1.0, early_stopping=3)


@dataclass
class LMConfig:
    """A language-modelling run."""

    data: DataConfig = section(DataConfig)
    model: ModelConfig = section(ModelConfig)
    bptt: BPTTConfig = section(BPTTConfig)
    run: RunConfig = section(RunConfig)
    train: TrainConfig = field(default_factory=_default_train,
                               metadata={"help": "the fit loop; batch_size is the number of parallel text streams"})

    def __post_init__(self):
        if self.run.anneal_over_time and self.train.schedule != "none":
            raise ValueError(f"LMConfig: run.anneal_over_time sets the learning rate itself; expected train.schedule "
                             f"none, got {self.train.schedule!r}")
