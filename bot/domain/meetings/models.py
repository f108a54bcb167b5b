"""Meetings and what the service returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Protocol

from bot.domain.values import CalendarEntry, Link, meeting_uid

# The delivery row of a reminder's channel post uses this user id.
POST_RECIPIENT = 0


@dataclass(frozen=True, slots=True)
class Meeting:
    id: int
    guild_id: int
    number: int
    title: str
    starts_at: float
    duration_seconds: int
    call_id: int | None
    role_id: int | None
    location: str | None
    voice_channel_id: int | None
    channel_id: int
    message_id: int | None
    event_id: int | None
    status: str
    reminders: tuple[int, ...]
    created_by: int
    created_at: float
    cancelled_at: float | None
    ics_sequence: int = 0  # the calendar event's revision: bumped when cancelled

    @property
    def ends_at(self) -> float:
        return self.starts_at + self.duration_seconds

    @property
    def is_scheduled(self) -> bool:
        return self.status == "scheduled"


@dataclass(frozen=True, slots=True)
class MeetingDelivery:
    offset_seconds: int
    user_id: int
    state: str  # see bot/domain/delivery.py
    via: str  # 'channel' for the post (user 0), 'dm' for DMs


class MeetingNotifier(Protocol):
    """How meeting reminders reach members (the cog implements it with Discord). Every send
    carries the delivery's deterministic Discord ``nonce`` (bot/domain/delivery.py)."""

    async def post_reminder(self, meeting: Meeting, audience: list[int], *, nonce: str) -> bool:
        """One post in the meeting's channel mentioning the audience; False if the bot may not
        post there. Raise RetryLater to retry later."""
        ...

    async def dm_reminder(self, meeting: Meeting, user_id: int, *, nonce: str) -> bool:
        """DM one member; False if their DMs are closed. Raise RetryLater to retry later."""
        ...


@dataclass(frozen=True, slots=True)
class CreatedMeeting:
    meeting: Meeting
    audience: list[int]
    reminders: list[timedelta]


@dataclass(slots=True)
class MeetingReminderOutcome:
    posted: bool = False
    dms: list[int] = field(default_factory=list)
    unknown: list[int] = field(default_factory=list)  # maybe sent before a crash: not re-sent


@dataclass(frozen=True, slots=True)
class MeetingPoll:
    """A time poll: candidate start times put to the group as a native Discord poll."""

    id: int
    guild_id: int
    title: str
    options: tuple[float, ...]  # start times (unix seconds), in the order shown
    duration_seconds: int
    call_id: int | None
    role_id: int | None
    channel_id: int
    message_id: int | None
    closes_at: float
    status: str  # 'open', 'closed' (counted), 'decided' (a meeting was made)
    voters: tuple[tuple[int, ...], ...]  # per option, who can come (once closed)
    meeting_id: int | None
    created_by: int
    created_at: float


def meeting_calendar(meeting: Meeting) -> CalendarEntry:
    """The meeting as a calendar event (one UID for its life; cancelled once it is)."""
    return CalendarEntry(
        uid=meeting_uid(meeting.guild_id, meeting.id),
        title=meeting.title,
        starts_at=meeting.starts_at,
        ends_at=meeting.ends_at,
        sequence=meeting.ics_sequence,
        cancelled=not meeting.is_scheduled,
        link=Link(meeting.guild_id, meeting.channel_id, meeting.message_id),
        location=meeting.location or "",
        filename=f"meeting-{meeting.number}.ics",
    )
