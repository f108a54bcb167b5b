"""Helpers for tests that look at stored rows on either backend."""

from __future__ import annotations

from typing import Any

from db import Database

__all__ = ["rows_of", "table_names"]


async def rows_of(db: Database, *queries: str) -> list[tuple[Any, ...]]:
    """The rows of several SELECTs together, in one stable order (each query run on its own:
    PostgreSQL refuses a UNION of columns of different types, which SQLite allows)."""
    rows: list[tuple[Any, ...]] = []
    for sql in queries:
        rows.extend(tuple(r) for r in await db.fetchall(sql))
    return sorted(rows, key=lambda r: [repr(v) for v in r[:3]] + [repr(r)])


async def table_names(db: Database) -> list[str]:
    """The bot's tables (without the backend's own bookkeeping tables)."""
    if db.dialect.is_sqlite:
        sql = (
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
            "ORDER BY name"
        )
    else:
        sql = (
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' "
            "AND table_name <> 'schema_migrations' ORDER BY table_name"
        )
    return [str(r[0]) for r in await db.fetchall(sql)]
