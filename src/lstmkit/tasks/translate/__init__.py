"""Machine translation: an attention LSTM encoder-decoder from a file of sentence pairs to BLEU and alignments.

- :mod:`.config`: :class:`TranslateConfig` (data, split, model, transformer, decode, run, train sections).
- :mod:`.pairs`: read pair files (malformed lines are errors naming the line, or skipped and counted),
  split by source sentence, group the references of a source.
- :mod:`.tokens`: BPE or word tokenisers for each language, padded id tensors.
- :mod:`.attention`, :mod:`.seq2seq`: additive and multiplicative attention; the BiLSTM encoder and the
  LSTM decoder with input feeding (:class:`Seq2SeqNet`).
- :mod:`.transformer`: the ``torch.nn.Transformer`` baseline sized to the same parameter count.
- :mod:`.search`: greedy and batched beam search with length normalisation.
- :mod:`.training`: the loss, the wall-clock budget and the warm-up schedule, through :func:`lstmkit.train.fit`.
- :mod:`.metrics`: multi-reference BLEU and chrF (sacrebleu).
- :mod:`.estimator`: :class:`Translator`; :mod:`.report`: the HTML report.

Submodules load on demand, so ``import lstmkit.tasks.translate`` stays light.
"""

__all__ = ["TranslateConfig", "Translator"]


def __getattr__(name):
    if name == "TranslateConfig":
        from .config import TranslateConfig

        return TranslateConfig
    if name == "Translator":
        from .estimator import Translator

        return Translator
    raise AttributeError(f"module 'lstmkit.tasks.translate' has no attribute {name!r}")
