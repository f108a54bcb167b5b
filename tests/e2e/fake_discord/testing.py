"""Helpers for tests that run a plain discord.py client (not the project's bot) against the fake."""

# ruff: noqa: ASYNC109

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, TypeVar

import discord
import yarl

from .fake import FakeDiscord

if TYPE_CHECKING:
    import pytest

ClientT = TypeVar("ClientT", bound=discord.Client)


def point_discord_py_at(fake: FakeDiscord, monkeypatch: pytest.MonkeyPatch) -> None:
    """Send discord.py's REST and gateway traffic to ``fake`` for the rest of the test."""
    monkeypatch.setattr(discord.http.Route, "BASE", fake.api_base)
    monkeypatch.setattr(discord.gateway.DiscordWebSocket, "DEFAULT_GATEWAY", yarl.URL(fake.ws_url))


@contextlib.asynccontextmanager
async def connected(
    fake: FakeDiscord, client: ClientT, *, timeout: float = 5.0
) -> AsyncIterator[ClientT]:
    """Start ``client`` with the fake's token, wait for ``on_ready``, close it on exit.

    Build the client with ``guild_ready_timeout=0.05`` or ``on_ready`` comes 2 s late.
    """
    task = asyncio.create_task(client.start(fake.bot_token))
    ready = asyncio.create_task(client.wait_until_ready())
    try:
        done, _ = await asyncio.wait(
            {task, ready}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
        )
        if task in done:
            task.result()  # raises the start-up error
            raise RuntimeError("the client stopped before it was ready")
        if ready not in done:
            raise TimeoutError("the client did not become ready")
        yield client
    finally:
        ready.cancel()
        await asyncio.wait_for(client.close(), timeout)
        await asyncio.wait_for(asyncio.gather(task, return_exceptions=True), timeout)


class QuickClient(discord.Client):
    """A ``discord.Client`` that skips the 5 s pause discord.py makes before a non-first IDENTIFY."""

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        return None


class QuickShardedClient(discord.AutoShardedClient):
    """An ``AutoShardedClient`` that skips the 5 s pause between shards' IDENTIFYs."""

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        return None
