"""Re-run a published draw without Discord: ``python -m bot.verify_draw``.

Three ways to give it the published values:

* ``python -m bot.verify_draw --json call-1-draw.json`` (the file attached to the result post and
  to ``/draw show``; ``--json -`` reads it from standard input);
* ``python -m bot.verify_draw --seed HEX --places "🧭=3, 🌱=3" --roster "REF:🧭 REF:🌱 ..."``
  with optional ``--commitment``, ``--fingerprint`` and ``--expect "🧭=REF,REF; 🌱=REF"``;
* ``python -m bot.verify_draw`` with no options asks for the values one by one (paste them).

Volunteers are named as the draw's algorithm version names them: version 2 (the bot's draws) by
their 32-character entry reference, version 1 by Discord user id (``--algorithm
hmac-sha256-rank/v1``, or the export's ``algorithm_version``).

Version 3 (freeze, then reveal) files also carry the freeze, the public beacon value and the
changes after the draw. Then it also checks: the freeze fingerprint (the roster, places and
beacon round as published on the call post before the draw; ``--freeze call-N-roster.json``
compares with that file itself), the drand round's BLS signature against the chain's public key
(offline: the round and its signature are in the file; the chain trusted is quicknet unless
``--chain-hash`` names another), that the freeze was published before the round's time, and that
every change followed the reserve order. ``--beacon-url URL`` fetches the round from a drand
server instead of trusting the copy in the file (the signature is checked either way).

It prints every category's draw order and whether everything matches. Exit status: 0 when all
checks pass, 1 when something does not match, 2 when the input can't be read.
The algorithm is specified in docs/draw.md; this uses the same code the bot uses.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from bot.beacon.drand import (
    QUICKNET,
    BeaconRound,
    ChainInfo,
    chain_hash_of,
    time_of_round,
    verify_round,
)
from bot.domain.draws.algorithm import (
    ALGORITHM,
    ALGORITHM_ID,
    ALGORITHM_VERSION,
    Change,
    VerifyReport,
    entrant_text,
    freeze_fingerprint,
    parse_algorithm_id,
    public_value_bytes,
    verify_published,
)
from bot.domain.errors import InvalidInput

__all__ = ["Published", "from_export", "main", "parse_places", "parse_roster", "render"]

_VS16 = "\ufe0f"
_CUSTOM = re.compile(r"^<a?:[A-Za-z0-9_~]+:(\d+)>$")


class Published:
    """The values a draw publishes, however they were given."""

    def __init__(
        self,
        *,
        seed: str,
        roster: list[tuple[str, str]],
        places: dict[str, int],
        algorithm: str = ALGORITHM_ID,
        commitment: str | None = None,
        fingerprint: str | None = None,
        expected: dict[str, list[str]] | None = None,
        order: list[str] | None = None,
        labels: dict[str, str] | None = None,
        beacon_value: bytes | None = None,
        beacon_name: str | None = None,
        freeze: str | None = None,
        changes: list[Change] | None = None,
        drand: dict[str, Any] | None = None,
        published_at: str | None = None,
        freeze_message_id: str | None = None,
    ) -> None:
        self.seed = seed
        self.roster = roster
        self.places = places
        self.algorithm = algorithm
        self.commitment = commitment
        self.fingerprint = fingerprint
        self.expected = expected
        self.order = order or list(places)
        self.labels = labels or {}
        self.beacon_value = beacon_value
        self.beacon_name = beacon_name
        self.freeze = freeze
        self.changes = changes
        self.drand = drand  # the drand round, its signature and (optionally) the chain's info
        self.published_at = published_at
        self.freeze_message_id = freeze_message_id

    def check(self) -> VerifyReport:
        return verify_published(
            algorithm=self.algorithm,
            seed=self.seed,
            roster=self.roster,
            places=self.places,
            category_order=self.order,
            commitment=self.commitment,
            fingerprint=self.fingerprint,
            published=self.expected,
            beacon_value=self.beacon_value,
            beacon=self.beacon_name,
            freeze=self.freeze,
            changes=self.changes,
        )


def category_key(text: str) -> str:
    """The key the algorithm uses: a custom emoji's id, or the emoji without U+FE0F."""
    text = text.strip()
    match = _CUSTOM.match(text)
    return match.group(1) if match else text.replace(_VS16, "")


def _version(algorithm: str) -> int:
    return parse_algorithm_id(algorithm)[1]


def parse_roster(text: str, version: int = ALGORITHM_VERSION) -> list[tuple[str, str]]:
    """``"REF:🧭 REF:🌱"`` (spaces, commas or new lines between entries) -> roster. Version 1
    rosters name volunteers by user id (``"111:🧭"``)."""
    roster = []
    example = "`111:🧭`" if version == 1 else "`0123456789abcdef0123456789abcdef:🧭`"
    for item in re.split(r"[\s,;]+", text.strip()):
        if not item:
            continue
        entrant, sep, key = item.partition(":")
        if not sep or not key:
            raise InvalidInput(f"`{item}` should look like `entrant:category`, e.g. {example}.")
        roster.append((entrant_text(entrant, version), category_key(key)))
    if not roster:
        raise InvalidInput("The roster is empty.")
    return roster


def parse_places(text: str, roster: Sequence[tuple[str, str]]) -> dict[str, int]:
    """``"3"`` (every category in the roster) or ``"🧭=3, 🌱=3"``."""
    text = text.strip()
    keys = list(dict.fromkeys(k for _, k in roster))
    if text.isdigit():
        return {k: int(text) for k in keys}
    places: dict[str, int] = {}
    for part in re.split(r"[,;]", text):
        if not part.strip():
            continue
        key, sep, number = part.rpartition("=")
        if not sep or not number.strip().isdigit():
            raise InvalidInput(f"`{part.strip()}` should look like `🧭=3`.")
        places[category_key(key)] = int(number)
    return places


def parse_expected(text: str, version: int = ALGORITHM_VERSION) -> dict[str, list[str]]:
    """``"🧭=REF,REF; 🌱=REF"``: each category's published order (drawn first; reserves
    optional)."""
    expected: dict[str, list[str]] = {}
    for part in text.split(";"):
        if not part.strip():
            continue
        key, sep, entrants = part.rpartition("=")
        if not sep:
            raise InvalidInput(f"`{part.strip()}` should look like `🧭=REF,REF`.")
        expected[category_key(key)] = [
            entrant_text(e, version) for e in re.split(r"[\s,]+", entrants.strip()) if e
        ]
    return expected


def from_export(data: dict[str, Any]) -> Published:
    """Read the JSON export (see docs/draw.md, "The JSON export"): version 2 lists volunteers
    by ``ref``, version 1 by ``user_id``."""
    try:
        algorithm = f"{data.get('algorithm', ALGORITHM)}/v{data.get('algorithm_version', ALGORITHM_VERSION)}"
        version = _version(algorithm)
        field = "user_id" if version == 1 else "ref"
        categories = data["categories"]
        places = {category_key(str(c["key"])): int(c["places"]) for c in categories}
        roster = [
            (entrant_text(str(r[field]), version), category_key(str(r["category"])))
            for r in data["roster"]
        ]
        expected = None
        if "result" in data:
            expected = {
                category_key(k): [entrant_text(str(u), version) for u in v.get("selected", [])]
                + [entrant_text(str(u), version) for u in v.get("reserve", [])]
                for k, v in data["result"].items()
            }
        v3: dict[str, Any] = {}
        if version >= 3:
            beacon = data["beacon"]
            freeze = data["freeze"]
            if beacon["kind"] == "drand":
                v3["beacon_value"] = bytes.fromhex(str(beacon["randomness"]))
                v3["drand"] = beacon
            else:
                v3["beacon_value"] = public_value_bytes(str(beacon["value"]))
            v3["beacon_name"] = str(freeze["beacon_name"])
            v3["freeze"] = str(freeze["fingerprint"])
            v3["published_at"] = freeze.get("published_at")
            v3["freeze_message_id"] = freeze.get("message_id")
            v3["changes"] = [
                Change(
                    category_key(str(c["category"])),
                    entrant_text(str(c["left"]), version),
                    entrant_text(str(c["joined"]), version) if c.get("joined") else None,
                    str(c.get("why", "")),
                )
                for c in data.get("changes", [])
            ]
        return Published(
            seed=str(data["seed"]),
            roster=roster,
            places=places,
            algorithm=algorithm,
            commitment=data.get("seed_commitment"),
            fingerprint=data.get("roster_fingerprint"),
            expected=expected,
            order=list(places),
            **v3,
            labels={
                category_key(
                    str(c["key"])
                ): f"{c.get('emoji', c['key'])} {c.get('label', '')}".strip()
                for c in categories
            },
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise InvalidInput(f"This doesn't look like a draw export ({exc!s}).") from None


DISCORD_EPOCH_MS = 1_420_070_400_000


def snowflake_time(message_id: str | int) -> datetime:
    """When Discord created a message, read from its id (public: anyone can see the post)."""
    return datetime.fromtimestamp(((int(message_id) >> 22) + DISCORD_EPOCH_MS) / 1000, UTC)


def _when(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def trusted_chain(trusted_hash: str, beacon: dict[str, Any]) -> ChainInfo:
    """The chain a draw's round must verify against: quicknet (built in), or the chain named by
    ``--chain-hash`` whose parameters (in the file) must hash to exactly that chain hash."""
    if trusted_hash == QUICKNET.chain_hash:
        return QUICKNET
    info = beacon.get("chain")
    if not isinstance(info, dict):
        raise InvalidInput("The file doesn't give the parameters of its drand chain.")
    public_key = bytes.fromhex(str(info["public_key"]))
    group_hash = bytes.fromhex(str(info["group_hash"]))
    made = chain_hash_of(
        public_key=public_key,
        period=int(info["period"]),
        genesis_time=int(info["genesis_time"]),
        group_hash=group_hash,
        beacon_id=str(info.get("beacon_id", "")),
    )
    if made != trusted_hash:
        raise InvalidInput(
            f"The chain parameters in the file hash to {made}, not to the chain you trust "
            f"({trusted_hash})."
        )
    return ChainInfo(
        public_key=public_key,
        period=int(info["period"]),
        genesis_time=int(info["genesis_time"]),
        chain_hash=trusted_hash,
        group_hash=group_hash,
        beacon_id=str(info.get("beacon_id", "")),
    )


def check_beacon(
    published: Published,
    trusted_hash: str,
    fetched: BeaconRound | None = None,
    *,
    discord_time: bool = False,
) -> tuple[bool | None, bool | None, list[str], list[str]]:
    """Version 3: is the public value genuine (the drand round's BLS signature, against the
    trusted chain's public key), and was the freeze published before it came out?
    ``(beacon_ok, published_before_ok, notes, problems)``."""
    beacon = published.drand
    notes: list[str] = []
    problems: list[str] = []
    if beacon is None:
        return None, None, notes, problems
    beacon_ok: bool | None = None
    due: datetime | None = None
    if beacon.get("kind", "drand") == "drand":
        chain_hash = str(beacon["chain_hash"])
        round_number = int(beacon["round"])
        if chain_hash != trusted_hash:
            problems.append(
                f"This draw used drand chain {chain_hash}, not the chain you trust "
                f"({trusted_hash}). If you trust that chain, run again with --chain-hash "
                f"{chain_hash}."
            )
            return False, None, notes, problems
        try:
            chain = trusted_chain(trusted_hash, beacon)
        except (InvalidInput, KeyError, ValueError) as exc:
            problems.append(str(exc))
            return False, None, notes, problems
        given = BeaconRound(
            round_number,
            bytes.fromhex(str(beacon["signature"])),
            claimed_randomness=bytes.fromhex(str(beacon["randomness"])),
        )
        round_ = fetched or given
        beacon_ok = (
            round_.round == round_number
            and verify_round(chain, round_)
            and round_.randomness == published.beacon_value
            and round_.signature == given.signature
            and published.beacon_name == f"drand {chain_hash} {round_number}"
        )
        if not beacon_ok:
            problems.append(
                f"The drand round {round_number} in the file is not the genuine round of the "
                "chain named at the freeze (its signature, its value or its number differ)."
            )
        due = datetime.fromtimestamp(time_of_round(chain, round_number), UTC)
        notes.append(f"drand round {round_number} came out at {due.isoformat()}")
    elif beacon.get("due"):
        due = _when(str(beacon["due"]))
        notes.append(f"the public value was to come out at {due.isoformat()}")
    before: bool | None = None
    if published.published_at and due is not None:
        at = _when(published.published_at)
        before = at < due
        notes.append(f"the frozen roster was published at {at.isoformat()}")
        if not before:
            problems.append("The frozen roster was not published before the public value.")
    if published.freeze_message_id:
        posted = snowflake_time(published.freeze_message_id)
        notes.append(f"Discord dates the freeze post {posted.isoformat()} (from its message id)")
        if discord_time and due is not None:  # Discord's own date, not the bot's record
            by_discord = posted < due
            before = by_discord if before is None else (before and by_discord)
            if not by_discord:
                problems.append("Discord dates the freeze post after the public value came out.")
    elif discord_time:
        problems.append("The file doesn't give the freeze post's message id.")
        before = False
    return beacon_ok, before, notes, problems


def check_freeze_file(published: Published, frozen: dict[str, Any]) -> list[str]:
    """The frozen roster file from the call post: consistent with itself, and the same freeze
    as the draw's (roster, places and beacon named)."""
    problems: list[str] = []
    try:
        roster = [
            (entrant_text(str(r["ref"]), 3), category_key(str(r["category"])))
            for r in frozen["roster"]
        ]
        places = [(category_key(str(c["key"])), int(c["places"])) for c in frozen["categories"]]
        made = freeze_fingerprint(
            str(frozen["seed_commitment"]), str(frozen["beacon_name"]), places, roster
        )
        claimed = str(frozen["freeze_fingerprint"])
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidInput(f"This doesn't look like a frozen roster file ({exc!s}).") from None
    if made != claimed:
        problems.append("The frozen roster file does not match its own fingerprint.")
    if claimed != (published.freeze or ""):
        problems.append(
            "The draw's freeze fingerprint differs from the one in the frozen roster file "
            "published on the call post."
        )
    return problems


def _ask(prompt: str, read: Callable[[], str], out: TextIO) -> str:
    out.write(prompt)
    out.flush()
    return read().strip()


def interactive(read: Callable[[], str], out: TextIO, algorithm: str = ALGORITHM_ID) -> Published:
    """Ask for the published values one by one (what people paste from the result post)."""
    version = _version(algorithm)
    who = "user_id" if version == 1 else "reference"
    out.write("Paste the values from the draw's result post. Press Enter to skip optional ones.\n")
    seed = _ask("Seed (64 hex characters): ", read, out)
    commitment = _ask("Commitment shown on the call post (optional): ", read, out) or None
    fingerprint = _ask("Roster fingerprint (optional): ", read, out) or None
    out.write(
        f"Roster: one `{who}:category` per line (from the result file); an empty line ends it.\n"
    )
    lines = []
    while True:
        line = read().strip()
        if not line:
            break
        lines.append(line)
    roster = parse_roster("\n".join(lines), version)
    places = parse_places(_ask("Places (e.g. 3, or 🧭=3, 🌱=3): ", read, out), roster)
    expected_text = _ask(f"Published result (optional, e.g. 🧭={who},{who}; 🌱={who}): ", read, out)
    return Published(
        seed=seed,
        roster=roster,
        places=places,
        algorithm=algorithm,
        commitment=commitment,
        fingerprint=fingerprint,
        expected=parse_expected(expected_text, version) if expected_text else None,
    )


def render(published: Published, report: VerifyReport, notes: Sequence[str] = ()) -> str:
    def word(flag: bool | None) -> str:
        return "not checked (not given)" if flag is None else ("yes" if flag else "NO")

    lines = [f"Algorithm: {published.algorithm}"]
    if report.computed is not None:
        lines.append(f"Roster fingerprint (computed): {report.computed.roster_fingerprint}")
        for cat in report.computed.categories:
            name = published.labels.get(cat.key, cat.key)
            lines.append(f"\n{name}: {cat.places} place(s), {cat.volunteers} volunteer(s)")
            lines.append("  drawn:   " + (", ".join(cat.selected) or "nobody"))
            if cat.reserve:
                lines.append(
                    "  reserve: " + ", ".join(f"{i}. {u}" for i, u in enumerate(cat.reserve, 1))
                )
            if cat.open_places:
                lines.append(
                    f"  {cat.open_places} place(s) left open: fewer volunteers than places"
                )
        lines.append("")
    lines.append(f"Seed matches the commitment on the call post: {word(report.commitment_ok)}")
    lines.append(f"Roster matches the published fingerprint:   {word(report.fingerprint_ok)}")
    lines.append(f"Result matches the published result:        {word(report.order_ok)}")
    if report.freeze_ok is not None:
        lines.append(f"Roster, places and beacon are those frozen: {word(report.freeze_ok)}")
    if report.beacon_ok is not None:
        lines.append(f"Public randomness is genuine (signature):   {word(report.beacon_ok)}")
    if report.published_before_ok is not None:
        lines.append(
            f"Freeze published before the value existed:  {word(report.published_before_ok)}"
        )
    if report.changes_ok is not None:
        lines.append(f"Changes after the draw follow the reserves: {word(report.changes_ok)}")
    lines.extend(f"Note: {n}" for n in notes)
    lines.extend(f"Problem: {p}" for p in report.problems)
    lines.append(
        "RESULT: " + ("the draw checks out." if report.ok else "something does NOT match.")
    )
    return "\n".join(lines)


def main(
    argv: Sequence[str] | None = None, *, stdin: TextIO | None = None, stdout: TextIO | None = None
) -> int:
    stdin = stdin or sys.stdin
    stdout = stdout or sys.stdout
    parser = argparse.ArgumentParser(
        prog="python -m bot.verify_draw",
        description="Re-run a published co-production draw and check it (no Discord needed).",
    )
    parser.add_argument("--json", metavar="FILE", help="the draw's JSON export ('-' for stdin)")
    parser.add_argument("--seed", help="the revealed seed (64 hex characters)")
    parser.add_argument("--roster", help="'ref:category' entries separated by spaces or commas")
    parser.add_argument(
        "--roster-file", metavar="FILE", help="the roster, one 'ref:category' per line"
    )
    parser.add_argument("--places", help="'3' or '🧭=3, 🌱=3'")
    parser.add_argument("--commitment", help="the commitment shown on the call post")
    parser.add_argument("--fingerprint", help="the published roster fingerprint")
    parser.add_argument("--expect", help="the published result, e.g. '🧭=REF,REF; 🌱=REF'")
    parser.add_argument("--beacon-randomness", help="version 3: the drand round's randomness (hex)")
    parser.add_argument("--public-value", help="version 3: the organiser-named public value")
    parser.add_argument(
        "--freeze-fingerprint", help="version 3: the freeze fingerprint on the call post"
    )
    parser.add_argument("--beacon-name", help="version 3: the beacon as the freeze named it")
    parser.add_argument(
        "--freeze", metavar="FILE", help="the frozen roster file posted at the freeze, to compare"
    )
    parser.add_argument(
        "--chain-hash",
        default=QUICKNET.chain_hash,
        help="the drand chain you trust (default: the League of Entropy's quicknet)",
    )
    parser.add_argument(
        "--beacon-url", help="fetch the drand round from this server instead of using the file's"
    )
    parser.add_argument(
        "--discord-time",
        action="store_true",
        help="also require Discord's own date of the freeze post (from its message id) to be "
        "before the public value came out",
    )
    parser.add_argument(
        "--algorithm",
        default=None,
        help="the draw's algorithm for pasted values (default hmac-sha256-rank/v3 with "
        "--beacon-randomness or --public-value, else hmac-sha256-rank/v2; hmac-sha256-rank/v1 "
        "names volunteers by user id)",
    )
    args = parser.parse_args(argv)
    try:
        if args.json:
            text = stdin.read() if args.json == "-" else Path(args.json).read_text(encoding="utf-8")
            published = from_export(json.loads(text))
        elif args.seed or args.roster or args.roster_file:
            if not args.seed or not (args.roster or args.roster_file) or not args.places:
                raise InvalidInput("Please give --seed, --roster (or --roster-file) and --places.")
            value: bytes | None = None
            if args.beacon_randomness:
                value = bytes.fromhex(args.beacon_randomness.strip())
            elif args.public_value:
                value = public_value_bytes(args.public_value)
            algorithm = args.algorithm or (
                ALGORITHM_ID if value is not None else "hmac-sha256-rank/v2"
            )
            version = _version(algorithm)
            roster_text = args.roster or Path(args.roster_file).read_text(encoding="utf-8")
            roster = parse_roster(roster_text, version)
            published = Published(
                seed=args.seed,
                roster=roster,
                places=parse_places(args.places, roster),
                algorithm=algorithm,
                commitment=args.commitment,
                fingerprint=args.fingerprint,
                expected=parse_expected(args.expect, version) if args.expect else None,
                beacon_value=value,
                beacon_name=args.beacon_name,
                freeze=args.freeze_fingerprint,
            )
        elif stdin.isatty():
            published = interactive(stdin.readline, stdout, args.algorithm or "hmac-sha256-rank/v2")
        else:
            published = from_export(json.loads(stdin.read()))
        report = published.check()
        fetched = None
        if args.beacon_url and published.drand is not None:
            fetched = asyncio.run(_fetch(args.beacon_url, args.chain_hash, published.drand))
        beacon_ok, before, notes, problems = check_beacon(
            published, args.chain_hash.strip().lower(), fetched, discord_time=args.discord_time
        )
        if args.freeze:
            frozen = json.loads(Path(args.freeze).read_text(encoding="utf-8"))
            freeze_problems = check_freeze_file(published, frozen)
            problems += freeze_problems
            if freeze_problems:
                report = replace(report, freeze_ok=False)
        report = replace(
            report,
            beacon_ok=beacon_ok,
            published_before_ok=before,
            problems=report.problems + tuple(problems),
        )
    except (InvalidInput, OSError, json.JSONDecodeError) as exc:
        stdout.write(f"error: {exc}\n")
        return 2
    stdout.write(render(published, report, notes) + "\n")
    return 0 if report.ok else 1


async def _fetch(url: str, trusted_hash: str, beacon: dict[str, Any]) -> BeaconRound:
    """The round, fetched and verified from a drand server (online check)."""
    from bot.beacon.client import BeaconError, DrandClient

    chain = trusted_chain(trusted_hash.strip().lower(), beacon)
    try:
        async with DrandClient(url, chain) as client:
            return await client.fetch_round(int(beacon["round"]))
    except BeaconError as exc:
        raise InvalidInput(f"Couldn't fetch the round from {url}: {exc}") from None


if __name__ == "__main__":
    raise SystemExit(main())
