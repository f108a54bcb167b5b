"""Command options that choose a call, feedback round, session or meeting by its per-server
number, with autocomplete of this server's items (one factory for all of them)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

import discord
from discord import app_commands

from bot.render import clip

if TYPE_CHECKING:
    from bot.client import CoproBot

__all__ = ["MAX_CHOICES", "MAX_CHOICE_NAME", "NumberTransformer", "number_option"]

MAX_CHOICES = 25  # Discord shows at most 25 autocomplete choices
MAX_CHOICE_NAME = 100  # and cuts nothing itself: longer names are refused


class Numbered(Protocol):
    @property
    def number(self) -> int: ...


T = TypeVar("T", bound=Numbered)


class NumberTransformer(app_commands.Transformer, Generic[T]):
    """An integer option: the item's number. Autocomplete offers this server's items matching
    what was typed, named by ``label``."""

    def __init__(
        self,
        search: Callable[[CoproBot, int, str], Awaitable[Sequence[T]]],
        label: Callable[[CoproBot, T], str],
    ) -> None:
        self.search = search
        self.label = label

    @property
    def type(self) -> discord.AppCommandOptionType:
        return discord.AppCommandOptionType.integer

    async def transform(self, interaction: discord.Interaction, value: int) -> int:  # type: ignore[override]
        return int(value)

    async def autocomplete(  # type: ignore[override]
        self, interaction: discord.Interaction, value: int | float | str
    ) -> list[app_commands.Choice[int]]:
        bot: CoproBot = interaction.client  # type: ignore[assignment]
        if interaction.guild_id is None:
            return []
        found = await self.search(bot, interaction.guild_id, str(value or ""))
        return [
            app_commands.Choice(
                name=clip(self.label(bot, item), MAX_CHOICE_NAME), value=item.number
            )
            for item in list(found)[:MAX_CHOICES]
        ]


def number_option(
    search: Callable[[CoproBot, int, str], Awaitable[Sequence[T]]],
    label: Callable[[CoproBot, T], str],
) -> Any:
    """The annotation for an option choosing an item by number, e.g.
    ``CallOption = number_option(lambda bot, guild_id, text: bot.services.calls.search(guild_id,
    text), lambda bot, call: f"#{call.number} {call.title}")``; use it as ``call: CallOption``
    (or ``CallOption | None``)."""
    return app_commands.Transform[int, NumberTransformer(search, label)]
