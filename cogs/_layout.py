"""Layout posts (Discord's Components V2): one container with a heading, then a part per topic
(its own small heading and text), optional buttons in a part's section or in a row at the end.

Every post built here stays inside Discord's limits for one message: at most
:data:`MAX_COMPONENTS` components (nested ones counted) and :data:`MAX_TEXT` characters across all
text displays. Texts are shortened (never dropped) to fit: the longest part gives way first.

Counts are written as words next to their label ("Places: 3 of 22 taken"), each part starts with
a heading, so a screen reader reads the post top to bottom like a short page.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import discord

from bot.render import clip

__all__ = [
    "MAX_COMPONENTS",
    "MAX_TEXT",
    "LayoutPart",
    "count_components",
    "fit_texts",
    "layout_post",
    "text_length",
]

MAX_COMPONENTS = 40  # Discord: components in one message, nested ones counted
MAX_TEXT = 4000  # Discord: characters across all text displays of one message


@dataclass(frozen=True, slots=True)
class LayoutPart:
    """One part of a post: a heading, its text, and an optional button shown beside it."""

    heading: str
    text: str
    button: discord.ui.Item[Any] | None = None


def fit_texts(texts: Sequence[str], limit: int) -> list[str]:
    """Shorten the longest texts first until their total length is at most ``limit``."""
    result = list(texts)
    while (excess := sum(len(t) for t in result) - limit) > 0:
        longest = max(range(len(result)), key=lambda i: len(result[i]))
        size = len(result[longest])
        if size <= 1:
            break
        result[longest] = clip(result[longest], max(size - excess, size // 2, 1))
    return result


def layout_post(
    *,
    title: str,
    intro: str = "",
    parts: Sequence[LayoutPart] = (),
    footer: str = "",
    buttons: Sequence[discord.ui.Item[Any]] = (),
    colour: discord.Colour | None = None,
    separators: bool = True,
) -> discord.ui.LayoutView:
    """A layout post: ``## title``, the intro, then each part (``### heading`` and text, with its
    button beside it when it has one), a row of ``buttons`` and a small ``footer``. Without
    ``separators`` the parts follow each other without a line between (fewer components)."""
    display = [
        f"## {title}",
        intro,
        *(f"### {p.heading}\n{p.text}" for p in parts),
        f"-# {footer}" if footer else "",
    ]
    # The text of every part, fitted together (markup characters count too).
    fitted = fit_texts(display, MAX_TEXT)
    head, intro_text, *part_texts, footer_text = fitted
    view = discord.ui.LayoutView(timeout=None)
    container: discord.ui.Container[Any] = discord.ui.Container(accent_colour=colour)
    container.add_item(discord.ui.TextDisplay(head))
    if intro_text:
        container.add_item(discord.ui.TextDisplay(intro_text))
    for part, text in zip(parts, part_texts, strict=True):
        if separators:
            container.add_item(discord.ui.Separator())
        if part.button is not None:
            container.add_item(
                discord.ui.Section(discord.ui.TextDisplay(text), accessory=part.button)
            )
        else:
            container.add_item(discord.ui.TextDisplay(text))
    if buttons:
        container.add_item(discord.ui.Separator())
        row: discord.ui.ActionRow[Any] = discord.ui.ActionRow()
        for item in buttons:
            row.add_item(item)
        container.add_item(row)
    if footer_text:
        container.add_item(discord.ui.TextDisplay(footer_text))
    view.add_item(container)
    return view


def count_components(view: discord.ui.LayoutView) -> int:
    """Every component in the post, nested ones counted (as Discord counts them)."""
    return sum(1 for _ in view.walk_children())


def text_length(view: discord.ui.LayoutView) -> int:
    """Characters across all the post's text displays."""
    return sum(
        len(item.content)
        for item in view.walk_children()
        if isinstance(item, discord.ui.TextDisplay)
    )
