"""Server objects: roles as audiences, scheduled events."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import discord

from bot.clock import from_unix
from bot.domain.errors import InvalidInput
from bot.render import clip

log = logging.getLogger(__name__)


def role_members(role: discord.Role | None) -> list[int]:
    """The members (not bots) of a role chosen as an audience; none without a role. Refuses
    @everyone."""
    if role is None:
        return []
    if role.is_default():
        raise InvalidInput("Please choose a specific role rather than @everyone.")
    return [m.id for m in role.members if not m.bot]


async def create_event(
    guild: discord.Guild,
    *,
    what: str,
    item_id: int,
    title: str,
    starts_at: float,
    ends_at: float,
    description: str,
    voice: discord.VoiceChannel | discord.StageChannel | None,
    location: str,
    works_without: str,
    save: Callable[[int], Awaitable[None]],
) -> str:
    """Make the server event matching a meeting or session (``what``, with id ``item_id``): in
    ``voice`` if given, else external at ``location``; ``save`` keeps the event's id. Returns a
    note for the organiser: the event's link, or why it could not be made (``works_without``
    says what still works)."""
    common: dict[str, Any] = {
        "name": clip(title, 100),
        "start_time": from_unix(starts_at),
        "end_time": from_unix(ends_at),
        "privacy_level": discord.PrivacyLevel.guild_only,
        "description": clip(description, 1000),
    }
    try:
        if voice is not None:
            kind = (
                discord.EntityType.stage_instance
                if isinstance(voice, discord.StageChannel)
                else discord.EntityType.voice
            )
            event = await guild.create_scheduled_event(
                entity_type=kind,
                channel=voice,
                **common,  # type: ignore[call-overload]  # overloads want a literal entity type
            )  # (discord.py's overloads want a literal entity type; both kinds take a channel)
        else:
            event = await guild.create_scheduled_event(
                entity_type=discord.EntityType.external, location=clip(location, 100), **common
            )
    except discord.Forbidden:
        return (
            "\nI couldn't create a server event because I don't have the **Manage Events** "
            f"permission (Create Events). {works_without}"
        )
    except discord.HTTPException as exc:
        log.warning("could not create an event for %s %s: %s", what, item_id, exc)
        return f"\nI couldn't create a server event (Discord said {exc.status}); the {what} still works."
    await save(event.id)
    return f"\nServer event: {event.url}"
