"""Pure rules for sessions: capacity, times, reminders, booking states."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Literal

from bot.domain.errors import InvalidInput
from bot.domain.sessions.texts import (
    BOOK_BUTTON_LABELS,
    BUTTON_BOOK,
    BUTTON_BOOKING_CLOSED,
    BUTTON_JOIN_WAITING,
)
from bot.domain.values import Moment
from bot.domain.wording.templates import Template
from bot.timeparse import TIME_EXAMPLES, format_duration, parse_duration, parse_offsets

MAX_CAPACITY = 1000


MAX_QUESTIONS = 10  # two form pages


FORM_PAGE = 5  # Discord: at most 5 top-level items in one modal


MAX_QUESTION = 100  # Discord: a modal label's description is at most 100 characters


MAX_LABEL = 45  # Discord: a modal label is at most 45 characters


MAX_OPTIONS = 10


MAX_OPTION = 80


MAX_ANSWER = 1000


MAX_COMMENT = 1000


MAX_DURATION = timedelta(days=7)


MAX_REMINDERS = 5


MAX_REMINDER_OFFSET = timedelta(days=30)


DEFAULT_DURATION = timedelta(hours=1)


DEFAULT_REMINDERS = (timedelta(hours=24), timedelta(hours=1))


DEFAULT_PRIORITY = timedelta(hours=48)


DIGEST_LEAD = timedelta(hours=1)  # the organiser digest comes this long before the first reminder


@dataclass(frozen=True, slots=True)
class BookButtonState:
    label: Template
    enabled: bool


if TYPE_CHECKING:
    from bot.domain.sessions.models import Session

Refusal = Literal["cancelled_session", "closed", "priority"]


def booking_refusal(session: Session, now: float, *, has_priority: bool) -> Refusal | None:
    """Why the member can't book the session now, or None if they can: THE booking rule (the
    decisive unit of work applies it with the session row locked; Book applies it to answer
    before the form opens)."""
    if session.is_cancelled:
        return "cancelled_session"
    if not session.booking_open(now):
        return "closed"
    if session.priority_until is not None and now < session.priority_until and not has_priority:
        return "priority"
    return None


def is_full(confirmed: int, capacity: int, waiting: int) -> bool:
    """A new booking would wait: every place is taken, or people are already waiting."""
    return confirmed >= capacity or waiting > 0


def book_button(state: str, *, confirmed: int, capacity: int, waiting: int) -> BookButtonState:
    """The Book button's label and whether it can be pressed: "Join the waiting list" when
    every place is taken, and greyed out once booking has closed, finished or been cancelled."""
    if state == "booking open":
        full = is_full(confirmed, capacity, waiting)
        return BookButtonState(BUTTON_JOIN_WAITING if full else BUTTON_BOOK, True)
    return BookButtonState(BOOK_BUTTON_LABELS.get(state, BUTTON_BOOKING_CLOSED), False)


def unbook_enabled(state: str) -> bool:
    """Bookings can be cancelled until the start (after booking has closed, too)."""
    return state in ("booking open", "booking closed")


def parse_capacity(value: int | str) -> int:
    """``22`` or ``"22"`` -> 22; refuses 0, negatives, words and more than MAX_CAPACITY."""
    raw = str(value).strip()
    if not re.fullmatch(r"[+-]?\d+", raw):
        raise InvalidInput(
            f"`{raw or ' '}` is not a number of places. Please give a whole number, like `22`."
        )
    number = int(raw)
    if number < 1:
        raise InvalidInput(
            f"A session needs at least 1 place, not {number}. Please give a whole number like `22`."
        )
    if number > MAX_CAPACITY:
        raise InvalidInput(
            f"{number} places is more than I can look after; the most is {MAX_CAPACITY}."
        )
    return number


def parse_session_duration(value: str | timedelta | None) -> timedelta:
    """``90m``, ``1h30m`` (default 1h); refuses ``forever`` and more than a week."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return DEFAULT_DURATION
    if isinstance(value, timedelta):
        duration = value
        if duration < timedelta(minutes=5):
            raise InvalidInput("A session must last at least 5 minutes.")
    else:
        duration = parse_duration(value, minimum=timedelta(minutes=5))
    if duration > MAX_DURATION:
        raise InvalidInput(
            f"A session can last at most {format_duration(MAX_DURATION)}; "
            f"`{value}` is longer. Try something like `90m` or `2h`."
        )
    return duration


def parse_reminders(value: str | Sequence[timedelta] | None) -> list[timedelta]:
    """``24h, 1h`` -> offsets before the start (largest first). ``none`` means no reminders."""
    if value is None:
        return list(DEFAULT_REMINDERS)
    if isinstance(value, str):
        if not value.strip():
            return list(DEFAULT_REMINDERS)
        if value.strip().lower() in ("none", "no", "off"):
            return []
        offsets = parse_offsets(value)
    else:
        offsets = sorted(set(value), reverse=True)
    if len(offsets) > MAX_REMINDERS:
        raise InvalidInput(f"Please give at most {MAX_REMINDERS} reminder times, like `24h, 1h`.")
    for offset in offsets:
        if offset > MAX_REMINDER_OFFSET or offset <= timedelta(0):
            raise InvalidInput(
                "Reminders can be from 1 minute to 30 days before the start, like `24h, 1h`."
            )
    return offsets


def plan_session_reminders(
    value: str | Sequence[timedelta] | None, *, starts: datetime, now: datetime
) -> list[timedelta]:
    """Reminder offsets for a session starting at ``starts``. Offsets the organiser typed must
    all fit in the time left (refused otherwise); default ones that don't fit are kept (they
    come back if the start moves later) but are not sent: see :func:`reminder_runs`."""
    offsets = parse_reminders(value)
    typed = value is not None and not (isinstance(value, str) and not value.strip())
    left = starts - now
    too_long = [o for o in offsets if o >= left]
    if typed and too_long:
        raise InvalidInput(
            f"A reminder {format_duration(too_long[0])} before the start would be in the past: "
            f"there are only {format_duration(left)} left. Please give shorter reminder times, "
            "like `1h`, or `none`."
        )
    return offsets


def parse_priority(value: str | timedelta | None) -> timedelta:
    if value is None or (isinstance(value, str) and not value.strip()):
        return DEFAULT_PRIORITY
    if isinstance(value, timedelta):
        return value
    return parse_duration(value, minimum=timedelta(minutes=1))


def validate_session_times(*, starts: datetime, closes: datetime | None, now: datetime) -> datetime:
    """Check the start is in the future and booking closes no later than the start.

    Returns when booking closes (default: the start)."""
    if starts <= now:
        raise InvalidInput(
            f"That start time is in the past. Please give a time in the future, like {TIME_EXAMPLES}."
        )
    if closes is None:
        return starts
    if closes > starts:
        raise InvalidInput(
            "Booking can't close after the session starts. Please give a closing time before "
            "the start ({start}), or leave it empty to close at the start.",
            start=Moment(starts.timestamp(), "F"),
        )
    if closes <= now:
        raise InvalidInput("That closing time is in the past. Please give a time in the future.")
    return closes


def reminder_runs(starts: float, offsets: Iterable[int], now: float) -> list[tuple[int, float]]:
    """``(offset seconds, run at)`` for every reminder still in the future."""
    return [(o, starts - o) for o in sorted(offsets, reverse=True) if starts - o > now]


def digest_time(starts: float, offsets: Iterable[int], now: float) -> float | None:
    """The organiser digest: an hour before the first future reminder (or the start)."""
    runs = reminder_runs(starts, offsets, now)
    first = runs[0][1] if runs else starts
    at = first - DIGEST_LEAD.total_seconds()
    return at if at > now else None


def capacity_line(confirmed: int, capacity: int, waiting: int) -> str:
    """``12 of 22 places booked, 3 on the waiting list`` (commas, not dots: screen readers
    read a middle dot aloud)."""
    text = f"{confirmed} of {capacity} places booked"
    if capacity == 1:
        text = f"{confirmed} of 1 place booked"
    if waiting:
        text += f", {waiting} on the waiting list"
    return text
