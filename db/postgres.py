"""The PostgreSQL backend: an asyncpg pool behind the same :class:`~db.database.Database`
interface as SQLite, so repositories are written once.

What differs is handled here and in the migrations, never in a repository:

* **placeholders**: repositories write ``?``; :func:`to_postgres` turns them into ``$1, $2…``
  (outside string literals, quoted names and comments) — the only place that happens. It also
  turns SQLite's ``INSERT OR IGNORE`` into ``INSERT ... ON CONFLICT DO NOTHING``.
* **types**: the schema is the SQLite one translated (``db/migrations``: 64-bit integers,
  double precision, byte-order text, a ``rowid`` identity where SQLite has an implicit one);
  ``numeric`` results (``SUM`` of integers) come back as ``int`` (or ``float``), as on SQLite.
* **locks**: under READ COMMITTED a decision that reads then writes is not race-free across
  connections, so :meth:`PostgresTx.lock` takes a transaction-scoped advisory lock
  (``pg_advisory_xact_lock``) on a 64-bit hash of its key, and ``dialect.for_update`` appends
  ``FOR UPDATE`` to the read of the row a decision changes.
* **migrations**: applied under a session advisory lock, so processes starting together
  migrate once; the version is kept in ``schema_migrations``.

A unit of work runs on one pooled connection inside one transaction; it is retried (a few
times) when PostgreSQL aborts it for a deadlock or a serialization failure, which is safe
because a unit of work awaits only its transaction.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import re
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Any, TypeVar, cast

import asyncpg

from db.database import Dialect, Params, Row, UnitOfWork
from db.migrations import load_migrations

__all__ = ["POSTGRES", "PostgresDatabase", "PostgresTx", "lock_key", "open_postgres", "to_postgres"]

log = logging.getLogger(__name__)

T = TypeVar("T")

POSTGRES = Dialect(
    name="postgresql",
    for_update=" FOR UPDATE",
    skip_locked=" FOR UPDATE SKIP LOCKED",
    now_epoch="(extract(epoch FROM clock_timestamp())::double precision)",
)

# The advisory lock every migrating process takes (any fixed 64-bit number; "coprobot").
MIGRATION_LOCK = 0x636F70726F626F74
_RETRIES = 5

_TOKENS = re.compile(r"""'(?:[^']|'')*'|"(?:[^"]|"")*"|--[^\n]*|/\*.*?\*/|\?\d*""", re.S)
_INSERT_OR_IGNORE = re.compile(r"^(\s*)INSERT\s+OR\s+IGNORE\s+INTO\b", re.I)
_RETURNING = re.compile(r"\bRETURNING\b", re.I)


@functools.lru_cache(maxsize=4096)
def to_postgres(sql: str) -> str:
    """The statement with ``?`` placeholders numbered ``$1, $2…`` (``?NNN`` as ``$NNN``), SQLite's
    ``INSERT OR IGNORE`` written as ``ON CONFLICT DO NOTHING``."""
    number = 0

    def replace(match: re.Match[str]) -> str:
        nonlocal number
        token = match.group(0)
        if not token.startswith("?"):
            return token
        if len(token) > 1:  # SQLite's numbered ?NNN
            return f"${token[1:]}"
        number += 1
        return f"${number}"

    text = _TOKENS.sub(replace, sql)
    if _INSERT_OR_IGNORE.match(text):
        text = _INSERT_OR_IGNORE.sub(r"\1INSERT INTO", text, count=1)
        returning = _RETURNING.search(text)
        if returning is None:
            text = text.rstrip().rstrip(";") + " ON CONFLICT DO NOTHING"
        else:
            at = returning.start()
            text = f"{text[:at]}ON CONFLICT DO NOTHING {text[at:]}"
    return text


def lock_key(*key: object) -> int:
    """A signed 64-bit advisory lock number for ``key`` (stable across processes)."""
    digest = hashlib.blake2b(repr(key).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def _changed(status: str) -> int:
    """Rows a statement changed, from its command tag (``UPDATE 3``, ``INSERT 0 1``)."""
    last = status.rsplit(" ", 1)[-1]
    return int(last) if last.isdigit() else -1


def _numeric(text: str) -> int | float:
    value = Decimal(text)
    return int(value) if value == value.to_integral_value() and "." not in text else float(value)


async def _setup(conn: asyncpg.Connection) -> None:
    await conn.set_type_codec(
        "numeric", encoder=str, decoder=_numeric, schema="pg_catalog", format="text"
    )


class PostgresTx:
    """The statements of one unit of work, on its connection, inside its transaction."""

    dialect = POSTGRES

    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn

    async def execute(self, sql: str, params: Params = ()) -> int:
        return _changed(await self._conn.execute(to_postgres(sql), *params))

    async def executemany(self, sql: str, rows: Iterable[Params]) -> None:
        batch = [tuple(r) for r in rows]
        if batch:
            await self._conn.executemany(to_postgres(sql), batch)

    async def fetchone(self, sql: str, params: Params = ()) -> Row | None:
        rows = await self._conn.fetch(to_postgres(sql), *params)
        return cast(Row, rows[0]) if rows else None

    async def fetchall(self, sql: str, params: Params = ()) -> list[Row]:
        return cast(list[Row], await self._conn.fetch(to_postgres(sql), *params))

    async def fetchval(self, sql: str, params: Params = ()) -> Any:
        row = await self.fetchone(sql, params)
        return None if row is None else row[0]

    async def lock(self, *key: object) -> None:
        """Hold the advisory lock named by ``key`` until this transaction ends."""
        await self._conn.execute("SELECT pg_advisory_xact_lock($1)", lock_key(*key))


_RETRYABLE = (asyncpg.DeadlockDetectedError, asyncpg.SerializationError)


class PostgresDatabase:
    """The bot's PostgreSQL database. Open it with :func:`open_postgres`."""

    dialect = POSTGRES

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    # -- single statements (each its own transaction) -------------------------------------------

    async def execute(self, sql: str, params: Params = ()) -> int:
        async with self.pool.acquire() as conn:
            return _changed(await conn.execute(to_postgres(sql), *params))

    async def executemany(self, sql: str, rows: Iterable[Params]) -> None:
        batch = [tuple(r) for r in rows]
        if not batch:
            return
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.executemany(to_postgres(sql), batch)

    async def fetchone(self, sql: str, params: Params = ()) -> Row | None:
        async with self.pool.acquire() as conn:
            rows = await conn.fetch(to_postgres(sql), *params)
        return cast(Row, rows[0]) if rows else None

    async def fetchall(self, sql: str, params: Params = ()) -> list[Row]:
        async with self.pool.acquire() as conn:
            return cast(list[Row], await conn.fetch(to_postgres(sql), *params))

    async def fetchval(self, sql: str, params: Params = ()) -> Any:
        row = await self.fetchone(sql, params)
        return None if row is None else row[0]

    # -- units of work --------------------------------------------------------------------------

    async def transaction(self, work: UnitOfWork[T]) -> T:
        for attempt in range(1, _RETRIES + 1):
            try:
                async with self.pool.acquire() as conn, conn.transaction():
                    return await work(PostgresTx(conn))
            except _RETRYABLE:
                if attempt == _RETRIES:
                    raise
                log.info("unit of work %r retried (attempt %d)", work, attempt + 1)
        raise AssertionError("unreachable")

    # -- reads beside the writer ----------------------------------------------------------------

    async def read(self, sql: str, params: Params = ()) -> list[Row]:
        return await self.fetchall(sql, params)

    async def stream(
        self, sql: str, params: Params = (), *, chunk: int = 1000
    ) -> AsyncIterator[list[Row]]:
        """Rows in chunks of ``chunk`` through a server-side cursor, one snapshot throughout."""
        async with self.pool.acquire() as conn:
            async with conn.transaction(isolation="repeatable_read", readonly=True):
                cursor = await conn.cursor(to_postgres(sql), *params)
                while True:
                    rows = await cursor.fetch(chunk)
                    if rows:
                        yield cast(list[Row], rows)
                    if len(rows) < chunk:
                        break

    # -- schema ---------------------------------------------------------------------------------

    async def schema_version(self) -> int:
        async with self.pool.acquire() as conn:
            exists = await conn.fetchval("SELECT to_regclass('schema_migrations') IS NOT NULL")
            if not exists:
                return 0
            return int(
                await conn.fetchval("SELECT COALESCE(MAX(version), 0) FROM schema_migrations")
            )

    async def migrate(self, upto: int | None = None) -> list[int]:
        """Apply every migration newer than the stored version (up to ``upto``), each in one
        transaction, under an advisory lock: processes starting together migrate once."""
        applied: list[int] = []
        async with self.pool.acquire() as conn:
            await conn.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK)
            try:
                await conn.execute(
                    "CREATE TABLE IF NOT EXISTS schema_migrations ("
                    "version integer PRIMARY KEY, name text NOT NULL, "
                    "applied_at timestamptz NOT NULL DEFAULT now())"
                )
                current = int(
                    await conn.fetchval("SELECT COALESCE(MAX(version), 0) FROM schema_migrations")
                )
                for version, name, sql in load_migrations("postgresql"):
                    if upto is not None and version > upto:
                        break
                    if version <= current:
                        continue
                    async with conn.transaction():
                        await conn.execute(sql)  # no arguments: the whole script at once
                        await conn.execute(
                            "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
                            version,
                            name,
                        )
                    log.info("applied migration %s", name)
                    applied.append(version)
            finally:
                await conn.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK)
        return applied

    async def close(self) -> None:
        await self.pool.close()


async def create_pool(url: str, *, min_size: int = 1, max_size: int = 10) -> asyncpg.Pool:
    pool = await asyncpg.create_pool(url, min_size=min_size, max_size=max_size, init=_setup)
    assert pool is not None
    return pool


@asynccontextmanager
async def open_postgres(
    url: str, *, migrate: bool = True, min_size: int = 1, max_size: int = 10
) -> AsyncIterator[PostgresDatabase]:
    """Open a pool on ``url`` (``postgresql://user@host:port/db``), migrate, close at exit."""
    db = PostgresDatabase(await create_pool(url, min_size=min_size, max_size=max_size))
    try:
        if migrate:
            await db.migrate()
        yield db
    finally:
        await db.close()
