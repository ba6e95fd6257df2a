"""Language modelling and generation: character, word and subword LSTM language models.

- :mod:`.config`: :class:`LMConfig` (data, model, bptt, run, train sections).
- :mod:`.corpus`: read, split (nanoGPT's 90/10) and tokenise a text file.
- :mod:`.model`: :class:`LanguageModel` (embedding -> lstmkit.LSTM -> tied decoder).
- :mod:`.streams`: truncated BPTT over parallel streams with the state carried.
- :mod:`.metrics`: exact loss, perplexity and bits per character.
- :mod:`.sampling` and :mod:`.generate`: temperature, top-k, top-p, priming, streaming.
- :mod:`.api`: ``train``, ``evaluate``, ``generate_text``, ``load_lm`` and run folders.

Submodules load on demand, so ``import lstmkit.tasks.lm`` stays light.
"""

__all__ = ["LMConfig", "LanguageModel", "load_lm"]


def __getattr__(name):
    if name == "LMConfig":
        from .config import LMConfig

        return LMConfig
    if name == "LanguageModel":
        from .model import LanguageModel

        return LanguageModel
    if name == "load_lm":
        from .api import load_lm

        return load_lm
    raise AttributeError(f"module 'lstmkit.tasks.lm' has no attribute {name!r}")
