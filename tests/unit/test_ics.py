"""Calendar files: parsed back with icalendar, they say what was asked, in any language."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar

from bot.ics import PRODID, IcsEvent, calendar_ics, event_ics

LONDON = ZoneInfo("Europe/London")
STAMP = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
START = datetime(2026, 12, 3, 18, 30, tzinfo=LONDON)
END = START + timedelta(hours=2)


def session(**changes: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "uid": "session-42@coprobot.example.org",
        "title": 'Gweithdy Ŵyr ac ŷd: café, "naïve"; Привет 🎉',
        "starts_at": START,
        "ends_at": END,
        "sequence": 0,
        "description": "Bring a pen,\nand a friend; diolch!",
        "location": "Canolfan y Ddinas, Caerdydd; room 2",
        "url": "https://discord.com/channels/1/2/3",
        "organiser_name": "Siân",
        "stamped_at": STAMP,
    }
    fields.update(changes)
    return fields


def parse(data: bytes) -> Calendar:
    return Calendar.from_ical(data)


def only_event(calendar: Calendar) -> Any:
    events = calendar.walk("VEVENT")
    assert len(events) == 1
    return events[0]


def test_one_event_round_trips() -> None:
    data = event_ics(**session(sequence=3))
    calendar = parse(data)
    assert str(calendar["VERSION"]) == "2.0"
    assert str(calendar["PRODID"]) == PRODID
    assert str(calendar["METHOD"]) == "PUBLISH"
    event = only_event(calendar)
    assert str(event["UID"]) == "session-42@coprobot.example.org"
    assert event.decoded("DTSTART") == START
    assert event.decoded("DTEND") == END
    assert event.decoded("DTSTART").utcoffset() == timedelta(0)  # written in UTC
    assert event.decoded("DTSTAMP") == STAMP
    assert int(event["SEQUENCE"]) == 3
    assert str(event["STATUS"]) == "CONFIRMED"
    assert str(event["SUMMARY"]) == 'Gweithdy Ŵyr ac ŷd: café, "naïve"; Привет 🎉'
    assert str(event["LOCATION"]) == "Canolfan y Ddinas, Caerdydd; room 2"
    assert str(event["URL"]) == "https://discord.com/channels/1/2/3"
    description = str(event["DESCRIPTION"])
    assert description.startswith("Bring a pen,\nand a friend; diolch!")
    assert "Organiser: Siân" in description
    assert description.endswith("https://discord.com/channels/1/2/3")
    assert "ORGANIZER" not in event


def test_times_are_written_in_utc() -> None:
    text = event_ics(**session()).decode("utf-8")
    assert "DTSTART:20261203T183000Z\r\n" in text  # London is on GMT in December
    assert "DTEND:20261203T203000Z\r\n" in text
    assert "DTSTAMP:20261126T100000Z\r\n" in text
    assert "TZID" not in text


def test_upcoming_event_has_a_reminder_fifteen_minutes_before() -> None:
    event = only_event(parse(event_ics(**session())))
    alarms = event.walk("VALARM")
    assert len(alarms) == 1
    assert str(alarms[0]["ACTION"]) == "DISPLAY"
    assert alarms[0].decoded("TRIGGER") == timedelta(minutes=-15)


def test_cancelled_event() -> None:
    calendar = parse(event_ics(**session(sequence=4, cancelled=True)))
    assert str(calendar["METHOD"]) == "CANCEL"
    event = only_event(calendar)
    assert str(event["STATUS"]) == "CANCELLED"
    assert int(event["SEQUENCE"]) == 4
    assert str(event["UID"]) == "session-42@coprobot.example.org"
    assert event.walk("VALARM") == []


def test_lines_are_folded_and_end_in_crlf() -> None:
    long_title = "Sesiwn hir iawn gyda theitl hir: ŵ ŷ é ñ Ж 🎉 " * 6
    data = event_ics(**session(title=long_title, description="Disgrifiad " * 40))
    assert data.endswith(b"\r\n")
    lines = data.split(b"\r\n")[:-1]
    assert all(len(line) <= 75 for line in lines)
    assert any(line.startswith(b" ") for line in lines)  # continuation lines
    for line in lines:
        line.decode("utf-8")  # no character split across a fold
    assert str(only_event(parse(data))["SUMMARY"]) == long_title


def test_minimal_event_has_no_empty_properties() -> None:
    data = event_ics(
        uid="meeting-7@coprobot.example.org",
        title="Planning meeting",
        starts_at=datetime(2027, 1, 5, 9, tzinfo=UTC),
        ends_at=datetime(2027, 1, 5, 10, tzinfo=UTC),
        sequence=0,
        stamped_at=STAMP,
    )
    event = only_event(parse(data))
    for name in ("DESCRIPTION", "LOCATION", "URL", "ORGANIZER"):
        assert name not in event


def test_several_events_in_one_calendar() -> None:
    events = [
        IcsEvent(
            uid=f"session-{n}@coprobot.example.org",
            title=f"Sesiwn {n}: Ŵyl",
            starts_at=datetime(2026, 12, n, 18, tzinfo=LONDON),
            ends_at=datetime(2026, 12, n, 20, tzinfo=LONDON),
            sequence=n,
        )
        for n in (1, 2, 3)
    ]
    events.append(
        IcsEvent(
            uid="meeting-9@coprobot.example.org",
            title="Cyfarfod",
            starts_at=datetime(2026, 12, 9, 12, tzinfo=UTC),
            ends_at=datetime(2026, 12, 9, 13, tzinfo=UTC),
            sequence=1,
            cancelled=True,
        )
    )
    calendar = parse(calendar_ics(events, stamped_at=STAMP))
    assert str(calendar["METHOD"]) == "PUBLISH"  # one cancelled among upcoming ones
    parsed = calendar.walk("VEVENT")
    assert [str(e["UID"]) for e in parsed] == [e.uid for e in events]
    assert [int(e["SEQUENCE"]) for e in parsed] == [1, 2, 3, 1]
    assert [str(e["STATUS"]) for e in parsed] == ["CONFIRMED"] * 3 + ["CANCELLED"]
    assert [len(e.walk("VALARM")) for e in parsed] == [1, 1, 1, 0]
    assert parsed[1].decoded("DTSTART") == datetime(2026, 12, 2, 18, tzinfo=UTC)
    assert str(parsed[2]["SUMMARY"]) == "Sesiwn 3: Ŵyl"

    all_cancelled = [replace(event, cancelled=True) for event in events]
    assert str(parse(calendar_ics(all_cancelled, stamped_at=STAMP))["METHOD"]) == "CANCEL"


def test_event_ics_matches_a_one_event_calendar() -> None:
    fields = session()
    stamp = fields.pop("stamped_at")
    assert event_ics(**fields, stamped_at=stamp) == calendar_ics(
        [IcsEvent(**fields)], stamped_at=stamp
    )


def test_default_stamp_is_now_in_utc() -> None:
    before = datetime.now(UTC).replace(microsecond=0)
    fields = session()
    del fields["stamped_at"]
    stamp = only_event(parse(event_ics(**fields))).decoded("DTSTAMP")
    after = datetime.now(UTC)
    assert stamp.utcoffset() == timedelta(0)
    assert before <= stamp <= after


@pytest.mark.parametrize(
    "changes",
    [
        {"starts_at": datetime(2026, 12, 3, 18, 30)},
        {"ends_at": datetime(2026, 12, 3, 20, 30)},
        {"stamped_at": datetime(2026, 11, 26, 10, 0)},
        {"ends_at": START},
        {"ends_at": START - timedelta(minutes=1)},
        {"sequence": -1},
        {"uid": ""},
        {"uid": "session-1@x\r\nX-EVIL:1"},
    ],
    ids=[
        "naive-start",
        "naive-end",
        "naive-stamp",
        "zero-length",
        "ends-first",
        "sequence",
        "no-uid",
        "uid-newline",
    ],
)
def test_bad_input_is_refused(changes: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        event_ics(**session(**changes))


def test_an_empty_calendar_is_refused() -> None:
    with pytest.raises(ValueError):
        calendar_ics([], stamped_at=STAMP)
