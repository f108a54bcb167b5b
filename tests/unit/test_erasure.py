"""Issue 11 item 7: after /mydata delete nothing identifying survives, except what
docs/data-and-wording.md lists. The test scans every column of every table for the member's id
(as a number, and inside any text such as a job's JSON payload or error)."""

from __future__ import annotations

from datetime import timedelta

from bot.clock import FakeClock
from bot.domain.calls.service import CallService
from bot.domain.draws.service import DrawService
from bot.domain.feedback.service import FeedbackService
from bot.domain.mydata.service import JOB_RETENTION_DAYS, MyDataService
from bot.domain.sessions.service import SessionService
from bot.scheduling import JobScheduler
from db import Database
from tests.dbtools import table_names
from tests.fakes.beacon import LocalBeacon
from tests.unit.test_feedback_service import FakeNotifier
from tests.unit.test_feedback_service import wire as wire_feedback
from tests.unit.test_mydata import ANSWERS, GUILD, ORGANISER, TZ, drawn_call, open_call
from tests.unit.test_session_service import FakeMessenger, wire

ME = 734_512_998_877_665_544  # a realistic snowflake: no accidental matches in timestamps
OTHERS = [734_512_998_877_000_001 + i for i in range(4)]


async def cells_holding(db: Database, user_id: int) -> list[tuple[str, str, object]]:
    """Every (table, column, value) in the database that holds ``user_id``."""
    found: list[tuple[str, str, object]] = []
    tables = await table_names(db)
    needle = str(user_id)
    for table in tables:
        if db.dialect.is_sqlite:
            columns = [r[1] for r in await db.fetchall(f'PRAGMA table_info("{table}")')]
        else:
            columns = [
                r[0]
                for r in await db.fetchall(
                    "SELECT column_name FROM information_schema.columns "
                    "WHERE table_schema = 'public' AND table_name = ?",
                    (table,),
                )
            ]
        for column in columns:
            for (value,) in await db.fetchall(f'SELECT "{column}" FROM "{table}"'):
                if value == user_id or (isinstance(value, str | bytes) and needle in str(value)):
                    found.append((table, column, value))
    return found


async def test_nothing_identifying_survives_deletion(
    db: Database, clock: FakeClock, jobs: JobScheduler
) -> None:
    calls = CallService(db, clock, jobs)
    draws = DrawService(db, clock, jobs, beacon=LocalBeacon(clock))
    sessions, mydata = SessionService(db, clock, jobs), MyDataService(db, clock, draws)
    feedback = FeedbackService(db, clock, jobs)
    wire_feedback(feedback, jobs, FakeNotifier(closed=set()))
    messenger = FakeMessenger(db, clock)
    wire(jobs, sessions, messenger)

    # Everything a member can do: sign up and be drawn, sign up to an open call, book a session
    # from the waiting list (promoted: a notice job names them), answer the survey, be asked for
    # feedback and write in the thread, and receive the reminders.
    await drawn_call(calls, draws, [ME, *OTHERS])
    await open_call(calls, [ME, OTHERS[0]])
    session = await sessions.create(
        guild_id=GUILD,
        channel_id=10,
        author_id=ORGANISER,
        title="LinkedIn: an introduction",
        starts="in 3 days",
        capacity=1,
        tz=TZ,
    )
    await sessions.book(session.id, OTHERS[0], dict(ANSWERS))
    await sessions.book(session.id, ME, dict(ANSWERS))
    await sessions.cancel_booking(session.id, OTHERS[0])  # ME is promoted
    past = await sessions.create(
        guild_id=GUILD,
        channel_id=10,
        author_id=ORGANISER,
        title="Done already",
        starts="in 1 day",
        capacity=3,
        tz=TZ,
    )
    await sessions.book(past.id, ME, dict(ANSWERS))
    opened = await feedback.open(
        guild_id=GUILD,
        author_id=ORGANISER,
        title="The plan",
        plan="https://docs.example/plan",
        channel_id=20,
        tz=TZ,
        role_id=55,
        role_member_ids=[ME, *OTHERS],
        closes="in 3 days",
        reminders="24h",
    )
    await feedback.attach_thread(opened.round.id, 7000, 20, 7000)
    await feedback.record_message(7000, ME, 80_000, "Please add captions")
    await jobs.run_due()
    clock.advance(timedelta(days=2))  # reminders, notices and the first session's end run
    await jobs.run_due()
    assert await cells_holding(db, ME)  # the scan sees the member before

    await mydata.delete(GUILD, ME, cancel_booking=sessions.cancel_booking)
    await jobs.run_due()

    # docs/data-and-wording.md: published draws keep the entry reference, never the id; the
    # audit trail keeps references only. So nothing may hold the id itself.
    assert await cells_holding(db, ME) == []


async def test_finished_jobs_older_than_the_retention_window_are_purged(
    db: Database, clock: FakeClock, jobs: JobScheduler
) -> None:
    mydata = MyDataService(db, clock)
    now = clock.now().timestamp()
    day = 86400.0
    rows = [
        ("old-done", "done", now - (JOB_RETENTION_DAYS + 1) * day),
        ("old-cancelled", "cancelled", now - (JOB_RETENTION_DAYS + 1) * day),
        ("old-failed", "failed", now - (JOB_RETENTION_DAYS + 1) * day),
        ("recent-done", "done", now - day),
    ]
    for key, status, finished in rows:
        await db.execute(
            "INSERT INTO scheduled_jobs (key, kind, guild_id, run_at, payload, status, "
            "created_at, finished_at) VALUES (?, 'x', ?, ?, '{}', ?, ?, ?)",
            (key, GUILD, finished, status, finished, finished),
        )
    await db.execute(
        "INSERT INTO scheduled_jobs (key, kind, guild_id, run_at, payload, status, created_at) "
        "VALUES ('old-pending', 'x', ?, ?, '{}', 'pending', ?)",
        (GUILD, now - 400 * day, now - 400 * day),
    )
    report = await mydata.sweep()
    assert report.jobs == 3
    left = {r[0] for r in await db.fetchall("SELECT key FROM scheduled_jobs")}
    assert left == {"recent-done", "old-pending"}
