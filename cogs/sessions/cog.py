"""The /session commands."""

from __future__ import annotations

import asyncio
import io
import logging
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.checks import ensure_invoker_can_post, ensure_invoker_can_see, ensure_organiser
from bot.clock import from_unix
from bot.domain.errors import InvalidInput
from bot.domain.jobs import Job
from bot.domain.sessions.jobs import JOB_KINDS
from bot.domain.sessions.survey import survey_summary_text
from bot.domain.wording.templates import Template
from bot.exports import csv_file
from bot.notify import NO_MENTIONS
from bot.options import NumberTransformer
from bot.post_updates import PostState, edit_live_post, refresh_now
from bot.render import clip, fit_list, fit_message, mention, plain_text, ts
from bot.timeparse import format_duration
from cogs.sessions.events import ServerEvents
from cogs.sessions.members import MemberPresses
from cogs.sessions.messenger import DiscordMessenger
from cogs.sessions.render import (
    evaluation_chart,
    questions_text,
    render_session,
    survey_charts,
)
from cogs.sessions.views import (
    BookButton,
    CancelButton,
    ContinueButton,
    FeedbackButton,
)

if TYPE_CHECKING:
    from bot.client import CoproBot

log = logging.getLogger(__name__)


SessionOption = app_commands.Transform[
    int,
    NumberTransformer(
        lambda bot, guild_id, text: bot.services.sessions.search(guild_id, text),
        lambda bot, s: f"#{s.number} {s.title} ({bot.services.sessions.state_word(s)})",
    ),
]


"""A session chosen by number, with autocomplete of this server's sessions."""


def _utc(seconds: float | None) -> str:
    return from_unix(seconds).isoformat(timespec="seconds") if seconds else ""


@app_commands.guild_only()
@app_commands.default_permissions(manage_events=True)
class Sessions(
    MemberPresses,
    ServerEvents,
    commands.GroupCog,
    group_name="session",
    group_description="Sessions with limited places",
):
    """Organiser commands for sessions; the booking buttons are for everyone."""

    def __init__(self, bot: CoproBot) -> None:
        self.bot = bot
        self.sessions = bot.services.sessions
        self.messenger = DiscordMessenger(self)
        self._posts_refreshed = False

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(BookButton, CancelButton, FeedbackButton, ContinueButton)
        for kind in JOB_KINDS:
            self.bot.jobs.register(kind, self.run_job)

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(BookButton, CancelButton, FeedbackButton, ContinueButton)

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        return await ensure_organiser(interaction)

    async def run_job(self, job: Job) -> None:
        await self.sessions.handle_job(job, self.messenger)

    async def words(self, guild_id: int | None, tpl: Template, **values: object) -> str:
        return await self.bot.services.wording.render(guild_id, tpl, **values)

    async def _tz(self, interaction: discord.Interaction) -> str:
        return await self.bot.services.settings.timezone(interaction.guild_id)

    def _now(self) -> float:
        return self.bot.clock.now().timestamp()

    # -- the post -------------------------------------------------------------------------------

    async def render_post(self, session_id: int) -> None:
        """Edit the session post to show the current places and state."""
        details = await self.sessions.details(session_id)
        s = details.session
        if s.message_id is None:
            return
        state = self.sessions.state_word(s)
        wording = self.bot.services.wording
        message = self.bot.get_partial_messageable(s.channel_id).get_partial_message(s.message_id)
        post = await render_session(wording, details, state, self._now())
        await edit_live_post(self.bot.edit_pacer, s.channel_id, message, post)

    def refresh_post(self, session_id: int) -> None:
        """Ask for the session post to be refreshed soon (coalesced; for live counters)."""

        async def render() -> None:
            await self.render_post(session_id)

        self.bot.posts.request(("session", session_id), render)

    @commands.Cog.listener()
    async def on_ready(self) -> None:
        """Once per process: refresh the posts of sessions whose state may have changed while
        the bot was offline (booking closed, started, finished)."""
        if self._posts_refreshed:
            return
        self._posts_refreshed = True
        guild_ids = {g.id for g in self.bot.guilds}
        for session in await self.sessions.open_posts():
            if session.guild_id in guild_ids:
                self.refresh_post(session.id)

    # -- members' buttons -----------------------------------------------------------------------

    # -- commands -------------------------------------------------------------------------------

    @app_commands.command(name="create")
    @app_commands.rename(repeat_of="repeat-of")
    @app_commands.describe(
        title="What the session is, e.g. 'LinkedIn: an introduction'",
        topic="What it is about, for the survey: 'How much have you used <topic> before?'",
        starts="When it starts, e.g. '2026-12-03 14:00' or 'in 2 days'",
        capacity="How many places, e.g. 22",
        duration="How long it lasts, e.g. '90m' or '1h30m' (default 1h)",
        description="More about the session (optional)",
        closes="When booking closes (default: at the start)",
        channel="Where to post the session (default: here)",
        reminders="Reminders before the start, e.g. '24h, 1h' (the default), or 'none'",
        repeat_of="The earlier session this repeats: its waiting list may book first",
        priority="How long the earlier waiting list may book first (default 48h)",
        voice="A voice channel where it happens (optional; used for the server event)",
    )
    async def create(
        self,
        interaction: discord.Interaction,
        title: str,
        starts: str,
        capacity: str,
        duration: str | None = None,
        description: str | None = None,
        closes: str | None = None,
        channel: discord.TextChannel | None = None,
        reminders: str | None = None,
        repeat_of: SessionOption | None = None,
        priority: str | None = None,
        voice: discord.VoiceChannel | discord.StageChannel | None = None,
        topic: str | None = None,
    ) -> None:
        """Post a session with limited places, a waiting list and a booking survey."""
        guild = interaction.guild
        assert guild is not None
        target = channel or interaction.channel
        if not isinstance(target, discord.TextChannel | discord.Thread):
            raise InvalidInput("Please pick a text channel for the session.")
        ensure_invoker_can_post(interaction, target)
        if voice is not None:
            ensure_invoker_can_see(interaction, voice)
        session = await self.sessions.create(
            guild_id=guild.id,
            channel_id=target.id,
            author_id=interaction.user.id,
            title=title,
            starts=starts,
            capacity=capacity,
            duration=duration,
            description=description,
            closes=closes,
            reminders=reminders,
            repeat_of=repeat_of,
            priority=priority,
            topic=topic,
            tz=await self._tz(interaction),
        )
        await interaction.response.defer(ephemeral=True, thinking=True)
        details = await self.sessions.details(session.id)
        state = self.sessions.state_word(session)
        try:
            wording = self.bot.services.wording
            message = await target.send(
                view=await render_session(wording, details, state, self._now()),
                allowed_mentions=NO_MENTIONS,
            )
        except discord.Forbidden:
            await self.sessions.discard(session.id)
            raise InvalidInput(
                f"I can't post in {target.mention}. Please give me View Channel, Send Messages "
                "and Embed Links there, or choose another channel."
            ) from None
        except BaseException:
            await self.sessions.discard(session.id)  # no post, so no session and no reminders
            raise
        await self.sessions.attach_post(session.id, target.id, message.id)
        note = await self._create_event(guild, session, voice, message.jump_url)
        kept = ", ".join(format_duration(o) for o in self.sessions.reminders_to_send(session))
        text = (
            f"Session #{session.number} is posted: {message.jump_url}\n"
            f"Reminders before the start: {kept or 'none'}.{note}"
        )
        if session.priority_until is not None:
            text += (
                f"\nPeople left on the earlier waiting list are being told first; they can "
                f"book until {ts(session.priority_until)}, then booking opens to everyone."
            )
        asked = await self.sessions.questions(session.id)
        text += "\nThe booking survey asks: " + "; ".join(f"“{q.text}”" for q in asked)
        text += ".\nChange the questions with `/session questions` before anyone books."
        await interaction.followup.send(text, ephemeral=True)

    @app_commands.command(name="edit")
    @app_commands.describe(
        session="The session's number",
        title="New title",
        starts="New start time (everyone booked is told; reminders move)",
        capacity="New number of places (raising it gives places to people waiting)",
        closes="New time booking closes",
    )
    async def edit(
        self,
        interaction: discord.Interaction,
        session: SessionOption,
        title: str | None = None,
        starts: str | None = None,
        capacity: str | None = None,
        closes: str | None = None,
    ) -> None:
        """Change a session's title, start, places or closing time."""
        assert interaction.guild_id is not None
        outcome = await self.sessions.edit(
            interaction.guild_id,
            session,
            actor_id=interaction.user.id,
            title=title,
            starts=starts,
            capacity=capacity,
            closes=closes,
            tz=await self._tz(interaction),
        )
        await interaction.response.defer(ephemeral=True, thinking=True)
        number = outcome.session.number
        state = await refresh_now(
            lambda: self.render_post(outcome.session.id), f"session {outcome.session.id}"
        )
        note = ""
        if state is PostState.GONE:
            note += (
                f"\nIts post is gone (it was deleted, or its channel was), so members can't see "
                f"it or book. Post it again with `/session repost session:{number}` (bookings "
                f"are kept), or cancel it with `/session cancel session:{number}`."
            )
        elif state is PostState.UNREACHABLE:
            note += "\nI couldn't update its post; please check my permissions in its channel."
        if outcome.start_changed or "title" in outcome.changed:
            note += await self._update_event(outcome.session)
        text = f"Session #{outcome.session.number} is updated"
        text += f" ({', '.join(outcome.changed)} changed)." if outcome.changed else " (no changes)."
        if outcome.promoted:
            text += (
                f"\n{len(outcome.promoted)} people moved from the waiting list into places "
                "and are being told."
            )
        if outcome.start_changed:
            kept = ", ".join(
                format_duration(o) for o in self.sessions.reminders_to_send(outcome.session)
            )
            text += (
                "\nEveryone booked or waiting is being told the new time; reminders moved "
                f"(before the start: {kept or 'none'})."
            )
        if outcome.session.capacity < (await self.sessions.details(outcome.session.id)).confirmed:
            text += (
                "\nMore people have places than the new capacity; nobody loses their place, "
                "and new bookings go to the waiting list."
            )
        await interaction.followup.send(text + note, ephemeral=True)

    @app_commands.command(name="repost")
    @app_commands.describe(
        session="The session's number",
        channel="Where to post it (default: here)",
    )
    async def repost(
        self,
        interaction: discord.Interaction,
        session: SessionOption,
        channel: discord.TextChannel | None = None,
    ) -> None:
        """Post a session again after its post (or channel) was deleted; bookings are kept."""
        assert interaction.guild_id is not None
        found = await self.sessions.get(interaction.guild_id, session)
        if found.is_cancelled:
            raise InvalidInput(f"Session #{found.number} is cancelled; there is nothing to post.")
        target = channel or interaction.channel
        if not isinstance(target, discord.TextChannel | discord.Thread):
            raise InvalidInput("Please pick a text channel for the session.")
        ensure_invoker_can_post(interaction, target)
        await interaction.response.defer(ephemeral=True, thinking=True)
        if found.message_id is not None:
            try:
                await self.bot.get_partial_messageable(found.channel_id).fetch_message(
                    found.message_id
                )
            except discord.NotFound:
                pass
            except discord.HTTPException:
                log.info("session %s: its post could not be checked", found.id)
            else:
                await interaction.followup.send(
                    f"Session #{found.number} still has its post. Nothing was changed.",
                    ephemeral=True,
                )
                return
        details = await self.sessions.details(found.id)
        state = self.sessions.state_word(found)
        wording = self.bot.services.wording
        try:
            message = await target.send(
                view=await render_session(wording, details, state, self._now()),
                allowed_mentions=NO_MENTIONS,
            )
        except discord.Forbidden:
            raise InvalidInput(
                f"I can't post in {target.mention}. Please give me View Channel, Send Messages "
                "and Embed Links there, or choose another channel."
            ) from None
        await self.sessions.reposted(found.id, target.id, message.id, actor_id=interaction.user.id)
        await interaction.followup.send(
            f"Session #{found.number} is posted again: {message.jump_url}\nEveryone booked or "
            "waiting keeps their place.",
            ephemeral=True,
        )

    @app_commands.command(name="cancel")
    @app_commands.describe(session="The session's number")
    async def cancel(self, interaction: discord.Interaction, session: SessionOption) -> None:
        """Cancel a session: tell everyone booked or waiting; stop reminders and the event."""
        assert interaction.guild_id is not None
        cancelled = await self.sessions.cancel(
            interaction.guild_id, session, actor_id=interaction.user.id
        )
        await interaction.response.defer(ephemeral=True, thinking=True)
        self.refresh_post(cancelled.id)
        note = await self._cancel_event(cancelled)
        await interaction.followup.send(
            f"Session #{cancelled.number} is cancelled. Everyone booked or waiting is being told; "
            f"its reminders are stopped.{note}",
            ephemeral=True,
        )

    @app_commands.command(name="attendees")
    @app_commands.describe(session="The session's number")
    async def attendees(self, interaction: discord.Interaction, session: SessionOption) -> None:
        """People with places and the waiting list in order, with a CSV of survey answers."""
        guild = interaction.guild
        assert guild is not None
        await interaction.response.defer(ephemeral=True, thinking=True)  # before any DB work
        found = await self.sessions.get(guild.id, session)
        people = await self.sessions.attendees(found.id)
        questions = await self.sessions.questions(found.id)
        confirmed = [a for a in people if a.status == "confirmed"]
        waiting = [a for a in people if a.status == "waiting"]
        lines: list[tuple[str, bool]] = [
            (
                f"**Session #{found.number}: {clip(found.title, 80)}** (only you can see this)",
                False,
            ),
            (f"\n**Places: {len(confirmed)} of {found.capacity}**", False),
        ]
        lines += [
            (
                f"{a.position}. {mention(a.user_id)}"
                + (" (from the waiting list)" if a.promoted_at else ""),
                True,
            )
            for a in confirmed
        ] or [("Nobody yet.", False)]
        lines.append((f"\n**Waiting list: {len(waiting)}**", False))
        lines += [(f"{a.position}. {mention(a.user_id)}", True) for a in waiting] or [
            ("Nobody waiting.", False)
        ]
        access = await self.sessions.access_text(found.id)
        if access:
            lines.append(("\n" + access, False))
        header = [
            "status",
            "position",
            "user_id",
            "display_name",
            "booked_at_utc",
            "promoted_at_utc",
            *(q.text for q in questions),
        ]
        rows = [header]
        for a in people:
            member = guild.get_member(a.user_id)
            rows.append(
                [
                    a.status,
                    str(a.position),
                    str(a.user_id),
                    member.display_name if member else "",
                    _utc(a.booked_at),
                    _utc(a.promoted_at),
                    *(a.answers.get(q.key, "") for q in questions),
                ]
            )
        file = await asyncio.to_thread(csv_file, rows, f"session-{found.number}-attendees.csv")
        text = fit_list(
            lines, lambda n: f"…and {n} more not shown here; the attached CSV lists everyone."
        )
        await interaction.followup.send(
            text, ephemeral=True, allowed_mentions=NO_MENTIONS, file=file
        )

    @app_commands.command(name="survey")
    @app_commands.describe(
        session="The session's number",
        names="Also attach the CSV with names and answers (default: summary without names)",
    )
    async def survey(
        self, interaction: discord.Interaction, session: SessionOption, names: bool = False
    ) -> None:
        """A summary of the booking survey for the facilitators, with a chart."""
        guild = interaction.guild
        assert guild is not None
        await interaction.response.defer(ephemeral=True, thinking=True)  # before any DB work
        found = await self.sessions.get(guild.id, session)
        summary = await self.sessions.survey(found.id)
        text = f"**Session #{found.number}: {clip(found.title, 80)}** (only you can see this)\n"
        text += survey_summary_text(summary)
        files = await survey_charts(summary, found.number)
        shown, cut = fit_message(text, "(The full summary is in the attached text file.)")
        if cut:
            files.append(
                discord.File(
                    io.BytesIO(plain_text(text).encode("utf-8")),
                    filename=f"session-{found.number}-survey.txt",
                )
            )
            text = shown
        if names:
            people = await self.sessions.attendees(found.id)
            questions = await self.sessions.questions(found.id)
            rows = [["status", "user_id", "display_name", *(q.text for q in questions)]]
            for a in people:
                member = guild.get_member(a.user_id)
                rows.append(
                    [
                        a.status,
                        str(a.user_id),
                        member.display_name if member else "",
                        *(a.answers.get(q.key, "") for q in questions),
                    ]
                )
            files.append(
                await asyncio.to_thread(csv_file, rows, f"session-{found.number}-survey.csv")
            )
        await interaction.followup.send(
            text, ephemeral=True, files=files[:10], allowed_mentions=NO_MENTIONS
        )

    @app_commands.command(name="questions")
    @app_commands.describe(
        session="The session's number",
        question1="'Why?', 'Level? [New; Some]' (pick one), 'multi: For? [A; B]' (tick any), "
        "'scale: Sure?' (1-5)",
        question2="Second question (optional; same forms as the first)",
        question3="Third question (optional)",
        question4="Fourth question (optional)",
        question5="Fifth question (optional)",
        question6="Sixth question (optional; more than five make a second page)",
        question7="Seventh question (optional)",
        question8="Eighth question (optional)",
        optional="Which questions may be left empty, e.g. '2, 3' (the others are required)",
        access="Also ask about access needs, seen only by organisers (default: yes)",
    )
    async def questions(
        self,
        interaction: discord.Interaction,
        session: SessionOption,
        question1: str,
        question2: str | None = None,
        question3: str | None = None,
        question4: str | None = None,
        question5: str | None = None,
        question6: str | None = None,
        question7: str | None = None,
        question8: str | None = None,
        optional: str | None = None,
        access: bool = True,
    ) -> None:
        """Replace the booking survey's questions (before anyone books)."""
        assert interaction.guild_id is not None
        made = await self.sessions.set_questions(
            interaction.guild_id,
            session,
            actor_id=interaction.user.id,
            texts=[
                question1,
                question2,
                question3,
                question4,
                question5,
                question6,
                question7,
                question8,
            ],
            optional=optional,
            access=access,
        )
        await interaction.response.send_message(
            clip(questions_text(session, made), 2000), ephemeral=True, allowed_mentions=NO_MENTIONS
        )

    @app_commands.command(name="list")
    async def list_sessions(self, interaction: discord.Interaction) -> None:
        """Sessions in this server, with their places."""
        assert interaction.guild_id is not None
        items = await self.sessions.overview(interaction.guild_id)
        if not items:
            await interaction.response.send_message(
                "There are no sessions yet. Create one with `/session create`.", ephemeral=True
            )
            return
        lines = []
        for d in items:
            s = d.session
            link = (
                f"https://discord.com/channels/{s.guild_id}/{s.channel_id}/{s.message_id}"
                if s.message_id
                else "not posted"
            )
            lines.append(
                f"**#{s.number}** {clip(s.title, 80)}: {ts(s.starts_at)}, "
                f"{self.sessions.state_word(s)}, {d.capacity_line} ({link})"
            )
        await interaction.response.send_message(
            clip("\n".join(lines), 2000), ephemeral=True, allowed_mentions=NO_MENTIONS
        )

    @app_commands.command(name="evaluation")
    @app_commands.describe(session="The session's number")
    async def evaluation(self, interaction: discord.Interaction, session: SessionOption) -> None:
        """The evaluation: responses, average rating, comments, and a CSV."""
        guild = interaction.guild
        assert guild is not None
        await interaction.response.defer(ephemeral=True, thinking=True)  # before any DB work
        found = await self.sessions.get(guild.id, session)
        summary, rows = await self.sessions.evaluation(found.id)
        text = f"**Session #{found.number}: {clip(found.title, 80)}** (only you can see this)\n"
        text += summary.text()
        files: list[discord.File] = []
        shown, cut = fit_message(text, "(The full summary is in the attached text file.)")
        if cut:
            files.append(
                discord.File(
                    io.BytesIO(plain_text(text).encode("utf-8")),
                    filename=f"session-{found.number}-evaluation.txt",
                )
            )
        table = [
            [
                "user_id",
                "display_name",
                "rating",
                "most_useful",
                "could_be_better",
                "submitted_at_utc",
            ]
        ]
        for r in rows:
            member = guild.get_member(r.user_id)
            table.append(
                [
                    str(r.user_id),
                    member.display_name if member else "",
                    str(r.rating),
                    r.useful,
                    r.better,
                    _utc(r.submitted_at),
                ]
            )
        files.append(
            await asyncio.to_thread(csv_file, table, f"session-{found.number}-evaluation.csv")
        )
        if summary.responses:
            files.insert(0, await evaluation_chart(summary, found.number, clip(found.title, 80)))
        await interaction.followup.send(
            shown,
            ephemeral=True,
            allowed_mentions=NO_MENTIONS,
            files=files,
        )
