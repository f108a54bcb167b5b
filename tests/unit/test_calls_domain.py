from __future__ import annotations

import pytest

from bot.domain.calls.rules import (
    emoji_key,
    parse_categories,
    parse_places,
    plan_reconcile,
    seed_commitment,
)
from bot.domain.errors import InvalidInput

STORY = "🧭 Experienced with LinkedIn; 🌱 New to LinkedIn"


def test_story_categories() -> None:
    cats = parse_categories(STORY)
    assert [(c.emoji, c.label) for c in cats] == [
        ("🧭", "Experienced with LinkedIn"),
        ("🌱", "New to LinkedIn"),
    ]


def test_custom_and_complex_emoji() -> None:
    cats = parse_categories("<:star:123456789012345678> Stars; 👩🏽‍💻 Coders; 🇬🇧 UK; 1️⃣ One; ❤️ Love")
    assert [c.key for c in cats] == ["123456789012345678", "👩🏽‍💻", "🇬🇧", "1⃣", "❤"]
    assert [c.label for c in cats] == ["Stars", "Coders", "UK", "One", "Love"]


@pytest.mark.parametrize(
    "text",
    [
        "🧭 A; 🧭 B",  # duplicate
        "Experienced; 🌱 New",  # no emoji
        "🧭 ; 🌱 New",  # no label
        "; ".join(f"{e} L" for e in "🍎🍐🍊🍋🍌🍉🍇🍓🫐🍈🍒"),  # 11 entries
        "",
    ],
)
def test_bad_categories(text: str) -> None:
    with pytest.raises(InvalidInput):
        parse_categories(text)


def test_places() -> None:
    cats = parse_categories(STORY)
    assert [c.places for c in parse_places(None, cats)] == [1, 1]
    assert [c.places for c in parse_places("2", cats)] == [2, 2]
    assert [c.places for c in parse_places("🧭=3, 🌱=3", cats)] == [3, 3]
    assert [c.places for c in parse_places("🌱=4", cats)] == [1, 4]


@pytest.mark.parametrize("text", ["0", "-1", "abc", "🎲=2", "🧭=0", "🧭=x", "🧭=2, 🧭=3"])
def test_bad_places(text: str) -> None:
    with pytest.raises(InvalidInput):
        parse_places(text, parse_categories(STORY))


def test_emoji_key_ignores_variation_selector() -> None:
    assert emoji_key("❤️") == emoji_key("❤")


def test_commitment_is_sha256_of_seed() -> None:
    assert seed_commitment("00" * 32) == (
        "60e05bd1b195af2f94112fa7197a5c88289058840ce7c6df9693756bc6250f55"
    )


def test_plan_reconcile() -> None:
    stored = {1: "a", 2: "b", 3: "a"}
    observed = {"a": [1, 4, 5], "b": [3, 5]}
    plan = plan_reconcile(stored, observed, ["a", "b"])
    assert plan.joins == [(4, "a"), (5, "a")]
    assert plan.switches == [(3, "b")]
    assert plan.withdrawals == [2]
    assert plan.reactions_to_remove == [(5, "b")]


def test_plan_reconcile_takes_the_newer_of_two_category_reactions() -> None:
    """Issue 11 item 12: in 🧭, added 🌱 while the bot was down: moved to 🌱, 🧭 removed."""
    stored = {i: "a" for i in range(90)}
    observed = {"a": list(range(90)), "b": list(range(90))}
    plan = plan_reconcile(stored, observed, ["a", "b"])
    assert plan.switches == [(i, "b") for i in range(90)]
    assert plan.reactions_to_remove == [(i, "a") for i in range(90)]
    assert not plan.joins and not plan.withdrawals
