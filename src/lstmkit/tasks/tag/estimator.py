"""``lstmkit.SequenceTagger``: tag every token of a sentence (named entities, ...) with a BiLSTM-CRF, in memory."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import torch

from ...data.conll import Sentence
from ..estimator import Estimator
from .config import TagConfig
from .data import as_sentences, place
from .schemes import bare, convert, detect_scheme, entities, first_violation, split_tag, tag_type

#: the model-folder kinds a SequenceTagger saves and loads
KINDS = ("tag-bilstm-crf",)


def _pieces(n: int, size: int) -> list[tuple[int, int]]:
    return [(s, min(s + size, n)) for s in range(0, n, size)]


def corpus_scheme(sentences: list[Sentence], configured: str, who: str) -> str:
    """The scheme of tagged ``sentences``: detected (``auto``) or checked against every sentence.

    Errors name the place of the offending tag: ``file:line`` for sentences
    read from a file, ``sentence s, token i`` for sentences built in memory.
    """
    if configured != "IO":  # IO takes any tag; auto reads tags without a prefix as IO
        for s, sent in enumerate(sentences):
            for i, t in enumerate(sent.tags):
                if configured == "auto" and bare(t):
                    continue
                try:
                    split_tag(t)
                except ValueError as e:
                    raise ValueError(f"{who}: {place(sent, s, i)}: {e}") from None
    if configured == "auto":
        try:
            return detect_scheme([s.tags for s in sentences], where=lambda s, i: place(sentences[s], s, i))
        except ValueError as e:
            raise ValueError(f"{who}: {e}") from None
    for s, sent in enumerate(sentences):
        found = first_violation(sent.tags, configured)
        if found is not None:
            raise ValueError(f"{who}: {place(sent, s, min(found[0], len(sent) - 1))}: {found[1]}")
    return configured


class SequenceTagger(Estimator):
    r"""Sequence tagging (named entities, chunks, ...) with a BiLSTM-CRF over words, characters and word shapes.

    Each token becomes a learned embedding of its normalised word, character
    features (a CNN, Ma & Hovy 2016, or a BiLSTM, Lample et al. 2016) and its
    shape (capitalisation, digits, punctuation); a bidirectional LSTM reads
    the sentence and a CRF, constrained to well-formed sequences of its tag
    scheme, scores whole tag sequences:

    .. math::
        s(x, y) = \sum_t \big(E_{t, y_t} + A_{y_{t-1}, y_t}\big), \qquad
        p(y \mid x) = \frac{\exp s(x, y)}{\sum_{y'} \exp s(x, y')}

    with emissions :math:`E = W\,\mathrm{BiLSTM}(x) + b` and transitions
    :math:`A`. Tags may be IOB1, IOB2, BIOES or IO (no prefixes, part of
    speech too; detected, ``data.scheme``); the CRF learns
    ``data.model_scheme`` and predictions come back in the training data's
    scheme.

    Args:
        config: a :class:`~lstmkit.tasks.tag.config.TagConfig` or nested dict.
        **params: configuration fields by name: ``hidden_size=100``,
            ``char_encoder="lstm"``, ``epochs=10``, ``seed=1``, ... (see :meth:`get_params`).

    Inputs: ``sentences`` is a list of sentences, each a list of tokens
    (strings); ``tags`` a parallel list of tag lists. The
    :class:`~lstmkit.data.conll.Sentence` objects of
    :func:`lstmkit.data.conll.read_conll` are taken as they are (then errors
    name the file and line).

    Attributes (after :meth:`fit` or :meth:`load`):
        model_: the :class:`~lstmkit.tasks.tag.model.BiLSTMCRFTagger`.
        scheme_: the tag scheme of the training data (predictions use it).
        history_: per-epoch training metrics (``val_f1`` with validation data).
        scores_: the metrics of each :meth:`evaluate` call by name (``'dev'``
            after a fit with validation data).

    Example::

        >>> import lstmkit
        >>> sents = [["EU", "rejects", "German", "call"], ["Peter", "Blackburn"]]
        >>> tags = [["B-ORG", "O", "B-MISC", "O"], ["B-PER", "I-PER"]]
        >>> tagger = lstmkit.SequenceTagger(epochs=2, hidden_size=8, word_dim=8, char_features=8, progress_bar=False)
        >>> tagger = tagger.fit(sents, tags)
        >>> [len(t) for t in tagger.predict([["EU", "calls"]])]
        [2]
    """

    config_class = TagConfig
    kinds = KINDS
    task = "tag"

    def fit(self, sentences: Any, tags: Any = None, val_sentences: Any = None, val_tags: Any = None, *,
            out_dir: str | Path | None = None, resume: bool = False, callbacks: list | None = None) -> "SequenceTagger":
        """Train on ``sentences`` with ``tags``; early stopping on the validation data's entity F1 when given.

        Args:
            val_sentences, val_tags: validation data (a dev set).
            out_dir: keep the training logs and resumable checkpoints there.
            resume: continue an interrupted fit from ``out_dir``.
            callbacks: extra Lightning callbacks (e.g. a time budget).
        """
        from torch.utils.data import DataLoader

        from ...data.batching import BucketBatchSampler
        from ...train import fit, seed_everything
        from .features import SHAPES, TagEncoder, collate
        from .metrics import entity_scores
        from .model import BiLSTMCRFTagger
        from .schemes import allowed_transitions

        t_start = time.perf_counter()
        cfg = self.config
        d, m = cfg.data, cfg.model
        train = as_sentences(sentences, tags, "SequenceTagger.fit", need_tags=True)
        scheme = corpus_scheme(train, d.scheme, "SequenceTagger.fit")
        to_model = [convert(s.tags, scheme, d.model_scheme) for s in train]
        to_model += [convert(s.tags[a:b], scheme, d.model_scheme, repair=True)  # tags of cut pieces (e.g. S-X) join the set
                     for s in train if len(s) > d.max_length for a, b in _pieces(len(s), d.max_length)]
        encoder = TagEncoder.fit([s.tokens for s in train], to_model, d.lowercase, d.digits_to_zero, d.min_freq, d.max_word_length)
        self.log.info(f"{len(train)} training sentences, {sum(len(s) for s in train)} tokens, scheme {scheme} (model learns "
                      f"{d.model_scheme}: {len(encoder.tags)} tags), {len(encoder.words)} words, {len(encoder.chars)} characters")
        items, cut = self._encode_all(encoder, train, scheme)
        if cut:
            self.log.info(f"note: {cut} training sentence(s) longer than data.max_length={d.max_length} split into pieces")
        model_cfg = dict(num_words=len(encoder.words), num_chars=len(encoder.chars), num_shapes=len(SHAPES),
                         num_tags=len(encoder.tags), unk_id=encoder.words.unk_id, word_dim=m.word_dim,
                         char_encoder=m.char_encoder, char_dim=m.char_dim, char_features=m.char_features,
                         shape_dim=m.shape_dim, hidden_size=m.hidden_size, num_layers=m.num_layers, cell=m.cell, backend=m.backend,
                         dropout=m.dropout, word_dropout=m.word_dropout, crf=m.crf)
        seed_everything(cfg.train.seed, cfg.train.deterministic)
        if cfg.train.num_threads:
            torch.set_num_threads(cfg.train.num_threads)
        model = BiLSTMCRFTagger(model_cfg)
        if model.crf is not None:
            allowed, start, end = allowed_transitions(encoder.tag_names, d.model_scheme)
            model.crf.set_constraints(torch.tensor(allowed), torch.tensor(start), torch.tensor(end))
        names = encoder.tag_names

        def step(net, batch):
            return {"loss": net.loss(batch)}

        train_loader = DataLoader(items, batch_sampler=BucketBatchSampler([len(it["words"]) for it in items], cfg.train.batch_size),
                                  collate_fn=collate)
        val_loader = val_step = dev = None
        if val_sentences is not None:
            dev = as_sentences(val_sentences, val_tags, "SequenceTagger.fit (validation)", need_tags=True)
            dev_scheme = corpus_scheme(dev, d.scheme, "SequenceTagger.fit (validation)")
            dev_model = [convert(s.tags, dev_scheme, d.model_scheme, repair=True) for s in dev]
            keep = [i for i, t in enumerate(dev_model) if set(t) <= set(names)]
            if len(keep) < len(dev):
                self.log.info(f"note: {len(dev) - len(keep)} dev sentence(s) with tags unseen in training left out of early stopping")
            dev_items, _ = self._encode_all(encoder, [dev[i] for i in keep], dev_scheme)
            order = sorted(range(len(dev_items)), key=lambda k: len(dev_items[k]["words"]))
            chunks = [collate([dev_items[k] for k in order[s : s + 256]]) for s in range(0, len(order), 256)]
            val_loader = DataLoader([chunks], batch_size=None, collate_fn=lambda x: x)

            def val_step(net, chunks):
                """The whole dev set in one step, so the logged F1 is the corpus-level entity F1."""
                gold, pred, nll, n = [], [], 0.0, 0
                for batch in chunks:
                    nll += float(net.loss(batch)) * len(batch["lengths"])
                    n += len(batch["lengths"])
                    for b, path in enumerate(net.decode(batch)):
                        gold.append([names[i] for i in batch["tags"][b, : len(path)].tolist()])
                        pred.append([names[i] for i in path])
                f1 = entity_scores(gold, pred, d.model_scheme).micro.f1
                return {"loss": torch.tensor(nll / max(n, 1)), "f1": torch.tensor(f1), "error": torch.tensor(1.0 - f1)}

        result = fit(model, step, train_loader, val_loader, cfg.train, out_dir=None if out_dir is None else Path(out_dir) / "training",
                     resume=resume, callbacks=callbacks, val_step=val_step)
        self.model_, self.encoder_, self.scheme_ = model.eval(), encoder, scheme
        self.config_ = cfg
        self.history_ = result.history
        self.fit_info_ = {"train_seconds": round(result.seconds, 2), "epochs": result.epochs,
                          "parameters": int(sum(p.numel() for p in model.parameters())),
                          "training_sentences": len(train), "fit_seconds": round(time.perf_counter() - t_start, 1),
                          # the longest encoded sentence and word: the default shape of an export
                          "max_tokens": max(len(it["words"]) for it in items),
                          "max_chars": max(int(it["chars"].shape[1]) for it in items)}
        self.scores_ = {}
        if dev is not None:
            self.evaluate(dev, name="dev")
        return self

    def _encode_all(self, encoder, sentences: list[Sentence], source: str) -> tuple[list[dict], int]:
        """Encode sentences cut into pieces of at most ``data.max_length`` tokens, tags rewritten into the model's scheme.

        Each piece is converted on its own (``repair``), so a cut through an
        entity gives two well-formed pieces that the constrained CRF can score.
        """
        size, target = self.config.data.max_length, self.config.data.model_scheme
        items, cut = [], 0
        for s in sentences:
            spans = _pieces(len(s), size)
            cut += len(spans) > 1
            items.extend(encoder.encode(s.tokens[a:b], convert(s.tags[a:b], source, target, repair=True)) for a, b in spans)
        return items, cut

    # ------------------------------------------------------------------ predict
    @torch.no_grad()
    def _tag(self, sentences: list[Sentence], batch_size: int = 128) -> tuple[list[list[str]], int]:
        from .features import collate

        self.model_.eval()
        size = self.config_.data.max_length
        items, where, cut = [], [], 0
        for i, sent in enumerate(sentences):
            spans = _pieces(len(sent), size)
            cut += len(spans) > 1
            for a, b in spans:
                items.append(self.encoder_.encode(sent.tokens[a:b]))
                where.append(i)
        order = sorted(range(len(items)), key=lambda k: len(items[k]["words"]))
        ids: list[list[int]] = [[] for _ in items]
        for s in range(0, len(order), batch_size):
            idx = order[s : s + batch_size]
            for k, path in zip(idx, self.model_.decode(collate([items[k] for k in idx]))):
                ids[k] = path
        out: list[list[str]] = [[] for _ in sentences]
        for k, i in enumerate(where):  # pieces are in order within a sentence
            out[i].extend(self.encoder_.tags.decode(ids[k], skip_pad=False))
        model_scheme = self.config_.data.model_scheme
        if model_scheme != self.scheme_:
            out = [convert(t, model_scheme, self.scheme_, repair=True) for t in out]
        if cut:
            self.log.info(f"note: {cut} sentence(s) longer than data.max_length={size} tagged in pieces")
        return out, cut

    def predict(self, sentences: Any) -> list[list[str]]:
        """One tag per token of every sentence, in the training data's scheme (longer sentences are tagged in
        pieces); an empty sentence gets no tags."""
        self._require_fitted("predict")
        empty = [isinstance(x, (list, tuple)) and not x for x in sentences] if isinstance(sentences, (list, tuple)) else []
        if any(empty):
            rest = [x for x, e in zip(sentences, empty) if not e]
            tagged = iter(self.predict(rest) if rest else [])
            return [[] if e else next(tagged) for e in empty]
        return self._tag(as_sentences(sentences, None, "SequenceTagger.predict"))[0]

    def explain_target(self):
        """What ``lstmkit explain`` traces: the network, its BiLSTM and how a sentence reaches it.

        Returns a :class:`lstmkit.explain.traces.TraceTarget` whose ``prepare(text)``
        splits the text at whitespace (one label per word) and tags it with
        :meth:`predict`; the traces hold both directions.
        """
        from ...explain.traces import TraceTarget

        self._require_fitted("explain_target")

        def prepare(text: str):
            words = text.split()
            return words, lambda: self.predict([words])

        return TraceTarget(self.model_, self.model_.lstm, "text", prepare)

    def evaluate(self, sentences: Any, tags: Any = None, *, name: str = "evaluation", return_predictions: bool = False):
        """Entity precision, recall and F1 (micro, macro, per type) and token accuracy against gold ``tags``.

        Scored by conlleval's rules, or seqeval's strict mode with
        ``data.strict``. Entity types training never saw are scored as missed
        entities (``unseen_types`` names them). Kept in ``scores_[name]``.

        Returns:
            the metrics dict, or ``(metrics, predicted tags)`` with ``return_predictions``.
        """
        self._require_fitted("evaluate")
        from .metrics import entity_scores

        gold = as_sentences(sentences, tags, "SequenceTagger.evaluate", need_tags=True)
        scheme = corpus_scheme(gold, self.config_.data.scheme, "SequenceTagger.evaluate")
        if scheme != self.scheme_:
            if {scheme, self.scheme_} == {"IOB1", "IOB2"} and self.config_.data.scheme == "auto":
                scheme = self.scheme_  # data with no evidence either way reads as IOB2; trust the training scheme
            else:
                raise ValueError(f"SequenceTagger.evaluate: the data are in {scheme}, the model was trained on {self.scheme_}")
        known_types = {split_tag(t)[1] for t in self.encoder_.tags.tokens} - {None}
        unseen_types = sorted({tag_type(t) for s in gold for t in s.tags} - {None} - known_types)
        if unseen_types:
            self.log.info(f"note: entity types never seen in training: {unseen_types}; they are scored as missed entities")
        predicted, cut = self._tag(gold)
        report = entity_scores([s.tags for s in gold], predicted, scheme, strict=self.config_.data.strict)
        metrics = dict(report.as_dict(), sentences=len(gold), tokens=sum(len(s) for s in gold), scheme=scheme,
                       convention="seqeval strict" if self.config_.data.strict else "conlleval", split_sentences=cut,
                       unseen_types=unseen_types)
        self.scores_ = getattr(self, "scores_", {}) or {}
        self.scores_[name] = metrics
        return (metrics, predicted) if return_predictions else metrics

    def entities(self, tags: list[str], tokens: list[str] | None = None) -> list[dict]:
        """The entities of one predicted tag sequence: type, start, end (exclusive) and, with ``tokens``, text."""
        self._require_fitted("entities")
        out = []
        for e in entities(tags, self.scheme_):
            row = dict(type=e.type, start=e.start, end=e.end)
            if tokens is not None:
                row["text"] = " ".join(tokens[e.start : e.end])
            out.append(row)
        return out

    # ------------------------------------------------------------------ files
    def save(self, path: str | Path) -> Path:
        """Write the model folder (weights, vocabularies, schemes, configuration)."""
        self._require_fitted("save")
        from ..model_folder import save_estimator
        from .model import KIND

        return save_estimator(self, path, self.model_, KIND, {"encoder": self.encoder_.to_dict(), "file_scheme": self.scheme_,
                                                               "fit": getattr(self, "fit_info_", {})})

    @classmethod
    def load(cls, path: str | Path) -> "SequenceTagger":
        """Open a model folder written by :meth:`save` (or by ``lstmkit tag train``)."""
        from ..model_folder import load_estimator
        from . import model as _model  # noqa: F401  (registers the tagger's kind)
        from .features import TagEncoder

        est, model, extra = load_estimator(cls, path)
        est.model_, est.encoder_, est.scheme_ = model, TagEncoder.from_dict(extra["encoder"]), extra["file_scheme"]
        est.fit_info_, est.history_, est.scores_ = extra.get("fit", {}), [], {}
        return est

    def _export_graphs(self, steps: int | None) -> list:
        """``export``: the emission network, ``(words (B, T), lengths (B,)[, chars (B, T, L)][, shapes (B, T)]) ->
        emissions (B, T, K)`` with ``T = steps`` (default: the longest training sentence) and ``L`` the longest
        training word. CRF Viterbi decoding stays outside the graph; its start, transition and end scores and
        the allowed transitions are in the file's metadata (``lstmkit.crf``) beside the tag names and
        vocabularies (``lstmkit.tags``, ``lstmkit.encoder``)."""
        from .onnx_graphs import graphs

        return graphs(self, steps)

    def report(self, path: str | Path, plots: dict[str, Path] | None = None) -> Path:
        """Write the HTML report of the last fit and the evaluations since (``scores_``) to ``path``."""
        self._require_fitted("report")
        from .report import write_report

        return write_report(self, Path(path), plots or {})
