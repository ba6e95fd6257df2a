"""Sequence tagging runs (BiLSTM-CRF): train, predict and evaluate, with their files.

A training run folder holds::

    model/               model.safetensors + config.json (weights, vocabularies, schemes, run config)
    config.yaml          the full configuration
    metrics.json         dev (and --test) entity P/R/F1: micro, macro and per type; token accuracy
    predictions.conll    the evaluated file with a predicted-tag column (conlleval's layout)
    predictions.jsonl    one sentence a line: tokens, tags, entities
    plots/training.png   loss and dev entity-F1 curves
    report.html          all of it on one page
    training/            Lightning logs and resumable checkpoints

Schemes: the files' scheme is detected (``data.scheme auto``; a corpus mixing
IOB1 and IOB2, or BIOES with invalid sentences, is an error naming the
places) or given. The CRF learns ``data.model_scheme`` (BIOES by default),
constrained to well-formed sequences, and predictions are written back in the
files' scheme. Scores use conlleval's rules, or seqeval's strict mode with
``data.strict``.

Bad input: malformed CoNLL lines raise ``ValueError`` with the line number;
unseen words and characters map to ``<unk>`` (the word still has its
characters and shape); tags in an evaluated file that training never saw are
scored as they are (the model cannot predict them, so they count as missed
entities) and the run says which; sentences longer than ``data.max_length``
are tagged in pieces and the run says how many.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import torch

from ...config import from_dict, to_dict, to_yaml
from ...data.conll import Sentence, write_conll
from .config import TagConfig
from .data import read_sentences
from .features import SHAPES, TagEncoder, collate
from .metrics import entity_scores
from .schemes import allowed_transitions, convert, detect_scheme, entities, split_tag, validate


def _pieces(n: int, size: int) -> list[tuple[int, int]]:
    return [(s, min(s + size, n)) for s in range(0, n, size)]


def file_scheme(sentences: list[Sentence], configured: str, source: str) -> str:
    """The scheme of a corpus: detected (``auto``) or checked against every sentence."""
    tags = [s.tags for s in sentences]
    for s in sentences:
        for t in s.tags:
            try:
                split_tag(t)
            except ValueError as e:
                raise ValueError(f"tag: {source}:{s.line}: {e}") from None
    if configured == "auto":
        try:
            return detect_scheme(tags)
        except ValueError as e:
            raise ValueError(f"tag: {source}: {e}") from None
    for s in sentences:
        try:
            validate(s.tags, configured)
        except ValueError as e:
            raise ValueError(f"tag: {source}: sentence at line {s.line}: {e}") from None
    return configured


class Tagger:
    """A trained tagger: network, vocabularies, the files' scheme and the model's.

    Example::

        tagger = Tagger.load("runs/tag-conll2003/model")
        tagger.tag([["EU", "rejects", "German", "call"]])   # [['B-ORG', 'O', 'B-MISC', 'O']]
    """

    def __init__(self, model, encoder: TagEncoder, file_scheme: str, config: TagConfig) -> None:
        self.model, self.encoder, self.file_scheme, self.config = model, encoder, file_scheme, config

    @property
    def model_scheme(self) -> str:
        return self.config.data.model_scheme

    def save(self, directory: str | Path) -> Path:
        from ...train.checkpoint import save_model
        from .model import KIND

        return save_model(directory, self.model, KIND, self.model.config,
                          extra={"encoder": self.encoder.to_dict(), "file_scheme": self.file_scheme, "run_config": to_dict(self.config)})

    @classmethod
    def load(cls, directory: str | Path) -> "Tagger":
        from ...train.checkpoint import load_model

        model, meta = load_model(directory)
        e = meta["extra"]
        return cls(model, TagEncoder.from_dict(e["encoder"]), e["file_scheme"], from_dict(TagConfig, e["run_config"]))

    @torch.no_grad()
    def tag(self, sentences: list[list[str]], batch_size: int = 128) -> tuple[list[list[str]], int]:
        """Tags in the files' scheme for each sentence, and how many sentences were tagged in pieces."""
        self.model.eval()
        size = self.config.data.max_length
        items, where, cut = [], [], 0
        for i, toks in enumerate(sentences):
            if not toks:
                raise ValueError(f"Tagger: expected at least one token in sentence {i}, got none")
            spans = _pieces(len(toks), size)
            cut += len(spans) > 1
            for a, b in spans:
                items.append(self.encoder.encode(toks[a:b]))
                where.append(i)
        order = sorted(range(len(items)), key=lambda k: len(items[k]["words"]))
        ids: list[list[int]] = [[] for _ in items]
        for s in range(0, len(order), batch_size):
            idx = order[s : s + batch_size]
            for k, path in zip(idx, self.model.decode(collate([items[k] for k in idx]))):
                ids[k] = path
        out: list[list[str]] = [[] for _ in sentences]
        for k, i in enumerate(where):  # pieces are in order within a sentence
            out[i].extend(self.encoder.tags.decode(ids[k], skip_pad=False))
        if self.model_scheme != self.file_scheme:
            out = [convert(t, self.model_scheme, self.file_scheme, repair=True) for t in out]
        return out, cut


# ------------------------------------------------------------------ outputs
def write_outputs(out: Path, sentences: list[Sentence], predicted: list[list[str]], scheme: str, has_gold: bool,
                  conll: Path | None = None, jsonl: Path | None = None) -> None:
    from ...io.files import atomic_write_text

    if conll is not None:
        if has_gold:
            write_conll(conll, sentences, predicted)
        else:
            write_conll(conll, [Sentence(tokens=s.tokens, tags=p, columns=[s.tokens, p]) for s, p in zip(sentences, predicted)])
    if jsonl is not None:
        lines = []
        for s, p in zip(sentences, predicted):
            ents = [dict(type=e.type, start=e.start, end=e.end, text=" ".join(s.tokens[e.start : e.end]))
                    for e in entities(p, scheme)]
            row = dict(line=s.line, tokens=s.tokens, tags=p, entities=ents)
            if has_gold:
                row["gold"] = s.tags
            lines.append(json.dumps(row, ensure_ascii=False))
        atomic_write_text(jsonl, "\n".join(lines) + "\n")


def score(tagger: Tagger, sentences: list[Sentence], source: str, say: Callable[[str], None] = print) -> tuple[dict, list[list[str]]]:
    """Entity scores of ``tagger`` on gold-tagged ``sentences`` and its predicted tags."""
    scheme = file_scheme(sentences, tagger.config.data.scheme, source)
    if scheme != tagger.file_scheme:
        if {scheme, tagger.file_scheme} == {"IOB1", "IOB2"} and tagger.config.data.scheme == "auto":
            scheme = tagger.file_scheme  # a file with no evidence either way reads as IOB2; trust the training scheme
        else:
            raise ValueError(f"tag evaluate: {source} is in {scheme}, the model was trained on {tagger.file_scheme} files")
    known_types = {split_tag(t)[1] for t in tagger.encoder.tags.tokens} - {None}
    unseen_types = sorted({split_tag(t)[1] for s in sentences for t in s.tags} - {None} - known_types)
    if unseen_types:
        say(f"note: entity types never seen in training: {unseen_types}; they are scored as missed entities")
    predicted, cut = tagger.tag([s.tokens for s in sentences])
    if cut:
        say(f"note: {cut} sentence(s) longer than data.max_length={tagger.config.data.max_length} tagged in pieces")
    report = entity_scores([s.tags for s in sentences], predicted, scheme, strict=tagger.config.data.strict)
    metrics = dict(report.as_dict(), sentences=len(sentences), tokens=sum(len(s) for s in sentences), scheme=scheme,
                   convention="seqeval strict" if tagger.config.data.strict else "conlleval", split_sentences=cut,
                   unseen_types=unseen_types)
    return metrics, predicted


# ------------------------------------------------------------------ runs
@dataclass
class TagRun:
    out: Path
    model_dir: Path
    metrics: dict
    history: list[dict] = field(default_factory=list)
    train_seconds: float = 0.0
    tagger: Tagger | None = None


def _encode_all(encoder: TagEncoder, sentences: list[Sentence], source: str, target: str, size: int) -> tuple[list[dict], int]:
    """Encode sentences cut into pieces of at most ``size`` tokens, tags rewritten from ``source`` to ``target`` scheme.

    Each piece is converted on its own (``repair``), so a cut through an entity
    gives two well-formed pieces that the constrained CRF can score.
    """
    items, cut = [], 0
    for s in sentences:
        spans = _pieces(len(s), size)
        cut += len(spans) > 1
        items.extend(encoder.encode(s.tokens[a:b], convert(s.tags[a:b], source, target, repair=True)) for a, b in spans)
    return items, cut


def train(cfg: TagConfig, train_path: str | Path, dev_path: str | Path | None, out: str | Path,
          test_path: str | Path | None = None, resume: bool = False, say: Callable[[str], None] = print,
          callbacks: list | None = None) -> TagRun:
    """Fit a BiLSTM-CRF on ``train_path`` with early stopping on ``dev_path`` entity F1, and write the run folder.

    ``callbacks``: extra Lightning callbacks for :func:`lstmkit.train.fit` (e.g. a time budget).
    """
    from torch.utils.data import DataLoader

    from ...data.batching import BucketBatchSampler
    from ...explain.training_plots import plot_history
    from ...train import fit, seed_everything
    from ...io.files import atomic_write_text
    from .model import BiLSTMCRFTagger

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    d, m = cfg.data, cfg.model
    train_sents, has_gold = read_sentences(train_path)
    if not has_gold:
        raise ValueError(f"tag train: {train_path} has no tag column (expected CoNLL lines 'token ... tag')")
    scheme = file_scheme(train_sents, d.scheme, str(train_path))
    to_model = [convert(s.tags, scheme, d.model_scheme) for s in train_sents]
    to_model += [convert(s.tags[a:b], scheme, d.model_scheme, repair=True)  # tags of cut pieces (e.g. S-X) join the set
                 for s in train_sents if len(s) > d.max_length for a, b in _pieces(len(s), d.max_length)]
    encoder = TagEncoder.fit([s.tokens for s in train_sents], to_model, d.lowercase, d.digits_to_zero, d.min_freq, d.max_word_length)
    say(f"loaded {train_path}: {len(train_sents)} sentences, {sum(len(s) for s in train_sents)} tokens, scheme {scheme} "
        f"(model learns {d.model_scheme}: {len(encoder.tags)} tags), {len(encoder.words)} words, {len(encoder.chars)} characters")
    items, cut = _encode_all(encoder, train_sents, scheme, d.model_scheme, d.max_length)
    if cut:
        say(f"note: {cut} training sentence(s) longer than data.max_length={d.max_length} split into pieces")
    model_cfg = dict(num_words=len(encoder.words), num_chars=len(encoder.chars), num_shapes=len(SHAPES), num_tags=len(encoder.tags),
                     unk_id=encoder.words.unk_id, word_dim=m.word_dim, char_encoder=m.char_encoder, char_dim=m.char_dim,
                     char_features=m.char_features, shape_dim=m.shape_dim, hidden_size=m.hidden_size, num_layers=m.num_layers,
                     cell=m.cell, dropout=m.dropout, word_dropout=m.word_dropout, crf=m.crf)
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
    val_loader = val_step = None
    if dev_path:
        dev_sents, dev_gold = read_sentences(dev_path)
        if not dev_gold:
            raise ValueError(f"tag train: {dev_path} has no tag column to validate against")
        dev_scheme = file_scheme(dev_sents, d.scheme, str(dev_path))
        dev_model = [convert(s.tags, dev_scheme, d.model_scheme, repair=True) for s in dev_sents]
        keep = [i for i, t in enumerate(dev_model) if set(t) <= set(names)]
        if len(keep) < len(dev_sents):
            say(f"note: {len(dev_sents) - len(keep)} dev sentence(s) with tags unseen in training left out of early stopping")
        dev_items, _ = _encode_all(encoder, [dev_sents[i] for i in keep], dev_scheme, d.model_scheme, d.max_length)
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

    result = fit(model, step, train_loader, val_loader, cfg.train, out_dir=out / "training", resume=resume, callbacks=callbacks, val_step=val_step)
    tagger = Tagger(model.eval(), encoder, scheme, cfg)
    model_dir = tagger.save(out / "model")
    atomic_write_text(out / "config.yaml", to_yaml(cfg))
    metrics: dict = {"train_seconds": round(result.seconds, 2), "epochs": result.epochs,
                     "parameters": sum(p.numel() for p in model.parameters())}
    last = None
    for name, path in (("dev", dev_path), ("test", test_path)):
        if path:
            sents, gold = read_sentences(path)
            if not gold:
                raise ValueError(f"tag train: {path} has no tag column to score against")
            metrics[name], predicted = score(tagger, sents, str(path), say)
            last = (sents, predicted, metrics[name]["scheme"])
    if last:
        write_outputs(out, last[0], last[1], last[2], True, out / "predictions.conll", out / "predictions.jsonl")
    if result.history:
        plot_history(out / "plots" / "training.png", result.history, f"tag: {Path(train_path).name}")
    atomic_write_text(out / "metrics.json", json.dumps(metrics, indent=2))
    from .report import write_report

    write_report(out, Path(train_path).name, metrics, to_dict(cfg))
    return TagRun(out, model_dir, metrics, result.history, result.seconds, tagger)


def evaluate(model_dir: str | Path, data_path: str | Path, out: str | Path, say: Callable[[str], None] = print) -> dict:
    """Entity scores of a saved tagger on a CoNLL file: metrics.json, predictions.conll/.jsonl in ``out``."""
    from ...io.files import atomic_write_text

    tagger = Tagger.load(model_dir)
    sents, gold = read_sentences(data_path)
    if not gold:
        raise ValueError(f"tag evaluate: {data_path} has no tag column to score against")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    metrics, predicted = score(tagger, sents, str(data_path), say)
    write_outputs(out, sents, predicted, metrics["scheme"], True, out / "predictions.conll", out / "predictions.jsonl")
    atomic_write_text(out / "metrics.json", json.dumps(metrics, indent=2))
    return metrics


def predict(model_dir: str | Path, data_path: str | Path, output: str | Path | None = None,
            say: Callable[[str], None] = print) -> list[list[str]]:
    """Tag every sentence of a CoNLL or tokens-only file; ``output`` ending in ``.jsonl``/``.json`` gets JSON lines, else CoNLL."""
    tagger = Tagger.load(model_dir)
    sents, gold = read_sentences(data_path)
    predicted, cut = tagger.tag([s.tokens for s in sents])
    if cut:
        say(f"note: {cut} sentence(s) longer than data.max_length={tagger.config.data.max_length} tagged in pieces")
    if output:
        output = Path(output)
        output.parent.mkdir(parents=True, exist_ok=True)
        as_json = output.suffix.lower() in (".jsonl", ".json")
        write_outputs(output.parent, sents, predicted, tagger.file_scheme, gold,
                      conll=None if as_json else output, jsonl=output if as_json else None)
    return predicted
