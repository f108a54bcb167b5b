"""Attendance of one meeting or session."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class EventKind(StrEnum):
    MEETING = "meeting"
    SESSION = "session"


class Source(StrEnum):
    """Where a member's attendance comes from."""

    VOICE = "voice"  # voice-channel time
    ORGANISER = "organiser"  # /attendance edit
    MEMBER = "member"  # the "I'm here" button
    NONE = "none"  # nothing known: expected but not seen


@dataclass(frozen=True, slots=True)
class Span:
    """A stretch of time in a voice channel; ``left_at`` None: still connected."""

    user_id: int
    joined_at: float
    left_at: float | None


@dataclass(frozen=True, slots=True)
class Mark:
    """Attendance marked by an organiser or the member. ``minutes`` None: the whole event."""

    user_id: int
    present: bool
    minutes: int | None
    source: Source
    marked_at: float


@dataclass(frozen=True, slots=True)
class Event:
    """A meeting or session as attendance sees it. ``expected``: the meeting's audience or the
    session's confirmed bookings."""

    kind: EventKind
    id: int
    guild_id: int
    number: int
    title: str
    starts_at: float
    ends_at: float
    voice_channel_id: int | None
    cancelled: bool
    expected: tuple[int, ...]

    @property
    def minutes(self) -> int:
        return round((self.ends_at - self.starts_at) / 60)

    @property
    def subject(self) -> str:
        return f"{self.kind.value}:{self.number}"


@dataclass(frozen=True, slots=True)
class Line:
    """One member's attendance of an event."""

    user_id: int
    present: bool
    minutes: int
    expected: bool
    source: Source


@dataclass(frozen=True, slots=True)
class Attendance:
    """Who came, for how long. ``known``: the event has voice time or marks to go by (otherwise
    nobody is counted present or absent)."""

    event: Event
    lines: tuple[Line, ...]
    known: bool

    @property
    def attended(self) -> list[Line]:
        return [line for line in self.lines if line.present]

    @property
    def no_shows(self) -> list[Line]:
        if not self.known:
            return []
        return [line for line in self.lines if line.expected and not line.present]

    @property
    def attendee_ids(self) -> list[int]:
        return [line.user_id for line in self.attended]
