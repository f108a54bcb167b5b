"""meeting time polls."""

from __future__ import annotations

import json
from collections.abc import Sequence

from bot.domain.audit.models import AuditFor
from bot.domain.meetings.models import MeetingPoll
from db.database import Database, Row
from db.repositories.audit import fetchone_audited

_COLUMNS = (
    "id, guild_id, title, options, duration_seconds, call_id, role_id, channel_id, message_id, "
    "closes_at, status, counts, meeting_id, created_by, created_at"
)


def _poll(row: Row) -> MeetingPoll:
    values = {k: row[k] for k in row.keys()}
    options = tuple(float(x) for x in json.loads(values.pop("options")))
    voters = tuple(tuple(int(u) for u in v) for v in json.loads(values.pop("counts")))
    return MeetingPoll(**values, options=options, voters=voters)


class MeetingPollRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def create(
        self,
        *,
        guild_id: int,
        title: str,
        options: Sequence[float],
        duration_seconds: int,
        call_id: int | None,
        role_id: int | None,
        channel_id: int,
        closes_at: float,
        created_by: int,
        created_at: float,
        audit: AuditFor[MeetingPoll] = None,
    ) -> MeetingPoll:
        """The poll and its audit row (``audit(poll)``) in one transaction."""
        for_row: AuditFor[Row] = (lambda r: audit(_poll(r))) if callable(audit) else audit
        row = await fetchone_audited(
            self.db,
            "INSERT INTO meeting_polls (guild_id, title, options, duration_seconds, call_id, "
            "role_id, channel_id, closes_at, created_by, created_at) "
            f"VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING {_COLUMNS}",
            (
                guild_id,
                title,
                json.dumps(list(options)),
                duration_seconds,
                call_id,
                role_id,
                channel_id,
                closes_at,
                created_by,
                created_at,
            ),
            for_row,
        )
        assert row is not None
        return _poll(row)

    async def get(self, poll_id: int) -> MeetingPoll | None:
        row = await self.db.fetchone(
            f"SELECT {_COLUMNS} FROM meeting_polls WHERE id = ?", (poll_id,)
        )
        return _poll(row) if row else None

    async def set_message(self, poll_id: int, message_id: int) -> None:
        await self.db.execute(
            "UPDATE meeting_polls SET message_id = ? WHERE id = ?", (message_id, poll_id)
        )

    async def delete(self, poll_id: int) -> None:
        await self.db.execute("DELETE FROM meeting_polls WHERE id = ?", (poll_id,))

    async def close(self, poll_id: int, voters: Sequence[Sequence[int]]) -> MeetingPoll | None:
        """Record the final votes of an open poll; None if it was counted already."""
        row = await self.db.fetchone(
            f"UPDATE meeting_polls SET status = 'closed', counts = ? "
            f"WHERE id = ? AND status = 'open' RETURNING {_COLUMNS}",
            (json.dumps([list(v) for v in voters]), poll_id),
        )
        return _poll(row) if row else None

    async def claim(self, poll_id: int) -> bool:
        """Take the closed poll for making its meeting (one statement: one press wins)."""
        row = await self.db.fetchone(
            "UPDATE meeting_polls SET status = 'decided' WHERE id = ? AND status = 'closed' "
            "RETURNING id",
            (poll_id,),
        )
        return row is not None

    async def unclaim(self, poll_id: int) -> None:
        await self.db.execute(
            "UPDATE meeting_polls SET status = 'closed' WHERE id = ? AND meeting_id IS NULL",
            (poll_id,),
        )

    async def set_meeting(self, poll_id: int, meeting_id: int) -> None:
        await self.db.execute(
            "UPDATE meeting_polls SET meeting_id = ? WHERE id = ?", (meeting_id, poll_id)
        )
