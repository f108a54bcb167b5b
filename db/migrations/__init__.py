"""Numbered schema migrations, one transaction each, the version kept in the database.

SQLite's are the ``NNNN_name.sql`` files in this folder (``PRAGMA user_version`` holds the
version). A landed migration is never edited: a change is a new number.
"""

from __future__ import annotations

import re
import sqlite3
from importlib import resources

__all__ = ["load_migrations", "split_statements"]

_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")
_FOLDERS = {"sqlite": "db.migrations"}


def load_migrations(dialect: str = "sqlite") -> list[tuple[int, str, str]]:
    """``(version, file name, sql)`` for ``dialect``, by version; versions must be 1..N."""
    found: list[tuple[int, str, str]] = []
    for entry in resources.files(_FOLDERS[dialect]).iterdir():
        match = _NAME.match(entry.name)
        if match:
            found.append((int(match.group(1)), entry.name, entry.read_text(encoding="utf-8")))
    found.sort()
    for expected, (version, name, _) in enumerate(found, start=1):
        if version != expected:
            raise RuntimeError(f"migration numbering gap: expected {expected:04d}, found {name}")
    return found


def split_statements(script: str) -> list[str]:
    """A migration's statements, one by one (``sqlite3.complete_statement`` keeps a trigger's
    body whole)."""
    statements: list[str] = []
    buffer = ""
    for line in script.splitlines(keepends=True):
        if not buffer and line.strip().startswith("--"):
            continue
        buffer += line
        if sqlite3.complete_statement(buffer):
            if buffer.strip().strip(";").strip():
                statements.append(buffer.strip())
            buffer = ""
    if buffer.strip():
        raise RuntimeError(f"incomplete SQL statement in migration: {buffer[:60]!r}")
    return statements
