"""Coalesced, paced edits of live posts (counters on calls, sessions, feedback threads).

A burst of 500 reactions must not become 500 message edits: each post is edited at most once
per ``min_interval`` seconds, always with the latest state (the render function reads it fresh).

Discord also limits edits per channel (about 5 edits in 5 seconds, whichever posts they touch):
50 posts in one channel refreshed together would queue behind 429s. Every post edit therefore
first takes a slot from :class:`ChannelPacer` (at most ``edits`` per ``window`` seconds per
channel, first come first served); coalescing stays per post, so a post waiting for a slot is
edited once, with the state of the moment it is drawn.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable
from contextlib import asynccontextmanager
from enum import StrEnum

import discord

from bot.notify import NO_MENTIONS

__all__ = ["ChannelPacer", "PostState", "PostUpdater", "edit_live_post", "refresh_now"]

log = logging.getLogger(__name__)

Render = Callable[[], Awaitable[None]]


class PostUpdater:
    def __init__(self, min_interval: float = 2.5) -> None:
        self.min_interval = min_interval
        self._last: dict[Hashable, float] = {}
        self._dirty: dict[Hashable, Render] = {}
        self._tasks: dict[Hashable, asyncio.Task[None]] = {}

    def request(self, key: Hashable, render: Render) -> None:
        """Ask for the post ``key`` to be refreshed soon by calling ``render``."""
        self._dirty[key] = render
        if key not in self._tasks:
            self._tasks[key] = asyncio.create_task(self._run(key), name=f"post-update-{key}")

    async def _run(self, key: Hashable) -> None:
        try:
            while key in self._dirty:
                wait = self._last.get(key, 0.0) + self.min_interval - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                render = self._dirty.pop(key)
                self._last[key] = time.monotonic()
                try:
                    await render()
                except discord.NotFound:
                    # The post or its channel was deleted: expected, no traceback. The organiser
                    # hears it from /call edit or /session edit, and can re-post.
                    log.info("post %s is gone (deleted, or its channel was)", key)
                except discord.HTTPException as exc:
                    log.warning("could not refresh post %s: Discord said %s", key, exc.status)
                except Exception:
                    log.warning("could not refresh post %s", key, exc_info=True)
        finally:
            self._tasks.pop(key, None)

    async def flush(self) -> None:
        """Wait for every pending refresh (tests, shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks.values()), return_exceptions=True)

    async def close(self) -> None:
        for task in list(self._tasks.values()):
            task.cancel()
        await asyncio.gather(*list(self._tasks.values()), return_exceptions=True)


class PostState(StrEnum):
    SHOWN = "shown"  # edited to the current state
    GONE = "gone"  # the post or its channel no longer exists
    UNREACHABLE = "unreachable"  # Discord refused the edit (permissions, an outage)


async def refresh_now(render: Render, what: str) -> PostState:
    """Edit a post at once (after an organiser's change), saying whether it still exists.
    A deleted post or channel is an answer, not an error: no traceback is logged."""
    try:
        await render()
    except discord.NotFound:
        log.info("%s: its post is gone (deleted, or its channel was)", what)
        return PostState.GONE
    except discord.HTTPException as exc:
        log.warning("%s: could not edit its post: Discord said %s", what, exc.status)
        return PostState.UNREACHABLE
    return PostState.SHOWN


class ChannelPacer:
    """At most ``edits`` edits per ``window`` seconds in each channel (a sliding window).

    ``async with pacer.slot(channel_id): await message.edit(...)`` waits until an edit may be
    made now. An edit counts from when it is sent until ``window`` seconds after it *finished*
    (Discord counts it when it arrives, which is somewhere in between), so network delays never
    squeeze six edits into Discord's window. Waiters of one channel are served in order; other
    channels are not held up.
    """

    def __init__(
        self,
        edits: int = 5,
        window: float = 5.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        self.edits = edits
        self.window = window
        self._clock = clock
        self._sleep = sleep
        self._times: dict[int, deque[list[float]]] = {}
        self._locks: dict[int, asyncio.Lock] = {}

    async def _reserve(self, channel_id: int) -> list[float]:
        lock = self._locks.setdefault(channel_id, asyncio.Lock())
        async with lock:
            times = self._times.setdefault(channel_id, deque())
            while True:
                now = self._clock()
                while times and now - times[0][0] >= self.window:
                    times.popleft()
                if len(times) < self.edits:
                    cell = [now]
                    times.append(cell)
                    return cell
                await self._sleep(times[0][0] + self.window - now)

    @asynccontextmanager
    async def slot(self, channel_id: int) -> AsyncIterator[None]:
        cell = await self._reserve(channel_id)
        try:
            yield
        finally:
            cell[0] = max(cell[0], self._clock())


async def edit_live_post(
    pacer: ChannelPacer,
    channel_id: int,
    message: discord.PartialMessage,
    view: discord.ui.LayoutView,
) -> None:
    """Edit a live post (call, session, feedback round) to ``view`` within the channel's edit
    budget. Content and embeds are emptied, so a post made as an embed by an earlier release
    becomes a layout post on its next edit; nobody is pinged by an edit."""
    async with pacer.slot(channel_id):  # ≤ 5 edits / 5 s in this channel
        await message.edit(
            content=None,
            embed=None,
            view=view,
            allowed_mentions=NO_MENTIONS,
        )
