"""wording."""

from __future__ import annotations

from bot.domain.audit.models import AuditFor
from bot.domain.wording.models import WordingOverride
from db.database import Database
from db.repositories.audit import execute_audited


class WordingRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def get(self, guild_id: int, key: str) -> WordingOverride | None:
        row = await self.db.fetchone(
            "SELECT guild_id, key, text, updated_by, updated_at FROM wording_overrides "
            "WHERE guild_id = ? AND key = ?",
            (guild_id, key),
        )
        return WordingOverride(*row) if row else None

    async def for_guild(self, guild_id: int) -> list[WordingOverride]:
        rows = await self.db.fetchall(
            "SELECT guild_id, key, text, updated_by, updated_at FROM wording_overrides "
            "WHERE guild_id = ? ORDER BY key",
            (guild_id,),
        )
        return [WordingOverride(*r) for r in rows]

    async def upsert(
        self,
        guild_id: int,
        key: str,
        text: str,
        actor_id: int,
        now: float,
        *,
        audit: AuditFor[int] = None,
    ) -> None:
        """Set the override (one statement, with its audit row in the same transaction)."""
        await execute_audited(
            self.db,
            "INSERT INTO wording_overrides (guild_id, key, text, updated_by, updated_at) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (guild_id, key) DO UPDATE SET text = excluded.text, "
            "updated_by = excluded.updated_by, updated_at = excluded.updated_at",
            (guild_id, key, text, actor_id, now),
            audit,
        )

    async def delete(self, guild_id: int, key: str, *, audit: AuditFor[int] = None) -> bool:
        """Remove the override; False if there was none (one atomic statement; its audit row is
        appended in the same transaction only if an override was removed)."""
        return (
            await execute_audited(
                self.db,
                "DELETE FROM wording_overrides WHERE guild_id = ? AND key = ?",
                (guild_id, key),
                audit,
            )
            > 0
        )
