"""The one-page HTML report of a classifier: the model, the cross-validation's choice, scores beside the 1-NN baselines."""

from __future__ import annotations

from pathlib import Path

from ...config import to_dict
from ..run_folder import Section, fit_intro, write_report as write_page


def verdict(metrics: dict) -> str:
    """One plain sentence: does a 1-NN baseline beat the model on these data?"""
    base = {k: b["accuracy"] for k, b in metrics.get("baselines", {}).items() if b.get("accuracy") is not None}
    if not base:
        return ""
    acc = metrics["accuracy"]
    beaten = [k for k, a in base.items() if a > acc]
    if beaten:
        best = max(beaten, key=base.get)
        return (f"A baseline beats the model here: {', '.join(beaten)} ({best} {base[best]:.4f} against the model's "
                f"{acc:.4f}).")
    tied = [k for k, a in base.items() if a == acc]
    if tied:
        return f"The model ties {', '.join(tied)} ({acc:.4f}) and beats the other baseline(s)." if len(tied) < len(base) \
            else f"The model ties every baseline ({acc:.4f})."
    return f"The model ({acc:.4f}) beats both 1-NN baselines ({', '.join(f'{k} {a:.4f}' for k, a in base.items())})."


def score_sections(name: str, m: dict) -> list[Section]:
    head = f"{name}: accuracy {m['accuracy']:.4f}, macro-F1 {m['macro_f1']:.4f} ({m['examples']} examples)"
    rows = [[f"the model: {m.get('model', '')}", m["accuracy"], m["macro_f1"], ""]]
    for k, b in m.get("baselines", {}).items():
        note = b.get("skipped") or (f"{b.get('seconds', 0):.1f} s" + (f", Sakoe-Chiba band {b['window']} steps"
                                                                       if b.get("window") else ""))
        rows.append([k, b.get("accuracy") if b.get("accuracy") is not None else "skipped", b.get("macro_f1", ""), note])
    notes = [p for p in (verdict(m),) if p]
    if m.get("truncated") or m.get("skipped_unseen"):
        notes.append(f"{m.get('truncated', 0)} sequence(s) cut to max_length; "
                     f"{m.get('skipped_unseen', 0)} example(s) with labels unseen in training left out.")
    return [Section(head, ["classifier", "accuracy", "macro-F1", "note"], rows, notes),
            Section(f"{name}: F1 per class", ["class", "F1"], [[c, f] for c, f in m["per_class_f1"].items()])]


def selection_section(sel: dict) -> Section:
    c = sel["chosen"]
    chosen = c["name"] + (f", {c['epochs']} epochs" if c.get("epochs") else "")
    first = (f"Chosen by {sel['folds']}-fold stratified cross-validation on the training data ({sel['seconds']:.0f} s): "
             f"{chosen} (CV accuracy {c['cv_accuracy']:.4f}).")
    if sel["fell_back_to_neighbours"]:
        first += (" A nearest-neighbour classifier was more accurate in the cross-validation than every network, so "
                  "the model is that 1-NN classifier, not an LSTM.")
    elif c["kind"] == "blend":
        first += (" The model averages the networks' class probabilities with the nearest neighbour's (a softmax over "
                  "each class's nearest distance), which did best in the cross-validation.")
    rows = [[r["name"], r["epochs"] or "", r["cv_accuracy"], r["cv_log_loss"], r["seconds"]] for r in sel["candidates"]]
    return Section("Model selection", ["candidate", "epochs", "CV accuracy", "CV log loss", "seconds"], rows,
                   [first, *sel.get("notes", [])])


def write_report(clf, path: Path, plots: dict[str, Path]) -> Path:
    """Write ``path`` for the fitted (or loaded) :class:`~lstmkit.SequenceClassifier` ``clf``."""
    info = getattr(clf, "fit_info_", {}) or {}
    if clf.encoder_ is None:  # the cross-validation chose a nearest-neighbour classifier
        intro = (f"{clf.model_name} classifier holding the {info.get('training_examples', '?')} training series of "
                 f"{info.get('train_name', 'in-memory data')}.")
    else:
        intro = fit_intro(f"Classifier ({clf.model_name})", info.get("train_name", "in-memory data"), info)
    if info.get("fit_seconds") is not None:
        intro += (f" The whole fit (model selection included) took {info['fit_seconds']:.0f} s of wall time and "
                  f"{info.get('fit_cpu_seconds', 0):.0f} s of CPU time on {info.get('threads', '?')} thread(s); "
                  f"{info.get('plan', '')}.")
    sections = []
    if clf.selection_:
        sections.append(selection_section(clf.selection_))
    for name, m in (clf.scores_ or {}).items():
        sections += score_sections(name, m)
    images = [(plots[k], caption) for k, caption in (("training", "training curves"),
                                                     ("confusion", "confusion matrix (rows: true class)")) if k in plots]
    return write_page(path, "Classification report", intro, sections, images, to_dict(clf.config_))
