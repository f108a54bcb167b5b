"""Pure rules for calls: parsing categories and places, titles, seeds, reconciliation."""

from __future__ import annotations

import hashlib
import re
import secrets
import unicodedata
from collections.abc import Mapping, Sequence
from datetime import datetime

from bot.domain.calls.models import (
    Category,
    CategorySpec,
    NoticeKind,
    ReconcilePlan,
)
from bot.domain.errors import InvalidInput
from bot.textclean import clean_line, clean_text

MAX_CATEGORIES = 10


MAX_TITLE = 100


MAX_DESCRIPTION = 1500


MAX_LABEL = 80


_CUSTOM_EMOJI = re.compile(r"^<(a?):([A-Za-z0-9_~]{1,32}):(\d{15,25})>")


_VS16 = "\ufe0f"


_EXAMPLE = "`🧭 Experienced with LinkedIn; 🌱 New to LinkedIn`"


def emoji_key(emoji: str) -> str:
    """Stable key for an emoji: the custom emoji's id, or the unicode text without U+FE0F."""
    match = _CUSTOM_EMOJI.match(emoji)
    if match:
        return match.group(3)
    return emoji.replace(_VS16, "")


def _is_emoji_char(ch: str) -> bool:
    cp = ord(ch)
    if 0x1F1E6 <= cp <= 0x1F1FF:  # regional indicators (flags)
        return True
    return unicodedata.category(ch) == "So" or 0x1F000 <= cp <= 0x1FAFF


def _is_emoji_joiner(ch: str) -> bool:
    cp = ord(ch)
    return (
        ch in (_VS16, "\u200d", "\u20e3")
        or 0x1F3FB <= cp <= 0x1F3FF  # skin tones
        or 0xE0020 <= cp <= 0xE007F  # tag sequences
        or unicodedata.category(ch) in ("Mn", "Me")
    )


def _split_leading_emoji(text: str) -> tuple[str, str] | None:
    """``"🧭 Experienced"`` -> ``("🧭", "Experienced")``; ``None`` if it does not start with one."""
    match = _CUSTOM_EMOJI.match(text)
    if match:
        return match.group(0), text[match.end() :]
    # keycaps: 1️⃣ #️⃣
    if len(text) >= 2 and text[0] in "0123456789#*":
        rest = text[1:]
        i = 0
        while i < len(rest) and rest[i] in (_VS16, "\u20e3"):
            i += 1
        if "\u20e3" in rest[:i]:
            return text[: i + 1], text[i + 1 :]
        return None
    if not text or not _is_emoji_char(text[0]):
        return None
    i = 1
    while i < len(text):
        ch = text[i]
        if _is_emoji_joiner(ch):
            i += 1
        elif text[i - 1] == "\u200d" and _is_emoji_char(ch):
            i += 1
        elif 0x1F1E6 <= ord(ch) <= 0x1F1FF and 0x1F1E6 <= ord(text[i - 1]) <= 0x1F1FF and i == 1:
            i += 1  # second half of a flag
        else:
            break
    return text[:i], text[i:]


def parse_categories(text: str) -> list[CategorySpec]:
    """``"🧭 Experienced; 🌱 New"`` -> categories. Refuses duplicates, missing parts, > 10."""
    entries = [
        clean_line(e, name="category", max_length=MAX_LABEL + 64, required=False)
        for e in text.split(";")
    ]
    entries = [e for e in entries if e]
    if not entries:
        raise InvalidInput(f"Please give at least one category, for example {_EXAMPLE}.")
    if len(entries) > MAX_CATEGORIES:
        raise InvalidInput(
            f"A call can have at most {MAX_CATEGORIES} categories; you gave {len(entries)}. "
            "Please combine some."
        )
    result: list[CategorySpec] = []
    seen: set[str] = set()
    for entry in entries:
        split = _split_leading_emoji(entry)
        if split is None:
            raise InvalidInput(
                f"The category `{entry}` needs to start with an emoji, for example {_EXAMPLE}."
            )
        emoji, label = split[0], split[1].strip()
        if not label:
            raise InvalidInput(
                f"The category {emoji} needs a label after the emoji, for example {_EXAMPLE}."
            )
        if len(label) > MAX_LABEL:
            raise InvalidInput(
                f"The label `{label[:30]}…` is too long (at most {MAX_LABEL} characters)."
            )
        key = emoji_key(emoji)
        if key in seen:
            raise InvalidInput(
                f"The emoji {emoji} is used twice. Each category needs its own emoji."
            )
        seen.add(key)
        result.append(CategorySpec(emoji=emoji, key=key, label=label))
    return result


def parse_places(text: str | None, categories: list[CategorySpec]) -> list[CategorySpec]:
    """Apply ``"3"`` or ``"🧭=3, 🌱=3"`` to the categories (default 1 each)."""
    example = "`1` for every category, or per emoji like `🧭=3, 🌱=3`"
    if text is None or not text.strip():
        return list(categories)
    raw = text.strip()
    if re.fullmatch(r"[+-]?\d+", raw):
        n = _whole_number(raw, example)
        return [CategorySpec(c.emoji, c.key, c.label, n) for c in categories]
    by_key = {c.key: c for c in categories}
    places: dict[str, int] = {}
    for part in re.split(r"[,;]", raw):
        part = part.strip()
        if not part:
            continue
        if "=" not in part and ":" not in part.replace("<:", "").replace("<a:", ""):
            raise InvalidInput(f"I couldn't read `{part}` as places. Use {example}.")
        emoji_text, _, number = part.rpartition("=") if "=" in part else part.rpartition(":")
        key = emoji_key(emoji_text.strip())
        if key not in by_key:
            known = " ".join(c.emoji for c in categories)
            raise InvalidInput(
                f"{emoji_text.strip() or 'That'} is not one of this call's categories ({known})."
            )
        if key in places:
            raise InvalidInput(f"{emoji_text.strip()} is given places twice.")
        places[key] = _whole_number(number.strip(), example)
    return [CategorySpec(c.emoji, c.key, c.label, places.get(c.key, c.places)) for c in categories]


def _whole_number(raw: str, example: str) -> int:
    if not re.fullmatch(r"[+-]?\d+", raw):
        raise InvalidInput(f"`{raw}` is not a whole number. Use {example}.")
    value = int(raw)
    if value < 1:
        raise InvalidInput(f"Places must be 1 or more, not {value}. Use {example}.")
    if value > 1000:
        raise InvalidInput(f"{value} places is more than I can handle; the most is 1000.")
    return value


def validate_title(title: str) -> str:
    """Controls and invisible characters removed (bot/textclean); nothing visible is refused."""
    return clean_line(title, name="title", max_length=MAX_TITLE)


def validate_description(text: str | None) -> str:
    return clean_text(
        (text or "").replace("\\n", "\n"),
        name="description",
        max_length=MAX_DESCRIPTION,
        required=False,
    )


def new_seed() -> str:
    """A secret 256-bit seed for the call's draw, hex encoded."""
    return secrets.token_hex(32)


def seed_commitment(seed: str) -> str:
    """SHA-256 of the seed's hex text: published at creation, checked at the draw."""
    return hashlib.sha256(seed.encode("ascii")).hexdigest()


def plan_reconcile(
    stored: Mapping[int, str],
    observed: Mapping[str, list[int]],
    category_order: list[str],
) -> ReconcilePlan:
    """Compare ``stored`` {user: key} with ``observed`` {key: [users who reacted]}.

    A member with several category reactions moved while the bot was away: the roster holds
    one of them, so another one is the newer choice (the first other in the call's order), as
    when a member switches live. A member not in the roster with several takes the first in the
    call's order. Their other reactions are to be removed.
    """
    reacted: dict[int, list[str]] = {}
    for key in category_order:
        for user in observed.get(key, []):
            reacted.setdefault(user, []).append(key)
    plan = ReconcilePlan()
    for user, keys in reacted.items():
        current = stored.get(user)
        newer = [k for k in keys if k != current]
        keep = newer[0] if newer else keys[0]
        if current is None:
            plan.joins.append((user, keep))
        elif current != keep:
            plan.switches.append((user, keep))
        plan.reactions_to_remove.extend((user, k) for k in keys if k != keep)
    for user in stored:
        if user not in reacted:
            plan.withdrawals.append(user)
    return plan


def ensure_future(when: datetime | None, now: datetime) -> None:
    if when is not None and when <= now:
        raise InvalidInput("That closing time is in the past. Please give a time in the future.")


def choices_text(categories: Sequence[Category]) -> str:
    """Each category's emoji with its group in words: ``🧭 for Experienced, or 🌱 for New``."""
    parts = [f"{c.emoji} for {c.label}" for c in categories]
    if len(parts) < 2:
        return "".join(parts)
    return ", ".join(parts[:-1]) + ", or " + parts[-1]


def signup_notice(told: int | None, current: int | None) -> NoticeKind | None:
    """What a member should hear now about their sign-up, given the category they were last
    told about (``told``) and the one they are in now (``current``; ``None``: not signed up).
    ``None``: nothing (no change since the last DM, or a join withdrawn before it was told)."""
    if current == told:
        return None
    if current is None:
        return "withdrawn"
    return "joined" if told is None else "moved"
