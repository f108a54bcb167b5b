"""Group meetings on a real migrated SQLite file, with a fake clock and the real scheduler."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from bot.clock import FakeClock
from bot.domain.delivery.engine import NotDelivered
from bot.domain.errors import Conflict, DomainError, InvalidInput, NotAllowed, NotFound
from bot.domain.jobs import Job
from bot.domain.meetings.models import Meeting
from bot.domain.meetings.service import REMIND_JOB, MeetingService
from bot.scheduling import JobScheduler
from db import Database, open_database
from tests.dbtools import rows_of
from tests.unit.test_feedback_service import GROUP, GUILD, REVIEWERS, TZ, make_drawn_call


class FakeNotifier:
    def __init__(self, closed: set[int] | None = None, fail_post_once: bool = False) -> None:
        self.closed = closed or set()
        self.fail_post_once = fail_post_once
        self.posts: list[tuple[int, list[int]]] = []
        self.dms: list[tuple[int, int]] = []

    async def post_reminder(self, meeting: Meeting, audience: list[int], *, nonce: str) -> bool:
        if self.fail_post_once:
            self.fail_post_once = False
            raise NotDelivered("Discord is having a moment")
        self.posts.append((meeting.id, list(audience)))
        return True

    async def dm_reminder(self, meeting: Meeting, user_id: int, *, nonce: str) -> bool:
        if user_id in self.closed:
            return False
        self.dms.append((meeting.id, user_id))
        return True


def wire(service: MeetingService, jobs: JobScheduler, notifier: FakeNotifier) -> None:
    async def handler(job: Job) -> None:
        await service.handle_reminder_job(job, notifier)

    jobs.register(REMIND_JOB, handler)


async def create(service: MeetingService, **kwargs: object) -> Meeting:
    params: dict[str, object] = {
        "guild_id": GUILD,
        "author_id": 1,
        "title": "Group meeting 1",
        "starts": "in 3 days",
        "channel_id": 30,
        "tz": TZ,
        "call_number": 1,
        "where": "https://meet.example/abc",
    }
    params.update(kwargs)
    made = await service.create(**params)  # type: ignore[arg-type]
    await service.attach_post(made.meeting.id, 30, 9000 + made.meeting.id)
    return made.meeting


async def snapshot(db: Database) -> list[tuple[object, ...]]:
    return await rows_of(
        db,
        "SELECT 'm', id, status, starts_at, duration_seconds FROM meetings",
        "SELECT 'a', meeting_id, user_id, position, 0 FROM meeting_audience",
        "SELECT 'd', owner_id, CAST(part AS INTEGER), user_id, state FROM deliveries WHERE owner_kind = 'meeting'",
        "SELECT 'o', guild_id, user_id, 0, 0 FROM member_meeting_dms",
        "SELECT 'j', id, key, status, run_at FROM scheduled_jobs",
    )


async def test_meeting_reminders_post_once_and_dm_only_opted_in(
    db: Database, clock: FakeClock, jobs: JobScheduler
) -> None:
    await make_drawn_call(db)
    service = MeetingService(db, clock, jobs)
    notifier = FakeNotifier(closed={103})
    wire(service, jobs, notifier)
    made = await service.create(
        guild_id=GUILD,
        author_id=1,
        title="Group meeting 1",
        starts="in 3 days",
        channel_id=30,
        tz=TZ,
        call_number=1,
        role_id=77,
        role_member_ids=[101, 500],
    )
    meeting = made.meeting
    assert made.audience == [*GROUP, 500]  # the drawn group (not reviewers) and the role
    assert made.reminders == [timedelta(hours=24), timedelta(hours=1)]
    assert meeting.duration_seconds == 3600
    # Two members opt in to DMs (one with DMs closed); one opts in then out again.
    assert await service.toggle_dms(meeting.id, 101) is True
    assert await service.toggle_dms(meeting.id, 103) is True
    assert await service.toggle_dms(meeting.id, 102) is True
    assert await service.toggle_dms(meeting.id, 102) is False
    with pytest.raises(NotAllowed):
        await service.toggle_dms(meeting.id, REVIEWERS[0])

    clock.advance(timedelta(days=2, minutes=1))
    assert await jobs.run_due() == 1
    assert notifier.posts == [(meeting.id, [*GROUP, 500])]
    assert notifier.dms == [(meeting.id, 101)]
    clock.advance(timedelta(hours=23))
    assert await jobs.run_due() == 1
    assert await jobs.run_due() == 0
    assert len(notifier.posts) == 2
    assert notifier.dms == [(meeting.id, 101), (meeting.id, 101)]
    states = {
        (d.offset_seconds, d.user_id): (d.state, d.via)
        for d in await service.repo.deliveries(meeting.id)
    }
    assert states[(3600, 103)] == ("failed", "dm")  # DMs closed: the post mentioned them
    assert states[(3600, 0)] == ("sent", "channel")

    listed = await service.upcoming(GUILD)
    assert [m.number for m in listed] == [meeting.number]
    clock.advance(timedelta(hours=2))
    assert await service.upcoming(GUILD) == []  # it has ended


async def test_cancel_tells_audience_and_stops_reminders(
    db: Database, clock: FakeClock, jobs: JobScheduler
) -> None:
    await make_drawn_call(db)
    service = MeetingService(db, clock, jobs)
    notifier = FakeNotifier()
    wire(service, jobs, notifier)
    meeting = await create(service)
    assert await jobs.repo.count("pending") == 2
    cancelled, audience = await service.cancel(GUILD, meeting.number, 1)
    assert not cancelled.is_scheduled and audience == GROUP
    assert await jobs.repo.count("pending") == 0
    with pytest.raises(Conflict):
        await service.cancel(GUILD, meeting.number, 1)
    clock.advance(timedelta(days=3))
    assert await jobs.run_due() == 0
    await service.run_reminder(meeting.id, 3600, notifier)  # a stray run does nothing
    assert notifier.posts == [] and notifier.dms == []
    assert await service.upcoming(GUILD) == []


async def test_restart_reminders_once_each(db_path: Path, clock: FakeClock) -> None:
    notifier = FakeNotifier(fail_post_once=True)
    async with open_database(db_path) as db:
        await make_drawn_call(db)
        first = JobScheduler(db, clock)
        service = MeetingService(db, clock, first)
        wire(service, first, notifier)
        meeting = await create(service, reminders="48h, 24h, 1h")
        await service.toggle_dms(meeting.id, 101)
        clock.advance(timedelta(days=1, minutes=1))
        await first.run_due()  # the post fails: retried later, nothing recorded as sent
        assert notifier.posts == []
        await first.shutdown()
    for hours in (1, 24, 22):
        clock.advance(timedelta(hours=hours))
        async with open_database(db_path) as db:
            again = JobScheduler(db, clock)
            service = MeetingService(db, clock, again)
            wire(service, again, notifier)
            await again.repo.release_running()
            await again.run_due()
            await again.run_due()
            await again.shutdown()
    assert len(notifier.posts) == 3
    assert notifier.dms == [(meeting.id, 101)] * 3


async def test_reminder_after_the_start_is_skipped(
    db: Database, clock: FakeClock, jobs: JobScheduler
) -> None:
    await make_drawn_call(db)
    service = MeetingService(db, clock, jobs)
    notifier = FakeNotifier()
    wire(service, jobs, notifier)
    await create(service, starts="in 2 hours", reminders="1h")
    clock.advance(timedelta(hours=3))  # the bot was down past the start
    assert await jobs.run_due() == 1
    assert notifier.posts == []


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"call_number": None}, InvalidInput),  # no audience chosen
        ({"call_number": 5}, NotFound),
        ({"call_number": None, "role_id": 3, "role_member_ids": []}, InvalidInput),
        ({"starts": "2020-01-01 10:00"}, InvalidInput),
        ({"starts": "soonish"}, InvalidInput),
        ({"reminders": "soon"}, InvalidInput),
        ({"reminders": "4 days"}, InvalidInput),
        ({"duration": "2 minutes"}, InvalidInput),
        ({"duration": "13h"}, InvalidInput),
        ({"where": "x" * 101}, InvalidInput),
        ({"title": " "}, InvalidInput),
    ],
)
async def test_bad_input_refused_nothing_changed(
    db: Database,
    clock: FakeClock,
    jobs: JobScheduler,
    changes: dict[str, object],
    error: type[DomainError],
) -> None:
    await make_drawn_call(db)
    service = MeetingService(db, clock, jobs)
    before = await snapshot(db)
    with pytest.raises(error) as caught:
        await create(service, **changes)
    assert str(caught.value)
    assert await snapshot(db) == before


async def test_unknown_meeting(db: Database, clock: FakeClock, jobs: JobScheduler) -> None:
    service = MeetingService(db, clock, jobs)
    with pytest.raises(NotFound):
        await service.cancel(GUILD, 3, 1)
    with pytest.raises(NotFound):
        await service.toggle_dms(42, 101)
