"""Approve / Mark paid buttons on the finance list (each for one activity, in bulk)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Self

import discord

from bot.components import GuardedButton, Target
from bot.domain.involvement.models import ActivityTotals
from bot.domain.involvement.rules import money
from bot.domain.involvement.service import counts_as_finance, require_finance
from bot.errors import reply
from bot.render import clip

if TYPE_CHECKING:
    from bot.client import CoproBot


def _bot(interaction: discord.Interaction[Any]) -> CoproBot:
    bot: CoproBot = interaction.client
    return bot


async def member_is_finance(bot: CoproBot, member: discord.Member) -> bool:
    perms = member.guild_permissions
    rates = await bot.services.involvement.rates(member.guild.id)
    return counts_as_finance(
        administrator=perms.administrator,
        manage_guild=perms.manage_guild,
        role_ids=(r.id for r in member.roles),
        finance_role_id=rates.finance_role_id,
    )


async def ensure_finance(interaction: discord.Interaction[Any]) -> None:
    member = interaction.user
    allowed = isinstance(member, discord.Member) and await member_is_finance(
        _bot(interaction), member
    )
    require_finance(allowed)


class LedgerButton(
    GuardedButton,
    template=r"ledger:(?P<action>approve|paid):(?P<kind>meeting|session|feedback):(?P<id>\d+)",
):
    """Approve every owed entry of one activity, or mark every approved one paid."""

    where = "payments button"

    def __init__(self, action: str, source_kind: str, source_id: int, label: str = "") -> None:
        super().__init__(
            discord.ui.Button(
                label=label or ("Approve" if action == "approve" else "Mark paid"),
                style=discord.ButtonStyle.primary
                if action == "approve"
                else discord.ButtonStyle.success,
                custom_id=f"ledger:{action}:{source_kind}:{source_id}",
            )
        )
        self.action = action
        self.source_kind = source_kind
        self.source_id = source_id

    @classmethod
    def from_match(cls, match: re.Match[str]) -> Self:
        return cls(match["action"], match["kind"], int(match["id"]))

    async def target(self, interaction: discord.Interaction[Any]) -> Target:
        guild_id = await _bot(interaction).services.involvement.source_guild(
            self.source_kind, self.source_id
        )
        return Target(guild_id)

    async def act(self, interaction: discord.Interaction[Any]) -> None:
        await ensure_finance(interaction)
        service = _bot(interaction).services.involvement
        assert interaction.guild_id is not None
        change = service.approve if self.action == "approve" else service.mark_paid
        moved = await change(
            interaction.guild_id, self.source_kind, self.source_id, interaction.user.id
        )
        total = sum(e.amount or 0 for e in moved)
        word = "approved" if self.action == "approve" else "marked paid"
        currency = moved[0].currency if moved else ""
        await reply(
            interaction,
            f"{len(moved)} entr{'y' if len(moved) == 1 else 'ies'} {word} "
            f"({money(total, currency)}) for {clip(moved[0].title, 80)}.",
        )


def owed_view(activities: list[ActivityTotals]) -> discord.ui.View:
    """One row per activity (at most five): Approve #n and Mark paid #n."""
    view = discord.ui.View(timeout=None)
    for i, a in enumerate(activities[:5], start=1):
        approve = LedgerButton("approve", a.source_kind, a.source_id, f"Approve {i}")
        paid = LedgerButton("paid", a.source_kind, a.source_id, f"Mark {i} paid")
        approve.item.disabled = not a.owed
        paid.item.disabled = not a.approved
        approve.item.row = paid.item.row = i - 1
        view.add_item(approve)
        view.add_item(paid)
    return view
