"""Draw results and status as Discord text."""

from __future__ import annotations

from typing import Any

import discord

from bot.domain.delivery.models import CHANNEL, SENT, UNKNOWN
from bot.domain.draws.algorithm import (
    ALGORITHM,
    chance_words,
)
from bot.domain.draws.models import (
    DELETED,
    DrawView,
    FreezeRecord,
)
from bot.domain.draws.rules import entry_code
from bot.domain.draws.service import DOCS
from bot.domain.draws.texts import RESULT_CHANGES, RESULT_CHECK
from bot.render import jump_link, ts

GONE = "a member who withdrew"  # shown instead of a mention once a member deleted their data


def _who(user_id: int | None) -> str:
    return GONE if user_id is None else f"<@{user_id}>"


def _mentions(users: tuple[int | None, ...] | list[int | None]) -> str:
    return ", ".join(_who(u) for u in users)


def _short(ref: str) -> str:
    return f"`{entry_code(ref)}`"


def _numbered(users: tuple[int | None, ...] | list[int | None], limit: int | None) -> str:
    shown = users if limit is None else users[:limit]
    text = ", ".join(f"{i}. {_who(u)}" for i, u in enumerate(shown, start=1))
    hidden = len(users) - len(shown)
    if hidden:
        text += f", … and {hidden} more (the full list is in the attached file)"
    return text


def docs_link(docs_url: str) -> str:
    """Where members read how to check a draw (a page they can open)."""
    return f"{docs_url.rstrip('/')}/draw.md" if docs_url else DOCS


def verification_text(view: DrawView, lead: str = RESULT_CHECK.default, docs_url: str = "") -> str:
    """The plain-words line, then one compact, clearly named section with the published values
    (each on its own line, so a screen reader can skip it). Everything else needed to check the
    draw, including every entry code, is in the attached JSON file; the docs explain how."""
    listed = "by user id" if view.draw.version == 1 else "by entry code"
    lines = [lead] if lead else []
    lines += [
        f"**For checking the draw** (everyone is listed {listed} in the attached file):",
        f"Seed: `{view.draw.seed}` (its SHA-256 was on the call post from the start)",
    ]
    freeze = view.freeze
    if view.draw.version >= 3 and freeze is not None:
        lines.append(
            f"Frozen roster fingerprint: `{freeze.freeze_hash}` (on the call post before the "
            "public randomness existed)"
        )
        if freeze.beacon_kind == "drand":
            lines.append(
                f"Public randomness: drand round {freeze.beacon_round}, `{freeze.beacon_value}`"
            )
        else:
            lines.append(f"Public value: {freeze.beacon_source}: `{freeze.beacon_value}`")
    else:
        lines.append(f"Roster fingerprint: `{view.draw.roster_hash}`")
    lines.append(
        f"Algorithm: {ALGORITHM}, version {view.draw.version} (how to check: "
        f"<{docs_link(docs_url)}>)"
    )
    return "\n".join(lines)


def changes_text(view: DrawView, heading: str = RESULT_CHANGES.default) -> str:
    """The public history after the draw, by entry code only (nobody is named)."""
    if not view.changes:
        return ""
    why = {"declined": "can't take part", "replaced": "replaced", "withdrew": "withdrew"}
    lines = [heading]
    status = {e.ref: e.status for cat in view.categories for e in cat.entries}
    for c in view.changes:
        if c.joined_ref:
            came = f"`{entry_code(c.joined_ref)}` (next on the reserve list) was offered the place"
        elif status.get(c.left_ref) == "withdrawn":
            came = "they were on the reserve list, so no place changed hands"
        else:
            came = "nobody was left on the reserve list, so the place is open"
        lines.append(
            f"{c.seq}. {c.category_key}: `{entry_code(c.left_ref)}` left ({why.get(c.reason, c.reason)}, "
            f"{ts(c.at, 'D')}); {came}."
        )
    return "\n".join(lines)


def result_post_text(
    view: DrawView,
    intro: str,
    closing: str,
    limit: int = 2000,
    check: str = RESULT_CHECK.default,
    docs_url: str = "",
    changes_heading: str = RESULT_CHANGES.default,
) -> str:
    """The published result: who was drawn (mentioned in user id order, not in draw order, so a
    mention can't be paired with a reference of the file), how many are on each reserve list
    (each was told their place privately) and the odds, per category; then the changes since
    the draw (by entry code), and last the verification section."""
    for cap in (None, 20, 10, 5, 0):
        parts = [intro]
        for cat in view.categories:
            lines = [
                f"**{cat.name}**",
                chance_words(cat.category.label, cat.places, cat.volunteers),
            ]
            if cat.drawn:
                lines.append(f"Drawn: {_drawn(cat.drawn, cap)}")
            if cat.reserve_order:
                n = len(cat.reserve_order)
                lines.append(
                    f"Reserve list: {n} {'person' if n == 1 else 'people'}, in the drawn order; "
                    "each was told their place privately."
                )
            parts.append("\n".join(lines))
        parts.append(closing)
        parts.append(changes_text(view, changes_heading))
        parts.append(verification_text(view, check, docs_url))
        text = "\n\n".join(p for p in parts if p)
        if len(text) <= limit:
            return text
    return text[: limit - 1] + "…"


def _drawn(users: tuple[int | None, ...], cap: int | None) -> str:
    """The people drawn, by mention in user id order (members who deleted their data last)."""
    known = sorted(u for u in users if u is not None)
    gone = len(users) - len(known)
    if cap == 0:
        return f"{len(users)} people"
    shown = known if cap is None else known[:cap]
    words = [_who(u) for u in shown]
    if len(known) > len(shown):
        words.append(f"… and {len(known) - len(shown)} more")
    words += [GONE] * gone
    return ", ".join(words)


_CONFIRM_WORDS = {
    "pending": "no answer yet",
    "confirmed": "confirmed",
    "declined": "can't take part",
}


_LEFT_WORDS = {
    "declined": "said they can't take part",
    "organiser": "replaced",
    DELETED: "withdrew (deleted their data)",
}


def status_text(view: DrawView, limit: int = 2000) -> str:
    """The current state for organisers: who is in, who confirmed, reserves, reviewers."""
    drawn_at = int(view.draw.drawn_at)
    lines = [
        f"**Draw for call #{view.call.number}: {view.call.title}**",
        f"Drawn <t:{drawn_at}:F> from {view.volunteers} volunteers. Each name is followed "
        "by their entry code (the start of their entry reference in the published result).",
    ]
    if result_link(view):
        lines.append(f"Result post: {result_link(view)}")
    else:
        lines.append("The result hasn't been posted yet; running `/draw run` again posts it.")
    for cat in view.categories:
        lines.append("")
        lines.append(f"**{cat.name}**: {len(cat.current)} of {cat.places} places filled")
        for e in cat.current:
            state = _CONFIRM_WORDS[e.confirmation]
            if e.promoted_at is not None:
                state += ", from the reserve list"
            told = view.told("notice", e.user_id)
            if told is not None and told.via == CHANNEL and told.state == SENT:
                state += ", DMs closed (mentioned in the channel)"
            elif told is not None and told.state == UNKNOWN:
                state += ", a restart interrupted their message: they may not have received it"
            lines.append(f"• {_who(e.user_id)} {_short(e.ref)}: {state}")
        for e in cat.left:
            why = _LEFT_WORDS.get(e.left_reason or "", "replaced")
            lines.append(f"• ~~{_who(e.user_id)}~~ {_short(e.ref)}: {why}")
        if cat.open_places:
            word = "place is" if cat.open_places == 1 else "places are"
            lines.append(f"{cat.open_places} {word} open.")
        if cat.waiting:
            shown = cat.waiting[:10]
            text = ", ".join(
                f"{i}. {_who(e.user_id)} {_short(e.ref)}" for i, e in enumerate(shown, 1)
            )
            if len(cat.waiting) > len(shown):
                text += f", … and {len(cat.waiting) - len(shown)} more"
            lines.append(f"Reserve list: {text}")
    counts = {
        s: sum(1 for r in view.reviewers if r.status == s)
        for s in ("accepted", "declined", "invited")
    }
    lines.append("")
    lines.append(
        f"**Reviewers**: {counts['accepted']} said yes, {counts['declined']} said no, "
        f"{counts['invited']} haven't answered (of {len(view.reviewers)} invited)."
    )
    text = "\n".join(lines)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def result_link(view: DrawView) -> str | None:
    """A link to the posted result (None until it is posted)."""
    if view.draw.result_message_id is None:
        return None
    return jump_link(view.call.guild_id, view.call.channel_id, view.draw.result_message_id)


def result_layout(text: str, export_name: str) -> discord.ui.LayoutView:
    """The published result (:func:`result_post_text`) as a layout post: the text, then the
    attached export (``export_name``) shown as a file, as a layout post must show its files."""
    view = discord.ui.LayoutView(timeout=None)
    container: discord.ui.Container[Any] = discord.ui.Container()
    container.add_item(discord.ui.TextDisplay(text))
    container.add_item(discord.ui.File(f"attachment://{export_name}"))
    view.add_item(container)
    return view


def beacon_words(freeze: FreezeRecord) -> str:
    """The public value a freeze names, in words."""
    if freeze.beacon_kind == "drand":
        return f"drand round {freeze.beacon_round} (the League of Entropy's public randomness)"
    return f"a public value: {freeze.beacon_source}"


def freeze_check_text(freeze: FreezeRecord) -> str:
    """The codes of a freeze post, each on its own line."""
    return "\n".join(
        [
            "**For checking the draw** (every volunteer is listed by entry code in the attached "
            "file):",
            f"Frozen roster fingerprint: `{freeze.freeze_hash}`",
            f"Public value named: {freeze.beacon_name}",
        ]
    )
