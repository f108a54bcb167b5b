"""Sessions on a real migrated SQLite file: capacity, the waiting list, reminders, privacy."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.clock import FakeClock
from bot.domain.delivery.engine import NotDelivered
from bot.domain.errors import Conflict, DomainError, InvalidInput, NotAllowed, NotFound
from bot.domain.sessions.jobs import JOB_KINDS
from bot.domain.sessions.service import SessionService
from bot.domain.sessions.texts import (
    ALREADY_CONFIRMED,
    ALREADY_CONFIRMED_STARTED,
    ALREADY_WAITING,
    BOOKED_DM,
    BOOKING_CANCELLED,
    BOOKING_CANCELLED_CLOSED,
    WAITING_NO_PLACE,
)
from bot.domain.values import CalendarEntry
from bot.domain.wording.service import WordingService
from bot.domain.wording.templates import Template
from bot.render import discord_value, fit_message, plain_text
from bot.scheduling import JobScheduler
from cogs.sessions.render import public_post_lines
from db import Database, open_database
from tests.dbtools import rows_of

GUILD = 1000
CHANNEL = 10
ORGANISER = 7777
TZ = "Europe/London"
STORY_ANSWERS = {
    "experience": "New to it",
    "aims": "Connecting with people",
    "barriers": "I use a screen reader",
}


class FakeMessenger:
    """Records what would be sent; ``closed`` members have DMs closed."""

    def __init__(
        self,
        db: Database,
        clock: FakeClock,
        closed: Sequence[int] = (),
        crash_after: int | None = None,
    ) -> None:
        self.wording = WordingService(db, clock, formatter=discord_value)
        self.closed = set(closed)
        self.crash_after = crash_after
        self.dms: list[tuple[int, str, int | None]] = []
        self.files: dict[int, list[tuple[str, str]]] = {}  # user id -> attachments
        self.calendars: dict[int, list[CalendarEntry]] = {}  # user id -> calendar files
        self.confirmations: list[tuple[int, CalendarEntry | None]] = []  # booking DMs
        self.posts: list[tuple[int, str, list[int], int | None]] = []
        self.refreshed: list[int] = []
        self.organisers = {ORGANISER}

    async def is_organiser(self, guild_id: int, user_id: int) -> bool:
        return user_id in self.organisers

    async def render(self, guild_id: int, tpl: Template, **values: object) -> str:
        return await self.wording.render(guild_id, tpl, **values)

    async def dm(
        self,
        user_id: int,
        text: str,
        *,
        feedback_session: int | None = None,
        nonce: str | None = None,
        attach_if_long: tuple[str, str] | None = None,
        calendar: CalendarEntry | None = None,
        guild_id: int | None = None,
        at: float | None = None,
        layout: bool = False,
    ) -> bool:
        if self.crash_after is not None and len(self.dms) >= self.crash_after:
            raise NotDelivered("the bot stopped here")
        if user_id in self.closed:
            return False
        if attach_if_long is not None:  # as the Discord messenger does
            name, note = attach_if_long
            whole = text
            text, cut = fit_message(whole, note)
            if cut:
                self.files.setdefault(user_id, []).append((name, plain_text(whole)))
        assert len(text) <= 2000, "a DM must fit in one Discord message"
        if text.startswith(BOOKED_DM.default.split("{")[0]):
            self.confirmations.append((user_id, calendar))  # counted apart from the rest
            return True
        self.dms.append((user_id, text, feedback_session))
        if calendar is not None:
            self.calendars.setdefault(user_id, []).append(calendar)
        return True

    async def post(
        self,
        channel_id: int,
        text: str,
        *,
        mention_ids: Sequence[int],
        feedback_session: int | None = None,
        nonce: str | None = None,
    ) -> bool:
        self.posts.append((channel_id, text, list(mention_ids), feedback_session))
        return True

    async def refresh(self, session_id: int) -> None:
        self.refreshed.append(session_id)

    def dm_users(self) -> list[int]:
        return [u for u, _, _ in self.dms]

    def posted_users(self) -> list[int]:
        return [u for _, _, ids, _ in self.posts for u in ids]


def wire(jobs: JobScheduler, service: SessionService, messenger: FakeMessenger) -> None:
    async def handler(job):  # type: ignore[no-untyped-def]
        await service.handle_job(job, messenger)

    for kind in JOB_KINDS:
        jobs.register(kind, handler)


async def make(service: SessionService, **kwargs: object) -> int:
    values: dict[str, object] = {
        "guild_id": GUILD,
        "channel_id": CHANNEL,
        "author_id": ORGANISER,
        "title": "LinkedIn: an introduction",
        "starts": "in 3 days",
        "capacity": 22,
        "tz": TZ,
    }
    values.update(kwargs)
    session = await service.create(**values)  # type: ignore[arg-type]
    await service.attach_post(session.id, CHANNEL, 9000 + session.id)
    return session.id


async def snapshot(db: Database) -> list[tuple[object, ...]]:
    return await rows_of(
        db,
        "SELECT 's', id, title, capacity, starts_at, closes_at, status FROM sessions",
        "SELECT 'b', session_id, user_id, status, seq, 0, 0 FROM session_bookings",
        "SELECT 'a', session_id, user_id, key, answer, 0, 0 FROM session_answers",
        "SELECT 'q', session_id, position, text, kind, 0, 0 FROM session_questions",
        "SELECT 'j', id, key, status, run_at, 0, 0 FROM scheduled_jobs",
    )


@pytest.fixture
def service(db: Database, clock: FakeClock, jobs: JobScheduler) -> SessionService:
    return SessionService(db, clock, jobs)


async def test_story_30_book_at_once_for_22_places_then_3_cancel(
    db: Database, clock: FakeClock, jobs: JobScheduler, service: SessionService
) -> None:
    sid = await make(service, capacity="22")
    members = list(range(101, 131))  # 30, submitted in this order
    outcomes = await asyncio.gather(*(service.book(sid, m, STORY_ANSWERS) for m in members))
    confirmed = [m for m, o in zip(members, outcomes, strict=True) if o.status == "confirmed"]
    waiting = [m for m, o in zip(members, outcomes, strict=True) if o.status == "waiting"]
    assert len(confirmed) == 22 and len(waiting) == 8
    assert confirmed == members[:22] and waiting == members[22:]
    assert [o.position for o in outcomes if o.status == "waiting"] == list(range(1, 9))
    assert all(o.position is None for o in outcomes if o.status == "confirmed")
    attendees = await service.attendees(sid)
    assert [a.user_id for a in attendees if a.status == "waiting"] == waiting
    details = await service.details(sid)
    assert details.capacity_line == "22 of 22 places booked, 8 on the waiting list"

    # Three people with places cancel; the first three waiting are promoted, in order.
    messenger = FakeMessenger(db, clock, closed=[124])
    wire(jobs, service, messenger)
    promoted: list[int] = []
    for m in (103, 110, 101):
        result = await service.cancel_booking(sid, m)
        assert result.cancelled and result.was == "confirmed"
        promoted += result.promoted
    assert promoted == [123, 124, 125]
    await jobs.run_due()
    # Told: by DM, or (closed DMs) by a channel mention that names no answers.
    assert sorted(messenger.dm_users()) == [123, 125]
    assert messenger.posted_users() == [124]
    assert all("screen reader" not in text for _, text, _, _ in messenger.posts)
    after = await service.attendees(sid)
    assert len([a for a in after if a.status == "confirmed"]) == 22
    assert [a.user_id for a in after if a.status == "waiting"] == members[25:]
    # A re-run of the notice jobs sends nothing more.
    await jobs.run_due()
    assert len(messenger.dms) == 2 and len(messenger.posts) == 1


async def test_1000_concurrent_attempts_on_22_places(
    db: Database, clock: FakeClock, service: SessionService
) -> None:
    sid = await make(service, capacity=22)
    members = list(range(10_001, 11_001))
    outcomes = await asyncio.gather(
        *(service.book(sid, m, {"experience": "A little experience"}) for m in members)
    )
    statuses = [o.status for o in outcomes]
    assert statuses.count("confirmed") == 22
    assert statuses.count("waiting") == 978
    positions = [o.position for o in outcomes if o.status == "waiting"]
    assert sorted(positions) == list(range(1, 979))  # type: ignore[type-var]
    rows = await db.fetchall(
        "SELECT user_id, status FROM session_bookings WHERE session_id = ? ORDER BY seq", (sid,)
    )
    by_seq = [r[0] for r in rows]
    assert by_seq == members  # seq = submission order
    assert [r[1] for r in rows] == ["confirmed"] * 22 + ["waiting"] * 978


async def test_concurrent_cancellations_never_overbook(
    db: Database, clock: FakeClock, service: SessionService
) -> None:
    sid = await make(service, capacity=5)
    await asyncio.gather(*(service.book(sid, m, {"experience": "New to it"}) for m in range(1, 21)))
    results = await asyncio.gather(
        *(
            *(service.cancel_booking(sid, m) for m in (1, 2, 3)),
            *(service.book(sid, m, {"experience": "New to it"}) for m in range(21, 26)),
        )
    )
    confirmed, waiting = (
        (await service.details(sid)).confirmed,
        (await service.details(sid)).waiting,
    )
    assert confirmed == 5 and waiting == 15 + 5 - 3
    promoted = [u for r in results[:3] for u in r.promoted]  # type: ignore[union-attr]
    # The first three waiting, each promoted once. Which cancellation promoted whom depends on
    # which committed first: with several connections (PostgreSQL) that is not gather order.
    assert sorted(promoted) == [6, 7, 8]


async def test_one_booking_per_member_and_rebooking_after_cancel(service: SessionService) -> None:
    sid = await make(service, capacity=1)
    assert (await service.book(sid, 1, STORY_ANSWERS)).status == "confirmed"
    again = await service.book(sid, 1, STORY_ANSWERS)
    assert again.status == "already_confirmed"
    assert (await service.book(sid, 2, STORY_ANSWERS)).status == "waiting"
    status = await service.member_status(sid, 2)
    assert status is not None and status.status == "already_waiting" and status.position == 1
    assert await service.member_status(sid, 3) is None
    nothing = await service.cancel_booking(sid, 3)
    assert not nothing.cancelled and nothing.promoted == []
    cancelled = await service.cancel_booking(sid, 1)
    assert cancelled.promoted == [2]
    rebooked = await service.book(sid, 1, STORY_ANSWERS)
    assert rebooked.status == "waiting" and rebooked.position == 1  # back of the queue
    # Cancelling deleted their earlier answers; the new booking has its own.
    attendees = await service.attendees(sid)
    assert [(a.user_id, a.status) for a in attendees] == [(2, "confirmed"), (1, "waiting")]


async def test_raise_and_lower_capacity(
    db: Database, clock: FakeClock, jobs: JobScheduler, service: SessionService
) -> None:
    sid = await make(service, capacity=5)
    number = (await service.get_by_id(sid)).number  # type: ignore[union-attr]
    for m in range(1, 9):
        await service.book(sid, m, {"experience": "New to it"})
    raised = await service.edit(GUILD, number, actor_id=ORGANISER, capacity="7", tz=TZ)
    assert raised.promoted == [6, 7]
    details = await service.details(sid)
    assert (details.confirmed, details.waiting) == (7, 1)

    lowered = await service.edit(GUILD, number, actor_id=ORGANISER, capacity=3, tz=TZ)
    assert lowered.promoted == []
    assert (await service.details(sid)).confirmed == 7  # nobody loses a place
    assert (await service.book(sid, 20, {"experience": "New to it"})).status == "waiting"
    cancelled = await service.cancel_booking(sid, 1)
    assert cancelled.promoted == []  # 6 confirmed is still more than 3 places
    assert (await service.details(sid)).confirmed == 6
    messenger = FakeMessenger(db, clock)
    wire(jobs, service, messenger)
    await jobs.run_due()
    assert sorted(messenger.dm_users()) == [6, 7]  # the promoted were told


async def test_reminders_fire_once_across_a_restart(
    db_path: Path, db: Database, clock: FakeClock
) -> None:
    jobs1 = JobScheduler(db, clock)
    service1 = SessionService(db, clock, jobs1)
    sid = await make(service1, starts="in 3 days", capacity=3)
    for m in (1, 2, 3, 4):
        await service1.book(sid, m, {"experience": "New to it"})
    # An hour before the first reminder: the organiser's digest, by DM only.
    clock.advance(timedelta(days=2, minutes=-59))
    first = FakeMessenger(db, clock)
    wire(jobs1, service1, first)
    await jobs1.run_due()
    assert first.dm_users() == [ORGANISER] and first.posts == []
    # 24 hours before: the bot stops half-way through sending the reminders.
    clock.advance(timedelta(hours=1))
    crashing = FakeMessenger(db, clock, closed=[3], crash_after=1)
    wire(jobs1, service1, crashing)
    await jobs1.run_due()
    assert len(crashing.dms) == 1
    await jobs1.shutdown()

    # Restart: a new connection, scheduler and service on the same database file.
    async with open_database(db_path) as db2:
        jobs2 = JobScheduler(db2, clock)
        service2 = SessionService(db2, clock, jobs2)
        messenger = FakeMessenger(db2, clock, closed=[3])
        wire(jobs2, service2, messenger)
        await jobs2.repo.release_running()
        clock.advance(timedelta(minutes=5))  # the retry is due
        await jobs2.run_due()
        await jobs2.run_due()
        assert sorted(crashing.dm_users() + messenger.dm_users()) == [1, 2]  # each once
        assert messenger.posted_users() == [3]  # closed DMs: one channel mention
        # The 1-hour reminder fires once too, even if the jobs run twice.
        clock.advance(timedelta(hours=23))
        await jobs2.run_due()
        await jobs2.run_due()
        assert sorted(crashing.dm_users() + messenger.dm_users()) == [1, 1, 2, 2]
        assert messenger.posted_users() == [3, 3]
        assert 4 not in messenger.dm_users() + messenger.posted_users()  # waiting: no reminder
        rows = await db2.fetchall(
            "SELECT part, COUNT(*) FROM deliveries WHERE owner_kind = 'session' "
            "AND owner_id = ? AND part LIKE 'reminder:%' GROUP BY part",
            (sid,),
        )
        assert [r[1] for r in rows] == [3, 3]  # 3 confirmed x 2 reminders, exactly once each
        await jobs2.shutdown()


async def test_changing_the_start_reschedules_reminders_and_tells_people(
    db: Database, clock: FakeClock, jobs: JobScheduler, service: SessionService
) -> None:
    sid = await make(service, starts="in 3 days", capacity=1)
    number = (await service.get_by_id(sid)).number  # type: ignore[union-attr]
    await service.book(sid, 1, {"experience": "New to it"})
    await service.book(sid, 2, {"experience": "New to it"})
    before = await db.fetchall(
        "SELECT key, run_at FROM scheduled_jobs WHERE key LIKE 'session:%:reminder:%' ORDER BY key"
    )
    outcome = await service.edit(GUILD, number, actor_id=ORGANISER, starts="in 5 days", tz=TZ)
    assert outcome.start_changed
    after = await db.fetchall(
        "SELECT key, run_at, status FROM scheduled_jobs WHERE key LIKE 'session:%:reminder:%' "
        "ORDER BY key"
    )
    assert [r[0] for r in after] == [r[0] for r in before]  # same keys, moved
    assert all(
        a[1] - b[1] == pytest.approx(2 * 86400, abs=2) for a, b in zip(after, before, strict=True)
    )
    messenger = FakeMessenger(db, clock)
    wire(jobs, service, messenger)
    await jobs.run_due()
    assert sorted(messenger.dm_users()) == [1, 2]  # booked and waiting are told
    # Reminders arrive for the new time only.
    clock.advance(timedelta(days=3, hours=1))
    await jobs.run_due()
    assert sorted(messenger.dm_users()) == [1, 2]
    clock.advance(timedelta(days=1))
    await jobs.run_due()
    assert messenger.dm_users().count(1) == 2


async def test_cancel_session_cancels_reminders_and_tells_everyone(
    db: Database, clock: FakeClock, jobs: JobScheduler, service: SessionService
) -> None:
    sid = await make(service, capacity=1)
    number = (await service.get_by_id(sid)).number  # type: ignore[union-attr]
    await service.book(sid, 1, {"experience": "New to it"})
    await service.book(sid, 2, {"experience": "New to it"})
    await service.cancel(GUILD, number, actor_id=ORGANISER)
    pending = await db.fetchall(
        "SELECT key FROM scheduled_jobs WHERE status = 'pending' AND key LIKE ?",
        (f"session:{sid}:%",),
    )
    assert [r[0] for r in pending] == [f"session:{sid}:notice:cancelled"]
    messenger = FakeMessenger(db, clock, closed=[2])
    wire(jobs, service, messenger)
    await jobs.run_due()
    assert messenger.dm_users() == [1] and messenger.posted_users() == [2]
    with pytest.raises(Conflict):
        await service.book(sid, 3, {"experience": "New to it"})
    with pytest.raises(Conflict):
        await service.cancel(GUILD, number, actor_id=ORGANISER)
    clock.advance(timedelta(days=10))
    await jobs.run_due()
    assert len(messenger.dms) == 1  # no reminders, no evaluation


async def test_booking_closes(clock: FakeClock, service: SessionService) -> None:
    sid = await make(service, starts="in 3 days", closes="in 2 days", capacity=2)
    await service.book(sid, 1, {"experience": "New to it"})
    clock.advance(timedelta(days=2, minutes=1))
    with pytest.raises(Conflict, match="closed"):
        await service.book(sid, 2, {"experience": "New to it"})
    session = await service.get_by_id(sid)
    assert session is not None
    with pytest.raises(Conflict):
        await service.check_can_book(session, 2)
    # Pressing Book again still shows your status.
    status = await service.member_status(sid, 1)
    assert status is not None and status.status == "already_confirmed"
    # Cancelling is still possible before the start (and frees the place).
    assert (await service.cancel_booking(sid, 1)).cancelled
    clock.advance(timedelta(days=1))
    with pytest.raises(Conflict, match="started"):
        await service.cancel_booking(sid, 1)


async def test_repeat_gives_the_earlier_waiting_list_a_priority_window(
    db: Database, clock: FakeClock, jobs: JobScheduler, service: SessionService
) -> None:
    first = await make(service, capacity=2)
    first_number = (await service.get_by_id(first)).number  # type: ignore[union-attr]
    for m in (1, 2, 3, 4):
        await service.book(first, m, {"experience": "New to it"})
    repeat = await make(
        service, starts="in 10 days", capacity=2, repeat_of=first_number, priority="48h"
    )
    messenger = FakeMessenger(db, clock, closed=[4])
    wire(jobs, service, messenger)
    await jobs.run_due()
    assert messenger.dm_users() == [3] and messenger.posted_users() == [4]  # told first
    with pytest.raises(Conflict, match="first"):
        await service.book(repeat, 9, {"experience": "New to it"})
    assert (await service.book(repeat, 4, {"experience": "New to it"})).status == "confirmed"
    clock.advance(timedelta(hours=48, minutes=1))
    assert (await service.book(repeat, 9, {"experience": "New to it"})).status == "confirmed"
    assert (await service.book(repeat, 10, {"experience": "New to it"})).status == "waiting"
    with pytest.raises(InvalidInput):
        await service.create(
            guild_id=GUILD,
            channel_id=CHANNEL,
            author_id=ORGANISER,
            title="x",
            starts="in 3 days",
            capacity=3,
            priority="24h",
            tz=TZ,
        )
    with pytest.raises(NotFound):
        await service.create(
            guild_id=GUILD,
            channel_id=CHANNEL,
            author_id=ORGANISER,
            title="x",
            starts="in 3 days",
            capacity=3,
            repeat_of=99,
            tz=TZ,
        )


async def test_survey_answers_stay_private(
    db: Database, clock: FakeClock, jobs: JobScheduler, service: SessionService
) -> None:
    secret = {
        "experience": "Very experienced",
        "aims": "SECRET-AIM-41",
        "barriers": "SECRET-BARRIER-73 (a health condition)",
    }
    sid = await make(service, capacity=2, starts="in 3 days")
    number = (await service.get_by_id(sid)).number  # type: ignore[union-attr]
    for m in (1, 2, 3):
        await service.book(sid, m, secret)
    await service.cancel_booking(sid, 1)  # 3 is promoted
    messenger = FakeMessenger(db, clock, closed=[2, 3, ORGANISER])
    wire(jobs, service, messenger)
    await jobs.run_due()
    await service.edit(GUILD, number, actor_id=ORGANISER, starts="in 4 days", tz=TZ)
    for _ in range(6):
        clock.advance(timedelta(hours=20))
        await jobs.run_due()
    public = [text for _, text, _, _ in messenger.posts]
    details = await service.details(sid)
    s = details.session
    public += [
        v
        for _, v in public_post_lines(
            starts_at=s.starts_at,
            ends_at=s.ends_at,
            closes_at=s.closes_at,
            capacity=s.capacity,
            confirmed=details.confirmed,
            waiting=details.waiting,
            cancelled=False,
            priority_until=None,
            now=clock.now().timestamp(),
        )
    ]
    member_dms = [text for user, text, _ in messenger.dms if user != ORGANISER]
    assert messenger.posts, "closed DMs must have produced channel notes"
    for text in public + member_dms:
        assert "SECRET" not in text and "health" not in text
    # The organiser's DMs are closed: the digest is NOT posted in the channel instead.
    assert all(ORGANISER not in ids for _, _, ids, _ in messenger.posts)
    # Organisers can read them: the attendee list and the nameless summary.
    attendees = await service.attendees(sid)
    assert attendees[0].answers["barriers"].startswith("SECRET-BARRIER")
    summary = await service.survey(sid)
    assert summary.responses == 2
    experience = summary.chart
    assert experience is not None
    assert {c.option: c.count for c in experience.counts}["Very experienced"] == 2
    # The cancelled member's answers were deleted with their booking.
    left = await db.fetchval("SELECT COUNT(*) FROM session_answers WHERE user_id = 1")
    assert left == 0


async def test_evaluation(
    clock: FakeClock, db: Database, jobs: JobScheduler, service: SessionService
) -> None:
    sid = await make(service, capacity=2, starts="in 1 day", duration="90m", reminders="none")
    for m in (1, 2, 3):
        await service.book(sid, m, {"experience": "New to it"})
    with pytest.raises(Conflict):
        await service.evaluate(sid, 1, 5)
    clock.advance(timedelta(days=1, minutes=91))
    messenger = FakeMessenger(db, clock)
    wire(jobs, service, messenger)
    await jobs.run_due()
    invited = [(u, f) for u, _, f in messenger.dms if u != ORGANISER and f is not None]
    assert sorted(invited) == [(1, sid), (2, sid)]  # with a Give feedback button
    assert [u for u, _, f in messenger.dms if f is None] == [3]  # waiting: told no place came
    await service.evaluate(sid, 1, "5", "Connecting with people", "More time")
    await service.evaluate(sid, 2, 3, "", "Slower please")
    await service.evaluate(sid, 2, 4, "The demo", "")  # a second answer replaces the first
    with pytest.raises(NotAllowed):
        await service.evaluate(sid, 3, 4)  # was on the waiting list
    for bad in ("0", "6", "great", ""):
        with pytest.raises(InvalidInput):
            await service.evaluate(sid, 1, bad)
    summary, rows = await service.evaluation(sid)
    assert summary.responses == 2 and summary.attendees == 2
    assert summary.average == pytest.approx(4.5)
    assert summary.useful == ("Connecting with people", "The demo")
    assert len(rows) == 2


async def test_questions_can_be_replaced_until_someone_books(service: SessionService) -> None:
    sid = await make(service, capacity=3)
    number = (await service.get_by_id(sid)).number  # type: ignore[union-attr]
    questions = await service.set_questions(
        GUILD,
        number,
        actor_id=ORGANISER,
        texts=[
            "How often do you use LinkedIn? [Never; Monthly; Weekly]",
            "What for?",
            None,
            "Anything we should know?",
        ],
        optional="3",
        access=False,
    )
    assert [(q.kind, q.required) for q in questions] == [
        ("choice", True),
        ("text", True),
        ("text", False),
    ]
    with pytest.raises(InvalidInput):
        await service.book(sid, 1, {"q1": "Daily", "q2": "x"})  # not a choice
    with pytest.raises(InvalidInput):
        await service.book(sid, 1, {"q1": "weekly"})  # q2 is required
    with pytest.raises(InvalidInput):
        await service.book(sid, 1, {"q1": "weekly", "q2": "x", "nonsense": "y"})
    booked = await service.book(sid, 1, {"q1": "weekly", "What for?": "Jobs"})
    assert booked.status == "confirmed"
    assert (await service.attendees(sid))[0].answers == {"q1": "Weekly", "q2": "Jobs"}
    with pytest.raises(Conflict):
        await service.set_questions(GUILD, number, actor_id=ORGANISER, texts=["New?"])
    for texts, optional in (
        (["x" * 101], None),
        ([None, " "], None),
        (["a"] * 9, None),  # with the two access questions, more than 10
        (["Pick [one]"], None),
        (["a", "b"], "3"),
    ):
        with pytest.raises(InvalidInput):
            await service.set_questions(
                GUILD, number, actor_id=ORGANISER, texts=texts, optional=optional
            )


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("capacity", "0"),
        ("capacity", "-3"),
        ("capacity", "many"),
        ("capacity", 0),
        ("starts", "2020-01-01 10:00"),
        ("starts", "yesterday at noon"),
        ("closes", "in 4 days"),
        ("duration", "forever"),
        ("duration", "30d"),
        ("reminders", "soon"),
        ("title", "   "),
    ],
)
async def test_bad_input_is_refused_and_changes_nothing(
    db: Database, service: SessionService, field: str, value: object
) -> None:
    sid = await make(service, capacity=5)
    before = await snapshot(db)
    with pytest.raises(InvalidInput) as info:
        await make(service, **{field: value})
    assert str(info.value) and "Traceback" not in str(info.value)
    number = (await service.get_by_id(sid)).number  # type: ignore[union-attr]
    if field in ("capacity", "starts", "closes"):
        with pytest.raises(InvalidInput):
            await service.edit(GUILD, number, actor_id=ORGANISER, tz=TZ, **{field: value})
    assert await snapshot(db) == before


async def test_unknown_or_finished_sessions_cannot_be_edited_or_cancelled(
    db: Database, clock: FakeClock, service: SessionService
) -> None:
    sid = await make(service, capacity=5, starts="in 1 day")
    number = (await service.get_by_id(sid)).number  # type: ignore[union-attr]
    with pytest.raises(NotFound):
        await service.edit(GUILD, 99, actor_id=ORGANISER, capacity=3, tz=TZ)
    with pytest.raises(NotFound):
        await service.cancel(GUILD, 99, actor_id=ORGANISER)
    with pytest.raises(NotFound):
        await service.edit(GUILD + 1, number, actor_id=ORGANISER, capacity=3, tz=TZ)
    with pytest.raises(InvalidInput):
        await service.edit(GUILD, number, actor_id=ORGANISER, tz=TZ)  # nothing to change
    clock.advance(timedelta(days=2))
    before = await snapshot(db)
    with pytest.raises(Conflict, match="finished"):
        await service.edit(GUILD, number, actor_id=ORGANISER, capacity=30, tz=TZ)
    with pytest.raises(Conflict, match="finished"):
        await service.cancel(GUILD, number, actor_id=ORGANISER)
    with pytest.raises(DomainError):
        await service.book(sid, 1, {"experience": "New to it"})
    assert await snapshot(db) == before


async def test_create_accepts_datetimes_and_numbers(
    clock: FakeClock, service: SessionService
) -> None:
    starts = clock.now() + timedelta(days=2)
    session = await service.create(
        guild_id=GUILD,
        channel_id=CHANNEL,
        author_id=ORGANISER,
        title="Repeat",
        starts=starts,
        capacity=22,
        duration=timedelta(minutes=90),
        tz=TZ,
    )
    assert session.number == 1 and session.capacity == 22
    assert session.ends_at - session.starts_at == 5400
    assert session.closes_at == session.starts_at
    assert session.reminders == (86400, 3600)
    second = await service.create(
        guild_id=GUILD,
        channel_id=CHANNEL,
        author_id=ORGANISER,
        title="Repeat 2",
        starts=datetime(2030, 1, 5, 14, 0, tzinfo=UTC),
        capacity="3",
        tz=TZ,
    )
    assert second.number == 2


# -- bookings in batches, the booking cache ----------------------------------------------------


async def test_a_burst_is_written_in_few_transactions_with_answers_and_audit_rows(
    db: Database, service: SessionService, monkeypatch: pytest.MonkeyPatch
) -> None:
    sid = await make(service, capacity=5)
    await service.questions(sid)  # the cache is warm, as after someone pressed Book
    transactions = 0
    real = db.transaction

    async def counting(fn):  # type: ignore[no-untyped-def]
        nonlocal transactions
        transactions += 1
        return await real(fn)

    monkeypatch.setattr(db, "transaction", counting)
    members = list(range(1, 51))
    outcomes = await asyncio.gather(*(service.book(sid, m, STORY_ANSWERS) for m in members))
    assert transactions <= 2  # bookings that arrive together share one transaction
    assert [o.status for o in outcomes] == ["confirmed"] * 5 + ["waiting"] * 45
    assert [o.position for o in outcomes[5:]] == list(range(1, 46))
    answers = await db.fetchall(
        "SELECT user_id, COUNT(*) FROM session_answers WHERE session_id = ? GROUP BY user_id",
        (sid,),
    )
    assert {r[0]: r[1] for r in answers} == {m: 3 for m in members}
    rows = [r for r in await service.audit.repo.rows(GUILD) if r.action.startswith("booking.")]
    assert [r.action for r in rows] == ["booking.confirmed"] * 5 + ["booking.waiting"] * 45
    refs = [json.loads(r.details)["user_id"] for r in rows]
    assert all(isinstance(x, str) and len(x) == 32 for x in refs)  # ids are hashed
    assert len(set(refs)) == 50
    assert (await service.audit.verify(GUILD)).ok


async def test_one_bad_booking_in_a_burst_fails_only_itself(
    db: Database, service: SessionService
) -> None:
    sid = await make(service, capacity=3)
    await service.questions(sid)
    bad = {"experience": "Expert beyond words"}  # not one of the choices
    results = await asyncio.gather(
        *(
            service.book(sid, m, bad if m == 3 else {"experience": "New to it"})
            for m in range(1, 7)
        ),
        return_exceptions=True,
    )
    assert isinstance(results[2], InvalidInput)
    assert [getattr(r, "status", None) for r in results] == [
        "confirmed",
        "confirmed",
        None,
        "confirmed",
        "waiting",
        "waiting",
    ]
    assert await service.member_status(sid, 3) is None


async def test_a_failing_batch_is_retried_one_by_one(
    db: Database, service: SessionService, monkeypatch: pytest.MonkeyPatch
) -> None:
    import db.repositories.sessions as module  # where the batch runs its bookings

    sid = await make(service, capacity=2)
    await service.questions(sid)
    real = module.book_sync

    def flaky(conn, request, waiting=None):  # type: ignore[no-untyped-def]
        if request.user_id == 3:
            raise RuntimeError("disk trouble for this one")
        return real(conn, request, waiting)

    monkeypatch.setattr(module, "book_sync", flaky)
    results = await asyncio.gather(
        *(service.book(sid, m, {"experience": "New to it"}) for m in range(1, 6)),
        return_exceptions=True,
    )
    assert isinstance(results[2], RuntimeError)
    assert [getattr(r, "status", None) for r in results] == [
        "confirmed",
        "confirmed",
        None,
        "waiting",
        "waiting",
    ]
    assert [o.position for o in results[3:]] == [1, 2]  # type: ignore[union-attr]
    rows = await db.fetchall("SELECT user_id FROM session_bookings WHERE session_id = ?", (sid,))
    assert sorted(r[0] for r in rows) == [1, 2, 4, 5]  # nothing half-written for member 3
    assert await db.fetchval("SELECT COUNT(*) FROM session_answers WHERE user_id = 3") == 0
    booked = [r for r in await service.audit.repo.rows(GUILD) if r.action.startswith("booking.")]
    assert len(booked) == 4 and (await service.audit.verify(GUILD)).ok


async def test_the_same_member_twice_in_one_burst_books_once(service: SessionService) -> None:
    sid = await make(service, capacity=2)
    await service.questions(sid)
    first, second = await asyncio.gather(
        service.book(sid, 1, STORY_ANSWERS), service.book(sid, 1, STORY_ANSWERS)
    )
    assert (first.status, second.status) == ("confirmed", "already_confirmed")
    assert (await service.details(sid)).confirmed == 1


async def test_refusals_in_a_burst_leave_the_others_booked(
    db: Database, clock: FakeClock, jobs: JobScheduler, service: SessionService
) -> None:
    first = await make(service, capacity=1)
    first_number = (await service.get_by_id(first)).number  # type: ignore[union-attr]
    for m in (1, 2, 3):
        await service.book(first, m, {"experience": "New to it"})
    repeat = await make(service, starts="in 10 days", capacity=5, repeat_of=first_number)
    await service.questions(repeat)
    results = await asyncio.gather(
        *(service.book(repeat, m, {"experience": "New to it"}) for m in (2, 9, 3)),
        return_exceptions=True,
    )
    assert isinstance(results[1], Conflict)  # no priority: the window is for 2 and 3
    assert [getattr(r, "status", None) for r in results] == ["confirmed", None, "confirmed"]


async def test_an_already_booked_member_sees_their_status_whatever_they_typed(
    service: SessionService,
) -> None:
    sid = await make(service, capacity=1)
    await service.book(sid, 1, STORY_ANSWERS)
    again = await service.book(sid, 1, {"experience": "not a choice"})
    assert again.status == "already_confirmed"
    with pytest.raises(InvalidInput):
        await service.book(sid, 2, {"experience": "not a choice"})


async def test_the_booking_cache_follows_every_change(
    db: Database, clock: FakeClock, service: SessionService
) -> None:
    sid = await make(service, capacity=1, closes="in 2 days")
    number = (await service.get_by_id(sid)).number  # type: ignore[union-attr]
    assert [q.key for q in await service.questions(sid)][:3] == ["experience", "aims", "barriers"]
    # New questions: the next booking answers those, not the cached ones.
    await service.set_questions(
        GUILD, number, actor_id=ORGANISER, texts=["How often? [Never; Weekly]"], access=False
    )
    assert [q.key for q in await service.questions(sid)] == ["q1"]
    with pytest.raises(InvalidInput):
        await service.book(sid, 1, {"experience": "New to it"})
    # A new title shows in the outcome; a raised capacity decides the place.
    await service.edit(GUILD, number, actor_id=ORGANISER, title="Renamed", capacity=2, tz=TZ)
    assert [(await service.book(sid, m, {"q1": "weekly"})).status for m in (1, 2, 3)] == [
        "confirmed",
        "confirmed",
        "waiting",
    ]
    outcome = await service.book(sid, 1, {"q1": "weekly"})
    assert outcome.session.title == "Renamed"
    # The post is attached again (e.g. re-posted): the outcome carries the new message.
    await service.attach_post(sid, CHANNEL, 424242)
    assert (await service.book(sid, 1, {"q1": "weekly"})).session.message_id == 424242
    await service.attach_event(sid, 777)
    status = await service.member_status(sid, 1)
    assert status is not None and status.session.event_id == 777
    # Closing earlier, then cancelling: refused at once, whatever was cached.
    await service.edit(GUILD, number, actor_id=ORGANISER, closes="in 1 hour", tz=TZ)
    clock.advance(timedelta(hours=2))
    with pytest.raises(Conflict, match="closed"):
        await service.book(sid, 4, {"q1": "weekly"})
    assert await service.member_status(sid, 1) is not None  # cached again
    await service.cancel(GUILD, number, actor_id=ORGANISER)
    status = await service.member_status(sid, 1)
    assert status is not None and status.session.is_cancelled
    with pytest.raises(Conflict):
        await service.book(sid, 4, {"q1": "weekly"})
    # A discarded session is gone for booking too.
    other = await make(service, capacity=1)
    await service.questions(other)
    await service.discard(other)
    with pytest.raises(NotFound):
        await service.book(other, 5, STORY_ANSWERS)
    assert await service.questions(other) == []


# -- what members are told, and when (UX review) -----------------------------------------------


async def test_pressing_book_checks_the_session_state_before_the_members_status(
    clock: FakeClock, service: SessionService
) -> None:
    sid = await make(service, capacity=1, starts="in 3 days", closes="in 2 days")
    assert (await service.press_book(sid, 1)).opens_form
    assert not (await service.press_book(sid, 1)).full
    await service.book(sid, 1, STORY_ANSWERS)
    await service.book(sid, 2, STORY_ANSWERS)
    full = await service.press_book(sid, 3)
    assert full.opens_form and full.full  # the form says it leads to the waiting list
    assert (await service.press_book(sid, 1)).reply is ALREADY_CONFIRMED
    waiting = await service.press_book(sid, 2)
    assert waiting.reply is ALREADY_WAITING and waiting.position == 1
    # Booking closed, not started: a cancellation can still free a place, so 2 keeps waiting.
    clock.advance(timedelta(days=2, minutes=1))
    assert (await service.press_book(sid, 2)).reply is ALREADY_WAITING
    with pytest.raises(Conflict):
        await service.press_book(sid, 3)
    # After the start: no false hope for the people still waiting.
    clock.advance(timedelta(days=1))
    after = await service.press_book(sid, 2)
    assert after.reply is WAITING_NO_PLACE and not after.opens_form
    assert (await service.press_book(sid, 1)).reply is ALREADY_CONFIRMED_STARTED
    clock.advance(timedelta(days=1))  # finished
    assert (await service.press_book(sid, 2)).reply is WAITING_NO_PLACE
    with pytest.raises(Conflict):
        await service.press_book(sid, 3)


async def test_press_book_on_a_cancelled_session_or_outside_the_priority_window(
    service: SessionService,
) -> None:
    first = await make(service, capacity=1)
    first_number = (await service.get_by_id(first)).number  # type: ignore[union-attr]
    for m in (1, 2):
        await service.book(first, m, STORY_ANSWERS)
    repeat = await make(service, capacity=5, starts="in 10 days", repeat_of=first_number)
    assert (await service.press_book(repeat, 2)).opens_form  # was waiting last time
    with pytest.raises(Conflict):
        await service.press_book(repeat, 9)
    await service.cancel(GUILD, first_number, actor_id=ORGANISER)
    with pytest.raises(Conflict):
        await service.press_book(first, 1)  # even with a booking: it is cancelled


async def test_cancelling_after_booking_closed_does_not_invite_booking_again(
    clock: FakeClock, service: SessionService
) -> None:
    sid = await make(service, capacity=2, starts="in 3 days", closes="in 2 days")
    for m in (1, 2, 3):
        await service.book(sid, m, STORY_ANSWERS)
    while_open = await service.cancel_booking(sid, 1)
    assert while_open.booking_open and while_open.template is BOOKING_CANCELLED
    clock.advance(timedelta(days=2, minutes=1))
    closed = await service.cancel_booking(sid, 2)
    assert closed.cancelled and not closed.booking_open
    assert closed.template is BOOKING_CANCELLED_CLOSED
    assert not (await service.cancel_booking(sid, 99)).booking_open


async def test_the_digest_counts_answers_and_points_to_the_survey_instead_of_quoting(
    db: Database, clock: FakeClock, jobs: JobScheduler, service: SessionService
) -> None:
    """Issue 11 item 5: members write health and access needs in the survey; the organiser's DM
    carries numbers and a pointer to `/session survey`, never the answers themselves."""
    sid = await make(service, capacity=22, starts="in 3 days")
    members = list(range(101, 131))
    for i, m in enumerate(members):
        await service.book(
            sid,
            m,
            {
                "experience": "New to it",
                "aims": "Connecting with people",
                "barriers": f"Answer {i:02d}: " + "I need captions and extra time to read. " * 3,
            },
        )
    messenger = FakeMessenger(db, clock)
    wire(jobs, service, messenger)
    clock.advance(timedelta(days=2, minutes=-59))  # the digest is due
    await jobs.run_due()
    assert messenger.dm_users() == [ORGANISER]
    _, shown, _ = messenger.dms[0]
    assert len(shown) <= 2000
    assert "captions" not in shown and "Connecting with people" not in shown
    assert "New to it: 30" in shown  # choice counts are kept
    assert "30 written answer(s)" in shown and "/session survey" in shown
    assert ORGANISER not in messenger.files  # nothing attached either


async def test_no_digest_for_a_creator_who_is_no_longer_an_organiser(
    db: Database, clock: FakeClock, jobs: JobScheduler, service: SessionService
) -> None:
    """Issue 11 item 5: checked when the digest is sent, not when the session was made."""
    sid = await make(service, capacity=5, starts="in 3 days")
    await service.book(sid, 1, STORY_ANSWERS)
    messenger = FakeMessenger(db, clock)
    messenger.organisers = set()  # the creator lost the organiser role since
    wire(jobs, service, messenger)
    clock.advance(timedelta(days=2, minutes=-59))
    await jobs.run_due()
    assert messenger.dms == [] and messenger.posts == []
    assert await db.fetchval("SELECT COUNT(*) FROM deliveries WHERE part LIKE 'digest%'") == 0


async def test_the_waiting_list_is_told_once_when_the_session_ends(
    db_path: Path, db: Database, clock: FakeClock
) -> None:
    jobs1 = JobScheduler(db, clock)
    service1 = SessionService(db, clock, jobs1)
    sid = await make(service1, capacity=2, starts="in 1 day", duration="1h", reminders="none")
    for m in (1, 2, 3, 4, 5):
        await service1.book(sid, m, STORY_ANSWERS)
    await service1.cancel_booking(sid, 5)  # left the waiting list: not told
    messenger = FakeMessenger(db, clock, closed=[4])
    wire(jobs1, service1, messenger)
    clock.advance(timedelta(hours=24, minutes=30))  # started, not finished
    await jobs1.run_due()
    assert [u for u, _, f in messenger.dms if f is None] == []
    clock.advance(timedelta(minutes=31))  # finished
    await jobs1.run_due()
    told = [u for u, _, f in messenger.dms if f is None]
    assert told == [3] and messenger.posted_users() == [4]  # closed DMs: one mention
    # The bot stops after sending but before the job is marked done; after a restart the job
    # runs again and sends nothing twice.
    await db.execute(
        "UPDATE scheduled_jobs SET status = 'running' WHERE key = ?", (f"session:{sid}:ended",)
    )
    await jobs1.shutdown()
    async with open_database(db_path) as db2:
        jobs2 = JobScheduler(db2, clock)
        service2 = SessionService(db2, clock, jobs2)
        again = FakeMessenger(db2, clock, closed=[4])
        wire(jobs2, service2, again)
        assert await jobs2.repo.release_running() == 1
        await jobs2.run_due()
        await jobs2.run_due()
        assert again.dms == [] and again.posts == []
        rows = await db2.fetchall(
            "SELECT user_id, state, via FROM deliveries WHERE owner_kind = 'session' "
            "AND owner_id = ? AND part = 'waiting_ended' ORDER BY user_id",
            (sid,),
        )
        assert [tuple(r) for r in rows] == [(3, "sent", "dm"), (4, "sent", "channel")]
        # They stay on the waiting list: a repeat tells them first.
        assert [b.user_id for b in await service2.bookings(sid) if b.status == "waiting"] == [3, 4]
        await jobs2.shutdown()


async def test_a_cancelled_session_sends_no_end_of_session_note(
    db: Database, clock: FakeClock, jobs: JobScheduler, service: SessionService
) -> None:
    sid = await make(service, capacity=1, starts="in 1 day", reminders="none")
    number = (await service.get_by_id(sid)).number  # type: ignore[union-attr]
    for m in (1, 2):
        await service.book(sid, m, STORY_ANSWERS)
    await service.cancel(GUILD, number, actor_id=ORGANISER)
    messenger = FakeMessenger(db, clock)
    wire(jobs, service, messenger)
    clock.advance(timedelta(days=2))
    await jobs.run_due()
    assert sorted(messenger.dm_users()) == [1, 2]  # only the cancellation notice
    rows = await db.fetchall("SELECT DISTINCT part FROM deliveries WHERE owner_kind = 'session'")
    assert [r[0] for r in rows] == ["cancelled"]


async def test_create_uses_the_topic_in_the_survey(service: SessionService) -> None:
    sid = await make(service, title="LinkedIn: an introduction (repeat)", topic="LinkedIn")
    questions = await service.questions(sid)
    assert "LinkedIn" in questions[0].text and "(repeat)" not in questions[0].text
    plain = await make(service, title="LinkedIn: an introduction (repeat)")
    assert "(repeat)" not in (await service.questions(plain))[0].text
    before = await service.overview(GUILD)
    with pytest.raises(InvalidInput):
        await make(service, topic="x" * 200)
    assert len(await service.overview(GUILD)) == len(before)  # nothing stored
