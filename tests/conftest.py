"""Shared fixtures: a real, migrated database — a SQLite file in a temp dir, and (the same
tests again) a fresh PostgreSQL database (tests/postgres.py) — a movable clock, a scheduler.

``backend`` parametrises every test that uses ``db`` or ``db_path`` by backend: ``db_path`` is
then what :func:`db.open_database` takes (a SQLite path, or a ``postgresql://`` URL).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.clock import FakeClock
from bot.scheduling import JobScheduler
from db import Database, open_database
from tests.postgres import required, run_sync, server

STORY_START = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    """Which database the test runs on; PostgreSQL is skipped (or, with REQUIRE_POSTGRES=1,
    failed) when no server answers."""
    name: str = request.param
    if name == "postgresql":
        pg, why = server()
        if pg is None:
            if required():
                pytest.fail(f"REQUIRE_POSTGRES is set but {why}", pytrace=False)
            pytest.skip(why)
    return name


@pytest.fixture
def db_path(backend: str, tmp_path: Path) -> Iterator[Path]:
    """Where the test's database is: a SQLite file, or a fresh migrated PostgreSQL database's URL
    (typed ``Path`` for the tests' convenience: both go to :func:`db.open_database`)."""
    if backend == "sqlite":
        yield tmp_path / "bot.sqlite3"
        return
    pg = server()[0]
    assert pg is not None
    url = run_sync(pg.fresh())
    yield url  # type: ignore[misc]
    run_sync(pg.drop(url))


def _on_postgres(item: pytest.Item) -> bool:
    callspec = getattr(item, "callspec", None)
    return callspec is not None and callspec.params.get("backend") == "postgresql"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Without a PostgreSQL server the PostgreSQL half of the suite is left out, and the run
    ends with ONE line saying why; with REQUIRE_POSTGRES=1 (CI) the run stops instead."""
    on_postgres = [item for item in items if _on_postgres(item)]
    if not on_postgres:
        return
    pg, why = server()
    if pg is not None:
        return
    if required():
        raise pytest.UsageError(f"REQUIRE_POSTGRES is set but {why}")
    items[:] = [item for item in items if not _on_postgres(item)]
    config.hook.pytest_deselected(items=on_postgres)
    config.stash[_LEFT_OUT] = f"{len(on_postgres)} PostgreSQL tests not run: {why}"


_LEFT_OUT = pytest.StashKey[str]()


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    line = config.stash.get(_LEFT_OUT, None)
    if line:
        terminalreporter.write_line(line, yellow=True)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Drop every database this run made (templates too)."""
    from tests import postgres

    if postgres._found is not None and postgres._found[0] is not None:
        run_sync(postgres._found[0].drop_all())


@pytest.fixture
async def db(db_path: Path) -> AsyncIterator[Database]:
    async with open_database(db_path) as database:
        yield database


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(STORY_START)


@pytest.fixture
async def jobs(db: Database, clock: FakeClock) -> AsyncIterator[JobScheduler]:
    scheduler = JobScheduler(db, clock)
    yield scheduler
    await scheduler.shutdown()
