"""Upgrading to the migration that adds calls.posted_at (issue 11, /call repost) keeps every
call and sign-up; an old call has no post time, so reconciliation treats it as before."""

from __future__ import annotations

from pathlib import Path

from bot.clock import FakeClock
from bot.domain.calls.service import CallService
from db.sqlite import open_sqlite
from tests.conftest import STORY_START

NOW = STORY_START.timestamp()


async def test_calls_of_the_previous_schema_upgrade_and_reconcile_as_before(
    tmp_path: Path,
) -> None:
    path = tmp_path / "old.sqlite3"
    async with open_sqlite(path, migrate=False) as old:
        await old.migrate(upto=8)
        await old.execute(
            "INSERT INTO calls (id, guild_id, number, channel_id, message_id, title, created_by, "
            "created_at, seed, seed_commitment) VALUES (1, 9, 1, 10, 555, 'c', 1, ?, 's', 'h')",
            (NOW,),
        )
        await old.execute(
            "INSERT INTO call_categories (id, call_id, position, emoji, emoji_key, label, places) "
            "VALUES (1, 1, 0, 'x', 'x', 'X', 1)"
        )
        for user in (101, 102):
            await old.execute(
                "INSERT INTO call_signups (call_id, user_id, category_id, joined_at, source) "
                "VALUES (1, ?, 1, ?, 'reaction')",
                (user, NOW),
            )
    async with open_sqlite(path) as db:
        assert await db.fetchval("SELECT posted_at FROM calls WHERE id = 1") is None
        assert await db.fetchval("SELECT COUNT(*) FROM call_signups") == 2
        calls = CallService(db, FakeClock(STORY_START))
        # 102's reaction was removed while the bot was down: still a withdrawal.
        plan = await calls.reconcile(1, {"x": [101]})
        assert plan.withdrawals == [102]
        await calls.close_writer()
