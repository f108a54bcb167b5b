"""Members' own calendar and time zone: /calendar and /my-timezone (for everyone)."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.domain.meetings.models import meeting_calendar
from bot.domain.sessions.jobs import session_calendar
from bot.ics import calendar_ics, entry_event
from bot.timeparse import zone_names
from cogs._calendar import local_time_text

if TYPE_CHECKING:
    from bot.client import CoproBot


class CalendarCog(commands.Cog):
    """A member's upcoming bookings and meetings as one calendar file; their own time zone."""

    def __init__(self, bot: CoproBot) -> None:
        self.bot = bot

    @app_commands.command(name="calendar")
    @app_commands.guild_only()
    async def calendar(self, interaction: discord.Interaction) -> None:
        """Your upcoming sessions and meetings in this server, as one calendar file (.ics)."""
        assert interaction.guild_id is not None
        services = self.bot.services
        sessions = await services.sessions.booked_by(interaction.guild_id, interaction.user.id)
        meetings = await services.meetings.upcoming_for(interaction.guild_id, interaction.user.id)
        entries = [session_calendar(s) for s in sessions] + [meeting_calendar(m) for m in meetings]
        if not entries:
            await interaction.response.send_message(
                "You have no upcoming sessions or meetings in this server. Book a place on a "
                "session post, and your bookings will be here.",
                ephemeral=True,
            )
            return
        entries.sort(key=lambda e: e.starts_at)
        data = calendar_ics([entry_event(e) for e in entries], stamped_at=self.bot.clock.now())
        lines = [f"Your upcoming sessions and meetings ({len(entries)}), for your calendar app:"]
        lines += [f"- {e.title}: <t:{int(e.starts_at)}:F>" for e in entries[:20]]
        await interaction.response.send_message(
            "\n".join(lines)[:2000],
            ephemeral=True,
            file=discord.File(
                io.BytesIO(data),
                filename="my-calendar.ics",
                description=f"Calendar file with your {len(entries)} upcoming sessions and meetings",
            ),
            allowed_mentions=discord.AllowedMentions.none(),
        )

    @app_commands.command(name="my-timezone")
    @app_commands.guild_only()
    @app_commands.describe(
        name="Your time zone, e.g. Europe/London (leave empty to stop showing it)"
    )
    async def my_timezone(self, interaction: discord.Interaction, name: str | None = None) -> None:
        """Your own time zone: my DMs then give times in it too."""
        assert interaction.guild_id is not None
        zone = await self.bot.services.settings.set_member_timezone(
            interaction.guild_id, interaction.user.id, name
        )
        if zone is None:
            text = "I'll no longer add a time in your own time zone to my messages."
        else:
            now = self.bot.clock.now().timestamp()
            text = (
                f"Your time zone is now {zone}: my messages to you give times in it as well "
                f"(it is {local_time_text(now, zone)} there now)."
            )
        await interaction.response.send_message(text, ephemeral=True)

    @my_timezone.autocomplete("name")
    async def my_timezone_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        needle = current.lower().replace(" ", "_")
        names = [n for n in zone_names() if needle in n.lower()]
        return [app_commands.Choice(name=n, value=n) for n in names[:25]]


async def setup(bot: CoproBot) -> None:
    await bot.add_cog(CalendarCog(bot))
