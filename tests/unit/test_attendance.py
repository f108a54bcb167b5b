"""Attendance: minutes from voice spans (reconnects merged, clipped to the window, restarts),
marks winning over voice time, I'm here, and evaluations to who came."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.clock import FakeClock
from bot.domain.attendance.models import Event, EventKind, Mark, Source, Span
from bot.domain.attendance.rules import attendance, merged_seconds, whole_minutes
from bot.domain.attendance.service import AttendanceService, HereRefused
from bot.domain.errors import Conflict, NotFound
from bot.domain.meetings.models import Meeting
from bot.domain.meetings.service import MeetingService
from bot.domain.sessions.service import SessionService
from bot.scheduling import JobScheduler
from db import Database
from tests.unit.test_session_service import ORGANISER, FakeMessenger, make, wire

GUILD = 9
ROOM = 555
PEOPLE = [101, 102, 103, 104, 105, 106]


def event(voice: int | None = ROOM, expected: tuple[int, ...] = (1, 2, 3)) -> Event:
    return Event(EventKind.MEETING, 1, GUILD, 1, "m", 1000.0, 4600.0, voice, False, expected)


def test_reconnects_merge_and_the_window_clips() -> None:
    spans = [
        Span(1, 400.0, 1500.0),  # early: counts from the start
        Span(1, 1500.0, 2000.0),  # a reconnect touching the first
        Span(1, 1900.0, 2100.0),  # a duplicate overlapping it
        Span(1, 3000.0, None),  # back again, still connected
    ]
    assert merged_seconds(spans, 1000.0, 4600.0, now=9999.0) == 1100.0 + 1600.0
    assert merged_seconds(spans, 1000.0, 4600.0, now=3600.0) == 1100.0 + 600.0
    assert merged_seconds([Span(1, 5000.0, 6000.0)], 1000.0, 4600.0, 9999.0) == 0.0
    assert (whole_minutes(89), whole_minutes(90), whole_minutes(1199.0)) == (1, 2, 20)


def test_marks_win_and_unexpected_people_are_listed() -> None:
    spans = [Span(1, 1000.0, 2200.0), Span(2, 1000.0, 4600.0), Span(9, 1000.0, 1600.0)]
    marks = [Mark(2, False, None, Source.ORGANISER, 5000.0), Mark(3, True, None, Source.MEMBER, 0)]
    result = attendance(event(), spans, marks, now=5000.0)
    got = {(line.user_id, line.present, line.minutes, line.source) for line in result.lines}
    assert got == {
        (1, True, 20, Source.VOICE),
        (2, False, 0, Source.ORGANISER),  # an organiser's mark wins over voice time
        (3, True, 60, Source.MEMBER),  # I'm here: the whole event
        (9, True, 10, Source.VOICE),  # came without being on the list
    }
    assert [line.user_id for line in result.no_shows] == [2]
    assert result.known


def test_no_voice_no_marks_is_unknown() -> None:
    result = attendance(event(voice=None), [], [], now=5000.0)
    assert not result.known and result.no_shows == [] and result.attendee_ids == []


async def voice_meeting(service: MeetingService, **extra: object) -> Meeting:
    made = await service.create(
        guild_id=GUILD,
        author_id=1,
        title="Group meeting 2",
        starts="in 2 hours",
        channel_id=30,
        tz="Europe/London",
        duration="1h",
        role_id=77,
        role_member_ids=PEOPLE,
        **extra,  # type: ignore[arg-type]
    )
    return made.meeting


async def test_voice_time_restart_and_pick_up(
    db: Database, clock: FakeClock, jobs: JobScheduler
) -> None:
    meetings = MeetingService(db, clock, jobs)
    meeting = await voice_meeting(meetings, voice_channel_id=ROOM)
    service = AttendanceService(db, clock)
    start = meeting.starts_at

    def at(minutes: int) -> None:
        clock.advance(timedelta(seconds=start + minutes * 60 - clock.now().timestamp()))

    at(-5)
    for user in PEOPLE[:5]:
        await service.voice_moved(GUILD, user, None, ROOM)
    await service.voice_moved(GUILD, 999, None, 12345)  # another channel: not recorded
    at(20)
    await service.voice_moved(GUILD, PEOPLE[4], ROOM, None)
    at(25)
    await service.voice_moved(GUILD, PEOPLE[3], ROOM, 777)  # moved elsewhere ...
    at(30)
    await service.voice_moved(GUILD, PEOPLE[3], 777, ROOM)  # ... and back
    at(40)
    # A restart: PEOPLE[2] left while the bot was away, PEOPLE[5] arrived.
    assert await service.channels_to_check(GUILD) == [ROOM]
    await service.pick_up(GUILD, ROOM, [PEOPLE[0], PEOPLE[1], PEOPLE[3], PEOPLE[5]])
    at(70)
    result = await service.show(EventKind.MEETING, GUILD, meeting.number)
    minutes = {line.user_id: line.minutes for line in result.attended}
    assert minutes == {
        PEOPLE[0]: 60,
        PEOPLE[1]: 60,
        PEOPLE[2]: 40,  # until the bot saw they had gone
        PEOPLE[3]: 55,
        PEOPLE[4]: 20,
        PEOPLE[5]: 20,  # from when the bot saw them
    }
    # After the meeting the channel is no longer watched: open spans are closed at start.
    await service.pick_up(GUILD, ROOM, [PEOPLE[0]])
    assert await db.fetchval("SELECT COUNT(*) FROM voice_spans WHERE left_at IS NULL") == 0


async def test_edit_and_here(db: Database, clock: FakeClock, jobs: JobScheduler) -> None:
    meetings = MeetingService(db, clock, jobs)
    meeting = await voice_meeting(meetings, where="Community centre")
    service = AttendanceService(db, clock)
    with pytest.raises(HereRefused):  # before the start
        await service.here(EventKind.MEETING, meeting.id, PEOPLE[0])
    with pytest.raises(Conflict):
        await service.edit(EventKind.MEETING, GUILD, meeting.number, PEOPLE[0], True, None, 1)
    with pytest.raises(NotFound):
        await service.edit(EventKind.MEETING, GUILD, 99, PEOPLE[0], True, None, 1)
    clock.advance(timedelta(hours=2, minutes=5))
    await service.here(EventKind.MEETING, meeting.id, PEOPLE[0])
    with pytest.raises(HereRefused):  # not on the list
        await service.here(EventKind.MEETING, meeting.id, 4242)
    await service.edit(EventKind.MEETING, GUILD, meeting.number, PEOPLE[1], True, 30, 1)
    await service.edit(EventKind.MEETING, GUILD, meeting.number, PEOPLE[2], False, None, 1)
    # a member's own press never overrides an organiser's mark
    await service.here(EventKind.MEETING, meeting.id, PEOPLE[2])
    result = await service.show(EventKind.MEETING, GUILD, meeting.number)
    assert {(x.user_id, x.minutes) for x in result.attended} == {(PEOPLE[0], 60), (PEOPLE[1], 30)}
    assert len(result.no_shows) == 4
    assert await service.attendees(EventKind.MEETING, meeting.id) == [PEOPLE[0], PEOPLE[1]]
    actions = [r[0] for r in await db.fetchall("SELECT action FROM audit_log ORDER BY seq")]
    assert actions.count("attendance.edited") == 2 and actions.count("attendance.here") == 1


async def test_evaluation_goes_to_who_came_when_known(
    db: Database, clock: FakeClock, jobs: JobScheduler
) -> None:
    service = SessionService(db, clock, jobs)
    sid = await make(service, capacity=3, starts="in 1 day", duration="90m", reminders="none")
    for m in (1, 2, 3):
        await service.book(sid, m, {"experience": "New to it"})
    session = await service.details(sid)
    attendance = AttendanceService(db, clock)
    clock.advance(timedelta(days=1, minutes=10))
    await attendance.edit(EventKind.SESSION, session.session.guild_id, 1, 1, True, None, ORGANISER)
    await attendance.edit(EventKind.SESSION, session.session.guild_id, 1, 3, True, 45, ORGANISER)
    clock.advance(timedelta(minutes=90))
    messenger = FakeMessenger(db, clock)
    wire(jobs, service, messenger)
    await jobs.run_due()
    invited = sorted(u for u, _, f in messenger.dms if u != ORGANISER and f is not None)
    assert invited == [1, 3]  # 2 had a place but did not come


async def test_session_in_a_voice_channel(
    db: Database, clock: FakeClock, jobs: JobScheduler
) -> None:
    service = SessionService(db, clock, jobs)
    sid = await make(service, capacity=3, starts="in 1 day", duration="90m", reminders="none")
    for m in (1, 2, 3):
        await service.book(sid, m, {"experience": "New to it"})
    guild = (await service.details(sid)).session.guild_id
    attendance = AttendanceService(db, clock)
    await attendance.set_session_voice(guild, 1, ROOM, ORGANISER)
    clock.advance(timedelta(days=1))
    await attendance.voice_moved(guild, 1, None, ROOM)
    await attendance.voice_moved(guild, 2, None, ROOM)
    clock.advance(timedelta(minutes=30))
    await attendance.voice_moved(guild, 2, ROOM, None)
    clock.advance(timedelta(hours=2))
    with pytest.raises(HereRefused):  # in voice: time counts by itself
        await attendance.here(EventKind.SESSION, sid, 3)
    result = await attendance.show(EventKind.SESSION, guild, 1)
    assert {(x.user_id, x.minutes) for x in result.attended} == {(1, 90), (2, 30)}
    assert [x.user_id for x in result.no_shows] == [3]
    with pytest.raises(Conflict):  # over: too late to link
        await attendance.set_session_voice(guild, 1, ROOM, ORGANISER)
