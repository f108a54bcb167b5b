"""The draw algorithm (docs/draw.md): pure functions, no I/O."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from bot.domain.errors import InvalidInput

ALGORITHM = "hmac-sha256-rank"


ALGORITHM_VERSION = 3  # what new draws use


VERSIONS = (1, 2, 3)  # what can be checked


FREEZE_FORMAT = "coprobot-draw-freeze/v3"  # the first line of the freeze text


ALGORITHM_ID = f"{ALGORITHM}/v{ALGORITHM_VERSION}"


REF_LENGTH = 32


_SEED = re.compile(r"^[0-9a-f]{64}$")


_SALT = re.compile(r"^[0-9a-f]{32}$")


_REF = re.compile(r"^[0-9a-f]{32}$")


_USER = re.compile(r"^(0|[1-9][0-9]*)$")


def algorithm_id(version: int) -> str:
    return f"{ALGORITHM}/v{version}"


@dataclass(frozen=True, slots=True)
class CategoryResult:
    """One category's outcome: its full draw order, split into drawn and reserve."""

    key: str
    places: int
    order: tuple[str, ...]  # every entrant of the category, in draw order

    @property
    def selected(self) -> tuple[str, ...]:
        return self.order[: self.places]

    @property
    def reserve(self) -> tuple[str, ...]:
        return self.order[self.places :]

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

    def selected(self) -> dict[str, tuple[str, ...]]:
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


def new_ref_salt() -> str:
    """A fresh secret salt for one draw's entry references: 16 random bytes, hex."""
    return secrets.token_hex(16)


def entrant_ref(ref_salt: str, user_id: int) -> str:
    """The member's entry reference in a v2 draw: the first 32 hex characters of
    HMAC-SHA256(key = the salt's 16 bytes, message = the user id in decimal)."""
    salt = ref_salt.strip().lower()
    if not _SALT.match(salt):
        raise InvalidInput("A reference salt is 32 hexadecimal characters.")
    message = _user_text(user_id).encode("ascii")
    return hmac.new(bytes.fromhex(salt), message, hashlib.sha256).hexdigest()[:REF_LENGTH]


def _user_text(user_id: int | str) -> str:
    text = str(user_id).strip()
    if not _USER.match(text):
        raise InvalidInput(f"`{text}` is not a user id (digits only, no leading zeros).")
    return text


def _version(version: int) -> int:
    if version not in VERSIONS:
        raise InvalidInput(
            f"This checker knows {ALGORITHM} versions 1, 2 and 3, not version {version}."
        )
    return version


def entrant_text(entrant: int | str, version: int = ALGORITHM_VERSION) -> str:
    """An entrant as the algorithm writes it: v2 and v3 a 32-hex ref, v1 a decimal user id."""
    if _version(version) == 1:
        return _user_text(entrant)
    text = str(entrant).strip().lower()
    if not _REF.match(text):
        raise InvalidInput(
            f"`{text}` is not an entry reference (32 hexadecimal characters, 0-9 and a-f)."
        )
    return text


def _order_key(version: int) -> type[int] | type[str]:
    """How entrants are sorted: v1 user ids as numbers, v2 refs as text."""
    return int if version == 1 else str


def _check_roster(roster: Iterable[tuple[int | str, str]], version: int) -> list[tuple[str, str]]:
    entries: list[tuple[str, str]] = []
    seen: set[str] = set()
    for entrant, key in roster:
        text = entrant_text(entrant, version)
        if text in seen:
            raise InvalidInput(
                f"{text} appears twice in the roster; each volunteer is in one category."
            )
        if not key or "\n" in key:
            raise InvalidInput(f"{text} has no category in the roster.")
        seen.add(text)
        entries.append((text, key))
    return entries


def roster_text(roster: Iterable[tuple[int | str, str]], version: int = ALGORITHM_VERSION) -> str:
    """The canonical roster text that the fingerprint hashes (see the module docstring)."""
    order = _order_key(version)
    entries = sorted(_check_roster(roster, version), key=lambda e: order(e[0]))
    return "".join(f"{entrant}:{key}\n" for entrant, key in entries)


def roster_fingerprint(
    roster: Iterable[tuple[int | str, str]], version: int = ALGORITHM_VERSION
) -> str:
    return hashlib.sha256(roster_text(roster, version).encode("utf-8")).hexdigest()


def draw_seed(seed: str, beacon_value: bytes) -> str:
    """Version 3: the seed the order is computed with,
    ``SHA-256(the 32 committed seed bytes ‖ the beacon value's bytes)``, lowercase hex.

    The committed seed was fixed (and its hash published) when the call was created; the
    beacon value did not exist until after the roster was frozen and published."""
    if not beacon_value:
        raise InvalidInput("A version 3 draw needs the public beacon value.")
    return hashlib.sha256(bytes.fromhex(validate_seed(seed)) + beacon_value).hexdigest()


def public_value_bytes(text: str) -> bytes:
    """An organiser-named public value (e.g. a lottery's numbers) as the draw uses it: the
    text with surrounding spaces removed and every run of white space made one space, UTF-8."""
    clean = " ".join(text.split())
    if not clean:
        raise InvalidInput("The public value is empty.")
    return clean.encode("utf-8")


def one_line(text: str) -> str:
    """Text on one line: every run of white space becomes one space."""
    return " ".join(text.split())


def beacon_name(kind: str, *, chain_hash: str = "", round_number: int = 0, source: str = "") -> str:
    """How the freeze names the public value the draw will use: ``drand <chain hash> <round>``
    or ``public <what, where and when, on one line>``."""
    if kind == "drand":
        return f"drand {chain_hash} {round_number}"
    return f"public {one_line(source)}"


def freeze_text(
    commitment: str,
    beacon: str,
    places: Sequence[tuple[str, int]],
    roster: Iterable[tuple[int | str, str]],
) -> str:
    """The canonical text of a freeze (version 3), what the freeze fingerprint hashes: a first
    line ``coprobot-draw-freeze/v3``, then ``commitment <hex>``, ``beacon <name>``, one line
    ``places <category key>=<n>`` per category in the call's order, then the roster text."""
    lines = [FREEZE_FORMAT, f"commitment {commitment.strip().lower()}", f"beacon {beacon}"]
    lines += [f"places {key}={n}" for key, n in places]
    return "".join(f"{line}\n" for line in lines) + roster_text(roster, 3)


def freeze_fingerprint(
    commitment: str,
    beacon: str,
    places: Sequence[tuple[str, int]],
    roster: Iterable[tuple[int | str, str]],
) -> str:
    return hashlib.sha256(
        freeze_text(commitment, beacon, places, roster).encode("utf-8")
    ).hexdigest()


@dataclass(frozen=True, slots=True)
class Change:
    """One change after the draw: ``left`` left the group (or the reserve list) and ``joined``
    (the next reserve still waiting, or None) was offered the place."""

    category: str
    left: str
    joined: str | None
    reason: str  # declined | replaced | withdrew


def check_changes(result: DrawResult, changes: Sequence[Change]) -> list[str]:
    """Replay the changes on the draw's result; what does not follow the reserve order."""
    problems: list[str] = []
    group: dict[str, list[str]] = {}
    waiting: dict[str, list[str]] = {}
    for cat in result.categories:
        group[cat.key] = list(cat.selected)
        waiting[cat.key] = list(cat.reserve)
    for n, change in enumerate(changes, start=1):
        key = change.category
        if key not in group:
            problems.append(f"Change {n}: category {key} is not in the draw.")
            continue
        if change.left in waiting[key]:  # a reserve withdrew: no place was freed
            waiting[key].remove(change.left)
            if change.joined is not None:
                problems.append(f"Change {n}: a reserve left, so nobody should have come in.")
            continue
        if change.left not in group[key]:
            problems.append(
                f"Change {n}: {change.left} was not in the group of {key} at that point."
            )
            continue
        group[key].remove(change.left)
        expected = waiting[key][0] if waiting[key] else None
        if change.joined != expected:
            problems.append(
                f"Change {n}: the place should have gone to {expected or 'nobody'} (next on the "
                f"reserve list), not to {change.joined or 'nobody'}."
            )
            continue
        if expected is not None:
            waiting[key].pop(0)
            group[key].append(expected)
    return problems


def score(
    seed: str, category_key: str, entrant: int | str, version: int = ALGORITHM_VERSION
) -> str:
    """HMAC-SHA256(seed bytes, "<category key>:<entrant>") as lowercase hex."""
    key = bytes.fromhex(validate_seed(seed))
    message = f"{category_key}:{entrant_text(entrant, version)}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def run_draw(
    seed: str,
    roster: Sequence[tuple[int | str, str]],
    places: Mapping[str, int],
    category_order: Sequence[str] | None = None,
    *,
    version: int = ALGORITHM_VERSION,
) -> DrawResult:
    """Draw ``places[key]`` volunteers in every category; the rest are that category's reserves.

    ``roster`` names entrants as ``version`` does (v2: refs; v1: user ids). ``category_order``
    only orders the categories in the result (default: ``places``' order); it never changes who
    is drawn. A roster entry whose category has no places entry is refused.
    """
    clean_seed = validate_seed(seed)
    entries = _check_roster(roster, _version(version))
    order = list(category_order) if category_order is not None else list(places)
    for key in places:
        if key not in order:
            order.append(key)
    for key, n in places.items():
        if not isinstance(n, int) or n < 1:
            raise InvalidInput(f"Places for {key} must be a whole number of 1 or more.")
    members: dict[str, list[str]] = {key: [] for key in order}
    for entrant, key in entries:
        if key not in places:
            raise InvalidInput(f"The roster has category `{key}`, which has no places.")
        members[key].append(entrant)
    key_bytes = bytes.fromhex(clean_seed)
    tie = _order_key(version)
    results = []
    for key in order:
        if key not in places:
            continue
        scored = sorted(
            (
                hmac.new(key_bytes, f"{key}:{entrant}".encode(), hashlib.sha256).hexdigest(),
                tie(entrant),
                entrant,
            )
            for entrant in members[key]
        )
        results.append(CategoryResult(key, places[key], tuple(e for _, _, e in scored)))
    return DrawResult(
        algorithm_id(version), clean_seed, roster_fingerprint(entries, version), tuple(results)
    )


def parse_algorithm_id(text: str) -> tuple[str, int]:
    """``"hmac-sha256-rank/v2"`` -> ``("hmac-sha256-rank", 2)``; refuses unknown algorithms."""
    name, _, version = text.strip().partition("/v")
    if name != ALGORITHM or version not in {str(v) for v in VERSIONS}:
        known = " and ".join(algorithm_id(v) for v in VERSIONS)
        raise InvalidInput(f"This checker knows the algorithms {known}, not `{text}`.")
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
    freeze_ok: bool | None = None  # v3: the freeze fingerprint (roster, places, beacon named)
    changes_ok: bool | None = None  # the changes after the draw follow the reserve order
    beacon_ok: bool | None = None  # v3: the beacon value is genuine (checked by the caller)
    published_before_ok: bool | None = None  # v3: the freeze was public before the value

    @property
    def ok(self) -> bool:
        return self.algorithm_ok and all(
            flag is not False
            for flag in (
                self.commitment_ok,
                self.fingerprint_ok,
                self.order_ok,
                self.freeze_ok,
                self.changes_ok,
                self.beacon_ok,
                self.published_before_ok,
            )
        )


def verify_published(
    *,
    algorithm: str,
    seed: str,
    roster: Sequence[tuple[int | str, str]],
    places: Mapping[str, int],
    category_order: Sequence[str] | None = None,
    commitment: str | None = None,
    fingerprint: str | None = None,
    published: Mapping[str, Sequence[int | str]] | None = None,
    beacon_value: bytes | None = None,
    beacon: str | None = None,
    freeze: str | None = None,
    changes: Sequence[Change] | None = None,
) -> VerifyReport:
    """Re-run the draw from published values and compare with what was published.

    The algorithm's version says how ``roster`` and ``published`` name entrants (v2, v3: refs;
    v1: user ids). ``published`` is each category's published order: the drawn first, then the
    reserve list, as posted (a prefix is accepted: only the drawn part may have been given).
    Version 3: ``seed`` is the committed seed and ``beacon_value`` the public value's bytes;
    ``beacon`` (the value as the freeze named it) and ``freeze`` (the published freeze
    fingerprint) check that the roster, places and beacon are those frozen and published.
    ``changes``: the public history after the draw, checked against the reserve order.
    """
    problems: list[str] = []
    try:
        _, version = parse_algorithm_id(algorithm)
    except InvalidInput as exc:
        return VerifyReport(False, None, None, None, None, (str(exc),))
    commitment_ok: bool | None = None
    if commitment is not None:
        commitment_ok = check_commitment(seed, commitment)
        if not commitment_ok:
            problems.append("The seed does not match the commitment published on the call post.")
    order_seed = seed
    if version >= 3:
        if beacon_value is None:
            return VerifyReport(
                True,
                commitment_ok,
                None,
                None,
                None,
                (*problems, "No beacon value was given."),
                beacon_ok=False,
            )
        order_seed = draw_seed(seed, beacon_value)
    computed = run_draw(order_seed, roster, places, category_order, version=version)
    fingerprint_ok: bool | None = None
    if fingerprint is not None:
        fingerprint_ok = computed.roster_fingerprint == fingerprint.strip().lower()
        if not fingerprint_ok:
            problems.append("The roster's fingerprint differs from the published one.")
    freeze_ok: bool | None = None
    if version >= 3 and freeze is not None:
        ordered = [(c.key, c.places) for c in computed.categories]
        made = freeze_fingerprint(commitment or commitment_of(seed), beacon or "", ordered, roster)
        freeze_ok = made == freeze.strip().lower()
        if not freeze_ok:
            problems.append(
                "The roster, places or beacon differ from those frozen and published before "
                "the draw (the freeze fingerprint does not match)."
            )
    order_ok: bool | None = None
    if published is not None:
        order_ok = True
        for key in sorted(set(published) | {c.key for c in computed.categories}):
            given = [str(u).strip().lower() for u in published.get(key, ())]
            try:
                expected = list(computed.category(key).order)
            except KeyError:
                expected = []
            if given != expected[: len(given)] or (
                len(given) < min(len(expected), places.get(key, 0))
            ):
                order_ok = False
                problems.append(f"Category {key}: the published order differs from the re-run.")
    changes_ok: bool | None = None
    if changes is not None:
        found = check_changes(computed, changes)
        changes_ok = not found
        problems.extend(found)
    return VerifyReport(
        True,
        commitment_ok,
        fingerprint_ok,
        order_ok,
        computed,
        tuple(problems),
        freeze_ok=freeze_ok,
        changes_ok=changes_ok,
    )
