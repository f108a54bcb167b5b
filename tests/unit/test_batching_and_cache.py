"""The batch writer never leaves a submitter waiting; the shared cache survives cancellation."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from bot.domain.cache import SharedCache
from db.batching import BatchWriter


async def test_wrong_result_count_fails_items_instead_of_hanging() -> None:
    async def bad(items: Sequence[int]) -> list[int]:
        return []

    writer: BatchWriter[int, int] = BatchWriter(bad)
    with pytest.raises((RuntimeError, ValueError)):
        await asyncio.wait_for(writer.submit(1), 2)
    await writer.close()  # never raises


async def test_one_bad_item_does_not_fail_the_others() -> None:
    async def apply(items: Sequence[int]) -> list[int]:
        if 13 in items:
            raise ValueError("unlucky")
        return [i * 2 for i in items]

    writer: BatchWriter[int, int] = BatchWriter(apply)
    results = await asyncio.gather(*(writer.submit(i) for i in range(20)), return_exceptions=True)
    assert [r for r in results if isinstance(r, Exception)] != []
    assert [r for i, r in enumerate(results) if i != 13] == [i * 2 for i in range(20) if i != 13]


async def test_stopping_the_writer_fails_the_batch_in_flight() -> None:
    async def slow(items: Sequence[int]) -> list[int]:
        await asyncio.sleep(10)
        return list(items)

    writer: BatchWriter[int, int] = BatchWriter(slow)
    pending = asyncio.create_task(writer.submit(1))
    await asyncio.sleep(0.01)
    assert writer._task is not None
    writer._task.cancel()
    with pytest.raises(RuntimeError):
        await asyncio.wait_for(pending, 2)


async def test_cancelled_loader_does_not_cancel_other_waiters() -> None:
    cache: SharedCache[str, int] = SharedCache()
    gate = asyncio.Event()

    async def load() -> int:
        await gate.wait()
        return 7

    first = asyncio.create_task(cache.get("k", load))
    second = asyncio.create_task(cache.get("k", load))
    await asyncio.sleep(0.01)
    first.cancel()
    gate.set()
    assert await asyncio.wait_for(second, 2) == 7
    assert await cache.get("k", load) == 7


async def test_invalidated_while_loading_is_not_stored() -> None:
    cache: SharedCache[str, int] = SharedCache()
    calls = 0

    async def load() -> int:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.01)
        return calls

    task = asyncio.create_task(cache.get("k", load))
    await asyncio.sleep(0)
    cache.invalidate("k")
    assert await task == 1
    assert await cache.get("k", load) == 2
