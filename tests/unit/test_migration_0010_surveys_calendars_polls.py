"""Upgrading to the surveys/calendars/polls migration (0010)
keeps every survey question and answer, starts calendar revisions at 0, and lets the new
question kinds, member time zones and meeting polls be stored."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from db.sqlite import open_sqlite

NOW = 1_790_000_000.0
BEFORE = 9  # the last migration before this one


async def test_a_database_of_the_previous_schema_upgrades_with_its_surveys_kept(
    tmp_path: Path,
) -> None:
    path = tmp_path / "old.sqlite3"
    async with open_sqlite(path, migrate=False) as old:
        await old.migrate(upto=BEFORE)
        await old.execute(
            "INSERT INTO sessions (id, guild_id, number, channel_id, title, starts_at, ends_at, "
            "closes_at, capacity, created_by, created_at) "
            "VALUES (5, 9, 1, 10, 's', ?, ?, ?, 22, 1, ?)",
            (NOW + 10, NOW + 20, NOW + 5, NOW),
        )
        await old.execute(
            "INSERT INTO meetings (id, guild_id, number, title, starts_at, duration_seconds, "
            "channel_id, created_by, created_at) VALUES (8, 9, 1, 'm', ?, 3600, 10, 1, ?)",
            (NOW + 100, NOW),
        )
        for position, (key, kind, options) in enumerate(
            [("experience", "choice", ["New", "Some"]), ("aims", "text", [])], start=1
        ):
            await old.execute(
                "INSERT INTO session_questions (session_id, position, key, text, label, kind, "
                "options, required) VALUES (5, ?, ?, ?, ?, ?, ?, 1)",
                (position, key, f"{key}?", key, kind, json.dumps(options)),
            )
        await old.execute(
            "INSERT INTO session_bookings (session_id, user_id, status, seq, booked_at) "
            "VALUES (5, 201, 'confirmed', 1, ?)",
            (NOW,),
        )
        await old.execute(
            "INSERT INTO session_answers (session_id, user_id, position, key, question, answer) "
            "VALUES (5, 201, 1, 'experience', 'experience?', 'Some')"
        )

    async with open_sqlite(path) as db:  # the new release starts on the old file
        assert await db.schema_version() > BEFORE
        questions = await db.fetchall(
            "SELECT position, key, kind, options FROM session_questions ORDER BY position"
        )
        assert [tuple(r) for r in questions] == [
            (1, "experience", "choice", '["New", "Some"]'),
            (2, "aims", "text", "[]"),
        ]
        assert await db.fetchval("SELECT answer FROM session_answers") == "Some"
        assert await db.fetchval("SELECT ics_sequence FROM sessions") == 0
        assert await db.fetchval("SELECT ics_sequence FROM meetings") == 0
        # The new kinds are accepted; nonsense is not.
        await db.execute(
            "INSERT INTO session_questions (session_id, position, key, text, label, kind, options, "
            "required) VALUES (5, 3, 'access', 'a?', 'a', 'multi', '[\"Captions\"]', 0)"
        )
        await db.execute(
            "INSERT INTO session_questions (session_id, position, key, text, label, kind, options, "
            "required) VALUES (5, 4, 'sure', 's?', 's', 'scale', '[]', 0)"
        )
        with pytest.raises(Exception, match="CHECK"):
            await db.execute(
                "INSERT INTO session_questions (session_id, position, key, text, label, kind, "
                "options, required) VALUES (5, 5, 'x', 'x?', 'x', 'essay', '[]', 0)"
            )
        # Deleting the session still takes its questions with it.
        await db.execute("DELETE FROM session_answers")
        await db.execute("DELETE FROM session_bookings")
        await db.execute("DELETE FROM sessions WHERE id = 5")
        assert await db.fetchval("SELECT COUNT(*) FROM session_questions") == 0
        await db.execute(
            "INSERT INTO member_timezones (guild_id, user_id, timezone) VALUES (9, 201, 'Europe/Paris')"
        )
        await db.execute(
            "INSERT INTO meeting_polls (guild_id, title, options, duration_seconds, channel_id, "
            "closes_at, created_by, created_at) VALUES (9, 'p', '[1, 2]', 3600, 10, ?, 1, ?)",
            (NOW + 50, NOW),
        )
        assert await db.fetchval("SELECT status FROM meeting_polls") == "open"
