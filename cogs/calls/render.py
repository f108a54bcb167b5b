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
from bot.render import when
from cogs._layout import LayoutPart, layout_post

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
) -> discord.ui.LayoutView:
    """The call post, as a layout post: a heading, the description, then one part each for the
    categories (with their counts in words), the status, the fairness code and, once the call
    is closed, the frozen list's fingerprint. Every emoji is followed by words, and no symbol
    stands between numbers (a screen reader reads " · " as "dot"), so screen readers lose
    nothing. Reactions on the post are how members volunteer.

    ``how`` is the server's wording for the status part (see :func:`call_instructions`); without
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
    if how is None:
        if call.is_open:
            how = CALL_INSTRUCTIONS.default.format(choices=choices_text(details.categories))
            if call.closes_at:
                how += "\n" + CALL_CLOSES.default.format(when=when(call.closes_at))
        else:
            how = CALL_CLOSED_NOTE.default
    # The commitment must be visible before the draw; short, so a screen reader reads the name,
    # the code and one plain sentence.
    parts = [
        LayoutPart("Categories", "\n".join(lines)),
        LayoutPart(STATUS_WORDS.get(call.status, call.status), how),
        LayoutPart(FAIRNESS_FIELD, call.seed_commitment),
    ]
    if freeze is not None:
        parts.append(
            LayoutPart(
                FROZEN_FIELD,
                f"Fingerprint: {freeze.freeze_hash}\n"
                f"{freeze.beacon_name}, out {when(freeze.beacon_due_at)}\n"
                f"({len(freeze.roster)} volunteers; the list is in the reply below this post)",
            )
        )
    docs = f"{docs_url.rstrip('/')}/draw.md" if docs_url else "docs/draw.md"
    return layout_post(
        title=f"Call #{call.number}: {call.title}",
        intro=call.description or "",
        parts=parts,
        footer=FAIRNESS_NOTE.format(docs=docs),
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
