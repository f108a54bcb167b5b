"""deliveries."""

from __future__ import annotations

from collections.abc import Sequence

from bot.domain.delivery.models import ClaimStamp, DeliveryRow, Part
from db.database import Database, Tx

_TABLES: dict[str, tuple[str, str]] = {
    "session_deliveries": ("session_id", "kind"),
    "feedback_reminder_deliveries": ("round_id", "offset_seconds"),
    "meeting_reminder_deliveries": ("meeting_id", "offset_seconds"),
}


class DeliveryLog:
    """One feature's delivery table."""

    def __init__(self, db: Database, table: str) -> None:
        owner, part = _TABLES[table]  # KeyError for anything but the known tables
        self.db = db
        self._table = table
        self._owner = owner
        self._part = part

    async def add(
        self, owner: int, part: Part, recipients: Sequence[tuple[int, str]], state: str, now: float
    ) -> None:
        """Insert a row per ``(user_id, via)`` in ``state``; rows that exist are left alone."""
        if not recipients:
            return
        await self.db.executemany(
            f"INSERT INTO {self._table} ({self._owner}, {self._part}, user_id, state, via, "
            "updated_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            [(owner, part, user_id, state, via, now) for user_id, via in recipients],
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
        where = [f"{self._owner} = ?", f"{self._part} = ?", "state = ?"]
        params += [owner, part, src]
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
            f"UPDATE {self._table} SET {', '.join(sets)} WHERE {' AND '.join(where)} "
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
            f"{self._owner} = ? AND {self._part} = ? AND state = ? AND via = ? "
            f"AND user_id IN ({marks}) AND (claimed_at IS NULL OR claimed_at >= ?)"
        )
        params: list[object] = [owner, part, src, via_is, *users, fresh_since]
        select = f"SELECT user_id, claimed_at FROM {self._table} WHERE {where} ORDER BY user_id"
        update = (
            f"UPDATE {self._table} SET state = ?, updated_at = ?, "
            f"claimed_at = COALESCE(claimed_at, ?) WHERE {where}"
        )

        async def work(tx: Tx) -> list[tuple[int, bool]]:
            taken = [(int(r[0]), r[1] is None) for r in await tx.fetchall(select, params)]
            if taken:
                await tx.execute(update, [dst, now, now, *params])
            return taken

        return await self.db.transaction(work)

    async def rows(self, owner: int, part: Part | None = None) -> list[DeliveryRow]:
        """The rows of one owner (and one part), by part then user."""
        sql = (
            f"SELECT {self._part}, user_id, state, via, claimed_at, updated_at FROM {self._table} "
            f"WHERE {self._owner} = ?"
        )
        params: list[object] = [owner]
        if part is not None:
            sql += f" AND {self._part} = ?"
            params.append(part)
        rows = await self.db.fetchall(sql + f" ORDER BY {self._part}, user_id", params)
        return [DeliveryRow(r[0], int(r[1]), str(r[2]), str(r[3]), r[4], float(r[5])) for r in rows]
