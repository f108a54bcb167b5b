"""Pure rules for meetings."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.domain.errors import InvalidInput
from bot.domain.feedback.rules import plan_reminders
from bot.textclean import clean_line
from bot.timeparse import format_duration, parse_duration

DEFAULT_REMINDERS = "24h, 1h"


DEFAULT_DURATION = timedelta(hours=1)


MAX_DURATION = timedelta(hours=12)


MAX_TITLE = 100


MAX_LOCATION = 100  # Discord's limit for an external event's location


def validate_meeting_title(title: str) -> str:
    title = clean_line(title, name="title", max_length=MAX_TITLE, required=False)
    if not title:
        raise InvalidInput("Please give the meeting a title, for example `Group meeting 1`.")
    return title


def validate_location(where: str | None) -> str | None:
    text = clean_line(where or "", name="place (`where`)", max_length=MAX_LOCATION, required=False)
    return text or None


def parse_meeting_duration(text: str | None) -> timedelta:
    if text is None or not text.strip():
        return DEFAULT_DURATION
    duration = parse_duration(text, minimum=timedelta(minutes=5))
    if duration > MAX_DURATION:
        raise InvalidInput(
            f"A meeting can last at most {format_duration(MAX_DURATION)}; you gave "
            f"{format_duration(duration)}."
        )
    return duration


def meeting_reminders(text: str | None, *, starts_at: datetime, now: datetime) -> list[timedelta]:
    """Reminder offsets before the start (default 24h and 1h; defaults that have passed are left out)."""
    return plan_reminders(
        text, closes_at=starts_at, now=now, default=DEFAULT_REMINDERS, before="the start"
    )
