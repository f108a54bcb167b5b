"""The /meeting commands."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.checks import ensure_invoker_can_post, ensure_invoker_can_see, ensure_organiser
from bot.clock import from_unix
from bot.domain.errors import InvalidInput
from bot.domain.feedback.rules import local_time_text
from bot.domain.jobs import Job
from bot.domain.meetings.models import CreatedMeeting, Meeting, meeting_calendar
from bot.domain.meetings.polls import POLL_JOB, MeetingPollService
from bot.domain.meetings.service import REMIND_JOB, MeetingService
from bot.domain.meetings.texts import CANCELLED, POLL_POST, POST
from bot.guild import create_event, role_members
from bot.notify import NO_MENTIONS, send_dm, send_mentioning, transient
from bot.options import NumberTransformer
from bot.render import clip, ts, when
from bot.scheduling import RetryLater
from bot.timeparse import format_duration
from cogs._calendar import calendar_file
from cogs.calls.cog import CallOption
from cogs.meetings.messenger import DiscordMeetingReminders
from cogs.meetings.render import option_label, poll_question, poll_result
from cogs.meetings.views import (
    MeetingDmButton,
    PickTimeButton,
    meeting_view,
    post_link,
    where_text,
)

if TYPE_CHECKING:
    from bot.client import CoproBot

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class MeetingChoice:
    """One autocomplete choice: a meeting's number and its label in the server's time zone."""

    number: int
    label: str


async def search_meetings(bot: CoproBot, guild_id: int, text: str) -> list[MeetingChoice]:
    tz = await bot.services.settings.timezone(guild_id)
    return [
        MeetingChoice(
            m.number, f"#{m.number} {m.title} ({m.status}, {local_time_text(m.starts_at, tz)})"
        )
        for m in await bot.services.meetings.search(guild_id, text)
    ]


MeetingOption = app_commands.Transform[
    int, NumberTransformer(search_meetings, lambda bot, choice: choice.label)
]


"""A meeting chosen by number, with autocomplete of this server's meetings (times shown in the
server's time zone, with the zone named)."""


@app_commands.guild_only()
@app_commands.default_permissions(manage_events=True)
class MeetingsCog(commands.GroupCog, group_name="meeting", group_description="Group meetings"):
    """Organiser commands for meetings; members can ask for reminders by DM."""

    def __init__(self, bot: CoproBot) -> None:
        self.bot = bot
        self.service: MeetingService = bot.services.meetings
        self.polls: MeetingPollService = bot.services.meeting_polls
        self.reminders = DiscordMeetingReminders(bot)

    async def cog_load(self) -> None:
        self.bot.jobs.register(REMIND_JOB, self.run_reminder_job)
        self.bot.jobs.register(POLL_JOB, self.run_poll_job)
        self.bot.add_dynamic_items(MeetingDmButton, PickTimeButton)

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(MeetingDmButton, PickTimeButton)

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        return await ensure_organiser(interaction)

    @app_commands.command(name="create")
    @app_commands.describe(
        title="What the meeting is, e.g. 'Group meeting 1: why we joined'",
        starts="When it starts, e.g. '2026-12-03 14:00' or 'tomorrow 14:00'",
        duration="How long, e.g. '1h' or '90m' (default 1h)",
        call="A call: its drawn group is invited",
        role="A role: its members are invited (with or without a call)",
        where="Where it happens: a place or a video link",
        voice="Or a voice channel in this server",
        channel="Where to post the meeting and its reminders (default: here)",
        reminders="Reminders before the start, e.g. '24h, 1h' (the default)",
    )
    async def create(
        self,
        interaction: discord.Interaction,
        title: str,
        starts: str,
        duration: str | None = None,
        call: CallOption | None = None,
        role: discord.Role | None = None,
        where: str | None = None,
        voice: discord.VoiceChannel | discord.StageChannel | None = None,
        channel: discord.TextChannel | None = None,
        reminders: str | None = None,
    ) -> None:
        """Plan a group meeting: a post, a server event and reminders."""
        guild = interaction.guild
        assert guild is not None
        target = channel or interaction.channel
        if not isinstance(target, discord.TextChannel | discord.Thread):
            raise InvalidInput("Please pick a text channel for the meeting post.")
        if where and voice is not None:
            raise InvalidInput("Please give either `where` or `voice`, not both.")
        ensure_invoker_can_post(interaction, target)
        if voice is not None:
            ensure_invoker_can_see(interaction, voice)
        members = role_members(role)
        made = await self.service.create(
            guild_id=guild.id,
            author_id=interaction.user.id,
            title=title,
            starts=starts,
            channel_id=target.id,
            duration=duration,
            call_number=call,
            role_id=role.id if role else None,
            role_member_ids=members,
            where=where,
            voice_channel_id=voice.id if voice else None,
            reminders=reminders,
            tz=await self.bot.services.settings.timezone(guild.id),
        )
        await interaction.response.defer(ephemeral=True, thinking=True)
        text = await self._post_meeting(guild, target, made, voice)
        await interaction.followup.send(text, ephemeral=True)

    async def _post_meeting(
        self,
        guild: discord.Guild,
        target: discord.abc.Messageable,
        made: CreatedMeeting,
        voice: discord.VoiceChannel | discord.StageChannel | None = None,
    ) -> str:
        """Post the meeting mentioning its audience and make its server event; the note for the
        organiser. No post, no meeting: a failure discards it."""
        meeting = made.meeting

        async def render(mentions: str) -> str:
            return await self.bot.services.wording.render(
                guild.id,
                POST,
                mentions=mentions,
                title=meeting.title,
                starts=when(meeting.starts_at),
                ends=ts(meeting.ends_at, "t"),
                duration=format_duration(from_unix(meeting.ends_at) - from_unix(meeting.starts_at)),
                where=where_text(meeting),
            )

        try:
            message = await send_mentioning(
                target,
                render,
                made.audience,
                view=meeting_view(meeting.id, here=meeting.voice_channel_id is None),
                file=calendar_file(meeting_calendar(meeting), self.bot.clock.now()),
            )
        except discord.HTTPException:
            await self.service.discard(meeting.id)
            where = getattr(target, "mention", "that channel")
            raise InvalidInput(
                f"I can't post in {where}. Please give me View Channel and Send Messages "
                "there, or choose another channel."
            ) from None
        except BaseException:
            # Any other failure (a stop, a bug): no post, so no meeting, reminders or audit row.
            await self.service.discard(meeting.id)
            raise
        await self.service.attach_post(meeting.id, message.channel.id, message.id)
        if voice is not None:  # who is connected already counts from now
            await self.bot.services.attendance.pick_up(
                guild.id, voice.id, [m.id for m in voice.members if not m.bot]
            )
        meeting = await self.service.get_by_id(meeting.id) or meeting
        event_note = await self._create_event(guild, meeting, voice, message.jump_url)
        kept = ", ".join(format_duration(r) for r in made.reminders) or "none"
        return (
            f"Meeting #{meeting.number} is posted for {len(made.audience)} people: "
            f"{message.jump_url}\nReminders before the start: {kept}.{event_note}"
        )

    # -- time polls -----------------------------------------------------------------------------

    @app_commands.command(name="poll")
    @app_commands.describe(
        title="What the meeting is, e.g. 'Group meeting 1'",
        options="2 to 10 times separated by ';', e.g. '2027-01-12 18:00; 2027-01-14 12:00'",
        call="A call: its drawn group is asked",
        role="A role: its members are asked",
        closes="When the poll closes, e.g. 'in 2 days' (default 48 hours)",
        duration="How long the meeting lasts, e.g. '1h' (default 1h)",
        channel="Where to post the poll (default: here)",
    )
    async def poll(
        self,
        interaction: discord.Interaction,
        title: str,
        options: str,
        call: CallOption | None = None,
        role: discord.Role | None = None,
        closes: str | None = None,
        duration: str | None = None,
        channel: discord.TextChannel | None = None,
    ) -> None:
        """Ask the group which times suit them with a Discord poll, then make the meeting."""
        guild = interaction.guild
        assert guild is not None
        target = channel or interaction.channel
        if not isinstance(target, discord.TextChannel | discord.Thread):
            raise InvalidInput("Please pick a text channel for the poll.")
        tz = await self.bot.services.settings.timezone(guild.id)
        made, audience = await self.polls.create(
            guild_id=guild.id,
            author_id=interaction.user.id,
            title=title,
            options=options,
            channel_id=target.id,
            tz=tz,
            duration=duration,
            closes=closes,
            call_number=call,
            role_id=role.id if role else None,
            role_member_ids=role_members(role),
        )
        await interaction.response.defer(ephemeral=True, thinking=True)
        question = discord.Poll(
            question=poll_question(made.title, tz),
            duration=timedelta(seconds=round(made.closes_at - made.created_at)),
            multiple=True,
        )
        for at in made.options:
            question.add_answer(text=option_label(at, tz))

        async def render(mentions: str) -> str:
            return await self.bot.services.wording.render(
                guild.id,
                POLL_POST,
                title=made.title,
                closes=ts(made.closes_at, "R"),
                mentions=mentions,
            )

        try:
            message = await send_mentioning(target, render, audience, poll=question)
        except discord.HTTPException:
            await self.polls.discard(made.id)
            raise InvalidInput(
                f"I can't post a poll in {target.mention}. Please give me View Channel, Send "
                "Messages and Create Polls there, or choose another channel."
            ) from None
        await self.polls.attach_message(made.id, message.id)
        await interaction.followup.send(
            f"The poll is posted for {len(audience)} people: {message.jump_url}\nIt closes "
            f"{ts(made.closes_at, 'R')}; then I'll send you who can come at each time, with a "
            "button to make the meeting.",
            ephemeral=True,
        )

    async def run_poll_job(self, job: Job) -> None:
        """When the poll closes: end it if Discord hasn't yet, count who can come at each time,
        and send the organiser the result with a button per time."""
        found = await self.polls.get(int(job.payload["poll_id"]))
        if found is None or found.status == "decided" or found.message_id is None:
            return
        channel = self.bot.get_partial_messageable(found.channel_id, guild_id=found.guild_id)
        closed = found
        if found.status == "open":
            try:
                message = await channel.fetch_message(found.message_id)
                ask = message.poll
                if ask is None:
                    return
                if not ask.is_finalised():
                    await ask.end()
                voters: list[list[int]] = []
                for answer in ask.answers:
                    voters.append([u.id async for u in answer.voters() if not u.bot])
            except (discord.NotFound, discord.Forbidden):
                log.warning("meeting poll %s: its message is gone or unreadable", found.id)
                return
            except discord.HTTPException as exc:
                if transient(exc):
                    raise RetryLater(f"Discord said {exc.status} while closing a poll") from exc
                raise
            # Counted once; if sending the result fails below, the job's retry sends it again
            # from the recorded count (the nonce stops Discord showing it twice).
            closed = await self.polls.record_results(found.id, voters) or found
        tz = await self.bot.services.settings.timezone(found.guild_id)
        buttons: list[discord.ui.Item[Any]] = [
            PickTimeButton(closed.id, i) for i in range(len(closed.options))
        ]
        nonce = f"meeting-poll-{closed.id}"
        try:
            sent = await send_dm(
                self.bot, closed.created_by, view=poll_result(closed, tz, buttons), nonce=nonce
            )
            if sent is None:  # DMs closed: in the poll's channel, only its organiser's buttons
                await channel.send(
                    view=poll_result(closed, tz, buttons),
                    allowed_mentions=NO_MENTIONS,
                    nonce=nonce,
                )
        except discord.HTTPException as exc:
            if transient(exc):
                raise RetryLater(f"Discord said {exc.status} to a poll result") from exc
            raise

    async def pick_time(self, interaction: discord.Interaction, poll_id: int, index: int) -> None:
        found = await self.polls.get(poll_id)
        assert found is not None  # checked by the button's guard
        guild = self.bot.get_guild(found.guild_id)
        if guild is None:
            raise InvalidInput("I can't see the poll's server any more.")
        role = guild.get_role(found.role_id) if found.role_id else None
        await interaction.response.defer(ephemeral=interaction.guild_id is not None, thinking=True)
        made = await self.polls.decide(
            poll_id,
            index,
            actor_id=interaction.user.id,
            tz=await self.bot.services.settings.timezone(found.guild_id),
            role_member_ids=role_members(role),
        )
        target = self.bot.get_partial_messageable(found.channel_id, guild_id=found.guild_id)
        text = await self._post_meeting(guild, target, made)
        await interaction.followup.send(text)

    async def _create_event(
        self,
        guild: discord.Guild,
        meeting: Meeting,
        voice: discord.VoiceChannel | discord.StageChannel | None,
        link: str,
    ) -> str:
        """Make the matching scheduled event; a note for the organiser if it could not be made."""
        return await create_event(
            guild,
            what="meeting",
            item_id=meeting.id,
            title=meeting.title,
            starts_at=meeting.starts_at,
            ends_at=meeting.ends_at,
            description=f"Meeting #{meeting.number}. Details: {link}",
            voice=voice,
            location=meeting.location or link,
            works_without="The meeting and its reminders work without it; give me that "
            "permission to get events for the next meetings.",
            save=lambda event_id: self.service.set_event(meeting.id, event_id),
        )

    @app_commands.command(name="list")
    async def list_meetings(self, interaction: discord.Interaction) -> None:
        """Upcoming meetings in this server."""
        assert interaction.guild_id is not None
        found = await self.service.upcoming(interaction.guild_id)
        if not found:
            await interaction.response.send_message(
                "There are no upcoming meetings. Plan one with `/meeting create`.", ephemeral=True
            )
            return
        lines = [
            f"**#{m.number}** {clip(m.title, 80)}: {when(m.starts_at)}, "
            f"{format_duration(from_unix(m.ends_at) - from_unix(m.starts_at))}, "
            f"{where_text(m)}" + (f" ({post_link(m)})" if m.message_id else "")
            for m in found
        ]
        await interaction.response.send_message(
            clip("\n".join(lines), 2000), ephemeral=True, allowed_mentions=NO_MENTIONS
        )

    @app_commands.command(name="cancel")
    @app_commands.describe(meeting="The meeting's number")
    async def cancel(self, interaction: discord.Interaction, meeting: MeetingOption) -> None:
        """Cancel a meeting: tell its members, remove the event, stop reminders."""
        guild = interaction.guild
        assert guild is not None
        cancelled, audience = await self.service.cancel(guild.id, meeting, interaction.user.id)
        await interaction.response.defer(ephemeral=True, thinking=True)
        notes: list[str] = []
        channel = self.bot.get_partial_messageable(cancelled.channel_id, guild_id=guild.id)

        async def render(mentions: str) -> str:
            return await self.bot.services.wording.render(
                guild.id,
                CANCELLED,
                mentions=mentions,
                title=cancelled.title,
                starts=when(cancelled.starts_at),
            )

        # With a cancellation calendar file (METHOD:CANCEL, same UID, higher SEQUENCE), so anyone
        # who added the meeting to their calendar can remove it.
        ics = calendar_file(meeting_calendar(cancelled), self.bot.clock.now())
        try:
            await send_mentioning(channel, render, audience, file=ics)
        except discord.HTTPException:
            notes.append("I couldn't post the cancellation in the meeting's channel.")
        if cancelled.message_id is not None:
            try:
                await channel.get_partial_message(cancelled.message_id).edit(
                    content=clip(
                        f"**Cancelled.** ~~{cancelled.title}~~ on {when(cancelled.starts_at)}", 2000
                    ),
                    view=None,
                    allowed_mentions=NO_MENTIONS,
                )
            except discord.HTTPException:
                log.info("could not mark meeting %s's post as cancelled", cancelled.id)
        if cancelled.event_id is not None:
            try:
                event = await guild.fetch_scheduled_event(cancelled.event_id)
                await event.delete(reason=f"Meeting #{cancelled.number} cancelled")
            except discord.NotFound:
                pass
            except discord.HTTPException:
                notes.append("I couldn't remove the server event; please delete it by hand.")
        await interaction.followup.send(
            " ".join(
                [
                    f"Meeting #{cancelled.number} is cancelled and its members are told; "
                    "no reminders will be sent.",
                    *notes,
                ]
            ),
            ephemeral=True,
        )

    async def run_reminder_job(self, job: Job) -> None:
        await self.service.handle_reminder_job(job, self.reminders)
