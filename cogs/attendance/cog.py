"""/attendance show and edit (organisers), and voice time recorded as members come and go."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Literal

import discord
from discord import app_commands
from discord.ext import commands

from bot.checks import ensure_organiser
from bot.domain.attendance.models import Attendance, EventKind, Source
from bot.notify import NO_MENTIONS
from bot.render import fit_message, mention
from cogs.attendance.views import HereButton

if TYPE_CHECKING:
    from bot.client import CoproBot

log = logging.getLogger(__name__)

Kind = Literal["meeting", "session"]

_SOURCE = {
    Source.VOICE: "voice",
    Source.ORGANISER: "marked by an organiser",
    Source.MEMBER: "pressed I'm here",
    Source.NONE: "",
}


def attendance_text(result: Attendance) -> str:
    event = result.event
    head = f"**{event.kind.value.capitalize()} #{event.number}: {event.title}**"
    if not result.known:
        return (
            f"{head}\nNo attendance recorded yet: {len(event.expected)} expected. Record it with "
            "`/attendance edit`, or members press **I'm here** while it is on."
        )
    lines = [
        head,
        f"Expected {len(event.expected)}, attended {len(result.attended)}, "
        f"no-shows {len(result.no_shows)}.",
    ]
    for line in result.lines:
        if line.present:
            how = _SOURCE[line.source]
            extra = "" if line.expected else " (not on the list)"
            lines.append(f"- {mention(line.user_id)}: {line.minutes} min ({how}){extra}")
        else:
            lines.append(f"- {mention(line.user_id)}: did not come")
    text, _ = fit_message("\n".join(lines), "\n(more not shown)")
    return text


@app_commands.guild_only()
@app_commands.default_permissions(manage_events=True)
class AttendanceCog(
    commands.GroupCog, group_name="attendance", group_description="Who came, and for how long"
):
    """Organisers see and correct attendance; voice time is recorded by itself."""

    def __init__(self, bot: CoproBot) -> None:
        self.bot = bot
        self.service = bot.services.attendance

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(HereButton)

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(HereButton)

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        return await ensure_organiser(interaction)

    # -- voice ----------------------------------------------------------------------------------

    @commands.Cog.listener()
    async def on_voice_state_update(
        self, member: discord.Member, before: discord.VoiceState, after: discord.VoiceState
    ) -> None:
        # discord.py updates these objects in place on a later event: read the ids first.
        was = before.channel.id if before.channel else None
        now = after.channel.id if after.channel else None
        if was == now or member.bot:
            return
        try:
            await self.service.voice_moved(member.guild.id, member.id, was, now)
        except Exception:
            log.exception("could not record a voice change in guild %s", member.guild.id)

    @commands.Cog.listener()
    async def on_ready(self) -> None:
        """Presence already in voice channels at start is picked up (restarts lose nothing)."""
        for guild in self.bot.guilds:
            await self.pick_up(guild)

    async def pick_up(self, guild: discord.Guild) -> None:
        try:
            for channel_id in await self.service.channels_to_check(guild.id):
                channel = guild.get_channel(channel_id)
                members = getattr(channel, "members", [])
                present = [m.id for m in members if not m.bot]
                await self.service.pick_up(guild.id, channel_id, present)
        except Exception:
            log.exception("could not pick up voice presence in guild %s", guild.id)

    # -- commands -------------------------------------------------------------------------------

    @app_commands.command(name="show")
    @app_commands.describe(kind="A meeting or a session", number="Its number")
    async def show(
        self,
        interaction: discord.Interaction,
        kind: Kind,
        number: app_commands.Range[int, 1, 1_000_000],
    ) -> None:
        """Who came and for how long: expected, attended, no-shows."""
        assert interaction.guild_id is not None
        result = await self.service.show(EventKind(kind), interaction.guild_id, number)
        await interaction.response.send_message(
            attendance_text(result), ephemeral=True, allowed_mentions=NO_MENTIONS
        )

    @app_commands.command(name="voice")
    @app_commands.describe(
        session="The session's number",
        channel="The voice or stage channel it happens in (leave empty to stop)",
    )
    async def voice(
        self,
        interaction: discord.Interaction,
        session: app_commands.Range[int, 1, 1_000_000],
        channel: discord.VoiceChannel | discord.StageChannel | None = None,
    ) -> None:
        """Count a session's attendance from the time members spend in a voice channel."""
        guild = interaction.guild
        assert guild is not None
        await self.service.set_session_voice(
            guild.id, session, channel.id if channel else None, interaction.user.id
        )
        if channel is not None:  # who is connected already counts from now (if it is on)
            await self.service.pick_up(
                guild.id, channel.id, [m.id for m in channel.members if not m.bot]
            )
        text = (
            f"Session #{session}: time in {channel.mention} now counts as attendance."
            if channel
            else f"Session #{session}: attendance no longer comes from a voice channel."
        )
        await interaction.response.send_message(text, ephemeral=True, allowed_mentions=NO_MENTIONS)

    @app_commands.command(name="edit")
    @app_commands.describe(
        kind="A meeting or a session",
        number="Its number",
        member="Who",
        state="Present or absent",
        minutes="How long they were there (present only; default the whole event)",
    )
    async def edit(
        self,
        interaction: discord.Interaction,
        kind: Kind,
        number: app_commands.Range[int, 1, 1_000_000],
        member: discord.Member,
        state: Literal["present", "absent"],
        minutes: app_commands.Range[int, 0, 1440] | None = None,
    ) -> None:
        """Correct a member's attendance (wins over voice time and I'm here)."""
        assert interaction.guild_id is not None
        event = await self.service.edit(
            EventKind(kind),
            interaction.guild_id,
            number,
            member.id,
            state == "present",
            minutes,
            interaction.user.id,
        )
        how = f" for {minutes} min" if state == "present" and minutes is not None else ""
        await interaction.response.send_message(
            f"{member.mention} is marked {state}{how} for {kind} #{event.number}.",
            ephemeral=True,
            allowed_mentions=NO_MENTIONS,
        )
