"""Results pages that a benchmark script rewrites and people add to by hand.

A script writes its page whole from its latest run; what was measured by hand
afterwards (the same run repeated on another machine or seed) goes under a
``## Repeats`` heading at the end, which the script keeps when it rewrites the
rest (:func:`write_keeping_repeats`)."""

from __future__ import annotations

from pathlib import Path

#: the heading from which a page is written by hand
KEPT = "\n## Repeats"


def kept_sections(path: Path) -> str:
    """The hand-written end of the page at ``path`` (from :data:`KEPT` on), empty if it has none."""
    try:
        text = path.read_text()
    except OSError:
        return ""
    i = text.find(KEPT)
    return text[i:] if i >= 0 else ""


def write_keeping_repeats(path: Path, text: str) -> Path:
    """Write ``text`` to ``path``, followed by the page's hand-written end."""
    path.write_text(text + kept_sections(path))
    return path
