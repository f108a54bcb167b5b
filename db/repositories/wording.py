"""Per-server wording overrides for member-facing templates."""

from __future__ import annotations

from dataclasses import dataclass

from db.connection import Database

__all__ = ["WordingOverride", "WordingRepository"]


@dataclass(frozen=True, slots=True)
class WordingOverride:
    guild_id: int
    key: str
    text: str
    updated_by: int
    updated_at: float


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

    async def upsert(self, guild_id: int, key: str, text: str, actor_id: int, now: float) -> None:
        await self.db.execute(
            "INSERT INTO wording_overrides (guild_id, key, text, updated_by, updated_at) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (guild_id, key) DO UPDATE SET text = excluded.text, "
            "updated_by = excluded.updated_by, updated_at = excluded.updated_at",
            (guild_id, key, text, actor_id, now),
        )

    async def delete(self, guild_id: int, key: str) -> bool:
        """Remove the override; False if there was none (one atomic statement)."""
        return await self.db.execute(
            "DELETE FROM wording_overrides WHERE guild_id = ? AND key = ?", (guild_id, key)
        ) > 0
