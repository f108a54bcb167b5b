"""/report impact: the community's numbers over a period, as Markdown and a chart."""

from __future__ import annotations

import asyncio
import io
import logging
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.chart import bar_chart  # matplotlib loads on first use only
from bot.checks import ensure_organiser
from bot.domain.report.rules import headline_bars
from bot.domain.report.texts import markdown, summary_line

if TYPE_CHECKING:
    from bot.client import CoproBot

log = logging.getLogger(__name__)


@app_commands.guild_only()
@app_commands.default_permissions(manage_events=True)
class ReportCog(commands.GroupCog, group_name="report", group_description="Reports"):
    """Organiser reports (counts only, no names)."""

    def __init__(self, bot: CoproBot) -> None:
        self.bot = bot

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        return await ensure_organiser(interaction)

    @app_commands.command(name="impact")
    @app_commands.describe(
        from_="Start date, e.g. 2026-11-01 (default: everything)",
        to="End date, e.g. 2026-12-31 (default: now)",
    )
    @app_commands.rename(from_="from")
    async def impact(
        self, interaction: discord.Interaction, from_: str | None = None, to: str | None = None
    ) -> None:
        """Calls, draws, feedback, sessions, evaluations and involvement: a file and a chart."""
        guild_id = interaction.guild_id
        assert guild_id is not None
        tz = await self.bot.services.settings.timezone(guild_id)
        since, until = self.bot.services.audit.parse_period(from_, to, tz)
        await interaction.response.defer(ephemeral=True, thinking=True)
        report = await self.bot.services.report.impact(guild_id, since, until)
        files = [
            discord.File(io.BytesIO(markdown(report).encode("utf-8")), filename="impact-report.md")
        ]
        try:
            chart = await asyncio.to_thread(bar_chart, "Impact", headline_bars(report))
            files.append(
                discord.File(
                    io.BytesIO(chart.png), filename=chart.filename, description=chart.alt_text
                )
            )
        except Exception:  # the numbers are in the text and the file all the same
            log.exception("could not draw the impact chart")
        await interaction.followup.send(
            f"**Impact report.** {summary_line(report)}", files=files, ephemeral=True
        )
