"""How a call post looks."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord

from bot.domain.calls.models import Call, CallDetails
from bot.domain.calls.rules import choices_text
from bot.domain.calls.texts import (
    CALL_CLOSED_NOTE,
    CALL_CLOSES,
    CALL_INSTRUCTIONS,
)
from bot.render import when
from cogs._layout import LayoutPart, layout_post

if TYPE_CHECKING:
    from bot.client import CoproBot


STATUS_WORDS = {"open": "Open for volunteers", "closed": "Closed"}


FAIRNESS_FIELD = "Fairness code (for checking the draw)"


FAIRNESS_NOTE = (
    "Fair draw: this code locks in the draw before anyone signs up. How to check it: docs/draw.md"
)


def post_link(call: Call) -> str:
    """The call post's address (the channel's if the post is not known)."""
    tail = f"/{call.message_id}" if call.message_id else ""
    return f"https://discord.com/channels/{call.guild_id}/{call.channel_id}{tail}"


def render_call(details: CallDetails, how: str | None = None) -> discord.ui.LayoutView:
    """The call post, as a layout post: a heading, the description, then one part each for the
    categories (with their counts in words), the status and the fairness code. Every emoji is
    followed by words, and no symbol stands between numbers (a screen reader reads " · " as
    "dot"), so screen readers lose nothing. Reactions on the post are how members volunteer.

    ``how`` is the server's wording for the status part (see :func:`call_instructions`); without
    it the default wording is used.
    """
    call = details.call
    lines = []
    for cat in details.categories:
        count = details.counts.get(cat.id, 0)
        place_word = "place" if cat.places == 1 else "places"
        vol_word = "volunteer" if count == 1 else "volunteers"
        lines.append(f"{cat.emoji} **{cat.label}**: {cat.places} {place_word}, {count} {vol_word}")
    if how is None:
        if call.is_open:
            how = CALL_INSTRUCTIONS.default.format(choices=choices_text(details.categories))
            if call.closes_at:
                how += "\n" + CALL_CLOSES.default.format(when=when(call.closes_at))
        else:
            how = CALL_CLOSED_NOTE.default
    # The commitment must be visible before the draw; short, so a screen reader reads the name,
    # the code and one plain sentence.
    return layout_post(
        title=f"Call #{call.number}: {call.title}",
        intro=call.description or "",
        parts=[
            LayoutPart("Categories", "\n".join(lines)),
            LayoutPart(STATUS_WORDS.get(call.status, call.status), how),
            LayoutPart(FAIRNESS_FIELD, call.seed_commitment),
        ],
        footer=FAIRNESS_NOTE,
        colour=discord.Colour.blurple() if call.is_open else discord.Colour.dark_grey(),
    )


async def call_instructions(bot: CoproBot, call: Call) -> str:
    """The status text on a call post, in the server's own words (/wording)."""
    wording = bot.services.wording
    if not call.is_open:
        return await wording.render(call.guild_id, CALL_CLOSED_NOTE)
    choices = choices_text(await bot.services.calls.categories(call.id))
    how = await wording.render(call.guild_id, CALL_INSTRUCTIONS, choices=choices)
    if call.closes_at:
        how += "\n" + await wording.render(call.guild_id, CALL_CLOSES, when=when(call.closes_at))
    return how
