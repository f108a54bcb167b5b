"""Read and change a server's settings (each change audited)."""

from __future__ import annotations

from bot.clock import Clock
from bot.domain.audit.models import AuditEntry
from bot.domain.audit.service import AuditService
from bot.domain.cache import SharedCache
from bot.domain.settings.models import GuildSettings
from bot.timeparse import validate_timezone
from db import Database
from db.repositories.settings import SettingsRepository


class SettingsService:
    def __init__(self, db: Database, clock: Clock, default_timezone: str) -> None:
        self.repo = SettingsRepository(db)
        self.clock = clock
        self.default_timezone = default_timezone
        self._cache: SharedCache[int, GuildSettings] = SharedCache()
        self.audit = AuditService(db, clock)

    async def get(self, guild_id: int) -> GuildSettings:
        return await self._cache.get(guild_id, lambda: self.repo.get(guild_id))

    async def timezone(self, guild_id: int | None) -> str:
        if guild_id is None:
            return self.default_timezone
        return (await self.get(guild_id)).timezone or self.default_timezone

    async def set_organiser_role(
        self, guild_id: int, role_id: int | None, actor_id: int | None = None
    ) -> None:
        await self.repo.set_organiser_role(
            guild_id,
            role_id,
            self.clock.now().timestamp(),
            audit=self._entry(guild_id, actor_id, "organiser_role", role_id),
        )
        self._cache.invalidate(guild_id)

    async def set_timezone(self, guild_id: int, name: str, actor_id: int | None = None) -> str:
        zone = validate_timezone(name)
        await self.repo.set_timezone(
            guild_id,
            zone.key,
            self.clock.now().timestamp(),
            audit=self._entry(guild_id, actor_id, "timezone", zone.key),
        )
        self._cache.invalidate(guild_id)
        return zone.key

    async def set_dm_confirmations(
        self, guild_id: int, on: bool, actor_id: int | None = None
    ) -> None:
        await self.repo.set_dm_confirmations(
            guild_id,
            on,
            self.clock.now().timestamp(),
            audit=self._entry(guild_id, actor_id, "dm_confirmations", on),
        )
        self._cache.invalidate(guild_id)

    async def member_timezone(self, guild_id: int, user_id: int) -> str | None:
        """The member's own time zone in this server (``/settings my-timezone``), if set."""
        return await self.repo.member_timezone(guild_id, user_id)

    async def set_member_timezone(
        self, guild_id: int, user_id: int, name: str | None
    ) -> str | None:
        """Set (or, with None, forget) the member's own time zone; returns its name."""
        zone = validate_timezone(name).key if name is not None else None
        await self.repo.set_member_timezone(guild_id, user_id, zone)
        return zone

    def _entry(self, guild_id: int, actor_id: int | None, name: str, value: object) -> AuditEntry:
        """The change's audit row, appended in the same transaction as the change."""
        return self.audit.entry(
            guild_id, actor_id, "settings.changed", f"setting:{name}", value=value
        )
