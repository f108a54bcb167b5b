"""Storage: the :class:`~db.database.Database` interface, its backends, numbered migrations, and
repositories that take the domain's values in and give its dataclasses out."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from db.database import Database, Dialect, Row, Tx

__all__ = ["Database", "Dialect", "Row", "Tx", "is_postgres_url", "open_database"]

POSTGRES_SCHEMES = ("postgresql://", "postgres://")


def is_postgres_url(target: Path | str) -> bool:
    return str(target).startswith(POSTGRES_SCHEMES)


@asynccontextmanager
async def open_database(target: Path | str, *, migrate: bool = True) -> AsyncIterator[Database]:
    """Open the database ``target`` names — a SQLite file path, ``sqlite:///path``, or
    ``postgresql://user@host/db`` — migrate it and close it at exit."""
    text = str(target)
    if is_postgres_url(text):
        from db.postgres import open_postgres

        async with open_postgres(text, migrate=migrate) as pg:
            yield pg
        return
    from db.sqlite import open_sqlite

    if text.startswith("sqlite:///"):
        text = text.removeprefix("sqlite:///")
    async with open_sqlite(text, migrate=migrate) as db:
        yield db
