"""Book, Cancel and Give feedback buttons, and the forms."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Self

import discord

from bot.components import GuardedButton, GuardedModal, Target, cog_of
from bot.domain.attendance.models import EventKind
from bot.domain.attendance.texts import BUTTON_HERE
from bot.domain.sessions.models import Session, SessionDetails
from bot.domain.sessions.rules import FORM_PAGE, book_button, unbook_enabled
from bot.domain.sessions.survey import Question
from bot.domain.sessions.texts import (
    BUTTON_FEEDBACK,
    BUTTON_UNBOOK,
    EVALUATION_THANKS,
)
from bot.domain.wording.service import WordingService
from bot.errors import reply
from bot.render import clip
from cogs.attendance.views import HereButton

if TYPE_CHECKING:
    from cogs.sessions.cog import Sessions
    from cogs.sessions.members import MemberPresses


def _cog(interaction: discord.Interaction[Any]) -> Sessions:
    cog: Sessions = cog_of(interaction, "Sessions")
    return cog


class _SessionButton(GuardedButton):
    """A button about one session: it acts only in the session's own server."""

    in_dms = False

    def __init__(self, session_id: int, button: discord.ui.Button[Any]) -> None:
        super().__init__(button)
        self.session_id = session_id

    @classmethod
    def from_match(cls, match: re.Match[str]) -> Self:
        # Every session button is made from its session id alone (its label is refreshed later).
        return cls(int(match["id"]))  # type: ignore[call-arg]  # subclasses take the id alone

    async def target(self, interaction: discord.Interaction[Any]) -> Target:
        session = await _cog(interaction).sessions.get_by_id(self.session_id)
        return Target(session.guild_id if session else None, in_dms=self.in_dms)


class BookButton(_SessionButton, template=r"session:book:(?P<id>[0-9]+)"):
    where = "session book button"

    def __init__(
        self, session_id: int, label: str = "Book a place", *, disabled: bool = False
    ) -> None:
        super().__init__(
            session_id,
            discord.ui.Button(
                label=label,
                custom_id=f"session:book:{session_id}",
                disabled=disabled,
                style=discord.ButtonStyle.secondary if disabled else discord.ButtonStyle.success,
            ),
        )

    async def act(self, interaction: discord.Interaction[Any]) -> None:
        await _cog(interaction).press_book(interaction, self.session_id)


class CancelButton(_SessionButton, template=r"session:unbook:(?P<id>[0-9]+)"):
    where = "session cancel button"

    def __init__(
        self, session_id: int, label: str = "Cancel my booking", *, disabled: bool = False
    ) -> None:
        super().__init__(
            session_id,
            discord.ui.Button(
                label=label,
                style=discord.ButtonStyle.secondary,
                custom_id=f"session:unbook:{session_id}",
                disabled=disabled,
            ),
        )

    async def act(self, interaction: discord.Interaction[Any]) -> None:
        await _cog(interaction).press_cancel(interaction, self.session_id)


class FeedbackButton(_SessionButton, template=r"session:feedback:(?P<id>[0-9]+)"):
    """Sent by DM with the evaluation invitation: the service checks the presser attended."""

    where = "session feedback button"
    in_dms = True

    def __init__(self, session_id: int, label: str = "Give feedback") -> None:
        super().__init__(
            session_id,
            discord.ui.Button(
                label=label,
                style=discord.ButtonStyle.primary,
                custom_id=f"session:feedback:{session_id}",
            ),
        )

    async def act(self, interaction: discord.Interaction[Any]) -> None:
        await _cog(interaction).press_feedback(interaction, self.session_id)


async def session_buttons(
    wording: WordingService, details: SessionDetails, state: str
) -> list[discord.ui.Item[Any]]:
    """The post's buttons. The Book button says "Join the waiting list" when every place is
    taken, and is greyed out (with a label saying why) once booking has closed; Cancel my
    booking is greyed out from the start."""
    session = details.session
    book = book_button(
        state, confirmed=details.confirmed, capacity=session.capacity, waiting=details.waiting
    )
    buttons: list[discord.ui.Item[Any]] = [
        BookButton(
            session.id,
            clip(await wording.render(session.guild_id, book.label), 80),
            disabled=not book.enabled,
        ),
        CancelButton(
            session.id,
            clip(await wording.render(session.guild_id, BUTTON_UNBOOK), 80),
            disabled=not unbook_enabled(state),
        ),
    ]
    if state in ("booking closed", "happening now"):  # it refuses presses outside the session
        buttons.append(
            HereButton(
                EventKind.SESSION,
                session.id,
                clip(await wording.render(session.guild_id, BUTTON_HERE), 80),
            )
        )
    return buttons


async def feedback_view(wording: WordingService, guild_id: int, session_id: int) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    view.add_item(
        FeedbackButton(session_id, clip(await wording.render(guild_id, BUTTON_FEEDBACK), 80))
    )
    return view


@dataclass(frozen=True, slots=True)
class FormWords:
    """The booking form's texts in the server's wording."""

    title: str
    note: str
    optional: str
    required: str


Answer = discord.ui.TextInput[Any] | discord.ui.RadioGroup[Any] | discord.ui.CheckboxGroup[Any]


def question_input(q: Question, words: FormWords) -> Answer:
    """The form field for one question: a text box, a radio group (one choice, or 1 to 5), or a
    checkbox group (tick any)."""
    if q.kind in ("choice", "scale"):
        return discord.ui.RadioGroup(
            custom_id=q.key,
            required=q.required,
            options=[
                discord.RadioGroupOption(label=clip(o, 100), value=clip(o, 100)) for o in q.choices
            ],
        )
    if q.kind == "multi":
        return discord.ui.CheckboxGroup(
            custom_id=q.key,
            required=q.required,
            min_values=1 if q.required else 0,
            max_values=len(q.options),
            options=[
                discord.CheckboxGroupOption(label=clip(o, 100), value=clip(o, 100))
                for o in q.options
            ],
        )
    return discord.ui.TextInput(
        custom_id=q.key,
        style=discord.TextStyle.paragraph,
        required=q.required,
        max_length=1000,
        placeholder=clip(words.required if q.required else words.optional, 100),
    )


def answer_of(component: Answer) -> str | list[str]:
    if isinstance(component, discord.ui.CheckboxGroup):
        return list(component.values)
    if isinstance(component, discord.ui.RadioGroup):
        return component.value or ""
    return component.value or ""


class BookingModal(GuardedModal):
    """One page of the booking survey, built from the session's questions. It says who sees the
    answers and, when every place is taken, that it leads to the waiting list. A survey with
    more questions than one form holds (5 items) has a second page: after the first page is
    submitted, a Continue button opens it (Discord can't open a form from a form)."""

    where = "session booking form"

    def __init__(
        self,
        cog: MemberPresses,
        session: Session,
        questions: Sequence[Question],
        words: FormWords,
        *,
        page: int = 1,
        pages: int = 1,
    ) -> None:
        title = words.title if pages == 1 else f"{words.title} ({page}/{pages})"
        super().__init__(title=clip(title, 45), target=Target(session.guild_id))
        self.cog = cog
        self.session = session
        self.page, self.pages = page, pages
        self.inputs: list[tuple[Question, Answer]] = []
        if len(questions) < FORM_PAGE and page == 1:  # a form holds at most 5 items
            self.add_item(discord.ui.TextDisplay(clip(words.note, 4000)))
        for q in questions:
            component = question_input(q, words)
            self.add_item(
                discord.ui.Label(
                    text=q.label,
                    description=q.text if q.text != q.label else None,
                    component=component,
                )
            )
            self.inputs.append((q, component))

    async def submitted(self, interaction: discord.Interaction[Any]) -> None:
        answers = {q.key: answer_of(component) for q, component in self.inputs}
        await self.cog.submit_booking_page(
            interaction, self.session.id, answers, page=self.page, pages=self.pages
        )


class ContinueButton(_SessionButton, template=r"session:page:(?P<id>[0-9]+)"):
    """Opens the next page of the booking survey (sent with the first page's reply)."""

    where = "session survey next page"

    def __init__(self, session_id: int, label: str = "Continue to the next page") -> None:
        super().__init__(
            session_id,
            discord.ui.Button(
                label=label,
                style=discord.ButtonStyle.primary,
                custom_id=f"session:page:{session_id}",
            ),
        )

    async def act(self, interaction: discord.Interaction[Any]) -> None:
        await _cog(interaction).press_next_page(interaction, self.session_id)


class EvaluationModal(GuardedModal):
    """The evaluation form (opened from a DM or the server; the service checks attendance)."""

    where = "session evaluation form"

    def __init__(self, cog: MemberPresses, session: Session) -> None:
        super().__init__(
            title=clip(f"Feedback: {session.title}", 45),
            target=Target(session.guild_id, in_dms=True),
        )
        self.cog = cog
        self.session = session
        words = {5: "very useful", 4: "useful", 3: "okay", 2: "not very useful", 1: "not useful"}
        # A 1-to-5 scale answered in one tap.
        self.rating: discord.ui.RadioGroup[Any] = discord.ui.RadioGroup(
            custom_id="rating",
            required=True,
            options=[
                discord.RadioGroupOption(label=f"{n}: {w}", value=str(n)) for n, w in words.items()
            ],
        )
        self.useful: discord.ui.TextInput[Any] = discord.ui.TextInput(
            custom_id="useful",
            style=discord.TextStyle.paragraph,
            required=False,
            max_length=1000,
        )
        self.better: discord.ui.TextInput[Any] = discord.ui.TextInput(
            custom_id="better",
            style=discord.TextStyle.paragraph,
            required=False,
            max_length=1000,
        )
        self.add_item(
            discord.ui.Label(text="How useful was the session? (1 to 5)", component=self.rating)
        )
        self.add_item(discord.ui.Label(text="What was most useful?", component=self.useful))
        self.add_item(discord.ui.Label(text="What could be better?", component=self.better))

    async def submitted(self, interaction: discord.Interaction[Any]) -> None:
        session = await self.cog.sessions.evaluate(
            self.session.id,
            interaction.user.id,
            self.rating.value or "",
            self.useful.value,
            self.better.value,
        )
        await reply(
            interaction,
            await self.cog.words(session.guild_id, EVALUATION_THANKS, title=session.title),
        )
