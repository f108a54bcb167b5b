"""The single aiosqlite connection and the migration runner.

The connection runs in autocommit mode (``isolation_level=None``): every statement is its own
transaction, so an atomic decision is one statement (``INSERT ... SELECT ... RETURNING``).
When several statements must commit together, :meth:`Database.transaction` runs a plain
function on aiosqlite's worker thread that does ``BEGIN IMMEDIATE ... COMMIT`` in one call,
so no other task's statement can interleave (``BEGIN`` spread across awaits on a shared
connection does not work: other tasks' statements land inside it).
"""

from __future__ import annotations

import logging
import re
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite

__all__ = ["MIGRATIONS_PACKAGE", "Database", "load_migrations"]

log = logging.getLogger(__name__)

MIGRATIONS_PACKAGE = "db.migrations"
_MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")

T = TypeVar("T")


def load_migrations() -> list[tuple[int, str, str]]:
    """All migrations as ``(version, name, sql)`` sorted by version; versions must be 1..N."""
    found: list[tuple[int, str, str]] = []
    for entry in resources.files(MIGRATIONS_PACKAGE).iterdir():
        match = _MIGRATION_NAME.match(entry.name)
        if match:
            found.append((int(match.group(1)), entry.name, entry.read_text(encoding="utf-8")))
    found.sort()
    for expected, (version, name, _) in enumerate(found, start=1):
        if version != expected:
            raise RuntimeError(f"migration numbering gap: expected {expected:04d}, found {name}")
    return found


class Database:
    """Owns the one connection. Repositories call :meth:`execute`, :meth:`fetchone`, ..."""

    def __init__(self, conn: aiosqlite.Connection, path: Path | str) -> None:
        self.conn = conn
        self.path = path

    @classmethod
    @asynccontextmanager
    async def open(cls, path: Path | str, *, migrate: bool = True) -> AsyncIterator[Database]:
        """Open (creating the folder and file if needed), configure, migrate, and close at exit."""
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        conn = await aiosqlite.connect(str(path), isolation_level=None)
        conn.row_factory = sqlite3.Row
        db = cls(conn, path)
        try:
            await conn.execute("PRAGMA journal_mode=WAL")
            await conn.execute("PRAGMA synchronous=NORMAL")
            await conn.execute("PRAGMA foreign_keys=ON")
            await conn.execute("PRAGMA busy_timeout=5000")
            if migrate:
                await db.migrate()
            yield db
        finally:
            await conn.close()

    # -- migrations ---------------------------------------------------------------------------

    async def schema_version(self) -> int:
        row = await self.fetchone("PRAGMA user_version")
        return int(row[0]) if row else 0

    async def migrate(self) -> list[int]:
        """Apply every migration newer than ``PRAGMA user_version``, each in its own transaction."""
        current = await self.schema_version()
        applied: list[int] = []
        for version, name, sql in load_migrations():
            if version <= current:
                continue

            def apply(conn: sqlite3.Connection, sql: str = sql, version: int = version) -> None:
                # executescript would COMMIT first; run statement by statement inside one BEGIN.
                conn.execute("BEGIN IMMEDIATE")
                try:
                    for statement in _split_sql(sql):
                        conn.execute(statement)
                    conn.execute(f"PRAGMA user_version = {int(version)}")
                    conn.execute("COMMIT")
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise

            await self.run_sync(apply)
            log.info("applied migration %s", name)
            applied.append(version)
        return applied

    # -- running SQL ----------------------------------------------------------------------------

    async def run_sync(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn(sqlite3_connection)`` on aiosqlite's worker thread as one uninterrupted call."""
        conn = self.conn
        return await conn._execute(lambda: fn(conn._conn))

    async def transaction(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn`` inside ``BEGIN IMMEDIATE``/``COMMIT`` as a single call; roll back on error."""

        def wrapped(conn: sqlite3.Connection) -> T:
            if conn.in_transaction:  # never nest into (or commit) someone else's work
                raise RuntimeError("a transaction is already open on the shared connection")
            conn.execute("BEGIN IMMEDIATE")
            try:
                result = fn(conn)
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            return result

        return await self.run_sync(wrapped)

    # Every helper below runs execute + fetch + close as ONE call on the worker thread. If a
    # statement (an ``UPDATE ... RETURNING``) stayed in progress across awaits, another task's
    # COMMIT would fail with "SQL statements in progress" and leave the connection stuck.

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one statement; return the number of changed rows."""

        def work(conn: sqlite3.Connection) -> int:
            cursor = conn.execute(sql, params)
            try:
                return cursor.rowcount
            finally:
                cursor.close()

        return await self.run_sync(work)

    async def insert(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one INSERT; return ``lastrowid``."""

        def work(conn: sqlite3.Connection) -> int:
            cursor = conn.execute(sql, params)
            try:
                return int(cursor.lastrowid or 0)
            finally:
                cursor.close()

        return await self.run_sync(work)

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        batch = list(rows)

        def work(conn: sqlite3.Connection) -> None:
            conn.executemany(sql, batch).close()

        await self.transaction(work)

    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Row | None:
        def work(conn: sqlite3.Connection) -> sqlite3.Row | None:
            cursor = conn.execute(sql, params)
            try:
                row: sqlite3.Row | None = cursor.fetchone()
                return row
            finally:
                cursor.close()

        return await self.run_sync(work)

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        def work(conn: sqlite3.Connection) -> list[sqlite3.Row]:
            cursor = conn.execute(sql, params)
            try:
                return list(cursor.fetchall())
            finally:
                cursor.close()

        return await self.run_sync(work)

    async def fetchval(self, sql: str, params: Sequence[Any] = ()) -> Any:
        row = await self.fetchone(sql, params)
        return None if row is None else row[0]


def _split_sql(script: str) -> list[str]:
    """Split a migration into statements (``sqlite3.complete_statement`` handles triggers)."""
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
