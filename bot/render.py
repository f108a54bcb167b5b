"""Discord markup, in one place: timestamps, mentions, jump links, and fitting text into
Discord's limits. Plain string functions (no discord import), so any layer can format a value
the way Discord shows it; the domain hands over data and templates, and the adapters call these.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime

from bot.domain.values import Link, Mention, Mentions, Moment

__all__ = [
    "MESSAGE_LIMIT",
    "clip",
    "discord_value",
    "fit_list",
    "fit_message",
    "jump_link",
    "mention",
    "mentions_text",
    "plain_text",
    "ts",
    "when",
]

MESSAGE_LIMIT = 2000  # Discord: characters in one message


def ts(moment: datetime | float, style: str = "F") -> str:
    """A Discord timestamp, shown in each reader's own time zone."""
    seconds = moment.timestamp() if isinstance(moment, datetime) else moment
    return f"<t:{int(seconds)}:{style}>"


def when(moment: datetime | float) -> str:
    """``Thursday, 3 December 2026 14:00 (in 2 days)`` in the reader's zone."""
    return f"{ts(moment, 'F')} ({ts(moment, 'R')})"


def mention(user_id: int) -> str:
    return f"<@{user_id}>"


def mentions_text(user_ids: Iterable[int]) -> str:
    return " ".join(mention(u) for u in user_ids)


def jump_link(guild_id: int, channel_id: int, message_id: int | None = None) -> str:
    """A link to a message (or, without one, to a channel)."""
    if message_id is None:
        return f"https://discord.com/channels/{guild_id}/{channel_id}"
    return f"https://discord.com/channels/{guild_id}/{channel_id}/{message_id}"


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def fit_message(text: str, note: str, limit: int = MESSAGE_LIMIT) -> tuple[str, bool]:
    """``(text, False)`` if it fits in one message; otherwise ``(shortened, True)``: whole lines
    up to the limit, then ``note`` (which should say the full text is attached)."""
    if len(text) <= limit:
        return text, False
    room = limit - len(note) - 2
    cut = text.rfind("\n", 0, room)
    head = text[:cut] if cut > 0 else text[:room]
    return f"{head.rstrip()}\n\n{note}", True


def fit_list(
    lines: Sequence[tuple[str, bool]],
    more: Callable[[int], str],
    limit: int = MESSAGE_LIMIT,
) -> str:
    """Lines ``(text, is_entry)`` fitted into one message: whole lines while they fit; if some
    are left out, the text ends with ``more(n)``, ``n`` being how many entries (lines marked
    ``True``, e.g. one per person) are not shown. Never cut without saying so."""
    total = sum(len(text) + 1 for text, _ in lines)
    if total - 1 <= limit:
        return "\n".join(text for text, _ in lines)
    hidden = sum(1 for _, entry in lines if entry)
    shown: list[str] = []
    used = 0
    for text, entry in lines:
        note = more(hidden - (1 if entry else 0))
        if used + len(text) + 1 + len(note) + 2 > limit:
            break
        shown.append(text)
        used += len(text) + 1
        hidden -= 1 if entry else 0
    return "\n".join(shown).rstrip() + "\n\n" + more(hidden)


_RELATIVE = re.compile(r"\s*\(<t:-?\d+:R>\)")
_TIMESTAMP = re.compile(r"<t:(-?\d+)(?::[A-Za-z])?>")


def plain_text(text: str) -> str:
    """A message as plain text for an attached file: Discord timestamps become UTC times (a
    relative one is dropped) and bold markers go."""
    text = _RELATIVE.sub("", text)
    text = _TIMESTAMP.sub(
        lambda m: datetime.fromtimestamp(int(m.group(1)), UTC).strftime("%Y-%m-%d %H:%M UTC"),
        text,
    )
    return text.replace("**", "")


def discord_value(value: object) -> str:
    """A message's value (:mod:`bot.domain.values`) as Discord shows it; anything else as text."""
    if isinstance(value, Moment):
        return when(value.at) if value.style == "when" else ts(value.at, value.style)
    if isinstance(value, Link):
        return jump_link(value.guild_id, value.channel_id, value.message_id)
    if isinstance(value, Mention):
        return mention(value.user_id)
    if isinstance(value, Mentions):
        return mentions_text(value.user_ids)
    return str(value)
