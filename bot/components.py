"""One guarded base for every persistent button and form the bot shows.

A button's ``custom_id`` is not a secret: another app's message can carry any custom_id, in any
server or in a DM, and discord.py dispatches it to our DynamicItem all the same. So before a
component does anything, the base checks, once for all of them:

* the object it acts on still exists and belongs to the server the press came from;
* a server button is pressed in its server (not from a DM), unless the component is meant for
  DMs, in which case the action itself checks the presser's own standing (a booking, a place);
* a personal component (one member's draw answer) is pressed by that member.

A refusal is a kind ephemeral note; any error goes to the one error path
(:func:`bot.errors.handle_interaction_error`). Subclasses say only what they act on
(:meth:`GuardedButton.target`) and what they do (:meth:`GuardedButton.act`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, ClassVar, Self

import discord

from bot.domain.common.texts import (
    BUTTON_GONE,
    BUTTON_IN_SERVER,
    BUTTON_NOT_YOURS,
    BUTTON_OTHER_SERVER,
)
from bot.domain.errors import DomainError
from bot.domain.wording.templates import Template
from bot.errors import handle_interaction_error, reply

__all__ = ["GuardedButton", "GuardedModal", "Refused", "Target", "check_target", "cog_of"]


class Refused(DomainError):
    """A press the guard refuses; shown in the server's own wording of ``template``."""

    def __init__(self, template: Template, guild_id: int | None) -> None:
        super().__init__(template.default)
        self.template = template
        self.guild_id = guild_id


@dataclass(frozen=True, slots=True)
class Target:
    """What a component acts on: its server (``None``: it no longer exists), the member it is
    for (``None``: anyone in that server), and whether it may be pressed in a DM."""

    guild_id: int | None
    member_id: int | None = None
    in_dms: bool = False


def check_target(interaction: discord.Interaction[Any], target: Target) -> None:
    """Raise :class:`Refused` for a press that must not act."""
    if target.guild_id is None:
        raise Refused(BUTTON_GONE, interaction.guild_id)
    if interaction.guild_id is not None:
        if interaction.guild_id != target.guild_id:
            # Words of the server the press came from: the other server is none of its business.
            raise Refused(BUTTON_OTHER_SERVER, interaction.guild_id)
    elif target.member_id is None and not target.in_dms:
        raise Refused(BUTTON_IN_SERVER, target.guild_id)
    if target.member_id is not None and interaction.user.id != target.member_id:
        raise Refused(BUTTON_NOT_YOURS, target.guild_id)


async def refuse(interaction: discord.Interaction[Any], refused: Refused) -> None:
    """Tell the presser kindly, in the server's own words, that nothing was done."""
    services = getattr(interaction.client, "services", None)
    text = refused.template.default
    if services is not None:
        text = await services.wording.render(refused.guild_id, refused.template)
    await reply(interaction, text)


def cog_of(interaction: discord.Interaction[Any], name: str) -> Any:
    """The loaded cog called ``name`` (a component finds its feature's cog at press time)."""
    cog = interaction.client.get_cog(name)
    if cog is None:
        raise RuntimeError(f"the {name} cog is not loaded")
    return cog


_NEVER = r"(?!)"  # the template of abstract bases: matches no custom_id

MAX_ID = 2**63 - 1  # SQLite's INTEGER and Discord's snowflakes fit; a forged id beyond does not


def numbers_in_range(match: re.Match[str]) -> bool:
    """Whether every number in a custom_id fits the database (another app can put any digits
    in a custom_id; a 30-digit id must be a kind refusal, not a crash)."""
    return all(
        not (value and value.isdigit()) or int(value) <= MAX_ID
        for value in match.groupdict().values()
    )


class GuardedButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=_NEVER):
    """A persistent button (``template=`` the custom_id pattern, as DynamicItem; a base class
    of several buttons leaves it out)."""

    where: ClassVar[str] = "button"
    out_of_range: bool = False  # a forged custom_id with a number no object can have

    def __init_subclass__(cls, *, template: str | re.Pattern[str] = _NEVER) -> None:
        super().__init_subclass__(template=template)

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction[Any],
        item: discord.ui.Item[Any],
        match: re.Match[str],
        /,
    ) -> Self:
        item = cls.from_match(match)
        item.out_of_range = not numbers_in_range(match)
        return item

    @classmethod
    def from_match(cls, match: re.Match[str]) -> Self:
        """The button again, from its custom_id's named groups."""
        raise NotImplementedError

    async def target(self, interaction: discord.Interaction[Any]) -> Target:
        raise NotImplementedError

    async def act(self, interaction: discord.Interaction[Any]) -> None:
        raise NotImplementedError

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        try:
            if self.out_of_range:
                raise Refused(BUTTON_GONE, interaction.guild_id)
            check_target(interaction, await self.target(interaction))
            await self.act(interaction)
        except Refused as refused:
            await refuse(interaction, refused)
        except Exception as exc:
            await handle_interaction_error(interaction, exc, where=self.where)


class GuardedModal(discord.ui.Modal):
    """A form about one object. Each instance keeps discord.py's random custom_id, so two members
    submitting at the same moment never share a form."""

    where: ClassVar[str] = "form"

    def __init__(self, *, title: str, target: Target, timeout: float | None = 900) -> None:
        super().__init__(title=title, timeout=timeout)
        self.guard = target

    async def submitted(self, interaction: discord.Interaction[Any]) -> None:
        raise NotImplementedError

    async def on_submit(self, interaction: discord.Interaction[Any], /) -> None:
        try:
            check_target(interaction, self.guard)
            await self.submitted(interaction)
        except Refused as refused:
            await refuse(interaction, refused)
        except Exception as exc:
            await handle_interaction_error(interaction, exc, where=self.where)

    # discord.py's Modal narrows BaseView.on_error (no item argument); we follow Modal.
    async def on_error(  # type: ignore[override]
        self, interaction: discord.Interaction[Any], error: Exception, /
    ) -> None:
        await handle_interaction_error(interaction, error, where=self.where)
