"""Organiser checks: ``default_permissions`` hides commands in Discord's UI, the runtime check
enforces them (server admins can override the UI default, so the UI alone is not a guarantee)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands

from bot.domain.settings.rules import counts_as_organiser
from bot.errors import NotOrganiser

if TYPE_CHECKING:
    from bot.client import CoproBot

__all__ = ["ensure_manage_server", "ensure_organiser", "is_organiser", "member_is_organiser"]

NOT_ORGANISER = (
    "Only organisers can use this. Organisers are people with Manage Server or Manage Events, "
    "or the organiser role set by the server's admins."
)


async def member_is_organiser(bot: CoproBot, member: discord.Member) -> bool:
    """The organiser rule (:func:`counts_as_organiser`) for a member of a server, now."""
    perms = member.guild_permissions
    settings = await bot.services.settings.get(member.guild.id)
    return counts_as_organiser(
        administrator=perms.administrator,
        manage_guild=perms.manage_guild,
        manage_events=perms.manage_events,
        role_ids=(r.id for r in member.roles),
        organiser_role_id=settings.organiser_role_id,
    )


async def is_organiser(interaction: discord.Interaction[Any]) -> bool:
    """Whether whoever is asking is an organiser of the server they ask in."""
    member = interaction.user
    if interaction.guild is None or not isinstance(member, discord.Member):
        return False
    bot: CoproBot = interaction.client
    return await member_is_organiser(bot, member)


async def ensure_organiser(interaction: discord.Interaction[Any]) -> bool:
    """The runtime half of every organiser command (``default_permissions`` is the UI half:
    server admins can override the UI default, so it alone is not a guarantee)."""
    if interaction.guild is None:
        raise app_commands.NoPrivateMessage()
    if not await is_organiser(interaction):
        raise NotOrganiser(NOT_ORGANISER)
    return True


async def ensure_manage_server(interaction: discord.Interaction[Any]) -> bool:
    member = interaction.user
    if interaction.guild is None or not isinstance(member, discord.Member):
        raise app_commands.NoPrivateMessage()
    if not (member.guild_permissions.manage_guild or member.guild_permissions.administrator):
        raise NotOrganiser("Only people with Manage Server can change the bot's settings.")
    return True
