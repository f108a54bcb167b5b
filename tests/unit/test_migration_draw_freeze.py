"""Upgrading to the freeze migration (numbered 0008 on this branch, 0011 once merged) keeps
every draw as it was: old draws stay version 1/2 with no freeze and no changes, and verify."""

from __future__ import annotations

from pathlib import Path

from db.migrations import load_migrations
from db.sqlite import open_sqlite

NOW = 1_790_000_000.0


def freeze_version() -> int:
    return next(v for v, name, _ in load_migrations() if name.endswith("_draw_freeze.sql"))


async def test_a_database_of_the_previous_schema_upgrades_with_its_draws_intact(
    tmp_path: Path,
) -> None:
    path = tmp_path / "old.sqlite3"
    version = freeze_version()
    async with open_sqlite(path, migrate=False) as old:
        await old.migrate(upto=version - 1)
        for sql, params in [
            (
                "INSERT INTO calls (id, guild_id, number, channel_id, title, created_by, created_at, "
                "seed, seed_commitment, status) VALUES (1, 9, 1, 10, 'c', 1, ?, 's', 'h', 'closed')",
                (NOW,),
            ),
            (
                "INSERT INTO call_categories (id, call_id, position, emoji, emoji_key, label, places) "
                "VALUES (1, 1, 0, 'x', 'x', 'X', 1)",
                (),
            ),
            (
                "INSERT INTO draws (call_id, algorithm, seed, roster_hash, roster_json, places_json, "
                "group_role_id, drawn_by, drawn_at) VALUES (1, 'a/v2', 's', 'h', '[]', '{}', 5, 1, ?)",
                (NOW,),
            ),
            (
                "INSERT INTO draw_entries (call_id, ref, user_id, category_id, rank, status) "
                "VALUES (1, 'r1', 101, 1, 1, 'selected')",
                (),
            ),
        ]:
            await old.execute(sql, params)
    async with open_sqlite(path) as db:
        assert await db.schema_version() >= version
        row = await db.fetchone("SELECT algorithm, group_role_id, roles_by FROM draws")
        assert row is not None and tuple(row) == ("a/v2", 5, None)
        assert await db.fetchval("SELECT COUNT(*) FROM draw_entries") == 1
        for table in ("draw_freezes", "frozen_entries", "draw_changes"):
            assert await db.fetchval(f"SELECT COUNT(*) FROM {table}") == 0
