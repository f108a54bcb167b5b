"""Record decisions, export and check the audit log."""

from __future__ import annotations

import dataclasses
import logging
import re
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

from bot.clock import Clock
from bot.domain.audit.chain import ChainReport, verify_chain
from bot.domain.audit.export import AuditExport
from bot.domain.audit.models import AuditEntry, AuditRow
from bot.domain.errors import InvalidInput
from bot.timeparse import parse_when
from db import Database
from db.repositories.audit import AuditRepository

log = logging.getLogger(__name__)


_BARE_DATE = re.compile(r"^\d{4}-\d{1,2}-\d{1,2}$")


class AuditService:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.repo = AuditRepository(db)
        self.clock = clock
        # Creations whose post is not made yet: recorded only once it is (see :meth:`hold`).
        self._held: dict[str, AuditEntry] = {}

    def hold(self, key: str, entry: AuditEntry) -> None:
        """Keep the audit row of something created but not yet posted. A creation is recorded
        when its post exists (:meth:`held`, appended in the same transaction that stores the
        post, then :meth:`drop`); if the post can't be made, the creation is undone and never
        recorded (:meth:`drop`), so a failed create leaves no trace in the append-only log."""
        self._held[key] = entry

    def held(self, key: str) -> AuditEntry | None:
        """The held row, stamped now (``None`` if nothing is held, e.g. a re-post). It stays
        held until dropped, so a transaction that failed can be tried again."""
        entry = self._held.get(key)
        if entry is None:
            return None
        return dataclasses.replace(entry, at=self.clock.now().timestamp())

    def drop(self, key: str) -> None:
        self._held.pop(key, None)

    def entry(
        self, guild_id: int, actor_id: int | None, action: str, subject: str = "", **details: Any
    ) -> AuditEntry:
        """An audit row for a decision, stamped now, to hand to the repository method that makes
        the decision (its ``audit`` argument): the row is appended in the decision's own
        transaction, so both commit together or neither does."""
        return AuditEntry(
            guild_id, self.clock.now().timestamp(), actor_id, action, subject, details
        )

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

    async def export_size(
        self, guild_id: int, since: datetime | None = None, until: datetime | None = None
    ) -> int:
        """How many rows :meth:`export_chunks` will give (for the progress shown)."""
        if since is not None and until is not None and until < since:
            raise InvalidInput("The end of the period is before its start. Swap `from` and `to`.")
        return await self.repo.count(
            guild_id, since.timestamp() if since else None, until.timestamp() if until else None
        )

    def export_chunks(
        self, guild_id: int, since: datetime | None = None, until: datetime | None = None
    ) -> AsyncIterator[list[AuditRow]]:
        """The period's rows, oldest first, in chunks read beside the writer (one snapshot):
        an export of a million rows never holds them all, nor blocks the bot's writes."""
        return self.repo.stream_rows(
            guild_id, since.timestamp() if since else None, until.timestamp() if until else None
        )

    async def known_refs(self, guild_id: int) -> dict[str, int]:
        """Reference -> user id for members who keep their data here."""
        return await self.repo.known_refs(guild_id)

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
