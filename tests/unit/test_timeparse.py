from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.domain.errors import InvalidInput
from bot.timeparse import parse_duration, parse_offsets, parse_when, validate_timezone

NOW = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)


def test_absolute_in_server_zone() -> None:
    # London is UTC+0 in winter, New York UTC-5.
    assert parse_when("2026-12-03 14:00", tz="Europe/London", now=NOW) == datetime(
        2026, 12, 3, 14, 0, tzinfo=UTC
    )
    assert parse_when("2026-12-03 14:00", tz="America/New_York", now=NOW) == datetime(
        2026, 12, 3, 19, 0, tzinfo=UTC
    )


def test_iso_with_offset() -> None:
    assert parse_when("2026-12-03T14:00+01:00", tz="Europe/London", now=NOW) == datetime(
        2026, 12, 3, 13, 0, tzinfo=UTC
    )


@pytest.mark.parametrize(
    ("text", "delta"),
    [("in 90 minutes", timedelta(minutes=90)), ("in 2 hours", timedelta(hours=2)),
     ("in 1 minute", timedelta(minutes=1)), ("in 3 days", timedelta(days=3))],
)
def test_relative(text: str, delta: timedelta) -> None:
    assert parse_when(text, tz="Europe/London", now=NOW) == NOW + delta


def test_tomorrow() -> None:
    assert parse_when("tomorrow 14:00", tz="Europe/London", now=NOW) == datetime(
        2026, 11, 27, 14, 0, tzinfo=UTC
    )


@pytest.mark.parametrize("text", ["yesterday", "not a date", "2020-01-01 10:00", ""])
def test_refused_with_example(text: str) -> None:
    with pytest.raises(InvalidInput) as info:
        parse_when(text, tz="Europe/London", now=NOW)
    assert "in 90 minutes" in str(info.value)


def test_durations_and_offsets() -> None:
    assert parse_duration("90m") == timedelta(minutes=90)
    assert parse_duration("1h30m") == timedelta(minutes=90)
    assert parse_offsets("48h, 24h, 2h") == [timedelta(hours=48), timedelta(hours=24), timedelta(hours=2)]
    for bad in ("forever", "soon", "", "5x"):
        with pytest.raises(InvalidInput):
            parse_duration(bad)


def test_timezones() -> None:
    assert validate_timezone("Europe/Dublin").key == "Europe/Dublin"
    with pytest.raises(InvalidInput):
        validate_timezone("Mars/Olympus")
