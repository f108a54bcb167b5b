"""Entry point: ``python -m bot``.

Settings are read here (never at import time); the database and the scheduler are opened in
``async with`` and passed to the bot, as in discord.py's ``examples/advanced_startup.py``.
"""

from __future__ import annotations

import gc

if __name__ == "__main__":
    # Start-up creates many long-lived objects (modules, dataclasses, command trees): running the
    # cyclic collector over them again and again is wasted work. CoproBot.on_ready re-enables it
    # (after gc.freeze()). Only when run as ``python -m bot``, never on import.
    gc.disable()

import asyncio
import logging
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import discord
import yarl

from bot.client import CoproBot, bot_class
from bot.clock import Clock
from bot.scheduling import JobScheduler
from bot.settings import Settings, SettingsError, configure_logging, load_settings
from db import open_database

log = logging.getLogger("bot")


def point_at(settings: Settings) -> None:
    """Test-only: talk to a fake Discord server instead of discord.com."""
    if settings.discord_api_base:
        discord.http.Route.BASE = settings.discord_api_base.rstrip("/")
    if settings.discord_gateway_url:
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(settings.discord_gateway_url)


@asynccontextmanager
async def build_bot(
    settings: Settings, *, clock: Clock | None = None, **kwargs: Any
) -> AsyncIterator[CoproBot]:
    """Open the database and scheduler, and build the bot on them; close all at exit."""
    point_at(settings)
    async with open_database(settings.database_url) as db:
        async with JobScheduler(db, clock, shards=settings.owned_shards) as jobs:
            make = bot_class(settings)
            async with make(settings=settings, db=db, jobs=jobs, clock=clock, **kwargs) as bot:
                yield bot


async def run(settings: Settings) -> None:
    async with build_bot(settings) as bot:
        await bot.start(settings.discord_token)


def main() -> int:
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    configure_logging(settings.log_level)
    try:
        asyncio.run(run(settings))
    except discord.LoginFailure:
        print(
            "error: Discord refused the token in DISCORD_TOKEN; reset it in the Developer "
            "Portal (Bot -> Reset Token) and update .env.",
            file=sys.stderr,
        )
        return 1
    except discord.PrivilegedIntentsRequired:
        print(
            "error: enable the Server Members and Message Content intents for your bot in the "
            "Developer Portal (Bot -> Privileged Gateway Intents).",
            file=sys.stderr,
        )
        return 1
    except KeyboardInterrupt:
        log.info("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
