"""Upgrading to 0007 (one delivery table) keeps every delivery's state: nothing is sent again,
nothing is lost, and the old stores are gone."""

from __future__ import annotations

from pathlib import Path

from db.sqlite import open_sqlite

NOW = 1_790_000_000.0


async def test_a_database_of_the_previous_schema_upgrades_with_every_delivery_kept(
    tmp_path: Path,
) -> None:
    path = tmp_path / "old.sqlite3"
    async with open_sqlite(path, migrate=False) as old:
        await old.migrate(upto=6)
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
                "drawn_by, drawn_at) VALUES (1, 'a/v2', 's', 'h', '[]', '{}', 1, ?)",
                (NOW,),
            ),
            # told by DM; told in the channel; a send a crash left claimed; never claimed;
            # an invitation marked unknown; a deleted member's entry (no id).
            (
                "INSERT INTO draw_entries (call_id, ref, user_id, category_id, rank, status, "
                "notified_at, notified_via) VALUES (1, 'r1', 101, 1, 1, 'selected', ?, 'dm')",
                (NOW,),
            ),
            (
                "INSERT INTO draw_entries (call_id, ref, user_id, category_id, rank, status, "
                "notified_at, notified_via) VALUES (1, 'r2', 102, 1, 2, 'selected', ?, 'channel')",
                (NOW,),
            ),
            (
                "INSERT INTO draw_entries (call_id, ref, user_id, category_id, rank, status, "
                "notified_at, notify_claim) VALUES (1, 'r3', 103, 1, 3, 'selected', ?, 'p')",
                (NOW,),
            ),
            (
                "INSERT INTO draw_entries (call_id, ref, user_id, category_id, rank, status) "
                "VALUES (1, 'r4', 104, 1, 4, 'selected')",
                (),
            ),
            (
                "INSERT INTO draw_entries (call_id, ref, user_id, category_id, rank, status, "
                "invited_at, invited_via) VALUES (1, 'r5', 105, 1, 5, 'reserve', ?, 'unknown')",
                (NOW,),
            ),
            (
                "INSERT INTO draw_entries (call_id, ref, user_id, category_id, rank, status, "
                "notified_at, notified_via) VALUES (1, 'r6', NULL, 1, 6, 'replaced', ?, 'dm')",
                (NOW,),
            ),
            (
                "INSERT INTO sessions (id, guild_id, number, channel_id, title, starts_at, ends_at, "
                "closes_at, capacity, created_by, created_at) "
                "VALUES (5, 9, 1, 10, 's', ?, ?, ?, 22, 1, ?)",
                (NOW + 10, NOW + 20, NOW + 5, NOW),
            ),
            (
                "INSERT INTO session_deliveries (session_id, kind, user_id, state, via, claimed_at, "
                "updated_at) VALUES (5, 'reminder:3600:1', 201, 'sent', 'dm', ?, ?)",
                (NOW, NOW),
            ),
            (
                "INSERT INTO session_deliveries (session_id, kind, user_id, state, via, claimed_at, "
                "updated_at) VALUES (5, 'reminder:3600:1', 202, 'sending', 'dm', ?, ?)",
                (NOW, NOW),
            ),
            (
                "INSERT INTO feedback_rounds (id, guild_id, number, title, plan, channel_id, "
                "closes_at, created_by, created_at) VALUES (7, 9, 1, 'r', 'p', 10, ?, 1, ?)",
                (NOW + 100, NOW),
            ),
            (
                "INSERT INTO feedback_reminder_deliveries (round_id, offset_seconds, user_id, state, "
                "via, updated_at) VALUES (7, 86400, 301, 'failed', 'channel', ?)",
                (NOW,),
            ),
            (
                "INSERT INTO meetings (id, guild_id, number, title, starts_at, duration_seconds, "
                "channel_id, created_by, created_at) VALUES (8, 9, 1, 'm', ?, 3600, 10, 1, ?)",
                (NOW + 100, NOW),
            ),
            (
                "INSERT INTO meeting_reminder_deliveries (meeting_id, offset_seconds, user_id, state, "
                "via, updated_at) VALUES (8, 3600, 0, 'sent', 'channel', ?)",
                (NOW,),
            ),
            (
                "INSERT INTO wording_overrides (guild_id, key, text, updated_by, updated_at) "
                "VALUES (9, 'draw.buttons.not_yours', 'Not for you, sorry!', 1, ?)",
                (NOW,),
            ),
        ]:
            await old.execute(sql, params)

    async with open_sqlite(path) as db:  # the new release starts on the old file
        assert await db.schema_version() >= 7
        rows = {
            tuple(r[:4]): tuple(r[4:])
            for r in await db.fetchall(
                "SELECT owner_kind, owner_id, part, user_id, state, via, claimed_at "
                "FROM deliveries ORDER BY 1, 2, 3, 4"
            )
        }
        assert rows == {
            ("draw", 1, "notice", 101): ("sent", "dm", NOW),
            ("draw", 1, "notice", 102): ("sent", "channel", NOW),
            ("draw", 1, "notice", 103): ("pending", "dm", NOW),  # maybe sent: the engine decides
            ("draw", 1, "invite", 105): ("unknown", "dm", NOW),
            ("session", 5, "reminder:3600:1", 201): ("sent", "dm", NOW),
            ("session", 5, "reminder:3600:1", 202): ("sending", "dm", NOW),
            ("feedback", 7, "86400", 301): ("failed", "channel", None),
            ("meeting", 8, "3600", 0): ("sent", "channel", None),
        }
        old_tables = await db.fetchall(
            "SELECT name FROM sqlite_master WHERE name IN ('session_deliveries', "
            "'feedback_reminder_deliveries', 'meeting_reminder_deliveries')"
        )
        assert old_tables == []
        columns = {r[1] for r in await db.fetchall("PRAGMA table_info(draw_entries)")}
        assert not columns & {"notified_at", "notified_via", "invited_at", "invited_via"}
        assert await db.fetchval("SELECT key FROM wording_overrides") == "buttons.not_yours"
        # A deleted owner takes its deliveries with it (the old tables' foreign keys did).
        await db.execute("DELETE FROM sessions WHERE id = 5")
        await db.execute("DELETE FROM calls WHERE id = 1")  # cascades to the draw
        kinds = {r[0] for r in await db.fetchall("SELECT owner_kind FROM deliveries")}
        assert kinds == {"feedback", "meeting"}
