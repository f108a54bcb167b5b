"""How meeting polls look: the poll's answers (times in the server's zone) and the result for
the organiser (counts, who can come, a button per time)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import discord

from bot.domain.meetings.models import MeetingPoll
from bot.domain.meetings.polls import winner
from bot.render import clip, mentions_text, ts
from cogs._layout import LayoutPart, layout_post

MAX_ANSWER = 55  # Discord: characters in a poll answer


def option_label(at: float, tz: str) -> str:
    """``Tue 12 Jan 2027, 18:00`` in the server's time zone (a poll answer can't hold a Discord
    timestamp, so the zone is named in the question)."""
    local = datetime.fromtimestamp(at, ZoneInfo(tz))
    return clip(f"{local:%a} {local.day} {local:%b %Y, %H:%M}", MAX_ANSWER)


def poll_question(title: str, tz: str) -> str:
    return clip(f"{title}: which times can you come? ({tz} time)", 300)


def poll_result(
    poll: MeetingPoll, tz: str, buttons: list[discord.ui.Item[Any]]
) -> discord.ui.LayoutView:
    """For the organiser: each time with how many can come and who, and a button beside it that
    makes the meeting at that time. The most popular time is named first."""
    best = winner(poll)
    parts = []
    for index, (at, who) in enumerate(zip(poll.options, poll.voters, strict=False)):
        count = len(who)
        people = "person" if count == 1 else "people"
        text = f"{ts(at, 'F')}: {count} {people} can come"
        if who:
            text += f": {mentions_text(who)}"
        heading = option_label(at, tz) + (" (most people)" if index == best else "")
        parts.append(LayoutPart(heading, text, buttons[index]))
    intro = (
        "The poll has closed. Press **Make the meeting** beside the time you choose: the meeting "
        "is posted with its server event and reminders, as with `/meeting create`."
    )
    if best is None:
        intro = "The poll has closed with no votes. " + intro
    # Up to 8 times with a line between them; 9 or 10 without, to stay within 40 components.
    return layout_post(
        title=f"Poll closed: {poll.title}", intro=intro, parts=parts, separators=len(parts) <= 8
    )
