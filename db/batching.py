"""Group many small writes into one transaction (one fsync-free commit, one worker-thread hop).

Under a burst of reactions, one commit per event spends most of its time on per-call overhead;
a single writer task that drains the queue and applies everything waiting in one transaction
keeps the order of events and answers each submitter after the commit.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

__all__ = ["BatchWriter"]

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")


class BatchWriter(Generic[T, R]):
    """``await writer.submit(item)`` returns ``item``'s result once its batch has committed."""

    def __init__(
        self, apply: Callable[[Sequence[T]], Awaitable[Sequence[R]]], *, max_batch: int = 500
    ) -> None:
        self._apply = apply
        self._max_batch = max_batch
        self._queue: asyncio.Queue[tuple[T, asyncio.Future[R]]] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    async def submit(self, item: T) -> R:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[R] = loop.create_future()
        self._queue.put_nowait((item, future))
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="batch-writer")
        return await future

    async def _run(self) -> None:
        batch: list[tuple[T, asyncio.Future[R]]] = []
        try:
            while not self._queue.empty():
                # Let every handler that is ready right now submit first: one bigger batch
                # (one transaction) instead of a batch of one followed by the rest.
                await asyncio.sleep(0)
                batch = [self._queue.get_nowait()]
                while len(batch) < self._max_batch and not self._queue.empty():
                    batch.append(self._queue.get_nowait())
                await self._apply_batch(batch)
                batch = []
        except BaseException as exc:
            # Nobody may wait forever: fail what this batch and the queue still hold.
            error = exc if isinstance(exc, Exception) else RuntimeError("the writer was stopped")
            while not self._queue.empty():
                batch.append(self._queue.get_nowait())
            for _, future in batch:
                if not future.done():
                    future.set_exception(error)
            if not isinstance(exc, Exception):
                raise
            log.exception("batch writer failed")

    async def _apply_batch(self, batch: list[tuple[T, asyncio.Future[R]]]) -> None:
        items = [item for item, _ in batch]
        try:
            results = await self._apply(items)
            if len(results) != len(items):
                raise RuntimeError(f"{len(results)} results for {len(items)} items")
        except Exception:
            log.warning("batch of %d failed; applying one by one", len(items), exc_info=True)
            for item, future in batch:
                try:
                    (result,) = await self._apply([item])
                except Exception as exc:
                    if not future.done():
                        future.set_exception(exc)
                else:
                    if not future.done():
                        future.set_result(result)
            return
        for (_, future), result in zip(batch, results, strict=True):
            if not future.done():
                future.set_result(result)

    async def close(self) -> None:
        """Let the queued work finish (up to 5 s); never raise (shutdown must go on)."""
        if self._task is None:
            return
        try:
            await asyncio.wait_for(asyncio.shield(self._task), timeout=5)
        except (TimeoutError, asyncio.CancelledError):
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        except Exception:
            log.exception("batch writer failed while closing")
