"""How a call post looks."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import discord

from bot.domain.calls.models import Call, CallDetails
from bot.domain.calls.rules import choices_text
from bot.domain.calls.texts import (
    CALL_CLOSED_NOTE,
    CALL_CLOSES,
    CALL_INSTRUCTIONS,
)
from bot.domain.draws.models import FreezeRecord
from bot.render import clip, when

if TYPE_CHECKING:
    from bot.client import CoproBot


STATUS_WORDS = {"open": "Open for volunteers", "closed": "Closed"}


FAIRNESS_FIELD = "Fairness code (for checking the draw)"


FAIRNESS_NOTE = (
    "Fair draw: this code fixes a secret number before anyone signs up, and when the call closes "
    "the list of volunteers is frozen and published here before the public randomness the draw "
    "also uses exists. So nobody, not even whoever runs the bot, can steer who is drawn. "
    "How to check it: {docs}"
)


FROZEN_FIELD = "Frozen list of volunteers (for checking the draw)"


def post_link(call: Call) -> str:
    """The call post's address (the channel's if the post is not known)."""
    tail = f"/{call.message_id}" if call.message_id else ""
    return f"https://discord.com/channels/{call.guild_id}/{call.channel_id}{tail}"


def render_call(
    details: CallDetails,
    how: str | None = None,
    *,
    freeze: FreezeRecord | None = None,
    docs_url: str = "",
) -> discord.Embed:
    """The call post. Every emoji is followed by words, and no symbol stands between numbers
    (a screen reader reads " · " as "dot"), so screen readers lose nothing.

    ``how`` is the server's wording for the status field (see :func:`call_instructions`); without
    it the default wording is used.
    """
    call = details.call
    lines = []
    for cat in details.categories:
        count = details.counts.get(cat.id, 0)
        if freeze is not None:  # the places are those fixed at the freeze
            cat = replace(cat, places=freeze.places.get(cat.key, cat.places))
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
    if freeze is not None:
        embed.add_field(
            name=FROZEN_FIELD,
            value=clip(
                f"Fingerprint: {freeze.freeze_hash}\n"
                f"{freeze.beacon_name}, out {when(freeze.beacon_due_at)}\n"
                f"({len(freeze.roster)} volunteers; the list is in the reply below this post)",
                1024,
            ),
            inline=False,
        )
    docs = f"{docs_url.rstrip('/')}/draw.md" if docs_url else "docs/draw.md"
    embed.set_footer(text=FAIRNESS_NOTE.format(docs=docs))
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
