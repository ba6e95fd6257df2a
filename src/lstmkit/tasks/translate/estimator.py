"""``lstmkit.Translator``: an attention LSTM encoder-decoder as an estimator on sentence pairs."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

from ..estimator import Estimator
from .config import TranslateConfig

#: the default corpus, relative to the repository root (not shipped with the package)
DEFAULT_DATA = Path("..") / "shared" / "data" / "translation" / "eng-fra.tsv"
SOURCE_TOKENIZER, TARGET_TOKENIZER = "source_tokenizer.json", "target_tokenizer.json"
MAIN = "lstm"
NAMES = {"lstm": "LSTM with attention", "no-attention": "LSTM without attention", "transformer": "Transformer"}


def default_data_path() -> Path:
    """The shipped English-French pairs beside the repository (looked for from the current folder, then the
    repository root); a clear error when they are not there."""
    root = Path(__file__).resolve().parents[4]
    for base in (Path.cwd(), root):
        p = (base / DEFAULT_DATA).resolve()
        if p.is_file():
            return p
    raise FileNotFoundError(f"translate: no data given and the default pairs {DEFAULT_DATA} were not found relative to "
                            f"the current folder or the repository root {root}; they are not shipped with the package: "
                            f"pass a TSV of source<TAB>target pairs (--data FILE)")


@dataclass
class Translation:
    """One translated sentence: the text, its target ids, its normalised beam score and the source tokens
    that were read as ``<unk>`` (characters never seen in training with BPE; unseen words with word tokens)."""

    source: str
    text: str
    ids: list[int]
    score: float
    unknown: int


class Translator(Estimator):
    r"""Neural machine translation with an LSTM encoder-decoder and attention, on lists of sentence pairs.

    A bidirectional :class:`lstmkit.LSTM` reads the source; an LSTM decoder with additive (Bahdanau et al.
    2015) or multiplicative (Luong et al. 2015) attention and input feeding writes the target, trained with
    teacher forcing, dropout and label smoothing on BPE subwords (or words), with early stopping on the
    development loss (:class:`~lstmkit.tasks.translate.seq2seq.Seq2SeqNet`). Greedy or batched beam search
    with length normalisation translate (:mod:`lstmkit.tasks.translate.search`); sacrebleu scores BLEU and
    chrF against every reference of a source sentence.

    ``fit`` splits the pairs by source sentence (all translations of one sentence fall in the same part;
    :func:`~lstmkit.tasks.translate.pairs.part_of`), trains on the train part, stops on the dev part and
    scores the test part; in the same call it trains the baselines of ``run.baselines`` (the same model
    without attention, and a ``torch.nn.Transformer`` of about the same parameter count) on the same split,
    tokens and time budget (``run.max_minutes`` each), and reports them beside it (:attr:`results_`,
    :meth:`report`). Only the LSTM with attention is kept (``save``/``load``).

    Args:
        config: a :class:`~lstmkit.tasks.translate.config.TranslateConfig` or nested dict (default: the defaults).
        **params: configuration fields by name: ``hidden_size=256``, ``attention="additive"``, ``beam=5``,
            ``max_minutes=30``, ``baselines=[]``, ``tokenizer="word"``, ``train__seed=1``, ... (see
            :meth:`get_params`).

    Attributes (after ``fit`` or ``load``):
        model_: the trained :class:`~lstmkit.tasks.translate.seq2seq.Seq2SeqNet` (eval mode).
        source_tokenizer_, target_tokenizer_: the tokenisers of each language.
        results_: per model (``"lstm"``, ``"no-attention"``, ``"transformer"``): parameters, training facts
            and test scores for greedy and beam search.
        split_: the sizes of the parts and the rule that made them.

    Example::

        >>> pairs = [("I am cold.", "J'ai froid."), ("I am here.", "Je suis ici.")] * 50
        >>> tr = Translator(hidden_size=32, embedding_size=32, epochs=2, baselines=[], test_fraction=0,
        ...                 dev_fraction=0.0, early_stopping=0, progress_bar=False).fit(pairs)
        >>> isinstance(tr.translate(["I am cold."])[0], str)
        True
    """

    config_class = TranslateConfig
    kinds = ("translate-seq2seq",)
    task = "translate"

    # ------------------------------------------------------------------ data
    def _read(self, data, what: str):
        from .pairs import pairs_from

        d = self.config.data
        if data is None:
            data = d.path or default_data_path()
        return pairs_from(data, what, delimiter=d.delimiter, header=d.header, skip_bad=d.skip_bad_lines,
                          max_pairs=d.max_pairs) if isinstance(data, (str, Path)) else \
            pairs_from(data, what, skip_bad=d.skip_bad_lines)

    def _parts(self, data, dev, test) -> dict:
        from .pairs import SPLIT_RULE, source_key, split_by_source

        s = self.config.split
        pairs = self._read(data, "Translator.fit: data")
        parts = split_by_source(pairs, 0.0 if dev is not None else s.dev_fraction,
                                0.0 if test is not None else s.test_fraction, s.seed)
        given = []
        for name, extra in (("dev", dev), ("test", test)):
            if extra is not None:
                parts[name] = self._read(extra, f"Translator.fit: {name}")
                given.append(name)
        train_keys = {source_key(x) for x in parts["train"].sources}
        for name in given:
            shared = len({source_key(x) for x in parts[name].sources} & train_keys)
            if shared:
                self.log.warning("translate: %d source sentence(s) of the given %s part are also in the training part",
                                 shared, name)
        self.split_ = {
            "rule": SPLIT_RULE, "seed": s.seed, "dev_fraction": s.dev_fraction if dev is None else "given",
            "test_fraction": s.test_fraction if test is None else "given",
            **{f"{p}_pairs": len(parts[p]) for p in parts}, **{f"{p}_sources": len({source_key(x) for x in parts[p].sources}) for p in parts},
            "data": pairs.summary(),
        }
        if pairs.skipped_bad or pairs.skipped_blank:
            self.log.info("read %s: %d pairs; skipped %d malformed and %d blank line(s)%s", pairs.origin, len(pairs),
                          pairs.skipped_bad, pairs.skipped_blank,
                          (": " + "; ".join(pairs.bad_examples[:3])) if pairs.bad_examples else "")
        self.data_path_ = pairs.origin if isinstance(data, (str, Path)) or data is None else None
        if not len(parts["train"]):
            raise ValueError(f"Translator.fit: expected training pairs after the split, got none of {len(pairs)} "
                             f"(dev_fraction {s.dev_fraction}, test_fraction {s.test_fraction})")
        return parts

    # ------------------------------------------------------------------ fit
    def fit(self, data=None, dev=None, test=None, log_dir: str | Path | None = None,
            resume: bool = False) -> "Translator":
        """Train on sentence pairs; returns ``self``.

        Args:
            data: a TSV/CSV file of ``source<TAB>target`` lines (see :mod:`~lstmkit.tasks.translate.pairs`),
                a list of ``(source, target)`` pairs or a two-column DataFrame. Default: ``data.path``, or the
                shipped ``../shared/data/translation/eng-fra.tsv``.
            dev, test: the development and test parts, if not carved out of ``data`` by source sentence
                (``split.dev_fraction``, ``split.test_fraction``).
            log_dir: keep Lightning's logs and checkpoints of each model under ``log_dir/<model>``
                (default: nothing is written).
            resume: continue an interrupted fit from the checkpoints in ``log_dir``: each model (the
                LSTM, then each baseline) resumes from its own last checkpoint, a model the interrupted
                run had not reached trains from the start, and the same data and configuration give the
                same weights as a fit that was never interrupted (bit for bit on CPU). Under a time budget
                (``run.max_minutes``) each model's budget continues from its checkpoint, so where the
                budget stops it depends on the clock as in any timed run.
        """
        import torch

        from ...train import seed_everything
        from ...train.memory import peak_memory_mb
        from .seq2seq import Seq2SeqNet
        from .tokens import encode_pairs, train_tokenizer
        from .training import train_model

        cfg = self.config
        t0 = time.perf_counter()
        parts = self._parts(data, dev, test)
        d = cfg.data
        self.source_tokenizer_ = train_tokenizer(parts["train"].sources, d.tokenizer, d.vocab_size, d.min_freq, d.lowercase)
        self.target_tokenizer_ = train_tokenizer(parts["train"].targets, d.tokenizer, d.vocab_size, d.min_freq, False,
                                                 specials=("<bos>", "<eos>"))
        train_enc, dropped = encode_pairs(self.source_tokenizer_, self.target_tokenizer_, parts["train"].sources,
                                          parts["train"].targets, d.max_length)
        dev_enc = None
        if len(parts["dev"]):
            dev_enc, _ = encode_pairs(self.source_tokenizer_, self.target_tokenizer_, parts["dev"].sources,
                                      parts["dev"].targets)
        self.split_["train_pairs_dropped_as_too_long"] = dropped
        self.split_["max_source_tokens"] = int(train_enc.src_len.max())  # the default source length of an export
        V_src, V_tgt = self.source_tokenizer_.vocab_size, self.target_tokenizer_.vocab_size
        self.log.info("data: %s; %d train / %d dev / %d test pairs (%d / %d / %d source sentences), split by source "
                      "sentence; %s tokens: %d source and %d target types%s", self.split_["data"]["origin"],
                      len(parts["train"]), len(parts["dev"]), len(parts["test"]), self.split_["train_sources"],
                      self.split_["dev_sources"], self.split_["test_sources"], d.tokenizer, V_src, V_tgt,
                      f"; {dropped} training pair(s) over {d.max_length} tokens dropped" if dropped else "")
        if cfg.train.num_threads:
            torch.set_num_threads(cfg.train.num_threads)

        trained: dict[str, tuple[Any, Any]] = {}
        seed_everything(cfg.train.seed, cfg.train.deterministic)
        net = Seq2SeqNet(V_src, V_tgt, cfg.model)
        self.log.info("model: %s attention, %d x %d bidirectional %s encoder, %d x %d decoder%s, %s parameters",
                      cfg.model.attention, cfg.model.encoder_layers, cfg.model.hidden_size // 2, cfg.model.cell,
                      cfg.model.decoder_layers, cfg.model.hidden_size,
                      " with input feeding" if net.feeds else "", f"{net.num_parameters():,}")
        if resume and log_dir is None:
            raise ValueError("Translator.fit: resume=True needs the log_dir of the interrupted fit")
        kw = dict(label_smoothing=cfg.model.label_smoothing, max_minutes=cfg.run.max_minutes, log=self.log,
                  log_dir=log_dir, resume=resume)
        trained[MAIN] = (net, train_model(MAIN, net, train_enc, dev_enc, cfg.train, anneal=cfg.run.anneal,
                                          teacher_forcing=cfg.model.teacher_forcing, **kw))
        self.model_ = net
        for name in cfg.run.baselines:
            if name == "no-attention" and cfg.model.attention == "none":
                self.log.info("baseline no-attention skipped: the model itself has no attention")
                continue
            seed_everything(cfg.train.seed, cfg.train.deterministic)
            base, warmup = self._baseline(name, net.num_parameters(), V_src, V_tgt, len(train_enc.src))
            self.log.info("baseline %s: %s parameters", name, f"{base.num_parameters():,}")
            trained[name] = (base, train_model(name, base, train_enc, dev_enc, cfg.train, warmup=warmup,
                                               anneal=cfg.run.anneal,
                                               teacher_forcing=cfg.model.teacher_forcing if name != "transformer" else 1.0,
                                               **kw))
        self.baselines_ = {k: v[0] for k, v in trained.items() if k != MAIN}
        self.results_ = {}
        self.test_translations_ = []
        test_refs = None
        if len(parts["test"]):
            from .pairs import group_references

            test_refs = group_references(parts["test"])
        for name, (model, outcome) in trained.items():
            entry = {"name": NAMES[name], **outcome.to_dict()}
            if test_refs is not None:
                for label, beam in (("greedy", 1), ("beam", cfg.decode.beam)):
                    entry[label] = self._score(model, *test_refs, beam)
                    rows = entry[label].pop("translations")
                    if name == MAIN and label == "beam":
                        self.test_translations_ = rows
                    self.log.info("%s, %s: test BLEU %.2f, chrF %.2f (%d sentences, %.1f s)", name,
                                  label if beam == 1 else f"beam {beam}", entry[label]["bleu"], entry[label]["chrf"],
                                  entry[label]["sentences"], entry[label]["seconds"])
            self.results_[name] = entry
        self.histories_ = {name: outcome.history for name, (_, outcome) in trained.items()}
        self.test_pairs_ = parts["test"]
        self.run_ = {"seconds": round(time.perf_counter() - t0, 1), "peak_memory_mb": round(peak_memory_mb(), 1),
                     "load_average": [round(x, 2) for x in os.getloadavg()], "torch_threads": torch.get_num_threads(),
                     "max_minutes": cfg.run.max_minutes}
        self.log.info("done in %.0f s; peak memory %.0f MB", self.run_["seconds"], self.run_["peak_memory_mb"])
        return self

    def _baseline(self, name: str, params: int, V_src: int, V_tgt: int, n_train: int):
        """A fresh baseline model and its learning-rate recipe (``None``: the LSTM's)."""
        from dataclasses import replace

        cfg = self.config
        if name == "no-attention":
            from .seq2seq import Seq2SeqNet

            return Seq2SeqNet(V_src, V_tgt, replace(cfg.model, attention="none")), None
        from .transformer import TransformerNet, width_for

        t = cfg.transformer
        d_model = t.d_model or width_for(params, V_src, V_tgt, t)
        steps_per_epoch = max(1, -(-n_train // cfg.train.batch_size))
        warmup = t.warmup_steps or min(4000, 2 * steps_per_epoch)
        return TransformerNet(V_src, V_tgt, d_model, t), (t.lr, warmup)

    # ------------------------------------------------------------------ translate
    def _decode(self, model, sentences: Sequence[str], beam: int) -> list[Translation]:
        import torch

        from .search import default_limits, search
        from .tokens import decode_target, encode_sources

        enc = encode_sources(self.source_tokenizer_, sentences)
        limits = default_limits(enc.src_len, self.config.decode.max_length)
        was = model.training
        model.eval()
        try:
            with torch.no_grad():
                hyps = search(model, enc.src, enc.src_len, beam, limits, self.config.decode.length_penalty)
        finally:
            model.train(was)
        unk = (enc.src == 1).sum(1).tolist()
        return [Translation(s, decode_target(self.target_tokenizer_, h.ids), h.ids, h.score, int(u))
                for s, h, u in zip(sentences, hyps, unk)]

    def _batched(self, model, sentences: Sequence[str], beam: int, batch_size: int) -> Iterator[Translation]:
        """Translations in input order, batch by batch (sentences of similar length decoded together)."""
        for start in range(0, len(sentences), batch_size * 8):
            chunk = list(sentences[start: start + batch_size * 8])
            order = sorted(range(len(chunk)), key=lambda i: len(chunk[i]))
            done: dict[int, Translation] = {}
            for b in range(0, len(order), batch_size):
                idx = order[b: b + batch_size]
                for i, tr in zip(idx, self._decode(model, [chunk[i] for i in idx], beam)):
                    done[i] = tr
            for i in range(len(chunk)):
                yield done[i]

    def translate_iter(self, sentences: Iterable[str], beam: int | None = None,
                       batch_size: int | None = None) -> Iterator[Translation]:
        """Yield a :class:`Translation` per sentence, in order, as soon as its batch is decoded (for streaming);
        an empty or blank sentence gets an empty translation (no tokens, none unknown)."""
        self._require_fitted("translate_iter")
        beam = self.config.decode.beam if beam is None else int(beam)
        if beam < 1:
            raise ValueError(f"Translator.translate: expected beam >= 1, got {beam}")
        batch_size = batch_size or self.config.decode.batch_size
        buf: list[str] = []
        if isinstance(sentences, (bytes, int, float)) or not hasattr(sentences, "__iter__"):
            raise TypeError(f"Translator.translate: expected a sentence (a string) or a list of them, got "
                            f"{type(sentences).__name__}")
        for s in sentences:
            if not isinstance(s, str):
                raise ValueError(f"Translator.translate: expected sentences as strings, got {type(s).__name__}")
            if not s.strip():  # nothing to translate: an empty translation, in its place
                if buf:
                    yield from self._batched(self.model_, buf, beam, batch_size)
                    buf = []
                yield Translation(source=s, text="", ids=[], score=0.0, unknown=0)
                continue
            buf.append(s)
            if len(buf) >= batch_size:
                yield from self._batched(self.model_, buf, beam, batch_size)
                buf = []
        if buf:
            yield from self._batched(self.model_, buf, beam, batch_size)

    def translate(self, sentences: str | Sequence[str], beam: int | None = None) -> list[str]:
        """Translations of ``sentences`` (one string or a list): beam search of width ``beam`` (default
        ``decode.beam``; 1 is greedy). Source tokens the model has never seen are read as ``<unk>``; how many
        is logged (and in :meth:`translate_iter`'s ``Translation.unknown``)."""
        if isinstance(sentences, str):
            sentences = [sentences]
        out = list(self.translate_iter(sentences, beam))
        unknown = sum(t.unknown for t in out)
        if unknown:
            self.log.info("translate: %d source token(s) in %d sentence(s) are unknown to the model and were read as <unk>",
                          unknown, sum(1 for t in out if t.unknown))
        return [t.text for t in out]

    def predict(self, sentences, beam: int | None = None) -> list[str]:
        """Same as :meth:`translate`."""
        return self.translate(sentences, beam)

    # ------------------------------------------------------------------ evaluate
    def _score(self, model, sources: list[str], references: list[list[str]], beam: int) -> dict:
        from .metrics import score

        t0 = time.perf_counter()
        out = list(self._batched(model, sources, beam, self.config.decode.batch_size))
        seconds = time.perf_counter() - t0
        res = score([t.text for t in out], references)
        rows = [{"source": s, "translation": t.text, "references": r} for s, t, r in zip(sources, out, references)]
        res.update(beam=beam, seconds=round(seconds, 2), unknown_source_tokens=sum(t.unknown for t in out),
                   examples=rows[:10], translations=rows)
        return res

    def evaluate(self, data=None, part: str | None = None, beam: int | None = None,
                 return_translations: bool = False) -> dict:
        """BLEU and chrF of the model against every reference of each source sentence.

        Args:
            data: pairs (a file, a list of ``(source, target)`` or a DataFrame). Default: the test part held
                out by ``fit`` (in this session), or else the test part of the file the model was trained on.
            part: ``'all'`` (default with ``data``), or ``'train'``, ``'dev'``, ``'test'`` (default without):
                that part of ``data`` by the model's own split.
            beam: beam width (default ``decode.beam``; 1 is greedy).
            return_translations: also return every ``{"source", "translation", "references"}`` under
                ``"translations"``.
        Returns:
            ``{"bleu", "chrf", "sentences", "references", "beam", "seconds", "unknown_source_tokens", ...}``.
        """
        from .pairs import PARTS, group_references, split_by_source

        self._require_fitted("evaluate")
        if beam is not None and int(beam) < 1:
            raise ValueError(f"Translator.evaluate: expected beam >= 1, got {beam}")
        if part not in (None, "all", *PARTS):
            raise ValueError(f"Translator.evaluate: expected part in {('all',) + PARTS}, got {part!r}")
        part = part or ("all" if data is not None else "test")
        if data is None and part == "test" and len(getattr(self, "test_pairs_", []) or []):
            pairs = self.test_pairs_
        else:
            if data is None:
                data = getattr(self, "data_path_", None)
                given = (getattr(self, "split_", None) or {}).get(f"{part}_fraction") == "given"
                if data and part in ("dev", "test") and given:
                    raise ValueError(f"Translator.evaluate: the {part} part was given to fit() separately, not split "
                                     f"from {data}; pass it as data")
                if not data:
                    held = (getattr(self, "split_", None) or {}).get(f"{part}_fraction")  # dev and test only
                    if held is None:
                        why = "the model was not trained on a file"
                    elif held == "given":
                        why = f"the {part} part given to fit() is not kept in a saved model"
                    elif not held:
                        why = f"fit() held out no {part} part ({part}_fraction {held})"
                    else:
                        why = (f"the {part} part fit() held out of pairs in memory is not kept in a saved model, "
                               "and the model was not trained on a file")
                    raise ValueError(f"Translator.evaluate: no data given and {why}; pass the pairs to score")
            pairs = self._read(data, "Translator.evaluate: data")
            if part != "all":
                s = self.config.split
                pairs = split_by_source(pairs, s.dev_fraction, s.test_fraction, s.seed)[part]
        if not len(pairs):
            raise ValueError(f"Translator.evaluate: the {part} part of the data holds no pairs")
        sources, refs = group_references(pairs)
        beam = self.config.decode.beam if beam is None else int(beam)
        res = self._score(self.model_, sources, refs, beam)
        res["part"], res["pairs"] = part, len(pairs)
        if not return_translations:
            res.pop("translations")
        self.log.info("%s part: BLEU %.2f, chrF %.2f over %d source sentences (%d references), beam %d, %.1f s",
                      part, res["bleu"], res["chrf"], res["sentences"], res["references"], beam, res["seconds"])
        return res

    # ------------------------------------------------------------------ seeing inside
    def _forced(self, sentence: str, beam: int | None, trace: bool = False) -> dict:
        """Translate ``sentence``, then step the decoder along that translation: attention weights, gates (with
        ``trace``), and the decoder's input at each step and first state (``decoder_input``: ``(1, T, E[+H])``;
        ``decoder_start``: ``(h0, c0)``, each ``(layers, 1, H)``), on which the decoder run whole steps alike."""
        import torch

        from .tokens import BOS_ID, EOS_ID, encode_sources, source_pieces, target_pieces

        self._require_fitted("alignments")
        tr = self._decode(self.model_, [sentence], self.config.decode.beam if beam is None else beam)[0]
        enc = encode_sources(self.source_tokenizer_, [sentence])
        ids = tr.ids + [EOS_ID]
        net = self.model_
        net.eval()
        L = net.config.decoder_layers
        traces = [[] for _ in range(L)]
        weights, inputs = [], []
        with torch.no_grad():
            memory = net.encode(enc.src, enc.src_len)
            state = net.start(memory)
            start = tuple(state[k].transpose(0, 1).contiguous() for k in ("h", "c"))  # (L, 1, H): the layer's hx
            prev = torch.tensor([BOS_ID])
            for i in ids:
                step_trace = [{} for _ in range(L)] if trace else None
                inputs.append(net.decoder_input(net.tgt_emb(prev), state))  # eval mode: no dropout
                _, state, w = net.step(memory, state, prev, step_trace)
                if w is not None:
                    weights.append(w[0].tolist())
                if trace:
                    for layer in range(L):
                        traces[layer].append({k: v[0].clone() for k, v in step_trace[layer].items()})
                prev = torch.tensor([i])
        return {"source": sentence, "translation": tr.text, "source_tokens": source_pieces(self.source_tokenizer_, sentence),
                "target_tokens": target_pieces(self.target_tokenizer_, ids), "weights": weights or None,
                "decoder_steps": traces, "memory_input": enc, "decoder_input": torch.stack(inputs, 1),
                "decoder_start": start}

    def alignments(self, sentences: str | Sequence[str], beam: int | None = None) -> list[dict]:
        """Attention weights of each translation: ``{"source", "translation", "source_tokens", "target_tokens",
        "weights"}`` with ``weights[t][s]`` the attention of target token ``t`` (``<eos>`` last) on source
        token ``s`` (``None`` for a model without attention)."""
        if isinstance(sentences, str):
            sentences = [sentences]
        keys = ("source", "translation", "source_tokens", "target_tokens", "weights")
        return [{k: v for k, v in self._forced(s, beam).items() if k in keys} for s in sentences]

    #: the recurrent parts :meth:`explain_target` can trace (``lstmkit explain --part``)
    explain_parts = ("encoder", "decoder")

    def explain_target(self, part: str = "encoder", beam: int = 1):
        """What ``lstmkit explain`` traces: the encoder or the decoder LSTM, and how a sentence reaches it.

        Args:
            part: ``"encoder"``: the bidirectional encoder on the source subwords (one label each, both
                directions); ``"decoder"``: the decoder along the model's own translation of the sentence,
                one step per target token it wrote (``<eos>`` last), each labelled by that token.
            beam: beam width of that translation (default 1: greedy).

        Returns a :class:`lstmkit.explain.traces.TraceTarget`. The encoder is recorded while
        :meth:`~lstmkit.tasks.translate.seq2seq.Seq2SeqNet.encode` runs; the decoder is stepped one
        position at a time (input feeding), so ``prepare`` gathers its input at every step and its first
        state and returns them as a :class:`~lstmkit.explain.traces.LayerCall`: one run of the decoder LSTM
        over them goes through the same states as the stepping did.
        """
        from ...explain.traces import LayerCall, TraceTarget
        from .tokens import encode_sources, source_pieces

        self._require_fitted("explain_target")
        if part not in self.explain_parts:
            raise ValueError(f"Translator.explain_target: expected part in {self.explain_parts}, got {part!r}")
        if int(beam) < 1:
            raise ValueError(f"Translator.explain_target: expected beam >= 1, got {beam}")
        net = self.model_

        def text_of(sentence) -> str:
            if not isinstance(sentence, str) or not sentence.strip():
                raise ValueError(f"Translator.explain_target: expected a sentence as a non-empty str, got {sentence!r}")
            return sentence

        def encoder(sentence):
            enc = encode_sources(self.source_tokenizer_, [text_of(sentence)])
            return source_pieces(self.source_tokenizer_, sentence), lambda: net.encode(enc.src, enc.src_len)

        def decoder(sentence):
            f = self._forced(text_of(sentence), int(beam))
            return f["target_tokens"], LayerCall((f["decoder_input"], f["decoder_start"]))

        if part == "encoder":
            return TraceTarget(net, net.encoder, "text", encoder)
        return TraceTarget(net, net.decoder, "text", decoder)

    def gate_traces(self, sentence: str, beam: int | None = None) -> dict:
        """The gates of the encoder and the decoder while translating ``sentence``.

        Returns ``{"source_tokens", "target_tokens", "translation", "encoder": Traces, "decoder": Traces}``:
        :class:`lstmkit.explain.traces.Traces` with ``gates[layer][direction][name]`` of shape ``(T, H)`` per
        step (i, f, g, o, c, h for an LSTM cell); the encoder has two directions, labelled by source token,
        the decoder one, each step labelled by the target token it produced (``<eos>`` last).
        """
        import numpy as np
        import torch

        from ...explain.traces import Traces, layer_traces

        f = self._forced(sentence, beam, trace=True)
        net = self.model_
        enc = f["memory_input"]
        with torch.no_grad():
            x = net.src_emb(enc.src)  # eval mode: no dropout
        encoder = layer_traces(net.encoder, x, labels=f["source_tokens"])
        encoder.meta.update(part="encoder", sentence=sentence)
        dec_gates = [[{k: np.stack([s[k].numpy() for s in layer_steps]) for k in layer_steps[0]}]
                     for layer_steps in f["decoder_steps"]]
        decoder = Traces(list(f["target_tokens"]), dec_gates, {"part": "decoder", "translation": f["translation"]})
        return {"source_tokens": f["source_tokens"], "target_tokens": f["target_tokens"],
                "translation": f["translation"], "encoder": encoder, "decoder": decoder}

    def _export_graphs(self, steps: int | None) -> list:
        """``export``: two graphs. ``path``: the encoder and the bridge, ``(src (B, S), src_len (B,)) -> (enc,
        mask, h0, c0[, keys][, feed0])`` with ``S = steps`` (default: the longest training source);
        ``<stem>.step.onnx``: one decoder step, ``(prev (B,), h, c[, enc, mask, keys][, feed]) -> (logits (B, V),
        h_next, c_next[, feed_next][, attention])``. The search (greedy or beam) and tokenising stay outside;
        both tokenisers and the special ids are in the files' metadata."""
        from .onnx_graphs import graphs

        return graphs(self, steps)

    # ------------------------------------------------------------------ files
    def save(self, path: str | Path) -> Path:
        """Write the model folder: ``model.safetensors``, ``config.json`` and both tokenisers' JSON."""
        from ...config import to_dict
        from ...train.checkpoint import save_model
        from .seq2seq import KIND, model_config_dict

        self._require_fitted("save")
        path = Path(path)
        extra = {"config": to_dict(self.config), "source_tokenizer": SOURCE_TOKENIZER,
                 "target_tokenizer": TARGET_TOKENIZER, "data": getattr(self, "data_path_", None),
                 "split": getattr(self, "split_", None), "results": getattr(self, "results_", None),
                 "histories": getattr(self, "histories_", None), "run": getattr(self, "run_", None)}
        save_model(path, self.model_, KIND, model_config_dict(self.model_.src_vocab, self.model_.tgt_vocab,
                                                              self.model_.config), extra=extra)
        self.source_tokenizer_.save(path / SOURCE_TOKENIZER)
        self.target_tokenizer_.save(path / TARGET_TOKENIZER)
        return path

    @classmethod
    def load(cls, path: str | Path) -> "Translator":
        """A :class:`Translator` from a folder written by :meth:`save` (checked: see :mod:`lstmkit.train.checkpoint`)."""
        from ...data.tokenize import load_tokenizer
        from ...train.checkpoint import ModelFolderError, load_model
        from . import seq2seq  # noqa: F401 - registers the model builder
        from .tokens import check_target_tokenizer

        path = Path(path)
        net, meta = load_model(path, kinds=cls.kinds, who="Translator.load")
        extra = meta["extra"]
        try:
            est = cls(config=extra.get("config"))
        except ValueError as e:
            raise ModelFolderError(f"{path / 'config.json'}: field 'extra.config': {e}") from None
        toks = []
        for key, default, size in (("source_tokenizer", SOURCE_TOKENIZER, net.src_vocab),
                                   ("target_tokenizer", TARGET_TOKENIZER, net.tgt_vocab)):
            p = path / str(extra.get(key, default))
            if not p.is_file():
                raise FileNotFoundError(f"Translator.load: expected {p.name} in {path}, found none")
            tok = load_tokenizer(p)
            if tok.vocab_size != size:
                raise ModelFolderError(f"Translator.load: {p} has {tok.vocab_size} tokens but the model expects {size}")
            toks.append(tok)
        check_target_tokenizer(toks[1], f"Translator.load: {path / TARGET_TOKENIZER}")
        est.model_, (est.source_tokenizer_, est.target_tokenizer_) = net, toks
        est.data_path_ = extra.get("data")
        for attr in ("split", "results", "histories", "run"):
            if extra.get(attr) is not None:
                setattr(est, f"{attr}_", extra[attr])
        return est

    def report(self, path: str | Path, sentences: Sequence[str] | None = None) -> Path:
        """Write an HTML report (scores of the model and its baselines, the split, training curves, attention
        heatmaps of ``sentences`` or of the first test sentences) at ``path``; the heatmaps' data go beside it
        as ``alignments.json`` and the PNGs under ``plots/``."""
        from .report import write_report

        self._require_fitted("report")
        return write_report(self, Path(path), sentences)


__all__ = ["Translator", "Translation", "default_data_path", "DEFAULT_DATA"]
