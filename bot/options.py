"""Command options that choose a call, feedback round, session or meeting by its per-server
number, with autocomplete of this server's items. Declare one as
``CallOption = app_commands.Transform[int, NumberTransformer(search, label)]`` and use it as
``call: CallOption`` (type checkers see an ``int``)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

import discord
from discord import app_commands

from bot.checks import is_organiser
from bot.domain.errors import NotFound
from bot.render import clip

if TYPE_CHECKING:
    from bot.client import CoproBot

__all__ = ["MAX_CHOICES", "MAX_CHOICE_NAME", "NumberTransformer"]

MAX_CHOICES = 25  # Discord shows at most 25 autocomplete choices
MAX_CHOICE_NAME = 100  # and cuts nothing itself: longer names are refused
MAX_NUMBER = 2**53  # the largest integer a Discord option carries exactly


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

    async def transform(self, interaction: discord.Interaction[Any], value: Any, /) -> int:
        number = int(value)
        if not 1 <= number <= MAX_NUMBER:  # no item has it (and SQLite can't even look it up)
            raise NotFound(
                f"There is no number {clip(str(value), 24)} here. Start typing in the option "
                "to see the ones there are."
            )
        return number

    async def autocomplete(  # type: ignore[override]  # narrower choices than Choice[int|float|str]
        self, interaction: discord.Interaction[Any], value: int | float | str, /
    ) -> list[app_commands.Choice[int]]:
        """This server's items matching what was typed, for organisers only: a member who may
        not use the command learns nothing (not even titles of rounds in private channels)."""
        bot: CoproBot = interaction.client
        if interaction.guild_id is None or not await is_organiser(interaction):
            return []
        found = await self.search(bot, interaction.guild_id, str(value or ""))
        return [
            app_commands.Choice(
                name=clip(self.label(bot, item), MAX_CHOICE_NAME), value=item.number
            )
            for item in list(found)[:MAX_CHOICES]
        ]
