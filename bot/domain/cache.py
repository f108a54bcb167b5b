"""A tiny read-through cache whose concurrent misses share one load.

Under a burst (hundreds of reactions right after a start), every event would otherwise miss the
empty cache at once and queue its own identical query ahead of the real work.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

__all__ = ["SharedCache"]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class SharedCache(Generic[K, V]):
    def __init__(self) -> None:
        self._values: dict[K, V] = {}
        self._loading: dict[K, asyncio.Future[V]] = {}
        self._generation = 0

    async def get(self, key: K, load: Callable[[], Awaitable[V]]) -> V:
        if key in self._values:
            return self._values[key]
        pending = self._loading.get(key)
        if pending is None:
            # The load runs in a task of its own: a caller being cancelled (an interaction
            # abandoned, a shutdown) never cancels the load the other callers are waiting for.
            pending = asyncio.ensure_future(self._load(key, load, self._generation))
            self._loading[key] = pending
        return await asyncio.shield(pending)

    async def _load(self, key: K, load: Callable[[], Awaitable[V]], generation: int) -> V:
        try:
            value = await load()
            if generation == self._generation:  # not invalidated while loading
                self._values[key] = value
            return value
        finally:
            self._loading.pop(key, None)

    def invalidate(self, key: K | None = None) -> None:
        """Forget ``key`` (or everything); a load already running won't store its stale value."""
        self._generation += 1
        if key is None:
            self._values.clear()
        else:
            self._values.pop(key, None)
