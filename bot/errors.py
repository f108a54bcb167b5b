"""The one error path: domain errors become kind ephemeral replies; anything else gets an id."""

from __future__ import annotations

import logging
import secrets
from typing import Any

import discord
from discord import app_commands

from bot.domain.errors import DomainError
from bot.render import discord_value

__all__ = ["NotOrganiser", "handle_interaction_error", "on_tree_error", "reply"]

log = logging.getLogger(__name__)


class NotOrganiser(app_commands.CheckFailure):
    """Raised by the organiser check; its message is shown to the member."""


async def reply(
    interaction: discord.Interaction, content: str | None = None, **kwargs: Any
) -> None:
    """Answer an interaction whether or not it has been answered already (ephemeral by default)."""
    kwargs.setdefault("ephemeral", True)
    kwargs.setdefault("allowed_mentions", discord.AllowedMentions.none())
    if interaction.response.is_done():
        await interaction.followup.send(content or "", **kwargs)
    else:
        await interaction.response.send_message(content, **kwargs)


def message_for(error: BaseException) -> tuple[str, bool]:
    """The text to show for ``error`` and whether it was expected."""
    original: BaseException = error
    while isinstance(original, app_commands.CommandInvokeError | app_commands.TransformerError):
        inner = original.__cause__ if isinstance(original, app_commands.TransformerError) else None
        original = getattr(original, "original", None) or inner or original
        if original is error or (
            isinstance(original, app_commands.TransformerError) and inner is None
        ):
            break
    if isinstance(original, DomainError):
        return original.render(discord_value), True
    if isinstance(original, NotOrganiser):
        return str(original), True
    if isinstance(original, app_commands.NoPrivateMessage):
        return "This command only works inside a server.", True
    if isinstance(original, app_commands.MissingPermissions):
        return "You don't have the permissions this command needs.", True
    if isinstance(original, app_commands.CommandOnCooldown):
        return f"Please wait {original.retry_after:.0f} seconds and try again.", True
    if isinstance(original, app_commands.TransformerError):
        return (
            f"I couldn't understand `{original.value}` here. Please check it and try again.",
            True,
        )
    if isinstance(original, app_commands.CheckFailure):
        return "You can't use this command here.", True
    return "", False


async def handle_interaction_error(
    interaction: discord.Interaction, error: BaseException, *, where: str = "interaction"
) -> None:
    """Tell the member what went wrong, kindly; log the unexpected with a short id."""
    text, expected = message_for(error)
    if not expected:
        error_id = secrets.token_hex(3)
        log.error(
            "error %s in %s (user %s, guild %s)",
            error_id,
            where,
            getattr(interaction.user, "id", None),
            interaction.guild_id,
            exc_info=error,
        )
        text = (
            "Sorry, something went wrong on my side and nothing was changed. "
            f"If it happens again, please tell an organiser the error id `{error_id}`."
        )
    try:
        await reply(interaction, text)
    except discord.HTTPException:
        log.warning("could not send the error reply for %s", where, exc_info=True)


async def on_tree_error(
    interaction: discord.Interaction, error: app_commands.AppCommandError
) -> None:
    """``CommandTree.on_error``."""
    name = interaction.command.qualified_name if interaction.command else "command"
    await handle_interaction_error(interaction, error, where=f"/{name}")
