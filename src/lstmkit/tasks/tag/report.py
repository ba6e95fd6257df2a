"""The one-page HTML report of a tagger: entity scores per type for each evaluated set."""

from __future__ import annotations

from pathlib import Path

from ...config import to_dict
from ..run_folder import Section, fit_intro, write_report as write_page


def score_section(name: str, m: dict) -> Section:
    rows = [["all (micro)", m["micro"]["precision"] * 100, m["micro"]["recall"] * 100, m["micro"]["f1"] * 100, m["micro"]["gold"]]]
    rows += [[k, v["precision"] * 100, v["recall"] * 100, v["f1"] * 100, v["gold"]] for k, v in m["per_type"].items()]
    rows.append(["macro", m["macro"]["precision"] * 100, m["macro"]["recall"] * 100, m["macro"]["f1"] * 100, ""])
    return Section(f"{name}: entity F1 {m['micro']['f1'] * 100:.2f} ({m['convention']}, {m['scheme']}, {m['sentences']} sentences)",
                   ["type", "precision", "recall", "F1", "gold entities"], rows,
                   ["", f"Token accuracy {m['token_accuracy'] * 100:.2f} %; {m['split_sentences']} sentence(s) tagged in "
                        f"pieces; entity types unseen in training: {m['unseen_types'] or 'none'}."])


def write_report(tagger, path: Path, plots: dict[str, Path]) -> Path:
    """Write ``path`` for the fitted (or loaded) :class:`~lstmkit.SequenceTagger` ``tagger``."""
    info = getattr(tagger, "fit_info_", {}) or {}
    intro = fit_intro("BiLSTM-CRF", info.get("train_name", "in-memory data"), info)
    sections = [score_section(name, m) for name, m in (tagger.scores_ or {}).items()]
    images = [(plots["training"], "training loss and dev entity F1")] if "training" in plots else []
    return write_page(path, "Tagging report", intro, sections, images, to_dict(tagger.config_))
