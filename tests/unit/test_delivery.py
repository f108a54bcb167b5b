"""The delivery state machine (bot/domain/delivery.py) for sessions, feedback and meetings, on a
real migrated SQLite file with a fake clock and the real scheduler.

A *hard crash* is simulated faithfully: the job's send never returns (the process "dies" there,
so no clean-up code runs) and a new database connection, scheduler and service take over the
same file, as after a restart. ``FakeDiscord`` stands in for Discord, including ``enforce_nonce``:
a message sent again with the same nonce is not made twice.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from datetime import timedelta
from pathlib import Path

import pytest

from bot.clock import FakeClock
from bot.domain.delivery.engine import DeliveryRun, NotDelivered
from bot.domain.delivery.models import (
    DM,
    FAILED,
    NONCE_LENGTH,
    PENDING,
    SENDING,
    SENT,
    UNKNOWN,
    OwnerKind,
    nonce_for,
)
from bot.domain.errors import Conflict, InvalidInput
from bot.domain.feedback.models import FeedbackRound
from bot.domain.feedback.service import REMIND_JOB as FEEDBACK_JOB
from bot.domain.feedback.service import FeedbackService
from bot.domain.jobs import Job
from bot.domain.meetings.models import POST_RECIPIENT, Meeting
from bot.domain.meetings.service import REMIND_JOB as MEETING_JOB
from bot.domain.meetings.service import MeetingService
from bot.domain.sessions.jobs import JOB_KINDS
from bot.domain.sessions.service import SessionService
from bot.domain.sessions.texts import BOOK_CLOSED, BOOKED_DM, POST_PLACES
from bot.domain.wording.service import WordingService
from bot.domain.wording.templates import Template
from bot.scheduling import JobScheduler, RetryLater
from cogs.sessions.render import public_post_fields
from db import Database, open_database
from db.repositories.deliveries import DeliveryLog
from tests.unit.test_feedback_service import GUILD, REVIEWERS, TZ, make_drawn_call, open_round

ORGANISER = 7777
CHANNEL = 10
Target = tuple[str, object]


class FakeDiscord:
    """Messages per target. A send with a nonce already used makes no new message (Discord's
    enforce_nonce). ``hang`` = (target, 'before' | 'after'): the process dies there, before or
    after Discord made the message. ``fail`` = target: Discord answers 503 once."""

    def __init__(self) -> None:
        self.messages: list[Target] = []
        self.attempts: list[tuple[Target, str | None]] = []
        self.nonces: set[str] = set()
        self.hang: tuple[Target, str] | None = None
        self.fail: Target | None = None
        self.reached = asyncio.Event()
        self.hung_nonce: str | None = None

    async def send(self, target: Target, nonce: str | None) -> None:
        self.attempts.append((target, nonce))
        if self.fail == target:
            self.fail = None
            raise RetryLater("Discord said 503")
        if self.hang == (target, "before"):
            await self._die(nonce)
        if nonce is None or nonce not in self.nonces:
            self.messages.append(target)
            if nonce is not None:
                self.nonces.add(nonce)
        if self.hang == (target, "after"):
            await self._die(nonce)

    async def _die(self, nonce: str | None) -> None:
        self.hang = None
        self.hung_nonce = nonce
        self.reached.set()
        await asyncio.Event().wait()  # never returns: the process is gone

    def count(self, target: Target) -> int:
        return self.messages.count(target)

    def nonces_for(self, target: Target) -> list[str | None]:
        return [n for t, n in self.attempts if t == target]


class SessionMessenger:
    def __init__(
        self, db: Database, clock: FakeClock, discord: FakeDiscord, closed: Sequence[int] = ()
    ) -> None:
        self.wording = WordingService(db, clock)
        self.discord = discord
        self.closed = set(closed)
        self.refreshed: list[int] = []

    async def is_organiser(self, guild_id: int, user_id: int) -> bool:
        return True

    async def render(self, guild_id: int, tpl: Template, **values: object) -> str:
        return await self.wording.render(guild_id, tpl, **values)

    async def dm(
        self,
        user_id: int,
        text: str,
        *,
        feedback_session: int | None = None,
        nonce: str | None = None,
        **_: object,
    ) -> bool:
        if user_id in self.closed:
            return False
        # Booking confirmations (with their calendar file) are counted apart from the rest.
        kind = "booked" if text.startswith(CONFIRMATION) else "dm"
        await self.discord.send((kind, user_id), nonce)
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
        await self.discord.send(("channel", tuple(mention_ids)), nonce)
        return True

    async def refresh(self, session_id: int) -> None:
        self.refreshed.append(session_id)


class FeedbackNotifier:
    def __init__(self, discord: FakeDiscord, closed: Sequence[int] = ()) -> None:
        self.discord = discord
        self.closed = set(closed)

    async def nudge_dm(self, round: FeedbackRound, user_id: int, *, nonce: str) -> bool:
        if user_id in self.closed:
            return False
        await self.discord.send(("dm", user_id), nonce)
        return True

    async def nudge_in_thread(
        self, round: FeedbackRound, user_ids: list[int], *, nonce: str
    ) -> bool:
        await self.discord.send(("thread", tuple(user_ids)), nonce)
        return True


class MeetingNotifier:
    def __init__(self, discord: FakeDiscord) -> None:
        self.discord = discord

    async def post_reminder(self, meeting: Meeting, audience: list[int], *, nonce: str) -> bool:
        await self.discord.send(("post", meeting.id), nonce)
        return True

    async def dm_reminder(self, meeting: Meeting, user_id: int, *, nonce: str) -> bool:
        await self.discord.send(("dm", user_id), nonce)
        return True


# -- wiring ---------------------------------------------------------------------------------------


CONFIRMATION = BOOKED_DM.default.split("{")[0]


def session_stack(
    db: Database, clock: FakeClock, discord: FakeDiscord, closed: Sequence[int] = ()
) -> tuple[JobScheduler, SessionService]:
    jobs = JobScheduler(db, clock)
    service = SessionService(db, clock, jobs)
    messenger = SessionMessenger(db, clock, discord, closed)

    async def handler(job: Job) -> None:
        await service.handle_job(job, messenger)

    for kind in JOB_KINDS:
        jobs.register(kind, handler)
    return jobs, service


def feedback_stack(
    db: Database, clock: FakeClock, discord: FakeDiscord, closed: Sequence[int] = ()
) -> tuple[JobScheduler, FeedbackService]:
    jobs = JobScheduler(db, clock)
    service = FeedbackService(db, clock, jobs)
    notifier = FeedbackNotifier(discord, closed)

    async def handler(job: Job) -> None:
        await service.handle_reminder_job(job, notifier)

    jobs.register(FEEDBACK_JOB, handler)
    return jobs, service


def meeting_stack(
    db: Database, clock: FakeClock, discord: FakeDiscord
) -> tuple[JobScheduler, MeetingService]:
    jobs = JobScheduler(db, clock)
    service = MeetingService(db, clock, jobs)
    notifier = MeetingNotifier(discord)

    async def handler(job: Job) -> None:
        await service.handle_reminder_job(job, notifier)

    jobs.register(MEETING_JOB, handler)
    return jobs, service


@contextlib.asynccontextmanager
async def crashed(jobs: JobScheduler, discord: FakeDiscord) -> AsyncIterator[None]:
    """Run the due jobs until Discord's stand-in hangs (the process dies there)."""
    task = asyncio.create_task(jobs.run_due())
    await asyncio.wait_for(discord.reached.wait(), 5)
    try:
        yield
    finally:  # only now does the old process's task go away
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await jobs.shutdown()


@contextlib.asynccontextmanager
async def restarted(db_path: Path, clock: FakeClock, after: timedelta, stack, discord):  # type: ignore[no-untyped-def]
    """A new process on the same file: release crashed jobs, let ``after`` pass, run due jobs."""
    async with open_database(db_path) as db2:
        jobs2, service2 = stack(db2, clock, discord)
        await jobs2.repo.release_running()
        clock.advance(after)
        await jobs2.run_due()
        await jobs2.run_due()
        try:
            yield jobs2, service2
        finally:
            await jobs2.shutdown()


async def booked_session(service: SessionService, people: Sequence[int], **kwargs: object) -> int:
    values: dict[str, object] = {
        "guild_id": GUILD,
        "channel_id": CHANNEL,
        "author_id": ORGANISER,
        "title": "LinkedIn",
        "starts": "in 3 days",
        "capacity": 22,
        "tz": TZ,
        "reminders": "24h",
    }
    values.update(kwargs)
    session = await service.create(**values)  # type: ignore[arg-type]
    await service.attach_post(session.id, CHANNEL, 9000 + session.id)
    for user in people:
        await service.book(session.id, user, {"experience": "New to it"})
    return session.id


def test_nonce_is_deterministic_and_fits_discord() -> None:
    one = nonce_for("session:5:reminder:86400:1790000000:dm:101")
    assert one == nonce_for("session:5:reminder:86400:1790000000:dm:101")
    assert one != nonce_for("session:5:reminder:86400:1790000000:dm:102")
    assert len(one) == NONCE_LENGTH <= 25


# -- (a) a hard crash between claiming and sending -------------------------------------------------


@pytest.mark.parametrize("when", ["before", "after"])
async def test_session_crash_then_restart_within_5_minutes_sends_once_with_the_same_nonce(
    db_path: Path, db: Database, clock: FakeClock, when: str
) -> None:
    discord = FakeDiscord()
    jobs, service = session_stack(db, clock, discord)
    sid = await booked_session(service, [1, 2, 3], reminders="24h", starts="in 3 days")
    clock.advance(timedelta(days=2, minutes=1))  # the digest and the 24h reminder are due
    discord.hang = (("dm", 2), when)
    async with crashed(jobs, discord):
        rows = {
            r.user_id: r.state
            for r in await service.repo.deliveries(sid)
            if str(r.part).startswith("reminder")
        }
        assert rows[2] == SENDING  # claimed (written before the send), maybe sent
        async with restarted(db_path, clock, timedelta(minutes=2), session_stack, discord) as (
            jobs2,
            service2,
        ):
            assert [discord.count(("dm", u)) for u in (1, 2, 3)] == [1, 1, 1]
            sends = discord.nonces_for(("dm", 2))
            assert len(sends) == 2 and sends[0] == sends[1] == discord.hung_nonce
            states = {
                r.user_id: r.state
                for r in await service2.repo.deliveries(sid)
                if str(r.part).startswith("reminder")
            }
            assert states == {1: SENT, 2: SENT, 3: SENT}
            job = await jobs2.repo.get_by_key(f"session:{sid}:reminder:86400")
            assert job is not None and job.status == "done"


async def test_session_crash_older_than_5_minutes_is_not_sent_again(
    db_path: Path, db: Database, clock: FakeClock
) -> None:
    discord = FakeDiscord()
    jobs, service = session_stack(db, clock, discord)
    sid = await booked_session(service, [1, 2, 3])
    clock.advance(timedelta(days=2, minutes=1))
    discord.hang = (("dm", 2), "before")
    async with crashed(jobs, discord):
        async with restarted(db_path, clock, timedelta(minutes=6), session_stack, discord) as (
            jobs2,
            service2,
        ):
            assert len(discord.nonces_for(("dm", 2))) == 1  # never re-sent: maybe sent
            assert discord.count(("dm", 1)) == 1 and discord.count(("dm", 3)) == 1
            states = {
                r.user_id: r.state
                for r in await service2.repo.deliveries(sid)
                if str(r.part).startswith("reminder")
            }
            assert states == {1: SENT, 2: UNKNOWN, 3: SENT}
            await jobs2.run_due()
            assert len(discord.nonces_for(("dm", 2))) == 1


@pytest.mark.parametrize(
    ("after", "resent"), [(timedelta(minutes=2), True), (timedelta(minutes=6), False)]
)
async def test_feedback_crash_then_restart(
    db_path: Path, db: Database, clock: FakeClock, after: timedelta, resent: bool
) -> None:
    discord = FakeDiscord()
    jobs, service = feedback_stack(db, clock, discord)
    number = await open_round(service, reminders="24h")
    round_id = (await service.get(GUILD, number)).id
    await service.record_form(round_id, REVIEWERS[0], "Good", None, None)
    clock.advance(timedelta(days=2, minutes=1))
    victim = REVIEWERS[3]
    discord.hang = (("dm", victim), "before")
    async with crashed(jobs, discord):
        async with restarted(db_path, clock, after, feedback_stack, discord) as (_, service2):
            others = [u for u in REVIEWERS[1:] if u != victim]
            assert all(discord.count(("dm", u)) == 1 for u in others)
            assert discord.count(("dm", REVIEWERS[0])) == 0  # responded: no nudge
            sends = discord.nonces_for(("dm", victim))
            states = {d.user_id: d.state for d in await service2.repo.deliveries(round_id)}
            if resent:
                assert (
                    len(sends) == 2 and sends[0] == sends[1] and discord.count(("dm", victim)) == 1
                )
                assert states[victim] == SENT
            else:
                assert len(sends) == 1 and states[victim] == UNKNOWN
            assert len(discord.messages) == len(set(discord.messages))  # nobody twice


@pytest.mark.parametrize(
    ("after", "resent"), [(timedelta(minutes=2), True), (timedelta(minutes=6), False)]
)
async def test_meeting_crash_during_the_channel_post(
    db_path: Path, db: Database, clock: FakeClock, after: timedelta, resent: bool
) -> None:
    await make_drawn_call(db)
    discord = FakeDiscord()
    jobs, service = meeting_stack(db, clock, discord)
    made = await service.create(
        guild_id=GUILD,
        author_id=1,
        title="Group meeting 1",
        starts="in 3 days",
        channel_id=30,
        tz=TZ,
        call_number=1,
        reminders="24h",
    )
    meeting = made.meeting
    await service.toggle_dms(meeting.id, 101)
    await service.toggle_dms(meeting.id, 102)
    clock.advance(timedelta(days=2, minutes=1))
    discord.hang = (("post", meeting.id), "before")
    async with crashed(jobs, discord):
        async with restarted(db_path, clock, after, meeting_stack, discord) as (_, service2):
            states = {d.user_id: d.state for d in await service2.repo.deliveries(meeting.id)}
            sends = discord.nonces_for(("post", meeting.id))
            if resent:  # the post is not lost, and made once
                assert discord.count(("post", meeting.id)) == 1
                assert len(sends) == 2 and sends[0] == sends[1]
                assert states[POST_RECIPIENT] == SENT
            else:
                assert len(sends) == 1 and states[POST_RECIPIENT] == UNKNOWN
            assert discord.count(("dm", 101)) == 1 and discord.count(("dm", 102)) == 1


# -- (b) a Discord error part-way: retried, everyone exactly once ----------------------------------


async def test_session_discord_error_midway_is_retried_exactly_once_each(
    db: Database, clock: FakeClock
) -> None:
    discord = FakeDiscord()
    jobs, service = session_stack(db, clock, discord, closed=[4, 5])
    sid = await booked_session(service, [1, 2, 3, 4, 5])
    clock.advance(timedelta(days=2, minutes=1))
    discord.fail = ("dm", 2)
    await jobs.run_due()
    assert discord.count(("dm", 1)) == 1 and discord.count(("dm", 2)) == 0
    states = {
        r.user_id: r.state
        for r in await service.repo.deliveries(sid)
        if str(r.part).startswith("reminder")
    }
    assert states[2] == PENDING  # put back, not lost
    discord.fail = ("channel", (4, 5))  # and the channel mention fails once too
    for _ in range(3):
        clock.advance(timedelta(minutes=2))
        await jobs.run_due()
    assert [discord.count(("dm", u)) for u in (1, 2, 3)] == [1, 1, 1]
    assert discord.count(("channel", (4, 5))) == 1
    first, retry = discord.nonces_for(("dm", 2))
    assert first == retry  # the same delivery, the same nonce
    states = {
        r.user_id: (r.state, r.via)
        for r in await service.repo.deliveries(sid)
        if str(r.part).startswith("reminder")
    }
    assert states == {
        1: (SENT, "dm"),
        2: (SENT, "dm"),
        3: (SENT, "dm"),
        4: (SENT, "channel"),
        5: (SENT, "channel"),
    }


async def test_feedback_discord_error_midway_is_retried_exactly_once_each(
    db: Database, clock: FakeClock
) -> None:
    discord = FakeDiscord()
    closed = [REVIEWERS[5]]
    jobs, service = feedback_stack(db, clock, discord, closed=closed)
    number = await open_round(service, reminders="24h")
    round_id = (await service.get(GUILD, number)).id
    clock.advance(timedelta(days=2, minutes=1))
    discord.fail = ("dm", REVIEWERS[2])
    await jobs.run_due()
    assert discord.count(("dm", REVIEWERS[2])) == 0
    for _ in range(3):
        clock.advance(timedelta(minutes=2))
        await jobs.run_due()
    assert all(discord.count(("dm", u)) == 1 for u in REVIEWERS if u not in closed)
    assert discord.count(("thread", tuple(closed))) == 1
    assert len(discord.messages) == len(REVIEWERS)
    states = {d.user_id: (d.state, d.via) for d in await service.repo.deliveries(round_id)}
    assert states[REVIEWERS[5]] == (SENT, "channel")
    assert all(s == SENT for s, _ in states.values())


async def test_meeting_discord_error_midway_is_retried_exactly_once_each(
    db: Database, clock: FakeClock
) -> None:
    await make_drawn_call(db)
    discord = FakeDiscord()
    jobs, service = meeting_stack(db, clock, discord)
    made = await service.create(
        guild_id=GUILD,
        author_id=1,
        title="Group meeting 1",
        starts="in 3 days",
        channel_id=30,
        tz=TZ,
        call_number=1,
        reminders="24h",
    )
    meeting = made.meeting
    for user in (101, 102, 103):
        await service.toggle_dms(meeting.id, user)
    clock.advance(timedelta(days=2, minutes=1))
    discord.fail = ("dm", 102)
    await jobs.run_due()
    assert discord.count(("post", meeting.id)) == 1 and discord.count(("dm", 103)) == 0
    for _ in range(3):
        clock.advance(timedelta(minutes=2))
        await jobs.run_due()
    assert discord.count(("post", meeting.id)) == 1
    assert [discord.count(("dm", u)) for u in (101, 102, 103)] == [1, 1, 1]


async def test_a_closed_channel_marks_the_mention_failed_not_retried(
    db: Database, clock: FakeClock
) -> None:
    discord = FakeDiscord()
    jobs, service = session_stack(db, clock, discord, closed=[2])
    sid = await booked_session(service, [1, 2])

    async def refuse(channel_id: int, text: str, **_: object) -> bool:
        return False  # the bot may not post in the channel

    messenger = SessionMessenger(db, clock, discord, closed=[2])
    messenger.post = refuse  # type: ignore[method-assign,assignment]
    clock.advance(timedelta(days=2, minutes=1))
    job = await jobs.repo.get_by_key(f"session:{sid}:reminder:86400")
    assert job is not None
    report = await service.handle_job(job, messenger)
    assert report is not None and report.dm == [1] and report.undelivered == [2]
    states = {
        r.user_id: (r.state, r.via)
        for r in await service.repo.deliveries(sid)
        if str(r.part).startswith("reminder")
    }
    assert states == {1: (SENT, "dm"), 2: (FAILED, "channel")}


# -- (c) an outage past the start: no session reminder ---------------------------------------------


async def test_no_session_reminder_or_digest_after_an_outage_past_the_start(
    db: Database, clock: FakeClock
) -> None:
    discord = FakeDiscord()
    jobs, service = session_stack(db, clock, discord)
    sid = await booked_session(service, [1, 2], reminders="24h, 1h", duration="3h")
    clock.advance(timedelta(days=3, minutes=30))  # down from before the digest until after start
    await jobs.run_due()
    assert discord.messages == []
    assert await service.repo.deliveries(sid) == []
    pending = [
        r[0] for r in await db.fetchall("SELECT key FROM scheduled_jobs WHERE status = 'pending'")
    ]
    assert f"session:{sid}:evaluation" in pending  # at the end
    assert not [k for k in pending if "reminder" in k or "digest" in k]


async def test_after_a_shorter_outage_only_the_latest_due_reminder_is_sent(
    db: Database, clock: FakeClock
) -> None:
    discord = FakeDiscord()
    jobs, service = session_stack(db, clock, discord)
    sid = await booked_session(service, [1, 2], reminders="24h, 1h")
    clock.advance(timedelta(days=3, minutes=-30))  # both reminders are due, the start is not
    await jobs.run_due()
    await jobs.run_due()
    assert discord.count(("dm", 1)) == 1 and discord.count(("dm", 2)) == 1
    assert {
        str(r.part)
        for r in await service.repo.deliveries(sid)
        if r.user_id in (1, 2) and not str(r.part).startswith("booked:")
    } == {f"reminder:3600:{int((await service.get_by_id(sid)).starts_at)}"}  # type: ignore[union-attr]


# -- reminders that can't be sent are refused or not listed ----------------------------------------


async def test_typed_reminders_must_fit_and_defaults_list_only_what_will_be_sent(
    db: Database, clock: FakeClock
) -> None:
    service = SessionService(db, clock, JobScheduler(db, clock))
    base = {
        "guild_id": GUILD,
        "channel_id": CHANNEL,
        "author_id": ORGANISER,
        "title": "T",
        "capacity": 5,
        "tz": TZ,
    }
    with pytest.raises(InvalidInput):
        await service.create(**base, starts="in 3 hours", reminders="24h, 1h")  # type: ignore[arg-type]
    with pytest.raises(InvalidInput):
        await service.create(**base, starts="in 3 hours", reminders="3h")  # type: ignore[arg-type]
    assert await service.overview(GUILD) == []  # nothing stored
    made = await service.create(**base, starts="in 3 hours")  # type: ignore[arg-type]
    assert service.reminders_to_send(made) == [timedelta(hours=1)]
    typed = await service.create(**base, starts="in 3 hours", reminders="2h, 30m")  # type: ignore[arg-type]
    assert service.reminders_to_send(typed) == [timedelta(hours=2), timedelta(minutes=30)]


# -- member-facing texts come from templates --------------------------------------------------------


async def test_refusals_and_post_texts_follow_the_servers_wording(
    db: Database, clock: FakeClock
) -> None:
    wording = WordingService(db, clock)
    service = SessionService(db, clock, JobScheduler(db, clock), wording=wording)
    sid = await booked_session(service, [], closes="in 1 day", starts="in 2 days")
    await wording.set(GUILD, BOOK_CLOSED.key, "Sorry, {title} is full up on bookings.", 1)
    clock.advance(timedelta(days=1, hours=1))
    session = await service.get_by_id(sid)
    assert session is not None
    with pytest.raises(Conflict) as refused:
        await service.check_can_book(session, 1)
    assert str(refused.value) == "Sorry, LinkedIn is full up on bookings."
    fields = public_post_fields(
        starts_at=session.starts_at,
        ends_at=session.ends_at,
        closes_at=session.closes_at,
        capacity=session.capacity,
        confirmed=0,
        waiting=0,
        cancelled=False,
        priority_until=None,
        now=clock.now().timestamp(),
    )
    templates = [t for f in fields for t, _ in f.parts] + [f.heading for f in fields]
    assert POST_PLACES in templates
    assert all(isinstance(t, Template) for t in templates)


async def test_refresh_jobs_do_the_edit_inside_the_job(db: Database, clock: FakeClock) -> None:
    discord = FakeDiscord()
    jobs = JobScheduler(db, clock)
    service = SessionService(db, clock, jobs)
    messenger = SessionMessenger(db, clock, discord)

    async def handler(job: Job) -> None:
        await service.handle_job(job, messenger)

    for kind in JOB_KINDS:
        jobs.register(kind, handler)
    sid = await booked_session(
        service, [1], closes="in 1 day", starts="in 2 days", reminders="none"
    )
    clock.advance(timedelta(days=1, minutes=1))
    await jobs.run_due()
    assert messenger.refreshed == [sid]  # awaited by the job, which is only then done
    job = await jobs.repo.get_by_key(f"session:{sid}:refresh:closes")
    assert job is not None and job.status == "done"


async def test_split_mentions_each_carry_a_deterministic_nonce() -> None:
    from cogs.feedback.cog import send_mentioning

    class Channel:
        def __init__(self) -> None:
            self.nonces: list[str | None] = []

        async def send(self, content: str, **kwargs: object) -> str:
            self.nonces.append(kwargs.get("nonce"))  # type: ignore[arg-type]
            return content

    async def render(mentions: str) -> str:
        return f"{mentions}\nA reminder."

    users = list(range(10**17, 10**17 + 250))  # more than one message of mentions
    first, second = Channel(), Channel()
    await send_mentioning(first, render, users, nonce="n1")  # type: ignore[arg-type]
    await send_mentioning(second, render, users, nonce="n1")  # type: ignore[arg-type]
    assert len(first.nonces) > 1 and first.nonces == second.nonces  # a re-send repeats them
    assert first.nonces[0] == "n1" and len(set(first.nonces)) == len(first.nonces)
    assert all(n is not None and len(n) <= NONCE_LENGTH for n in first.nonces)


# -- (d) a send that fails: refused by Discord, or maybe sent ---------------------------------------


class Flaky:
    """A send whose outcome is chosen per attempt: 'ok', 'refused' (Discord answered with an
    error: nothing made), 'lost' (the request reached Discord, the answer never came: a network
    error) or 'cancel' (a shutdown while the request was in flight, after it reached Discord)."""

    def __init__(self, discord: FakeDiscord, *outcomes: str) -> None:
        self.discord = discord
        self.outcomes = list(outcomes)

    async def __call__(self, user: int, nonce: str) -> bool:
        outcome = self.outcomes.pop(0) if self.outcomes else "ok"
        if outcome == "refused":
            self.discord.attempts.append((("dm", user), nonce))
            raise NotDelivered("Discord said 503")
        await self.discord.send(("dm", user), nonce)  # Discord makes it (once per nonce)
        if outcome == "lost":
            raise OSError("connection reset")
        if outcome == "cancel":
            raise asyncio.CancelledError
        return True


async def delivery_run(db: Database, clock: FakeClock) -> tuple[DeliveryRun, int]:
    service = SessionService(db, clock, JobScheduler(db, clock))
    sid = await booked_session(service, [])
    return DeliveryRun(
        DeliveryLog(db, OwnerKind.SESSION), clock, sid, "test", f"session:{sid}:test"
    ), sid


async def attempt(run: DeliveryRun, send: Flaky, user: int = 7) -> BaseException | None:
    await run.start([(user, DM)])
    try:
        await run.each([user], send, reroute=True)
    except BaseException as exc:  # the outcome is what is tested
        return exc
    return None


async def row_of(run: DeliveryRun, user: int = 7) -> tuple[str, float | None]:
    [row] = [r for r in await run.store.rows(run.owner, run.part) if r.user_id == user]
    return row.state, row.claimed_at


@pytest.mark.parametrize("outcome", ["lost", "cancel"])
async def test_a_send_that_may_have_reached_discord_is_resent_with_its_nonce_only_within_5_minutes(
    db: Database, clock: FakeClock, outcome: str
) -> None:
    discord = FakeDiscord()
    run, _ = await delivery_run(db, clock)
    before = clock.now().timestamp()
    exc = await attempt(run, Flaky(discord, outcome))
    expected = RetryLater if outcome == "lost" else asyncio.CancelledError
    assert isinstance(exc, expected)
    state, claimed_at = await row_of(run)
    assert state == PENDING and claimed_at is not None and claimed_at >= before  # claim kept
    clock.advance(timedelta(minutes=3))  # a retry within Discord's nonce memory
    assert await attempt(run, Flaky(discord, outcome)) is not None  # and again unlucky
    assert await row_of(run) == (PENDING, claimed_at)  # a retry never stretches the window
    clock.advance(timedelta(minutes=1))
    assert await attempt(run, Flaky(discord)) is None
    assert await row_of(run) == (SENT, claimed_at)
    nonces = discord.nonces_for(("dm", 7))
    assert len(nonces) == 3 and len(set(nonces)) == 1
    assert discord.count(("dm", 7)) == 1  # Discord de-duplicated the repeats


@pytest.mark.parametrize("outcome", ["lost", "cancel"])
async def test_a_send_that_may_have_reached_discord_is_never_resent_after_5_minutes(
    db: Database, clock: FakeClock, outcome: str
) -> None:
    discord = FakeDiscord()
    run, _ = await delivery_run(db, clock)
    assert await attempt(run, Flaky(discord, outcome)) is not None
    clock.advance(timedelta(minutes=10))
    await run.start([(7, DM)])
    assert run.unknown == [7]
    assert (await run.each([7], Flaky(discord), reroute=True)).skipped == 1
    assert (await row_of(run))[0] == UNKNOWN
    assert len(discord.nonces_for(("dm", 7))) == 1 and discord.count(("dm", 7)) == 1


async def test_a_pending_row_past_the_window_is_not_claimed_even_without_a_new_start(
    db: Database, clock: FakeClock
) -> None:
    discord = FakeDiscord()
    run, _ = await delivery_run(db, clock)
    assert await attempt(run, Flaky(discord, "lost")) is not None
    clock.advance(timedelta(minutes=6))  # e.g. a long run reaches this member late
    assert (await run.each([7], Flaky(discord), reroute=True)).skipped == 1
    assert (await row_of(run))[0] == UNKNOWN and run.unknown == [7]
    assert len(discord.nonces_for(("dm", 7))) == 1


async def test_a_refused_send_is_released_and_sent_later_even_after_5_minutes(
    db: Database, clock: FakeClock
) -> None:
    discord = FakeDiscord()
    run, _ = await delivery_run(db, clock)
    exc = await attempt(run, Flaky(discord, "refused"))
    assert isinstance(exc, NotDelivered) and isinstance(exc, RetryLater)
    assert await row_of(run) == (PENDING, None)  # nothing was made: the claim is forgotten
    clock.advance(timedelta(minutes=10))
    assert await attempt(run, Flaky(discord)) is None
    assert (await row_of(run))[0] == SENT and discord.count(("dm", 7)) == 1


async def test_a_refusal_after_an_attempt_that_may_have_gone_out_keeps_the_first_claim(
    db: Database, clock: FakeClock
) -> None:
    discord = FakeDiscord()
    run, _ = await delivery_run(db, clock)
    assert await attempt(run, Flaky(discord, "lost")) is not None  # maybe made
    _, claimed_at = await row_of(run)
    assert claimed_at is not None
    clock.advance(timedelta(minutes=1))
    assert isinstance(await attempt(run, Flaky(discord, "refused")), NotDelivered)
    assert await row_of(run) == (PENDING, claimed_at)  # the first attempt may have gone out
    clock.advance(timedelta(minutes=10))
    assert await attempt(run, Flaky(discord)) is None
    assert (await row_of(run))[0] == UNKNOWN and discord.count(("dm", 7)) == 1


async def test_a_network_error_in_a_job_is_retried_by_the_scheduler_with_the_same_nonce(
    db: Database, clock: FakeClock
) -> None:
    discord = FakeDiscord()
    jobs, service = session_stack(db, clock, discord)
    sid = await booked_session(service, [1, 2, 3])
    clock.advance(timedelta(days=2, minutes=1))
    real_send = discord.send
    lost = {"left": 1}

    async def send(target: Target, nonce: str | None) -> None:
        await real_send(target, nonce)
        if target == ("dm", 2) and lost["left"]:
            lost["left"] -= 1
            raise OSError("connection reset")  # made, but the answer never came back

    discord.send = send  # type: ignore[method-assign]
    await jobs.run_due()
    job = await jobs.repo.get_by_key(f"session:{sid}:reminder:86400")
    assert job is not None and job.status == "pending"  # RetryLater: tried again soon
    clock.advance(timedelta(minutes=1))
    await jobs.run_due()
    assert [discord.count(("dm", u)) for u in (1, 2, 3)] == [1, 1, 1]
    first, retry = discord.nonces_for(("dm", 2))
    assert first == retry
    job = await jobs.repo.get_by_key(f"session:{sid}:reminder:86400")
    assert job is not None and job.status == "done"
