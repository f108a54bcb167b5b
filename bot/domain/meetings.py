"""Group meetings: the rules and the member-facing wording. No discord here."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.domain.errors import InvalidInput
from bot.domain.feedback import plan_reminders
from bot.domain.wording import template
from bot.timeparse import format_duration, parse_duration

__all__ = [
    "DEFAULT_DURATION",
    "DEFAULT_REMINDERS",
    "MAX_DURATION",
    "meeting_reminders",
    "parse_meeting_duration",
    "validate_location",
    "validate_meeting_title",
]

DEFAULT_REMINDERS = "24h, 1h"
DEFAULT_DURATION = timedelta(hours=1)
MAX_DURATION = timedelta(hours=12)
MAX_TITLE = 100
MAX_LOCATION = 100  # Discord's limit for an external event's location

POST = template(
    "meeting.post",
    "**{title}**\n{starts} to {ends} ({duration})\nWhere: {where}\n"
    "I'll post a reminder here before it starts. Press **DM me reminders** to also get them by "
    "DM.\nFor: {mentions}",
    "The meeting post, mentioning everyone it is for",
)
REMINDER_POST = template(
    "meeting.reminder_post",
    "A reminder: **{title}** starts {starts}.\nWhere: {where}\nFor: {mentions}",
    "The reminder posted in the meeting's channel",
)
REMINDER_DM = template(
    "meeting.reminder_dm",
    "Hello! A reminder: **{title}** starts {starts}.\nWhere: {where}\n"
    "[See the meeting post]({link})",
    "The reminder DM, only to members who pressed DM me reminders",
)
CANCELLED = template(
    "meeting.cancelled",
    "**{title}** on {starts} is cancelled. Sorry for the change; we'll let you know about a new "
    "date.\nFor: {mentions}",
    "Posted when a meeting is cancelled",
)
DMS_ON = template(
    "meeting.dms_on",
    "Done: you'll get meeting reminders by DM in this server. Press the button again to stop them.",
    "Shown privately when a member turns meeting DMs on",
)
DMS_OFF = template(
    "meeting.dms_off",
    "Done: no more meeting reminders by DM. You'll still see them in the channel.",
    "Shown privately when a member turns meeting DMs off",
)
NOT_AUDIENCE = template(
    "meeting.not_audience",
    "This meeting is for its group. If you think you should be in it, please ask an organiser.",
    "Shown privately to someone outside the meeting who presses its button",
)


def validate_meeting_title(title: str) -> str:
    title = " ".join(title.split())
    if not title:
        raise InvalidInput("Please give the meeting a title, for example `Group meeting 1`.")
    if len(title) > MAX_TITLE:
        raise InvalidInput(f"The title is too long ({len(title)} characters; at most {MAX_TITLE}).")
    return title


def validate_location(where: str | None) -> str | None:
    text = " ".join((where or "").split())
    if not text:
        return None
    if len(text) > MAX_LOCATION:
        raise InvalidInput(
            f"`where` is too long ({len(text)} characters; at most {MAX_LOCATION}). "
            "A short place name or a link works best."
        )
    return text


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
