"""Reading a data file as text, with one-line errors that name the file for anything that is not UTF-8 text.

:func:`lstmkit.io.files.read_text` refuses bytes that are not UTF-8 (a
latin-1 file, most binary files) naming the file and line; a file that
decodes but holds NUL bytes (a binary file that happens to be valid UTF-8)
is refused here the same way, before any parser sees it.
"""

from __future__ import annotations

from pathlib import Path


def read_data_text(path: str | Path, what: str) -> str:
    """The text of data file ``path`` (UTF-8, byte-order mark dropped); ``ValueError`` naming the file otherwise.

    ``what`` names what the file should hold, for the message (``"CoNLL data"``).
    """
    from ..io.files import read_text

    text = read_text(path, what)
    nul = text.find("\x00")
    if nul >= 0:
        raise ValueError(f"{path}: line {text.count(chr(10), 0, nul) + 1}: expected UTF-8 text ({what}), got binary "
                         f"data (a NUL byte)")
    return text
