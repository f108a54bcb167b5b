"""Sending to members: DMs that treat closed DMs as normal, and reaction clean-up."""

from __future__ import annotations

import logging
from typing import Any

import discord

__all__ = ["emoji_key_of", "reaction_emoji", "remove_reaction", "send_dm"]

log = logging.getLogger(__name__)

CANNOT_DM = 50007


async def send_dm(client: discord.Client, user_id: int, content: str | None = None, **kwargs: Any) -> discord.Message | None:
    """DM a member. Returns the message, or ``None`` if their DMs are closed (not an error).

    Other HTTP errors (after discord.py's own retries of 429 and 5xx) propagate, so a job can
    retry later.
    """
    kwargs.setdefault("allowed_mentions", discord.AllowedMentions.none())
    try:
        channel = await client.create_dm(discord.Object(user_id))  # type: ignore[arg-type]
        return await channel.send(content, **kwargs)
    except discord.Forbidden as exc:
        log.info("DMs closed for %s (code %s)", user_id, exc.code)
        return None
    except discord.NotFound:
        log.info("user %s not found for a DM", user_id)
        return None


def reaction_emoji(stored: str) -> discord.PartialEmoji:
    """The stored emoji text (``🧭`` or ``<:name:id>``) as something discord.py can react with."""
    return discord.PartialEmoji.from_str(stored)


def emoji_key_of(emoji: discord.PartialEmoji) -> str:
    """The key the domain uses: a custom emoji's id, or the unicode text without U+FE0F."""
    if emoji.id:
        return str(emoji.id)
    return (emoji.name or "").replace("\ufe0f", "")


async def remove_reaction(
    client: discord.Client, channel_id: int, message_id: int, emoji: str, user_id: int
) -> bool:
    """Remove ``user_id``'s reaction; False (logged) if the bot may not."""
    message = client.get_partial_messageable(channel_id).get_partial_message(message_id)
    try:
        await message.remove_reaction(reaction_emoji(emoji), discord.Object(user_id))
        return True
    except discord.NotFound:
        return True
    except discord.Forbidden:
        log.warning("missing Manage Messages to remove a reaction in channel %s", channel_id)
        return False
