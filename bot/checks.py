"""Organiser checks: ``default_permissions`` hides commands in Discord's UI, the runtime check
enforces them (server admins can override the UI default, so the UI alone is not a guarantee)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands

from bot.domain.errors import NotAllowed
from bot.domain.settings.rules import counts_as_organiser
from bot.errors import NotOrganiser

if TYPE_CHECKING:
    from bot.client import CoproBot

__all__ = [
    "ensure_invoker_can_post",
    "ensure_invoker_can_see",
    "ensure_manage_server",
    "ensure_organiser",
    "is_organiser",
    "member_is_organiser",
]

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


def _invoker(interaction: discord.Interaction[Any]) -> discord.Member:
    member = interaction.user
    if interaction.guild is None or not isinstance(member, discord.Member):
        raise app_commands.NoPrivateMessage()
    return member


def ensure_invoker_can_post(
    interaction: discord.Interaction[Any],
    target: discord.abc.GuildChannel | discord.Thread,
    *,
    threads: bool = False,
) -> None:
    """The bot posts in ``target`` on the invoker's behalf only where the invoker could post
    themselves: their own View Channel and Send Messages there (Send Messages in Threads for a
    thread), plus Create Public Threads when the bot will start a thread (``threads``). The bot's
    own rights are no licence: an organiser must not reach a channel they were kept out of."""
    perms = target.permissions_for(_invoker(interaction))
    missing = []
    if not perms.view_channel:
        missing.append("View Channel")
    if isinstance(target, discord.Thread):
        if not perms.send_messages_in_threads:
            missing.append("Send Messages in Threads")
    elif not perms.send_messages:
        missing.append("Send Messages")
    if threads and not perms.create_public_threads:
        missing.append("Create Public Threads")
    if missing:
        raise NotAllowed(
            "I only post where you could post yourself, and in {channel} you don't have "
            "{missing}. Please choose another channel, or ask a server admin.",
            channel=target.mention,
            missing=" and ".join(missing),
        )


def ensure_invoker_can_see(
    interaction: discord.Interaction[Any], target: discord.abc.GuildChannel
) -> None:
    """A channel the bot only points members to (a voice channel for an event) must at least be
    one the invoker can see."""
    if not target.permissions_for(_invoker(interaction)).view_channel:
        raise NotAllowed(
            "You can't see {channel} yourself, so I won't point members to it. Please choose "
            "another channel.",
            channel=target.mention,
        )


# Permissions a role the bot hands out must never carry (issue: role escalation). A member who
# could have the bot give them such a role could take over the server.
DANGEROUS_PERMISSIONS = (
    "administrator",
    "manage_guild",
    "manage_roles",
    "manage_channels",
    "manage_webhooks",
    "ban_members",
    "kick_members",
    "moderate_members",
    "mention_everyone",
    "manage_messages",
)


def dangerous_permissions(role: discord.Role) -> list[str]:
    """The dangerous permissions ``role`` carries (none: it may be handed out)."""
    return [name for name in DANGEROUS_PERMISSIONS if getattr(role.permissions, name, False)]


def role_grant_refusal(chooser: discord.Member | None, role: discord.Role | None) -> str | None:
    """Why the bot must not hand out ``role`` on behalf of ``chooser`` (None: it may).

    The one rule for every role the bot gives: a real, unmanaged role with no dangerous
    permission, chosen by a member who could give it themselves (Manage Roles, and the role
    below their highest role), or by the server's owner. Checked when the role is chosen and
    again just before every grant, since roles and members change.
    """
    if role is None:
        return "That role no longer exists."
    if role.is_default():
        return "Please choose a real role, not @everyone."
    if role.managed:
        return f"{role.name} is managed by an integration, so I can't give it."
    bad = dangerous_permissions(role)
    if bad:
        words = ", ".join(name.replace("_", " ").title() for name in bad)
        return (
            f"{role.name} carries permissions I must never hand out ({words}). Please choose a "
            "role without them, or remove them from this role in Server Settings → Roles."
        )
    if chooser is None:
        return (
            f"The organiser who chose {role.name} is no longer in the server, so I won't give it. "
            "An organiser with Manage Roles can choose it again."
        )
    if chooser.guild.owner_id == chooser.id:
        return None
    if not chooser.guild_permissions.manage_roles:
        return (
            f"Giving {role.name} needs an organiser who has the Manage Roles permission themselves."
        )
    if role >= chooser.top_role:
        return (
            f"{role.name} is not below {chooser.display_name}'s highest role, so I won't give it "
            "on their behalf."
        )
    return None
