"""Configuration of a translation run (YAML keys, ``--section.field`` options, ``Translator`` keywords).

Every field has a default and a help line; ``lstmkit translate train --help``
lists them all. The defaults are choices for a small corpus of short
sentences that hold for any language pair (subword vocabularies of a few
thousand, dropout, label smoothing, early stopping on the development loss);
nothing here is fitted to the shipped English-French file.

Nothing here imports torch, so the command line stays fast.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ...config import option, section
from ...train.config import TrainConfig

TOKENIZERS = ("bpe", "word")
DELIMITERS = ("auto", "tab", "comma")
CELLS = ("lstm", "peephole", "layernorm")
ATTENTIONS = ("additive", "multiplicative", "none")
BASELINES = ("no-attention", "transformer")


@dataclass
class DataConfig:
    """Which file of sentence pairs and how sentences become tokens."""

    path: str = option("", "TSV/CSV of pairs, one `source<TAB>target` a line, no header; empty: "
                           "../shared/data/translation/eng-fra.tsv beside the repository")
    delimiter: str = option("auto", "column separator: auto (comma for .csv, tab otherwise), tab or comma")
    header: bool = option(False, "the first line names the columns and is skipped")
    skip_bad_lines: bool = option(False, "skip malformed lines (one column, an empty side) and count them in the "
                                         "summary, instead of stopping at the first with an error naming the line")
    max_pairs: int = option(0, "read only the first N pairs (0: all), for quick runs")
    tokenizer: str = option("bpe", "bpe (subwords, tokenizers library: an unseen word splits into known pieces) or "
                                   "word (whole words and punctuation marks; unseen ones become <unk>)")
    vocab_size: int = option(2000, "per language: bpe, the largest vocabulary; word, keep at most this many words (0: all). "
                                   "Small vocabularies suit small corpora (Sennrich & Zhang 2019)")
    min_freq: int = option(2, "bpe: merge a pair seen at least this often; word: words seen fewer times become <unk>")
    lowercase: bool = option(False, "lower-case the source side (the target keeps its case: BLEU is case-sensitive)")
    max_length: int = option(0, "drop training pairs with more tokens than this on either side (0: keep all)")

    def __post_init__(self):
        if self.delimiter not in DELIMITERS:
            raise ValueError(f"DataConfig: expected delimiter in {DELIMITERS}, got {self.delimiter!r}")
        if self.tokenizer not in TOKENIZERS:
            raise ValueError(f"DataConfig: expected tokenizer in {TOKENIZERS}, got {self.tokenizer!r}")
        if self.max_pairs < 0 or self.vocab_size < 0 or self.max_length < 0:
            raise ValueError(f"DataConfig: expected max_pairs, vocab_size and max_length >= 0, "
                             f"got {self.max_pairs}, {self.vocab_size}, {self.max_length}")
        if self.tokenizer == "bpe" and self.vocab_size and self.vocab_size < 8:
            raise ValueError(f"DataConfig: expected vocab_size >= 8 (or 0) for bpe, got {self.vocab_size}")
        if self.min_freq < 1:
            raise ValueError(f"DataConfig: expected min_freq >= 1, got {self.min_freq}")


@dataclass
class SplitConfig:
    """Train, development and test parts, by source sentence."""

    dev_fraction: float = option(0.1, "share of the distinct source sentences held out for early stopping")
    test_fraction: float = option(0.1, "share of the distinct source sentences held out for the final scores (0: none)")
    seed: int = option(0, "salt of the hash that assigns each source sentence to a part")

    def __post_init__(self):
        if not 0 <= self.dev_fraction < 1 or not 0 <= self.test_fraction < 1 \
                or self.dev_fraction + self.test_fraction >= 1:
            raise ValueError(f"SplitConfig: expected dev_fraction and test_fraction in [0, 1) with a sum below 1, "
                             f"got {self.dev_fraction} and {self.test_fraction}")
        if self.seed < 0:
            raise ValueError(f"SplitConfig: expected seed >= 0, got {self.seed}")


@dataclass
class ModelConfig:
    """Bidirectional LSTM encoder -> LSTM decoder with attention (Bahdanau et al. 2015; Luong et al. 2015)."""

    cell: str = option("lstm", "LSTM cell of the encoder and decoder: lstm, peephole or layernorm")
    embedding_size: int = option(256, "token embedding size, both languages")
    hidden_size: int = option(256, "decoder units; the encoder has hidden_size/2 per direction")
    encoder_layers: int = option(2, "stacked bidirectional encoder layers")
    decoder_layers: int = option(1, "stacked decoder layers")
    attention: str = option("multiplicative", "attention score: additive (Bahdanau), multiplicative (Luong's "
                                              "'general') or none (the plain encoder-decoder)")
    input_feeding: bool = option(True, "feed the previous attentional vector to the decoder (Luong et al. 2015)")
    dropout: float = option(0.3, "dropout on embeddings, between layers and before the output layer")
    word_dropout: float = option(0.1, "in training, the share of source and target tokens whose whole embedding "
                                      "is zeroed (word dropout, Sennrich et al. 2016; Gal & Ghahramani 2016)")
    tie_embeddings: bool = option(True, "share the target embedding with the output layer (needs embedding_size "
                                        "== hidden_size)")
    teacher_forcing: float = option(1.0, "share of training steps fed the reference token (1: always; below 1 the "
                                         "model's own greedy choice the rest of the time)")
    label_smoothing: float = option(0.1, "label smoothing of the training loss (Szegedy et al. 2016)")
    backend: str = option("auto", "recurrence engine of the encoder: auto, cpu, torch or reference")

    def __post_init__(self):
        from lstmkit.kernels.registry import check_backend_name

        check_backend_name("ModelConfig", self.backend)
        if self.cell not in CELLS:
            raise ValueError(f"ModelConfig: expected cell in {CELLS}, got {self.cell!r}")
        if self.attention not in ATTENTIONS:
            raise ValueError(f"ModelConfig: expected attention in {ATTENTIONS}, got {self.attention!r}")
        for name in ("embedding_size", "hidden_size", "encoder_layers", "decoder_layers"):
            if getattr(self, name) < 1:
                raise ValueError(f"ModelConfig: expected {name} >= 1, got {getattr(self, name)}")
        if self.hidden_size % 2:
            raise ValueError(f"ModelConfig: expected an even hidden_size (split over two encoder directions), "
                             f"got {self.hidden_size}")
        if self.tie_embeddings and self.embedding_size != self.hidden_size:
            raise ValueError(f"ModelConfig: tie_embeddings needs embedding_size == hidden_size, got "
                             f"{self.embedding_size} and {self.hidden_size}")
        for name in ("dropout", "word_dropout", "label_smoothing"):
            if not 0 <= getattr(self, name) < 1:
                raise ValueError(f"ModelConfig: expected {name} in [0, 1), got {getattr(self, name)}")
        if not 0 <= self.teacher_forcing <= 1:
            raise ValueError(f"ModelConfig: expected teacher_forcing in [0, 1], got {self.teacher_forcing}")


@dataclass
class TransformerConfig:
    """The Transformer baseline (``torch.nn.Transformer``, pre-norm) and its recipe."""

    d_model: int = option(0, "model width; 0: the multiple of 8*heads whose parameter count is closest to the "
                             "LSTM model's")
    heads: int = option(4, "attention heads")
    layers: int = option(3, "encoder layers and decoder layers (each)")
    ffn_ratio: int = option(2, "feed-forward width = ffn_ratio x d_model")
    dropout: float = option(0.2, "dropout (residual, attention, feed-forward)")
    lr: float = option(1e-3, "peak learning rate, reached after the warm-up, then decayed as 1/sqrt(step)")
    warmup_steps: int = option(0, "linear warm-up steps; 0: two epochs of batches, at most 4000 (Vaswani et al. 2017)")

    def __post_init__(self):
        if self.d_model < 0 or self.warmup_steps < 0:
            raise ValueError(f"TransformerConfig: expected d_model and warmup_steps >= 0, got {self.d_model}, "
                             f"{self.warmup_steps}")
        if self.heads < 1 or self.layers < 1 or self.ffn_ratio < 1:
            raise ValueError(f"TransformerConfig: expected heads, layers and ffn_ratio >= 1, got {self.heads}, "
                             f"{self.layers}, {self.ffn_ratio}")
        if self.d_model and self.d_model % self.heads:
            raise ValueError(f"TransformerConfig: expected d_model divisible by heads ({self.heads}), got {self.d_model}")
        if not 0 <= self.dropout < 1 or not self.lr > 0:
            raise ValueError(f"TransformerConfig: expected dropout in [0, 1) and lr > 0, got {self.dropout}, {self.lr}")


@dataclass
class DecodeConfig:
    """How translations are searched for."""

    beam: int = option(5, "beam width (1: greedy)")
    length_penalty: float = option(0.6, "alpha of the length normalisation ((5 + length) / 6) ** alpha that final "
                                        "scores are divided by (Wu et al. 2016); 0: none")
    max_length: int = option(0, "most target tokens per sentence; 0: 2 x source tokens + 10")
    batch_size: int = option(64, "source sentences decoded together")

    def __post_init__(self):
        if self.beam < 1 or self.batch_size < 1 or self.max_length < 0:
            raise ValueError(f"DecodeConfig: expected beam >= 1, batch_size >= 1 and max_length >= 0, "
                             f"got {self.beam}, {self.batch_size}, {self.max_length}")
        if self.length_penalty < 0:
            raise ValueError(f"DecodeConfig: expected length_penalty >= 0, got {self.length_penalty}")


@dataclass
class RunConfig:
    """Time budget, baselines and what the run writes besides the model."""

    max_minutes: float = option(0.0, "train each model (the LSTM and every baseline) for at most this many minutes "
                                     "of wall-clock time (0: no limit); the best weights on the dev part are kept")
    anneal: bool = option(False, "with max_minutes: the LSTM models' learning rate falls linearly from train.lr to "
                                 "zero over the budget (budgeted training, Li et al. 2020), without early "
                                 "stopping, instead of following train.schedule")
    baselines: list[str] = option(list(BASELINES), "baselines trained in the same run on the same split, tokens and "
                                                   "budget: no-attention, transformer (empty: none)")
    alignments: int = option(4, "attention heatmaps in the report for this many test sentences (when no "
                                "sentences are chosen)")
    out_dir: str = option("", "output folder of `lstmkit translate train`; empty: runs/translate-<data name>")

    def __post_init__(self):
        if self.max_minutes < 0 or self.alignments < 0:
            raise ValueError(f"RunConfig: expected max_minutes and alignments >= 0, got {self.max_minutes}, "
                             f"{self.alignments}")
        bad = [b for b in self.baselines if b not in BASELINES]
        if bad:
            raise ValueError(f"RunConfig: expected baselines among {BASELINES}, got {bad}")
        if len(set(self.baselines)) != len(self.baselines):
            raise ValueError(f"RunConfig: expected each baseline once, got {self.baselines}")


def _default_train() -> TrainConfig:
    # one thread: the work per step (a batch of short sentences, a decoder stepped token by token) is too small
    # for intra-op threads to pay off, and on a busy machine their synchronisation makes each step many times slower
    return TrainConfig(epochs=100, batch_size=64, lr=3e-3, schedule="plateau", grad_clip=1.0, early_stopping=6,
                       num_threads=1)


@dataclass
class TranslateConfig:
    """A translation run."""

    data: DataConfig = section(DataConfig)
    split: SplitConfig = section(SplitConfig)
    model: ModelConfig = section(ModelConfig)
    transformer: TransformerConfig = section(TransformerConfig)
    decode: DecodeConfig = section(DecodeConfig)
    run: RunConfig = section(RunConfig)
    train: TrainConfig = field(default_factory=_default_train, metadata={
        "help": "the fit loop, shared by the LSTM models and the Transformer (which has its own lr and warm-up); "
                "early stopping and the plateau schedule follow the token loss on the dev part"})


__all__ = ["TranslateConfig", "DataConfig", "SplitConfig", "ModelConfig", "TransformerConfig", "DecodeConfig",
           "RunConfig", "BASELINES", "ATTENTIONS"]
