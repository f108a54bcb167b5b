"""Sessions, bookings and what the services return."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

from bot.domain.sessions.rules import (
    capacity_line,
)
from bot.domain.sessions.survey import (
    Question,
)
from bot.domain.sessions.texts import (
    ALREADY_CONFIRMED,
    ALREADY_WAITING,
    BOOKED,
    BOOKING_CANCELLED,
    BOOKING_CANCELLED_CLOSED,
    NOT_BOOKED,
    NOT_BOOKED_CLOSED,
    WAITING,
)
from bot.domain.values import CalendarEntry
from bot.domain.wording.templates import Template


@dataclass(frozen=True, slots=True)
class Session:
    id: int
    guild_id: int
    number: int
    channel_id: int
    message_id: int | None
    event_id: int | None
    title: str
    description: str
    starts_at: float
    ends_at: float
    closes_at: float
    capacity: int
    reminders: tuple[int, ...]  # offsets in seconds before the start, largest first
    repeat_of: int | None
    priority_until: float | None
    status: str
    created_by: int
    created_at: float
    cancelled_at: float | None
    ics_sequence: int = 0  # the calendar event's revision: bumped on a new time or a cancel

    @property
    def is_cancelled(self) -> bool:
        return self.status == "cancelled"

    def is_finished(self, now: float) -> bool:
        return now >= self.ends_at

    def has_started(self, now: float) -> bool:
        return now >= self.starts_at

    def booking_open(self, now: float) -> bool:
        return self.status == "open" and now < self.closes_at


BookStatus = Literal[
    "confirmed",
    "waiting",
    "already_confirmed",
    "already_waiting",
    "cancelled_session",
    "closed",
    "priority",
    "missing",
]


@dataclass(frozen=True, slots=True)
class BookResult:
    status: BookStatus
    seq: int | None = None
    position: int | None = None  # waiting-list position (1 = next)


@dataclass(frozen=True, slots=True)
class CancelResult:
    previous: str | None  # 'confirmed', 'waiting', or None if there was no booking
    promoted: tuple[tuple[int, int], ...]  # (user_id, seq) in waiting-list order
    refused: str | None = None  # 'missing', 'cancelled_session' or 'started'


@dataclass(frozen=True, slots=True)
class Booking:
    user_id: int
    status: str
    seq: int
    booked_at: float
    promoted_at: float | None


@dataclass(frozen=True, slots=True)
class Evaluation:
    user_id: int
    rating: int
    useful: str
    better: str
    submitted_at: float


@dataclass(frozen=True, slots=True)
class BookRequest:
    """One member's booking: the survey answers are (position, key, question, answer) rows,
    already validated."""

    session_id: int
    user_id: int
    now: float
    answers: tuple[tuple[int, str, str, str], ...]


class Messenger(Protocol):
    """What the service needs from Discord (the cog implements it; tests fake it). Every send
    carries the delivery's deterministic Discord ``nonce`` (bot/domain/delivery.py), so a
    re-send after a crash returns the message Discord already made instead of a second one."""

    async def render(self, guild_id: int, tpl: Template, **values: object) -> str:
        """The server's wording for ``tpl``."""

    async def dm(
        self,
        user_id: int,
        text: str,
        *,
        feedback_session: int | None = None,
        nonce: str | None = None,
        attach_if_long: tuple[str, str] | None = None,
        calendar: CalendarEntry | None = None,
        guild_id: int | None = None,
        at: float | None = None,
        layout: bool = False,
    ) -> bool:
        """DM a member; False if their DMs are closed. Raise RetryLater for transient failures.
        ``calendar`` is attached as a calendar file (.ics); ``at`` is the time the message is
        about, also shown in the member's own time zone if they set one in ``guild_id``.
        ``layout``: send it as a layout post, each block under a bold line a part of its own.
        ``feedback_session`` adds a Give feedback button for that session. ``attach_if_long``
        is ``(filename, note)``: a text too long for one message is shortened, ends with
        ``note``, and comes with the whole text attached as ``filename``."""

    async def post(
        self,
        channel_id: int,
        text: str,
        *,
        mention_ids: Sequence[int],
        feedback_session: int | None = None,
        nonce: str | None = None,
    ) -> bool:
        """Post in a channel pinging exactly ``mention_ids``; False if the bot may not post."""

    async def refresh(self, session_id: int) -> None:
        """Re-render the session's public post now (awaited: a job is done only after it)."""

    async def is_organiser(self, guild_id: int, user_id: int) -> bool:
        """Whether ``user_id`` is an organiser of the server now (the rule every organiser
        command uses); False if they left the server."""


BookingStatus = Literal["confirmed", "waiting", "already_confirmed", "already_waiting"]


@dataclass(frozen=True, slots=True)
class BookingOutcome:
    status: BookingStatus
    position: int | None  # place on the waiting list (1 = next), None when confirmed
    session: Session

    @property
    def template(self) -> Template:
        return {
            "confirmed": BOOKED,
            "waiting": WAITING,
            "already_confirmed": ALREADY_CONFIRMED,
            "already_waiting": ALREADY_WAITING,
        }[self.status]


@dataclass(frozen=True, slots=True)
class BookPress:
    """What pressing Book does: show the member's status (``reply``) or open the form."""

    session: Session
    reply: Template | None  # None: open the booking form
    position: int | None = None  # on the waiting list
    questions: tuple[Question, ...] = ()
    full: bool = False  # every place is taken: the form leads to the waiting list

    @property
    def opens_form(self) -> bool:
        return self.reply is None


@dataclass(frozen=True, slots=True)
class CancelOutcome:
    cancelled: bool  # False: the member had no booking
    was: str | None  # 'confirmed' or 'waiting'
    promoted: list[int]  # user ids moved from the waiting list into places, in order
    session: Session
    booking_open: bool = True  # when they cancelled

    @property
    def template(self) -> Template:
        """The reply: no "book again while booking is open" once booking has closed."""
        if not self.cancelled:
            return NOT_BOOKED if self.booking_open else NOT_BOOKED_CLOSED
        return BOOKING_CANCELLED if self.booking_open else BOOKING_CANCELLED_CLOSED


@dataclass(frozen=True, slots=True)
class EditOutcome:
    session: Session
    promoted: list[int]
    start_changed: bool
    changed: list[str]


@dataclass(frozen=True, slots=True)
class SessionDetails:
    session: Session
    confirmed: int
    waiting: int

    @property
    def capacity_line(self) -> str:
        return capacity_line(self.confirmed, self.session.capacity, self.waiting)


@dataclass(frozen=True, slots=True)
class Attendee:
    user_id: int
    status: str  # 'confirmed' or 'waiting'
    position: int  # 1-based within its list
    booked_at: float
    promoted_at: float | None
    answers: dict[str, str]


@dataclass(slots=True)
class DeliveryReport:
    dm: list[int] = field(default_factory=list)
    channel: list[int] = field(default_factory=list)
    undelivered: list[int] = field(default_factory=list)
    skipped: int = 0  # already delivered before (a re-run)
    unknown: list[int] = field(default_factory=list)  # maybe sent before a crash: not re-sent
