"""The hash chain: how a row's hash is made and how a chain is checked (pure)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import NamedTuple

GENESIS = "0" * 64

# The canonical JSON of a row: exactly ``json.dumps(fields, ensure_ascii=False,
# separators=(",", ":"))``, with the encoder made once (json.dumps builds one per call when
# given options, which was a third of the cost of hashing a row).
_CANONICAL = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def row_hash(
    prev_hash: str,
    guild_id: int,
    seq: int,
    at: float,
    actor_ref: str | None,
    action: str,
    subject: str,
    details: str,
) -> str:
    """SHA-256 over the previous hash and this row's fields (canonical JSON)."""
    body = _CANONICAL.encode(
        [prev_hash, guild_id, seq, repr(float(at)), actor_ref, action, subject, details]
    )
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


class ChainRow(NamedTuple):
    """An audit row as a checker reads it (a plain tuple: cheap to make a million of)."""

    id: int
    guild_id: int
    seq: int
    at: float
    actor_ref: str | None
    action: str
    subject: str
    details: str
    prev_hash: str
    hash: str

    @property
    def expected_hash(self) -> str:
        return row_hash(
            self.prev_hash,
            self.guild_id,
            self.seq,
            self.at,
            self.actor_ref,
            self.action,
            self.subject,
            self.details,
        )


@dataclass(slots=True)
class ChainReport:
    """The result of checking one or more servers' chains."""

    rows: int = 0
    heads: dict[int, tuple[int, int, str]] = field(
        default_factory=dict
    )  # guild -> (first, last, hash)
    problems: list[str] = field(default_factory=list)
    partial: set[int] = field(default_factory=set)  # guilds whose export starts after row 1

    @property
    def ok(self) -> bool:
        return not self.problems

    def verdict(self) -> str:
        """One line: OK or FAILED, with the first problem found."""
        if not self.ok:
            more = (
                f" (and {len(self.problems) - 1} more problem(s))" if len(self.problems) > 1 else ""
            )
            return f"FAILED: {self.problems[0]}{more}"
        if not self.heads:
            return "OK: the audit log is empty"
        parts = []
        for guild, (first, last, head) in sorted(self.heads.items()):
            anchored = " (export starts mid-chain)" if guild in self.partial else ""
            parts.append(f"server {guild} rows {first}-{last} head {head[:16]}{anchored}")
        return f"OK: {self.rows} rows, chain intact; " + "; ".join(parts)


def verify_chain(rows: Iterable[ChainRow], *, allow_partial: bool = False) -> ChainReport:
    """Check rows in the order given (per server): each hash matches the row's contents, each
    ``prev_hash`` is the previous row's hash and ``seq`` counts up by one.

    With ``allow_partial`` (an export with a date range) a server's first row may start after
    row 1; its ``prev_hash`` is then taken on trust. A removed *last* row cannot be told from a
    chain alone: compare the head hash with one you kept (docs/data-and-wording.md).
    """
    report = ChainReport()
    last: dict[int, ChainRow] = {}
    first: dict[int, int] = {}
    problems = report.problems
    count = 0
    for row in rows:
        count += 1
        guild = row.guild_id
        if row.hash != row.expected_hash:
            problems.append(f"{_where(row)}: its hash does not match its contents (edited)")
        previous = last.get(guild)
        if previous is None:
            first[guild] = row.seq
            if row.seq == 1 and row.prev_hash != GENESIS:
                problems.append(f"{_where(row)}: the first row does not start the chain")
            elif row.seq != 1:
                if allow_partial:
                    report.partial.add(guild)
                else:
                    problems.append(f"{_where(row)}: rows 1-{row.seq - 1} are missing (removed)")
        elif row.seq != previous.seq + 1:
            kind = "reordered" if row.seq <= previous.seq else "removed"
            problems.append(
                f"{_where(row)} follows row {previous.seq}: rows are out of sequence ({kind})"
            )
        elif row.prev_hash != previous.hash:
            problems.append(
                f"{_where(row)}: it does not link to row {previous.seq} (edited, removed or "
                "reordered)"
            )
        last[guild] = row
    report.rows = count
    report.heads = {g: (first[g], row.seq, row.hash) for g, row in last.items()}
    return report


def _where(row: ChainRow) -> str:
    return f"server {row.guild_id} row {row.seq}"
