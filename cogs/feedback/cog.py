"""The /feedback commands and thread listeners."""

from __future__ import annotations

import io
import logging
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.checks import ensure_invoker_can_post, ensure_organiser
from bot.domain.errors import InvalidInput
from bot.domain.feedback.models import FeedbackRound
from bot.domain.feedback.rules import takes_feedback_on_time
from bot.domain.feedback.service import DEADLINE_JOB, REMIND_JOB, FeedbackService
from bot.domain.feedback.texts import CLOSED, COUNTER, INTRO, INTRO_CLOSED, INVITE, REVISED
from bot.domain.jobs import Job
from bot.guild import role_members
from bot.notify import MAX_MESSAGE, NO_MENTIONS, send_mentioning, transient
from bot.notify import mention_groups as mention_groups  # its old home; tests import it here
from bot.options import NumberTransformer
from bot.post_updates import edit_live_post
from bot.render import clip, mention, when
from bot.scheduling import RetryLater
from bot.timeparse import format_duration
from cogs.calls.cog import CallOption
from cogs.feedback.messenger import DiscordNudges
from cogs.feedback.render import round_post
from cogs.feedback.views import GiveFeedbackButton

if TYPE_CHECKING:
    from bot.client import CoproBot

log = logging.getLogger(__name__)


RoundOption = app_commands.Transform[
    int,
    NumberTransformer(
        lambda bot, guild_id, text: bot.services.feedback.search(guild_id, text),
        lambda bot, r: f"#{r.number} {r.title} ({'open' if r.is_open else 'closed'})",
    ),
]


"""A feedback round chosen by number, with autocomplete of this server's rounds."""


@app_commands.guild_only()
@app_commands.default_permissions(manage_events=True)
class FeedbackCog(
    commands.GroupCog, group_name="feedback", group_description="Feedback on a plan, in a thread"
):
    """Organiser commands for feedback rounds; members answer with the button or in the thread."""

    def __init__(self, bot: CoproBot) -> None:
        self.bot = bot
        self.service: FeedbackService = bot.services.feedback
        self.nudges = DiscordNudges(self)
        self._posts_refreshed = False

    async def cog_load(self) -> None:
        self.bot.jobs.register(REMIND_JOB, self.run_reminder_job)
        self.bot.jobs.register(DEADLINE_JOB, self.run_deadline_job)
        self.bot.add_dynamic_items(GiveFeedbackButton)

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(GiveFeedbackButton)

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        return await ensure_organiser(interaction)

    # -- the first message ---------------------------------------------------------------------

    async def render_round(self, found: FeedbackRound) -> discord.ui.LayoutView:
        wording = self.bot.services.wording
        responded, total = await self.service.counter(found.id)
        # Closed, or past its deadline: thank people instead of asking (late comments are kept).
        on_time = takes_feedback_on_time(found.is_open, found.closes_at, self.bot.clock.now())
        intro = await wording.render(
            found.guild_id,
            INTRO if on_time else INTRO_CLOSED,
            title=found.title,
            deadline=when(found.closes_at),
        )
        counter = await wording.render(found.guild_id, COUNTER, responded=responded, total=total)
        return round_post(
            found, intro, counter, on_time=on_time, button=GiveFeedbackButton(found.id)
        )

    async def render_post(self, round_id: int) -> None:
        """Edit the first message: live counter, version, status."""
        found = await self.service.get_by_id(round_id)
        if found is None or found.message_id is None or found.message_channel_id is None:
            return
        message = self.bot.get_partial_messageable(
            found.message_channel_id, guild_id=found.guild_id
        ).get_partial_message(found.message_id)
        post = await self.render_round(found)
        await edit_live_post(self.bot.edit_pacer, found.message_channel_id, message, post)

    def refresh_post(self, round_id: int) -> None:
        """Ask for the first message to be refreshed soon (coalesced; for the live counter)."""

        async def render() -> None:
            await self.render_post(round_id)

        self.bot.posts.request(("feedback", round_id), render)

    @commands.Cog.listener()
    async def on_ready(self) -> None:
        """Once per process: refresh the first message of every open round, so its counter and
        state are current after a restart (an edit queued before a stop may have been lost)."""
        if self._posts_refreshed:
            return
        self._posts_refreshed = True
        guild_ids = {g.id for g in self.bot.guilds}
        for found in await self.service.open_rounds():
            if found.guild_id in guild_ids:
                self.refresh_post(found.id)

    # -- commands ------------------------------------------------------------------------------

    @app_commands.command(name="open")
    @app_commands.describe(
        title="What the feedback is on, e.g. 'LinkedIn session plan'",
        plan="The plan's text or a link. Write \\n for a new line, or attach a file (attachment)",
        call="A call: its drawn group and the reviewers who accepted are asked",
        role="A role: its members are asked (with or without a call)",
        closes="Deadline, e.g. '2026-12-03 17:00' or 'in 5 days' (default: in 7 days)",
        channel="Text channel for the thread, or a forum channel (default: here)",
        reminders="Reminders before the deadline, e.g. '48h, 24h, 2h' (default 24h)",
        attachment="A file with the plan (optional), posted first in the thread",
    )
    async def open(
        self,
        interaction: discord.Interaction,
        title: str,
        plan: str,
        call: CallOption | None = None,
        role: discord.Role | None = None,
        closes: str | None = None,
        channel: discord.TextChannel | discord.ForumChannel | None = None,
        reminders: str | None = None,
        attachment: discord.Attachment | None = None,
    ) -> None:
        """Open a feedback round on a plan, in a new thread."""
        assert interaction.guild is not None
        target = channel or interaction.channel
        if not isinstance(target, discord.TextChannel | discord.ForumChannel):
            raise InvalidInput("Please pick a text channel or a forum channel for the thread.")
        ensure_invoker_can_post(
            interaction, target, threads=not isinstance(target, discord.ForumChannel)
        )
        members = role_members(role)
        opened = await self.service.open(
            guild_id=interaction.guild.id,
            author_id=interaction.user.id,
            title=title,
            plan=plan,
            channel_id=target.id,
            call_number=call,
            role_id=role.id if role else None,
            role_member_ids=members,
            closes=closes,
            reminders=reminders,
            tz=await self.bot.services.settings.timezone(interaction.guild.id),
        )
        found = opened.round
        await interaction.response.defer(ephemeral=True, thinking=True)
        name = clip(f"Feedback #{found.number}: {found.title}", 100)
        try:
            post = await self.render_round(found)
            if isinstance(target, discord.ForumChannel):
                made = await target.create_thread(
                    name=name, view=post, allowed_mentions=NO_MENTIONS
                )
                thread, first = made.thread, made.message
            else:
                first = await target.send(view=post, allowed_mentions=NO_MENTIONS)
                thread = await first.create_thread(name=name, auto_archive_duration=10080)
            if attachment is not None:  # the plan as a file, first in the thread
                await thread.send(
                    f"The plan for **{clip(found.title, 100)}** as a file:",
                    file=await attachment.to_file(),
                    allowed_mentions=NO_MENTIONS,
                )
        except discord.HTTPException as exc:
            await self.service.discard(found.id)
            raise InvalidInput(
                f"I couldn't start the thread in {target.mention}. Please give me View Channel, "
                "Send Messages, Create Public Threads, Send Messages in Threads and Embed Links "
                f"there, or choose another channel. (Discord said: {exc.status})"
            ) from None
        except BaseException:
            await self.service.discard(found.id)  # no thread, so no round, reminders or audit
            raise
        await self.service.attach_thread(found.id, thread.id, first.channel.id, first.id)
        await self.service.schedule_deadline_refresh(found)

        async def invite(mentions: str) -> str:
            return await self.bot.services.wording.render(
                found.guild_id,
                INVITE,
                mentions=mentions,
                title=found.title,
                deadline=when(found.closes_at),
            )

        note = ""
        try:
            await send_mentioning(thread, invite, opened.audience)
        except discord.HTTPException:
            log.warning("could not mention the audience in thread %s", thread.id, exc_info=True)
            note = "\nI couldn't mention everyone in the thread; please check my permissions there."
        plan_reminders = ", ".join(format_duration(r) for r in opened.reminders) or "none"
        await interaction.followup.send(
            f"Feedback round #{found.number} is open for {len(opened.audience)} people: "
            f"{thread.jump_url}\nReminders before the deadline: {plan_reminders}.{note}",
            ephemeral=True,
        )

    @app_commands.command(name="status")
    @app_commands.describe(round="The round's number")
    async def status(self, interaction: discord.Interaction, round: RoundOption) -> None:
        """Who has given feedback and who hasn't yet."""
        assert interaction.guild_id is not None
        state = await self.service.status(interaction.guild_id, round)
        found = state.round
        late = set(state.late)
        responded = [
            f"{mention(r.user_id)}{' (late)' if r.user_id in late else ''}" for r in state.responded
        ]
        lines = [
            f"**Feedback round #{found.number}: {clip(found.title, 80)}** "
            f"({'open' if found.is_open else 'closed'}, deadline {when(found.closes_at)}, "
            f"version {found.version})",
            f"**{len(state.responded)} of {len(state.audience)}** have given feedback"
            + (f", {len(late)} of them after the deadline." if late else "."),
            "",
            f"**Responded ({len(state.responded)}):** " + (" ".join(responded) or "nobody yet"),
            f"**Not yet ({len(state.waiting)}):** "
            + (" ".join(mention(u) for u in state.waiting) or "nobody: everyone has answered"),
        ]
        await interaction.response.send_message(
            clip("\n".join(lines), MAX_MESSAGE), ephemeral=True, allowed_mentions=NO_MENTIONS
        )

    @app_commands.command(name="summary")
    @app_commands.describe(round="The round's number")
    async def summary(self, interaction: discord.Interaction, round: RoundOption) -> None:
        """All feedback, grouped by question and member, as a Markdown file."""
        guild = interaction.guild
        assert guild is not None
        await interaction.response.defer(ephemeral=True, thinking=True)  # before any DB work

        def name_of(user_id: int) -> str | None:
            member = guild.get_member(user_id)
            return member.display_name if member else None

        tz = await self.bot.services.settings.timezone(guild.id)
        found, text = await self.service.summary(guild.id, round, name_of, tz=tz)
        file = discord.File(
            io.BytesIO(text.encode("utf-8")), filename=f"feedback-{found.number}-summary.md"
        )
        await interaction.followup.send(
            f"All feedback on round #{found.number} ({clip(found.title, 80)}).",
            file=file,
            ephemeral=True,
            allowed_mentions=NO_MENTIONS,
        )

    @app_commands.command(name="revise")
    @app_commands.describe(
        round="The round's number",
        plan="The new plan's text or a link. Write \\n for a new line",
        changes="What changed (a 'You said, we did' list): separate items with ';' or \\n",
    )
    async def revise(
        self,
        interaction: discord.Interaction,
        round: RoundOption,
        plan: str,
        changes: str | None = None,
    ) -> None:
        """Post a new version of the plan and tell everyone who gave feedback."""
        assert interaction.guild_id is not None
        revision = await self.service.revise(
            interaction.guild_id, round, interaction.user.id, plan, changes
        )
        found = revision.round
        await interaction.response.defer(ephemeral=True, thinking=True)
        embed = discord.Embed(
            title=clip(f"Version {revision.version}: {found.title}", 256),
            description=clip(found.plan, 4096),
            colour=discord.Colour.green(),
        )
        if revision.changes:
            embed.add_field(
                name="You said, we did",
                value=clip("\n".join(f"• {c}" for c in revision.changes), 1024),
                inline=False,
            )

        async def revised(mentions: str) -> str:
            return await self.bot.services.wording.render(
                found.guild_id,
                REVISED,
                mentions=mentions,
                title=found.title,
                version=revision.version,
            )

        note = ""
        if found.thread_id is not None:
            thread = self.bot.get_partial_messageable(found.thread_id, guild_id=found.guild_id)
            try:
                await send_mentioning(thread, revised, revision.respondents, embed=embed)
            except discord.HTTPException as exc:
                note = f"\nI couldn't post in the thread (Discord said {exc.status}); please check my permissions."
        self.refresh_post(found.id)
        await interaction.followup.send(
            f"Version {revision.version} of round #{found.number} is posted; "
            f"{len(revision.respondents)} people who gave feedback were told.{note}",
            ephemeral=True,
        )

    @app_commands.command(name="close")
    @app_commands.describe(round="The round's number")
    async def close(self, interaction: discord.Interaction, round: RoundOption) -> None:
        """Close a round early: no more reminders."""
        assert interaction.guild_id is not None
        found = await self.service.close(interaction.guild_id, round, interaction.user.id)
        await interaction.response.defer(ephemeral=True, thinking=True)
        if found.thread_id is not None:
            text = await self.bot.services.wording.render(found.guild_id, CLOSED)
            thread = self.bot.get_partial_messageable(found.thread_id, guild_id=found.guild_id)
            try:
                await thread.send(text, allowed_mentions=NO_MENTIONS)
            except discord.HTTPException:
                log.warning("could not say round %s is closed in its thread", found.id)
        self.refresh_post(found.id)
        await interaction.followup.send(
            f"Feedback round #{found.number} is closed; no more reminders will be sent. "
            "Feedback that still arrives is kept, marked late.",
            ephemeral=True,
        )

    # -- members writing in the thread ---------------------------------------------------------

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        if (
            message.guild is None
            or message.author.bot
            or not isinstance(message.channel, discord.Thread)
        ):
            return
        if not await self.service.is_feedback_thread(message.channel.id):
            return
        content = message.content
        if message.attachments:
            content += "\n" + "\n".join(a.url for a in message.attachments)
        result = await self.service.record_message(
            message.channel.id, message.author.id, message.id, content
        )
        if result is not None and result[1].new:
            self.refresh_post(result[0].id)

    @commands.Cog.listener()
    async def on_raw_message_edit(self, payload: discord.RawMessageUpdateEvent) -> None:
        """Raw, so an edit counts whether or not the message is in discord.py's cache."""
        if payload.guild_id is None or "content" not in payload.data:
            return
        message = payload.message
        content = message.content
        if message.attachments:
            content += "\n" + "\n".join(a.url for a in message.attachments)
        await self.service.message_edited(payload.channel_id, payload.message_id, content)

    @commands.Cog.listener()
    async def on_raw_message_delete(self, payload: discord.RawMessageDeleteEvent) -> None:
        """A member who deletes their message in the thread takes it back: it is not kept."""
        if payload.guild_id is None:
            return
        found = await self.service.messages_deleted(payload.channel_id, [payload.message_id])
        if found is not None:
            self.refresh_post(found.id)

    @commands.Cog.listener()
    async def on_raw_bulk_message_delete(self, payload: discord.RawBulkMessageDeleteEvent) -> None:
        if payload.guild_id is None:
            return
        found = await self.service.messages_deleted(payload.channel_id, list(payload.message_ids))
        if found is not None:
            self.refresh_post(found.id)

    # -- timed work ----------------------------------------------------------------------------

    async def run_reminder_job(self, job: Job) -> None:
        await self.service.handle_reminder_job(job, self.nudges)

    async def run_deadline_job(self, job: Job) -> None:
        """At the deadline the first message stops asking and thanks (done only once edited)."""
        round_id = int(job.payload["round_id"])
        try:
            await self.render_post(round_id)
        except discord.NotFound:
            log.info("feedback round %s: its first message is gone", round_id)
        except discord.HTTPException as exc:
            if transient(exc):
                raise RetryLater(f"Discord {exc.status} while editing round {round_id}") from exc
            log.warning("feedback round %s: could not edit its first message: %s", round_id, exc)
