"""Pick a meeting time with a native poll: candidate times, the group votes, the organiser is
shown who can come at each time and makes the meeting at the one they pick."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from bot.clock import Clock
from bot.domain.audiences import resolve_audience
from bot.domain.audit.service import AuditService
from bot.domain.errors import Conflict, InvalidInput, NotFound
from bot.domain.meetings.models import CreatedMeeting, MeetingPoll
from bot.domain.meetings.rules import parse_meeting_duration, validate_meeting_title
from bot.domain.meetings.service import MeetingService
from bot.scheduling import JobScheduler
from bot.timeparse import parse_when
from db import Database
from db.repositories.audiences import drawn_group
from db.repositories.calls import CallRepository
from db.repositories.meeting_polls import MeetingPollRepository

POLL_JOB = "meeting.poll_close"

MIN_OPTIONS = 2
MAX_OPTIONS = 10  # Discord: answers in one poll
MAX_POLL = timedelta(hours=768)  # Discord: the longest poll
DEFAULT_POLL = timedelta(hours=48)


def parse_poll_times(text: str, *, tz: str, now: datetime) -> list[datetime]:
    """``"2027-01-12 18:00; 2027-01-14 12:00"`` -> the start times, in the order given."""
    parts = [p.strip() for p in text.split(";") if p.strip()]
    if not MIN_OPTIONS <= len(parts) <= MAX_OPTIONS:
        raise InvalidInput(
            f"Please give {MIN_OPTIONS} to {MAX_OPTIONS} times separated by `;`, like "
            "`2027-01-12 18:00; 2027-01-14 12:00`."
        )
    times = [parse_when(p, tz=tz, now=now) for p in parts]
    if len({t.timestamp() for t in times}) != len(times):
        raise InvalidInput("The same time is given twice; each option must be a different time.")
    return times


def poll_length(closes: str | None, *, tz: str, now: datetime, first: datetime) -> timedelta:
    """How long the poll runs, in whole hours (Discord's unit): until ``closes`` (default 48
    hours, or an hour before the earliest candidate time if that is sooner). It must close
    before the earliest candidate time."""
    if closes is None or not closes.strip():
        until = min(now + DEFAULT_POLL, first - timedelta(hours=1))
    else:
        until = parse_when(closes, tz=tz, now=now)
    hours = max(1, math.ceil((until - now).total_seconds() / 3600))
    if until <= now or now + timedelta(hours=hours) >= first:
        raise InvalidInput(
            "The poll must close before the earliest time in it (a poll runs for whole hours), "
            "so the meeting can still be planned. Give an earlier `closes`, or later times."
        )
    if timedelta(hours=hours) > MAX_POLL:
        raise InvalidInput("A Discord poll can run for at most 32 days; please close it sooner.")
    return timedelta(hours=hours)


def winner(poll: MeetingPoll) -> int | None:
    """The option most people can come to (the earliest of equals); None without votes."""
    counts = [len(v) for v in poll.voters]
    if not counts or max(counts) == 0:
        return None
    return counts.index(max(counts))


class MeetingPollService:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        meetings: MeetingService,
        jobs: JobScheduler | None = None,
        audit: AuditService | None = None,
    ) -> None:
        self.clock = clock
        self.meetings = meetings
        self.jobs = jobs
        self.repo = MeetingPollRepository(db)
        self.calls = CallRepository(db)
        self.audit = audit or AuditService(db, clock)

    async def create(
        self,
        *,
        guild_id: int,
        author_id: int,
        title: str,
        options: str,
        channel_id: int,
        tz: str,
        duration: str | None = None,
        closes: str | None = None,
        call_number: int | None = None,
        role_id: int | None = None,
        role_member_ids: Sequence[int] = (),
    ) -> tuple[MeetingPoll, list[int]]:
        """Check everything and store the poll (the cog posts it); returns who it is for."""
        now = self.clock.now()
        clean = validate_meeting_title(title)
        length = parse_meeting_duration(duration)
        times = parse_poll_times(options, tz=tz, now=now)
        runs = poll_length(closes, tz=tz, now=now, first=min(times))
        call_id, audience = await resolve_audience(
            self.calls,
            guild_id=guild_id,
            call_number=call_number,
            role_id=role_id,
            role_member_ids=role_member_ids,
            people_of_call=drawn_group,
            choose="Please choose who the poll is for: a `call` (its drawn group) and/or a `role`.",
            nobody="Nobody would be asked: the call has no drawn group yet and the role has no "
            "members.",
        )
        poll = await self.repo.create(
            guild_id=guild_id,
            title=clean,
            options=[t.timestamp() for t in times],
            duration_seconds=int(length.total_seconds()),
            call_id=call_id,
            role_id=role_id,
            channel_id=channel_id,
            closes_at=(now + runs).timestamp(),
            created_by=author_id,
            created_at=now.timestamp(),
            audit=lambda made: self.audit.entry(
                guild_id,
                author_id,
                "meeting.poll_created",
                f"meeting_poll:{made.id}",
                title=clean,
                options=list(made.options),
                audience=len(audience),
            ),
        )
        if self.jobs is not None:
            await self.jobs.schedule(
                f"meeting_poll:{poll.id}:close",
                POLL_JOB,
                datetime.fromtimestamp(poll.closes_at, UTC),
                {"poll_id": poll.id},
                guild_id=guild_id,
            )
        return poll, audience

    async def attach_message(self, poll_id: int, message_id: int) -> None:
        await self.repo.set_message(poll_id, message_id)

    async def discard(self, poll_id: int) -> None:
        await self.repo.delete(poll_id)
        if self.jobs is not None:
            await self.jobs.cancel(f"meeting_poll:{poll_id}:close")

    async def get(self, poll_id: int) -> MeetingPoll | None:
        return await self.repo.get(poll_id)

    async def record_results(
        self, poll_id: int, voters: Sequence[Sequence[int]]
    ) -> MeetingPoll | None:
        """Keep who voted for each option once the poll has closed (the first count wins)."""
        return await self.repo.close(poll_id, [list(v) for v in voters])

    async def decide(
        self,
        poll_id: int,
        index: int,
        *,
        actor_id: int,
        tz: str,
        role_member_ids: Sequence[int] = (),
    ) -> CreatedMeeting:
        """Make the meeting at option ``index`` (once: a second press is refused)."""
        poll = await self.repo.get(poll_id)
        if poll is None:
            raise NotFound("This poll no longer exists.")
        if not 0 <= index < len(poll.options):
            raise InvalidInput("That is not one of the poll's times.")
        claimed = await self.repo.claim(poll_id)
        if not claimed:
            raise Conflict("A meeting has already been made from this poll (or it is still open).")
        call_number = None
        if poll.call_id is not None:
            call = await self.calls.get(poll.call_id)
            call_number = call.number if call else None
        starts = datetime.fromtimestamp(poll.options[index], UTC).isoformat()
        try:
            made = await self.meetings.create(
                guild_id=poll.guild_id,
                author_id=actor_id,
                title=poll.title,
                starts=starts,
                channel_id=poll.channel_id,
                tz=tz,
                duration=f"{poll.duration_seconds // 60}m",
                call_number=call_number,
                role_id=poll.role_id,
                role_member_ids=role_member_ids,
            )
        except BaseException:
            await self.repo.unclaim(poll_id)
            raise
        await self.repo.set_meeting(poll_id, made.meeting.id)
        return made
