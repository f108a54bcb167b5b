"""Calendar files attached to messages, and a member's own local time in DMs."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import discord

from bot.domain.common.texts import LOCAL_TIME
from bot.domain.values import CalendarEntry
from bot.ics import calendar_ics, entry_event

if TYPE_CHECKING:
    from bot.client import CoproBot

__all__ = ["CALENDAR_TYPE", "calendar_file", "local_time_line", "local_time_text"]

CALENDAR_TYPE = "text/calendar"


def calendar_file(entry: CalendarEntry, now: datetime) -> discord.File:
    """The entry as an ``.ics`` file (METHOD:CANCEL when cancelled), described in words."""
    data = calendar_ics([entry_event(entry)], stamped_at=now)
    what = "Cancellation" if entry.cancelled else "Calendar event"
    return discord.File(
        io.BytesIO(data),
        filename=entry.filename,
        description=f"{what} for your calendar: {entry.title}"[:1024],
    )


def local_time_text(at: float, zone: str) -> str:
    """``Thursday 3 December 2026, 15:00 (Europe/Paris)``."""
    moment = datetime.fromtimestamp(at, UTC).astimezone(ZoneInfo(zone))
    return f"{moment:%A} {moment.day} {moment:%B %Y, %H:%M} ({zone})"


async def local_time_line(bot: CoproBot, guild_id: int, user_id: int, at: float) -> str:
    """A last line giving the time in the member's own time zone (``/settings my-timezone``),
    or nothing if they have not set one."""
    zone = await bot.services.settings.member_timezone(guild_id, user_id)
    if zone is None:
        return ""
    line = await bot.services.wording.render(guild_id, LOCAL_TIME, local=local_time_text(at, zone))
    return "\n" + line
