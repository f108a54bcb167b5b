"""settings."""

from __future__ import annotations

from bot.domain.audit.models import AuditFor
from bot.domain.settings.models import GuildSettings
from db.database import Database, Tx
from db.repositories.audit import execute_audited


class SettingsRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def get(self, guild_id: int) -> GuildSettings:
        row = await self.db.fetchone(
            "SELECT guild_id, organiser_role_id, timezone, dm_confirmations "
            "FROM guild_settings WHERE guild_id = ?",
            (guild_id,),
        )
        if row is None:
            return GuildSettings(guild_id, None, None, True)
        return GuildSettings(row[0], row[1], row[2], bool(row[3]))

    async def _upsert(
        self, guild_id: int, column: str, value: object, now: float, audit: AuditFor[int]
    ) -> None:
        """One statement; its audit row (if given) is appended in the same transaction."""
        # column is one of a fixed set chosen by the methods below, never user input.
        assert column in {"organiser_role_id", "timezone", "dm_confirmations"}
        await execute_audited(
            self.db,
            f"INSERT INTO guild_settings (guild_id, {column}, updated_at) VALUES (?, ?, ?) "
            f"ON CONFLICT (guild_id) DO UPDATE SET {column} = excluded.{column}, "
            "updated_at = excluded.updated_at",
            (guild_id, value, now),
            audit,
        )

    async def set_organiser_role(
        self, guild_id: int, role_id: int | None, now: float, *, audit: AuditFor[int] = None
    ) -> None:
        await self._upsert(guild_id, "organiser_role_id", role_id, now, audit)

    async def set_timezone(
        self, guild_id: int, tz: str, now: float, *, audit: AuditFor[int] = None
    ) -> None:
        await self._upsert(guild_id, "timezone", tz, now, audit)

    async def set_dm_confirmations(
        self, guild_id: int, on: bool, now: float, *, audit: AuditFor[int] = None
    ) -> None:
        await self._upsert(guild_id, "dm_confirmations", int(on), now, audit)

    async def member_timezone(self, guild_id: int, user_id: int) -> str | None:
        value = await self.db.fetchval(
            "SELECT timezone FROM member_timezones WHERE guild_id = ? AND user_id = ?",
            (guild_id, user_id),
        )
        return None if value is None else str(value)

    async def set_member_timezone(self, guild_id: int, user_id: int, tz: str | None) -> None:
        async def work(tx: Tx) -> None:
            if tz is None:
                await tx.execute(
                    "DELETE FROM member_timezones WHERE guild_id = ? AND user_id = ?",
                    (guild_id, user_id),
                )
            else:
                await tx.execute(
                    "INSERT INTO member_timezones (guild_id, user_id, timezone) VALUES (?, ?, ?) "
                    "ON CONFLICT (guild_id, user_id) DO UPDATE SET timezone = excluded.timezone",
                    (guild_id, user_id, tz),
                )

        await self.db.transaction(work)
