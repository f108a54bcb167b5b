"""Run the real bot (``bot.__main__.build_bot``) in the test's event loop against FakeDiscord.

Production code paths are unchanged: the bot is pointed at the fake server only through the
``DISCORD_API_BASE`` / ``DISCORD_GATEWAY_URL`` settings, exactly as an operator could.
"""

# ruff: noqa: ASYNC109

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta
from pathlib import Path
from typing import Any

import discord

from bot.__main__ import build_bot
from bot.client import CoproBot
from bot.clock import FakeClock
from bot.settings import load_settings
from db import is_postgres_url
from tests.e2e.fake_discord import FakeDiscord
from tests.fakes.drand_server import FakeDrandServer

__all__ = ["RunningBot", "organiser_permissions"]

ORIGINAL_BASE = discord.http.Route.BASE
ORIGINAL_GATEWAY = discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY


def organiser_permissions() -> int:
    return discord.Permissions(manage_events=True, view_channel=True, send_messages=True).value


class RunningBot:
    """Start/stop the bot on one database file; restart keeps the file (a process restart)."""

    def __init__(
        self,
        fake: FakeDiscord,
        db_path: Path,
        clock: FakeClock,
        guild_id: int,
        beacon: FakeDrandServer | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self.fake = fake
        self.beacon = beacon  # a local drand chain of its own (the draws' public randomness)
        self.env = env or {}  # more settings, e.g. SHARD_COUNT and SHARD_IDS
        self.db_path = db_path
        self.clock = clock
        self.guild_id = guild_id
        self.bot: CoproBot | None = None
        self._stack: contextlib.AsyncExitStack | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self, timeout: float = 10.0) -> CoproBot:
        settings = load_settings(
            {
                "DISCORD_TOKEN": self.fake.bot_token,
                "DATABASE_URL": (
                    str(self.db_path)
                    if is_postgres_url(self.db_path)
                    else f"sqlite:///{self.db_path}"
                ),
                "DEV_GUILD_ID": str(self.guild_id),
                "DISCORD_API_BASE": self.fake.api_base,
                "DISCORD_GATEWAY_URL": self.fake.ws_url,
                **(
                    {
                        "DRAW_BEACON_URL": self.beacon.url,
                        "DRAW_BEACON_CHAIN": self.beacon.chain.chain_hash,
                    }
                    if self.beacon is not None
                    else {}
                ),
                **self.env,
            }
        )
        self._stack = contextlib.AsyncExitStack()
        bot = await self._stack.enter_async_context(
            build_bot(settings, clock=self.clock, post_interval=0.05, guild_ready_timeout=0.05)
        )
        self.bot = bot
        self._task = asyncio.create_task(bot.start(settings.discord_token))
        waiter = asyncio.create_task(bot.started.wait())
        done, _ = await asyncio.wait(
            {waiter, self._task}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
        )
        if self._task in done:
            waiter.cancel()
            self._task.result()  # raises the start-up error
        if waiter not in done:
            waiter.cancel()
            raise TimeoutError("the bot did not become ready")
        await self.settle()
        return bot

    async def settle(self, rounds: int = 3) -> None:
        """Let event handlers, batched writes and coalesced edits finish."""
        assert self.bot is not None
        for _ in range(rounds):
            await asyncio.sleep(0.05)
            await self.bot.posts.flush()

    async def stop(self) -> None:
        if self.bot is not None:
            await self.bot.close()
        if self._task is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._task, 5)
        if self._stack is not None:
            await self._stack.aclose()
        self.bot, self._task, self._stack = None, None, None
        discord.http.Route.BASE = ORIGINAL_BASE
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = ORIGINAL_GATEWAY

    async def restart(self) -> CoproBot:
        await self.stop()
        return await self.start()

    async def advance(self, delta: timedelta) -> int:
        """Move time forward and run every job that fell due (reminders really fire)."""
        assert self.bot is not None
        self.clock.advance(delta)
        ran = await self.bot.jobs.run_due()
        await self.settle()
        return ran

    async def reach_draw(self) -> None:
        """Let the public value of every frozen roster come out (the drand round's time passes)
        and the draws be made by their jobs, as after ``/draw run`` on a call."""
        due = await self.db.fetchval("SELECT MAX(beacon_due_at) FROM draw_freezes")
        assert due is not None, "nothing is frozen"
        await self.advance(timedelta(seconds=max(1.0, due - self.clock.now().timestamp() + 2)))
        for _ in range(200):  # the job fetches the round and checks its signature (a thread)
            if (
                await self.db.fetchval(
                    "SELECT COUNT(*) FROM draw_freezes f WHERE NOT EXISTS "
                    "(SELECT 1 FROM draws d WHERE d.call_id = f.call_id)"
                )
                == 0
            ):
                break
            await asyncio.sleep(0.05)
        await self.settle()

    @property
    def db(self) -> Any:
        assert self.bot is not None
        return self.bot.db
