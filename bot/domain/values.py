"""Values a message shows that only the adapter knows how to draw.

The domain never writes Discord markup: where a text needs a time (shown in each reader's own
time zone), a link to a post, or mentions, it puts one of these values into the template's
values (or a :class:`~bot.domain.errors.DomainError`'s), and the Discord side formats it
(``bot/render.py:discord_value``). :func:`plain` is the domain's own plain-text rendering,
used where no adapter is involved (logs, files, tests).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

__all__ = ["Link", "Mention", "Mentions", "Moment", "plain"]

Style = Literal["when", "F", "f", "R", "D", "d", "T", "t"]


@dataclass(frozen=True, slots=True)
class Moment:
    """A point in time. ``when``: the full date and time, then how long from now."""

    at: float
    style: Style = "when"


@dataclass(frozen=True, slots=True)
class Link:
    """A link to a post (or, without a message, to a channel) in a server."""

    guild_id: int
    channel_id: int
    message_id: int | None = None


@dataclass(frozen=True, slots=True)
class Mention:
    user_id: int


@dataclass(frozen=True, slots=True)
class Mentions:
    user_ids: tuple[int, ...]

    @classmethod
    def of(cls, user_ids: Iterable[int]) -> Mentions:
        return cls(tuple(user_ids))


def plain(value: object) -> str:
    """A value as plain text (UTC times, ids), for places without Discord."""
    if isinstance(value, Moment):
        return datetime.fromtimestamp(value.at, UTC).strftime("%Y-%m-%d %H:%M UTC")
    if isinstance(value, Link):
        tail = f"/{value.message_id}" if value.message_id is not None else ""
        return f"https://discord.com/channels/{value.guild_id}/{value.channel_id}{tail}"
    if isinstance(value, Mention):
        return f"member {value.user_id}"
    if isinstance(value, Mentions):
        return ", ".join(f"member {u}" for u in value.user_ids)
    return str(value)


@dataclass(frozen=True, slots=True)
class CalendarEntry:
    """A calendar event to attach to a message (the adapter makes the ``.ics`` file).

    ``uid`` is stable for the life of the session or meeting; ``sequence`` is its revision,
    bumped whenever the time changes or it is cancelled, so calendar apps replace their copy."""

    uid: str
    title: str
    starts_at: float
    ends_at: float
    sequence: int
    cancelled: bool = False
    link: Link | None = None
    location: str = ""
    filename: str = "event.ics"


def session_uid(guild_id: int, session_id: int) -> str:
    return f"session-{session_id}@{guild_id}.coprobot"


def meeting_uid(guild_id: int, meeting_id: int) -> str:
    return f"meeting-{meeting_id}@{guild_id}.coprobot"
