"""The database interface every repository is written against, whatever the backend.

Repositories write SQL once, with ``?`` placeholders, and run it through two kinds of object:

* :class:`Database` — single statements (each its own transaction) and
  :meth:`Database.transaction`, which runs an async *unit of work* ``work(tx)`` inside one
  transaction and commits it, or rolls it back if ``work`` raises.
* :class:`Tx` — what a unit of work gets: the same statement methods, inside the transaction,
  plus :meth:`Tx.lock`, which serialises decisions that must not race (a no-op where the
  backend already runs one writer at a time).

A unit of work awaits **only** its ``tx``: never Discord, a sleep or another task. The SQLite
backend relies on this to run the whole unit as one call on its database thread (one hop
instead of one per statement, and no other task's statement can land inside it); the check is
enforced there, so a test on SQLite catches a unit of work that would not be atomic.

Dialect differences (placeholders, identity columns, upserts, types, locking clauses) are the
backend's business; :class:`Dialect` names the few a repository may need to say in SQL: the
locking clauses, empty on SQLite (one writer at a time), ``FOR UPDATE`` and
``FOR UPDATE SKIP LOCKED`` on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

__all__ = ["Database", "Dialect", "Params", "Row", "Tx", "UnitOfWork"]

T = TypeVar("T")

Params = Sequence[Any]


class Row(Protocol):
    """A result row: by position (``row[0]``), by column name (``row["id"]``), or unpacked."""

    def __getitem__(self, key: int | str, /) -> Any: ...

    def __iter__(self) -> Iterator[Any]: ...

    def __len__(self) -> int: ...

    def keys(self) -> Any: ...


@dataclass(frozen=True, slots=True)
class Dialect:
    """What differs between backends that a repository may have to say in SQL."""

    name: str  # "sqlite" or "postgresql"
    for_update: str  # appended to a SELECT that reads what a decision will change
    # appended to a SELECT of queue rows to take: rows another transaction holds are skipped
    skip_locked: str = ""
    # the database's clock as seconds since the Unix epoch (REAL / double precision), for SQL
    # that must stamp with the server's time; the bot's own code passes its Clock's time instead
    now_epoch: str = "((julianday('now') - 2440587.5) * 86400.0)"

    @property
    def is_sqlite(self) -> bool:
        return self.name == "sqlite"


class Tx(Protocol):
    """Statements inside one transaction (see the module docstring)."""

    dialect: Dialect

    async def execute(self, sql: str, params: Params = ()) -> int:
        """Run one statement; the number of rows it changed."""
        ...

    async def executemany(self, sql: str, rows: Iterable[Params]) -> None: ...

    async def fetchone(self, sql: str, params: Params = ()) -> Row | None: ...

    async def fetchall(self, sql: str, params: Params = ()) -> list[Row]: ...

    async def fetchval(self, sql: str, params: Params = ()) -> Any: ...

    async def lock(self, *key: object) -> None:
        """Hold a lock named by ``key`` until the transaction ends (decisions about the same
        thing from other connections wait). A no-op on SQLite, whose writer is one at a time."""
        ...


UnitOfWork = Callable[[Tx], Awaitable[T]]


class Database(Protocol):
    """A database the bot runs on (see :mod:`db.sqlite`)."""

    dialect: Dialect

    async def execute(self, sql: str, params: Params = ()) -> int: ...

    async def executemany(self, sql: str, rows: Iterable[Params]) -> None:
        """Run one statement for each row, all in one transaction."""
        ...

    async def fetchone(self, sql: str, params: Params = ()) -> Row | None: ...

    async def fetchall(self, sql: str, params: Params = ()) -> list[Row]: ...

    async def fetchval(self, sql: str, params: Params = ()) -> Any: ...

    async def transaction(self, work: UnitOfWork[T]) -> T:
        """Run ``work(tx)`` in one transaction: committed if it returns, rolled back if it
        raises (the exception propagates)."""
        ...

    def stream(
        self, sql: str, params: Params = (), *, chunk: int = 1000
    ) -> AsyncIterator[list[Row]]:
        """Rows of a long read in chunks, read beside the writer (never blocking it)."""
        ...

    async def read(self, sql: str, params: Params = ()) -> list[Row]:
        """A read that may be slow, run beside the writer so it never queues behind it."""
        ...

    async def schema_version(self) -> int: ...

    async def close(self) -> None: ...
