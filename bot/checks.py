"""Organiser checks: ``default_permissions`` hides commands in Discord's UI, the runtime check
enforces them (server admins can override the UI default, so the UI alone is not a guarantee)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import discord
from discord import app_commands

from bot.errors import NotOrganiser

if TYPE_CHECKING:
    from bot.client import CoproBot

__all__ = [
    "ensure_manage_server",
    "ensure_organiser",
    "is_organiser",
    "manage_server_only",
    "organiser_only",
]

T = TypeVar("T")

NOT_ORGANISER = (
    "Only organisers can use this. Organisers are people with Manage Server or Manage Events, "
    "or the organiser role set by the server's admins."
)


async def is_organiser(interaction: discord.Interaction) -> bool:
    """Manage Server, Manage Events, or the configured organiser role."""
    member = interaction.user
    if interaction.guild is None or not isinstance(member, discord.Member):
        return False
    perms = member.guild_permissions
    if perms.manage_guild or perms.manage_events or perms.administrator:
        return True
    bot: CoproBot = interaction.client  # type: ignore[assignment]
    settings = await bot.services.settings.get(interaction.guild.id)
    return settings.organiser_role_id is not None and any(
        r.id == settings.organiser_role_id for r in member.roles
    )


async def ensure_organiser(interaction: discord.Interaction) -> bool:
    if interaction.guild is None:
        raise app_commands.NoPrivateMessage()
    if not await is_organiser(interaction):
        raise NotOrganiser(NOT_ORGANISER)
    return True


async def ensure_manage_server(interaction: discord.Interaction) -> bool:
    member = interaction.user
    if interaction.guild is None or not isinstance(member, discord.Member):
        raise app_commands.NoPrivateMessage()
    if not (member.guild_permissions.manage_guild or member.guild_permissions.administrator):
        raise NotOrganiser("Only people with Manage Server can change the bot's settings.")
    return True


def organiser_only() -> Callable[[T], T]:
    """Both halves of the organiser check, for a command or a whole group/cog."""

    def decorator(func: Any) -> Any:
        func = app_commands.guild_only()(func)
        func = app_commands.default_permissions(manage_events=True)(func)
        return app_commands.check(ensure_organiser)(func)

    return decorator


def manage_server_only() -> Callable[[T], T]:
    def decorator(func: Any) -> Any:
        func = app_commands.guild_only()(func)
        func = app_commands.default_permissions(manage_guild=True)(func)
        return app_commands.check(ensure_manage_server)(func)

    return decorator


# For a GroupCog whose commands are all for organisers, decorate the class with
# ``@app_commands.guild_only()`` and ``@app_commands.default_permissions(manage_events=True)``
# (the UI half) and define ``interaction_check`` as ``return await ensure_organiser(interaction)``
# (the runtime half); discord.py runs a cog's ``interaction_check`` before each of its commands.
