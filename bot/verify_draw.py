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

It prints every category's draw order and whether everything matches. Exit status: 0 when all
checks pass, 1 when something does not match, 2 when the input can't be read.
The algorithm is specified in docs/draw.md; this uses the same code the bot uses.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TextIO

from bot.domain.draws.algorithm import (
    ALGORITHM,
    ALGORITHM_ID,
    ALGORITHM_VERSION,
    VerifyReport,
    entrant_text,
    parse_algorithm_id,
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
        return Published(
            seed=str(data["seed"]),
            roster=roster,
            places=places,
            algorithm=algorithm,
            commitment=data.get("seed_commitment"),
            fingerprint=data.get("roster_fingerprint"),
            expected=expected,
            order=list(places),
            labels={
                category_key(
                    str(c["key"])
                ): f"{c.get('emoji', c['key'])} {c.get('label', '')}".strip()
                for c in categories
            },
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise InvalidInput(f"This doesn't look like a draw export ({exc!s}).") from None


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


def render(published: Published, report: VerifyReport) -> str:
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
    parser.add_argument(
        "--algorithm",
        default=ALGORITHM_ID,
        help=f"the draw's algorithm (default {ALGORITHM_ID}; "
        "hmac-sha256-rank/v1 names volunteers by user id)",
    )
    args = parser.parse_args(argv)
    try:
        if args.json:
            text = stdin.read() if args.json == "-" else Path(args.json).read_text(encoding="utf-8")
            published = from_export(json.loads(text))
        elif args.seed or args.roster or args.roster_file:
            if not args.seed or not (args.roster or args.roster_file) or not args.places:
                raise InvalidInput("Please give --seed, --roster (or --roster-file) and --places.")
            version = _version(args.algorithm)
            roster_text = args.roster or Path(args.roster_file).read_text(encoding="utf-8")
            roster = parse_roster(roster_text, version)
            published = Published(
                seed=args.seed,
                roster=roster,
                places=parse_places(args.places, roster),
                algorithm=args.algorithm,
                commitment=args.commitment,
                fingerprint=args.fingerprint,
                expected=parse_expected(args.expect, version) if args.expect else None,
            )
        elif stdin.isatty():
            published = interactive(stdin.readline, stdout, args.algorithm)
        else:
            published = from_export(json.loads(stdin.read()))
        report = published.check()
    except (InvalidInput, OSError, json.JSONDecodeError) as exc:
        stdout.write(f"error: {exc}\n")
        return 2
    stdout.write(render(published, report) + "\n")
    return 0 if report.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
