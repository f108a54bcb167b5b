"""Attendance: voice time recorded as it happens, marks, who came and for how long."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from bot.clock import Clock
from bot.domain.attendance.models import Attendance, Event, EventKind, Source
from bot.domain.attendance.rules import attendance, parse_minutes
from bot.domain.attendance.texts import HERE_NOT_EXPECTED, HERE_NOT_NOW, HERE_VOICE
from bot.domain.audit.service import AuditService
from bot.domain.errors import Conflict, NotAllowed, NotFound
from bot.domain.values import Moment
from bot.domain.wording.templates import Template
from db import Database
from db.repositories.attendance import AttendanceRepository

log = logging.getLogger(__name__)


class HereRefused(NotAllowed):
    """A member's "I'm here" that cannot count; ``template`` is the server's wording."""

    def __init__(self, template: Template, **values: object) -> None:
        super().__init__(template.default, **values)
        self.template = template


class AttendanceService:
    def __init__(self, db: Database, clock: Clock, audit: AuditService | None = None) -> None:
        self.repo = AttendanceRepository(db)
        self.clock = clock
        self.audit = audit or AuditService(db, clock)

    def _now(self) -> float:
        return self.clock.now().timestamp()

    # -- voice ----------------------------------------------------------------------------------

    async def voice_moved(
        self, guild_id: int, user_id: int, before: int | None, after: int | None
    ) -> None:
        """A member joined, left or moved between voice channels (ids read from the event
        before anything is awaited)."""
        if before == after:
            return
        now = self._now()
        if before is not None:
            await self.repo.leave(before, user_id, now)  # closes only a span that is open
        if after is not None and await self.repo.is_watched(after, now):
            await self.repo.join(guild_id, after, user_id, now)

    async def channels_to_check(self, guild_id: int) -> list[int]:
        """Channels whose presence to pick up at start: those meetings use now, and those with
        spans still open from before a restart."""
        now = self._now()
        watched = await self.repo.watched_channels(guild_id, now)
        still_open = await self.repo.channels_with_open_spans(guild_id)
        return sorted(set(watched) | set(still_open))

    async def pick_up(self, guild_id: int, channel_id: int, present: Sequence[int]) -> None:
        """Who is connected to ``channel_id`` now (after a start, a reconnect or a new meeting)."""
        now = self._now()
        if not await self.repo.is_watched(channel_id, now):
            present = []  # the meeting is over: close what is still open
        opened, closed = await self.repo.reconcile(guild_id, channel_id, present, now)
        if opened or closed:
            log.info("voice channel %s: %d joined, %d left while away", channel_id, opened, closed)

    # -- events ---------------------------------------------------------------------------------

    async def event(self, kind: EventKind, guild_id: int, number: int) -> Event:
        found = await self.repo.event_by_number(kind, guild_id, number)
        if found is None:
            raise NotFound(f"There is no {kind.value} #{number} in this server.")
        return found

    async def of(self, event: Event) -> Attendance:
        spans = (
            await self.repo.spans(event.voice_channel_id, event.starts_at, event.ends_at)
            if event.voice_channel_id is not None
            else []
        )
        marks = await self.repo.marks(event.kind, event.id)
        return attendance(event, spans, marks, self._now())

    async def show(self, kind: EventKind, guild_id: int, number: int) -> Attendance:
        return await self.of(await self.event(kind, guild_id, number))

    async def attendees(self, kind: EventKind, event_id: int) -> list[int] | None:
        """Who attended, or None when attendance is not known (no voice time, no marks)."""
        event = await self.repo.event(kind, event_id)
        if event is None:
            return None
        result = await self.of(event)
        return result.attendee_ids if result.known else None

    async def ended(self, guild_id: int) -> list[Attendance]:
        """The attendance of every ended meeting and session of the server."""
        return [await self.of(e) for e in await self.repo.ended_events(guild_id, self._now())]

    # -- marks ----------------------------------------------------------------------------------

    async def edit(
        self,
        kind: EventKind,
        guild_id: int,
        number: int,
        user_id: int,
        present: bool,
        minutes: int | None,
        actor_id: int,
    ) -> Event:
        """An organiser marks a member present (for ``minutes``, default the whole event) or
        absent."""
        event = await self.event(kind, guild_id, number)
        if event.cancelled:
            raise Conflict(f"{kind.value.capitalize()} #{number} was cancelled.")
        if self._now() < event.starts_at:
            raise Conflict(
                f"{kind.value.capitalize()} #{number} has not started yet; attendance can be "
                "edited from its start."
            )
        kept = parse_minutes(minutes) if present else None
        await self.repo.mark(
            event,
            user_id,
            present,
            kept,
            Source.ORGANISER,
            self._now(),
            audit=self.audit.entry(
                guild_id,
                actor_id,
                "attendance.edited",
                event.subject,
                user_id=user_id,
                present=present,
                minutes=kept,
            ),
        )
        return event

    async def set_session_voice(
        self, guild_id: int, number: int, channel_id: int | None, actor_id: int
    ) -> Event:
        """Record a session's attendance from a voice or stage channel (before it ends)."""
        event = await self.event(EventKind.SESSION, guild_id, number)
        if event.cancelled or self._now() >= event.ends_at:
            raise Conflict(
                f"Session #{number} is over or cancelled; its voice time can't be added."
            )
        await self.repo.set_session_voice(
            event.id,
            channel_id,
            audit=self.audit.entry(
                guild_id, actor_id, "attendance.voice", event.subject, channel_id=channel_id
            ),
        )
        return event

    async def here(self, kind: EventKind, event_id: int, user_id: int) -> Event:
        """The member's "I'm here": only while the event is on, only for who it is for."""
        event = await self.repo.event(kind, event_id)
        if event is None or event.cancelled:
            raise NotFound("This no longer exists.")
        values = {
            "title": event.title,
            "starts": Moment(event.starts_at, "t"),
            "ends": Moment(event.ends_at, "t"),
        }
        if event.voice_channel_id is not None:
            raise HereRefused(HERE_VOICE, **values)
        now = self._now()
        if not event.starts_at <= now < event.ends_at:
            raise HereRefused(HERE_NOT_NOW, **values)
        if user_id not in event.expected:
            raise HereRefused(HERE_NOT_EXPECTED, **values)
        await self.repo.mark(
            event,
            user_id,
            True,
            None,
            Source.MEMBER,
            now,
            keep_organiser_mark=True,
            audit=self.audit.entry(
                event.guild_id, user_id, "attendance.here", event.subject, user_id=user_id
            ),
        )
        return event
