"""Turn what people type into aware UTC datetimes and durations.

Accepted times: ``YYYY-MM-DD HH:MM`` in the server's time zone, ISO 8601 with an offset,
and relative forms such as ``in 90 minutes``, ``in 2 hours``, ``tomorrow 14:00``.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from bot.domain.errors import InvalidInput

__all__ = [
    "TIME_EXAMPLES",
    "format_duration",
    "parse_duration",
    "parse_offsets",
    "parse_when",
    "validate_timezone",
]

TIME_EXAMPLES = "`2026-12-03 14:00`, `in 90 minutes`, `in 2 hours`, `tomorrow 14:00`"

_ABSOLUTE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})[ T](\d{1,2}):(\d{2})$")
_RELATIVE = re.compile(
    r"^in\s+(\d+(?:\.\d+)?)\s*(m|min|mins|minute|minutes|h|hr|hrs|hour|hours|d|day|days|w|week|weeks)$"
)
_DAY_AT = re.compile(r"^(today|tomorrow)(?:\s+at)?\s+(\d{1,2})(?::(\d{2}))?\s*(am|pm)?$")
_DURATION_PART = re.compile(r"(\d+)\s*(w|d|h|m|s)")
_UNIT_SECONDS = {"w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1}


def validate_timezone(name: str) -> ZoneInfo:
    """Return the zone for an IANA name, or refuse it kindly."""
    name = name.strip()
    if name and name in _zone_names():
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    raise InvalidInput(
        f"`{name or ' '}` is not a time zone name I know. Use an IANA name such as "
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


def parse_when(
    text: str,
    *,
    tz: str,
    now: datetime,
    future: bool = True,
) -> datetime:
    """Parse a time typed by a person into aware UTC.

    ``future=True`` refuses times that are not after ``now``.
    """
    raw = " ".join(text.strip().lower().split())
    zone = ZoneInfo(tz)
    result: datetime | None = None
    if not raw:
        result = None
    elif m := _ABSOLUTE.match(raw):
        year, month, day, hour, minute = (int(g) for g in m.groups())
        try:
            result = datetime(year, month, day, hour, minute, tzinfo=zone).astimezone(UTC)
        except ValueError:
            result = None
    elif m := _RELATIVE.match(raw):
        amount = float(m.group(1))
        result = now + timedelta(seconds=amount * _unit_seconds(m.group(2)))
    elif m := _DAY_AT.match(raw):
        hour = int(m.group(2))
        minute = int(m.group(3) or 0)
        if m.group(4) == "pm" and hour < 12:
            hour += 12
        elif m.group(4) == "am" and hour == 12:
            hour = 0
        if hour < 24 and minute < 60:
            local = now.astimezone(zone)
            day = local.date() + timedelta(days=1 if m.group(1) == "tomorrow" else 0)
            result = datetime(day.year, day.month, day.day, hour, minute, tzinfo=zone).astimezone(UTC)
    else:
        result = _parse_iso(text.strip()) or _parse_fuzzy(raw, zone, now)

    if result is None:
        raise InvalidInput(f"I couldn't read `{text.strip()}` as a time. Try {TIME_EXAMPLES}.")
    if future and result <= now:
        raise InvalidInput(
            f"`{text.strip()}` is in the past. Please give a time in the future, like {TIME_EXAMPLES}."
        )
    return result


def _parse_iso(text: str) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return None  # handled by the absolute form or dateparser in the server's zone
    return parsed.astimezone(UTC)


def _parse_fuzzy(raw: str, zone: ZoneInfo, now: datetime) -> datetime | None:
    """Last resort: dateparser, in the server's zone, preferring future dates."""
    try:
        import dateparser
    except ImportError:  # pragma: no cover - dateparser is a dependency
        return None
    parsed = dateparser.parse(
        raw,
        languages=["en"],
        settings={
            "TIMEZONE": zone.key,
            "RETURN_AS_TIMEZONE_AWARE": True,
            "PREFER_DATES_FROM": "future",
            "RELATIVE_BASE": now.astimezone(zone).replace(tzinfo=None),
        },
    )
    if parsed is None:
        return None
    return parsed.astimezone(UTC)


def parse_duration(text: str, *, minimum: timedelta = timedelta(minutes=1)) -> timedelta:
    """``90m``, ``1h30m``, ``2h``, ``1d``, ``45 minutes`` -> timedelta."""
    raw = text.strip().lower().replace(" ", "")
    raw = re.sub(r"(minutes?|mins?)", "m", raw)
    raw = re.sub(r"(hours?|hrs?)", "h", raw)
    raw = re.sub(r"(days?)", "d", raw)
    raw = re.sub(r"(weeks?)", "w", raw)
    raw = re.sub(r"(seconds?|secs?)", "s", raw)
    parts = _DURATION_PART.findall(raw)
    if not parts or _DURATION_PART.sub("", raw) != "":
        raise InvalidInput(
            f"I couldn't read `{text.strip()}` as a length of time. Try `90m`, `1h30m` or `2h`."
        )
    total = timedelta(seconds=sum(int(n) * _UNIT_SECONDS[u] for n, u in parts))
    if total < minimum:
        raise InvalidInput(f"`{text.strip()}` is too short; it must be at least {format_duration(minimum)}.")
    return total


def parse_offsets(text: str) -> list[timedelta]:
    """``48h, 24h, 2h`` -> sorted, de-duplicated offsets (largest first)."""
    items = [p for p in re.split(r"[,;]", text) if p.strip()]
    if not items:
        raise InvalidInput("Give reminder times like `24h, 1h` (before the start), or leave it empty.")
    offsets = {parse_duration(item, minimum=timedelta(minutes=1)) for item in items}
    return sorted(offsets, reverse=True)


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
