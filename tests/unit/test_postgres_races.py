"""The guarantees on PostgreSQL, raced for real: two bot processes, two event loops each, one
connection per loop (four connections), all starting the burst together (tests/races/worker.py).

* 1,000 bookings on 22 places -> exactly 22 confirmed; the waiting list is in submission order
  (each connection's members in the order it submitted them; seq 1..1000 without a gap);
* 500 reactions (250 members, each reacting in both processes with a different category) ->
  one sign-up row per member, every change audited once, the audit chain intact;
* 1,000 jobs due at once -> each runs exactly once.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.clock import FakeClock
from bot.domain.audit.chain import verify_chain
from bot.domain.calls.service import CallService
from bot.domain.sessions.service import SessionService
from bot.scheduling import JobScheduler
from db import Database, open_database
from db.repositories.audit import AuditRepository
from tests.conftest import STORY_START

pytestmark = pytest.mark.parametrize("backend", ["postgresql"], indirect=True)

GUILD = 1000
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
async def pg(db_path: str) -> AsyncIterator[tuple[str, Database]]:
    async with open_database(db_path) as db:
        yield str(db_path), db


async def race(mode: str, url: str, args: dict[str, Any]) -> list[str]:
    """Run the two worker processes; start their bursts together; their output lines."""
    procs = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.races.worker",
            mode,
            url,
            str(process),
            json.dumps(args),
            cwd=ROOT,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        for process in (0, 1)
    ]
    for proc in procs:
        assert proc.stdout is not None
        line = await proc.stdout.readline()
        if line.strip() != b"ready":
            err = await proc.stderr.read() if proc.stderr else b""
            raise AssertionError(f"worker did not start: {line!r} {err.decode()[-2000:]}")
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write(b"go\n")
        await proc.stdin.drain()
    out = []
    for proc in procs:
        stdout, stderr = await proc.communicate()
        assert proc.returncode == 0, stderr.decode()[-3000:]
        out.append(stdout.decode())
    return out


async def test_1000_bookings_on_22_places_from_four_connections_in_two_processes(
    pg: tuple[str, Database],
) -> None:
    url, db = pg
    clock = FakeClock(STORY_START)
    service = SessionService(db, clock, JobScheduler(db, clock))
    session = await service.create(
        guild_id=GUILD,
        channel_id=20,
        author_id=1,
        title="LinkedIn: an introduction",
        starts="in 3 days",
        capacity="22",
        tz="Europe/London",
    )
    members = list(range(10_001, 11_001))
    await race(
        "book",
        url,
        {"session": session.id, "members": members, "answers": {"experience": "New to it"}},
    )
    rows = await db.fetchall(
        "SELECT user_id, status, seq FROM session_bookings WHERE session_id = ? ORDER BY seq",
        (session.id,),
    )
    assert len(rows) == 1000
    assert [r["seq"] for r in rows] == list(range(1, 1001))  # no gap, no duplicate
    statuses = Counter(r["status"] for r in rows)
    assert statuses == {"confirmed": 22, "waiting": 978}
    assert {r["status"] for r in rows[:22]} == {"confirmed"}  # the first 22 submitted
    # Each connection submitted its members in increasing order: their places keep it.
    seq_of = {r["user_id"]: r["seq"] for r in rows}
    for connection in range(4):
        submitted = [m for i, m in enumerate(members) if i % 4 == connection]
        assert [seq_of[m] for m in submitted] == sorted(seq_of[m] for m in submitted)
    # Every booking audited once, and the chain (appended from four connections) intact.
    audit = await AuditRepository(db).rows(GUILD)
    assert Counter(r.action for r in audit)["booking.confirmed"] == 22
    assert Counter(r.action for r in audit)["booking.waiting"] == 978
    assert verify_chain(audit).ok


async def test_500_reactions_across_two_processes_leave_one_row_per_member(
    pg: tuple[str, Database],
) -> None:
    url, db = pg
    clock = FakeClock(STORY_START)
    calls = CallService(db, clock, JobScheduler(db, clock))
    details = await calls.create(
        guild_id=GUILD,
        channel_id=10,
        author_id=1,
        title="Co-produce the LinkedIn session",
        categories="🧭 Experienced with LinkedIn; 🌱 New to LinkedIn",
        tz="Europe/London",
    )
    message = 5000 + details.call.id
    await calls.attach_post(details.call.id, 10, message)
    members = list(range(20_001, 20_251))
    await race("react", url, {"message": message, "members": members, "emojis": ["🧭", "🌱"]})
    rows = await db.fetchall(
        "SELECT user_id, COUNT(*) FROM call_signups WHERE call_id = ? GROUP BY user_id",
        (details.call.id,),
    )
    assert sorted(r[0] for r in rows) == members
    assert {r[1] for r in rows} == {1}
    audit = await AuditRepository(db).rows(GUILD)
    actions = Counter(r.action for r in audit)
    assert actions["call.signup"] == 250  # each member joined once...
    assert actions["call.switch"] == 250  # ...and switched once (the other process's reaction)
    assert verify_chain(audit).ok


async def test_1000_due_jobs_with_two_processes_each_run_once(pg: tuple[str, Database]) -> None:
    url, db = pg
    await db.execute(
        "CREATE TABLE job_runs (job_id BIGINT NOT NULL, process INTEGER NOT NULL, "
        "loop INTEGER NOT NULL)"
    )
    clock = FakeClock(STORY_START)
    jobs = JobScheduler(db, clock)
    due = clock.now()
    await db.executemany(
        "INSERT INTO scheduled_jobs (key, kind, guild_id, run_at, created_at) "
        "VALUES (?, 'race', ?, ?, ?)",
        [(f"race:{n}", GUILD + n, due.timestamp() - n, due.timestamp()) for n in range(1000)],
    )
    await race("jobs", url, {})
    runs = await db.fetchall("SELECT job_id, process FROM job_runs")
    assert len(runs) == 1000
    assert len({r[0] for r in runs}) == 1000  # each job once
    assert await jobs.repo.count("done") == 1000
    assert await jobs.repo.count("pending") == 0 and await jobs.repo.count("running") == 0
