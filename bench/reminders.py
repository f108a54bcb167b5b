"""3. Reminders at scale (bot/scheduling.py ``JobScheduler``).

* **Re-arm at start-up**: ``pending`` rows are in ``scheduled_jobs``, spread evenly over the
  next ``spread_days`` days (about ``pending / (24 · spread_days)`` within the one-hour
  horizon). Time and extra Python memory (tracemalloc, measured in a separate run so it does
  not slow the timed ones) for ``JobScheduler.start()``. Baseline: the raw indexed ``SELECT`` of
  the same due rows on aiosqlite.
* **Lateness**: ``due_together`` more rows fall due within one second, in the same database;
  ``start()`` arms them on real APScheduler timers; lateness is handler start minus ``run_at``.
  Baseline: a bare ``AsyncIOScheduler`` with the same number of date jobs and an empty handler.
* **Outage**: ``due_together`` jobs are due over the next 10 minutes; the scheduler stops, the
  clock (``FakeClock``) moves 10 minutes on, a new scheduler starts while ``run_due()`` and
  ``top_up()`` race its timers; every overdue job must run exactly once and end ``done``.
"""

from __future__ import annotations

import asyncio
import gc
import json
import tempfile
import time
import tracemalloc
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.common import GUILD_ID, Figure, Section, capture_errors, percentile, raw_connection

__all__ = ["Config", "lateness_run", "outage_run", "rearm_run", "run"]

KIND = "bench.reminder"
RAW_DUE = (
    "SELECT id, key, kind, guild_id, run_at, payload, status, attempts FROM scheduled_jobs "
    "WHERE status = 'pending' AND run_at <= ? ORDER BY run_at, id LIMIT ?"
)


@dataclass
class Config:
    pending: int = 100_000
    spread_days: float = 7.0
    due_together: int = 1000
    crowded: int = 5000  # the worst case: this many due within the hour (= arm_limit)
    outage_jobs: int = 1000
    runs: int = 5
    lead_seconds: float = 1.0  # how far ahead the "same second" starts
    timeout: float = 60.0

    @classmethod
    def full(cls) -> Config:
        return cls()

    @classmethod
    def quick(cls) -> Config:
        return cls(
            pending=20_000,
            due_together=300,
            outage_jobs=300,
            runs=2,
            lead_seconds=0.5,
            crowded=2000,
        )

    @classmethod
    def tiny(cls) -> Config:
        return cls(
            pending=2_000,
            due_together=50,
            outage_jobs=50,
            runs=1,
            lead_seconds=0.3,
            timeout=20.0,
            crowded=100,
        )


def _rows(
    start: int, count: int, first: float, spacing: float, prefix: str
) -> list[tuple[Any, ...]]:
    now = time.time()
    return [
        (
            f"{prefix}:{i}",
            KIND,
            GUILD_ID,
            first + (i - start) * spacing,
            json.dumps({"session_id": i // 100, "offset": 3600}),
            now,
        )
        for i in range(start, start + count)
    ]


async def _insert(db: Any, rows: list[tuple[Any, ...]]) -> None:
    await db.executemany(
        "INSERT INTO scheduled_jobs (key, kind, guild_id, run_at, payload, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        rows,
    )


async def fill(db: Any, cfg: Config) -> None:
    """``pending`` reminders spread over the next ``spread_days`` days (starting in 1 minute)."""
    first = time.time() + 60
    spacing = cfg.spread_days * 86400 / cfg.pending
    await _insert(db, _rows(0, cfg.pending, first, spacing, "bench:pending"))
    await db.execute("ANALYZE")


# -- re-arm -------------------------------------------------------------------------------------


async def rearm_run(db: Any, *, memory: bool = False) -> tuple[float, int, float]:
    """One start-up: (seconds, jobs armed, extra MiB retained by tracemalloc or 0)."""
    from bot.clock import SystemClock
    from bot.scheduling import JobScheduler

    jobs = JobScheduler(db, SystemClock())
    jobs.register(KIND, _noop)
    gc.collect()
    extra = 0.0
    if memory:
        tracemalloc.start()
        before = tracemalloc.take_snapshot()
    t0 = time.perf_counter()
    armed = await jobs.start()
    seconds = time.perf_counter() - t0
    if memory:
        after = tracemalloc.take_snapshot()
        tracemalloc.stop()
        extra = sum(s.size_diff for s in after.compare_to(before, "filename")) / 2**20
    await jobs.shutdown()
    return seconds, armed, extra


async def raw_rearm(db: Any, limit: int = 5000) -> tuple[float, int]:
    until = time.time() + 3600
    conn = await raw_connection(db.path)
    try:
        t0 = time.perf_counter()
        rows = await conn.execute_fetchall(RAW_DUE, (until, limit))
        return time.perf_counter() - t0, len(rows)
    finally:
        await conn.close()


async def _noop(job: Any) -> None:
    return None


async def _wait_done(db: Any, where: str, params: tuple[Any, ...], n: int, within: float) -> int:
    """Poll until ``n`` matching rows are ``done`` (a job is done after its handler returned)."""
    deadline = time.perf_counter() + within
    while True:
        done = int(
            await db.fetchval(
                f"SELECT COUNT(*) FROM scheduled_jobs WHERE status = 'done' AND {where}", params
            )
        )
        if done >= n or time.perf_counter() > deadline:
            return done
        await asyncio.sleep(0.005)


# -- lateness -----------------------------------------------------------------------------------


async def lateness_run(db: Any, cfg: Config, run_no: int) -> tuple[list[float], Counter[str], int]:
    """``due_together`` rows due within one second; the bot's scheduler fires them."""
    from bot.clock import SystemClock
    from bot.scheduling import JobScheduler

    first = time.time() + cfg.lead_seconds
    prefix = f"bench:late{run_no}"
    await _insert(db, _rows(0, cfg.due_together, first, 1.0 / cfg.due_together, prefix))
    late: list[float] = []
    fired: Counter[str] = Counter()
    all_done = asyncio.Event()

    async def handler(job: Any) -> None:
        late.append((time.time() - job.run_at) * 1000)
        fired[job.key] += 1
        if len(fired) >= cfg.due_together and job.key.startswith(prefix):
            all_done.set()

    jobs = JobScheduler(db, SystemClock())
    jobs.register(KIND, handler)
    await jobs.start()
    try:
        await asyncio.wait_for(all_done.wait(), cfg.timeout + cfg.lead_seconds)
        done = await _wait_done(
            db, "key >= ? AND key < ?", (prefix + ":", prefix + ";"), cfg.due_together, cfg.timeout
        )
        await asyncio.sleep(0.05)  # a double firing would show up here
    finally:
        await jobs.shutdown()
    return late, fired, done


async def raw_lateness_run(cfg: Config) -> list[float]:
    """A bare APScheduler with the same number of date jobs and an empty handler."""
    from apscheduler.schedulers.asyncio import AsyncIOScheduler
    from apscheduler.triggers.date import DateTrigger

    aps = AsyncIOScheduler(timezone=UTC)
    aps.start()
    late: list[float] = []
    all_done = asyncio.Event()

    async def handler(run_at: float) -> None:
        late.append((time.time() - run_at) * 1000)
        if len(late) >= cfg.due_together:
            all_done.set()

    first = time.time() + cfg.lead_seconds
    for i in range(cfg.due_together):
        run_at = first + i / cfg.due_together
        aps.add_job(
            handler,
            DateTrigger(datetime.fromtimestamp(run_at, UTC)),
            args=[run_at],
            misfire_grace_time=None,
        )
    try:
        await asyncio.wait_for(all_done.wait(), cfg.timeout + cfg.lead_seconds)
    finally:
        aps.shutdown(wait=False)
    return late


# -- outage -------------------------------------------------------------------------------------


async def outage_run(cfg: Config, workdir: Path) -> tuple[Counter[str], int, int, float, str]:
    """(fired per key, rows done, rows expected, catch-up seconds, errors)."""
    from bot.clock import FakeClock
    from bot.scheduling import JobScheduler
    from db import open_database

    clock = FakeClock(datetime.now(UTC))
    fired: Counter[str] = Counter()
    all_done = asyncio.Event()
    n = cfg.outage_jobs

    async def handler(job: Any) -> None:
        fired[job.key] += 1
        await asyncio.sleep(0)  # give a racing second firing its chance
        if len(fired) >= n:
            all_done.set()

    path = workdir / f"outage-{time.perf_counter_ns()}.sqlite3"
    with capture_errors() as errors:
        async with open_database(path) as db:
            before = JobScheduler(db, clock)
            before.register(KIND, handler)
            await before.start()
            start = clock.now()
            for i in range(n):  # due over the next 10 minutes, through the public API
                await before.schedule(
                    f"bench:outage:{i}",
                    KIND,
                    start + timedelta(minutes=10) * (i + 1) / n + timedelta(seconds=5),
                    {"i": i},
                    guild_id=GUILD_ID,
                )
            await before.shutdown()  # the bot stops
            clock.advance(timedelta(minutes=10, seconds=10))  # ... and is away for 10 minutes
            after = JobScheduler(db, clock)
            after.register(KIND, handler)
            t0 = time.perf_counter()
            await after.start()
            # Race the timers with the other two ways a job can be started.
            await asyncio.gather(after.run_due(), after.top_up(), after.run_due())
            await asyncio.wait_for(all_done.wait(), cfg.timeout)
            done = await _wait_done(db, "kind = ?", (KIND,), n, cfg.timeout)
            catch_up = time.perf_counter() - t0
            await asyncio.sleep(0.1)  # late double firings would land here
            await after.shutdown()
    return fired, done, n, catch_up, errors.summary()


async def run(cfg: Config) -> Section:
    from db import open_database

    section = Section("Reminders at scale")
    within = round(cfg.pending / (cfg.spread_days * 24))
    rearm = Figure(
        "Reminders",
        f"re-arm at start, {cfg.pending:,} pending (~{within} due within the hour): time",
        "ms",
        baseline_name="raw indexed SELECT of the due rows",
        target="≤ 50 ms",
        meets=lambda med, r: med <= 50,
        digits=2,
    )
    memory = Figure(
        "Reminders",
        "re-arm at start: extra Python memory (tracemalloc)",
        "MiB",
        target="≤ 10 MiB",
        meets=lambda med, r: med <= 10,
        digits=2,
    )
    late_p50 = Figure(
        "Reminders",
        f"{cfg.due_together} due in the same second: lateness p50",
        "ms",
        baseline_name="bare APScheduler, empty handler",
        digits=1,
    )
    late_p99 = Figure(
        "Reminders",
        f"{cfg.due_together} due in the same second: lateness p99",
        "ms",
        baseline_name="bare APScheduler, empty handler",
        target="≤ 50 ms",
        meets=lambda med, r: med <= 50,
        digits=1,
    )
    crowded = Figure(
        "Reminders",
        f"re-arm at start, {cfg.pending:,} pending of which "
        f"{cfg.crowded:,} are due within the hour: time",
        "ms",
        baseline_name="raw indexed SELECT of the due rows",
        digits=1,
    )
    catch_up = Figure(
        "Reminders",
        f"after a 10-minute outage: {cfg.outage_jobs} overdue jobs all run and are marked done",
        "ms",
        digits=0,
    )
    with tempfile.TemporaryDirectory(prefix="bench-reminders-") as tmp:
        workdir = Path(tmp)
        async with open_database(workdir / "reminders.sqlite3") as db:
            await fill(db, cfg)
            await rearm_run(db)  # warm the page cache once, as a running system would be
            for _ in range(cfg.runs):
                base_s, base_n = await raw_rearm(db)
                seconds, armed, _ = await rearm_run(db)
                rearm.bot.append(seconds * 1000)
                rearm.baseline.append(base_s * 1000)
                section.check(
                    "re-arm: the scheduler arms exactly the rows due within the hour",
                    armed == base_n,
                    f"armed {armed}, due {base_n}",
                )
            for _ in range(max(1, min(cfg.runs, 3))):
                memory.bot.append((await rearm_run(db, memory=True))[2])
            for run_no in range(cfg.runs):
                raw = await raw_lateness_run(cfg)
                late, fired, done = await lateness_run(db, cfg, run_no)
                late_p50.bot.append(percentile(late, 50))
                late_p50.baseline.append(percentile(raw, 50))
                late_p99.bot.append(percentile(late, 99))
                late_p99.baseline.append(percentile(raw, 99))
                section.check(
                    f"{cfg.due_together} due together: each ran exactly once and ended done",
                    len(fired) == cfg.due_together
                    and max(fired.values()) == 1
                    and done == cfg.due_together,
                    f"{len(fired)} ran, max {max(fired.values(), default=0)} runs of one job, "
                    f"{done} done",
                )
            # Last, as it leaves many rows due soon: the crowded hour.
            await _insert(
                db, _rows(0, cfg.crowded, time.time() + 600, 3000 / cfg.crowded, "bench:crowded")
            )
            for _ in range(cfg.runs):
                base_s, base_n = await raw_rearm(db)
                seconds, armed, _ = await rearm_run(db)
                crowded.bot.append(seconds * 1000)
                crowded.baseline.append(base_s * 1000)
        for _ in range(cfg.runs):
            fired, done, n, seconds, errors = await outage_run(cfg, workdir)
            catch_up.bot.append(seconds * 1000)
            section.check(
                "10-minute outage: every overdue job ran exactly once and ended done",
                len(fired) == n and max(fired.values(), default=0) == 1 and done == n,
                f"{len(fired)} of {n} ran, max {max(fired.values(), default=0)} runs of one job, "
                f"{done} done",
            )
            section.check("10-minute outage: no errors logged", not errors, errors)
    section.figures.extend([rearm, memory, crowded, late_p50, late_p99, catch_up])
    section.notes.append(
        "Lateness is measured at handler entry (after the job was claimed), against the job's "
        "`run_at`; the handler itself does nothing, so this is the scheduler's own delay. The "
        "memory figure is what `start()` leaves allocated (tracemalloc, size difference of "
        "snapshots), SQLite's own page cache excluded. Re-arming costs one APScheduler entry per "
        "job due within the horizon (at most `arm_limit` = 5000 at once), so it grows with the "
        "jobs due soon, not with all pending rows: the crowded-hour row shows the worst case."
    )
    return section
