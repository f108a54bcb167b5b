"""The audit trail for organisers: every decision, hash-chained, as a CSV."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.checks import ensure_organiser
from bot.exports import csv_file
from bot.notify import NO_MENTIONS

if TYPE_CHECKING:
    from bot.client import CoproBot

log = logging.getLogger(__name__)


@app_commands.guild_only()
@app_commands.default_permissions(manage_events=True)
class AuditCog(
    commands.GroupCog, group_name="audit", group_description="The record of every decision"
):
    """Organisers' access to the audit trail."""

    def __init__(self, bot: CoproBot) -> None:
        self.bot = bot
        self.audit = bot.services.audit

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        return await ensure_organiser(interaction)

    @app_commands.command(name="export")
    @app_commands.rename(since="from", until="to")
    @app_commands.describe(
        since="Start of the period, e.g. '2026-11-01' (default: the beginning)",
        until="End of the period, e.g. '2026-11-30' (default: now)",
    )
    async def export(
        self, interaction: discord.Interaction, since: str | None = None, until: str | None = None
    ) -> None:
        """Download the audit trail as a CSV; each row carries the previous row's hash."""
        guild = interaction.guild
        assert guild is not None
        tz = await self.bot.services.settings.timezone(guild.id)
        start, end = self.audit.parse_period(since, until, tz)
        await interaction.response.defer(ephemeral=True, thinking=True)  # a big export takes time
        export = await self.audit.export(guild.id, start, end)
        if not export.rows:
            await interaction.followup.send("Nothing was recorded in that period.", ephemeral=True)
            return

        def name_of(user_id: int) -> str | None:
            member = guild.get_member(user_id)
            return member.display_name if member else None

        first, last = export.rows[0], export.rows[-1]
        file = csv_file(export.csv_rows(name_of), f"audit-{guild.id}-{first.seq}-{last.seq}.csv")
        await interaction.followup.send(
            f"{len(export.rows)} decisions recorded (rows {first.seq} to {last.seq}). "
            "Each row carries the hash of the row before it; check the file with "
            "`python -m bot.verify_audit FILE.csv`. Keep the last hash "
            f"(`{last.hash[:16]}…`) to prove later that nothing was rewritten. "
            "Members are shown by a reference, with a name only while they keep their data here.",
            file=file,
            ephemeral=True,
            allowed_mentions=NO_MENTIONS,
        )


async def setup(bot: CoproBot) -> None:
    await bot.add_cog(AuditCog(bot))
