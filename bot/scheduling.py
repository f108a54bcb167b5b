"""Timed work: the ``scheduled_jobs`` table is the truth, APScheduler is a near-horizon cache.

* :meth:`JobScheduler.schedule` writes the job first, then arms it in APScheduler if it is due
  within the horizon (default one hour). Jobs further away stay only in the table; a periodic
  top-up arms them when they come near, so 100,000 pending jobs cost one indexed query, not
  100,000 APScheduler entries.
* At start, jobs left ``running`` by a crash are released, and every job due before the horizon
  is armed; overdue ones (the bot was down) are armed for "now" with no misfire grace, so they run
  exactly once instead of being silently dropped by APScheduler's default one-second grace.
* Running a job first *claims* it with one atomic ``UPDATE ... WHERE status = 'pending'``; a
  second firing finds nothing to claim. :meth:`JobScheduler.run_due` claims every due job in one
  statement (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so processes take disjoint jobs).
* With shards (``shards=(count, ids)``), a process arms, claims and releases only the jobs of
  the guilds on its shards (each job row carries its guild). The job is marked done only after its handler returned.
  A handler that raises is retried later with back-off, up to ``max_attempts``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.date import DateTrigger

from bot.clock import Clock, SystemClock
from bot.domain.jobs import Job
from db import Database
from db.repositories.jobs import JobRepository

__all__ = ["JobHandler", "JobScheduler", "RetryLater"]

log = logging.getLogger(__name__)

JobHandler = Callable[[Job], Awaitable[None]]


class RetryLater(Exception):
    """Raised by a handler when the effect could not happen yet (Discord 5xx, 429, not ready)."""

    def __init__(self, reason: str, delay: timedelta | None = None) -> None:
        super().__init__(reason)
        self.delay = delay


class JobScheduler:
    """Persisted jobs, armed in APScheduler only when they are near."""

    def __init__(
        self,
        db: Database,
        clock: Clock | None = None,
        *,
        horizon: timedelta = timedelta(hours=1),
        max_attempts: int = 8,
        arm_limit: int = 5000,
        shards: tuple[int, frozenset[int]] | None = None,
    ) -> None:
        self.db = db
        # (shard count, shard ids this process owns): only their guilds' jobs are armed, claimed
        # and released here. None: one process owns everything.
        self.shards = shards
        self.repo = JobRepository(db)
        self.clock: Clock = clock or SystemClock()
        self.horizon = horizon
        self.max_attempts = max_attempts
        self.arm_limit = arm_limit
        self._handlers: dict[str, JobHandler] = {}
        self._aps = AsyncIOScheduler(timezone=UTC)
        self._armed: dict[int, float] = {}
        self._running: set[int] = set()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._started = False
        self._gate: Callable[[], Awaitable[object]] | None = None

    # -- lifecycle ------------------------------------------------------------------------------

    async def __aenter__(self) -> JobScheduler:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.shutdown()

    def register(self, kind: str, handler: JobHandler) -> None:
        """Say which coroutine runs jobs of ``kind`` (cogs do this in ``cog_load``)."""
        self._handlers[kind] = handler

    def set_gate(self, gate: Callable[[], Awaitable[object]]) -> None:
        """Every job waits for ``gate()`` before it runs (the bot uses ``wait_until_ready``)."""
        self._gate = gate

    async def start(self) -> int:
        """Release crashed jobs, arm everything due within the horizon, start the top-up timer."""
        released = await self.repo.release_running(self.shards)
        if released:
            log.warning("%d job(s) were interrupted by a stop and will run again", released)
        if not self._aps.running:
            self._aps.start()
        self._started = True
        armed = await self.top_up()
        interval = max(self.horizon / 4, timedelta(seconds=5))
        self._aps.add_job(
            self.top_up,
            "interval",
            seconds=interval.total_seconds(),
            id="top-up",
            replace_existing=True,
            misfire_grace_time=None,
            coalesce=True,
            max_instances=1,
        )
        return armed

    async def shutdown(self, grace: float = 2.0) -> None:
        """Stop arming; give running jobs ``grace`` seconds to finish, then cancel them (a
        cancelled job goes back to pending and runs again at the next start)."""
        if self._aps.running:
            self._aps.shutdown(wait=False)
        self._started = False
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=grace)
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        self._armed.clear()

    # -- public API -----------------------------------------------------------------------------

    async def schedule(
        self,
        key: str,
        kind: str,
        run_at: datetime,
        payload: dict[str, Any] | None = None,
        *,
        guild_id: int | None = None,
    ) -> Job:
        """Persist a job (replacing one with the same key) and arm it if it is near."""
        if run_at.tzinfo is None:
            raise ValueError("run_at must be aware")
        job = await self.repo.upsert(
            key=key,
            kind=kind,
            guild_id=guild_id,
            run_at=run_at.timestamp(),
            payload=payload or {},
            now=self.clock.now().timestamp(),
        )
        self._unarm(job.id)
        if self._started and job.run_at <= (self.clock.now() + self.horizon).timestamp():
            self._arm(job)
        return job

    async def cancel(self, key: str) -> bool:
        job = await self.repo.get_by_key(key)
        if job is None:
            return False
        self._unarm(job.id)
        return await self.repo.cancel(key, self.clock.now().timestamp())

    async def cancel_prefix(self, prefix: str) -> int:
        ids = await self.repo.cancel_prefix(prefix, self.clock.now().timestamp())
        for job_id in ids:
            self._unarm(job_id)
        return len(ids)

    async def discard_prefix(self, prefix: str) -> int:
        """Forget every job whose key starts with ``prefix`` (unarmed and deleted): for an item
        whose creation was undone, so no trace of it is left."""
        ids = await self.repo.delete_prefix(prefix)
        for job_id in ids:
            self._unarm(job_id)
        return len(ids)

    async def top_up(self) -> int:
        """Arm pending jobs due before now + horizon that are not armed yet."""
        until = (self.clock.now() + self.horizon).timestamp()
        jobs = await self.repo.due_before(until, self.arm_limit, self.shards)
        count = 0
        for job in jobs:
            if self._armed.get(job.id) != job.run_at and job.id not in self._running:
                self._arm(job)
                count += 1
        if len(jobs) >= self.arm_limit and self._aps.running:
            # More near jobs than we arm at once: look again soon.
            self._aps.add_job(
                self.top_up,
                DateTrigger(datetime.now(UTC) + timedelta(seconds=30)),
                id="top-up-soon",
                replace_existing=True,
                misfire_grace_time=None,
            )
        return count

    async def run_due(self) -> int:
        """Run every job that is due now, and wait for them (used by tests and the top-up)."""
        now = self.clock.now().timestamp()
        if self._gate is not None:
            await self._gate()
        # Claimed together in one statement (FOR UPDATE SKIP LOCKED on PostgreSQL): processes
        # running this at the same moment take disjoint jobs.
        jobs = await self.repo.claim_due(now, self.arm_limit, self.shards)
        for job in jobs:
            self._unarm(job.id)
            self._running.add(job.id)
        results = await asyncio.gather(*(self._run_claimed(job) for job in jobs))
        return sum(1 for r in results if r)

    @property
    def armed_count(self) -> int:
        return len(self._armed)

    # -- internals ------------------------------------------------------------------------------

    def _arm(self, job: Job) -> None:
        delay = job.run_at - self.clock.now().timestamp()
        when = datetime.now(UTC) + timedelta(seconds=max(0.0, delay))
        self._armed[job.id] = job.run_at
        self._aps.add_job(
            self._fire,
            DateTrigger(when),
            args=[job.id],
            id=f"job-{job.id}",
            replace_existing=True,
            misfire_grace_time=None,
            coalesce=True,
        )

    def _unarm(self, job_id: int) -> None:
        if self._armed.pop(job_id, None) is not None:
            try:
                self._aps.remove_job(f"job-{job_id}")
            except Exception:
                pass

    async def _fire(self, job_id: int) -> None:
        """APScheduler's callback: start the job in a task of our own and return at once.

        APScheduler cancels the jobs it is still running when it shuts down; running the work
        in our own task lets :meth:`shutdown` give it a grace period first.
        """
        self._armed.pop(job_id, None)
        task = asyncio.create_task(self.run_job(job_id), name=f"job-{job_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def run_job(self, job_id: int) -> bool:
        """Claim and run one job. Returns True if this call ran it."""
        if job_id in self._running:
            return False
        self._running.add(job_id)
        try:
            if self._gate is not None:
                await self._gate()
            job = await self.repo.claim(job_id, self.clock.now().timestamp())
            if job is None:
                self._running.discard(job_id)
                return False  # done, cancelled, moved later, or claimed elsewhere
        except BaseException:
            self._running.discard(job_id)
            raise
        return await self._run_claimed(job)

    async def _run_claimed(self, job: Job) -> bool:
        """Run a job this process claimed (it is in ``_running``) and record how it ended."""
        try:
            handler = self._handlers.get(job.kind)
            if handler is None:
                await self.repo.fail(
                    job.id, self.clock.now().timestamp(), f"no handler for {job.kind}"
                )
                log.error("job %s (%s) has no handler; marked failed", job.id, job.kind)
                return True
            try:
                await handler(job)
            except asyncio.CancelledError:
                await asyncio.shield(
                    self.repo.retry_later(job.id, job.run_at, "cancelled at shutdown")
                )
                raise
            except Exception as exc:  # a job must never kill the scheduler
                await self._after_failure(job, exc)
                return True
            # The effect happened: record it even if a shutdown cancels us right now.
            await asyncio.shield(self.repo.finish(job.id, self.clock.now().timestamp()))
            return True
        finally:
            self._running.discard(job.id)

    async def _after_failure(self, job: Job, exc: Exception) -> None:
        now = self.clock.now()
        reason = f"{type(exc).__name__}: {exc}"
        if job.attempts >= self.max_attempts:
            log.error(
                "job %s (%s) failed for good after %d attempts: %s",
                job.id,
                job.kind,
                job.attempts,
                reason,
            )
            await self.repo.fail(job.id, now.timestamp(), reason)
            return
        if isinstance(exc, RetryLater) and exc.delay is not None:
            delay = exc.delay
        else:
            delay = timedelta(seconds=min(3600, 15 * 2 ** (job.attempts - 1)))
        if not isinstance(exc, RetryLater):
            log.exception(
                "job %s (%s) failed (attempt %d); retrying in %s",
                job.id,
                job.kind,
                job.attempts,
                delay,
                exc_info=exc,
            )
        else:
            log.warning("job %s (%s) postponed: %s", job.id, job.kind, reason)
        run_at = now + delay
        await self.repo.retry_later(job.id, run_at.timestamp(), reason)
        if self._started and delay <= self.horizon:
            refreshed = await self.repo.get(job.id)
            if refreshed is not None and refreshed.status == "pending":
                self._arm(refreshed)
