"""The audit trail for organisers: every decision, hash-chained, as a CSV."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.checks import ensure_organiser
from bot.domain.audit.export import CSV_COLUMNS, actor_labels, csv_row
from bot.domain.audit.models import AuditRow
from bot.exports import send_export

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
        total = await self.audit.export_size(guild.id, start, end)
        if not total:
            await interaction.followup.send("Nothing was recorded in that period.", ephemeral=True)
            return

        def name_of(user_id: int) -> str | None:
            member = guild.get_member(user_id)
            return member.display_name if member else None

        labels = actor_labels(await self.audit.known_refs(guild.id), name_of)
        edges: list[AuditRow] = []

        async def chunks() -> AsyncIterator[list[AuditRow]]:
            async for chunk in self.audit.export_chunks(guild.id, start, end):
                if not edges:
                    edges.append(chunk[0])
                edges[1:] = [chunk[-1]]
                yield chunk

        def message(rows: int, _parts: int) -> str:
            first, last = edges[0], edges[-1]
            return (
                f"{rows} decisions recorded (rows {first.seq} to {last.seq}). "
                "Each row carries the hash of the row before it; check the file with "
                "`python -m bot.verify_audit FILE` (give every part, in order). Keep the last "
                f"hash (`{last.hash[:16]}…`) to prove later that nothing was rewritten. "
                "Members are shown by a reference, with a name only while they keep their data "
                "here."
            )

        await send_export(
            interaction,
            stem=f"audit-{guild.id}",
            header=CSV_COLUMNS,
            chunks=chunks(),
            convert=lambda rows: [csv_row(r, labels) for r in rows],
            total=total,
            message=message,
        )


async def setup(bot: CoproBot) -> None:
    await bot.add_cog(AuditCog(bot))
