"""The tagging blocks together: CoNLL tags -> label vocabulary -> constrained CRF -> well-formed tags -> F1."""

from __future__ import annotations

import pytest
import torch

from lstmkit.data.conll import read_conll
from lstmkit.data.vocab import Vocab
from lstmkit.nn import CRF
from lstmkit.tasks.tag.metrics import entity_f1
from lstmkit.tasks.tag.schemes import allowed_transitions, convert, validate


@pytest.mark.parametrize("scheme", ["IOB2", "BIOES"])
def test_constrained_viterbi_only_writes_valid_tags(shared_data, scheme):
    sents = read_conll(shared_data / "conll2003" / "dev.txt")[:64]
    gold = [convert(s.tags, "IOB2", scheme) for s in sents]
    tags = Vocab.build(gold, pad=False, unk=False, order="sorted")
    crf = CRF(len(tags)).double()
    crf.set_constraints(*allowed_transitions(tags.tokens, scheme))
    lengths = [len(s) for s in sents]
    T = max(lengths)
    g = torch.Generator().manual_seed(0)
    emissions = torch.randn(T, len(sents), len(tags), generator=g, dtype=torch.float64) * 3
    path, _ = crf.decode(emissions, lengths=lengths)
    decoded = [tags.decode(path[:L, b].tolist()) for b, L in enumerate(lengths)]
    for seq in decoded:
        validate(seq, scheme)
    # without the constraints random scores do write invalid sequences (so the check above has teeth)
    free = CRF(len(tags)).double()
    free_path, _ = free.decode(emissions, lengths=lengths)
    invalid = 0
    for b, L in enumerate(lengths):
        try:
            validate(tags.decode(free_path[:L, b].tolist()), scheme)
        except ValueError:
            invalid += 1
    assert invalid > 0
    # the gold sequences are allowed paths: their log-likelihood is finite
    gold_ids = torch.zeros(T, len(sents), dtype=torch.long)
    for b, seq in enumerate(gold):
        gold_ids[: len(seq), b] = torch.tensor(tags.encode(seq))
    assert torch.isfinite(crf.log_likelihood(emissions, gold_ids, lengths=lengths)).all()


def test_constrained_crf_decodes_oracle_emissions_to_gold_entities(shared_data):
    """Emissions that point at the gold tag (plus noise) decode to the gold entities; F1 1.0 when the signal wins."""
    sents = read_conll(shared_data / "conll2003" / "dev.txt")[:32]
    tags = Vocab.build([s.tags for s in sents], pad=False, unk=False, order="sorted")
    lengths = [len(s) for s in sents]
    T = max(lengths)
    gold_ids = torch.zeros(T, len(sents), dtype=torch.long)
    for b, s in enumerate(sents):
        gold_ids[: len(s), b] = torch.tensor(tags.encode(s.tags))
    emissions = torch.nn.functional.one_hot(gold_ids, len(tags)).double() * 5 + 0.1 * torch.randn(T, len(sents), len(tags), dtype=torch.float64)
    crf = CRF(len(tags)).double()
    crf.set_constraints(*allowed_transitions(tags.tokens, "IOB2"))
    path, _ = crf.decode(emissions, lengths=lengths)
    pred = [tags.decode(path[:L, b].tolist()) for b, L in enumerate(lengths)]
    assert entity_f1([s.tags for s in sents], pred) == 1.0
