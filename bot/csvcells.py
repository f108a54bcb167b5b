"""CSV cells that a spreadsheet never runs as a formula (pure; used by every export and by
``bot.verify_audit``).

Members write nicknames, answers and comments, and a cell that starts with ``=``, ``+``, ``-``,
``@``, a tab or a carriage return is taken as a formula by spreadsheet programs (OWASP "CSV
injection"). Such a cell is written with a leading apostrophe, which spreadsheets show as text.
A plain number (``-3``, ``+1.5``) is left alone. A cell that already starts with an apostrophe
gets one more, so the change can be undone exactly: :func:`original_cell` takes one leading
apostrophe off, which is how ``verify_audit`` recovers the hashed text.
"""

from __future__ import annotations

import re

__all__ = ["original_cell", "safe_cell"]

_FORMULA_START = frozenset("=+-@\t\r'")
_PLAIN_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def safe_cell(value: object) -> str:
    """``value`` as the text of a CSV cell that no spreadsheet evaluates."""
    text = "" if value is None else str(value)
    if text and text[0] in _FORMULA_START and not _PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text


def original_cell(text: str) -> str:
    """The value :func:`safe_cell` was given (for text; numbers come back as written)."""
    return text[1:] if text.startswith("'") else text
