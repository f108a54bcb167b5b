"""PostgreSQL for the tests: find a server, make throwaway databases, drop them afterwards.

``TEST_POSTGRES_URL`` names the server's maintenance database (default
``postgresql://postgres@127.0.0.1:5432/postgres``). Without a server the PostgreSQL half of the
suite is skipped with one line saying why, unless ``REQUIRE_POSTGRES=1`` (``.ci/run``), which
turns that into a failure.

Each test gets a fresh database copied from a template migrated once per run
(``CREATE DATABASE ... TEMPLATE``, far cheaper than migrating every time); every database made
here is named ``bot_test_<run>_…`` and dropped at the end.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import secrets
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import asyncpg

__all__ = ["PostgresServer", "required", "run_sync", "server"]

T = TypeVar("T")

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


class PostgresServer:
    """One reachable server and the databases this run made on it."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.run = secrets.token_hex(3)
        self._numbers = itertools.count(1)
        self._template: str | None = None
        self.made: list[str] = []

    async def _admin(self, sql: str) -> None:
        conn = await asyncpg.connect(self.url, timeout=5)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    async def template(self) -> str:
        """The name of this run's migrated template database (made on first use)."""
        if self._template is None:
            from db.postgres import open_postgres

            name = f"bot_test_{self.run}_template"
            await self._admin(f'CREATE DATABASE "{name}"')
            self.made.append(name)
            async with open_postgres(_with_database(self.url, name), max_size=1):
                pass
            self._template = name
        return self._template

    async def fresh(self, *, migrated: bool = True) -> str:
        """A new empty (or migrated) database; its URL."""
        name = f"bot_test_{self.run}_{next(self._numbers)}"
        source = f' TEMPLATE "{await self.template()}"' if migrated else ""
        await self._admin(f'CREATE DATABASE "{name}"{source}')
        self.made.append(name)
        return _with_database(self.url, name)

    async def drop(self, url: str) -> None:
        name = urlsplit(url).path.lstrip("/")
        await self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if name in self.made:
            self.made.remove(name)

    async def drop_all(self) -> None:
        for name in list(reversed(self.made)):
            await self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self.made.clear()


async def _probe(url: str) -> str | None:
    """None if the server answers, else why not (one line)."""
    try:
        conn = await asyncpg.connect(url, timeout=3)
    except (TimeoutError, OSError, asyncpg.PostgresError) as exc:
        return f"{type(exc).__name__}: {exc}".splitlines()[0]
    await conn.close()
    return None


_found: tuple[PostgresServer | None, str] | None = None


def server() -> tuple[PostgresServer | None, str]:
    """The test server (probed once per run), or None and why it isn't there."""
    global _found
    if _found is None:
        url = os.environ.get("TEST_POSTGRES_URL", "").strip() or DEFAULT_URL
        why = run_sync(_probe(url))
        parts = urlsplit(url)
        shown = f"{parts.hostname}:{parts.port or 5432}"  # never the password
        if why is None:
            _found = (PostgresServer(url), "")
        else:
            _found = (None, f"PostgreSQL not reachable at {shown} ({why}); set TEST_POSTGRES_URL")
    return _found


def run_sync(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run ``coroutine`` to its end on a thread of its own (from sync code, whatever loop the
    calling thread has)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def required() -> bool:
    return os.environ.get("REQUIRE_POSTGRES", "").strip() not in ("", "0")
