"""Members' presses on a session post: Book (opens the survey form), Cancel my booking, Give
feedback. Each asks the session service and answers ephemerally."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import discord

from bot.domain.errors import NotFound
from bot.domain.sessions.models import Session
from bot.domain.sessions.rules import FORM_PAGE
from bot.domain.sessions.survey import Question, pages
from bot.domain.sessions.texts import (
    FORM_NEXT_PAGE,
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
    ContinueButton,
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
        words = await self._form_words(session, press.full)
        await self._open_page(interaction, session, press.questions, words, 1)

    async def _open_page(
        self,
        interaction: discord.Interaction,
        session: Session,
        questions: Sequence[Question],
        words: FormWords,
        page: int,
    ) -> None:
        split = pages(questions, FORM_PAGE)
        await interaction.response.send_modal(
            BookingModal(self, session, split[page - 1], words, page=page, pages=len(split))
        )

    async def _form_words(self, session: Session, full: bool) -> FormWords:
        g = session.guild_id
        return FormWords(
            title=await self.words(g, FORM_TITLE_FULL if full else FORM_TITLE, title=session.title),
            note=await self.words(g, FORM_NOTE_FULL if full else FORM_NOTE),
            optional=await self.words(g, FORM_OPTIONAL),
            required=await self.words(g, FORM_REQUIRED),
        )

    def _pages_given(self) -> dict[tuple[int, int], dict[str, str | list[str]]]:
        """Answers of first pages waiting for the next page, per (session, member). Kept in
        memory only: after a restart the member starts the form again."""
        found: dict[tuple[int, int], dict[str, str | list[str]]] | None = getattr(
            self, "_survey_pages", None
        )
        if found is None:
            found = {}
            self._survey_pages = found
        return found

    async def submit_booking_page(
        self,
        interaction: discord.Interaction,
        session_id: int,
        answers: dict[str, str | list[str]],
        *,
        page: int,
        pages: int,
    ) -> None:
        key = (session_id, interaction.user.id)
        given = self._pages_given()
        if page == 1:
            given.pop(key, None)
        merged = {**given.get(key, {}), **answers}
        if page < pages:
            given[key] = merged
            view = discord.ui.View(timeout=None)
            view.add_item(ContinueButton(session_id))
            await interaction.response.send_message(
                await self.words(None, FORM_NEXT_PAGE, page=page + 1, pages=pages),
                view=view,
                ephemeral=True,
            )
            return
        given.pop(key, None)
        await self.submit_booking(interaction, session_id, merged)

    async def press_next_page(self, interaction: discord.Interaction, session_id: int) -> None:
        given = self._pages_given().get((session_id, interaction.user.id))
        press = await self.sessions.press_book(session_id, interaction.user.id)
        if given is None or press.reply is not None:
            await self.press_book(interaction, session_id)  # starts again, or says why not
            return
        words = await self._form_words(press.session, press.full)
        done = sum(1 for q in press.questions if q.key in given)
        page = 1 + (done + FORM_PAGE - 1) // FORM_PAGE if done else 2
        await self._open_page(interaction, press.session, press.questions, words, page)

    async def submit_booking(
        self,
        interaction: discord.Interaction,
        session_id: int,
        answers: Mapping[str, str | Sequence[str]],
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
