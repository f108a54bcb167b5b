"""Storage: the :class:`~db.database.Database` interface, its backends, numbered migrations, and
repositories that take the domain's values in and give its dataclasses out."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from db.database import Database, Dialect, Row, Tx

__all__ = ["Database", "Dialect", "Row", "Tx", "open_database"]


@asynccontextmanager
async def open_database(target: Path | str, *, migrate: bool = True) -> AsyncIterator[Database]:
    """Open the database ``target`` names (a SQLite file path or ``sqlite:///path``), migrate it
    and close it at exit."""
    from db.sqlite import open_sqlite

    text = str(target)
    if text.startswith("sqlite:///"):
        text = text.removeprefix("sqlite:///")
    async with open_sqlite(text, migrate=migrate) as db:
        yield db
