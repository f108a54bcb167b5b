"""Discord helpers shared by several cogs: sends for deliveries, mentioning many members, a role
as an audience, server events, CSV files. (Modules starting with "_" are not loaded as cogs.)"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any

import discord

from bot.clock import from_unix
from bot.domain.delivery import nonce_for
from bot.domain.errors import InvalidInput
from bot.render import clip, mention, mentions_for
from bot.scheduling import RetryLater

__all__ = [
    "MAX_MESSAGE",
    "create_event",
    "csv_file",
    "delivered",
    "mention_groups",
    "mentions_text",
    "role_members",
    "send_mentioning",
    "transient",
]

log = logging.getLogger(__name__)

MAX_MESSAGE = 2000


def transient(exc: discord.HTTPException) -> bool:
    """A 429 or 5xx that is still failing after discord.py's own retries: worth a later retry."""
    return exc.status >= 500 or exc.status == 429


async def delivered(send: Awaitable[object], what: str) -> bool:
    """Await one send of a delivery (bot/domain/delivery.py). True once Discord has it; False if
    it can't be delivered (closed DMs, where the send gives None, or a refusal such as missing
    permissions). A 429 or 5xx becomes RetryLater, so the delivery goes back to pending and the
    job is retried."""
    try:
        return await send is not None
    except discord.HTTPException as exc:
        if transient(exc):
            raise RetryLater(f"Discord said {exc.status} to {what}") from exc
        log.warning("could not send %s (Discord said %s): %s", what, exc.status, exc)
        return False


def mention_groups(user_ids: list[int], room: int = 1500, most: int = 100) -> list[list[int]]:
    """Members split into groups whose mentions fit in a message (Discord allows at most 100
    users in one message's allowed mentions)."""
    groups: list[list[int]] = []
    current: list[int] = []
    length = 0
    for user in user_ids:
        size = len(mention(user)) + 1
        if current and (length + size > room or len(current) >= most):
            groups.append(current)
            current, length = [], 0
        current.append(user)
        length += size
    if current:
        groups.append(current)
    return groups


def mentions_text(user_ids: list[int]) -> str:
    return " ".join(mention(u) for u in user_ids)


async def send_mentioning(
    target: discord.abc.Messageable,
    render: Callable[[str], Awaitable[str]],
    user_ids: list[int],
    *,
    nonce: str | None = None,
    **kwargs: Any,
) -> discord.Message:
    """Send ``await render(mentions)``, pinging exactly ``user_ids`` once each (the mentions go
    on in follow-up messages if they don't fit). Returns the first message.

    ``nonce`` (a delivery's nonce, bot/domain/delivery.py) makes a re-send after a crash return
    the messages Discord already made; follow-ups get nonces derived from it."""
    groups = mention_groups(user_ids)
    first_group = groups[0] if groups else []
    first_text = await render(mentions_text(first_group))
    if len(first_text) > MAX_MESSAGE:
        first_text, first_group = await render(""), []
    else:
        groups = groups[1:]
    if nonce is not None:
        kwargs["nonce"] = nonce
    first = await target.send(
        clip(first_text, MAX_MESSAGE), allowed_mentions=mentions_for(first_group), **kwargs
    )
    for i, group in enumerate(groups, start=1):
        extra: dict[str, Any] = {"nonce": nonce_for(f"{nonce}:{i}")} if nonce is not None else {}
        await target.send(mentions_text(group), allowed_mentions=mentions_for(group), **extra)
    return first


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
                discord.EntityType.stage_instance if isinstance(voice, discord.StageChannel)
                else discord.EntityType.voice
            )
            event = await guild.create_scheduled_event(entity_type=kind, channel=voice, **common)
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


def csv_file(rows: Iterable[Sequence[object]], filename: str) -> discord.File:
    """Rows as a UTF-8 CSV attachment."""
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return discord.File(io.BytesIO(buffer.getvalue().encode("utf-8")), filename=filename)
