"""Coalesced edits of live posts (counters on calls, sessions, feedback threads).

A burst of 500 reactions must not become 500 message edits: each post is edited at most once
per ``min_interval`` seconds, always with the latest state (the render function reads it fresh).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Hashable

__all__ = ["PostUpdater"]

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
