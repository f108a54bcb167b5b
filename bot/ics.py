"""Calendar files (.ics, RFC 5545) for sessions and meetings, built with the icalendar package.

A member who books a session, or is invited to a meeting, can be sent a small ``.ics`` file that
any calendar app imports. The same event sent again later (new time, new place, cancelled) must
replace the copy already in their calendar rather than add a second one; calendar apps match
events by UID and keep the copy with the highest SEQUENCE, so:

* **UID** — stable and unique for the life of the event. The convention is
  ``session-<id>@<domain>`` for sessions and ``meeting-<id>@<domain>`` for meetings, where
  ``<domain>`` is a host-like name for this bot installation chosen by the caller (for example
  ``session-42@coprobot.example.org``, or ``session-42@<guild id>.coprobot`` when there is no
  domain). This module does not invent UIDs: the caller builds them from its own ids.
* **SEQUENCE** — starts at 0; the caller bumps it every time the time, place or status changes,
  and sends the new number with the changed event.

Every file has one VCALENDAR with PRODID, VERSION 2.0 and METHOD:PUBLISH. A file in which every
event is cancelled has METHOD:CANCEL and STATUS:CANCELLED on its events; how a calendar app acts
on it varies, so the message that carries it should say in words that the event is cancelled.
Times are written in UTC (``...Z``), so no time-zone definitions are needed; the caller's times
must be time-zone aware. Upcoming events get a display reminder 15 minutes before the start.

There is no ORGANIZER property: RFC 5545 reserves it for group-scheduled events (invitations
that expect replies) and its value must be an address the bot does not have. The organiser's name,
when given, is written into the description instead, with the link, since several calendar apps
do not show the URL property.

Building a file is quick and pure (no I/O), so it can be called directly from async code.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from icalendar import Alarm, Calendar, Event

from bot.domain.values import CalendarEntry
from bot.render import jump_link

__all__ = [
    "PRODID",
    "REMINDER_BEFORE",
    "IcsEvent",
    "calendar_ics",
    "entry_event",
    "event_ics",
]

PRODID = "-//coprobot//Community co-production bot//EN"
"""Names the program that made the file, as RFC 5545 asks."""

REMINDER_BEFORE = timedelta(minutes=15)
"""How long before an upcoming event its calendar reminder goes off."""


@dataclass(frozen=True)
class IcsEvent:
    """One event for a calendar file. See the module notes for how to choose ``uid``.

    ``starts_at`` and ``ends_at`` must be time-zone aware, with the end after the start;
    ``sequence`` is the event's revision number (0 first, bumped on every change).
    Raises ``ValueError`` when any of that does not hold.
    """

    uid: str
    title: str
    starts_at: datetime
    ends_at: datetime
    sequence: int
    description: str = ""
    location: str = ""
    url: str | None = None
    cancelled: bool = False
    organiser_name: str | None = None

    def __post_init__(self) -> None:
        if not self.uid.strip() or any(ch in self.uid for ch in "\r\n"):
            raise ValueError("an event needs a UID on one line")
        _require_aware(self.starts_at, "starts_at")
        _require_aware(self.ends_at, "ends_at")
        if self.ends_at <= self.starts_at:
            raise ValueError("an event must end after it starts")
        if self.sequence < 0:
            raise ValueError("sequence must not be negative")


def event_ics(
    *,
    uid: str,
    title: str,
    starts_at: datetime,
    ends_at: datetime,
    sequence: int,
    description: str = "",
    location: str = "",
    url: str | None = None,
    cancelled: bool = False,
    organiser_name: str | None = None,
    stamped_at: datetime | None = None,
) -> bytes:
    """A calendar file holding one event (METHOD:CANCEL when ``cancelled``), as UTF-8 bytes.

    ``stamped_at`` is the DTSTAMP, when the file was made (default: now); pass the bot's clock.
    Raises ``ValueError`` for naive datetimes, an end not after the start, a negative sequence
    or an empty UID.
    """
    event = IcsEvent(
        uid=uid,
        title=title,
        starts_at=starts_at,
        ends_at=ends_at,
        sequence=sequence,
        description=description,
        location=location,
        url=url,
        cancelled=cancelled,
        organiser_name=organiser_name,
    )
    return calendar_ics([event], stamped_at=stamped_at)


def calendar_ics(events: Sequence[IcsEvent], *, stamped_at: datetime | None = None) -> bytes:
    """A calendar file holding ``events`` in the given order, as UTF-8 bytes with CRLF lines.

    METHOD is CANCEL when every event is cancelled and PUBLISH otherwise (a cancelled event in a
    mixed file still carries STATUS:CANCELLED). ``stamped_at`` is the DTSTAMP of every event
    (default: now). Raises ``ValueError`` for an empty list (RFC 5545 wants at least one
    component) or a naive ``stamped_at``.
    """
    if not events:
        raise ValueError("a calendar file needs at least one event")
    if stamped_at is None:
        stamped_at = datetime.now(UTC)
    _require_aware(stamped_at, "stamped_at")
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("method", "CANCEL" if all(e.cancelled for e in events) else "PUBLISH")
    for item in events:
        calendar.add_component(_vevent(item, stamped_at.astimezone(UTC)))
    data: bytes = calendar.to_ical()
    return data


def _vevent(item: IcsEvent, stamp: datetime) -> Event:
    event = Event()
    event.add("uid", item.uid)
    event.add("dtstamp", stamp)
    event.add("dtstart", item.starts_at.astimezone(UTC))
    event.add("dtend", item.ends_at.astimezone(UTC))
    event.add("sequence", item.sequence)
    event.add("summary", item.title)
    event.add("status", "CANCELLED" if item.cancelled else "CONFIRMED")
    details = _description(item)
    if details:
        event.add("description", details)
    if item.location:
        event.add("location", item.location)
    if item.url:
        event.add("url", item.url)
    if not item.cancelled:
        alarm = Alarm()
        alarm.add("action", "DISPLAY")
        alarm.add("description", item.title or "Reminder")
        alarm.add("trigger", -REMINDER_BEFORE)
        event.add_component(alarm)
    return event


def _description(item: IcsEvent) -> str:
    """The caller's description, then the organiser's name and the link on lines of their own."""
    parts = [item.description.strip()] if item.description.strip() else []
    if item.organiser_name and item.organiser_name.strip():
        parts.append(f"Organiser: {item.organiser_name.strip()}")
    if item.url and item.url not in item.description:
        parts.append(item.url)
    return "\n\n".join(parts)


def _require_aware(value: datetime, name: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be time-zone aware, got {value.isoformat()}")


def entry_event(entry: CalendarEntry, description: str = "") -> IcsEvent:
    """The domain's calendar entry (a session or meeting) as an event for a file; its link is
    the post's address."""
    link = entry.link
    url = jump_link(link.guild_id, link.channel_id, link.message_id) if link else None
    return IcsEvent(
        uid=entry.uid,
        title=entry.title,
        starts_at=datetime.fromtimestamp(entry.starts_at, UTC),
        ends_at=datetime.fromtimestamp(entry.ends_at, UTC),
        sequence=entry.sequence,
        description=description,
        location=entry.location,
        url=url,
        cancelled=entry.cancelled,
    )
