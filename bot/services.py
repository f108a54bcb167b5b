"""The domain services one running bot shares (built once, passed to cogs through the bot)."""

from __future__ import annotations

from dataclasses import dataclass

from bot.clock import Clock
from bot.domain.call_service import CallService
from bot.domain.settings import SettingsService
from bot.scheduling import JobScheduler
from db.connection import Database

__all__ = ["Services", "build_services"]


@dataclass(slots=True)
class Services:
    settings: SettingsService
    calls: CallService


def build_services(db: Database, clock: Clock, jobs: JobScheduler, default_timezone: str) -> Services:
    return Services(
        settings=SettingsService(db, clock, default_timezone),
        calls=CallService(db, clock, jobs),
    )
