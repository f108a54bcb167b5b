"""Scheduling core: the table is the truth; overdue jobs run once; done only after the effect."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

from bot.clock import FakeClock
from bot.domain.jobs import Job
from bot.scheduling import JobScheduler, RetryLater
from db import Database, open_database


async def test_overdue_job_runs_exactly_once_at_start(db_path: Path, clock: FakeClock) -> None:
    effects: list[int] = []
    async with open_database(db_path) as db:
        first = JobScheduler(db, clock)
        await first.schedule("k1", "note", clock.now() + timedelta(minutes=5), {"n": 1})
        await first.shutdown()  # the bot stops
    clock.advance(timedelta(minutes=15))  # ... and is down while the job falls due
    async with open_database(db_path) as db:
        second = JobScheduler(db, clock)
        done = asyncio.Event()

        async def handler(job: Job) -> None:
            effects.append(job.payload["n"])
            done.set()

        second.register("note", handler)
        await second.start()  # arms the overdue job for "now", no misfire grace
        await asyncio.wait_for(done.wait(), 5)
        await asyncio.sleep(0.05)
        assert await second.run_due() == 0
        await second.shutdown()
        assert (await second.repo.get_by_key("k1")).status == "done"  # type: ignore[union-attr]
    assert effects == [1]


async def test_real_timer_fires(db: Database, clock: FakeClock) -> None:
    jobs = JobScheduler(db, clock)
    fired = asyncio.Event()

    async def handler(job: Job) -> None:
        fired.set()

    jobs.register("tick", handler)
    await jobs.start()
    await jobs.schedule("t", "tick", clock.now() + timedelta(milliseconds=200))
    await asyncio.wait_for(fired.wait(), 5)
    await jobs.shutdown()


async def test_crash_mid_job_runs_again_and_is_done_only_after_effect(
    db: Database, clock: FakeClock
) -> None:
    jobs = JobScheduler(db, clock)
    job = await jobs.schedule("k", "x", clock.now() - timedelta(seconds=1))
    claimed = await jobs.repo.claim(job.id, clock.now().timestamp())
    assert claimed is not None  # ... and then the process died before the effect
    assert (await jobs.repo.get(job.id)).status == "running"  # type: ignore[union-attr]
    ran: list[int] = []

    async def handler(j: Job) -> None:
        ran.append(j.id)

    jobs.register("x", handler)
    await jobs.repo.release_running()
    assert await jobs.run_due() == 1
    assert ran == [job.id]


async def test_failure_retries_then_succeeds(db: Database, clock: FakeClock) -> None:
    jobs = JobScheduler(db, clock)
    attempts: list[int] = []

    async def handler(j: Job) -> None:
        attempts.append(j.attempts)
        if len(attempts) == 1:
            raise RetryLater("discord 503", timedelta(seconds=30))

    jobs.register("x", handler)
    await jobs.schedule("k", "x", clock.now())
    assert await jobs.run_due() == 1
    assert (await jobs.repo.get_by_key("k")).status == "pending"  # type: ignore[union-attr]
    clock.advance(timedelta(seconds=31))
    assert await jobs.run_due() == 1
    assert (await jobs.repo.get_by_key("k")).status == "done"  # type: ignore[union-attr]
    assert attempts == [1, 2]


async def test_concurrent_runs_have_one_effect(db: Database, clock: FakeClock) -> None:
    jobs = JobScheduler(db, clock)
    effects: list[int] = []

    async def handler(j: Job) -> None:
        await asyncio.sleep(0.01)
        effects.append(j.id)

    jobs.register("x", handler)
    job = await jobs.schedule("k", "x", clock.now())
    await asyncio.gather(*(jobs.run_job(job.id) for _ in range(5)), jobs.run_due())
    assert effects == [job.id]


async def test_cancel_and_reschedule(db: Database, clock: FakeClock) -> None:
    jobs = JobScheduler(db, clock)
    effects: list[str] = []

    async def handler(j: Job) -> None:
        effects.append(j.key)

    jobs.register("x", handler)
    await jobs.schedule("a", "x", clock.now() + timedelta(minutes=1))
    await jobs.schedule("b", "x", clock.now() + timedelta(minutes=1))
    await jobs.cancel("a")
    await jobs.schedule("b", "x", clock.now() + timedelta(hours=5))  # moved later
    clock.advance(timedelta(minutes=2))
    assert await jobs.run_due() == 0
    assert effects == []


async def test_only_near_horizon_is_armed_with_many_pending(db: Database, clock: FakeClock) -> None:
    now = clock.now().timestamp()
    rows = [(f"r{i}", "x", None, now + 7200 + i, "{}", now) for i in range(20_000)]
    rows += [(f"n{i}", "x", None, now + 60 + i, "{}", now) for i in range(50)]
    await db.executemany(
        "INSERT INTO scheduled_jobs (key, kind, guild_id, run_at, payload, created_at) VALUES (?, ?, ?, ?, ?, ?)",
        rows,
    )
    jobs = JobScheduler(db, clock)
    jobs.register("x", lambda j: asyncio.sleep(0))
    armed = await jobs.start()
    assert armed == 50 and jobs.armed_count == 50
    await jobs.shutdown()


async def test_shutdown_lets_a_running_job_finish_its_effect(
    db: Database, clock: FakeClock
) -> None:
    jobs = JobScheduler(db, clock)
    started, effects = asyncio.Event(), []

    async def handler(j: Job) -> None:
        started.set()
        await asyncio.sleep(0.2)  # e.g. a DM on its way to Discord
        effects.append(j.id)

    jobs.register("x", handler)
    await jobs.start()
    job = await jobs.schedule("k", "x", clock.now())
    await asyncio.wait_for(started.wait(), 5)
    await jobs.shutdown(grace=2.0)
    assert effects == [job.id]
    assert (await jobs.repo.get(job.id)).status == "done"  # type: ignore[union-attr]
