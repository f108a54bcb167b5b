"""The pure draw algorithm (bot/domain/draws.py): deterministic, uniform, and as documented."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections import Counter
from pathlib import Path

import pytest

from bot.domain.calls import new_seed, seed_commitment
from bot.domain.draws import (
    ALGORITHM_ID,
    chance_words,
    check_commitment,
    commitment_of,
    roster_fingerprint,
    roster_text,
    run_draw,
    score,
    verify_published,
)
from bot.domain.errors import InvalidInput

ROOT = Path(__file__).resolve().parents[2]
EXPERIENCED = [(100 + i, "🧭") for i in range(1, 11)]  # 10
NEW = [(200 + i, "🌱") for i in range(1, 8)]  # 7
ROSTER = EXPERIENCED + NEW
PLACES = {"🧭": 3, "🌱": 3}


def test_same_seed_and_roster_give_the_same_result() -> None:
    seed = new_seed()
    first = run_draw(seed, ROSTER, PLACES)
    again = run_draw(seed, list(reversed(ROSTER)), dict(reversed(PLACES.items())), ["🧭", "🌱"])
    assert first == again
    assert first.algorithm == ALGORITHM_ID


def test_story_shape_3_plus_3_and_11_reserves() -> None:
    result = run_draw(new_seed(), ROSTER, PLACES, ["🧭", "🌱"])
    exp, new = result.categories
    assert (exp.key, len(exp.selected), len(exp.reserve)) == ("🧭", 3, 7)
    assert (new.key, len(new.selected), len(new.reserve)) == ("🌱", 3, 4)
    assert set(exp.order) == {u for u, _ in EXPERIENCED} and set(new.order) == {u for u, _ in NEW}
    assert len(exp.reserve) + len(new.reserve) == 11


def test_order_is_hmac_sha256_of_category_and_user_ascending() -> None:
    seed = "ab" * 32
    result = run_draw(seed, ROSTER, PLACES)
    for cat in result.categories:
        members = [u for u, k in ROSTER if k == cat.key]
        expected = sorted(
            members,
            key=lambda u, k=cat.key: hmac.new(bytes.fromhex(seed), f"{k}:{u}".encode(), hashlib.sha256).hexdigest(),
        )
        assert list(cat.order) == expected
        scores = [score(seed, cat.key, u) for u in cat.order]
        assert scores == sorted(scores)


def test_a_different_seed_changes_the_order() -> None:
    orders = {run_draw(new_seed(), ROSTER, PLACES).category("🧭").order for _ in range(5)}
    assert len(orders) > 1


def test_commitment_matches_the_revealed_seed() -> None:
    seed = new_seed()
    assert commitment_of(seed) == seed_commitment(seed) == hashlib.sha256(seed.encode()).hexdigest()
    assert check_commitment(seed, seed_commitment(seed).upper())
    assert not check_commitment(new_seed(), seed_commitment(seed))


def test_roster_fingerprint_is_sha256_of_sorted_lines() -> None:
    roster = [(30, "🌱"), (4, "🧭"), (200, "1234567890")]
    assert roster_text(roster) == "4:🧭\n30:🌱\n200:1234567890\n"
    assert roster_fingerprint(roster) == hashlib.sha256("4:🧭\n30:🌱\n200:1234567890\n".encode()).hexdigest()
    assert roster_fingerprint(list(reversed(roster))) == roster_fingerprint(roster)
    assert roster_fingerprint([(30, "🧭"), (4, "🧭"), (200, "1234567890")]) != roster_fingerprint(roster)


def test_each_volunteer_is_drawn_with_probability_places_over_volunteers() -> None:
    """4000 draws with fixed seeds: every volunteer's share is within 0.04 of places/volunteers
    (about 5 standard deviations), every draw fills exactly the places, and each rank is fair."""
    runs = 4000
    drawn: Counter[int] = Counter()
    first_reserve: Counter[int] = Counter()
    for i in range(runs):
        seed = hashlib.sha256(f"statistical test seed {i}".encode()).hexdigest()
        result = run_draw(seed, ROSTER, PLACES)
        for cat in result.categories:
            assert len(cat.selected) == 3
            drawn.update(cat.selected)
            first_reserve[cat.reserve[0]] += 1
    for users, places in ((EXPERIENCED, 3), (NEW, 3)):
        expected = places / len(users)
        for user, _ in users:
            assert abs(drawn[user] / runs - expected) < 0.04, (user, drawn[user] / runs, expected)
            assert abs(first_reserve[user] / runs - 1 / len(users)) < 0.04


def test_fewer_volunteers_than_places_takes_everyone() -> None:
    result = run_draw(new_seed(), [(1, "🧭"), (2, "🧭")], {"🧭": 3, "🌱": 2})
    exp = result.category("🧭")
    assert set(exp.selected) == {1, 2} and exp.reserve == () and exp.open_places == 1
    assert result.category("🌱").open_places == 2


@pytest.mark.parametrize(
    ("seed", "roster", "places"),
    [
        ("xyz", ROSTER, PLACES),
        ("ab" * 31, ROSTER, PLACES),
        ("ab" * 32, [(1, "🧭"), (1, "🌱")], PLACES),
        ("ab" * 32, [(1, "🎲")], PLACES),
        ("ab" * 32, ROSTER, {"🧭": 0, "🌱": 3}),
        ("ab" * 32, [("007", "🧭")], PLACES),
    ],
)
def test_bad_inputs_are_refused(seed: str, roster: list[tuple[int, str]], places: dict[str, int]) -> None:
    with pytest.raises(InvalidInput):
        run_draw(seed, roster, places)


def test_odds_in_plain_words() -> None:
    assert chance_words("experienced", 3, 10) == (
        "3 of 10 volunteers for experienced were drawn: each had a 30% chance."
    )
    assert "about a 43% chance" in chance_words("new", 3, 7)
    assert "about an 8% chance" in chance_words("x", 1, 12)
    assert "1 place is still open" in chance_words("x", 3, 2)
    assert "2 places are still open" in chance_words("x", 2, 0)


def test_verify_published_detects_changes() -> None:
    seed = new_seed()
    result = run_draw(seed, ROSTER, PLACES)
    published = {c.key: list(c.order) for c in result.categories}
    good = verify_published(
        algorithm=ALGORITHM_ID, seed=seed, roster=ROSTER, places=PLACES,
        commitment=seed_commitment(seed), fingerprint=result.roster_fingerprint, published=published,
    )
    assert good.ok and good.commitment_ok and good.fingerprint_ok and good.order_ok
    swapped = dict(published)
    swapped["🧭"] = [published["🧭"][3], *published["🧭"][1:3], published["🧭"][0], *published["🧭"][4:]]
    bad = verify_published(algorithm=ALGORITHM_ID, seed=seed, roster=ROSTER, places=PLACES,
                           published=swapped)
    assert not bad.ok and bad.order_ok is False
    other = verify_published(algorithm=ALGORITHM_ID, seed=seed, roster=ROSTER, places=PLACES,
                             commitment=seed_commitment(new_seed()))
    assert not other.ok and other.commitment_ok is False
    unknown = verify_published(algorithm="coin-flip/v9", seed=seed, roster=ROSTER, places=PLACES)
    assert not unknown.ok


def test_the_worked_example_in_docs_is_what_the_code_computes() -> None:
    """docs/draw.md carries a worked example as a JSON block; the code must agree with it."""
    text = (ROOT / "docs" / "draw.md").read_text(encoding="utf-8")
    block = text.split("<!-- worked-example -->", 1)[1].split("```json", 1)[1].split("```", 1)[0]
    example = json.loads(block)
    roster = [(int(r["user_id"]), r["category"]) for r in example["roster"]]
    places = {c["key"]: c["places"] for c in example["categories"]}
    result = run_draw(example["seed"], roster, places, [c["key"] for c in example["categories"]])
    assert commitment_of(example["seed"]) == example["seed_commitment"]
    assert result.roster_fingerprint == example["roster_fingerprint"]
    for cat in result.categories:
        published = example["result"][cat.key]
        assert [str(u) for u in cat.selected] == published["selected"]
        assert [str(u) for u in cat.reserve] == published["reserve"]
    for line in example.get("scores", []):
        assert score(example["seed"], line["category"], int(line["user_id"])) == line["score"]
