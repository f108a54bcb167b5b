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
        if pending is not None:
            return await asyncio.shield(pending)
        generation = self._generation
        future: asyncio.Future[V] = asyncio.get_running_loop().create_future()
        self._loading[key] = future
        try:
            value = await load()
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: waiters re-raise it, nobody logs it as lost
            raise
        finally:
            if self._loading.get(key) is future:
                del self._loading[key]
        if generation == self._generation:  # not invalidated while loading
            self._values[key] = value
        if not future.done():
            future.set_result(value)
        return value

    def invalidate(self, key: K | None = None) -> None:
        """Forget ``key`` (or everything); a load already running won't store its stale value."""
        self._generation += 1
        if key is None:
            self._values.clear()
        else:
            self._values.pop(key, None)
