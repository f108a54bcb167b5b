"""The SQLite backend (the embedded default): a writer and a reader, each on its own thread.

Python's ``sqlite3`` blocks, so each connection lives on a thread of its own and the event loop
awaits the results. A single statement is one trip to that thread. A unit of work
(:meth:`SqliteDatabase.transaction`) is ONE trip too: its coroutine is driven to completion on
the writer thread inside ``BEGIN IMMEDIATE ... COMMIT``. That is possible because a unit of
work awaits only its transaction object, whose methods run the statement on the spot and never
suspend; if ``work`` awaits anything else, it is stopped, rolled back and reported (such a unit
of work would not be atomic on any backend). Measured: a statement awaited from the loop costs
~100 µs of thread hand-offs, a statement inside a driven unit of work ~4 µs (docs/benchmarks.md).

The writer runs in autocommit mode: every lone statement is its own transaction, so a decision
that fits in one statement (``INSERT ... SELECT ... RETURNING``) needs nothing more. The reader
(WAL lets it read while the writer writes) serves long reads and streamed exports, so they
never queue behind the writer, and the writer's work never waits for them.

The database file and its ``-wal``/``-shm`` companions are readable by the bot's user only
(0600; a folder made for them is 0700): they hold members' answers.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
import stat
from collections.abc import AsyncIterator, Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

from db.database import Dialect, Params, Row, UnitOfWork
from db.migrations import load_migrations, split_statements

__all__ = ["SQLITE", "SqliteDatabase", "SqliteTx", "TransactionMisuse", "open_sqlite"]

log = logging.getLogger(__name__)

T = TypeVar("T")

SQLITE = Dialect(name="sqlite", for_update="")


class TransactionMisuse(RuntimeError):
    """A unit of work awaited something other than its transaction (it was rolled back)."""


class SqliteTx:
    """The statements of one unit of work, run on the spot on the writer's thread."""

    dialect = SQLITE

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    async def execute(self, sql: str, params: Params = ()) -> int:
        cursor = self._conn.execute(sql, params)
        try:
            return cursor.rowcount
        finally:
            cursor.close()

    async def executemany(self, sql: str, rows: Iterable[Params]) -> None:
        self._conn.executemany(sql, rows).close()

    async def fetchone(self, sql: str, params: Params = ()) -> Row | None:
        cursor = self._conn.execute(sql, params)
        try:
            # fetchall, not fetchone: an UPDATE ... RETURNING must run to its end here.
            rows: list[sqlite3.Row] = cursor.fetchall()
        finally:
            cursor.close()
        return rows[0] if rows else None

    async def fetchall(self, sql: str, params: Params = ()) -> list[Row]:
        cursor = self._conn.execute(sql, params)
        try:
            return list(cursor.fetchall())
        finally:
            cursor.close()

    async def fetchval(self, sql: str, params: Params = ()) -> Any:
        row = await self.fetchone(sql, params)
        return None if row is None else row[0]

    async def lock(self, *key: object) -> None:
        """Nothing to do: ``BEGIN IMMEDIATE`` already makes this the only writer."""


def _drive(work: UnitOfWork[T], tx: SqliteTx) -> T:
    """Run the coroutine ``work(tx)`` to its end without an event loop (see the module doc)."""
    coroutine = work(tx)
    try:
        coroutine.send(None)  # type: ignore[attr-defined]
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]
    coroutine.close()  # type: ignore[attr-defined]
    raise TransactionMisuse(
        f"{getattr(work, '__qualname__', work)!r} awaited something other than its "
        "transaction; a unit of work may only await tx methods"
    )


class _Connection:
    """One sqlite3 connection and the one thread that uses it."""

    def __init__(self, path: str, *, name: str, readonly: bool = False) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
        self._path = path
        self._readonly = readonly
        self._conn: sqlite3.Connection | None = None
        self.stream_lock = asyncio.Lock()  # one stream at a time (each holds one snapshot)

    def _open(self) -> None:
        conn = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA busy_timeout=5000")
        conn.execute("PRAGMA foreign_keys=ON")
        if self._readonly:
            conn.execute("PRAGMA query_only=ON")
        else:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
        self._conn = conn

    async def call(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn(connection)`` on this connection's thread and return what it returns."""

        def run() -> T:
            if self._conn is None:
                self._open()
            assert self._conn is not None
            return fn(self._conn)

        return await asyncio.get_running_loop().run_in_executor(self._executor, run)

    async def close(self) -> None:
        def shut() -> None:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

        try:
            await asyncio.get_running_loop().run_in_executor(self._executor, shut)
        finally:
            self._executor.shutdown(wait=True)


def _one(sql: str, params: Params) -> Callable[[sqlite3.Connection], list[sqlite3.Row]]:
    def run(conn: sqlite3.Connection) -> list[sqlite3.Row]:
        cursor = conn.execute(sql, params)
        try:
            return list(cursor.fetchall())
        finally:
            cursor.close()

    return run


class SqliteDatabase:
    """The bot's SQLite database. Open it with :func:`open_sqlite`."""

    dialect = SQLITE

    def __init__(self, path: Path | str) -> None:
        self.path = str(path)
        self._writer = _Connection(self.path, name="sqlite-writer")
        memory = self.path == ":memory:" or self.path.startswith("file::memory:")
        # An in-memory database is private to its connection: reads go to the writer then.
        self._reader = self._writer if memory else None

    def _read_connection(self) -> _Connection:
        if self._reader is None:
            self._reader = _Connection(self.path, name="sqlite-reader", readonly=True)
        return self._reader

    # -- single statements (each its own transaction, one trip to the writer) --------------------

    async def execute(self, sql: str, params: Params = ()) -> int:
        def run(conn: sqlite3.Connection) -> int:
            cursor = conn.execute(sql, params)
            try:
                return cursor.rowcount
            finally:
                cursor.close()

        return await self._writer.call(run)

    async def executemany(self, sql: str, rows: Iterable[Params]) -> None:
        batch = list(rows)

        async def work(tx: SqliteTx) -> None:
            await tx.executemany(sql, batch)

        await self.transaction(work)  # type: ignore[arg-type]

    async def fetchone(self, sql: str, params: Params = ()) -> Row | None:
        rows = await self._writer.call(_one(sql, params))
        return rows[0] if rows else None

    async def fetchall(self, sql: str, params: Params = ()) -> list[Row]:
        return list(await self._writer.call(_one(sql, params)))

    async def fetchval(self, sql: str, params: Params = ()) -> Any:
        row = await self.fetchone(sql, params)
        return None if row is None else row[0]

    # -- units of work --------------------------------------------------------------------------

    async def transaction(self, work: UnitOfWork[T]) -> T:
        def run(conn: sqlite3.Connection) -> T:
            if conn.in_transaction:  # never nest into (or commit) someone else's work
                raise RuntimeError("a transaction is already open on the writer")
            conn.execute("BEGIN IMMEDIATE")
            try:
                result = _drive(work, SqliteTx(conn))
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            return result

        return await self._writer.call(run)

    # -- reads beside the writer ----------------------------------------------------------------

    async def read(self, sql: str, params: Params = ()) -> list[Row]:
        return list(await self._read_connection().call(_one(sql, params)))

    async def stream(
        self, sql: str, params: Params = (), *, chunk: int = 1000
    ) -> AsyncIterator[list[Row]]:
        """Rows in chunks of ``chunk``, each chunk one trip to the reader's thread; the read
        sees one snapshot of the database from its first row to its last."""
        reader = self._read_connection()
        cursor: sqlite3.Cursor | None = None

        def start(conn: sqlite3.Connection) -> list[sqlite3.Row]:
            nonlocal cursor
            conn.execute("BEGIN")  # one snapshot for the whole stream
            cursor = conn.execute(sql, params)
            return cursor.fetchmany(chunk)

        def more(_conn: sqlite3.Connection) -> list[sqlite3.Row]:
            assert cursor is not None
            return cursor.fetchmany(chunk)

        def stop(conn: sqlite3.Connection) -> None:
            if cursor is not None:
                cursor.close()
            if conn.in_transaction:
                conn.execute("COMMIT")

        async with reader.stream_lock:
            try:
                rows = await reader.call(start)
                while rows:
                    yield list(rows)
                    if len(rows) < chunk:
                        break
                    rows = await reader.call(more)
            finally:
                await asyncio.shield(reader.call(stop))

    # -- schema ---------------------------------------------------------------------------------

    async def schema_version(self) -> int:
        return int(await self.fetchval("PRAGMA user_version") or 0)

    async def migrate(self, upto: int | None = None) -> list[int]:
        """Apply every migration newer than ``PRAGMA user_version`` (up to ``upto``, for tests
        of an upgrade from an older schema), each in one transaction.
        The version is read again inside each transaction (``BEGIN IMMEDIATE`` makes it the
        only writer), so two processes starting together apply each migration once."""
        applied: list[int] = []
        for version, name, sql in load_migrations("sqlite"):
            if upto is not None and version > upto:
                break

            def apply(conn: sqlite3.Connection, sql: str = sql, version: int = version) -> bool:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    current = int(conn.execute("PRAGMA user_version").fetchone()[0])
                    if version <= current:
                        conn.execute("ROLLBACK")
                        return False
                    for statement in split_statements(sql):
                        conn.execute(statement)
                    conn.execute(f"PRAGMA user_version = {int(version)}")
                    conn.execute("COMMIT")
                    return True
                except BaseException:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    raise

            if await self._writer.call(apply):
                log.info("applied migration %s", name)
                applied.append(version)
        return applied

    async def close(self) -> None:
        if self._reader is not None and self._reader is not self._writer:
            await self._reader.close()
        await self._writer.close()


def _private_file(path: Path) -> None:
    """Create the folder (0700) and the file (0600) if missing; tighten an existing file."""
    if not path.parent.exists():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    if not path.exists():
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
    for file in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        try:
            mode = stat.S_IMODE(file.stat().st_mode)
        except FileNotFoundError:
            continue
        if mode & 0o077:
            log.warning("%s was readable by other users (%o); making it private (600)", file, mode)
            file.chmod(0o600)


@asynccontextmanager
async def open_sqlite(path: Path | str, *, migrate: bool = True) -> AsyncIterator[SqliteDatabase]:
    """Open (creating the file privately if needed), migrate, and close at exit."""
    if str(path) != ":memory:":
        _private_file(Path(path))
    db = SqliteDatabase(path)
    try:
        if migrate:
            await db.migrate()
        yield db
    finally:
        await db.close()
