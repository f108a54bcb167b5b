"""Members' presses on a session post: Book (opens the survey form), Cancel my booking, Give
feedback. Each asks the session service and answers ephemerally."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord

from bot.domain.errors import NotFound
from bot.domain.sessions.models import Session
from bot.domain.sessions.texts import (
    FORM_NOTE,
    FORM_NOTE_FULL,
    FORM_OPTIONAL,
    FORM_REQUIRED,
    FORM_TITLE,
    FORM_TITLE_FULL,
    SESSION_GONE,
)
from bot.domain.wording.templates import Template
from bot.errors import reply
from bot.render import when
from cogs.sessions.views import (
    BookingModal,
    EvaluationModal,
    FormWords,
)

if TYPE_CHECKING:
    from bot.client import CoproBot
    from bot.domain.sessions.service import SessionService


class MemberPresses:
    """What members' presses do: book (the form), cancel, give feedback. Part of the Sessions
    cog, which provides the attributes and helpers declared here."""

    bot: CoproBot
    sessions: SessionService

    async def words(self, guild_id: int | None, tpl: Template, **values: object) -> str:
        raise NotImplementedError  # Sessions

    def refresh_post(self, session_id: int) -> None:
        raise NotImplementedError  # Sessions

    async def _existing(self, session_id: int) -> Session:
        session = await self.sessions.get_by_id(session_id)
        if session is None:
            raise NotFound(await self.words(None, SESSION_GONE))
        return session

    async def press_book(self, interaction: discord.Interaction, session_id: int) -> None:
        press = await self.sessions.press_book(session_id, interaction.user.id)
        session = press.session
        if press.reply is not None:
            await reply(
                interaction,
                await self.words(
                    session.guild_id,
                    press.reply,
                    title=session.title,
                    when=when(session.starts_at),
                    position=press.position,
                ),
            )
            return
        g = session.guild_id
        words = FormWords(
            title=await self.words(
                g, FORM_TITLE_FULL if press.full else FORM_TITLE, title=session.title
            ),
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
        await reply(
            interaction,
            await self.words(
                s.guild_id,
                outcome.template,
                title=s.title,
                when=when(s.starts_at),
                position=outcome.position,
            ),
        )
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
