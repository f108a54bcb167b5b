"""Meeting time polls: reading the candidate times, how long the poll runs, the winner, and
making the meeting exactly once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.clock import FakeClock
from bot.domain.errors import Conflict, InvalidInput
from bot.domain.meetings.polls import MeetingPollService, parse_poll_times, poll_length, winner
from bot.domain.meetings.service import MeetingService
from db import Database

NOW = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
TZ = "Europe/London"


def test_poll_times_are_read_in_the_servers_zone_in_the_order_given() -> None:
    times = parse_poll_times("2026-12-12 12:00; 2026-12-10 18:00", tz=TZ, now=NOW)
    assert [t.isoformat() for t in times] == [
        "2026-12-12T12:00:00+00:00",
        "2026-12-10T18:00:00+00:00",
    ]
    for bad in ("2026-12-12 12:00", "; ".join(["in 2 days"] * 2), "; ".join(["in 2 days"] * 11)):
        with pytest.raises(InvalidInput):
            parse_poll_times(bad, tz=TZ, now=NOW)


def test_a_poll_closes_in_whole_hours_before_the_first_time() -> None:
    first = NOW + timedelta(days=5)
    assert poll_length(None, tz=TZ, now=NOW, first=first) == timedelta(hours=48)
    assert poll_length("in 90 minutes", tz=TZ, now=NOW, first=first) == timedelta(hours=2)
    soon = NOW + timedelta(hours=3)
    assert poll_length(None, tz=TZ, now=NOW, first=soon) == timedelta(hours=2)
    for closes, first_time in (("in 6 days", first), (None, NOW + timedelta(minutes=50))):
        with pytest.raises(InvalidInput):
            poll_length(closes, tz=TZ, now=NOW, first=first_time)


async def test_the_winning_time_becomes_the_meeting_once(db: Database, clock: FakeClock) -> None:
    meetings = MeetingService(db, clock)
    polls = MeetingPollService(db, clock, meetings)
    poll, audience = await polls.create(
        guild_id=1,
        author_id=7,
        title="Group meeting 1",
        options="in 3 days; in 4 days",
        channel_id=20,
        tz=TZ,
        role_id=5,
        role_member_ids=[101, 102, 103],
    )
    assert audience == [101, 102, 103]
    with pytest.raises(Conflict):  # still open: no meeting yet
        await polls.decide(poll.id, 0, actor_id=7, tz=TZ, role_member_ids=audience)
    closed = await polls.record_results(poll.id, [[101], [102, 103]])
    assert closed is not None and winner(closed) == 1
    assert await polls.record_results(poll.id, [[], []]) is None  # counted once
    made = await polls.decide(poll.id, 1, actor_id=7, tz=TZ, role_member_ids=audience)
    assert made.meeting.starts_at == poll.options[1] and made.meeting.title == "Group meeting 1"
    with pytest.raises(Conflict):
        await polls.decide(poll.id, 0, actor_id=7, tz=TZ, role_member_ids=audience)
    assert (await polls.get(poll.id)).meeting_id == made.meeting.id  # type: ignore[union-attr]
