"""Layout posts stay within Discord's limits for one message (40 components counting nested
ones, 4,000 characters of text) whatever their content, and keep their headings and counts."""

from __future__ import annotations

import discord

from bot.domain.meetings.models import MeetingPoll
from cogs._layout import (
    MAX_COMPONENTS,
    MAX_TEXT,
    LayoutPart,
    count_components,
    fit_texts,
    layout_post,
    text_length,
)
from cogs.meetings.render import poll_result
from cogs.meetings.views import PickTimeButton


def within_limits(view: discord.ui.LayoutView) -> bool:
    return count_components(view) <= MAX_COMPONENTS and text_length(view) <= MAX_TEXT


def test_fit_texts_shortens_the_longest_first() -> None:
    fitted = fit_texts(["short", "x" * 5000, "y" * 300], 1000)
    assert sum(len(t) for t in fitted) <= 1000
    assert fitted[0] == "short" and fitted[2] == "y" * 300  # the short ones are kept whole


def test_a_post_with_huge_texts_fits_and_keeps_every_heading() -> None:
    parts = [LayoutPart(f"Part {i}", "words " * 800) for i in range(8)]
    view = layout_post(title="T" * 300, intro="intro " * 900, parts=parts, footer="f" * 200)
    assert within_limits(view)
    texts = [i.content for i in view.walk_children() if isinstance(i, discord.ui.TextDisplay)]
    for i in range(8):
        assert any(t.startswith(f"### Part {i}") for t in texts)


def test_a_ten_option_poll_result_fits_with_a_button_per_time() -> None:
    poll = MeetingPoll(
        id=1,
        guild_id=9,
        title="Group meeting " * 5,
        options=tuple(1_800_000_000.0 + 3600 * i for i in range(10)),
        duration_seconds=3600,
        call_id=None,
        role_id=None,
        channel_id=10,
        message_id=11,
        closes_at=1_790_000_000.0,
        status="closed",
        voters=tuple(tuple(range(100 + i * 40, 130 + i * 40)) for i in range(10)),
        meeting_id=None,
        created_by=1,
        created_at=1_780_000_000.0,
    )
    view = poll_result(poll, "Europe/London", [PickTimeButton(1, i) for i in range(10)])
    assert within_limits(view)
    ids = [
        getattr(i, "custom_id", None)
        for i in view.walk_children()
        if isinstance(i, discord.ui.Button | PickTimeButton)
    ]
    assert len([c for c in ids if c]) == 10
    text = "".join(i.content for i in view.walk_children() if isinstance(i, discord.ui.TextDisplay))
    assert "30 people can come" in text
