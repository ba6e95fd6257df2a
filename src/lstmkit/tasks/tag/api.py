"""Run folders of ``lstmkit tag``: CoNLL files in, :class:`~lstmkit.SequenceTagger` in the middle, files out.

Everything that learns or scores is the estimator's; these helpers only read
the files, call it and write what the command line promises. A training run
folder (see :mod:`lstmkit.tasks.run_folder`) holds::

    model/               model.safetensors + config.json (weights, vocabularies, schemes, configuration)
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

Bad input: malformed CoNLL lines and bad tags raise ``ValueError`` naming the
file and line; unseen words and characters map to ``<unk>`` (the word still
has its characters and shape); tags in an evaluated file that training never
saw are scored as they are (the model cannot predict them, so they count as
missed entities) and the run says which; sentences longer than
``data.max_length`` are tagged in pieces and the run says how many.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from ...data.conll import Sentence, write_conll
from .config import TagConfig
from .data import read_sentences
from .estimator import SequenceTagger


def write_outputs(tagger: SequenceTagger, sentences: list[Sentence], predicted: list[list[str]], has_gold: bool,
                  conll: Path | None = None, jsonl: Path | None = None) -> None:
    """The predicted tags as CoNLL (the file's columns, then the prediction) and/or JSON lines with the entities."""
    from ..run_folder import write_json_lines

    if conll is not None:
        if has_gold:
            write_conll(conll, sentences, predicted)
        else:
            write_conll(conll, [Sentence(tokens=s.tokens, tags=p, columns=[s.tokens, p]) for s, p in zip(sentences, predicted)])
    if jsonl is not None:
        rows = []
        for s, p in zip(sentences, predicted):
            row = dict(line=s.line, tokens=s.tokens, tags=p, entities=tagger.entities(p, s.tokens))
            if has_gold:
                row["gold"] = s.tags
            rows.append(row)
        write_json_lines(jsonl, rows)


def _gold(path: str | Path, action: str) -> list[Sentence]:
    sents, gold = read_sentences(path)
    if not gold:
        raise ValueError(f"tag {action}: {path} has no tag column to score against")
    return sents


def train(cfg: TagConfig, train_path: str | Path, dev_path: str | Path | None, out: str | Path,
          test_path: str | Path | None = None, resume: bool = False, say: Callable[[str], None] = print,
          callbacks: list | None = None):
    """Read the files, fit a :class:`~lstmkit.SequenceTagger` (early stopping on ``dev_path``) and write the run folder.

    Returns a :class:`~lstmkit.tasks.run_folder.TrainingRun` (``out``, ``metrics``, ``estimator``).
    ``callbacks``: extra Lightning callbacks for :func:`lstmkit.train.fit` (e.g. a time budget).
    """
    from ..run_folder import run_clock, write_run_folder

    started = run_clock()
    train_sents, has_gold = read_sentences(train_path)
    if not has_gold:
        raise ValueError(f"tag train: {train_path} has no tag column (expected CoNLL lines 'token ... tag')")
    dev = _gold(dev_path, "train") if dev_path else None
    say(f"loaded {train_path}: {len(train_sents)} sentences" + (f"; dev: {dev_path} ({len(dev)})" if dev else ""))
    tagger = SequenceTagger(config=cfg).fit(train_sents, None, dev, None, out_dir=out, resume=resume, callbacks=callbacks)
    metrics = dict(tagger.fit_info_)
    last = None
    if dev is not None:
        metrics["dev"] = tagger.scores_["dev"]
        last = (dev, None)
    if test_path:
        test = _gold(test_path, "train")
        metrics["test"], predicted = tagger.evaluate(test, name="test", return_predictions=True)
        last = (test, predicted)
    out = Path(out)
    if last is not None:
        out.mkdir(parents=True, exist_ok=True)
        sents, predicted = last
        write_outputs(tagger, sents, predicted if predicted is not None else tagger.predict(sents), True,
                      out / "predictions.conll", out / "predictions.jsonl")
    return write_run_folder(out, tagger, metrics, train_path, started)


def evaluate(model_dir: str | Path, data_path: str | Path, out: str | Path, say: Callable[[str], None] = print) -> dict:
    """Entity scores of a saved tagger on a CoNLL file: metrics.json, predictions.conll/.jsonl in ``out``."""
    from ...io.files import atomic_write_json

    tagger = SequenceTagger.load(model_dir)
    sents = _gold(data_path, "evaluate")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    metrics, predicted = tagger.evaluate(sents, name=Path(data_path).name, return_predictions=True)
    write_outputs(tagger, sents, predicted, True, out / "predictions.conll", out / "predictions.jsonl")
    atomic_write_json(out / "metrics.json", metrics)
    return metrics


def predict(model_dir: str | Path, data_path: str | Path, output: str | Path | None = None,
            say: Callable[[str], None] = print) -> list[list[str]]:
    """Tag every sentence of a CoNLL or tokens-only file; ``output`` ending in ``.jsonl``/``.json`` gets JSON lines, else CoNLL."""
    tagger = SequenceTagger.load(model_dir)
    sents, gold = read_sentences(data_path)
    predicted = tagger.predict(sents)
    if output:
        output = Path(output)
        output.parent.mkdir(parents=True, exist_ok=True)
        as_json = output.suffix.lower() in (".jsonl", ".json")
        write_outputs(tagger, sents, predicted, gold, conll=None if as_json else output, jsonl=output if as_json else None)
    return predicted
