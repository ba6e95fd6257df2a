"""Translation data: pair files, bad lines, the split by source sentence, multi-reference scores."""

from __future__ import annotations

import pytest

from lstmkit.tasks.translate.pairs import (
    group_references,
    pairs_from,
    part_of,
    read_pairs,
    source_key,
    split_by_source,
)


def _write(tmp_path, name, text, encoding="utf-8"):
    p = tmp_path / name
    p.write_bytes(text.encode(encoding) if isinstance(text, str) else text)
    return p


def test_reads_tsv_with_extra_columns_and_csv_with_quotes(tmp_path):
    tsv = _write(tmp_path, "p.tsv", "Go.\tVa !\tCC-BY attribution\nHi.\tSalut.\n")
    ps = read_pairs(tsv)
    assert ps.pairs() == [("Go.", "Va !"), ("Hi.", "Salut.")]
    csv = _write(tmp_path, "p.csv", 'source,target\n"Hello, Tom.","Bonjour, Tom."\nRun!,Cours !\n')
    ps = read_pairs(csv, header=True)
    assert ps.pairs() == [("Hello, Tom.", "Bonjour, Tom."), ("Run!", "Cours !")]


@pytest.mark.parametrize("line, why", [("only one column", "got one"), ("\tVa !", "non-empty source"),
                                       ("Go.\t  ", "non-empty target")])
def test_a_malformed_line_is_an_error_naming_file_and_line(tmp_path, line, why):
    p = _write(tmp_path, "bad.tsv", f"Go.\tVa !\nHi.\tSalut.\n{line}\nRun!\tCours !\n")
    with pytest.raises(ValueError) as e:
        read_pairs(p)
    msg = str(e.value)
    assert str(p) in msg and "line 3" in msg and why in msg and "\n" not in msg


def test_malformed_lines_can_be_skipped_and_are_counted(tmp_path):
    p = _write(tmp_path, "bad.tsv", "Go.\tVa !\nbroken\n\nHi.\t\nRun!\tCours !\n")
    ps = read_pairs(p, skip_bad=True)
    assert ps.pairs() == [("Go.", "Va !"), ("Run!", "Cours !")]
    assert ps.skipped_bad == 2 and ps.skipped_blank == 1
    assert "line 2" in ps.bad_examples[0] and "line 4" in ps.bad_examples[1]


def test_non_utf8_file_is_an_error_naming_the_file(tmp_path):
    p = _write(tmp_path, "latin1.tsv", "Go.\tVa !\nHe is.\tIl est allé.\n", encoding="latin-1")
    with pytest.raises(ValueError, match=r"latin1\.tsv: line 2: expected UTF-8"):
        read_pairs(p)


def test_empty_and_missing_files(tmp_path):
    with pytest.raises(ValueError, match="at least one sentence pair"):
        read_pairs(_write(tmp_path, "empty.tsv", "\n\n"))
    with pytest.raises(FileNotFoundError, match="nope.tsv"):
        read_pairs(tmp_path / "nope.tsv")


def test_in_memory_pairs_are_checked():
    assert len(pairs_from([("a", "b"), ["c", "d"]])) == 2
    with pytest.raises(ValueError, match="item 1: expected a non-empty target"):
        pairs_from([("a", "b"), ("c", " ")])
    with pytest.raises(ValueError, match="item 0: expected a \\(source, target\\) pair"):
        pairs_from(["just a string"])
    assert len(pairs_from([("a", "b"), ("c", "")], skip_bad=True)) == 1


def _pairs(n_sources=400, per_source=3):
    data = []
    for i in range(n_sources):
        for k in range(1 + i % per_source):
            data.append((f"sentence {i} .", f"phrase {i} v{k}"))
    return pairs_from(data)


def test_split_never_puts_one_source_in_two_parts():
    ps = _pairs()
    parts = split_by_source(ps, 0.1, 0.2, seed=3)
    keys = {p: {source_key(s) for s in parts[p].sources} for p in parts}
    assert not keys["train"] & keys["dev"] and not keys["train"] & keys["test"] and not keys["dev"] & keys["test"]
    assert sum(len(parts[p]) for p in parts) == len(ps)
    # every translation of a test source is in the test part
    test_sources = keys["test"]
    assert sum(1 for s in ps.sources if source_key(s) in test_sources) == len(parts["test"])
    n = len(set(ps.sources))
    assert 0.1 * n < len(keys["test"]) < 0.3 * n and 0.03 * n < len(keys["dev"]) < 0.17 * n


def test_split_is_deterministic_and_independent_of_order_and_whitespace():
    ps = _pairs()
    a = split_by_source(ps, 0.1, 0.1, seed=0)
    rev = pairs_from(list(reversed(ps.pairs())))
    b = split_by_source(rev, 0.1, 0.1, seed=0)
    assert set(a["test"].pairs()) == set(b["test"].pairs())
    assert part_of("sentence  7 .", 0.1, 0.1) == part_of("sentence 7 .", 0.1, 0.1)
    c = split_by_source(ps, 0.1, 0.1, seed=1)
    assert set(a["test"].pairs()) != set(c["test"].pairs())  # the seed is the salt


def test_group_references_collects_every_translation_of_a_source():
    ps = pairs_from([("Hi.", "Salut."), ("Run!", "Cours !"), ("Hi.", "Bonjour."), ("Hi.", "Salut.")])
    sources, refs = group_references(ps)
    assert sources == ["Hi.", "Run!"] and refs == [["Salut.", "Bonjour."], ["Cours !"]]


def test_multi_reference_bleu_counts_the_matching_reference():
    from lstmkit.tasks.translate.metrics import reference_streams, score

    refs = [["Il fait très froid ici.", "Il fait vraiment froid ici ce matin."], ["Je suis à la maison maintenant."]]
    assert reference_streams(refs) == [["Il fait très froid ici.", "Je suis à la maison maintenant."],
                                       ["Il fait vraiment froid ici ce matin.", None]]
    both = score(["Il fait vraiment froid ici ce matin.", "Je suis à la maison maintenant."], refs)
    first_only = score(["Il fait vraiment froid ici ce matin.", "Je suis à la maison maintenant."],
                       [[refs[0][0]], refs[1]])
    assert both["bleu"] == pytest.approx(100.0) and both["chrf"] == pytest.approx(100.0)
    assert first_only["bleu"] < 80 and both["references"] == 3
    with pytest.raises(ValueError, match="one reference list per hypothesis"):
        score(["a"], [])
