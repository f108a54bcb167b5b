"""The feedback button and form."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Self

import discord

from bot.components import GuardedButton, GuardedModal, Target, cog_of
from bot.domain.feedback.models import QUESTIONS, FeedbackRound
from bot.domain.feedback.rules import MAX_ANSWER
from bot.domain.feedback.texts import NOT_AUDIENCE, THANKS, THANKS_LATE
from bot.errors import reply
from bot.notify import mention_groups as mention_groups  # its old home; tests import it here
from bot.render import clip

if TYPE_CHECKING:
    from cogs.feedback.cog import FeedbackCog


def _cog(interaction: discord.Interaction[Any]) -> FeedbackCog:
    cog: FeedbackCog = cog_of(interaction, "FeedbackCog")
    return cog


def thread_link(round: FeedbackRound) -> str:
    return f"https://discord.com/channels/{round.guild_id}/{round.thread_id or round.channel_id}"


class FeedbackModal(GuardedModal):
    """The three questions; at least one must be answered."""

    where = "feedback form"

    def __init__(
        self, cog: FeedbackCog, round: FeedbackRound, previous: dict[str, str | None]
    ) -> None:
        super().__init__(
            title=clip(f"Feedback: {round.title}", 45), target=Target(round.guild_id), timeout=1800
        )
        self.cog = cog
        self.round_id = round.id
        self.inputs: dict[str, discord.ui.TextInput[FeedbackModal]] = {}
        for question in QUESTIONS:
            field: discord.ui.TextInput[FeedbackModal] = discord.ui.TextInput(
                label=question.label,
                placeholder=question.placeholder,
                style=discord.TextStyle.paragraph,
                required=False,
                max_length=MAX_ANSWER,
                default=previous.get(question.key) or None,
            )
            self.inputs[question.key] = field
            self.add_item(field)

    async def submitted(self, interaction: discord.Interaction[Any]) -> None:
        values = {key: field.value for key, field in self.inputs.items()}
        found, recorded = await self.cog.service.record_form(
            self.round_id,
            interaction.user.id,
            values["works_well"],
            values["would_change"],
            values["missing"],
        )
        tpl = THANKS_LATE if recorded.late else THANKS
        text = await self.cog.bot.services.wording.render(found.guild_id, tpl, title=found.title)
        await reply(interaction, text)
        self.cog.refresh_post(found.id)


class GiveFeedbackButton(GuardedButton, template=r"feedback:give:(?P<round_id>\d+)"):
    """The persistent Give feedback button on a round's first message."""

    where = "give feedback button"

    def __init__(self, round_id: int) -> None:
        super().__init__(
            discord.ui.Button(
                label="Give feedback",
                style=discord.ButtonStyle.primary,
                custom_id=f"feedback:give:{round_id}",
            )
        )
        self.round_id = round_id

    @classmethod
    def from_match(cls, match: re.Match[str]) -> Self:
        return cls(int(match["round_id"]))

    async def target(self, interaction: discord.Interaction[Any]) -> Target:
        found = await _cog(interaction).service.get_by_id(self.round_id)
        return Target(found.guild_id if found else None)

    async def act(self, interaction: discord.Interaction[Any]) -> None:
        cog = _cog(interaction)
        found = await cog.service.get_by_id(self.round_id)
        assert found is not None  # checked by the guard just now
        if not await cog.service.in_audience(found.id, interaction.user.id):
            text = await cog.bot.services.wording.render(found.guild_id, NOT_AUDIENCE)
            await reply(interaction, text)
            return
        previous = await cog.service.previous_answers(found.id, interaction.user.id)
        answers = {q.key: getattr(previous, q.key) if previous else None for q in QUESTIONS}
        await interaction.response.send_modal(FeedbackModal(cog, found, answers))
