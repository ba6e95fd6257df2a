"""Corpus BLEU and chrF against every reference of a source sentence (sacrebleu, the field's standard scorer)."""

from __future__ import annotations

from typing import Sequence


def _sacrebleu():
    try:
        import sacrebleu
    except ImportError:  # pragma: no cover - sacrebleu is in the tasks extra
        raise ImportError("translate: scoring needs sacrebleu (pip install 'lstmkit[tasks]' or pip install sacrebleu)") from None
    return sacrebleu


def reference_streams(references: Sequence[Sequence[str]]) -> list[list[str | None]]:
    """sacrebleu's layout: stream ``k`` holds every sentence's ``k``-th reference (``None`` where it has fewer)."""
    depth = max((len(r) for r in references), default=0)
    return [[r[k] if k < len(r) else None for r in references] for k in range(depth)]


def score(hypotheses: Sequence[str], references: Sequence[Sequence[str]]) -> dict:
    """``{"bleu", "chrf", "bleu_signature", "chrf_signature", ...}`` of the hypotheses against all their references.

    BLEU: sacrebleu's default (13a tokenisation, exponential smoothing, case-sensitive), each n-gram count
    clipped by its most frequent reference and the brevity penalty taken from the closest reference length;
    chrF: character 6-grams with beta 2, the best-matching reference per sentence.
    """
    if len(hypotheses) != len(references):
        raise ValueError(f"translate score: expected one reference list per hypothesis, got {len(hypotheses)} "
                         f"hypotheses and {len(references)} reference lists")
    if any(not r for r in references):
        raise ValueError("translate score: expected at least one reference per sentence, got an empty list")
    sb = _sacrebleu()
    streams = reference_streams(references)
    bleu = sb.metrics.BLEU()
    chrf = sb.metrics.CHRF()
    b = bleu.corpus_score(list(hypotheses), streams)
    c = chrf.corpus_score(list(hypotheses), streams)
    return {
        "bleu": round(float(b.score), 2), "chrf": round(float(c.score), 2),
        "bleu_precisions": [round(float(p), 2) for p in b.precisions], "brevity_penalty": round(float(b.bp), 4),
        "sentences": len(hypotheses), "references": sum(len(r) for r in references),
        "bleu_signature": str(bleu.get_signature()), "chrf_signature": str(chrf.get_signature()),
    }
