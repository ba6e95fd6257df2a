"""Tagging schemes IOB1, IOB2, BIOES and IO: entity spans, validation, detection, conversion.

A tag is ``O`` or ``PREFIX-TYPE`` (``B-PER``; the type may itself contain
``-``), or, in the IO scheme, a bare type (``PER``, or a part-of-speech tag
such as ``NN``). The schemes differ in how an entity's tokens are marked:

======== ====================================================================
IOB2     ``B-X`` on the first token of every entity, ``I-X`` on the rest
         (CoNLL-2003 as distributed in ``../shared/data``)
IOB1     ``I-X`` on every token; ``B-X`` only on the first token of an entity
         that directly follows another entity of the same type (the original
         CoNLL-2003 files)
BIOES    ``S-X`` for one-token entities; ``B-X``, ``I-X``..., ``E-X`` otherwise
IO       ``X`` on every token of an entity (no prefixes): a run of the same
         tag is one entity, so two adjacent entities of one type cannot be
         told apart. Tag sets without prefixes (part of speech) are read so
         too: every tag is a type, and the token accuracy is their measure.
======== ====================================================================

Spans are ``Span(type, start, end)`` with ``end`` exclusive, as Python slices.

Decoding follows conlleval (the CoNLL shared-task scorer) unless
``strict=True``: lenient decoding reads any sequence, and an ``I-X`` (or
``E-X``) that does not continue an ``X`` entity starts a new one, so
``O I-PER I-PER`` holds one PER entity. Strict decoding (seqeval's
``mode='strict'``) keeps only well-formed entities and drops the rest.
"""

from __future__ import annotations

from typing import Callable, Iterable, NamedTuple, Sequence

SCHEMES = ("IOB1", "IOB2", "BIOES", "IO")
_PREFIXES = {"IOB1": "BIO", "IOB2": "BIO", "BIOES": "BIOES"}


class Span(NamedTuple):
    """An entity: its type and the token range ``[start, end)``."""

    type: str
    start: int
    end: int


def split_tag(tag: str) -> tuple[str, str | None]:
    """``'B-PER' -> ('B', 'PER')``, ``'O' -> ('O', None)``.

    Raises:
        ValueError: not ``O`` and not ``P-TYPE`` with ``P`` one of B, I, E, S.
    """
    if tag == "O":
        return "O", None
    prefix, sep, kind = tag.partition("-")
    if not sep or prefix not in ("B", "I", "E", "S") or not kind:
        raise ValueError(f"split_tag: expected 'O' or a tag like 'B-PER' (prefix B, I, E or S), got {tag!r}")
    return prefix, kind


def prefixed(tag: str) -> bool:
    """Whether ``tag`` is ``P-TYPE`` with ``P`` one of B, I, E, S."""
    prefix, sep, kind = tag.partition("-")
    return bool(sep) and prefix in ("B", "I", "E", "S") and bool(kind)


def bare(tag: str) -> bool:
    """Whether ``tag`` is an IO tag: neither ``O`` nor of the form ``P-...``
    (a one-character prefix and a dash, well formed or not: ``X-ORG`` and
    ``B-`` are malformed prefixed tags, not types)."""
    return tag != "O" and tag[1:2] != "-"


def tag_type(tag: str) -> str | None:
    """The entity type of a tag of any scheme: ``'B-PER' -> 'PER'``, ``'PER' -> 'PER'`` (IO), ``'O' -> None``."""
    if tag == "O":
        return None
    return tag.partition("-")[2] if prefixed(tag) else tag


def _check_scheme(scheme: str, who: str) -> None:
    if scheme not in SCHEMES:
        raise ValueError(f"{who}: expected scheme in {SCHEMES}, got {scheme!r}")


def _parse(tags: Sequence[str], scheme: str, who: str) -> list[tuple[str, str | None]]:
    if scheme == "IO":  # every tag but O inside an entity of its own type
        return [("O", None) if t == "O" else ("I", t) for t in tags]
    parsed = [split_tag(t) for t in tags]
    allowed = _PREFIXES[scheme]
    for i, (p, _) in enumerate(parsed):
        if p not in allowed:
            raise ValueError(f"{who}: expected {scheme} prefixes {'/'.join(allowed)}, got {tags[i]!r} at token {i}")
    return parsed


# ------------------------------------------------------------------ validity
_RULES = {
    "IOB2": "I-X must follow B-X or I-X",
    "IOB1": "B-X must follow I-X or B-X (it only separates two adjacent X entities)",
    "BIOES": "I-X and E-X must follow B-X or I-X; B-X, S-X and O must not follow B-Y or I-Y",
    "IO": "any tag may follow any other",
}


def _move_ok(prev: tuple[str, str | None], cur: tuple[str, str | None], scheme: str) -> bool:
    """Whether tag ``cur`` may follow tag ``prev`` (the sentence boundary acts as ``O``)."""
    (pp, pt), (cp, ct) = prev, cur
    if scheme == "IO":
        return True
    if scheme == "IOB2":
        return cp != "I" or (pp in "BI" and pt == ct)
    if scheme == "IOB1":
        return cp != "B" or (pp in "BI" and pt == ct)
    inside = pp in "BI"  # BIOES: an entity is open and must go on
    if cp in "IE":
        return inside and pt == ct
    return not inside


def first_violation(tags: Sequence[str], scheme: str = "IOB2") -> tuple[int, str] | None:
    """Where ``tags`` first break ``scheme``: ``(token index, what is wrong)``, or ``None`` if they do not.

    The index is ``len(tags)`` when only the sentence's end is wrong (a
    BIOES entity left open). Malformed tags raise ``ValueError`` (:func:`split_tag`).
    """
    _check_scheme(scheme, "validate")
    parsed = _parse(tags, scheme, "validate")
    prev, prev_tag = ("O", None), "<start>"
    for i, cur in enumerate(parsed):
        if not _move_ok(prev, cur, scheme):
            return i, (f"expected a valid {scheme} sequence ({_RULES[scheme]}), got {tags[i]!r} after {prev_tag!r} "
                       f"at token {i}")
        prev, prev_tag = cur, tags[i]
    if not _move_ok(prev, ("O", None), scheme):
        return len(tags), f"expected a valid {scheme} sequence ({_RULES[scheme]}), got the sentence ending in {prev_tag!r}"
    return None


def validate(tags: Sequence[str], scheme: str = "IOB2") -> None:
    """Raise ``ValueError`` at the first place where ``tags`` break ``scheme``.

    Example::

        >>> validate(["B-PER", "I-PER", "O"], "IOB2")
        >>> validate(["O", "I-PER"], "IOB2")
        Traceback (most recent call last):
        ...
        ValueError: validate: expected a valid IOB2 sequence (I-X must follow B-X or I-X), got 'I-PER' after 'O' at token 1
    """
    found = first_violation(tags, scheme)
    if found is not None:
        raise ValueError(f"validate: {found[1]}")


def allowed_transitions(tag_names: Sequence[str], scheme: str = "IOB2") -> tuple[list[list[bool]], list[bool], list[bool]]:
    """The moves a well-formed ``scheme`` sequence may make, for :meth:`lstmkit.nn.CRF.set_constraints`.

    Returns:
        ``(transitions, start, end)``: ``transitions[i][j]`` whether tag
        ``j`` may follow tag ``i``; ``start[j]`` / ``end[j]`` whether a
        sentence may begin / end with tag ``j``.
    """
    _check_scheme(scheme, "allowed_transitions")
    parsed = _parse(tag_names, scheme, "allowed_transitions")
    outside = ("O", None)
    transitions = [[_move_ok(a, b, scheme) for b in parsed] for a in parsed]
    return transitions, [_move_ok(outside, b, scheme) for b in parsed], [_move_ok(a, outside, scheme) for a in parsed]


# ------------------------------------------------------------------ entities
def _lenient_spans(parsed: list[tuple[str, str | None]]) -> list[Span]:
    """conlleval's chunk rules, which read IOB1, IOB2 and BIOES alike."""
    spans: list[Span] = []
    start, kind = None, None
    prev = ("O", None)
    for i, (p, t) in enumerate(parsed):
        pp, pt = prev
        # does the entity open before this token end here?
        ends = pp in "ES" or (pp in "BI" and (p in "BSO" or pt != t))
        # does a new entity start at this token?
        starts = p in "BS" or (p in "IE" and (pp in "OES" or pt != t))
        if ends and start is not None:
            spans.append(Span(kind, start, i))
            start = None
        if starts:
            start, kind = i, t
        prev = (p, t)
    if start is not None:
        spans.append(Span(kind, start, len(parsed)))
    return spans


def _strict_spans(parsed: list[tuple[str, str | None]], scheme: str) -> list[Span]:
    """Only well-formed entities: ``B-X I-X*`` (IOB2) or ``S-X`` / ``B-X I-X* E-X`` (BIOES)."""
    spans: list[Span] = []
    start, kind = None, None  # the open entity, if any
    for i, (p, t) in enumerate(parsed):
        if p in ("I", "E") and start is not None and t == kind:
            if p == "E":  # BIOES: the entity is complete
                spans.append(Span(kind, start, i + 1))
                start = None
            continue
        if start is not None and scheme == "IOB2":  # any other tag closes a valid IOB2 entity
            spans.append(Span(kind, start, i))
        start = None  # a BIOES entity not closed by E-X is dropped; a stray I-X/E-X starts nothing
        if p == "B":
            start, kind = i, t
        elif p == "S":
            spans.append(Span(t, i, i + 1))
    if start is not None and scheme == "IOB2":
        spans.append(Span(kind, start, len(parsed)))
    return spans


def entities(tags: Sequence[str], scheme: str = "IOB2", strict: bool = False) -> list[Span]:
    """The entity spans of one sentence, in order.

    Args:
        tags: one tag per token.
        scheme: ``'IOB1'``, ``'IOB2'`` (default) or ``'BIOES'``; it sets which
            prefixes are accepted (``E-``/``S-`` only in BIOES) and, when
            ``strict``, what counts as well formed.
        strict: ``False`` (default) decodes as conlleval does (any ``I-X``
            that does not continue an ``X`` entity starts one). ``True`` keeps
            only well-formed entities (seqeval's strict mode); supported for
            IOB2 and BIOES (convert IOB1 to IOB2 first).

    Example::

        >>> entities(["B-PER", "I-PER", "O", "I-LOC"])
        [Span(type='PER', start=0, end=2), Span(type='LOC', start=3, end=4)]
        >>> entities(["B-PER", "I-PER", "O", "I-LOC"], strict=True)
        [Span(type='PER', start=0, end=2)]
    """
    _check_scheme(scheme, "entities")
    parsed = _parse(tags, scheme, "entities")
    if not strict or scheme == "IO":  # IO: the runs of one tag, well formed either way
        return _lenient_spans(parsed)
    if scheme == "IOB1":
        raise ValueError("entities: expected scheme 'IOB2' or 'BIOES' with strict=True, got 'IOB1' (convert to IOB2 first)")
    return _strict_spans(parsed, scheme)


# ------------------------------------------------------------------ detection
def detect_scheme(sentences: Iterable[Sequence[str]], where: Callable[[int, int], str] | None = None) -> str:
    """Which scheme a corpus (a list of tag sequences) is written in.

    Evidence: tags without a prefix (other than ``O``) mean IO, and then
    every tag must be so (part-of-speech tags read as IO); ``E-``/``S-`` tags
    mean BIOES (then every sentence must be valid BIOES); an ``I-X`` that
    starts an entity means IOB1; a ``B-X`` that does not follow an ``X``
    token means IOB2. A corpus with no evidence either way
    (no entities, or only ``B-X I-X`` after another ``X``) is reported as IOB2.

    Args:
        where: ``where(sentence, token)`` names a place for the messages
            (default ``'sentence s token i'``; a file reader passes one that
            gives ``file:line``).

    Raises:
        ValueError: evidence of two schemes (a mixed corpus), naming a
            sentence and token for each.
    """
    sentences = [list(s) for s in sentences]
    io = pre = None  # the first tag without a prefix (not O), and the first with one
    for s, tags in enumerate(sentences):
        for i, tag in enumerate(tags):
            if tag == "O":
                continue
            if bare(tag):
                io = io or (s, i, tag)
            else:
                pre = pre or (s, i, tag)
    if io is not None:
        if pre is not None:
            place = (lambda s, i: where(s, i)) if where is not None else (lambda s, i: f"sentence {s} token {i}")
            raise ValueError(f"detect_scheme: expected one scheme, got tags without a prefix (IO) such as {io[2]!r} "
                             f"at {place(io[0], io[1])} and prefixed tags such as {pre[2]!r} at "
                             f"{place(pre[0], pre[1])}")
        return "IO"
    iob1 = iob2 = bioes = None  # first (sentence, token, tag, previous tag) of each kind of evidence
    for s, tags in enumerate(sentences):
        prev, prev_tag = ("O", None), "<start>"
        for i, tag in enumerate(tags):
            p, t = cur = split_tag(tag)
            continues = prev[0] != "O" and prev[1] == t
            if p in "ES" and bioes is None:
                bioes = (s, i, tag, prev_tag)
            if p == "I" and not continues and iob1 is None:
                iob1 = (s, i, tag, prev_tag)
            if p == "B" and not continues and iob2 is None:
                iob2 = (s, i, tag, prev_tag)
            prev, prev_tag = cur, tag

    def at(s: int, i: int) -> str:
        return where(s, i) if where is not None else f"sentence {s} token {i}"

    def evidence(e) -> str:
        return f"{at(e[0], e[1])} ({e[2]!r} after {e[3]!r})"

    if bioes is not None:
        for s, tags in enumerate(sentences):
            found = first_violation(tags, "BIOES")
            if found is not None:
                raise ValueError(
                    f"detect_scheme: expected one scheme, got a mix: E-/S- tags (BIOES) at {evidence(bioes)}, "
                    f"but {f'sentence {s}' if where is None else where(s, min(found[0], len(tags) - 1))} is not "
                    f"valid BIOES: {found[1]}"
                )
        return "BIOES"
    if iob1 is not None and iob2 is not None:
        raise ValueError(
            f"detect_scheme: expected one scheme, got a mix of IOB1 (an entity starting with I-) at {evidence(iob1)} "
            f"and IOB2 (an entity starting with B- after O or another type) at {evidence(iob2)}"
        )
    return "IOB1" if iob1 is not None else "IOB2"


# ------------------------------------------------------------------ conversion
def spans_to_tags(spans: Sequence[Span], length: int, scheme: str = "IOB2") -> list[str]:
    """Write non-overlapping spans as ``length`` tags in ``scheme``."""
    _check_scheme(scheme, "spans_to_tags")
    tags = ["O"] * length
    prev_end, prev_type = -1, None
    for kind, start, end in sorted(spans, key=lambda sp: sp.start):
        if start < max(prev_end, 0) or not 0 <= start < end <= length:
            raise ValueError(f"spans_to_tags: expected ordered, non-overlapping spans within 0..{length}, got {(kind, start, end)}")
        if scheme == "IO":
            tags[start:end] = [kind] * (end - start)
        elif scheme == "IOB2":
            tags[start:end] = [f"B-{kind}"] + [f"I-{kind}"] * (end - start - 1)
        elif scheme == "BIOES":
            n = end - start
            tags[start:end] = [f"S-{kind}"] if n == 1 else [f"B-{kind}"] + [f"I-{kind}"] * (n - 2) + [f"E-{kind}"]
        else:  # IOB1: B- only where an entity touches a previous one of the same type
            first = "B" if (prev_end == start and prev_type == kind) else "I"
            tags[start:end] = [f"{first}-{kind}"] + [f"I-{kind}"] * (end - start - 1)
        prev_end, prev_type = end, kind
    return tags


def convert(tags: Sequence[str], source: str, target: str, repair: bool = False) -> list[str]:
    """Rewrite one sentence's tags from ``source`` scheme to ``target``.

    Args:
        repair: ``False`` (default) raises ``ValueError`` when ``tags`` are
            not valid ``source``; ``True`` reads them leniently (conlleval
            rules) and writes well-formed ``target``.

    Example::

        >>> convert(["B-PER", "I-PER", "O", "B-LOC"], "IOB2", "BIOES")
        ['B-PER', 'E-PER', 'O', 'S-LOC']
        >>> convert(["I-PER", "B-PER", "O"], "IOB1", "IOB2")
        ['B-PER', 'B-PER', 'O']
    """
    _check_scheme(source, "convert")
    _check_scheme(target, "convert")
    if not repair:
        validate(tags, source)
    return spans_to_tags(entities(tags, source), len(tags), target)
