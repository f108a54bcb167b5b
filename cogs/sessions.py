"""Sessions with limited places: organisers create them; members book with buttons.

Persistent buttons (DynamicItems, they keep working after a restart):
``session:book:<id>`` Book a place, ``session:unbook:<id>`` Cancel my booking,
``session:feedback:<id>`` Give feedback (in evaluation invitations).
Survey answers are only ever shown to organisers, ephemerally or in a CSV file.
"""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.charts import bar_chart_png
from bot.checks import ensure_organiser
from bot.clock import from_unix
from bot.domain.errors import InvalidInput, NotFound
from bot.domain.session_service import JOB_KINDS, SessionDetails
from bot.domain.sessions import (
    BUTTON_FEEDBACK,
    BUTTON_UNBOOK,
    EVALUATION_THANKS,
    FORM_NOTE,
    FORM_NOTE_FULL,
    FORM_OPTIONAL,
    FORM_REQUIRED,
    FORM_TITLE,
    FORM_TITLE_FULL,
    MAX_QUESTIONS,
    SESSION_GONE,
    Question,
    book_button,
    discord_when,
    fit_message,
    plain_text,
    public_post_fields,
    survey_summary_text,
    unbook_enabled,
)
from bot.domain.wording import Template, WordingService
from bot.errors import handle_interaction_error, reply
from bot.notify import send_dm
from bot.options import number_option
from bot.render import NO_MENTIONS, clip, mention, mentions_for, ts
from bot.scheduling import RetryLater
from bot.timeparse import format_duration
from cogs._shared import create_event, csv_file, delivered, transient
from db.repositories.jobs import Job
from db.repositories.sessions import Session

if TYPE_CHECKING:
    from bot.client import CoproBot

log = logging.getLogger(__name__)

STATE_COLOURS = {
    "booking open": discord.Colour.green(),
    "booking closed": discord.Colour.orange(),
    "happening now": discord.Colour.blurple(),
    "finished": discord.Colour.dark_grey(),
    "cancelled": discord.Colour.dark_grey(),
}


def _cog(interaction: discord.Interaction) -> Sessions:
    cog = interaction.client.get_cog("Sessions")  # type: ignore[attr-defined]
    assert isinstance(cog, Sessions)
    return cog


# -- persistent buttons ---------------------------------------------------------------------------


class BookButton(discord.ui.DynamicItem[discord.ui.Button], template=r"session:book:(?P<id>[0-9]+)"):
    def __init__(self, session_id: int, label: str = "Book a place", *,
                 disabled: bool = False) -> None:
        super().__init__(discord.ui.Button(
            label=label, custom_id=f"session:book:{session_id}", disabled=disabled,
            style=discord.ButtonStyle.secondary if disabled else discord.ButtonStyle.success,
        ))
        self.session_id = session_id

    @classmethod
    async def from_custom_id(  # type: ignore[override]
        cls, interaction: discord.Interaction, item: discord.ui.Button, match: re.Match[str]
    ) -> BookButton:
        return cls(int(match["id"]))

    async def callback(self, interaction: discord.Interaction) -> None:  # type: ignore[override]
        try:
            await _cog(interaction).press_book(interaction, self.session_id)
        except Exception as exc:
            await handle_interaction_error(interaction, exc, where="session book button")


class CancelButton(discord.ui.DynamicItem[discord.ui.Button], template=r"session:unbook:(?P<id>[0-9]+)"):
    def __init__(self, session_id: int, label: str = "Cancel my booking", *,
                 disabled: bool = False) -> None:
        super().__init__(discord.ui.Button(
            label=label, style=discord.ButtonStyle.secondary,
            custom_id=f"session:unbook:{session_id}", disabled=disabled,
        ))
        self.session_id = session_id

    @classmethod
    async def from_custom_id(  # type: ignore[override]
        cls, interaction: discord.Interaction, item: discord.ui.Button, match: re.Match[str]
    ) -> CancelButton:
        return cls(int(match["id"]))

    async def callback(self, interaction: discord.Interaction) -> None:  # type: ignore[override]
        try:
            await _cog(interaction).press_cancel(interaction, self.session_id)
        except Exception as exc:
            await handle_interaction_error(interaction, exc, where="session cancel button")


class FeedbackButton(discord.ui.DynamicItem[discord.ui.Button], template=r"session:feedback:(?P<id>[0-9]+)"):
    def __init__(self, session_id: int, label: str = "Give feedback") -> None:
        super().__init__(discord.ui.Button(
            label=label, style=discord.ButtonStyle.primary,
            custom_id=f"session:feedback:{session_id}",
        ))
        self.session_id = session_id

    @classmethod
    async def from_custom_id(  # type: ignore[override]
        cls, interaction: discord.Interaction, item: discord.ui.Button, match: re.Match[str]
    ) -> FeedbackButton:
        return cls(int(match["id"]))

    async def callback(self, interaction: discord.Interaction) -> None:  # type: ignore[override]
        try:
            await _cog(interaction).press_feedback(interaction, self.session_id)
        except Exception as exc:
            await handle_interaction_error(interaction, exc, where="session feedback button")


async def session_view(
    wording: WordingService, details: SessionDetails, state: str
) -> discord.ui.View:
    """The post's buttons. The Book button says "Join the waiting list" when every place is
    taken, and is greyed out (with a label saying why) once booking has closed; Cancel my
    booking is greyed out from the start."""
    session = details.session
    book = book_button(state, confirmed=details.confirmed, capacity=session.capacity,
                       waiting=details.waiting)
    view = discord.ui.View(timeout=None)
    view.add_item(BookButton(session.id, clip(await wording.render(session.guild_id, book.label), 80),
                             disabled=not book.enabled))
    view.add_item(CancelButton(session.id, clip(await wording.render(session.guild_id,
                                                                     BUTTON_UNBOOK), 80),
                               disabled=not unbook_enabled(state)))
    return view


async def feedback_view(wording: WordingService, guild_id: int, session_id: int) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    view.add_item(FeedbackButton(session_id,
                                 clip(await wording.render(guild_id, BUTTON_FEEDBACK), 80)))
    return view


async def render_session(
    wording: WordingService, details: SessionDetails, state: str, now: float
) -> discord.Embed:
    """The public session post: times, places and how to book. Never any survey answers."""
    s = details.session
    embed = discord.Embed(
        title=clip(f"Session #{s.number}: {s.title}", 256),
        description=clip(s.description, 3000) if s.description else None,
        colour=STATE_COLOURS.get(state, discord.Colour.blurple()),
    )
    for item in public_post_fields(
        starts_at=s.starts_at, ends_at=s.ends_at, closes_at=s.closes_at, capacity=s.capacity,
        confirmed=details.confirmed, waiting=details.waiting, cancelled=s.is_cancelled,
        priority_until=s.priority_until, now=now,
    ):
        name = await wording.render(s.guild_id, item.heading)
        value = item.sep.join([await wording.render(s.guild_id, t, **v) for t, v in item.parts])
        embed.add_field(name=clip(name, 256) or "-", value=clip(value, 1024) or "-", inline=False)
    embed.set_footer(text=f"Session #{s.number}, {state}")
    return embed


# -- modals ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FormWords:
    """The booking form's texts in the server's wording."""

    title: str
    note: str
    optional: str
    required: str


class BookingModal(discord.ui.Modal):
    """The booking survey, built from the session's questions (no fixed custom_id). It says who
    sees the answers and, when every place is taken, that it leads to the waiting list."""

    def __init__(self, cog: Sessions, session: Session, questions: Sequence[Question],
                 words: FormWords) -> None:
        super().__init__(title=clip(words.title, 45), timeout=900)
        self.cog = cog
        self.session = session
        self.inputs: list[tuple[Question, discord.ui.TextInput[Any] | discord.ui.Select[Any]]] = []
        if len(questions) < MAX_QUESTIONS:  # a modal holds at most 5 components
            self.add_item(discord.ui.TextDisplay(clip(words.note, 4000)))
        for q in questions:
            component: discord.ui.TextInput[Any] | discord.ui.Select[Any]
            if q.kind == "choice":
                component = discord.ui.Select(
                    custom_id=q.key, placeholder="Choose one", min_values=0 if not q.required else 1,
                    max_values=1, required=q.required,
                    options=[discord.SelectOption(label=clip(o, 100), value=clip(o, 100))
                             for o in q.options],
                )
            else:
                component = discord.ui.TextInput(
                    custom_id=q.key, style=discord.TextStyle.paragraph, required=q.required,
                    max_length=1000,
                    placeholder=clip(words.required if q.required else words.optional, 100),
                )
            self.add_item(discord.ui.Label(
                text=q.label, description=q.text if q.text != q.label else None,
                component=component,
            ))
            self.inputs.append((q, component))

    async def on_submit(self, interaction: discord.Interaction) -> None:  # type: ignore[override]
        try:
            answers: dict[str, str] = {}
            for q, component in self.inputs:
                if isinstance(component, discord.ui.Select):
                    answers[q.key] = component.values[0] if component.values else ""
                else:
                    answers[q.key] = component.value or ""
            await self.cog.submit_booking(interaction, self.session.id, answers)
        except Exception as exc:
            await handle_interaction_error(interaction, exc, where="session booking modal")

    async def on_error(self, interaction: discord.Interaction, error: Exception) -> None:  # type: ignore[override]
        await handle_interaction_error(interaction, error, where="session booking modal")


class EvaluationModal(discord.ui.Modal):
    def __init__(self, cog: Sessions, session: Session) -> None:
        super().__init__(title=clip(f"Feedback: {session.title}", 45), timeout=900)
        self.cog = cog
        self.session = session
        words = {5: "very useful", 4: "useful", 3: "okay", 2: "not very useful", 1: "not useful"}
        self.rating: discord.ui.Select[Any] = discord.ui.Select(
            custom_id="rating", placeholder="Choose 1 to 5", min_values=1, max_values=1,
            required=True,
            options=[discord.SelectOption(label=f"{n}: {w}", value=str(n)) for n, w in words.items()],
        )
        self.useful: discord.ui.TextInput[Any] = discord.ui.TextInput(
            custom_id="useful", style=discord.TextStyle.paragraph, required=False, max_length=1000,
        )
        self.better: discord.ui.TextInput[Any] = discord.ui.TextInput(
            custom_id="better", style=discord.TextStyle.paragraph, required=False, max_length=1000,
        )
        self.add_item(discord.ui.Label(text="How useful was the session? (1 to 5)",
                                       component=self.rating))
        self.add_item(discord.ui.Label(text="What was most useful?", component=self.useful))
        self.add_item(discord.ui.Label(text="What could be better?", component=self.better))

    async def on_submit(self, interaction: discord.Interaction) -> None:  # type: ignore[override]
        try:
            cog = self.cog
            session = await cog.sessions.evaluate(
                self.session.id, interaction.user.id,
                self.rating.values[0] if self.rating.values else "",
                self.useful.value, self.better.value,
            )
            await reply(interaction, await cog.words(session.guild_id, EVALUATION_THANKS,
                                                     title=session.title))
        except Exception as exc:
            await handle_interaction_error(interaction, exc, where="session evaluation modal")

    async def on_error(self, interaction: discord.Interaction, error: Exception) -> None:  # type: ignore[override]
        await handle_interaction_error(interaction, error, where="session evaluation modal")


# -- sending (the domain's Messenger) ---------------------------------------------------------------


class DiscordMessenger:
    """DMs, channel posts and post refreshes for the session service's jobs. Every send carries
    the delivery's nonce; a 429 or 5xx (after discord.py's own retries) becomes RetryLater, so the
    delivery goes back to pending and the job is retried. Closed DMs and other refusals return
    False (the member is mentioned in the channel instead)."""

    def __init__(self, cog: Sessions) -> None:
        self.cog = cog
        self.bot = cog.bot

    async def render(self, guild_id: int, tpl: Template, **values: object) -> str:
        return await self.bot.services.wording.render(guild_id, tpl, **values)

    async def _feedback_view(self, session_id: int | None) -> dict[str, Any]:
        if session_id is None:
            return {}
        session = await self.cog.sessions.get_by_id(session_id)
        if session is None:
            return {}
        return {"view": await feedback_view(self.bot.services.wording, session.guild_id, session_id)}

    async def dm(
        self, user_id: int, text: str, *, feedback_session: int | None = None,
        nonce: str | None = None, file: tuple[str, str] | None = None,
    ) -> bool:
        extra = await self._feedback_view(feedback_session)
        if nonce is not None:
            extra["nonce"] = nonce
        if file is not None:
            name, content = file
            extra["file"] = discord.File(io.BytesIO(content.encode("utf-8")), filename=name)
        return await delivered(send_dm(self.bot, user_id, clip(text, 2000), **extra),
                               f"a DM to {user_id}")

    async def post(
        self, channel_id: int, text: str, *, mention_ids: Sequence[int],
        feedback_session: int | None = None, nonce: str | None = None,
    ) -> bool:
        extra = await self._feedback_view(feedback_session)
        if nonce is not None:
            extra["nonce"] = nonce
        channel = self.bot.get_partial_messageable(channel_id)
        return await delivered(
            channel.send(clip(text, 2000), allowed_mentions=mentions_for(mention_ids), **extra),
            f"a post in channel {channel_id}",
        )

    async def refresh(self, session_id: int) -> None:
        """Edit the post now, inside the job (a queued edit could be lost at shutdown)."""
        try:
            await self.cog.render_post(session_id)
        except (discord.Forbidden, discord.NotFound) as exc:
            log.warning("could not refresh the post of session %s: %s", session_id, exc)
        except discord.HTTPException as exc:
            if transient(exc):
                raise RetryLater(f"Discord said {exc.status} to a post edit") from exc
            log.warning("could not refresh the post of session %s: %s", session_id, exc)


# -- the cog ----------------------------------------------------------------------------------------


SessionOption = number_option(
    lambda bot, guild_id, text: bot.services.sessions.search(guild_id, text),
    lambda bot, s: f"#{s.number} {s.title} ({bot.services.sessions.state_word(s)})",
)
"""A session chosen by number, with autocomplete of this server's sessions."""


def _utc(seconds: float | None) -> str:
    return from_unix(seconds).isoformat(timespec="seconds") if seconds else ""


@app_commands.guild_only()
@app_commands.default_permissions(manage_events=True)
class Sessions(commands.GroupCog, group_name="session", group_description="Sessions with limited places"):
    """Organiser commands for sessions; the booking buttons are for everyone."""

    def __init__(self, bot: CoproBot) -> None:
        self.bot = bot
        self.sessions = bot.services.sessions
        self.messenger = DiscordMessenger(self)
        self._posts_refreshed = False

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(BookButton, CancelButton, FeedbackButton)
        for kind in JOB_KINDS:
            self.bot.jobs.register(kind, self.run_job)

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(BookButton, CancelButton, FeedbackButton)

    async def interaction_check(self, interaction: discord.Interaction) -> bool:  # type: ignore[override]
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
        await message.edit(embed=await render_session(wording, details, state, self._now()),
                           view=await session_view(wording, details, state),
                           allowed_mentions=NO_MENTIONS)

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

    async def _existing(self, session_id: int) -> Session:
        session = await self.sessions.get_by_id(session_id)
        if session is None:
            raise NotFound(await self.words(None, SESSION_GONE))
        return session

    async def press_book(self, interaction: discord.Interaction, session_id: int) -> None:
        press = await self.sessions.press_book(session_id, interaction.user.id)
        session = press.session
        if press.reply is not None:
            await reply(interaction, await self.words(
                session.guild_id, press.reply, title=session.title,
                when=discord_when(session.starts_at), position=press.position,
            ))
            return
        g = session.guild_id
        words = FormWords(
            title=await self.words(g, FORM_TITLE_FULL if press.full else FORM_TITLE,
                                   title=session.title),
            note=await self.words(g, FORM_NOTE_FULL if press.full else FORM_NOTE),
            optional=await self.words(g, FORM_OPTIONAL),
            required=await self.words(g, FORM_REQUIRED),
        )
        await interaction.response.send_modal(BookingModal(self, session, press.questions, words))

    async def submit_booking(
        self, interaction: discord.Interaction, session_id: int, answers: dict[str, str]
    ) -> None:
        outcome = await self.sessions.book(session_id, interaction.user.id, answers)
        s = outcome.session
        await reply(interaction, await self.words(
            s.guild_id, outcome.template, title=s.title, when=discord_when(s.starts_at),
            position=outcome.position,
        ))
        if outcome.status in ("confirmed", "waiting"):
            self.refresh_post(session_id)

    async def press_cancel(self, interaction: discord.Interaction, session_id: int) -> None:
        outcome = await self.sessions.cancel_booking(session_id, interaction.user.id)
        s = outcome.session
        await reply(interaction, await self.words(s.guild_id, outcome.template, title=s.title))
        if outcome.cancelled:
            self.refresh_post(session_id)

    async def press_feedback(self, interaction: discord.Interaction, session_id: int) -> None:
        session = await self._existing(session_id)
        await self.sessions.check_can_evaluate(session, interaction.user.id)
        await interaction.response.send_modal(EvaluationModal(self, session))

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
        session = await self.sessions.create(
            guild_id=guild.id, channel_id=target.id, author_id=interaction.user.id, title=title,
            starts=starts, capacity=capacity, duration=duration, description=description,
            closes=closes, reminders=reminders, repeat_of=repeat_of, priority=priority,
            topic=topic, tz=await self._tz(interaction),
        )
        await interaction.response.defer(ephemeral=True, thinking=True)
        details = await self.sessions.details(session.id)
        state = self.sessions.state_word(session)
        try:
            wording = self.bot.services.wording
            message = await target.send(
                embed=await render_session(wording, details, state, self._now()),
                view=await session_view(wording, details, state), allowed_mentions=NO_MENTIONS,
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
        text = (f"Session #{session.number} is posted: {message.jump_url}\n"
                f"Reminders before the start: {kept or 'none'}.{note}")
        if session.priority_until is not None:
            text += (f"\nPeople left on the earlier waiting list are being told first; they can "
                     f"book until {ts(session.priority_until)}, then booking opens to everyone.")
        asked = await self.sessions.questions(session.id)
        text += "\nThe booking survey asks: " + "; ".join(f"“{q.text}”" for q in asked)
        text += ".\nChange the questions with `/session questions` before anyone books."
        await interaction.followup.send(text, ephemeral=True)

    async def _create_event(
        self, guild: discord.Guild, session: Session,
        voice: discord.VoiceChannel | discord.StageChannel | None, link: str,
    ) -> str:
        """Make the matching server event; a note for the organiser if it could not be made."""
        return await create_event(
            guild, what="session", item_id=session.id, title=session.title,
            starts_at=session.starts_at, ends_at=session.ends_at,
            description=f"Session #{session.number}. Book a place on the post: {link}",
            voice=voice, location=link,
            works_without="The session, bookings and reminders work without it.",
            save=lambda event_id: self.sessions.attach_event(session.id, event_id),
        )

    async def _event(self, session: Session) -> discord.ScheduledEvent | None:
        guild = self.bot.get_guild(session.guild_id)
        if guild is None or session.event_id is None:
            return None
        found = guild.get_scheduled_event(session.event_id)
        if found is not None:
            return found
        try:
            return await guild.fetch_scheduled_event(session.event_id)
        except discord.HTTPException:
            return None

    async def _update_event(self, session: Session) -> str:
        event = await self._event(session)
        if event is None:
            return ""
        try:
            await event.edit(name=clip(session.title, 100), start_time=from_unix(session.starts_at),
                             end_time=from_unix(session.ends_at))
        except discord.HTTPException as exc:
            log.warning("could not update the event of session %s: %s", session.id, exc)
            return "\nI couldn't update the server event; please check it (Manage Events)."
        return ""

    async def _cancel_event(self, session: Session) -> str:
        event = await self._event(session)
        if event is None:
            return ""
        try:
            await event.cancel()
        except discord.HTTPException:
            try:
                await event.delete()
            except discord.HTTPException as exc:
                log.warning("could not cancel the event of session %s: %s", session.id, exc)
                return "\nI couldn't cancel the server event; please remove it by hand."
        return ""

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
            interaction.guild_id, session, actor_id=interaction.user.id, title=title,
            starts=starts, capacity=capacity, closes=closes, tz=await self._tz(interaction),
        )
        await interaction.response.defer(ephemeral=True, thinking=True)
        self.refresh_post(outcome.session.id)
        note = ""
        if outcome.start_changed or "title" in outcome.changed:
            note = await self._update_event(outcome.session)
        text = f"Session #{outcome.session.number} is updated"
        text += f" ({', '.join(outcome.changed)} changed)." if outcome.changed else " (no changes)."
        if outcome.promoted:
            text += (f"\n{len(outcome.promoted)} people moved from the waiting list into places "
                     "and are being told.")
        if outcome.start_changed:
            kept = ", ".join(format_duration(o)
                             for o in self.sessions.reminders_to_send(outcome.session))
            text += ("\nEveryone booked or waiting is being told the new time; reminders moved "
                     f"(before the start: {kept or 'none'}).")
        if outcome.session.capacity < (await self.sessions.details(outcome.session.id)).confirmed:
            text += ("\nMore people have places than the new capacity; nobody loses their place, "
                     "and new bookings go to the waiting list.")
        await interaction.followup.send(text + note, ephemeral=True)

    @app_commands.command(name="cancel")
    @app_commands.describe(session="The session's number")
    async def cancel(self, interaction: discord.Interaction, session: SessionOption) -> None:
        """Cancel a session: tell everyone booked or waiting; stop reminders and the event."""
        assert interaction.guild_id is not None
        cancelled = await self.sessions.cancel(interaction.guild_id, session,
                                               actor_id=interaction.user.id)
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
        found = await self.sessions.get(guild.id, session)
        people = await self.sessions.attendees(found.id)
        questions = await self.sessions.questions(found.id)
        confirmed = [a for a in people if a.status == "confirmed"]
        waiting = [a for a in people if a.status == "waiting"]
        lines = [f"**Session #{found.number}: {clip(found.title, 80)}** (only you can see this)",
                 f"\n**Places: {len(confirmed)} of {found.capacity}**"]
        lines += [f"{a.position}. {mention(a.user_id)}" + (" (from the waiting list)" if a.promoted_at else "")
                  for a in confirmed] or ["Nobody yet."]
        lines.append(f"\n**Waiting list: {len(waiting)}**")
        lines += [f"{a.position}. {mention(a.user_id)}" for a in waiting] or ["Nobody waiting."]
        header = ["status", "position", "user_id", "display_name", "booked_at_utc",
                  "promoted_at_utc", *(q.text for q in questions)]
        rows = [header]
        for a in people:
            member = guild.get_member(a.user_id)
            rows.append([a.status, str(a.position), str(a.user_id),
                         member.display_name if member else "", _utc(a.booked_at),
                         _utc(a.promoted_at), *(a.answers.get(q.key, "") for q in questions)])
        await interaction.response.send_message(
            clip("\n".join(lines), 2000), ephemeral=True, allowed_mentions=NO_MENTIONS,
            file=csv_file(rows, f"session-{found.number}-attendees.csv"),
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
        found = await self.sessions.get(guild.id, session)
        summary = await self.sessions.survey(found.id)
        text = f"**Session #{found.number}: {clip(found.title, 80)}** (only you can see this)\n"
        text += survey_summary_text(summary)
        files: list[discord.File] = []
        chart = summary.chart
        if chart is not None and summary.responses:
            png = bar_chart_png([(c.option, c.count) for c in chart.counts])
            files.append(discord.File(io.BytesIO(png), filename=f"session-{found.number}-experience.png",
                                      description=clip("Bar chart of the counts listed in the message: "
                                                       + ", ".join(f"{c.option} {c.count}" for c in chart.counts), 1000)))
        shown, cut = fit_message(text, "(The full summary is in the attached text file.)")
        if cut:
            files.append(discord.File(io.BytesIO(plain_text(text).encode("utf-8")),
                                      filename=f"session-{found.number}-survey.txt"))
            text = shown
        if names:
            people = await self.sessions.attendees(found.id)
            questions = await self.sessions.questions(found.id)
            rows = [["status", "user_id", "display_name", *(q.text for q in questions)]]
            for a in people:
                member = guild.get_member(a.user_id)
                rows.append([a.status, str(a.user_id), member.display_name if member else "",
                             *(a.answers.get(q.key, "") for q in questions)])
            files.append(csv_file(rows, f"session-{found.number}-survey.csv"))
        await interaction.response.send_message(text, ephemeral=True, files=files,
                                                allowed_mentions=NO_MENTIONS)

    @app_commands.command(name="questions")
    @app_commands.describe(
        session="The session's number",
        question1="First question; for choices add them in brackets: 'How experienced? [New; Some; Lots]'",
        question2="Second question (optional)",
        question3="Third question (optional)",
        question4="Fourth question (optional)",
        question5="Fifth question (optional)",
        optional="Which questions may be left empty, e.g. '2, 3' (the others are required)",
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
        optional: str | None = None,
    ) -> None:
        """Replace the booking survey's questions (before anyone books)."""
        assert interaction.guild_id is not None
        made = await self.sessions.set_questions(
            interaction.guild_id, session, actor_id=interaction.user.id,
            texts=[question1, question2, question3, question4, question5], optional=optional,
        )
        lines = [f"Session #{session} now asks:"]
        for i, q in enumerate(made, start=1):
            kind = f" (choose one of: {', '.join(q.options)})" if q.kind == "choice" else ""
            need = "required" if q.required else "optional"
            lines.append(f"{i}. {q.text}{kind}, {need}")
        await interaction.response.send_message(clip("\n".join(lines), 2000), ephemeral=True,
                                                allowed_mentions=NO_MENTIONS)

    @app_commands.command(name="list")
    async def list_sessions(self, interaction: discord.Interaction) -> None:
        """Sessions in this server, with their places."""
        assert interaction.guild_id is not None
        items = await self.sessions.list(interaction.guild_id)
        if not items:
            await interaction.response.send_message(
                "There are no sessions yet. Create one with `/session create`.", ephemeral=True
            )
            return
        lines = []
        for d in items:
            s = d.session
            link = (f"https://discord.com/channels/{s.guild_id}/{s.channel_id}/{s.message_id}"
                    if s.message_id else "not posted")
            lines.append(f"**#{s.number}** {clip(s.title, 80)}: {ts(s.starts_at)}, "
                         f"{self.sessions.state_word(s)}, {d.capacity_line} ({link})")
        await interaction.response.send_message(clip("\n".join(lines), 2000), ephemeral=True,
                                                allowed_mentions=NO_MENTIONS)

    @app_commands.command(name="evaluation")
    @app_commands.describe(session="The session's number")
    async def evaluation(self, interaction: discord.Interaction, session: SessionOption) -> None:
        """The evaluation: responses, average rating, comments, and a CSV."""
        guild = interaction.guild
        assert guild is not None
        found = await self.sessions.get(guild.id, session)
        summary, rows = await self.sessions.evaluation(found.id)
        text = f"**Session #{found.number}: {clip(found.title, 80)}** (only you can see this)\n"
        text += summary.text()
        files: list[discord.File] = []
        shown, cut = fit_message(text, "(The full summary is in the attached text file.)")
        if cut:
            files.append(discord.File(io.BytesIO(plain_text(text).encode("utf-8")),
                                      filename=f"session-{found.number}-evaluation.txt"))
        table = [["user_id", "display_name", "rating", "most_useful", "could_be_better",
                  "submitted_at_utc"]]
        for r in rows:
            member = guild.get_member(r.user_id)
            table.append([str(r.user_id), member.display_name if member else "", str(r.rating),
                          r.useful, r.better, _utc(r.submitted_at)])
        files.append(csv_file(table, f"session-{found.number}-evaluation.csv"))
        await interaction.response.send_message(
            shown, ephemeral=True, allowed_mentions=NO_MENTIONS, files=files,
        )


async def setup(bot: CoproBot) -> None:
    await bot.add_cog(Sessions(bot))
