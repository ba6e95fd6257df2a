"""One self-contained HTML page per run: headings, tables, notes and embedded PNGs.

Every task's report is built from these pieces so they look alike and a report
is a single file that can be mailed or archived (images are embedded)::

    page = HtmlReport("Anomaly report", "mitdb.csv, prediction detector")
    page.heading("Metrics")
    page.table(["detector", "PR-AUC"], [["LSTM", 0.41], ["z-score", 0.20]])
    page.image(Path("plots/scores.png"))
    atomic_write_text(out / "report.html", page.render())   # tasks write it (lstmkit.io.files)
"""

from __future__ import annotations

import base64
import html
import json
from pathlib import Path

_STYLE = """body{font-family:system-ui,sans-serif;max-width:1000px;margin:2em auto;color:#222}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}
th{background:#f3f3f3}td:first-child{text-align:left}img{max-width:100%}figure{margin:1em 0}
pre{background:#f7f7f7;padding:1em;overflow:auto;font-size:12px}"""


def fmt(value) -> str:
    """A table cell: floats to 4 significant digits, everything escaped."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return "nan" if value != value else f"{value:.4g}"
    return html.escape(str(value))


class HtmlReport:
    """Build a report page piece by piece, then :meth:`render` it to a string."""

    def __init__(self, title: str, intro: str = "") -> None:
        self.title = title
        self.parts: list[str] = [f"<h1>{html.escape(title)}</h1>"]
        if intro:
            self.paragraph(intro)

    def heading(self, text: str, level: int = 2) -> None:
        self.parts.append(f"<h{level}>{html.escape(text)}</h{level}>")

    def paragraph(self, text: str) -> None:
        self.parts.append(f"<p>{html.escape(text)}</p>")

    def bullets(self, items) -> None:
        self.parts.append("<ul>" + "".join(f"<li>{html.escape(str(x))}</li>" for x in items) + "</ul>")

    def table(self, header: list[str], rows: list[list]) -> None:
        head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
        body = "".join("<tr>" + "".join(f"<td>{fmt(v)}</td>" for v in row) + "</tr>" for row in rows)
        self.parts.append(f"<table><tr>{head}</tr>{body}</table>")

    def image(self, path: Path, caption: str | None = None) -> None:
        data = base64.b64encode(Path(path).read_bytes()).decode()
        cap = html.escape(caption or Path(path).name)
        self.parts.append(f'<figure><img src="data:image/png;base64,{data}" alt="{cap}"><figcaption>{cap}</figcaption></figure>')

    def code(self, obj) -> None:
        text = obj if isinstance(obj, str) else json.dumps(obj, indent=2, default=str)
        self.parts.append(f"<pre>{html.escape(text)}</pre>")

    def raw(self, fragment: str) -> None:
        """Trusted HTML (e.g. a pandas ``to_html`` table)."""
        self.parts.append(fragment)

    def render(self) -> str:
        return (f'<!doctype html>\n<html><head><meta charset="utf-8"><title>{html.escape(self.title)}</title>'
                f"<style>{_STYLE}</style></head><body>\n" + "\n".join(self.parts) + "\n</body></html>\n")
