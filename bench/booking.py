"""2. Booking burst: ``attempts`` members press Book at the same moment on a 22-place session.

Bot: ``SessionService.book(session_id, user_id, answers)`` (bot/domain/sessions/service.py),
all attempts started together with ``asyncio.gather`` on one shared aiosqlite connection.
Latency is from the moment the attempts are released to each ``book`` returning.

Baseline: the same race-free ``INSERT … SELECT … RETURNING`` booking statement the repository
uses, issued alone per attempt (one aiosqlite call, autocommit), on a database with the same
schema and session. It writes one row per attempt; the bot writes the booking, the survey answers
and a hash-chained audit row.

Second baseline (context, no target): raw statements writing the same rows as the bot, the
decisive statement, the answer rows and the audit row (``append_row``), as one transaction per
attempt issued as one aiosqlite call: the best one can do writing those rows without batching.
"""

from __future__ import annotations

import asyncio
import importlib.util
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.common import (
    CHANNEL_ID,
    GUILD_ID,
    ORGANISER_ID,
    Figure,
    Section,
    capture_errors,
    percentile,
    raw_connection,
    snowflake,
)

__all__ = [
    "BookingResult",
    "Config",
    "available",
    "baseline_burst",
    "bot_burst",
    "full_baseline_burst",
    "run",
]

TITLE = "Introduction to the platform"
ANSWERS = {
    "experience": "New to it",
    "aims": "Connecting with people who do similar work",
    "barriers": "Captions on videos, please",
}

# The repository's booking decision, verbatim in effect: capacity and the waiting list are
# decided inside this one statement.
RAW_BOOK = """
INSERT INTO session_bookings (session_id, user_id, status, seq, booked_at)
SELECT s.id, ?,
       CASE WHEN (SELECT COUNT(*) FROM session_bookings b
                  WHERE b.session_id = s.id AND b.status = 'confirmed') < s.capacity
             AND NOT EXISTS (SELECT 1 FROM session_bookings b
                             WHERE b.session_id = s.id AND b.status = 'waiting')
            THEN 'confirmed' ELSE 'waiting' END,
       (SELECT COALESCE(MAX(b.seq), 0) + 1 FROM session_bookings b WHERE b.session_id = s.id),
       ?
FROM sessions s
WHERE s.id = ? AND s.status = 'open' AND s.closes_at > ?
ON CONFLICT (session_id, user_id) DO NOTHING
RETURNING status, seq
"""


def available() -> bool:
    return importlib.util.find_spec("bot.domain.sessions.service") is not None


@dataclass
class Config:
    attempts: int = 1000
    capacity: int = 22
    runs: int = 5

    @classmethod
    def full(cls) -> Config:
        return cls()

    @classmethod
    def quick(cls) -> Config:
        return cls(attempts=300, runs=2)

    @classmethod
    def tiny(cls) -> Config:
        return cls(attempts=60, capacity=22, runs=1)


@dataclass
class BookingResult:
    attempts: int
    capacity: int
    seconds: float
    latencies_ms: list[float]
    statuses: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    # (submission index, status, seq, position) per attempt
    rows: list[tuple[int, str, int, int | None]] = field(default_factory=list)
    answers_stored: int = -1

    @property
    def per_s(self) -> float:
        return self.attempts / self.seconds if self.seconds > 0 else float("inf")

    @property
    def p99_ms(self) -> float:
        return percentile(self.latencies_ms, 99)

    @property
    def p50_ms(self) -> float:
        return percentile(self.latencies_ms, 50)

    def counts_ok(self) -> bool:
        return (
            self.statuses.get("confirmed", 0) == self.capacity
            and self.statuses.get("waiting", 0) == self.attempts - self.capacity
            and not self.errors
        )

    def order_ok(self) -> tuple[bool, str]:
        """The confirmed hold the lowest seqs; waiting positions are 1..N in seq order."""
        by_seq = sorted(self.rows, key=lambda r: r[2])
        confirmed = [r for r in by_seq if r[1] == "confirmed"]
        waiting = [r for r in by_seq if r[1] == "waiting"]
        if [r[1] for r in by_seq[: len(confirmed)]] != ["confirmed"] * len(confirmed):
            return False, "a waiting booking has a lower seq than a confirmed one"
        positions = [r[3] for r in waiting]
        if positions != list(range(1, len(waiting) + 1)):
            return False, f"waiting positions are not 1..{len(waiting)} in seq order"
        return True, ""

    def fifo(self) -> bool:
        """Did the seqs follow the order in which the attempts were released?"""
        by_seq = sorted(self.rows, key=lambda r: r[2])
        return [r[0] for r in by_seq] == sorted(r[0] for r in self.rows)


async def _session(db: Any, clock: Any, capacity: int) -> int:
    from bot.domain.sessions.service import SessionService

    service = SessionService(db, clock, None)
    session = await service.create(
        guild_id=GUILD_ID,
        channel_id=CHANNEL_ID,
        author_id=ORGANISER_ID,
        title=TITLE,
        starts=clock.now() + timedelta(days=7),
        capacity=capacity,
        tz="Europe/London",
    )
    return int(session.id)


async def bot_burst(cfg: Config, workdir: Path) -> BookingResult:
    from bot.clock import FakeClock
    from bot.domain.sessions.service import SessionService
    from bot.scheduling import JobScheduler
    from db import open_database

    clock = FakeClock(datetime.now(UTC))
    path = workdir / f"bot-{time.perf_counter_ns()}.sqlite3"
    result = BookingResult(cfg.attempts, cfg.capacity, 0.0, [])
    with capture_errors() as logged:
        async with open_database(path) as db:
            jobs = JobScheduler(db, clock)
            service = SessionService(db, clock, jobs)
            session_id = await _session(db, clock, cfg.capacity)
            users = [snowflake(i) for i in range(cfg.attempts)]
            release = asyncio.Event()

            async def attempt(index: int, user_id: int) -> None:
                await release.wait()
                start = time.perf_counter()
                try:
                    outcome = await service.book(session_id, user_id, dict(ANSWERS))
                except Exception as exc:  # counted, never raised: the check reports it
                    result.errors.append(f"{type(exc).__name__}: {exc}")
                    return
                result.latencies_ms.append((time.perf_counter() - start) * 1000)
                result.statuses[outcome.status] += 1
                result.rows.append((index, outcome.status, 0, outcome.position))

            tasks = [asyncio.create_task(attempt(i, u)) for i, u in enumerate(users)]
            await asyncio.sleep(0)  # every attempt is now waiting for the release
            t0 = time.perf_counter()
            release.set()
            await asyncio.gather(*tasks)
            result.seconds = time.perf_counter() - t0
            seqs = {
                r[0]: r[1]
                for r in await db.fetchall(
                    "SELECT user_id, seq FROM session_bookings WHERE session_id = ?", (session_id,)
                )
            }
            result.rows = [(i, s, seqs.get(users[i], -1), p) for i, s, _, p in result.rows]
            result.answers_stored = int(
                await db.fetchval(
                    "SELECT COUNT(DISTINCT user_id) FROM session_answers WHERE session_id = ?",
                    (session_id,),
                )
            )
            await jobs.shutdown()
    result.errors.extend(r.getMessage()[:160] for r in logged.records)
    return result


async def baseline_burst(cfg: Config, workdir: Path) -> BookingResult:
    from bot.clock import FakeClock
    from db import open_database

    clock = FakeClock(datetime.now(UTC))
    path = workdir / f"raw-{time.perf_counter_ns()}.sqlite3"
    result = BookingResult(cfg.attempts, cfg.capacity, 0.0, [])
    async with open_database(path) as db:
        session_id = await _session(db, clock, cfg.capacity)
        conn = await raw_connection(path)
        users = [snowflake(i) for i in range(cfg.attempts)]
        release = asyncio.Event()
        raw: list[tuple[int, str, int]] = []

        async def attempt(index: int, user_id: int) -> None:
            await release.wait()
            start = time.perf_counter()
            now = clock.now().timestamp()
            try:
                rows = await conn.execute_fetchall(RAW_BOOK, (user_id, now, session_id, now))
            except Exception as exc:
                result.errors.append(f"{type(exc).__name__}: {exc}")
                return
            result.latencies_ms.append((time.perf_counter() - start) * 1000)
            status, seq = rows[0][0], rows[0][1]
            result.statuses[status] += 1
            raw.append((index, status, seq))

        tasks = [asyncio.create_task(attempt(i, u)) for i, u in enumerate(users)]
        await asyncio.sleep(0)
        t0 = time.perf_counter()
        release.set()
        await asyncio.gather(*tasks)
        result.seconds = time.perf_counter() - t0
        await conn.close()
    waiting_seqs = sorted(seq for _, status, seq in raw if status == "waiting")
    position = {seq: i for i, seq in enumerate(waiting_seqs, start=1)}
    result.rows = [(i, s, q, position.get(q)) for i, s, q in raw]
    return result


async def full_baseline_burst(cfg: Config, workdir: Path) -> BookingResult:
    """Per attempt, one transaction (one unit of work): the decisive statement, the three
    answer rows and the audit row, i.e. the rows the bot writes, without batching."""
    from bot.clock import FakeClock
    from bot.domain.audit.models import AuditEntry
    from db import Tx, open_database
    from db.repositories.audit import append_entries

    clock = FakeClock(datetime.now(UTC))
    path = workdir / f"raw-full-{time.perf_counter_ns()}.sqlite3"
    result = BookingResult(cfg.attempts, cfg.capacity, 0.0, [])
    async with open_database(path) as db:
        session_id = await _session(db, clock, cfg.capacity)
        number = int(await db.fetchval("SELECT number FROM sessions WHERE id = ?", (session_id,)))
        users = [snowflake(i) for i in range(cfg.attempts)]
        from bot.domain.sessions.survey import default_questions

        texts = {q.key: q.text for q in default_questions(TITLE)}
        answers = [
            (pos, key, texts[key], text) for pos, (key, text) in enumerate(ANSWERS.items(), start=1)
        ]
        release = asyncio.Event()
        raw: list[tuple[int, str, int]] = []

        async def book(tx: Tx, user_id: int, now: float) -> tuple[str, int]:
            status, seq = await tx.fetchone(RAW_BOOK, (user_id, now, session_id, now))  # type: ignore[misc]
            await tx.executemany(
                "INSERT INTO session_answers (session_id, user_id, position, key, question, "
                "answer) VALUES (?, ?, ?, ?, ?, ?)",
                [(session_id, user_id, *a) for a in answers],
            )
            await append_entries(
                tx,
                AuditEntry(
                    GUILD_ID,
                    now,
                    user_id,
                    f"booking.{status}",
                    f"session:{number}",
                    {"user_id": user_id, "seq": seq},
                ),
            )
            return str(status), int(seq)

        async def attempt(index: int, user_id: int) -> None:
            await release.wait()
            start = time.perf_counter()
            now = clock.now().timestamp()
            try:
                status, seq = await db.transaction(lambda tx: book(tx, user_id, now))
            except Exception as exc:
                result.errors.append(f"{type(exc).__name__}: {exc}")
                return
            result.latencies_ms.append((time.perf_counter() - start) * 1000)
            result.statuses[status] += 1
            raw.append((index, status, seq))

        tasks = [asyncio.create_task(attempt(i, u)) for i, u in enumerate(users)]
        await asyncio.sleep(0)
        t0 = time.perf_counter()
        release.set()
        await asyncio.gather(*tasks)
        result.seconds = time.perf_counter() - t0
        result.answers_stored = int(
            await db.fetchval(
                "SELECT COUNT(DISTINCT user_id) FROM session_answers WHERE session_id = ?",
                (session_id,),
            )
        )
    waiting_seqs = sorted(seq for _, status, seq in raw if status == "waiting")
    position = {seq: i for i, seq in enumerate(waiting_seqs, start=1)}
    result.rows = [(i, s, q, position.get(q)) for i, s, q in raw]
    return result


def _record(section: Section, label: str, res: BookingResult) -> None:
    section.check(
        f"booking burst ({label}): exactly {res.capacity} confirmed, "
        f"{res.attempts - res.capacity} waiting, no errors",
        res.counts_ok(),
        f"statuses {dict(res.statuses)}; errors: {'; '.join(sorted(set(res.errors)))[:300]}",
    )
    ok, why = res.order_ok()
    section.check(
        f"booking burst ({label}): waiting list in booking order (positions 1..N by seq)", ok, why
    )


async def run(cfg: Config) -> Section:
    section = Section("Booking burst")
    if not available():
        section.skipped = (
            "bot/domain/sessions/service.py is not in this tree yet, so the booking burst was "
            "skipped. It runs as soon as `SessionService.book` exists."
        )
        return section
    name = f"{cfg.attempts} concurrent bookings, {cfg.capacity} places"
    rate = Figure(
        "Booking burst",
        f"{name}: bookings/s",
        "/s",
        baseline_name="1 raw INSERT…SELECT per attempt",
        target="≥ 0.8× baseline",
        meets=lambda med, ratio: ratio is not None and ratio >= 0.8,
        digits=0,
    )
    p50 = Figure(
        "Booking burst",
        "release → outcome p50",
        "ms",
        baseline_name="raw INSERT…SELECT per attempt",
    )
    p99 = Figure(
        "Booking burst",
        "release → outcome p99",
        "ms",
        baseline_name="raw INSERT…SELECT per attempt",
        target="≤ 100 ms",
        meets=lambda med, ratio: med <= 100,
    )
    full = "raw booking + answers + audit row, 1 transaction per attempt"
    rate_full = Figure(
        "Booking burst",
        f"{name}: bookings/s, against raw statements writing the "
        "same rows (booking + answers + audit)",
        "/s",
        baseline_name=full,
        digits=0,
    )
    p99_full = Figure(
        "Booking burst",
        "release → outcome p99, against raw statements writing the same rows",
        "ms",
        baseline_name=full,
    )
    fifo_runs = 0
    with tempfile.TemporaryDirectory(prefix="bench-booking-") as tmp:
        workdir = Path(tmp)
        for _ in range(cfg.runs):
            base = await baseline_burst(cfg, workdir)
            _record(section, "raw baseline", base)
            res = await bot_burst(cfg, workdir)
            _record(section, "bot", res)
            section.check(
                "booking burst (bot): every booking stored with its survey answers",
                res.answers_stored == cfg.attempts,
                f"{res.answers_stored} of {cfg.attempts} members have answers stored",
            )
            fuller = await full_baseline_burst(cfg, workdir)
            _record(section, "raw booking + answers + audit baseline", fuller)
            fifo_runs += res.fifo()
            rate.bot.append(res.per_s)
            rate.baseline.append(base.per_s)
            p50.bot.append(res.p50_ms)
            p50.baseline.append(base.p50_ms)
            p99.bot.append(res.p99_ms)
            p99.baseline.append(base.p99_ms)
            rate_full.bot.append(res.per_s)
            rate_full.baseline.append(fuller.per_s)
            p99_full.bot.append(res.p99_ms)
            p99_full.baseline.append(fuller.p99_ms)
    section.figures.extend([rate, p50, p99, rate_full, p99_full])
    section.notes.append(
        f"All {cfg.attempts} attempts are released at the same instant (one `asyncio.Event`), "
        "so the p99 includes queueing behind every other attempt on the one shared connection. "
        f"The booking order matched the release order in {fifo_runs} of {cfg.runs} runs (the "
        "waiting list is always in booking order; simultaneous presses have no order of their "
        "own)."
    )
    section.notes.append(
        "The first baseline writes one row per attempt; the bot writes three more (the survey "
        "answers) and a hash-chained audit row, and answers each attempt after its commit. The "
        "second baseline writes those same rows with raw statements, one transaction per "
        "attempt (context for the first ratio; the target is against the first). The bot "
        "writes bookings that arrive together in one transaction, each still decided by its "
        "own `INSERT … SELECT … RETURNING`, in submission order."
    )
    return section
