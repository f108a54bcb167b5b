"""The draw algorithm: a documented, deterministic function of (seed, roster, places).

Algorithm ``hmac-sha256-rank``, version 1 (the full specification, with a worked example, is in
``docs/draw.md``; keep the two in step):

* **Seed**: 32 random bytes, written as 64 lowercase hexadecimal characters. The *commitment*
  published on the call post is ``SHA-256(seed hex text as ASCII)`` in lowercase hex.
* **Roster**: the frozen list of ``(user id, category key)``; each user appears once. A user id
  is written in decimal without leading zeros; a category key is the category's emoji without
  U+FE0F (variation selector 16), or a custom emoji's numeric id in decimal.
* **Roster fingerprint**: ``SHA-256`` of the UTF-8 text made of one line per volunteer,
  ``"<user id>:<category key>\\n"``, sorted by user id as a number (ascending).
* **Order**: in each category, every volunteer gets the score
  ``HMAC-SHA256(key = the 32 seed bytes, message = UTF-8 of "<category key>:<user id>")`` as
  lowercase hex. The category's draw order is the volunteers sorted by score ascending (ties,
  which need a SHA-256 collision, by user id ascending). The first ``places`` are drawn; the rest,
  in that order, are the category's reserve list.

Because the seed is fixed (and committed) before anyone volunteers and HMAC-SHA256 with a secret
random key behaves as a random function, the order is a uniformly random permutation of each
category: everyone in a category has the same chance, ``places / volunteers``.

Pure: no discord, no database, no clock.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from bot.domain.errors import InvalidInput

__all__ = [
    "ALGORITHM",
    "ALGORITHM_ID",
    "ALGORITHM_VERSION",
    "CategoryResult",
    "DrawResult",
    "VerifyReport",
    "chance_words",
    "check_commitment",
    "commitment_of",
    "parse_algorithm_id",
    "roster_fingerprint",
    "roster_text",
    "run_draw",
    "score",
    "validate_seed",
    "verify_published",
]

ALGORITHM = "hmac-sha256-rank"
ALGORITHM_VERSION = 1
ALGORITHM_ID = f"{ALGORITHM}/v{ALGORITHM_VERSION}"

_SEED = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True, slots=True)
class CategoryResult:
    """One category's outcome: its full draw order, split into drawn and reserve."""

    key: str
    places: int
    order: tuple[int, ...]  # every volunteer of the category, in draw order

    @property
    def selected(self) -> tuple[int, ...]:
        return self.order[: self.places]

    @property
    def reserve(self) -> tuple[int, ...]:
        return self.order[self.places:]

    @property
    def volunteers(self) -> int:
        return len(self.order)

    @property
    def open_places(self) -> int:
        """Places nobody could fill because the category had fewer volunteers."""
        return max(0, self.places - len(self.order))


@dataclass(frozen=True, slots=True)
class DrawResult:
    algorithm: str
    seed: str
    roster_fingerprint: str
    categories: tuple[CategoryResult, ...]

    def category(self, key: str) -> CategoryResult:
        for result in self.categories:
            if result.key == key:
                return result
        raise KeyError(key)

    def selected(self) -> dict[str, tuple[int, ...]]:
        return {c.key: c.selected for c in self.categories}


def validate_seed(seed: str) -> str:
    """The seed as 64 lowercase hex characters (surrounding spaces and upper case accepted)."""
    clean = seed.strip().lower()
    if not _SEED.match(clean):
        raise InvalidInput("A draw seed is 64 hexadecimal characters (0-9, a-f).")
    return clean


def commitment_of(seed: str) -> str:
    """SHA-256 of the seed's hex text (ASCII), lowercase hex: what the call post shows."""
    return hashlib.sha256(validate_seed(seed).encode("ascii")).hexdigest()


def check_commitment(seed: str, commitment: str) -> bool:
    return hmac.compare_digest(commitment_of(seed), commitment.strip().lower())


def _user_text(user_id: int | str) -> str:
    text = str(user_id).strip()
    if not re.fullmatch(r"0|[1-9][0-9]*", text):
        raise InvalidInput(f"`{text}` is not a user id (digits only, no leading zeros).")
    return text


def _check_roster(roster: Iterable[tuple[int, str]]) -> list[tuple[int, str]]:
    entries: list[tuple[int, str]] = []
    seen: set[int] = set()
    for user_id, key in roster:
        uid = int(_user_text(user_id))
        if uid in seen:
            raise InvalidInput(f"User {uid} appears twice in the roster; each volunteer is in one category.")
        if not key or "\n" in key:
            raise InvalidInput(f"User {uid} has no category in the roster.")
        seen.add(uid)
        entries.append((uid, key))
    return entries


def roster_text(roster: Iterable[tuple[int, str]]) -> str:
    """The canonical roster text that the fingerprint hashes (see the module docstring)."""
    entries = sorted(_check_roster(roster), key=lambda e: e[0])
    return "".join(f"{uid}:{key}\n" for uid, key in entries)


def roster_fingerprint(roster: Iterable[tuple[int, str]]) -> str:
    return hashlib.sha256(roster_text(roster).encode("utf-8")).hexdigest()


def score(seed: str, category_key: str, user_id: int) -> str:
    """HMAC-SHA256(seed bytes, "<category key>:<user id>") as lowercase hex."""
    key = bytes.fromhex(validate_seed(seed))
    message = f"{category_key}:{_user_text(user_id)}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def run_draw(
    seed: str,
    roster: Sequence[tuple[int, str]],
    places: Mapping[str, int],
    category_order: Sequence[str] | None = None,
) -> DrawResult:
    """Draw ``places[key]`` volunteers in every category; the rest are that category's reserves.

    ``category_order`` only orders the categories in the result (default: ``places``' order);
    it never changes who is drawn. A roster entry whose category has no places entry is refused.
    """
    clean_seed = validate_seed(seed)
    entries = _check_roster(roster)
    order = list(category_order) if category_order is not None else list(places)
    for key in places:
        if key not in order:
            order.append(key)
    for key, n in places.items():
        if not isinstance(n, int) or n < 1:
            raise InvalidInput(f"Places for {key} must be a whole number of 1 or more.")
    members: dict[str, list[int]] = {key: [] for key in order}
    for uid, key in entries:
        if key not in places:
            raise InvalidInput(f"The roster has category `{key}`, which has no places.")
        members[key].append(uid)
    key_bytes = bytes.fromhex(clean_seed)
    results = []
    for key in order:
        if key not in places:
            continue
        scored = sorted(
            (hmac.new(key_bytes, f"{key}:{uid}".encode(), hashlib.sha256).hexdigest(), uid)
            for uid in members[key]
        )
        results.append(CategoryResult(key, places[key], tuple(uid for _, uid in scored)))
    return DrawResult(ALGORITHM_ID, clean_seed, roster_fingerprint(entries), tuple(results))


def parse_algorithm_id(text: str) -> tuple[str, int]:
    """``"hmac-sha256-rank/v1"`` -> ``("hmac-sha256-rank", 1)``; refuses unknown algorithms."""
    name, _, version = text.strip().partition("/v")
    if name != ALGORITHM or version != str(ALGORITHM_VERSION):
        raise InvalidInput(
            f"This checker knows the algorithm {ALGORITHM_ID}, not `{text}`."
        )
    return name, int(version)


def _chance(drawn: int, volunteers: int) -> str:
    """``"a 30% chance"`` or, when not a whole percentage, ``"about a 43% chance"``."""
    exact = drawn * 100 / volunteers
    whole = round(exact)
    article = "an" if whole in (11, 18) or str(whole).startswith("8") else "a"
    about = "" if exact == whole else "about "
    return f"{about}{article} {whole}% chance"


def chance_words(label: str, places: int, volunteers: int) -> str:
    """The odds in plain words, e.g. "3 of 10 volunteers for Experienced were drawn: each had a
    30% chance."."""
    noun = "volunteer" if volunteers == 1 else "volunteers"
    if volunteers == 0:
        place_word = "place is" if places == 1 else "places are"
        return f"Nobody volunteered for {label}, so its {places} {place_word} still open."
    if volunteers <= places:
        everyone = "The only volunteer" if volunteers == 1 else f"All {volunteers} {noun}"
        verb = "was" if volunteers == 1 else "were"
        text = f"{everyone} for {label} {verb} drawn (a 100% chance)."
        still_open = places - volunteers
        if still_open:
            place_word = "place is" if still_open == 1 else "places are"
            text += f" {still_open} {place_word} still open."
        return text
    verb = "was" if places == 1 else "were"
    return (
        f"{places} of {volunteers} {noun} for {label} {verb} drawn: "
        f"each had {_chance(places, volunteers)}."
    )


@dataclass(frozen=True, slots=True)
class VerifyReport:
    """The outcome of re-running a published draw."""

    algorithm_ok: bool
    commitment_ok: bool | None  # None when no commitment was given to check against
    fingerprint_ok: bool | None  # None when no fingerprint was given to check against
    order_ok: bool | None  # None when no published result was given to check against
    computed: DrawResult | None
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return (
            self.algorithm_ok
            and self.commitment_ok is not False
            and self.fingerprint_ok is not False
            and self.order_ok is not False
        )


def verify_published(
    *,
    algorithm: str,
    seed: str,
    roster: Sequence[tuple[int, str]],
    places: Mapping[str, int],
    category_order: Sequence[str] | None = None,
    commitment: str | None = None,
    fingerprint: str | None = None,
    published: Mapping[str, Sequence[int]] | None = None,
) -> VerifyReport:
    """Re-run the draw from published values and compare with what was published.

    ``published`` is each category's published order: the drawn members first, then the reserve
    list, as posted (a prefix is accepted: only the drawn part may have been given).
    """
    problems: list[str] = []
    try:
        parse_algorithm_id(algorithm)
    except InvalidInput as exc:
        return VerifyReport(False, None, None, None, None, (str(exc),))
    commitment_ok: bool | None = None
    if commitment is not None:
        commitment_ok = check_commitment(seed, commitment)
        if not commitment_ok:
            problems.append("The seed does not match the commitment published on the call post.")
    computed = run_draw(seed, roster, places, category_order)
    fingerprint_ok: bool | None = None
    if fingerprint is not None:
        fingerprint_ok = computed.roster_fingerprint == fingerprint.strip().lower()
        if not fingerprint_ok:
            problems.append("The roster's fingerprint differs from the published one.")
    order_ok: bool | None = None
    if published is not None:
        order_ok = True
        for key in sorted(set(published) | {c.key for c in computed.categories}):
            given = [int(u) for u in published.get(key, ())]
            try:
                expected = list(computed.category(key).order)
            except KeyError:
                expected = []
            if given != expected[: len(given)] or (
                len(given) < min(len(expected), places.get(key, 0))
            ):
                order_ok = False
                problems.append(f"Category {key}: the published order differs from the re-run.")
    return VerifyReport(True, commitment_ok, fingerprint_ok, order_ok, computed, tuple(problems))
