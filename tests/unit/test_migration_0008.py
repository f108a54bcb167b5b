"""Upgrading to 0008 (attendance and the involvement ledger; renumbered 0010 when merged after
the 0008/0009 of other branches) keeps everything that was there and adds empty, working tables."""

from __future__ import annotations

from pathlib import Path

from bot.clock import FakeClock
from bot.domain.involvement.service import InvolvementService
from db.migrations import load_migrations
from db.sqlite import open_sqlite
from tests.conftest import STORY_START

NOW = STORY_START.timestamp()
THIS = next(v for v, name, _ in load_migrations() if "attendance_involvement" in name)


async def test_upgrade_from_the_previous_schema(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    async with open_sqlite(path, migrate=False) as old:
        await old.migrate(upto=THIS - 1)
        for sql, params in [
            (
                "INSERT INTO meetings (id, guild_id, number, title, starts_at, duration_seconds, "
                "voice_channel_id, channel_id, created_by, created_at) "
                "VALUES (8, 9, 1, 'Group meeting 2', ?, 3600, 555, 10, 1, ?)",
                (NOW - 7200, NOW - 86400),
            ),
            (
                "INSERT INTO meeting_audience (meeting_id, user_id, position) VALUES (8, 101, 0)",
                (),
            ),
            (
                "INSERT INTO feedback_rounds (id, guild_id, number, title, plan, channel_id, "
                "closes_at, created_by, created_at) VALUES (7, 9, 1, 'Plan', 'p', 10, ?, 1, ?)",
                (NOW, NOW - 86400),
            ),
            (
                "INSERT INTO feedback_responses (round_id, user_id, first_at, last_at, first_via) "
                "VALUES (7, 101, ?, ?, 'button')",
                (NOW - 3600, NOW - 3600),
            ),
        ]:
            await old.execute(sql, params)

    async with open_sqlite(path) as db:  # the new release starts on the old file
        assert await db.schema_version() >= THIS
        assert await db.fetchval("SELECT title FROM meetings WHERE id = 8") == "Group meeting 2"
        for table in (
            "voice_spans",
            "session_voice",
            "attendance_marks",
            "involvement_settings",
            "involvement_preferences",
            "ledger_entries",
        ):
            assert await db.fetchval(f"SELECT COUNT(*) FROM {table}") == 0
        # The old meeting (nobody's voice time recorded) and feedback response reach the ledger.
        service = InvolvementService(db, FakeClock(STORY_START))
        await service.set_rates(9, 1, meeting="30", review_fixed="15")
        await service.sync(9)
        rows = await db.fetchall("SELECT user_id, activity, amount, state FROM ledger_entries")
        assert [tuple(r) for r in rows] == [(101, "review", 1500, "owed")]
