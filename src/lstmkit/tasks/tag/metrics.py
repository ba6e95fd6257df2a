"""Entity-level precision, recall and F1 for sequence tagging (CoNLL/seqeval conventions).

An entity counts as correct only when the predicted span has exactly the gold
span's start, end and type. Entities are read from tags with
:func:`lstmkit.tasks.tag.schemes.entities`: by default leniently, as conlleval
and seqeval's default mode do (``I-X`` after ``O`` starts an entity), or with
``strict=True`` keeping only well-formed entities as seqeval's strict mode.

Scores:

.. math::
    P = \\frac{\\#\\text{correct}}{\\#\\text{predicted}}, \\quad
    R = \\frac{\\#\\text{correct}}{\\#\\text{gold}}, \\quad
    F_1 = \\frac{2PR}{P + R}

each ``0`` when its denominator is ``0`` (as conlleval prints). ``micro``
pools all types; ``per_type`` scores each type; ``macro`` is the unweighted
mean of the per-type scores over every type seen in gold or predictions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

from .schemes import entities


@dataclass(frozen=True)
class Scores:
    """Counts and scores of one entity type (or of all pooled)."""

    correct: int  # predicted entities that match a gold one exactly
    predicted: int  # predicted entities
    gold: int  # gold entities (the support)

    @property
    def precision(self) -> float:
        return self.correct / self.predicted if self.predicted else 0.0

    @property
    def recall(self) -> float:
        return self.correct / self.gold if self.gold else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


@dataclass(frozen=True)
class EntityReport:
    """What :func:`entity_scores` returns.

    Attributes:
        micro: all types pooled.
        per_type: one :class:`Scores` per type in gold or predictions, sorted by name.
        macro_precision, macro_recall, macro_f1: unweighted means over ``per_type``.
        token_accuracy: fraction of tokens whose tag is exactly right (conlleval's accuracy).
    """

    micro: Scores
    per_type: dict[str, Scores] = field(default_factory=dict)
    token_accuracy: float = 0.0

    def _macro(self, name: str) -> float:
        values = [getattr(s, name) for s in self.per_type.values()]
        return sum(values) / len(values) if values else 0.0

    @property
    def macro_precision(self) -> float:
        return self._macro("precision")

    @property
    def macro_recall(self) -> float:
        return self._macro("recall")

    @property
    def macro_f1(self) -> float:
        return self._macro("f1")

    def as_dict(self) -> dict:
        """Plain numbers, for JSON reports."""

        def row(s: Scores) -> dict:
            return dict(precision=s.precision, recall=s.recall, f1=s.f1, correct=s.correct, predicted=s.predicted, gold=s.gold)

        return dict(
            micro=row(self.micro),
            macro=dict(precision=self.macro_precision, recall=self.macro_recall, f1=self.macro_f1),
            per_type={k: row(v) for k, v in self.per_type.items()},
            token_accuracy=self.token_accuracy,
        )


def entity_scores(
    gold: Sequence[Sequence[str]], pred: Sequence[Sequence[str]], scheme: str = "IOB2", strict: bool = False
) -> EntityReport:
    """Entity-level scores of predicted tag sequences against gold ones.

    Args:
        gold: one tag sequence per sentence.
        pred: the predicted tags, same sentences and lengths.
        scheme: ``'IOB2'`` (default), ``'IOB1'`` or ``'BIOES'``.
        strict: decode only well-formed entities (seqeval strict mode);
            default ``False`` (conlleval).

    Example::

        >>> r = entity_scores([["B-PER", "I-PER", "O", "B-LOC"]], [["B-PER", "I-PER", "O", "B-ORG"]])
        >>> r.micro.precision, r.micro.recall, r.per_type["PER"].f1
        (0.5, 0.5, 1.0)
    """
    if len(gold) != len(pred):
        raise ValueError(f"entity_scores: expected as many predicted sentences as gold ones ({len(gold)}), got {len(pred)}")
    correct: dict[str, int] = {}
    n_pred: dict[str, int] = {}
    n_gold: dict[str, int] = {}
    right_tokens = total_tokens = 0
    for i, (g, p) in enumerate(zip(gold, pred)):
        if len(g) != len(p):
            raise ValueError(f"entity_scores: expected sentence {i} to have {len(g)} predicted tags, got {len(p)}")
        gold_spans = set(entities(g, scheme, strict))
        pred_spans = set(entities(p, scheme, strict))
        for span in gold_spans:
            n_gold[span.type] = n_gold.get(span.type, 0) + 1
        for span in pred_spans:
            n_pred[span.type] = n_pred.get(span.type, 0) + 1
            if span in gold_spans:
                correct[span.type] = correct.get(span.type, 0) + 1
        right_tokens += sum(a == b for a, b in zip(g, p))
        total_tokens += len(g)
    types = sorted(set(n_gold) | set(n_pred))
    per_type = {t: Scores(correct.get(t, 0), n_pred.get(t, 0), n_gold.get(t, 0)) for t in types}
    micro = Scores(sum(correct.values()), sum(n_pred.values()), sum(n_gold.values()))
    return EntityReport(micro=micro, per_type=per_type, token_accuracy=right_tokens / total_tokens if total_tokens else 0.0)


def entity_f1(gold: Sequence[Sequence[str]], pred: Sequence[Sequence[str]], scheme: str = "IOB2", strict: bool = False) -> float:
    """Micro-averaged entity F1, the number CoNLL-2003 results report."""
    return entity_scores(gold, pred, scheme, strict).micro.f1
