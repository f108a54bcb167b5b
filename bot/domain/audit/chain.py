"""The hash chain: how a row's hash is made and how a chain is checked (pure)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.domain.audit.models import AuditRow


GENESIS = "0" * 64


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
    body = json.dumps(
        [prev_hash, guild_id, seq, repr(float(at)), actor_ref, action, subject, details],
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


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


def verify_chain(rows: Iterable[AuditRow], *, allow_partial: bool = False) -> ChainReport:
    """Check rows in the order given (per server): each hash matches the row's contents, each
    ``prev_hash`` is the previous row's hash and ``seq`` counts up by one.

    With ``allow_partial`` (an export with a date range) a server's first row may start after
    row 1; its ``prev_hash`` is then taken on trust. A removed *last* row cannot be told from a
    chain alone: compare the head hash with one you kept (docs/data-and-wording.md).
    """
    report = ChainReport()
    last: dict[int, AuditRow] = {}
    for row in rows:
        report.rows += 1
        where = f"server {row.guild_id} row {row.seq}"
        if row.hash != row.expected_hash:
            report.problems.append(f"{where}: its hash does not match its contents (edited)")
        previous = last.get(row.guild_id)
        if previous is None:
            if row.seq == 1 and row.prev_hash != GENESIS:
                report.problems.append(f"{where}: the first row does not start the chain")
            elif row.seq != 1:
                if allow_partial:
                    report.partial.add(row.guild_id)
                else:
                    report.problems.append(f"{where}: rows 1-{row.seq - 1} are missing (removed)")
        else:
            if row.seq != previous.seq + 1:
                kind = "reordered" if row.seq <= previous.seq else "removed"
                report.problems.append(
                    f"{where} follows row {previous.seq}: rows are out of sequence ({kind})"
                )
            elif row.prev_hash != previous.hash:
                report.problems.append(
                    f"{where}: it does not link to row {previous.seq} (edited, removed or reordered)"
                )
        last[row.guild_id] = row
        first = report.heads.get(row.guild_id, (row.seq, row.seq, ""))[0]
        report.heads[row.guild_id] = (first, row.seq, row.hash)
    return report
