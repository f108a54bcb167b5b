"""The draw's persistent buttons."""

from __future__ import annotations

import re
from typing import Any, Literal, Self

import discord

from bot.components import GuardedButton, Target, cog_of

# action -> (label, style). Words on every button; colour is never the only signal.
BUTTONS: dict[str, tuple[str, discord.ButtonStyle]] = {
    "confirm": ("Confirm my place", discord.ButtonStyle.success),
    "decline": ("I can't take part", discord.ButtonStyle.secondary),
    "review": ("Yes, I'd like to review", discord.ButtonStyle.primary),
    "noreview": ("No, thanks", discord.ButtonStyle.secondary),
}


ANYONE = 0  # user id in a button meant for several members (posted in a channel)


# The one button left on a drawn member's message once they have confirmed their place.
DECLINE_AFTER_ALL = "I can't take part after all"


class DrawButton(
    GuardedButton,
    template=r"draw:(?P<action>confirm|decline|review|noreview):(?P<call_id>\d+):(?P<user_id>\d+)",
):
    """A member's answer after a draw. ``user_id`` 0: for whichever member it concerns."""

    where = "draw button"

    def __init__(self, action: str, call_id: int, user_id: int, label: str | None = None) -> None:
        default_label, style = BUTTONS[action]
        label = label or default_label
        super().__init__(
            discord.ui.Button(
                label=label, style=style, custom_id=f"draw:{action}:{call_id}:{user_id}"
            )
        )
        self.action = action
        self.call_id = call_id
        self.user_id = user_id

    @classmethod
    def from_match(cls, match: re.Match[str]) -> Self:
        return cls(match["action"], int(match["call_id"]), int(match["user_id"]))

    async def target(self, interaction: discord.Interaction[Any]) -> Target:
        guild_id = await cog_of(interaction, "Draws").draws.guild_of(self.call_id)
        return Target(guild_id, None if self.user_id == ANYONE else self.user_id)

    async def act(self, interaction: discord.Interaction[Any]) -> None:
        await cog_of(interaction, "Draws").on_button(
            interaction, self.action, self.call_id, self.user_id
        )


def answer_buttons(kind: str, call_id: int, user_id: int) -> discord.ui.View:
    """``kind`` "place": Confirm / I can't; "review": Yes / No, thanks."""
    view = discord.ui.View(timeout=None)
    actions = ("confirm", "decline") if kind == "place" else ("review", "noreview")
    for action in actions:
        view.add_item(DrawButton(action, call_id, user_id))
    return view


Answer = Literal["confirmed", "declined", "review_yes", "review_no"]


def answered_buttons(answer: Answer, call_id: int, user_id: int) -> discord.ui.View | None:
    """What is left on a member's message once they answered: only the other choice
    (confirmed: "I can't take part after all"; reviewing: the opposite answer); none once a
    place was given up."""
    if answer == "declined":
        return None
    view = discord.ui.View(timeout=None)
    if answer == "confirmed":
        view.add_item(DrawButton("decline", call_id, user_id, label=DECLINE_AFTER_ALL))
    else:
        view.add_item(
            DrawButton("noreview" if answer == "review_yes" else "review", call_id, user_id)
        )
    return view


# answer -> (label, style) of the "are you sure?" buttons shown before a place is given away.
DECLINE_CHECK_BUTTONS: dict[str, tuple[str, discord.ButtonStyle]] = {
    "yes": ("Yes, offer my place to someone else", discord.ButtonStyle.danger),
    "no": ("No, keep my place", discord.ButtonStyle.secondary),
}


class DeclineCheckButton(
    GuardedButton,
    template=(
        r"draw:decline-(?P<answer>yes|no):(?P<call_id>\d+):(?P<user_id>\d+)"
        r"(?::(?P<message_id>\d+))?"
    ),
):
    """One more press before a place is given away (an accidental press can't be undone).
    Persistent: works after a restart, for the member it was shown to only. ``message_id``: the
    member's direct message the question came from (0: none), edited to record the answer."""

    where = "draw decline check"

    def __init__(self, answer: str, call_id: int, user_id: int, message_id: int = 0) -> None:
        label, style = DECLINE_CHECK_BUTTONS[answer]
        custom_id = f"draw:decline-{answer}:{call_id}:{user_id}"
        if message_id:
            custom_id += f":{message_id}"
        super().__init__(discord.ui.Button(label=label, style=style, custom_id=custom_id))
        self.answer = answer
        self.call_id = call_id
        self.user_id = user_id
        self.message_id = message_id

    @classmethod
    def from_match(cls, match: re.Match[str]) -> Self:
        return cls(
            match["answer"],
            int(match["call_id"]),
            int(match["user_id"]),
            int(match["message_id"] or 0),
        )

    async def target(self, interaction: discord.Interaction[Any]) -> Target:
        guild_id = await cog_of(interaction, "Draws").draws.guild_of(self.call_id)
        return Target(guild_id, self.user_id)

    async def act(self, interaction: discord.Interaction[Any]) -> None:
        await cog_of(interaction, "Draws").on_decline_check(
            interaction, self.answer == "yes", self.call_id, self.user_id, self.message_id
        )


def decline_check_buttons(call_id: int, user_id: int, message_id: int = 0) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    for answer in DECLINE_CHECK_BUTTONS:
        view.add_item(DeclineCheckButton(answer, call_id, user_id, message_id))
    return view
