"""Turn what people type into aware UTC datetimes and durations.

Accepted times: ``YYYY-MM-DD HH:MM`` in the server's time zone, ISO 8601 with an offset,
and relative forms such as ``in 90 minutes``, ``in 2 hours``, ``tomorrow 14:00``.

Everything typed is bounded before it is converted: times at most :data:`MAX_AHEAD` after
``now`` (and :data:`MAX_BEHIND` before it), at most :data:`MAX_DIGITS` digits for an amount of
time units, at most :data:`MAX_TEXT_LENGTH` characters, so nothing overflows inside
``datetime``. A local wall time that the clocks skip (spring forward) is refused with the
nearest valid times; one that happens twice (fall back) means the first, and
:func:`parse_when_detailed` says so.
"""

from __future__ import annotations

import math
import re
import unicodedata
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from bot.domain.errors import InvalidInput

__all__ = [
    "MAX_AHEAD",
    "MAX_BEHIND",
    "MAX_DIGITS",
    "TIME_EXAMPLES",
    "NonexistentTime",
    "ParsedTime",
    "bounded_int",
    "collect_time_notes",
    "format_duration",
    "parse_duration",
    "parse_offsets",
    "parse_when",
    "parse_when_detailed",
    "time_notes",
    "validate_timezone",
    "zone_names",
]

TIME_EXAMPLES = "`2026-12-03 14:00`, `in 90 minutes`, `in 2 hours`, `tomorrow 14:00`"

#: How far after ``now`` a typed time (or a duration, or a reminder offset) may be.
MAX_AHEAD = timedelta(days=2 * 366)
#: How far before ``now`` a typed time may be (with ``future=False``, e.g. an export period).
MAX_BEHIND = timedelta(days=100 * 366)
# Overrides of max_ahead / max_behind are capped here, so datetime arithmetic cannot overflow.
_HARD_LIMIT = timedelta(days=1000 * 366)
#: Most digits in an amount of time units (``in 999999 minutes``, ``999999m``).
MAX_DIGITS = 6
#: Most characters in a typed time or duration.
MAX_TEXT_LENGTH = 100
# Typed text longer than this is refused before any Unicode work is done on it.
_MAX_RAW_LENGTH = 1000
#: Most reminder times in one list, and most characters in that list.
MAX_OFFSETS = 20
MAX_OFFSETS_LENGTH = 400
#: Most digits after the decimal point in ``in 1.5 hours``.
_MAX_DECIMALS = 3

_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_MAX_INT_DIGITS = len(str(_INT64_MAX))  # 19
_MAX_INT_TEXT = 40  # characters, sign and leading zeros included

_ABSOLUTE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})[ T](\d{1,2}):(\d{2})$")
_RELATIVE = re.compile(
    r"^in\s+(\d+)(?:\.(\d+))?\s*(m|min|mins|minute|minutes|h|hr|hrs|hour|hours|d|day|days|w|week|weeks)$"
)
_DAY_AT = re.compile(r"^(today|tomorrow)(?:\s+at)?\s+(\d{1,2})(?::(\d{2}))?\s*(am|pm)?$")
_DURATION_PART = re.compile(r"(\d+)\s*(w|d|h|m|s)")
_UNIT_SECONDS = {"w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1}
_INTEGER = re.compile(r"^([+-]?)(\d+)$")


@dataclass(frozen=True, slots=True)
class ParsedTime:
    """A typed time, read.

    ``when`` is the aware UTC instant. When the typed local time happens twice (the clocks go
    back), ``when`` is the first occurrence (or the second, when ``future`` and the first has
    already passed), ``other`` is the occurrence not used, and ``ambiguous_note`` says all that
    in words for the reply, with both UTC offsets; otherwise both are ``None``.
    """

    when: datetime
    ambiguous_note: str | None = None
    other: datetime | None = None


class NonexistentTime(InvalidInput):
    """A local time that the clocks skip; ``suggestions`` are the nearest valid local times."""

    def __init__(self, message: str, suggestions: tuple[datetime, datetime]) -> None:
        super().__init__(message)
        self.suggestions = suggestions


def validate_timezone(name: str) -> ZoneInfo:
    """Return the zone for an IANA name, or refuse it kindly."""
    name = name.strip()
    if name and len(name) <= MAX_TEXT_LENGTH and name in _zone_names():
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    raise InvalidInput(
        f"`{_shown(name) or ' '}` is not a time zone name I know. Use an IANA name such as "
        "`Europe/London`, `Europe/Dublin` or `America/New_York` (the list suggests them as you type)."
    )


_ZONES: frozenset[str] | None = None


def _zone_names() -> frozenset[str]:
    global _ZONES
    if _ZONES is None:
        _ZONES = frozenset(available_timezones())
    return _ZONES


def zone_names() -> list[str]:
    """Sorted IANA names (for autocomplete)."""
    return sorted(_zone_names())


def _unit_seconds(unit: str) -> int:
    return _UNIT_SECONDS[unit[0]]


# --- reading typed text ----------------------------------------------------------------------


def _prepare(text: str) -> str:
    """Fold compatibility forms (full-width digits, no-break spaces), drop invisible characters."""
    folded = unicodedata.normalize("NFKC", text)
    kept: list[str] = []
    for ch in folded:
        category = unicodedata.category(ch)
        if category == "Cc":
            kept.append(" ")
        elif category not in ("Cf", "Cs"):
            kept.append(ch)
    return "".join(kept).strip()


def _shown(text: str, limit: int = 40) -> str:
    """``text`` made safe to quote inside backticks in a reply: one short line, no backticks."""
    line = " ".join(_prepare(text[: limit * 4]).replace("`", "'").split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _significant_digits(digits: str) -> int:
    return len(digits.lstrip("0"))


def _span(delta: timedelta) -> str:
    """``2 years``, ``100 years``, ``30 days``: a bound in words."""
    if delta.days >= 365:
        years = delta.days // 365
        return f"{years} year" if years == 1 else f"{years} years"
    return format_duration(delta)


def _day(value: date) -> str:
    return f"{value.day} {value:%B %Y}"


def _clock(value: datetime) -> str:
    return f"{value:%H:%M}"


# --- times -----------------------------------------------------------------------------------


def parse_when(
    text: str,
    *,
    tz: str,
    now: datetime,
    future: bool = True,
    max_ahead: timedelta = MAX_AHEAD,
    max_behind: timedelta = MAX_BEHIND,
) -> datetime:
    """Parse a time typed by a person into aware UTC.

    ``future=True`` refuses times that are not after ``now``. Times more than ``max_ahead``
    after ``now`` or ``max_behind`` before it are refused (both are capped at 1000 years). A local time that happens twice
    means its first occurrence: use :func:`parse_when_detailed` to tell the person, or
    :func:`collect_time_notes` around a whole command (the note is collected here).
    """
    parsed = parse_when_detailed(
        text, tz=tz, now=now, future=future, max_ahead=max_ahead, max_behind=max_behind
    )
    notes = _TIME_NOTES.get()
    if parsed.ambiguous_note is not None and notes is not None:
        notes.append(parsed.ambiguous_note)
    return parsed.when


# Notes about ambiguous local times met while one command runs (see collect_time_notes).
_TIME_NOTES: ContextVar[list[str] | None] = ContextVar("time_notes", default=None)


def collect_time_notes() -> list[str]:
    """Start collecting, for the running command (its task), the notes of every typed time
    that happened twice (clocks going back): the command shows them in its reply, so the
    person sees both occurrences and which one was used, however deep the parsing happened."""
    notes: list[str] = []
    _TIME_NOTES.set(notes)
    return notes


def time_notes() -> list[str]:
    """The notes collected so far for the running command (empty if not collecting)."""
    return list(_TIME_NOTES.get() or [])


def parse_when_detailed(
    text: str,
    *,
    tz: str,
    now: datetime,
    future: bool = True,
    max_ahead: timedelta = MAX_AHEAD,
    max_behind: timedelta = MAX_BEHIND,
) -> ParsedTime:
    """Like :func:`parse_when`, and also says when the typed local time was ambiguous.

    Raises :class:`NonexistentTime` (an :class:`InvalidInput`) for a local time that the
    clocks skip, naming the last minute before the gap and the first one after it.
    """
    zone = ZoneInfo(tz)
    window = _Window(
        text=text,
        zone=zone,
        now=now,
        future=future,
        ahead=min(max_ahead, _HARD_LIMIT),
        behind=min(max_behind, _HARD_LIMIT),
    )
    cleaned = _prepare(text) if len(text) <= _MAX_RAW_LENGTH else text
    if len(cleaned) > MAX_TEXT_LENGTH:
        raise InvalidInput(
            f"That is too long to be a time ({MAX_TEXT_LENGTH} characters at most). "
            f"Try {TIME_EXAMPLES}."
        )
    raw = " ".join(cleaned.lower().split())
    result: ParsedTime | None = None
    if not raw:
        result = None
    elif m := _ABSOLUTE.match(raw):
        year, month, day, hour, minute = (int(g) for g in m.groups())
        try:
            wall = datetime(year, month, day, hour, minute)
        except ValueError:
            result = None
        else:
            result = window.local(wall)
    elif m := _RELATIVE.match(raw):
        result = ParsedTime(window.relative(m.group(1), m.group(2) or "", m.group(3)))
    elif m := _DAY_AT.match(raw):
        hour = int(m.group(2))
        minute = int(m.group(3) or 0)
        if m.group(4) == "pm" and hour < 12:
            hour += 12
        elif m.group(4) == "am" and hour == 12:
            hour = 0
        if hour < 24 and minute < 60:
            local = now.astimezone(zone)
            on = local.date() + timedelta(days=1 if m.group(1) == "tomorrow" else 0)
            result = window.local(datetime(on.year, on.month, on.day, hour, minute))
    else:
        parsed = _parse_iso(cleaned)
        if parsed is None:
            parsed = _parse_fuzzy(raw, zone, now)
        if parsed is not None:
            result = window.local(parsed) if parsed.tzinfo is None else window.instant(parsed)

    if result is None:
        raise InvalidInput(f"I couldn't read `{_shown(text)}` as a time. Try {TIME_EXAMPLES}.")
    return result


@dataclass(frozen=True, slots=True)
class _Window:
    """The typed text and the range of times it may name."""

    text: str
    zone: ZoneInfo
    now: datetime
    future: bool
    ahead: timedelta
    behind: timedelta

    def too_far(self) -> InvalidInput:
        try:
            limit = f"before {_day((self.now + self.ahead).astimezone(self.zone).date())}"
        except OverflowError:  # only with an absurd max_ahead override
            limit = "sooner"
        return InvalidInput(
            f"`{_shown(self.text)}` is more than {_span(self.ahead)} away. Please pick a time "
            f"{limit}, like {TIME_EXAMPLES}."
        )

    def too_early(self) -> InvalidInput:
        return InvalidInput(
            f"`{_shown(self.text)}` is more than {_span(self.behind)} ago. Please pick a later "
            f"time, like `{self.now.astimezone(self.zone):%Y-%m-%d} 09:00`."
        )

    def check(self, instant: datetime) -> datetime:
        """Refuse ``instant`` (aware) unless it is in range; return it in UTC."""
        delta = instant - self.now  # never overflows, even for year 1 or 9999
        if delta > self.ahead:
            raise self.too_far()
        if -delta > self.behind:
            raise self.too_early()
        try:
            result = instant.astimezone(UTC)
        except OverflowError:  # only with absurd max_ahead / max_behind overrides
            raise (self.too_far() if delta > timedelta(0) else self.too_early()) from None
        if self.future and result <= self.now:
            raise InvalidInput(
                f"`{_shown(self.text)}` is in the past. Please give a time in the future, "
                f"like {TIME_EXAMPLES}."
            )
        return result

    def instant(self, aware: datetime) -> ParsedTime:
        """A time that named its own offset: unambiguous."""
        return ParsedTime(self.check(aware))

    def relative(self, whole: str, decimals: str, unit: str) -> datetime:
        """``in <whole>.<decimals> <unit>`` from now."""
        if _significant_digits(whole) > MAX_DIGITS:
            raise self.too_far()
        if len(decimals) > _MAX_DECIMALS:
            raise InvalidInput(
                f"`{_shown(self.text)}` has too many decimals. Try `in 90 minutes` or "
                "`in 1.5 hours`."
            )
        seconds = float(f"{int(whole)}.{decimals or 0}") * _unit_seconds(unit)
        if seconds > self.ahead.total_seconds():
            raise self.too_far()
        return self.check(self.now + timedelta(seconds=seconds))

    def local(self, wall: datetime) -> ParsedTime:
        """A wall-clock time in the zone: refuse it in a gap, take the first of two in a fold."""
        here = self.now.astimezone(self.zone).replace(tzinfo=None)
        slack = timedelta(days=1)  # covers any UTC offset; the exact check comes after
        if wall - here - slack > self.ahead:
            raise self.too_far()
        if here - wall - slack > self.behind:
            raise self.too_early()
        first = wall.replace(tzinfo=self.zone, fold=0)
        second = wall.replace(tzinfo=self.zone, fold=1)
        try:
            if first.utcoffset() == second.utcoffset():
                return ParsedTime(self.check(first))
            one, two = first.astimezone(UTC), second.astimezone(UTC)
        except OverflowError:  # only with absurd max_ahead / max_behind overrides
            raise (self.too_far() if wall > here else self.too_early()) from None
        if one.astimezone(self.zone).replace(tzinfo=None) != wall:
            # In a gap, fold=0 reads the wall time with the offset from before the change (an
            # instant after it) and fold=1 with the offset from after (an instant before it).
            self.check(first)  # far away or in the past: say that instead
            raise self._gap(wall, before=two, after=one)
        # Happens twice: fold=0 is the first occurrence. If that one has just passed but the
        # second is still to come, a time "in the future" can only mean the second.
        use_second = self.future and one <= self.now < two
        when = self.check(second if use_second else first)
        note = self._fold_note(wall, first, second, used_second=use_second)
        return ParsedTime(when, note, one if use_second else two)

    def _gap(self, wall: datetime, *, before: datetime, after: datetime) -> NonexistentTime:
        """The clocks skip ``wall``: name the last minute before the gap and the first after."""
        change = _transition(before, after, self.zone)
        old_offset = before.astimezone(self.zone).utcoffset() or timedelta(0)
        gap_starts = (change + old_offset).replace(tzinfo=None)
        gap_ends = change.astimezone(self.zone).replace(tzinfo=None)
        last_before = (gap_starts - timedelta(seconds=1)).replace(second=0, microsecond=0)
        first_after = gap_ends.replace(second=0, microsecond=0)
        if first_after < gap_ends:
            first_after += timedelta(minutes=1)
        message = (
            f"{_clock(wall)} doesn't exist on {_day(wall.date())} in {self.zone.key}: the clocks "
            f"go forward from {_moment(gap_starts, wall)} to {_moment(gap_ends, wall)}. "
            f"Did you mean `{last_before:%Y-%m-%d %H:%M}` or `{first_after:%Y-%m-%d %H:%M}`?"
        )
        suggestions = (last_before.replace(tzinfo=self.zone), first_after.replace(tzinfo=self.zone))
        return NonexistentTime(message, suggestions)

    def _fold_note(
        self, wall: datetime, first: datetime, second: datetime, *, used_second: bool
    ) -> str:
        """Both readings of a wall time that happens twice, in words."""
        one, two = first.astimezone(UTC), second.astimezone(UTC)
        change = _transition(one, two, self.zone)
        old_offset = first.utcoffset() or timedelta(0)
        back_from = (change + old_offset).replace(tzinfo=None)
        back_to = change.astimezone(self.zone).replace(tzinfo=None)
        said = (
            f"{_clock(wall)} happens twice on {_day(wall.date())} in {self.zone.key}, because "
            f"the clocks go back from {_moment(back_from, wall)} to {_moment(back_to, wall)}."
        )
        first_words = f"{_clock(wall)} {_offset_words(first)} ({_utc_words(one, wall)})"
        second_words = f"{_clock(wall)} {_offset_words(second)} ({_utc_words(two, wall)})"
        if used_second:
            return (
                f"{said} The first, {first_words}, has already passed, so I used the second, "
                f"{second_words}."
            )
        return (
            f"{said} I used the first, {first_words}; for the second, {second_words}, type "
            f"`{second.isoformat(timespec='minutes')}`."
        )


def _moment(value: datetime, wall: datetime) -> str:
    """``HH:MM``, with the day too when it is not the day of ``wall``."""
    if value.date() == wall.date():
        return _clock(value)
    return f"{_clock(value)} on {_day(value.date())}"


def _utc_words(instant: datetime, wall: datetime) -> str:
    """``00:30 UTC``, with the day too when it is not the day of ``wall``."""
    utc = instant.astimezone(UTC)
    if utc.date() == wall.date():
        return f"{_clock(utc)} UTC"
    return f"{_clock(utc)} UTC on {_day(utc.date())}"


def _offset_words(local: datetime) -> str:
    """``BST, UTC+01:00`` for an aware local time (just ``UTC+03:00`` when the zone has no name)."""
    offset = local.utcoffset() or timedelta(0)
    sign = "-" if offset < timedelta(0) else "+"
    minutes = abs(int(offset.total_seconds())) // 60
    utc = f"UTC{sign}{minutes // 60:02d}:{minutes % 60:02d}"
    name = local.tzname() or ""
    return f"{name}, {utc}" if name and not name.startswith(("+", "-")) else utc


def _transition(before: datetime, after: datetime, zone: ZoneInfo) -> datetime:
    """The UTC second when ``zone``'s offset changes, between ``before`` and ``after``.

    The offset at ``before`` must differ from the one at ``after``; changes happen on whole
    seconds, so a bisection over whole seconds finds it.
    """

    def offset_at(second: int) -> timedelta | None:
        return datetime.fromtimestamp(second, UTC).astimezone(zone).utcoffset()

    low, high = math.floor(before.timestamp()), math.ceil(after.timestamp())
    old = offset_at(low)
    while high - low > 1:
        middle = (low + high) // 2
        if offset_at(middle) == old:
            low = middle
        else:
            high = middle
    return datetime.fromtimestamp(high, UTC)


def _parse_iso(text: str) -> datetime | None:
    """An ISO 8601 time, aware (with its offset) or naive (a wall time in the server's zone)."""
    if not text[:4].isdigit():
        return None
    try:
        return datetime.fromisoformat(re.sub(r"[zZ]$", "+00:00", text))
    except ValueError:
        return None


def _parse_fuzzy(raw: str, zone: ZoneInfo, now: datetime) -> datetime | None:
    """Last resort: dateparser, preferring future dates.

    Naive results are wall times in the server's zone (checked for clock changes by the
    caller); aware ones named their own zone or offset.
    """
    try:
        import dateparser  # type: ignore[import-untyped, unused-ignore]  # optional, ships no types
    except ImportError:  # pragma: no cover - dateparser is a dependency
        return None
    settings: dict[str, Any] = {
        "TIMEZONE": zone.key,
        "PREFER_DATES_FROM": "future",
        "RELATIVE_BASE": now.astimezone(zone).replace(tzinfo=None),
    }
    try:
        parsed = dateparser.parse(raw, languages=["en"], settings=settings)
    except Exception:  # heuristics on arbitrary text: any failure means "could not read it"
        return None
    return parsed if isinstance(parsed, datetime) else None


# --- durations and numbers -------------------------------------------------------------------


def parse_duration(
    text: str,
    *,
    minimum: timedelta = timedelta(minutes=1),
    maximum: timedelta = MAX_AHEAD,
) -> timedelta:
    """``90m``, ``1h30m``, ``2h``, ``1d``, ``45 minutes`` -> timedelta.

    Refuses amounts with more than :data:`MAX_DIGITS` digits, and totals below ``minimum`` or
    above ``maximum``.
    """
    cleaned = _prepare(text) if len(text) <= _MAX_RAW_LENGTH else text
    unreadable = InvalidInput(
        f"I couldn't read `{_shown(text)}` as a length of time. Try `90m`, `1h30m` or `2h`."
    )
    if len(cleaned) > MAX_TEXT_LENGTH:
        raise unreadable
    raw = "".join(cleaned.lower().split())
    raw = re.sub(r"(minutes?|mins?)", "m", raw)
    raw = re.sub(r"(hours?|hrs?)", "h", raw)
    raw = re.sub(r"(days?)", "d", raw)
    raw = re.sub(r"(weeks?)", "w", raw)
    raw = re.sub(r"(seconds?|secs?)", "s", raw)
    parts = _DURATION_PART.findall(raw)
    if not parts or _DURATION_PART.sub("", raw) != "":
        raise unreadable
    too_long = InvalidInput(
        f"`{_shown(text)}` is too long; it can be at most {_span(maximum)}. "
        "Try something like `90m`, `2h` or `3d`."
    )
    if any(_significant_digits(n) > MAX_DIGITS for n, _ in parts):
        raise too_long
    seconds = sum(int(n) * _UNIT_SECONDS[u] for n, u in parts)
    if seconds > maximum.total_seconds():
        raise too_long
    total = timedelta(seconds=seconds)
    if total < minimum:
        raise InvalidInput(
            f"`{_shown(text)}` is too short; it must be at least {format_duration(minimum)}."
        )
    return total


def parse_offsets(
    text: str,
    *,
    maximum: timedelta = MAX_AHEAD,
    max_items: int = MAX_OFFSETS,
) -> list[timedelta]:
    """``48h, 24h, 2h`` -> sorted, de-duplicated offsets (largest first).

    Each offset is at most ``maximum``; at most ``max_items`` may be given.
    """
    example = "Give reminder times like `24h, 1h` (before the start), or leave it empty."
    if len(text) > MAX_OFFSETS_LENGTH:
        raise InvalidInput(f"That list of reminder times is too long. {example}")
    items = [p for p in re.split(r"[,;]", text) if p.strip()]
    if not items:
        raise InvalidInput(example)
    if len(items) > max_items:
        raise InvalidInput(f"Please give at most {max_items} reminder times. {example}")
    offsets = {
        parse_duration(item, minimum=timedelta(minutes=1), maximum=maximum) for item in items
    }
    return sorted(offsets, reverse=True)


def bounded_int(text: str, *, name: str, minimum: int, maximum: int) -> int:
    """A whole number typed as text, from ``minimum`` to ``maximum`` (both included).

    The range is also kept within signed 64 bits. Refuses anything else (words, decimals,
    too many digits) with :class:`InvalidInput`, without converting huge digit strings.
    """
    if minimum > maximum:
        raise ValueError("minimum must not be greater than maximum")
    low, high = max(minimum, _INT64_MIN), min(maximum, _INT64_MAX)
    if low > high:
        raise ValueError("the range has no signed 64-bit number in it")
    refusal = InvalidInput(
        f"Please give {name} as a whole number from {low} to {high}, like `{low}`."
    )
    cleaned = "".join(_prepare(text).split()) if len(text) <= _MAX_RAW_LENGTH else text
    if len(cleaned) > _MAX_INT_TEXT:
        raise refusal
    m = _INTEGER.match(cleaned)
    if m is None or _significant_digits(m.group(2)) > _MAX_INT_DIGITS:
        raise refusal
    value = int(m.group(2)) * (-1 if m.group(1) == "-" else 1)
    if not low <= value <= high:
        raise refusal
    return value


def format_duration(delta: timedelta) -> str:
    """``timedelta(minutes=90)`` -> ``1h30m``."""
    seconds = int(delta.total_seconds())
    out = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            out.append(f"{seconds // size}{unit}")
            seconds %= size
    if seconds or not out:
        out.append(f"{seconds}s")
    return "".join(out)
