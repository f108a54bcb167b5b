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
from bot.render import clip, when

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


def render_call(details: CallDetails, how: str | None = None) -> discord.Embed:
    """The call post. Every emoji is followed by words, and no symbol stands between numbers
    (a screen reader reads " · " as "dot"), so screen readers lose nothing.

    ``how`` is the server's wording for the status field (see :func:`call_instructions`); without
    it the default wording is used.
    """
    call = details.call
    lines = []
    for cat in details.categories:
        count = details.counts.get(cat.id, 0)
        place_word = "place" if cat.places == 1 else "places"
        vol_word = "volunteer" if count == 1 else "volunteers"
        lines.append(f"{cat.emoji} **{cat.label}**: {cat.places} {place_word}, {count} {vol_word}")
    embed = discord.Embed(
        title=clip(f"Call #{call.number}: {call.title}", 256),
        description=clip(call.description, 3000) if call.description else None,
        colour=discord.Colour.blurple() if call.is_open else discord.Colour.dark_grey(),
    )
    embed.add_field(name="Categories", value=clip("\n".join(lines), 1024), inline=False)
    if how is None:
        if call.is_open:
            how = CALL_INSTRUCTIONS.default.format(choices=choices_text(details.categories))
            if call.closes_at:
                how += "\n" + CALL_CLOSES.default.format(when=when(call.closes_at))
        else:
            how = CALL_CLOSED_NOTE.default
    embed.add_field(
        name=STATUS_WORDS.get(call.status, call.status), value=clip(how, 1024), inline=False
    )
    # The commitment must be visible before the draw; short, so a screen reader reads the name,
    # the code and one plain sentence.
    embed.add_field(name=FAIRNESS_FIELD, value=call.seed_commitment, inline=False)
    embed.set_footer(text=FAIRNESS_NOTE)
    return embed


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
