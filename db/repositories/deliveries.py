"""The ``deliveries`` table (migration 0007): one row per recipient of every member message.

Rows move between states only through :meth:`DeliveryLog.move`, ONE ``UPDATE ... WHERE state = ?
RETURNING`` statement, or :meth:`DeliveryLog.claim`, one unit of work, so a row is claimed by
exactly one sender. What the states mean is decided by the delivery engine
(``bot/domain/delivery/engine.py``); this module only stores them."""

from __future__ import annotations

from collections.abc import Sequence

from bot.domain.delivery.models import ClaimStamp, DeliveryRow, DeliveryState, OwnerKind, Route
from db.database import Database, Tx

Part = int | str  # a reminder's offset in seconds is stored as text


class DeliveryLog:
    """The deliveries of one kind of owner (sessions, feedback rounds, meetings or draws)."""

    def __init__(self, db: Database, kind: OwnerKind | str) -> None:
        self.db = db
        self.kind = OwnerKind(kind)  # ValueError for anything but the known kinds

    async def add(
        self, owner: int, part: Part, recipients: Sequence[tuple[int, str]], state: str, now: float
    ) -> None:
        """Insert a row per ``(user_id, via)`` in ``state``; rows that exist are left alone."""
        if not recipients:
            return
        await self.db.executemany(
            "INSERT INTO deliveries (owner_kind, owner_id, part, user_id, state, via, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            [
                (self.kind, owner, str(part), user_id, state, via, now)
                for user_id, via in recipients
            ],
        )

    async def move(
        self,
        owner: int,
        part: Part,
        *,
        src: str,
        dst: str,
        now: float,
        users: Sequence[int] | None = None,
        via_is: str | None = None,
        via: str | None = None,
        claim: ClaimStamp = "keep",
        claimed_before: float | None = None,
        claimed_since: float | None = None,
    ) -> list[int]:
        """Move the rows in state ``src`` (optionally only ``users``, only those going ``via_is``,
        only those claimed before/since a time) to ``dst`` in one statement; the user ids moved.

        ``claim``: ``stamp`` records ``now`` as the claim time unless one is kept from an earlier
        attempt, ``clear`` forgets it, ``keep`` leaves it."""
        if users is not None and not users:
            return []
        sets = ["state = ?", "updated_at = ?"]
        params: list[object] = [dst, now]
        if via is not None:
            sets.append("via = ?")
            params.append(via)
        if claim == "stamp":
            sets.append("claimed_at = COALESCE(claimed_at, ?)")
            params.append(now)
        elif claim == "clear":
            sets.append("claimed_at = NULL")
        where = ["owner_kind = ?", "owner_id = ?", "part = ?", "state = ?"]
        params += [self.kind, owner, str(part), src]
        if users is not None:
            where.append(f"user_id IN ({', '.join('?' for _ in users)})")
            params += list(users)
        if via_is is not None:
            where.append("via = ?")
            params.append(via_is)
        if claimed_before is not None:
            where.append("claimed_at < ?")
            params.append(claimed_before)
        if claimed_since is not None:
            where.append("claimed_at >= ?")
            params.append(claimed_since)
        rows = await self.db.fetchall(
            f"UPDATE deliveries SET {', '.join(sets)} WHERE {' AND '.join(where)} "
            "RETURNING user_id",
            params,
        )
        return [int(r[0]) for r in rows]

    async def claim(
        self,
        owner: int,
        part: Part,
        users: Sequence[int],
        *,
        src: str,
        dst: str,
        via_is: str,
        now: float,
        fresh_since: float,
    ) -> list[tuple[int, bool]]:
        """Claim the rows of ``users`` in state ``src`` going ``via_is`` that were never claimed
        or were claimed since ``fresh_since``: they move to ``dst`` and keep the claim time of an
        earlier attempt (else ``now``). One transaction. Returns ``(user_id, fresh)`` per row
        taken, ``fresh`` meaning it had no earlier claim."""
        if not users:
            return []
        marks = ", ".join("?" for _ in users)
        where = (
            "owner_kind = ? AND owner_id = ? AND part = ? AND state = ? AND via = ? "
            f"AND user_id IN ({marks}) AND (claimed_at IS NULL OR claimed_at >= ?)"
        )
        params: list[object] = [self.kind, owner, str(part), src, via_is, *users, fresh_since]
        select = (
            f"SELECT user_id, claimed_at FROM deliveries WHERE {where} ORDER BY user_id"
            f"{self.db.dialect.for_update}"
        )
        update = (
            "UPDATE deliveries SET state = ?, updated_at = ?, "
            f"claimed_at = COALESCE(claimed_at, ?) WHERE {where}"
        )

        async def work(tx: Tx) -> list[tuple[int, bool]]:
            await tx.lock("deliveries", self.kind, owner, str(part))
            taken = [(int(r[0]), r[1] is None) for r in await tx.fetchall(select, params)]
            if taken:
                await tx.execute(update, [dst, now, now, *params])
            return taken

        return await self.db.transaction(work)

    async def rows(self, owner: int, part: Part | None = None) -> list[DeliveryRow]:
        """The rows of one owner (and one part), by part then user."""
        sql = (
            "SELECT part, user_id, state, via, claimed_at, updated_at FROM deliveries "
            "WHERE owner_kind = ? AND owner_id = ?"
        )
        params: list[object] = [self.kind, owner]
        if part is not None:
            sql += " AND part = ?"
            params.append(str(part))
        rows = await self.db.fetchall(sql + " ORDER BY part, user_id", params)
        return [
            DeliveryRow(str(r[0]), int(r[1]), DeliveryState(r[2]), Route(r[3]), r[4], float(r[5]))
            for r in rows
        ]

    async def forget_member(self, user_id: int, owners: Sequence[int]) -> int:
        """Delete a member's rows for these owners (their data is being deleted)."""
        if not owners:
            return 0
        marks = ", ".join("?" for _ in owners)
        return await self.db.execute(
            f"DELETE FROM deliveries WHERE owner_kind = ? AND user_id = ? AND owner_id IN ({marks})",
            (self.kind, user_id, *owners),
        )
