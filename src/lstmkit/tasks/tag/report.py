"""The one-page HTML report of a tagging run (report.html)."""

from __future__ import annotations

from pathlib import Path


def write_report(out: Path, train_name: str, metrics: dict, config: dict) -> Path:
    from ...io.html_report import HtmlReport
    from ...io.files import atomic_write_text

    page = HtmlReport("Tagging report", f"BiLSTM-CRF trained on {train_name}: {metrics['epochs']} epochs in "
                      f"{metrics['train_seconds']:.0f} s, {metrics['parameters']:,} parameters.")
    for split in ("dev", "test"):
        m = metrics.get(split)
        if not m:
            continue
        page.heading(f"{split}: entity F1 {m['micro']['f1'] * 100:.2f} ({m['convention']}, {m['scheme']}, {m['sentences']} sentences)")
        rows = [["all (micro)", m["micro"]["precision"] * 100, m["micro"]["recall"] * 100, m["micro"]["f1"] * 100, m["micro"]["gold"]]]
        rows += [[k, v["precision"] * 100, v["recall"] * 100, v["f1"] * 100, v["gold"]] for k, v in m["per_type"].items()]
        rows.append(["macro", m["macro"]["precision"] * 100, m["macro"]["recall"] * 100, m["macro"]["f1"] * 100, ""])
        page.table(["type", "precision", "recall", "F1", "gold entities"], rows)
        page.paragraph(f"Token accuracy {m['token_accuracy'] * 100:.2f} %; {m['split_sentences']} sentence(s) tagged in pieces; "
                       f"entity types unseen in training: {m['unseen_types'] or 'none'}.")
    if (out / "plots" / "training.png").is_file():
        page.image(out / "plots" / "training.png", "training loss and dev entity F1")
    page.heading("Configuration")
    page.code(config)
    atomic_write_text(out / "report.html", page.render())
    return out / "report.html"
