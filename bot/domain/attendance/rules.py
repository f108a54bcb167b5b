"""Pure rules: minutes from voice spans (reconnects merged), marks winning over voice time."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from bot.domain.attendance.models import Attendance, Event, Line, Mark, Source, Span
from bot.domain.errors import InvalidInput

MAX_MINUTES = 24 * 60


def merged_seconds(spans: Iterable[Span], start: float, end: float, now: float) -> float:
    """Seconds covered by ``spans`` inside ``[start, end]``; overlapping or touching spans (a
    reconnect, a duplicate record) count once; a span still open counts until ``now``."""
    pieces = sorted(
        (max(s.joined_at, start), min(s.left_at if s.left_at is not None else now, end))
        for s in spans
    )
    total = 0.0
    current_start: float | None = None
    current_end = 0.0
    for a, b in pieces:
        if b <= a:
            continue
        if current_start is None or a > current_end:
            if current_start is not None:
                total += current_end - current_start
            current_start, current_end = a, b
        else:
            current_end = max(current_end, b)
    if current_start is not None:
        total += current_end - current_start
    return total


def whole_minutes(seconds: float) -> int:
    """Seconds to minutes, half a minute rounding up."""
    return int(seconds // 60 + (1 if seconds % 60 >= 30 else 0))


def attendance(
    event: Event,
    spans: Sequence[Span],
    marks: Sequence[Mark],
    now: float,
) -> Attendance:
    """Who came and for how long: a mark (organiser or member) wins; otherwise voice time inside
    the event window. Expected members with nothing known are listed as not present."""
    by_user: dict[int, list[Span]] = {}
    for span in spans:
        by_user.setdefault(span.user_id, []).append(span)
    mark_of: Mapping[int, Mark] = {m.user_id: m for m in marks}
    expected = set(event.expected)
    people = list(event.expected) + sorted(
        (set(by_user) | set(mark_of)) - expected  # came without being expected
    )
    lines: list[Line] = []
    for user_id in people:
        mark = mark_of.get(user_id)
        if mark is not None:
            minutes = (
                (mark.minutes if mark.minutes is not None else event.minutes) if mark.present else 0
            )
            lines.append(Line(user_id, mark.present, minutes, user_id in expected, mark.source))
            continue
        seconds = merged_seconds(by_user.get(user_id, []), event.starts_at, event.ends_at, now)
        minutes = whole_minutes(seconds)
        if minutes > 0:
            lines.append(Line(user_id, True, minutes, user_id in expected, Source.VOICE))
        elif user_id in expected:
            lines.append(Line(user_id, False, 0, True, Source.NONE))
    voice_known = event.voice_channel_id is not None and now >= event.starts_at
    return Attendance(event, tuple(lines), known=voice_known or bool(marks))


def parse_minutes(value: int | None) -> int | None:
    """Minutes typed for a present member: None is the whole event."""
    if value is None:
        return None
    if value < 0 or value > MAX_MINUTES:
        raise InvalidInput(f"Please give the minutes as a number from 0 to {MAX_MINUTES}.")
    return value
