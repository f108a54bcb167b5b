"""The "I'm here" button on meeting and session posts (events not in a voice channel)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Self

import discord

from bot.components import GuardedButton, Target
from bot.domain.attendance.models import EventKind
from bot.domain.attendance.service import HereRefused
from bot.domain.attendance.texts import BUTTON_HERE, HERE_THANKS
from bot.errors import reply

if TYPE_CHECKING:
    from bot.client import CoproBot


def _bot(interaction: discord.Interaction[Any]) -> CoproBot:
    bot: CoproBot = interaction.client
    return bot


class HereButton(GuardedButton, template=r"attendance:here:(?P<kind>meeting|session):(?P<id>\d+)"):
    """Marks the member who presses it as present (only while the event is on, only for who it
    is for)."""

    where = "I'm here button"

    def __init__(self, kind: EventKind, event_id: int, label: str = BUTTON_HERE.default) -> None:
        super().__init__(
            discord.ui.Button(
                label=label,
                style=discord.ButtonStyle.success,
                custom_id=f"attendance:here:{kind.value}:{event_id}",
            )
        )
        self.kind = kind
        self.event_id = event_id

    @classmethod
    def from_match(cls, match: re.Match[str]) -> Self:
        return cls(EventKind(match["kind"]), int(match["id"]))

    async def target(self, interaction: discord.Interaction[Any]) -> Target:
        event = await _bot(interaction).services.attendance.repo.event(self.kind, self.event_id)
        return Target(event.guild_id if event else None)

    async def act(self, interaction: discord.Interaction[Any]) -> None:
        bot = _bot(interaction)
        wording = bot.services.wording
        try:
            event = await bot.services.attendance.here(
                self.kind, self.event_id, interaction.user.id
            )
        except HereRefused as refused:
            await reply(
                interaction,
                await wording.render(interaction.guild_id, refused.template, **refused.values),
            )
            return
        await reply(
            interaction, await wording.render(event.guild_id, HERE_THANKS, title=event.title)
        )
