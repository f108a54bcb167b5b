"""How a feedback round's first message looks: a layout post with the plan, its version, the
deadline and the live "8 of 11 replied" counter, and the Give feedback button beside it."""

from __future__ import annotations

from typing import Any

import discord

from bot.domain.feedback.models import FeedbackRound
from bot.render import when
from cogs._layout import LayoutPart, layout_post


def round_post(
    found: FeedbackRound,
    intro: str,
    counter: str,
    *,
    on_time: bool,
    button: discord.ui.Item[Any],
) -> discord.ui.LayoutView:
    """``intro`` and ``counter`` are in the server's wording (the cog renders them)."""
    if on_time:
        status = LayoutPart("Deadline", when(found.closes_at))
    else:  # closed early by an organiser, or at its deadline
        ended = found.closed_at if found.closed_at is not None else found.closes_at
        status = LayoutPart("Closed", when(min(ended, found.closes_at)))
    return layout_post(
        title=f"Feedback round #{found.number}: {found.title}",
        intro=intro,
        parts=[
            LayoutPart(f"The plan (version {found.version})", found.plan),
            status,
            LayoutPart("Responses", counter, button),
        ],
        colour=discord.Colour.blurple() if on_time else discord.Colour.dark_grey(),
    )
