"""Shared fixtures: a real, migrated SQLite file in a temp dir, a movable clock, a scheduler."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.clock import FakeClock
from bot.scheduling import JobScheduler
from db import Database, open_database

STORY_START = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "bot.sqlite3"


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
