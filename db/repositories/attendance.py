"""attendance: voice spans, marks, and the meetings and sessions they belong to."""

from __future__ import annotations

from collections.abc import Sequence

from bot.domain.attendance.models import Event, EventKind, Mark, Source, Span
from bot.domain.audit.models import AuditFor
from db.database import Database, Row, Tx
from db.repositories.audit import append_entries

# Voice time is recorded in a channel from this long before a meeting starts until it ends.
WATCH_LEAD = 6 * 3600.0


class AttendanceRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    # -- events ---------------------------------------------------------------------------------

    async def _meeting(self, where: str, params: Sequence[object]) -> Event | None:
        row = await self.db.fetchone(
            "SELECT id, guild_id, number, title, starts_at, starts_at + duration_seconds, "
            f"voice_channel_id, status FROM meetings WHERE {where}",
            params,
        )
        if row is None:
            return None
        audience = await self.db.fetchall(
            "SELECT user_id FROM meeting_audience WHERE meeting_id = ? ORDER BY position",
            (row[0],),
        )
        return Event(
            EventKind.MEETING,
            row[0],
            row[1],
            row[2],
            row[3],
            row[4],
            row[5],
            row[6],
            row[7] != "scheduled",
            tuple(int(r[0]) for r in audience),
        )

    async def _session(self, where: str, params: Sequence[object]) -> Event | None:
        row = await self.db.fetchone(
            "SELECT id, guild_id, number, title, starts_at, ends_at, status, "
            "(SELECT voice_channel_id FROM session_voice v WHERE v.session_id = sessions.id) "
            f"FROM sessions WHERE {where}",
            params,
        )
        if row is None:
            return None
        booked = await self.db.fetchall(
            "SELECT user_id FROM session_bookings WHERE session_id = ? AND status = 'confirmed' "
            "ORDER BY seq",
            (row[0],),
        )
        return Event(
            EventKind.SESSION,
            row[0],
            row[1],
            row[2],
            row[3],
            row[4],
            row[5],
            row[7],
            row[6] == "cancelled",
            tuple(int(r[0]) for r in booked),
        )

    async def event(self, kind: EventKind, event_id: int) -> Event | None:
        if kind is EventKind.MEETING:
            return await self._meeting("id = ?", (event_id,))
        return await self._session("id = ?", (event_id,))

    async def event_by_number(self, kind: EventKind, guild_id: int, number: int) -> Event | None:
        if kind is EventKind.MEETING:
            return await self._meeting("guild_id = ? AND number = ?", (guild_id, number))
        return await self._session("guild_id = ? AND number = ?", (guild_id, number))

    async def ended_events(self, guild_id: int, now: float) -> list[Event]:
        """Meetings and sessions of the server that have ended and were not cancelled."""
        found: list[Event] = []
        for (mid,) in await self.db.fetchall(
            "SELECT id FROM meetings WHERE guild_id = ? AND status = 'scheduled' "
            "AND starts_at + duration_seconds <= ? ORDER BY starts_at",
            (guild_id, now),
        ):
            meeting = await self.event(EventKind.MEETING, mid)
            if meeting is not None:
                found.append(meeting)
        for (sid,) in await self.db.fetchall(
            "SELECT id FROM sessions WHERE guild_id = ? AND status = 'open' AND ends_at <= ? "
            "ORDER BY starts_at",
            (guild_id, now),
        ):
            session = await self.event(EventKind.SESSION, sid)
            if session is not None:
                found.append(session)
        return found

    # -- voice ----------------------------------------------------------------------------------

    async def is_watched(self, channel_id: int, now: float) -> bool:
        """A scheduled meeting or an open session uses this voice channel and has not ended
        (it starts within WATCH_LEAD, or is on)."""
        row = await self.db.fetchone(
            "SELECT 1 FROM meetings WHERE voice_channel_id = ?1 AND status = 'scheduled' "
            "AND starts_at - ?2 <= ?3 AND starts_at + duration_seconds > ?3 "
            "UNION ALL SELECT 1 FROM session_voice v JOIN sessions s ON s.id = v.session_id "
            "WHERE v.voice_channel_id = ?1 AND s.status = 'open' "
            "AND s.starts_at - ?2 <= ?3 AND s.ends_at > ?3 LIMIT 1",
            (channel_id, WATCH_LEAD, now),
        )
        return row is not None

    async def watched_channels(self, guild_id: int, now: float) -> list[int]:
        rows = await self.db.fetchall(
            "SELECT voice_channel_id FROM meetings WHERE guild_id = ?1 "
            "AND voice_channel_id IS NOT NULL AND status = 'scheduled' "
            "AND starts_at - ?2 <= ?3 AND starts_at + duration_seconds > ?3 "
            "UNION SELECT v.voice_channel_id FROM session_voice v "
            "JOIN sessions s ON s.id = v.session_id WHERE s.guild_id = ?1 AND s.status = 'open' "
            "AND s.starts_at - ?2 <= ?3 AND s.ends_at > ?3",
            (guild_id, WATCH_LEAD, now),
        )
        return sorted(int(r[0]) for r in rows)

    async def set_session_voice(
        self, session_id: int, channel_id: int | None, *, audit: AuditFor[int] = None
    ) -> None:
        """Link a session to a voice channel (None: unlink), with its audit row."""

        async def work(tx: Tx) -> None:
            if channel_id is None:
                changed = await tx.execute(
                    "DELETE FROM session_voice WHERE session_id = ?", (session_id,)
                )
            else:
                changed = await tx.execute(
                    "INSERT INTO session_voice (session_id, voice_channel_id) VALUES (?, ?) "
                    "ON CONFLICT (session_id) DO UPDATE SET "
                    "voice_channel_id = excluded.voice_channel_id",
                    (session_id, channel_id),
                )
            if changed:
                await append_entries(tx, audit, changed)

        await self.db.transaction(work)

    async def channels_with_open_spans(self, guild_id: int) -> list[int]:
        rows = await self.db.fetchall(
            "SELECT DISTINCT channel_id FROM voice_spans WHERE guild_id = ? AND left_at IS NULL",
            (guild_id,),
        )
        return [int(r[0]) for r in rows]

    async def join(self, guild_id: int, channel_id: int, user_id: int, now: float) -> bool:
        """Open a span (none if one is open already); whether one was opened."""
        changed = await self.db.execute(
            "INSERT INTO voice_spans (guild_id, channel_id, user_id, joined_at) "
            "VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (guild_id, channel_id, user_id, now),
        )
        return changed > 0

    async def leave(self, channel_id: int, user_id: int, now: float) -> bool:
        changed = await self.db.execute(
            "UPDATE voice_spans SET left_at = CASE WHEN joined_at > ? THEN joined_at ELSE ? END "
            "WHERE channel_id = ? AND user_id = ? AND left_at IS NULL",
            (now, now, channel_id, user_id),
        )
        return changed > 0

    async def reconcile(
        self, guild_id: int, channel_id: int, present: Sequence[int], now: float
    ) -> tuple[int, int]:
        """After a (re)start: open spans for who is connected now, close the spans of who is
        no longer there (at ``now``: when they left while the bot was away is unknown).
        One transaction; (opened, closed)."""

        async def work(tx: Tx) -> tuple[int, int]:
            rows = await tx.fetchall(
                "SELECT user_id FROM voice_spans WHERE channel_id = ? AND left_at IS NULL",
                (channel_id,),
            )
            open_now = {int(r[0]) for r in rows}
            here = set(present)
            closed = 0
            for user_id in open_now - here:
                closed += await tx.execute(
                    "UPDATE voice_spans SET left_at = CASE WHEN joined_at > ? THEN joined_at ELSE ? END "
                    "WHERE channel_id = ? AND user_id = ? AND left_at IS NULL",
                    (now, now, channel_id, user_id),
                )
            opened = 0
            for user_id in sorted(here - open_now):
                opened += await tx.execute(
                    "INSERT INTO voice_spans (guild_id, channel_id, user_id, joined_at) "
                    "VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                    (guild_id, channel_id, user_id, now),
                )
            return opened, closed

        return await self.db.transaction(work)

    async def spans(self, channel_id: int, start: float, end: float) -> list[Span]:
        rows = await self.db.fetchall(
            "SELECT user_id, joined_at, left_at FROM voice_spans WHERE channel_id = ? "
            "AND joined_at < ? AND (left_at IS NULL OR left_at > ?) ORDER BY joined_at",
            (channel_id, end, start),
        )
        return [Span(int(r[0]), float(r[1]), None if r[2] is None else float(r[2])) for r in rows]

    # -- marks ----------------------------------------------------------------------------------

    async def marks(self, kind: EventKind, event_id: int) -> list[Mark]:
        rows = await self.db.fetchall(
            "SELECT user_id, present, minutes, source, marked_at FROM attendance_marks "
            "WHERE event_kind = ? AND event_id = ? ORDER BY user_id",
            (kind.value, event_id),
        )
        return [_mark(r) for r in rows]

    async def has_marks(self, kind: EventKind, event_id: int) -> bool:
        row = await self.db.fetchone(
            "SELECT 1 FROM attendance_marks WHERE event_kind = ? AND event_id = ? LIMIT 1",
            (kind.value, event_id),
        )
        return row is not None

    async def mark(
        self,
        event: Event,
        user_id: int,
        present: bool,
        minutes: int | None,
        source: Source,
        now: float,
        *,
        keep_organiser_mark: bool = False,
        audit: AuditFor[int] = None,
    ) -> bool:
        """Set (or replace) a member's mark, with its audit row in the same transaction.
        ``keep_organiser_mark``: a member's own press never overrides an organiser's mark.
        Whether anything changed."""

        async def work(tx: Tx) -> bool:
            guard = " WHERE attendance_marks.source != 'organiser'" if keep_organiser_mark else ""
            changed = await tx.execute(
                "INSERT INTO attendance_marks (guild_id, event_kind, event_id, user_id, present, "
                "minutes, source, marked_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (event_kind, event_id, user_id) DO UPDATE SET "
                "present = excluded.present, minutes = excluded.minutes, "
                f"source = excluded.source, marked_at = excluded.marked_at{guard}",
                (
                    event.guild_id,
                    event.kind.value,
                    event.id,
                    user_id,
                    int(present),
                    minutes,
                    source.value,
                    now,
                ),
            )
            if changed:
                await append_entries(tx, audit, changed)
            return changed > 0

        return await self.db.transaction(work)


def _mark(row: Row) -> Mark:
    return Mark(int(row[0]), bool(row[1]), row[2], Source(row[3]), float(row[4]))
