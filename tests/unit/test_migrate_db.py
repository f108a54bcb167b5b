"""``python -m bot.migrate_db``: a community's SQLite data copied to PostgreSQL, verified (row
counts, audit chain), the bot working on the copy; a non-empty target refused."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from bot import migrate_db, verify_audit
from bot.clock import FakeClock
from bot.domain.calls.service import CallService
from bot.domain.sessions.service import SessionService
from bot.scheduling import JobScheduler
from db import Database, open_database
from tests.conftest import STORY_START
from tests.dbtools import table_names
from tests.postgres import run_sync, server

on_postgres = pytest.mark.parametrize("backend", ["postgresql"], indirect=True)

GUILD = 1000


@pytest.fixture
def empty_pg(backend: str) -> Iterator[str]:
    """A PostgreSQL database with nothing in it, not even the schema."""
    pg = server()[0]
    assert pg is not None
    url = run_sync(pg.fresh(migrated=False))
    yield url
    run_sync(pg.drop(url))


async def fill(db: Database) -> tuple[int, int]:
    clock = FakeClock(STORY_START)
    jobs = JobScheduler(db, clock)
    calls = CallService(db, clock, jobs)
    details = await calls.create(
        guild_id=GUILD,
        channel_id=10,
        author_id=1,
        title="Co-produce the LinkedIn session",
        categories="🧭 Experienced; 🌱 New",
        tz="Europe/London",
    )
    await calls.attach_post(details.call.id, 10, 5001)
    for user in range(101, 121):
        await calls.react(5001, user, "🧭" if user % 2 else "🌱", added=True)
        clock.advance(timedelta(seconds=1))
    sessions = SessionService(db, clock, jobs)
    session = await sessions.create(
        guild_id=GUILD,
        channel_id=20,
        author_id=1,
        title="LinkedIn: an introduction",
        starts="in 3 days",
        capacity="3",
        tz="Europe/London",
    )
    for user in range(101, 106):
        await sessions.book(session.id, user, {"experience": "New to it"})
    await sessions.close_writer()
    return details.call.id, session.id


@on_postgres
async def test_copy_verifies_and_the_bot_carries_on_on_the_copy(
    tmp_path: Path, empty_pg: str
) -> None:
    source = tmp_path / "bot.sqlite3"
    async with open_database(source) as db:
        call_id, session_id = await fill(db)
        before = {
            name: await db.fetchval(f'SELECT COUNT(*) FROM "{name}"')
            for name in await table_names(db)
        }
    lines: list[str] = []
    counts = await migrate_db.copy_database(f"sqlite:///{source}", empty_pg, log=lines.append)
    assert counts == before
    assert counts["call_signups"] == 20 and counts["session_bookings"] == 5
    assert counts["audit_log"] > 0
    assert verify_audit.verify_db(empty_pg).ok
    async with open_database(empty_pg) as pg:
        clock = FakeClock(STORY_START + timedelta(minutes=5))
        sessions = SessionService(pg, clock, JobScheduler(pg, clock))
        details = await sessions.details(session_id)
        assert (details.confirmed, details.waiting) == (3, 2)
        # Ids continue after the copied ones; the audit chain continues from the copied head.
        await sessions.book(session_id, 999, {"experience": "New to it"})
        await sessions.close_writer()
        calls = CallService(pg, clock, JobScheduler(pg, clock))
        second = await calls.create(
            guild_id=GUILD,
            channel_id=10,
            author_id=1,
            title="Another call",
            categories="🧭 Experienced; 🌱 New",
            tz="Europe/London",
        )
        assert second.call.id == call_id + 1
    assert verify_audit.verify_db(empty_pg).ok


def test_the_command_refuses_what_is_not_postgresql(tmp_path: Path) -> None:
    with pytest.raises(SystemExit):
        migrate_db.main(["--from", f"sqlite:///{tmp_path}/x.sqlite3", "--to", "sqlite:///y"])


@on_postgres
async def test_a_target_with_data_is_refused_and_left_alone(tmp_path: Path, db_path: str) -> None:
    source = tmp_path / "bot.sqlite3"
    async with open_database(source) as db:
        await fill(db)
    async with open_database(db_path) as pg:
        await pg.execute("INSERT INTO guild_settings (guild_id, updated_at) VALUES (7, 0)")
    with pytest.raises(migrate_db.CopyError, match="not empty"):
        await migrate_db.copy_database(f"sqlite:///{source}", db_path)
    async with open_database(db_path) as pg:
        assert await pg.fetchval("SELECT COUNT(*) FROM guild_settings") == 1
        assert await pg.fetchval("SELECT COUNT(*) FROM calls") == 0
