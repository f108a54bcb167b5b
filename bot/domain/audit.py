"""Record every decision in the hash-chained audit log.

Call ``await services.audit.record(guild_id, actor_id, "booking.confirmed", f"session:{n}",
user_id=member)``. Keys ending in ``user_id`` are stored as salted hashes, never as raw ids.
"""

from __future__ import annotations

import logging
from typing import Any

from bot.clock import Clock
from db.connection import Database
from db.repositories.audit import AuditRepository, AuditRow

__all__ = ["AuditService"]

log = logging.getLogger(__name__)


class AuditService:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.repo = AuditRepository(db)
        self.clock = clock

    async def record(
        self, guild_id: int, actor_id: int | None, action: str, subject: str = "", **details: Any
    ) -> AuditRow | None:
        """Append a row; an audit failure is logged, never shown to the member as their error."""
        try:
            return await self.repo.append(
                guild_id, self.clock.now().timestamp(), actor_id, action, subject, details
            )
        except Exception:
            log.exception("could not write audit row %s for guild %s", action, guild_id)
            return None
