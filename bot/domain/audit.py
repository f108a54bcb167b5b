"""Record every decision in the hash-chained audit log, and check the chain.

A decision and its audit row commit together: build the row with
``self.audit.entry(guild_id, actor_id, "call.closed", f"call:{n}", reason=...)`` (or a function of
the decision's result returning entries) and pass it as the ``audit`` argument of the repository
method that makes the decision; the method appends it (``db.repositories.audit.append_entries``)
inside its own ``db.transaction``, only when the decision changed something. If the row can't be
written, the decision is rolled back too. ``record`` (its own transaction, errors swallowed) is
only for events that are not a database decision.

Keys ending in ``user_id`` (an int) or ``user_ids`` (a list of ints) are stored as member
references (salted hashes that `/mydata delete` makes unlinkable), never as raw ids.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from bot.clock import Clock, from_unix
from bot.domain.errors import InvalidInput
from bot.timeparse import parse_when
from db import Database
from db.repositories.audit import GENESIS, AuditEntry, AuditRepository, AuditRow

__all__ = ["CSV_COLUMNS", "AuditExport", "AuditService", "ChainReport", "verify_chain"]

log = logging.getLogger(__name__)

# The columns of /audit export. ``at_unix`` is hashed exactly as written; ``actor`` (a name, while
# the member keeps their data here) is a convenience for organisers and not part of the hash.
CSV_COLUMNS = [
    "guild_id", "seq", "at_utc", "at_unix", "actor_ref", "actor", "action", "subject", "details",
    "prev_hash", "hash",
]

_BARE_DATE = re.compile(r"^\d{4}-\d{1,2}-\d{1,2}$")


@dataclass(frozen=True, slots=True)
class AuditExport:
    rows: list[AuditRow]
    # Reference -> user id, for members who have not deleted their data (not stored in the log).
    known: dict[str, int]

    def csv_rows(self, name_of: Callable[[int], str | None] = lambda _: None) -> list[list[str]]:
        """Header and rows for the CSV; ``name_of(user_id)`` may give a display name."""
        out = [list(CSV_COLUMNS)]
        for row in self.rows:
            user_id = self.known.get(row.actor_ref or "")
            actor = ""
            if user_id is not None:
                name = name_of(user_id)
                actor = f"{name} ({user_id})" if name else str(user_id)
            out.append([
                str(row.guild_id), str(row.seq), from_unix(row.at).isoformat(timespec="seconds"),
                repr(float(row.at)), row.actor_ref or "", actor, row.action, row.subject,
                row.details, row.prev_hash, row.hash,
            ])
        return out


@dataclass(slots=True)
class ChainReport:
    """The result of checking one or more servers' chains."""

    rows: int = 0
    heads: dict[int, tuple[int, int, str]] = field(default_factory=dict)  # guild -> (first, last, hash)
    problems: list[str] = field(default_factory=list)
    partial: set[int] = field(default_factory=set)  # guilds whose export starts after row 1

    @property
    def ok(self) -> bool:
        return not self.problems

    def verdict(self) -> str:
        """One line: OK or FAILED, with the first problem found."""
        if not self.ok:
            more = f" (and {len(self.problems) - 1} more problem(s))" if len(self.problems) > 1 else ""
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
                    report.problems.append(
                        f"{where}: rows 1-{row.seq - 1} are missing (removed)"
                    )
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


class AuditService:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.repo = AuditRepository(db)
        self.clock = clock

    def entry(
        self, guild_id: int, actor_id: int | None, action: str, subject: str = "", **details: Any
    ) -> AuditEntry:
        """An audit row for a decision, stamped now, to hand to the repository method that makes
        the decision (its ``audit`` argument): the row is appended in the decision's own
        transaction, so both commit together or neither does."""
        return AuditEntry(guild_id, self.clock.now().timestamp(), actor_id, action, subject,
                          details)

    async def record(
        self, guild_id: int, actor_id: int | None, action: str, subject: str = "", **details: Any
    ) -> AuditRow | None:
        """Append a row in its own transaction; a failure is logged, never shown to the member.

        Only for events that are not a database decision of their own. Every decision (a call
        created, edited, closed; a draw run; a booking; a setting changed; ...) is recorded
        through :meth:`entry` in the decision's own transaction instead, so a crash or an error
        can never keep the decision without its row. No caller in bot/domain/ uses this today.
        """
        try:
            return await self.repo.append(
                guild_id, self.clock.now().timestamp(), actor_id, action, subject, details
            )
        except Exception:
            log.exception("could not write audit row %s for guild %s", action, guild_id)
            return None

    async def export(
        self, guild_id: int, since: datetime | None = None, until: datetime | None = None
    ) -> AuditExport:
        """Rows from ``since`` to ``until`` (inclusive), oldest first, for the organisers' CSV."""
        if since is not None and until is not None and until < since:
            raise InvalidInput("The end of the period is before its start. Swap `from` and `to`.")
        rows = await self.repo.rows(
            guild_id, since.timestamp() if since else None, until.timestamp() if until else None
        )
        return AuditExport(rows, await self.repo.known_refs(guild_id))

    def parse_period(
        self, since: str | None, until: str | None, tz: str
    ) -> tuple[datetime | None, datetime | None]:
        """Typed ``from``/``to`` as aware UTC; a bare date as ``to`` means the end of that day."""
        now = self.clock.now()
        start = parse_when(since, tz=tz, now=now, future=False) if since and since.strip() else None
        end = None
        if until and until.strip():
            end = parse_when(until, tz=tz, now=now, future=False)
            if _BARE_DATE.match(until.strip()):
                end = end + timedelta(days=1) - timedelta(microseconds=1)
        return start, end

    async def verify(self, guild_id: int) -> ChainReport:
        return verify_chain(await self.repo.rows(guild_id))

    async def member_ref(self, guild_id: int, user_id: int) -> str | None:
        """The member's current reference, or None if nothing was ever recorded about them."""
        return await self.repo.member_ref(guild_id, user_id, create=False)

    async def rows_about(self, guild_id: int, user_id: int) -> list[AuditRow]:
        ref = await self.member_ref(guild_id, user_id)
        return [] if ref is None else await self.repo.rows_about(guild_id, ref)
