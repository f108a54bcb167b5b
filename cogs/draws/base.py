"""What the parts of the Draws cog share: nonces, the finish report, and the cog's state."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import discord

from bot.checks import dangerous_permissions, role_grant_refusal
from bot.domain.draws.models import ReplaceOutcome

if TYPE_CHECKING:
    from bot.client import CoproBot
    from bot.domain.draws.service import DrawService


log = logging.getLogger(__name__)


def result_nonce(call_id: int) -> str:
    """Discord de-duplicates a second send with the same nonce (enforce_nonce) for a few
    minutes: a crash right after posting does not post the result twice."""
    return f"draw-{call_id}"


def leave_nonce(call_id: int, ref: str) -> str:
    """One "has left the group" post per entry (<= 25 characters, as Discord requires)."""
    head = f"dl{call_id}-"
    return head + ref[: max(4, 25 - len(head))]


@dataclass(slots=True)
class FinishReport:
    posted_now: bool = False
    dms: int = 0
    in_channel: list[int] = field(default_factory=list)
    failed: int = 0
    retry: bool = False  # something failed that may work soon (Discord 429/5xx, network, stop)
    problems: list[str] = field(default_factory=list)
    refused_roles: list[tuple[int, str]] = field(default_factory=list)  # (role id, why)


class DrawsParts:
    """The Draws cog's state and helpers, declared for its parts (freezing, finishing,
    members); :class:`cogs.draws.cog.Draws` joins them."""

    bot: CoproBot
    draws: DrawService
    _locks: dict[int, asyncio.Lock]
    _told_refusals: set[tuple[int, int]]

    async def words(self, guild_id: int | None, tpl: Any, **values: object) -> str:
        return await self.bot.services.wording.render(guild_id, tpl, **values)

    async def _member(self, guild: discord.Guild, user_id: int) -> discord.Member | None:
        member = guild.get_member(user_id)
        if member is not None:
            return member
        try:
            return await guild.fetch_member(user_id)
        except discord.NotFound:
            return None

    def _role_problem(self, guild: discord.Guild | None, role_id: int, number: int) -> str:
        again = f"then run `/draw run call:{number}` again to give the roles."
        if guild is None:
            return f"I couldn't give the role <@&{role_id}>: I can't see the server right now."
        role = guild.get_role(role_id)
        me = guild.me
        if role is None:
            return f"The role I was asked to give (id {role_id}) no longer exists."
        if me is not None and not me.guild_permissions.manage_roles:
            return (
                f"I couldn't give {role.mention}: I need the **Manage Roles** permission. "
                f"In Server Settings → Roles, turn on Manage Roles for my role, {again}"
            )
        if me is not None and role >= me.top_role:
            return (
                f"I couldn't give {role.mention}: it is above my highest role "
                f"({me.top_role.name}). In Server Settings → Roles, drag my role above "
                f"{role.name}, {again}"
            )
        return f"Discord didn't let me give {role.mention}. Please check my permissions, {again}"

    async def _grant_refusal(
        self, guild: discord.Guild, role_id: int, chooser_id: int | None
    ) -> str | None:
        """The role rule (bot.checks.role_grant_refusal), checked again now: the role may have
        gained a dangerous permission, or its chooser lost Manage Roles, since it was chosen."""
        role = guild.get_role(role_id)
        if chooser_id is None:  # chosen before choosers were recorded: the role itself only
            if role is None:
                return "That role no longer exists."
            bad = dangerous_permissions(role)
            return None if not bad else role_grant_refusal(None, role)
        try:
            chooser = await self._member(guild, chooser_id)
        except discord.HTTPException:
            chooser = None
        return role_grant_refusal(chooser, role)

    def _refresh_call_post(self, call_id: int) -> None:
        calls_cog = self.bot.get_cog("Calls")
        refresh = getattr(calls_cog, "refresh_post", None)
        if refresh is not None:
            refresh(call_id)

    # Made by the parts (declared here so each part can ask for the others' work):

    async def finish(self, call_id: int) -> FinishReport:
        raise NotImplementedError  # DrawFinishing

    async def after_replace(self, outcome: ReplaceOutcome) -> list[str]:
        raise NotImplementedError  # DrawFinishing

    async def tell_refused_roles(self, call_id: int, report: FinishReport) -> None:
        raise NotImplementedError  # DrawFinishing
