"""Small rendering helpers shared by cogs (Discord timestamps, safe mentions, truncation)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import discord

from bot.clock import from_unix

__all__ = [
    "NO_MENTIONS",
    "USER_MENTIONS",
    "clip",
    "mention",
    "mentions_for",
    "ts",
    "when",
]

# Text from organisers and members is never allowed to ping @everyone, @here or roles.
NO_MENTIONS = discord.AllowedMentions.none()
USER_MENTIONS = discord.AllowedMentions(everyone=False, roles=False, users=True, replied_user=False)


def mentions_for(user_ids: Iterable[int] = (), role_ids: Iterable[int] = ()) -> discord.AllowedMentions:
    """Allow exactly these users and roles to be pinged, nothing else."""
    users = [discord.Object(u) for u in user_ids]
    roles = [discord.Object(r) for r in role_ids]
    return discord.AllowedMentions(
        everyone=False, users=users or False, roles=roles or False, replied_user=False
    )


def ts(moment: datetime | float, style: str = "F") -> str:
    """A Discord timestamp, shown in each reader's own time zone."""
    if not isinstance(moment, datetime):
        moment = from_unix(moment)
    return f"<t:{int(moment.timestamp())}:{style}>"


def when(moment: datetime | float) -> str:
    """``Thursday, 3 December 2026 14:00 (in 2 days)`` in the reader's zone."""
    return f"{ts(moment, 'F')} ({ts(moment, 'R')})"


def mention(user_id: int) -> str:
    return f"<@{user_id}>"


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
