"""The one-page HTML report of a classification run (report.html)."""

from __future__ import annotations

from pathlib import Path


def write_report(out: Path, train_name: str, metrics: dict, config: dict) -> Path:
    from ...io.html_report import HtmlReport
    from ...io.files import atomic_write_text

    page = HtmlReport("Classification report", f"Trained on {train_name}: {metrics['epochs']} epochs in "
                      f"{metrics['train_seconds']:.0f} s, {metrics['parameters']:,} parameters.")
    for split in ("validation", "test"):
        m = metrics.get(split)
        if not m:
            continue
        page.heading(f"{split}: accuracy {m['accuracy']:.4f}, macro-F1 {m['macro_f1']:.4f} ({m['examples']} examples)")
        page.table(["class", "F1"], [[c, f] for c, f in m["per_class_f1"].items()])
        if m.get("truncated") or m.get("skipped_unseen"):
            page.paragraph(f"{m.get('truncated', 0)} sequence(s) cut to max_length; "
                           f"{m.get('skipped_unseen', 0)} example(s) with labels unseen in training left out.")
    for name, caption in (("training.png", "training curves"), ("confusion.png", "confusion matrix (rows: true class)")):
        if (out / "plots" / name).is_file():
            page.image(out / "plots" / name, caption)
    page.heading("Configuration")
    page.code(config)
    atomic_write_text(out / "report.html", page.render())
    return out / "report.html"
