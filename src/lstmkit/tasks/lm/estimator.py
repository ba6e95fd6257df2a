"""``lstmkit.LanguageModel``: fit an LSTM language model on text, sample from it, score text, look at its gates."""

from __future__ import annotations

import time
import warnings
from pathlib import Path
from typing import Any, Iterable, Iterator

from ..estimator import Estimator
from .config import LMConfig
from .model import KIND

TOKENIZER_FILE = "tokenizer.json"


class VocabularyWarning(UserWarning):
    """Text given to a trained model holds characters or words its vocabulary lacks (they are read as ``<unk>``)."""


class LanguageModel(Estimator):
    r"""A character, word or subword LSTM language model, fitted on text in memory.

    The network (:class:`~lstmkit.tasks.lm.model.LMNet`) is an embedding, a
    stack of :class:`lstmkit.LSTM` layers and a decoder tied to the embedding;
    it is trained by truncated backpropagation through time over ``batch_size``
    parallel streams of the text, with the state carried across chunks of
    ``length`` tokens, and it predicts the next token:

    .. math::
        p(x_{t+1} \mid x_{\le t}) = \mathrm{softmax}(W h_t + b), \qquad
        \text{loss} = -\tfrac{1}{N} \textstyle\sum_t \ln p(x_t \mid x_{<t}), \qquad
        \text{bpc} = \frac{N \cdot \text{loss}}{C \ln 2}

    for :math:`N` tokens of a text of :math:`C` characters.

    Args:
        config: an :class:`~lstmkit.tasks.lm.config.LMConfig` or a nested dict
            (default: its defaults, a 2 x 256 character model).
        **params: any configuration field by name, e.g. ``tokenizer="char"``,
            ``hidden_size=256``, ``num_layers=2``, ``dropout=0.2``,
            ``length=128`` (BPTT chunk), ``epochs=10``, ``batch_size=32``,
            ``lr=2e-3``, ``seed=0``, ``max_chars=0``, ``val_fraction=0.1``
            (see :meth:`get_params` for all of them). ``path`` only records
            where the text came from (the estimator reads no file).

    Attributes (after :meth:`fit` or :meth:`load`):
        model_: the trained :class:`~lstmkit.tasks.lm.model.LMNet` (eval mode).
        tokenizer_: its tokenizer (char, word or BPE, with ``<unk>``).
        context_: token ids every text is read after (a newline for character models).
        metrics_: after :meth:`fit`: ``{"val": ..., "run": ..., "history": [...]}``.

    Shapes (of the network):
        ==========  ==========================================
        input       ``(B, T)`` int64 token ids
        output      logits ``(B, T, V)`` for a vocabulary of ``V``
        ==========  ==========================================

    Example::

        >>> lm = LanguageModel(hidden_size=32, num_layers=1, epochs=2, length=32, batch_size=8,
        ...                    progress_bar=False).fit("To be, or not to be: that is the question.\n" * 40)
        >>> text = lm.generate("To be", 20, temperature=0.8, seed=0)
        >>> len(text)
        20
        >>> sorted(lm.evaluate("To be, or not to be."))[:3]
        ['bits_per_token', 'bpc', 'chars']
        >>> lm.gate_traces("To be").values(0, "f").shape
        (5, 32)

    Text the vocabulary lacks is read as ``<unk>``: :meth:`generate` says so
    with a :class:`VocabularyWarning`, :meth:`evaluate` counts it in
    ``unknown_tokens``; ``<unk>`` and ``<pad>`` are never generated.
    """

    _instead_of_predict = ("use generate(prime) for text that follows a prime, score_lines(text) for the "
                           "perplexity of lines, or evaluate() for the test perplexity")

    config_class = LMConfig
    kinds = (KIND,)
    task = "lm"

    # ------------------------------------------------------------------ fit
    def fit(self, text: str | Iterable[str], val_text: str | Iterable[str] | None = None, *,
            log_dir: str | Path | None = None, resume: bool = False) -> "LanguageModel":
        """Train on ``text`` and score the validation text exactly; returns ``self``.

        Args:
            text: a string, or an iterable of strings (lines or documents,
                joined with a newline after each that lacks one). Only the
                first ``max_chars`` characters are used when that is > 0.
            val_text: validation text; default: the last ``val_fraction`` of
                ``text`` (nanoGPT's split).
            log_dir: keep Lightning's CSV log and the resumable checkpoints
                here (default: nothing is written).
            resume: continue the interrupted fit whose ``log_dir`` this is.
        """
        import torch

        from ...train import fit as fit_loop
        from ...train import seed_everything
        from .corpus import join_text, make_corpus, start_context
        from .metrics import score_text
        from .model import LMNet
        from .streams import StreamChunks, TBPTTStep

        cfg = self.config
        t0 = time.perf_counter()
        who = f"{type(self).__name__}.fit"
        source = cfg.data.path
        corpus = make_corpus(join_text(text, who), cfg.data,
                             None if val_text is None else join_text(val_text, who), source=source)
        tok = corpus.tokenizer
        self.log.info(f"loaded {source or 'the text'}: {len(corpus.train_text)} training and {len(corpus.val_text)} "
                      f"validation characters; {cfg.data.tokenizer} tokenizer, {tok.vocab_size} tokens; "
                      f"{len(corpus.train_ids)} training tokens")
        if cfg.train.num_threads:
            torch.set_num_threads(cfg.train.num_threads)
        seed_everything(cfg.train.seed, cfg.train.deterministic)
        model = LMNet(tok.vocab_size, cfg.model)
        n_params = model.num_parameters()
        self.log.info(f"model: {cfg.model.num_layers} x {cfg.model.hidden_size} {cfg.model.cell}, embedding "
                      f"{cfg.model.embedding_dim}, {'tied' if model.tied else 'untied'} decoder, {n_params:,} parameters")
        B, T = cfg.train.batch_size, cfg.bptt.length
        train_chunks = StreamChunks(corpus.train_ids, B, T, random_offset=cfg.bptt.random_offset, seed=cfg.train.seed,
                                    who=who)
        val_streams = max(1, min(cfg.bptt.eval_batch_size, len(corpus.val_ids) // 2))
        val_chunks = StreamChunks(corpus.val_ids, val_streams, T)
        callbacks, limit = [], None
        if cfg.run.max_minutes:
            from ...train.time_budget import TimeBudget

            limit = TimeBudget(cfg.run.max_minutes, anneal=cfg.run.anneal_over_time)
            callbacks.append(limit)
        t_fit = time.perf_counter()
        result = fit_loop(model, TBPTTStep(), train_chunks, val_chunks, cfg.train, out_dir=log_dir, resume=resume,
                          val_step=TBPTTStep(), callbacks=callbacks)
        fit_seconds = time.perf_counter() - t_fit
        train_seconds = result.seconds  # across resumes: the time before the checkpoint this call resumed from too
        model.eval()
        self.model_, self.tokenizer_ = model, tok
        self.context_ = start_context(tok, corpus.train_ids)
        self.source_ = {"data": source, "val_fraction": cfg.data.val_fraction, "max_chars": cfg.data.max_chars}
        t_eval = time.perf_counter()
        val = score_text(model, tok, corpus.val_text, self.context_, *self._scoring())
        eval_seconds = time.perf_counter() - t_eval
        self.log.info(f"validation: loss {val.loss:.4f} nats/token, perplexity {val.perplexity:.3f}, "
                      f"{val.bpc:.4f} bits/char ({val.tokens} tokens, {val.unknown} <unk>)")
        self.history_ = result.history
        run = {
            "data": source or "(text in memory)", "tokenizer": cfg.data.tokenizer, "vocab_size": tok.vocab_size,
            "train_tokens": len(corpus.train_ids), "val_tokens": len(corpus.val_ids), "val_given": val_text is not None,
            "parameters": n_params, "epochs": result.epochs, "steps_per_epoch": len(train_chunks),
            "train_seconds": round(train_seconds, 1), "fit_seconds": round(fit_seconds, 1),
            "eval_seconds": round(eval_seconds, 1),
            "total_seconds": round(time.perf_counter() - t0, 1),
            "stopped_by_time_limit": bool(limit and limit.stopped),
            "torch_threads": torch.get_num_threads(), "best_val_loss_per_chunk": result.best_score,
            "final_train_loss": next((r["train_loss"] for r in reversed(result.history) if "train_loss" in r), None),
        }
        self.metrics_ = {"val": val.to_dict(), "run": run, "history": result.history}
        return self

    # ------------------------------------------------------------------ scoring
    def _scoring(self, bptt: int | None = None, batch_size: int | None = None) -> tuple[int, int]:
        """Chunk length and parallel segments for exact scoring (the validation score of ``fit`` uses the defaults)."""
        bptt = max(self.config.bptt.length, 256) if bptt is None else bptt
        batch_size = self.config.bptt.eval_batch_size if batch_size is None else batch_size
        for name, v in (("bptt", bptt), ("batch_size", batch_size)):
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"{type(self).__name__}: expected {name} an int >= 1, got {v!r}")
        return bptt, batch_size

    def _score(self, text, method: str, bptt: int | None, batch_size: int | None):
        from .corpus import join_text
        from .metrics import score_text

        self._require_fitted(method)
        text = join_text(text, f"{type(self).__name__}.{method}")
        if not text:
            raise ValueError(f"{type(self).__name__}.{method}: expected some text, got an empty string")
        return score_text(self.model_, self.tokenizer_, text, self.context_, *self._scoring(bptt, batch_size))

    def evaluate(self, text: str | Iterable[str], bptt: int | None = None,
                 batch_size: int | None = None) -> dict[str, float]:
        """Exact scores of ``text``, read with the state carried over the whole of it.

        Returns ``{"loss" (nats/token), "perplexity", "bpc" (bits/char),
        "bits_per_token", "nats", "tokens", "chars", "unknown_tokens"}``. The
        text is cut into ``batch_size`` contiguous segments (default
        ``eval_batch_size``), each read after the start context in chunks of
        ``bptt`` tokens (default ``max(length, 256)``), the way ``fit`` scores
        its validation text; see :mod:`lstmkit.tasks.lm.metrics`.
        """
        return self._score(text, "evaluate", bptt, batch_size).to_dict()

    def perplexity(self, text: str | Iterable[str]) -> float:
        """``exp(loss)`` of ``text`` per token (see :meth:`evaluate`)."""
        return self._score(text, "perplexity", None, None).perplexity

    def bits_per_char(self, text: str | Iterable[str]) -> float:
        """Bits per character of ``text``: total ``-ln p`` over ``chars * ln 2`` (see :meth:`evaluate`)."""
        return self._score(text, "bits_per_char", None, None).bpc

    def score_lines(self, text: str, bptt: int | None = None,
                    batch_size: int | None = None) -> tuple[list[dict[str, Any]], int]:
        """Every non-empty line of ``text`` scored on its own: ``(rows, empty lines skipped)``.

        Each row: ``line`` (1-based), ``text``, ``tokens``, ``chars``,
        ``nats``, ``loss``, ``perplexity``, ``bpc``, ``unknown_tokens``.
        """
        from .metrics import score_lines

        self._require_fitted("score_lines")
        if not isinstance(text, str):  # lines as a list
            lines = list(text) if hasattr(text, "__iter__") and not isinstance(text, bytes) else None
            if lines is None or not all(isinstance(t, str) for t in lines):
                raise TypeError("LanguageModel.score_lines: expected text (a string) or a list of lines (strings)")
            text = "\n".join(lines)
        lines, skipped = score_lines(self.model_, self.tokenizer_, text, self.context_, *self._scoring(bptt, batch_size))
        rows = [{"line": s.line, "text": s.text, "tokens": s.score.tokens, "chars": s.score.chars, "nats": s.score.nats,
                 "loss": s.score.loss, "perplexity": s.score.perplexity, "bpc": s.score.bpc,
                 "unknown_tokens": s.score.unknown} for s in lines]
        return rows, skipped

    # ------------------------------------------------------------------ generate
    def unknown_pieces(self, text: str) -> list[str]:
        """The distinct characters (char model) or words (word model) of ``text`` that the vocabulary lacks,
        in order of appearance; for a subword model, one ``'<unk>'`` per unknown token."""
        self._require_fitted("unknown_pieces")
        tok = self.tokenizer_
        unk = tok.unk_id
        if unk is None or not text:
            return []
        ids = tok.encode(text)
        if getattr(tok, "kind", "") in ("char", "word"):
            pieces = tok.tokenize(text)
            if len(pieces) == len(ids):
                seen: dict[str, None] = {}
                for piece, i in zip(pieces, ids):
                    if i == unk:
                        seen.setdefault(piece, None)
                return list(seen)
        return ["<unk>"] * ids.count(unk)

    def generate(self, prime: str = "", length: int = 500, temperature: float = 1.0, top_k: int | None = None,
                 top_p: float | None = None, seed: int | None = None, stream: bool = False) -> str | Iterator[str]:
        """Continue ``prime`` by ``length`` tokens; the continuation (without the prime) as a string.

        Args:
            prime: the priming text (default: none; a character model starts
                as if after a newline). Characters or words the vocabulary
                lacks are read as ``<unk>``, with a :class:`VocabularyWarning`.
            length: tokens to generate (characters for a character model).
            temperature: ``0`` is greedy; below 1 more conservative. Default 1.
            top_k: sample among the ``k`` most likely tokens only.
            top_p: sample from the nucleus of probability mass ``p``.
            seed: the same seed gives the same text (default: fresh randomness).
            stream: return an iterator that yields each piece of text as soon
                as its token is drawn (nothing runs until the first ``next``).
        """
        from .generate import check_generate_args, generate_pieces

        self._require_fitted("generate")
        who = f"{type(self).__name__}.generate"
        if not isinstance(prime, str):
            raise ValueError(f"{who}: expected prime as a str, got {type(prime).__name__}")
        check_generate_args(length, temperature, top_k, top_p, who)
        unknown = self.unknown_pieces(prime)
        if unknown:
            shown = ", ".join(repr(u) for u in unknown[:10]) + (" ..." if len(unknown) > 10 else "")
            what = {"char": "character(s)", "word": "word(s)"}.get(getattr(self.tokenizer_, "kind", ""), "token(s)")
            warnings.warn(f"{who}: {len(unknown)} {what} of the prime are not in the model's vocabulary and are read "
                          f"as <unk>: {shown}", VocabularyWarning, stacklevel=2)
        pieces = generate_pieces(self.model_, self.tokenizer_, prime, length, temperature, top_k, top_p, seed,
                                 context=self.context_)
        return pieces if stream else "".join(pieces)

    # ------------------------------------------------------------------ gates
    def explain_target(self):
        """What ``lstmkit explain`` traces: the network, its LSTM and how a text becomes the network's input.

        Returns a :class:`lstmkit.explain.traces.TraceTarget` whose ``prepare(text)``
        gives the step labels (the text's own characters for a character
        model, else the decoded tokens) and a call that runs the network on it.
        """
        import torch

        from ...explain.traces import TraceTarget

        self._require_fitted("explain_target")
        tok, net = self.tokenizer_, self.model_
        who = f"{type(self).__name__}"

        def prepare(text: str):
            if not isinstance(text, str):
                raise ValueError(f"{who}: expected text as a str, got {type(text).__name__}")
            ids = tok.encode(text)
            if not ids:
                raise ValueError(f"{who}: the text gives no tokens (got {len(text)} characters)")
            # characters keep their own spelling (an unseen one is <unk> to the model, not in the labels)
            if getattr(tok, "kind", "") == "char" and len(ids) == len(text):
                labels = list(text)
            else:
                labels = [tok.decode([i]) for i in ids]
            return labels, lambda: net(torch.tensor([ids], device=next(net.parameters()).device))

        return TraceTarget(net, net.lstm, "text", prepare)

    def gate_traces(self, text: str):
        """Every gate, the cell and the hidden state of every layer at every token of ``text``.

        Returns :class:`lstmkit.explain.traces.Traces`: ``tr.values(layer, "f")``
        is a ``(T, hidden_size)`` array (gate names i, f, g, o, c, h), one
        row per token, labelled by ``tr.labels``.
        """
        from ...explain.traces import trace_target

        self._require_fitted("gate_traces")
        return trace_target(self.explain_target(), text, meta={"kind": KIND})

    # ------------------------------------------------------------------ files
    def save(self, path: str | Path) -> Path:
        """Write the model folder: ``model.safetensors``, ``config.json`` and ``tokenizer.json``."""
        from ...config import to_dict
        from ...train.checkpoint import save_model
        from .model import model_config_dict

        self._require_fitted("save")
        path = Path(path)
        source = getattr(self, "source_", None) or {"data": "", "val_fraction": self.config.data.val_fraction,
                                                    "max_chars": self.config.data.max_chars}
        save_model(path, self.model_, KIND, model_config_dict(self.model_.vocab_size, self.model_.config),
                   extra={"tokenizer": TOKENIZER_FILE, "context": [int(i) for i in self.context_], **source,
                          "settings": to_dict(self.config)})
        self.tokenizer_.save(path / TOKENIZER_FILE)
        return path

    @classmethod
    def load(cls, path: str | Path) -> "LanguageModel":
        """A model folder written by :meth:`save` (or ``lstmkit lm train``), checked on load."""
        from ...config import from_dict, to_dict
        from ...data.tokenize import load_tokenizer
        from ...train.checkpoint import CONFIG, ModelFolderError, load_model
        from .corpus import start_context

        path = Path(path)
        net, meta = load_model(path, kinds=cls.kinds, who=f"{cls.__name__}.load")
        extra = meta["extra"]
        tok_path = path / str(extra.get("tokenizer", TOKENIZER_FILE))
        if not tok_path.is_file():
            raise FileNotFoundError(f"{cls.__name__}.load: expected {tok_path.name} in {path}, found none")
        try:
            tok = load_tokenizer(tok_path)
        except (ValueError, KeyError, TypeError) as e:
            raise ModelFolderError(f"{tok_path}: not a readable tokenizer ({e})") from None
        if tok.vocab_size != net.vocab_size:
            raise ModelFolderError(f"{tok_path}: expected {net.vocab_size} tokens (the model's vocabulary), "
                                   f"got {tok.vocab_size}")
        settings = extra.get("settings")
        try:
            cfg = from_dict(LMConfig, settings) if isinstance(settings, dict) else LMConfig()
            cfg = from_dict(LMConfig, {**to_dict(cfg), "model": to_dict(net.config)})
        except (ValueError, TypeError, KeyError) as e:
            raise ModelFolderError(f"{path / CONFIG}: field 'extra.settings' is not an LMConfig ({e})") from None
        est = cls(config=cfg)
        est.model_, est.tokenizer_ = net, tok
        context = extra.get("context") or start_context(tok)
        if not all(isinstance(i, int) and 0 <= i < net.vocab_size for i in context):
            raise ModelFolderError(f"{path / CONFIG}: field 'extra.context': expected token ids in "
                                   f"[0, {net.vocab_size}), got {context[:5]}")
        est.context_ = list(context)
        est.source_ = {"data": str(extra.get("data") or ""), "val_fraction": float(extra.get("val_fraction", 0.1)),
                       "max_chars": int(extra.get("max_chars") or 0)}
        return est

    @classmethod
    def from_network(cls, network, tokenizer, context: list[int] | None = None, **params: Any) -> "LanguageModel":
        """Wrap a network built elsewhere (an :class:`~lstmkit.tasks.lm.model.LMNet` and its tokenizer) as a
        fitted estimator, e.g. to save it; ``context`` defaults to the tokenizer's start context."""
        from ...config import to_dict
        from .corpus import start_context

        if network.vocab_size != tokenizer.vocab_size:
            raise ValueError(f"{cls.__name__}.from_network: expected a tokenizer of {network.vocab_size} tokens, "
                             f"got {tokenizer.vocab_size}")
        est = cls(config={"model": to_dict(network.config)}, **params)
        est.model_, est.tokenizer_ = network.eval(), tokenizer
        est.context_ = list(context) if context else start_context(tokenizer)
        return est

    def _export_graphs(self, steps: int | None) -> list:
        """``export``: the network over ``steps`` token ids (default 1: one step of generation) with the LSTM
        state in and out, ``(ids (B, T), h0, c0) -> (logits (B, T, V), h_n, c_n)``; tokenising and sampling
        stay outside (the tokenizer's vocabulary is in the file's metadata, ``lstmkit.tokenizer``)."""
        from .onnx_graphs import graphs

        return graphs(self, steps)

    def report(self, path: str | Path) -> Path:
        """Write the run folder of the last :meth:`fit` into ``path``: ``metrics.json``, ``config.yaml``,
        ``plots/training.png``, ``sample.txt`` (``sample_length`` tokens at ``temperature``, seed ``seed``)
        and ``report.html``; returns the report's path. The model itself: :meth:`save`."""
        from .report import write_run_folder

        self._require_fitted("report")
        if getattr(self, "metrics_", None) is None:
            raise ValueError(f"{type(self).__name__}.report: expected a model fitted in this session (the report "
                             "shows the training curve), got one loaded from a folder")
        return write_run_folder(self, Path(path))


__all__ = ["LanguageModel", "VocabularyWarning"]
