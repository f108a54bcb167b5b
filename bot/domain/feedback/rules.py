"""Pure rules for feedback rounds."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.domain.errors import InvalidInput
from bot.textclean import clean_line, clean_text
from bot.timeparse import format_duration, parse_offsets

MAX_TITLE = 100


MAX_PLAN = 3500


MAX_ANSWER = 1000


MAX_CHANGES = 25


DEFAULT_REMINDERS = "24h"


DEFAULT_CLOSE_AFTER = timedelta(days=7)


_BULLET = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s*")


def takes_feedback_on_time(round_is_open: bool, closes_at: float, now: datetime) -> bool:
    """Whether a round still asks for feedback before its deadline (not closed, not past it)."""
    return round_is_open and now.timestamp() < closes_at


def local_time_text(moment: float, tz: str) -> str:
    """A time for organisers' files, in the server's time zone with the zone named, e.g.
    ``2026-11-29 10:00 GMT (Europe/London)``."""
    local = datetime.fromtimestamp(moment, ZoneInfo(tz))
    zone = local.tzname() or tz
    return f"{local:%Y-%m-%d %H:%M} {zone}" + ("" if zone == tz else f" ({tz})")


def validate_title(title: str) -> str:
    title = clean_line(title, name="title", max_length=MAX_TITLE, required=False)
    if not title:
        raise InvalidInput("Please give the round a title, for example `LinkedIn session plan`.")
    return title


def validate_plan(plan: str | None) -> str:
    text = clean_text(
        (plan or "").replace("\\n", "\n"), name="plan", max_length=MAX_PLAN, required=False
    )
    if not text:
        raise InvalidInput("Please give the plan: its text, or a link to the document.")
    if len(text) > MAX_PLAN:
        raise InvalidInput(
            f"The plan is too long to post ({len(text)} characters; at most {MAX_PLAN}). "
            "Please share a link to the document instead."
        )
    return text


def parse_changes(text: str | None) -> list[str]:
    """``changes`` for a new version: one item per line (``\\n`` or ``;`` also separate)."""
    if text is None or not text.strip():
        return []
    raw = text.replace("\\n", "\n")
    parts = raw.split("\n") if "\n" in raw else raw.split(";")
    items = [
        _BULLET.sub("", clean_line(p, name="change", max_length=2000, required=False)).strip()
        for p in parts
    ]
    items = [i for i in items if i]
    if len(items) > MAX_CHANGES:
        raise InvalidInput(f"Please list at most {MAX_CHANGES} changes; you gave {len(items)}.")
    for item in items:
        if len(item) > 300:
            raise InvalidInput(f"The change `{item[:30]}…` is too long (at most 300 characters).")
    return items


def clean_answers(
    works_well: str | None, would_change: str | None, missing: str | None
) -> tuple[str | None, str | None, str | None]:
    """Trim the form's answers; at least one must say something."""
    cleaned = tuple(
        clean_text(a or "", name="answer", max_length=MAX_ANSWER, required=False) or None
        for a in (works_well, would_change, missing)
    )
    if not any(cleaned):
        raise InvalidInput(
            "Please answer at least one of the questions. A few words are enough; "
            "you can also write in the thread instead."
        )
    return cleaned[0], cleaned[1], cleaned[2]


def plan_reminders(
    text: str | None,
    *,
    closes_at: datetime,
    now: datetime,
    default: str = DEFAULT_REMINDERS,
    before: str = "the deadline",
) -> list[timedelta]:
    """Reminder offsets before ``closes_at``, largest first.

    Typed offsets must all fall in the future (refused otherwise); default offsets that would
    already have passed are simply left out.
    """
    typed_text = (text or "").strip()
    typed = typed_text != ""
    offsets = parse_offsets(typed_text or default)
    left = closes_at - now
    if not typed:
        return [o for o in offsets if o < left]
    too_long = [o for o in offsets if o >= left]
    if too_long:
        raise InvalidInput(
            f"A reminder {format_duration(too_long[0])} before {before} would be in the past: "
            f"there are only {format_duration(left)} left. Please give shorter reminder times, "
            "like `2h`."
        )
    return offsets
