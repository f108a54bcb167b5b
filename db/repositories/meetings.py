"""meetings."""

from __future__ import annotations

import json
from collections.abc import Sequence

from bot.domain.audit.models import AuditFor
from bot.domain.delivery.models import OwnerKind
from bot.domain.meetings.models import Meeting, MeetingDelivery
from db.database import Database, Row, Tx
from db.repositories.audit import append_entries, execute_audited, fetchone_audited
from db.repositories.deliveries import DeliveryLog

_COLUMNS = (
    "id, guild_id, number, title, starts_at, duration_seconds, call_id, role_id, location, "
    "voice_channel_id, channel_id, message_id, event_id, status, reminders, created_by, "
    "created_at, cancelled_at, ics_sequence"
)


def _meeting(row: Row) -> Meeting:
    values = {k: row[k] for k in row.keys()}
    values["reminders"] = tuple(int(x) for x in json.loads(values["reminders"]))
    return Meeting(**values)


class MeetingRepository:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.deliveries_log = DeliveryLog(db, OwnerKind.MEETING)

    async def create(
        self,
        *,
        guild_id: int,
        title: str,
        starts_at: float,
        duration_seconds: int,
        call_id: int | None,
        role_id: int | None,
        location: str | None,
        voice_channel_id: int | None,
        channel_id: int,
        reminders: Sequence[int],
        created_by: int,
        created_at: float,
        audience: Sequence[int],
        audit: AuditFor[Meeting] = None,
    ) -> Meeting:
        """The meeting (next per-server number), its frozen audience and its audit row
        (``audit(meeting)``) in one transaction."""

        async def work(tx: Tx) -> Meeting:
            await tx.lock("number", "meetings", guild_id)  # the next number, one at a time
            row = await tx.fetchone(
                f"""
                INSERT INTO meetings (guild_id, number, title, starts_at, duration_seconds, call_id,
                                      role_id, location, voice_channel_id, channel_id, reminders,
                                      created_by, created_at)
                SELECT ?, COALESCE(MAX(number), 0) + 1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?
                FROM meetings WHERE guild_id = ?
                RETURNING {_COLUMNS}
                """,
                (
                    guild_id,
                    title,
                    starts_at,
                    duration_seconds,
                    call_id,
                    role_id,
                    location,
                    voice_channel_id,
                    channel_id,
                    json.dumps(list(reminders)),
                    created_by,
                    created_at,
                    guild_id,
                ),
            )
            assert row is not None  # INSERT/UPDATE ... RETURNING of a row that exists
            made = _meeting(row)
            await tx.executemany(
                "INSERT INTO meeting_audience (meeting_id, user_id, position) VALUES (?, ?, ?) "
                "ON CONFLICT DO NOTHING",
                [(made.id, user, i) for i, user in enumerate(audience)],
            )
            await append_entries(tx, audit, made)
            return made

        return await self.db.transaction(work)

    async def delete(self, meeting_id: int) -> None:
        await self.db.execute("DELETE FROM meetings WHERE id = ?", (meeting_id,))

    async def set_message(
        self, meeting_id: int, channel_id: int, message_id: int, *, audit: AuditFor[int] = None
    ) -> None:
        """Remember the post; ``audit`` (the creation's row, once its post exists) is appended
        in the same transaction."""
        await execute_audited(
            self.db,
            "UPDATE meetings SET channel_id = ?, message_id = ? WHERE id = ?",
            (channel_id, message_id, meeting_id),
            audit,
        )

    async def set_event(self, meeting_id: int, event_id: int | None) -> None:
        await self.db.execute(
            "UPDATE meetings SET event_id = ? WHERE id = ?", (event_id, meeting_id)
        )

    async def get(self, meeting_id: int) -> Meeting | None:
        row = await self.db.fetchone(f"SELECT {_COLUMNS} FROM meetings WHERE id = ?", (meeting_id,))
        return _meeting(row) if row else None

    async def by_number(self, guild_id: int, number: int) -> Meeting | None:
        row = await self.db.fetchone(
            f"SELECT {_COLUMNS} FROM meetings WHERE guild_id = ? AND number = ?",
            (guild_id, number),
        )
        return _meeting(row) if row else None

    async def upcoming(self, guild_id: int, since: float, limit: int = 25) -> list[Meeting]:
        """Scheduled meetings that have not ended, soonest first."""
        rows = await self.db.fetchall(
            f"SELECT {_COLUMNS} FROM meetings WHERE guild_id = ? AND status = 'scheduled' "
            "AND starts_at + duration_seconds > ? ORDER BY starts_at, number LIMIT ?",
            (guild_id, since, limit),
        )
        return [_meeting(r) for r in rows]

    async def upcoming_for(
        self, guild_id: int, user_id: int, since: float, limit: int = 50
    ) -> list[Meeting]:
        """Scheduled meetings the member is invited to that have not ended, soonest first."""
        columns = ", ".join(f"m.{c.strip()}" for c in _COLUMNS.split(","))
        rows = await self.db.fetchall(
            f"SELECT {columns} FROM meetings m JOIN meeting_audience a ON a.meeting_id = m.id "
            "WHERE m.guild_id = ? AND a.user_id = ? AND m.status = 'scheduled' "
            "AND m.starts_at + m.duration_seconds > ? ORDER BY m.starts_at LIMIT ?",
            (guild_id, user_id, since, limit),
        )
        return [_meeting(r) for r in rows]

    async def search(self, guild_id: int, text: str, limit: int = 25) -> list[Meeting]:
        rows = await self.db.fetchall(
            f"SELECT {_COLUMNS} FROM meetings WHERE guild_id = ? "
            "AND (CAST(number AS TEXT) LIKE ? OR title LIKE ?) "
            "ORDER BY status = 'scheduled' DESC, starts_at DESC LIMIT ?",
            (guild_id, f"{text}%", f"%{text}%", limit),
        )
        return [_meeting(r) for r in rows]

    async def cancel(
        self, meeting_id: int, now: float, *, audit: AuditFor[Row] = None
    ) -> Meeting | None:
        """Cancel a scheduled meeting (one atomic statement, with its audit row in the same
        transaction); ``None`` if it was cancelled already (then no audit row)."""
        row = await fetchone_audited(
            self.db,
            f"UPDATE meetings SET status = 'cancelled', cancelled_at = ?, "
            f"ics_sequence = ics_sequence + 1 "
            f"WHERE id = ? AND status = 'scheduled' RETURNING {_COLUMNS}",
            (now, meeting_id),
            audit,
        )
        return _meeting(row) if row else None

    async def audience(self, meeting_id: int) -> list[int]:
        rows = await self.db.fetchall(
            "SELECT user_id FROM meeting_audience WHERE meeting_id = ? ORDER BY position",
            (meeting_id,),
        )
        return [r[0] for r in rows]

    async def in_audience(self, meeting_id: int, user_id: int) -> bool:
        row = await self.db.fetchone(
            "SELECT 1 FROM meeting_audience WHERE meeting_id = ? AND user_id = ?",
            (meeting_id, user_id),
        )
        return row is not None

    # -- DM opt-in ------------------------------------------------------------------------------

    async def toggle_dms(
        self, guild_id: int, user_id: int, now: float, *, audit: AuditFor[bool] = None
    ) -> bool:
        """Turn the member's meeting DMs on if off, off if on (one transaction, with the audit
        row ``audit(new_state)``); the new state."""

        async def work(tx: Tx) -> bool:
            removed = await tx.execute(
                "DELETE FROM member_meeting_dms WHERE guild_id = ? AND user_id = ?",
                (guild_id, user_id),
            )
            if not removed:
                await tx.execute(
                    "INSERT INTO member_meeting_dms (guild_id, user_id, updated_at) "
                    "VALUES (?, ?, ?)",
                    (guild_id, user_id, now),
                )
            on = not removed
            await append_entries(tx, audit, on)
            return on

        return await self.db.transaction(work)

    async def wants_dms(self, guild_id: int, user_id: int) -> bool:
        row = await self.db.fetchone(
            "SELECT 1 FROM member_meeting_dms WHERE guild_id = ? AND user_id = ?",
            (guild_id, user_id),
        )
        return row is not None

    # -- reminder deliveries --------------------------------------------------------------------

    async def dm_recipients(self, meeting_id: int) -> list[int]:
        """Audience members of a scheduled meeting who turned meeting DMs on, in audience order."""
        rows = await self.db.fetchall(
            "SELECT a.user_id FROM meeting_audience a "
            "JOIN meetings m ON m.id = a.meeting_id "
            "JOIN member_meeting_dms d ON d.guild_id = m.guild_id AND d.user_id = a.user_id "
            "WHERE a.meeting_id = ? AND m.status = 'scheduled' ORDER BY a.position",
            (meeting_id,),
        )
        return [int(r[0]) for r in rows]

    async def deliveries(self, meeting_id: int) -> list[MeetingDelivery]:
        rows = await self.deliveries_log.rows(meeting_id)
        return [MeetingDelivery(int(r.part), r.user_id, r.state, r.via) for r in rows]
