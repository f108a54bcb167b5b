"""The pure draw algorithm (bot/domain/draws.py): deterministic, uniform, and as documented."""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import shutil
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from bot.beacon.drand import QUICKNET, BeaconRound, verify_round
from bot.domain.calls.rules import new_seed, seed_commitment
from bot.domain.draws.algorithm import (
    ALGORITHM_ID,
    chance_words,
    check_commitment,
    commitment_of,
    draw_seed,
    entrant_ref,
    freeze_fingerprint,
    new_ref_salt,
    roster_fingerprint,
    roster_text,
    run_draw,
    score,
    verify_published,
)
from bot.domain.errors import InvalidInput
from bot.verify_draw import main as verify_draw
from tests.independent_verifier import verify as independent_verify

ROOT = Path(__file__).resolve().parents[2]
SALT = "5a" * 16  # fixed, so the statistical test is repeatable
EXP_IDS = [100 + i for i in range(1, 11)]  # 10
NEW_IDS = [200 + i for i in range(1, 8)]  # 7
EXPERIENCED = [(entrant_ref(SALT, u), "🧭") for u in EXP_IDS]
NEW = [(entrant_ref(SALT, u), "🌱") for u in NEW_IDS]
ROSTER = EXPERIENCED + NEW
PLACES = {"🧭": 3, "🌱": 3}


def doc_block(marker: str, lang: str) -> str:
    text = (ROOT / "docs" / "draw.md").read_text(encoding="utf-8")
    return text.split(f"<!-- {marker} -->", 1)[1].split(f"```{lang}", 1)[1].split("```", 1)[0]


def worked_example() -> dict[str, Any]:
    return json.loads(doc_block("worked-example", "json"))


def test_same_seed_and_roster_give_the_same_result() -> None:
    seed = new_seed()
    first = run_draw(seed, ROSTER, PLACES)
    again = run_draw(seed, list(reversed(ROSTER)), dict(reversed(PLACES.items())), ["🧭", "🌱"])
    assert first == again
    assert first.algorithm == ALGORITHM_ID == "hmac-sha256-rank/v3"


def test_story_shape_3_plus_3_and_11_reserves() -> None:
    result = run_draw(new_seed(), ROSTER, PLACES, ["🧭", "🌱"])
    exp, new = result.categories
    assert (exp.key, len(exp.selected), len(exp.reserve)) == ("🧭", 3, 7)
    assert (new.key, len(new.selected), len(new.reserve)) == ("🌱", 3, 4)
    assert set(exp.order) == {r for r, _ in EXPERIENCED} and set(new.order) == {r for r, _ in NEW}
    assert len(exp.reserve) + len(new.reserve) == 11


def test_entry_references_are_salted_hmacs_of_the_user_id() -> None:
    ref = entrant_ref(SALT, 101)
    expected = hmac.new(bytes.fromhex(SALT), b"101", hashlib.sha256).hexdigest()[:32]
    assert ref == expected and len(ref) == 32
    assert entrant_ref(SALT, 101) == ref  # deterministic for a draw
    assert entrant_ref(new_ref_salt(), 101) != ref  # but another draw's salt gives another ref
    assert len({r for r, _ in ROSTER}) == len(ROSTER)
    assert "101" not in roster_text(ROSTER)  # the published roster holds no user ids
    with pytest.raises(InvalidInput):
        entrant_ref("nothex", 101)


def test_order_is_hmac_sha256_of_category_and_ref_ascending() -> None:
    seed = "ab" * 32
    result = run_draw(seed, ROSTER, PLACES)
    for cat in result.categories:
        members = [r for r, k in ROSTER if k == cat.key]
        expected = sorted(
            members,
            key=lambda r, k=cat.key: hmac.new(
                bytes.fromhex(seed), f"{k}:{r}".encode(), hashlib.sha256
            ).hexdigest(),
        )
        assert list(cat.order) == expected
        scores = [score(seed, cat.key, r) for r in cat.order]
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
    a, b, c = "0" * 32, "a" * 32, "f" * 31 + "0"
    roster = [(c, "🌱"), (a, "🧭"), (b, "1234567890")]
    text = f"{a}:🧭\n{b}:1234567890\n{c}:🌱\n"
    assert roster_text(roster) == text
    assert roster_fingerprint(roster) == hashlib.sha256(text.encode()).hexdigest()
    assert roster_fingerprint(list(reversed(roster))) == roster_fingerprint(roster)
    assert roster_fingerprint([(c, "🧭"), (a, "🧭"), (b, "1234567890")]) != roster_fingerprint(
        roster
    )
    assert roster_fingerprint([(a.upper(), "🧭")]) == roster_fingerprint([(a, "🧭")])


def test_version_1_still_sorts_user_ids_as_numbers() -> None:
    roster = [(30, "🌱"), (4, "🧭"), (200, "1234567890")]
    assert roster_text(roster, 1) == "4:🧭\n30:🌱\n200:1234567890\n"
    result = run_draw("ab" * 32, roster, {"🧭": 1, "🌱": 1, "1234567890": 1}, version=1)
    assert result.algorithm == "hmac-sha256-rank/v1" and result.category("🧭").order == ("4",)


def test_each_volunteer_is_drawn_with_probability_places_over_volunteers() -> None:
    """4000 draws with fixed seeds: every volunteer's share is within 0.04 of places/volunteers
    (about 5 standard deviations), every draw fills exactly the places, and each rank is fair."""
    runs = 4000
    drawn: Counter[str] = Counter()
    first_reserve: Counter[str] = Counter()
    for i in range(runs):
        seed = hashlib.sha256(f"statistical test seed {i}".encode()).hexdigest()
        result = run_draw(seed, ROSTER, PLACES)
        for cat in result.categories:
            assert len(cat.selected) == 3
            drawn.update(cat.selected)
            first_reserve[cat.reserve[0]] += 1
    for members, places in ((EXPERIENCED, 3), (NEW, 3)):
        expected = places / len(members)
        for ref, _ in members:
            assert abs(drawn[ref] / runs - expected) < 0.04, (ref, drawn[ref] / runs, expected)
            assert abs(first_reserve[ref] / runs - 1 / len(members)) < 0.04


def test_fewer_volunteers_than_places_takes_everyone() -> None:
    a, b = "1" * 32, "2" * 32
    result = run_draw(new_seed(), [(a, "🧭"), (b, "🧭")], {"🧭": 3, "🌱": 2})
    exp = result.category("🧭")
    assert set(exp.selected) == {a, b} and exp.reserve == () and exp.open_places == 1
    assert result.category("🌱").open_places == 2


@pytest.mark.parametrize(
    ("seed", "roster", "places"),
    [
        ("xyz", ROSTER, PLACES),
        ("ab" * 31, ROSTER, PLACES),
        ("ab" * 32, [("1" * 32, "🧭"), ("1" * 32, "🌱")], PLACES),
        ("ab" * 32, [("1" * 32, "🎲")], PLACES),
        ("ab" * 32, ROSTER, {"🧭": 0, "🌱": 3}),
        ("ab" * 32, [("1" * 31, "🧭")], PLACES),
        ("ab" * 32, [("g" * 32, "🧭")], PLACES),
        ("ab" * 32, [(101, "🧭")], PLACES),  # a user id is not a v2 entrant
    ],
)
def test_bad_inputs_are_refused(
    seed: str, roster: list[tuple[str, str]], places: dict[str, int]
) -> None:
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
        algorithm="hmac-sha256-rank/v2",
        seed=seed,
        roster=ROSTER,
        places=PLACES,
        commitment=seed_commitment(seed),
        fingerprint=result.roster_fingerprint,
        published=published,
    )
    assert good.ok and good.commitment_ok and good.fingerprint_ok and good.order_ok
    swapped = dict(published)
    swapped["🧭"] = [
        published["🧭"][3],
        *published["🧭"][1:3],
        published["🧭"][0],
        *published["🧭"][4:],
    ]
    bad = verify_published(
        algorithm="hmac-sha256-rank/v2", seed=seed, roster=ROSTER, places=PLACES, published=swapped
    )
    assert not bad.ok and bad.order_ok is False
    other = verify_published(
        algorithm="hmac-sha256-rank/v2",
        seed=seed,
        roster=ROSTER,
        places=PLACES,
        commitment=seed_commitment(new_seed()),
    )
    assert not other.ok and other.commitment_ok is False
    unknown = verify_published(algorithm="coin-flip/v9", seed=seed, roster=ROSTER, places=PLACES)
    assert not unknown.ok
    future = verify_published(
        algorithm="hmac-sha256-rank/v3", seed=seed, roster=ROSTER, places=PLACES
    )
    assert not future.ok


def test_a_version_1_draw_still_verifies() -> None:
    """The worked example of version 1 (user ids in the roster), as it was published."""
    seed = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
    roster = [
        (111111111111111111, "🧭"),
        (222222222222222222, "🧭"),
        (333333333333333333, "🧭"),
        (444444444444444444, "🧭"),
        (555555555555555555, "🌱"),
        (666666666666666666, "🌱"),
        (88888888888888888, "🌱"),
    ]
    report = verify_published(
        algorithm="hmac-sha256-rank/v1",
        seed=seed,
        roster=roster,
        places={"🧭": 2, "🌱": 1},
        commitment="a8ae6e6ee929abea3afcfc5258c8ccd6f85273e0d4626d26c7279f3250f77c8e",
        fingerprint="ce9e99a365b2ec330d4ca73d3498b9bf33691a4c1e1f0a757bcadc407fb99f2b",
        published={
            "🧭": [222222222222222222, 333333333333333333, 444444444444444444, 111111111111111111],
            "🌱": [666666666666666666, 555555555555555555, 88888888888888888],
        },
    )
    assert report.ok and report.fingerprint_ok and report.order_ok


def test_the_worked_example_in_docs_is_what_the_code_computes() -> None:
    """docs/draw.md carries a worked example as a JSON block; the code must agree with it."""
    example = worked_example()
    assert example["algorithm_version"] == 3
    roster = [(r["ref"], r["category"]) for r in example["roster"]]
    places = {c["key"]: c["places"] for c in example["categories"]}
    value = bytes.fromhex(example["beacon"]["randomness"])
    seed = draw_seed(example["seed"], value)
    assert seed == example["draw_seed"]
    result = run_draw(seed, roster, places, [c["key"] for c in example["categories"]], version=3)
    assert commitment_of(example["seed"]) == example["seed_commitment"]
    assert result.roster_fingerprint == example["roster_fingerprint"]
    assert (
        freeze_fingerprint(
            example["seed_commitment"],
            example["freeze"]["beacon_name"],
            list(places.items()),
            roster,
        )
        == example["freeze"]["fingerprint"]
    )
    for cat in result.categories:
        published = example["result"][cat.key]
        assert list(cat.selected) == published["selected"]
        assert list(cat.reserve) == published["reserve"]
    for line in example["scores"]:
        assert score(seed, line["category"], line["ref"]) == line["score"]
    # The beacon value is the real quicknet round 1000: its signature verifies, and its hash is
    # the value the example uses.
    beacon = example["beacon"]
    signature = bytes.fromhex(beacon["signature"])
    assert hashlib.sha256(signature).digest() == value
    assert verify_round(QUICKNET, BeaconRound(beacon["round"], signature))


def test_the_worked_example_checks_out_with_both_checkers() -> None:
    """``python -m bot.verify_draw`` and the independent checker written from docs/draw.md
    agree on the worked example (offline, the quicknet signature included), and both refuse it
    once a reference is re-rolled after the freeze."""
    example = worked_example()
    out = io.StringIO()
    assert verify_draw(["--json", "-"], stdin=io.StringIO(json.dumps(example)), stdout=out) == 0
    assert independent_verify(example) == (True, [])
    rerolled = json.loads(json.dumps(example))
    old, new = rerolled["roster"][0]["ref"], "0" * 32
    rerolled["roster"][0]["ref"] = new  # a re-rolled salt gives another reference...
    for cat in rerolled["result"].values():  # ... and the result re-computed to match it
        cat["selected"] = [new if r == old else r for r in cat["selected"]]
        cat["reserve"] = [new if r == old else r for r in cat["reserve"]]
    assert verify_draw(["--json", "-"], stdin=io.StringIO(json.dumps(rerolled)), stdout=out) == 1
    ok, problems = independent_verify(rerolled)
    assert not ok and "freeze fingerprint" in problems


def test_the_python_snippet_in_docs_computes_the_worked_example() -> None:
    example = worked_example()
    namespace: dict[str, Any] = {}
    exec(doc_block("python-snippet", "python"), namespace)  # the documentation's own code
    roster = [(r["ref"], r["category"]) for r in example["roster"]]
    places = {c["key"]: c["places"] for c in example["categories"]}
    assert namespace["fingerprint"](roster) == example["roster_fingerprint"]
    seed = namespace["draw_seed"](example["seed"], example["beacon"]["randomness"])
    assert seed == example["draw_seed"]
    assert (
        namespace["freeze_fingerprint"](
            example["seed_commitment"], example["freeze"]["beacon_name"], places, roster
        )
        == example["freeze"]["fingerprint"]
    )
    got = namespace["draw"](seed, roster, places)
    assert {
        k: {"selected": v["drawn"], "reserve": v["reserve"]} for k, v in got.items()
    } == example["result"]


@pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is not installed")
def test_the_node_snippet_in_docs_computes_the_worked_example() -> None:
    example = worked_example()
    roster = [[r["ref"], r["category"]] for r in example["roster"]]
    places = {c["key"]: c["places"] for c in example["categories"]}
    script = doc_block("node-snippet", "js") + (
        f"\nconst roster = {json.dumps(roster)};\n"
        f"console.log(JSON.stringify({{fp: fingerprint(roster), "
        f"result: draw(drawSeed({json.dumps(example['seed'])}, "
        f"{json.dumps(example['beacon']['randomness'])}), roster, {json.dumps(places)})}}));\n"
    )
    done = subprocess.run(
        ["node", "-e", script],
        capture_output=True,
        text=True,
        encoding="utf-8",
        check=True,
        timeout=30,
    )
    out = json.loads(done.stdout)
    assert out["fp"] == example["roster_fingerprint"]
    assert {
        k: {"selected": v["drawn"], "reserve": v["reserve"]} for k, v in out["result"].items()
    } == example["result"]


def test_discord_s_own_date_of_the_freeze_post_can_be_required() -> None:
    """``--discord-time``: the freeze post's message id (a snowflake) dates it; it must be
    before the round came out (quicknet round 1000: 2023-08-23 15:59:24 UTC)."""

    def snowflake(unix: float) -> str:
        return str((int(unix * 1000) - 1_420_070_400_000) << 22)

    example = worked_example()
    out = io.StringIO()
    example["freeze"]["message_id"] = snowflake(1692806364 - 60)  # a minute before
    args = ["--json", "-", "--discord-time"]
    assert verify_draw(args, stdin=io.StringIO(json.dumps(example)), stdout=out) == 0
    assert "Discord dates the freeze post 2023-08-23T15:58:24" in out.getvalue()
    example["freeze"]["message_id"] = snowflake(1692806364 + 60)  # posted after the round
    out = io.StringIO()
    assert verify_draw(args, stdin=io.StringIO(json.dumps(example)), stdout=out) == 1
    assert verify_draw(["--json", "-"], stdin=io.StringIO(json.dumps(example)), stdout=out) == 0
    example["freeze"]["message_id"] = None
    assert verify_draw(args, stdin=io.StringIO(json.dumps(example)), stdout=out) == 1
