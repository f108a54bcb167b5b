"""A server's settings."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class GuildSettings:
    guild_id: int
    organiser_role_id: int | None
    timezone: str | None
    dm_confirmations: bool
