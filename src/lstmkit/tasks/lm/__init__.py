"""Language modelling and generation: character, word and subword LSTM language models.

- :mod:`.estimator`: :class:`LanguageModel` (``lstmkit.LanguageModel``): ``fit(text)``,
  ``generate``, ``perplexity``, ``evaluate``, ``gate_traces``, ``save``/``load``.
- :mod:`.config`: :class:`LMConfig` (data, model, bptt, run, train sections).
- :mod:`.corpus`: read, split (nanoGPT's 90/10) and tokenise text.
- :mod:`.model`: :class:`LMNet`, the network (embedding -> lstmkit.LSTM -> tied decoder).
- :mod:`.streams`: truncated BPTT over parallel streams with the state carried.
- :mod:`.metrics`: exact loss, perplexity and bits per character.
- :mod:`.sampling` and :mod:`.generate`: temperature, top-k, top-p, priming, streaming.
- :mod:`.run_folder` and :mod:`.report`: the files of ``lstmkit lm train`` (run folder, report).

Submodules load on demand, so ``import lstmkit.tasks.lm`` stays light.
"""

__all__ = ["LMConfig", "LanguageModel", "LMNet"]


def __getattr__(name):
    if name == "LMConfig":
        from .config import LMConfig

        return LMConfig
    if name == "LanguageModel":
        from .estimator import LanguageModel

        return LanguageModel
    if name == "LMNet":
        from .model import LMNet

        return LMNet
    raise AttributeError(f"module 'lstmkit.tasks.lm' has no attribute {name!r}")
