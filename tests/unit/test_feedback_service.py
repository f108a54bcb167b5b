"""Plan feedback rounds on a real migrated SQLite file, with a fake clock and the real scheduler."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest

from bot.clock import FakeClock
from bot.domain.delivery.engine import NotDelivered
from bot.domain.errors import Conflict, DomainError, InvalidInput, NotAllowed, NotFound
from bot.domain.feedback.models import QUESTIONS, FeedbackRound
from bot.domain.feedback.rules import parse_changes
from bot.domain.feedback.service import REMIND_JOB, FeedbackService
from bot.domain.jobs import Job
from bot.scheduling import JobScheduler
from db import Database, open_database
from tests.dbtools import rows_of

GUILD = 1000
TZ = "Europe/London"
GROUP = [101, 102, 103, 201, 202, 203]
REVIEWERS = [104, 105, 106, 107, 108, 109, 110, 204, 205, 206, 207]  # the eleven not drawn
ROLE = 555


class FakeNotifier:
    """Records nudges; members in ``closed`` have their DMs closed; ``fail_on`` raises once."""

    def __init__(self, closed: set[int] | None = None, fail_on: int | None = None) -> None:
        self.closed = closed or set()
        self.fail_on = fail_on
        self.dms: list[tuple[int, int]] = []
        self.thread: list[tuple[int, list[int]]] = []

    async def nudge_dm(self, round: FeedbackRound, user_id: int, *, nonce: str) -> bool:
        if user_id == self.fail_on:
            self.fail_on = None
            raise NotDelivered("Discord is having a moment")
        if user_id in self.closed:
            return False
        self.dms.append((round.id, user_id))
        return True

    async def nudge_in_thread(
        self, round: FeedbackRound, user_ids: list[int], *, nonce: str
    ) -> bool:
        self.thread.append((round.id, list(user_ids)))
        return True


def wire(service: FeedbackService, jobs: JobScheduler, notifier: FakeNotifier) -> None:
    async def handler(job: Job) -> None:
        await service.handle_reminder_job(job, notifier)

    jobs.register(REMIND_JOB, handler)


async def make_drawn_call(db: Database, *, declined: tuple[int, ...] = ()) -> int:
    """Call #1 with a draw: GROUP selected, one replaced member, REVIEWERS accepted."""
    now = 1_790_000_000.0
    call_id = await db.fetchval(
        "INSERT INTO calls (guild_id, number, channel_id, title, created_by, created_at, seed, "
        "seed_commitment, status) VALUES (?, 1, 10, 'LinkedIn session', 1, ?, 's', 'c', 'closed') "
        "RETURNING id",
        (GUILD, now),
    )
    exp = await db.fetchval(
        "INSERT INTO call_categories (call_id, position, emoji, emoji_key, label, places) "
        "VALUES (?, 0, '🧭', '🧭', 'Experienced', 3) RETURNING id",
        (call_id,),
    )
    new = await db.fetchval(
        "INSERT INTO call_categories (call_id, position, emoji, emoji_key, label, places) "
        "VALUES (?, 1, '🌱', '🌱', 'New', 3) RETURNING id",
        (call_id,),
    )
    await db.execute(
        "INSERT INTO draws (call_id, algorithm, seed, roster_hash, roster_json, places_json, "
        "drawn_by, drawn_at) VALUES (?, 'v1', 's', 'h', '[]', '{}', 1, ?)",
        (call_id, now),
    )
    for rank, user in enumerate(GROUP):
        await db.execute(
            "INSERT INTO draw_entries (call_id, user_id, category_id, rank, status) "
            "VALUES (?, ?, ?, ?, 'selected')",
            (call_id, user, exp if user < 200 else new, rank),
        )
    await db.execute(
        "INSERT INTO draw_entries (call_id, user_id, category_id, rank, status) "
        "VALUES (?, 999, ?, 50, 'replaced')",
        (call_id, exp),
    )
    for i, user in enumerate(REVIEWERS):
        status = "declined" if user in declined else "accepted"
        await db.execute(
            "INSERT INTO call_reviewers (call_id, user_id, status, invited_at, answered_at) "
            "VALUES (?, ?, ?, ?, ?)",
            (call_id, user, status, now, now + i),
        )
    await db.execute(
        "INSERT INTO call_reviewers (call_id, user_id, status, invited_at) "
        "VALUES (?, 998, 'invited', ?)",
        (call_id, now),
    )
    return call_id


async def open_round(service: FeedbackService, **kwargs: object) -> int:
    params: dict[str, object] = {
        "guild_id": GUILD,
        "author_id": 1,
        "title": "LinkedIn session plan",
        "plan": "https://docs.example/plan-v1",
        "channel_id": 20,
        "tz": TZ,
        "role_id": ROLE,
        "role_member_ids": REVIEWERS,
        "closes": "in 3 days",
        "reminders": "48h, 24h, 2h",
    }
    params.update(kwargs)
    opened = await service.open(**params)  # type: ignore[arg-type]
    await service.attach_thread(opened.round.id, 7000 + opened.round.id, 20, 7000 + opened.round.id)
    return opened.round.number


async def snapshot(db: Database) -> list[tuple[object, ...]]:
    return await rows_of(
        db,
        "SELECT 'r', id, status, version, closes_at FROM feedback_rounds",
        "SELECT 'a', round_id, user_id, position, 0 FROM feedback_audience",
        "SELECT 'x', round_id, user_id, first_at, late FROM feedback_responses",
        "SELECT 'm', round_id, message_id, user_id, late FROM feedback_messages",
        "SELECT 'v', round_id, version, plan, changes FROM feedback_versions",
        "SELECT 'j', id, key, status, run_at FROM scheduled_jobs",
    )


async def test_story_round_eight_of_eleven(
    db: Database, clock: FakeClock, jobs: JobScheduler
) -> None:
    service = FeedbackService(db, clock, jobs)
    notifier = FakeNotifier(closed={207})
    wire(service, jobs, notifier)
    number = await open_round(service, reminders="24h")
    state = await service.status(GUILD, number)
    thread = state.round.thread_id
    assert thread is not None
    assert await service.counter(state.round.id) == (0, 11)

    # Five answer with the button, three by writing in the thread (one of them writes twice and
    # also uses the button: still counted once).
    by_button, by_message = REVIEWERS[:5], REVIEWERS[5:8]
    for user in by_button:
        _, recorded = await service.record_form(
            state.round.id, user, "The pace", "Say 'connecting with people', not 'networking'", None
        )
        assert recorded.new and not recorded.late
        clock.advance(timedelta(minutes=10))
    for i, user in enumerate(by_message):
        result = await service.record_message(
            thread, user, 80_000 + i, f"Looks good to me ({user})"
        )
        assert result is not None and result[1].new
    again = await service.record_message(thread, by_message[0], 80_100, "One more thought")
    assert again is not None and not again[1].new
    _, form_too = await service.record_form(state.round.id, by_message[0], None, None, "Captions")
    assert not form_too.new
    # Someone outside the audience writing in the thread, or another thread, changes nothing.
    assert await service.record_message(thread, 4242, 80_200, "I'm just passing by") is None
    assert await service.record_message(123, REVIEWERS[9], 80_300, "wrong thread") is None
    assert await service.counter(state.round.id) == (8, 11)

    # The 24h reminder reaches exactly the three who haven't answered (207 has DMs closed).
    clock.advance(timedelta(days=2, hours=1))
    assert await jobs.run_due() == 1
    waiting = REVIEWERS[8:]
    assert sorted(u for _, u in notifier.dms) == sorted(set(waiting) - {207})
    assert notifier.thread == [(state.round.id, [207])]
    assert await jobs.run_due() == 0

    status = await service.status(GUILD, number)
    assert [r.user_id for r in status.responded] == REVIEWERS[:8]
    assert status.waiting == waiting
    assert status.late == []
    by_via = {r.user_id: r.first_via for r in status.responded}
    assert {u for u, v in by_via.items() if v == "button"} == set(by_button)
    assert {u for u, v in by_via.items() if v == "message"} == set(by_message)

    _, summary = await service.summary(GUILD, number, lambda u: f"Reviewer {u}")
    for question in QUESTIONS:
        assert f"## {question.label}" in summary
    assert summary.count("connecting with people") == 5
    assert "Captions" in summary and "One more thought" in summary
    assert "Responded: 8 of 11" in summary
    for user in REVIEWERS:
        assert f"Reviewer {user}" in summary
    works = summary.split("## What works well?")[1].split("## What would you change?")[0]
    assert works.count("### Reviewer") == 5

    revision = await service.revise(
        GUILD,
        number,
        1,
        "https://docs.example/plan-v2",
        "Say 'connecting with people' instead of 'networking'\nAdd captions to the slides",
    )
    assert revision.version == 2
    assert revision.changes == [
        "Say 'connecting with people' instead of 'networking'",
        "Add captions to the slides",
    ]
    assert revision.respondents == REVIEWERS[:8]
    assert revision.round.plan == "https://docs.example/plan-v2"


async def test_call_audience_is_group_plus_accepted_reviewers_and_role(
    db: Database, clock: FakeClock, jobs: JobScheduler
) -> None:
    await make_drawn_call(db, declined=(110,))
    service = FeedbackService(db, clock, jobs)
    opened = await service.open(
        guild_id=GUILD,
        author_id=1,
        title="Plan",
        plan="text",
        channel_id=20,
        tz=TZ,
        call_number=1,
        role_id=ROLE,
        role_member_ids=[101, 4000],
        closes="in 2 days",
    )
    expected = [*GROUP, *(u for u in REVIEWERS if u != 110), 4000]
    assert opened.audience == expected
    assert await service.audience(opened.round.id) == expected
    assert opened.reminders == [timedelta(hours=24)]  # the default
    call_only = await service.open(
        guild_id=GUILD,
        author_id=1,
        title="Plan",
        plan="text",
        channel_id=20,
        tz=TZ,
        call_number=1,
        closes="in 10 hours",
    )
    assert call_only.reminders == []  # the default 24h would be in the past: left out
    assert 4000 not in call_only.audience and 998 not in call_only.audience
    assert 999 not in call_only.audience


async def test_late_responses_are_kept_and_marked(
    db: Database, clock: FakeClock, jobs: JobScheduler
) -> None:
    service = FeedbackService(db, clock, jobs)
    number = await open_round(service, closes="in 1 day", reminders="2h")
    state = await service.status(GUILD, number)
    clock.advance(timedelta(days=1, minutes=1))
    _, recorded = await service.record_form(state.round.id, REVIEWERS[0], "All of it", None, None)
    assert recorded.new and recorded.late
    await service.close(GUILD, number, 1)
    result = await service.record_message(
        state.round.thread_id or 0, REVIEWERS[1], 1, "Sorry, late!"
    )
    assert result is not None and result[1].late
    status = await service.status(GUILD, number)
    assert status.late == REVIEWERS[:2]
    _, summary = await service.summary(GUILD, number)
    assert summary.count("(late)") == 2


async def test_restart_during_open_round_reminders_fire_once_each(
    db_path: Path, clock: FakeClock
) -> None:
    notifier = FakeNotifier(fail_on=REVIEWERS[3])
    async with open_database(db_path) as db:
        first = JobScheduler(db, clock)
        service = FeedbackService(db, clock, first)
        wire(service, first, notifier)
        number = await open_round(service)  # closes in 3 days; reminders 48h, 24h, 2h
        round_id = (await service.get(GUILD, number)).id
        await service.record_form(round_id, REVIEWERS[0], "yes", None, None)
        clock.advance(timedelta(days=1, minutes=5))  # the 48h reminder is due
        await first.run_due()  # ... and Discord fails at the fourth member: retried later
        assert len(notifier.dms) == 2
        await first.shutdown()  # the bot stops

    clock.advance(timedelta(hours=2))
    async with open_database(db_path) as db:
        second = JobScheduler(db, clock)
        service = FeedbackService(db, clock, second)
        wire(service, second, notifier)
        await second.run_due()  # the retry: only those not reached yet
        await service.record_form(round_id, REVIEWERS[1], "yes", None, None)
        clock.advance(timedelta(days=1))  # the 24h reminder
        await second.run_due()
        await second.run_due()
        await second.shutdown()

    clock.advance(timedelta(hours=20))
    async with open_database(db_path) as db:
        third = JobScheduler(db, clock)
        service = FeedbackService(db, clock, third)
        wire(service, third, notifier)
        await third.repo.release_running()  # what start() does first
        await third.run_due()  # the 2h reminder
        await third.run_due()
        await third.shutdown()
        deliveries = await service.repo.deliveries(round_id)
        jobs_left = await third.repo.count("pending")

    per_offset: dict[int, list[int]] = {}
    for d in deliveries:
        per_offset.setdefault(d.offset_seconds, []).append(d.user_id)
    assert sorted(per_offset[48 * 3600]) == sorted(REVIEWERS[1:])
    assert sorted(per_offset[24 * 3600]) == sorted(REVIEWERS[2:])
    assert sorted(per_offset[2 * 3600]) == sorted(REVIEWERS[2:])
    # Every DM matches exactly one (reminder, member) delivery row: none doubled, none lost.
    assert Counter(u for _, u in notifier.dms) == Counter(d.user_id for d in deliveries)
    assert len(notifier.dms) == 10 + 9 + 9
    assert all((d.state, d.via) == ("sent", "dm") for d in deliveries)
    assert jobs_left == 0


async def test_crash_after_claim_never_sends_twice(
    db: Database, clock: FakeClock, jobs: JobScheduler
) -> None:
    service = FeedbackService(db, clock, jobs)
    notifier = FakeNotifier()
    wire(service, jobs, notifier)
    number = await open_round(service, reminders="24h")
    round_id = (await service.get(GUILD, number)).id
    clock.advance(timedelta(days=2, hours=1))
    # The first run sent to everyone, then the process died before the job was marked done.
    await service.run_reminder(round_id, 24 * 3600, notifier)
    job = await jobs.repo.get_by_key(f"feedback:{round_id}:remind:{24 * 3600}")
    assert job is not None
    await jobs.repo.claim(job.id, clock.now().timestamp())
    await jobs.repo.release_running()
    assert await jobs.run_due() == 1
    assert len(notifier.dms) == 11 == len(set(notifier.dms))


async def test_closing_early_cancels_reminders_and_refuses_twice(
    db: Database, clock: FakeClock, jobs: JobScheduler
) -> None:
    service = FeedbackService(db, clock, jobs)
    notifier = FakeNotifier()
    wire(service, jobs, notifier)
    number = await open_round(service)
    assert await jobs.repo.count("pending") == 3
    closed = await service.close(GUILD, number, 1)
    assert not closed.is_open
    assert await jobs.repo.count("pending") == 0
    with pytest.raises(Conflict):
        await service.close(GUILD, number, 1)
    clock.advance(timedelta(days=4))
    assert await jobs.run_due() == 0
    assert await service.run_reminder(closed.id, 24 * 3600, notifier) is not None
    assert notifier.dms == [] and notifier.thread == []


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"role_id": None, "role_member_ids": []}, InvalidInput),  # no audience chosen
        ({"role_member_ids": []}, InvalidInput),  # the role has nobody
        ({"role_id": None, "call_number": 7}, NotFound),  # unknown call
        ({"closes": "2020-01-01 10:00"}, InvalidInput),  # closes in the past
        ({"closes": "whenever"}, InvalidInput),
        ({"reminders": "soon"}, InvalidInput),
        ({"reminders": "24h, 4 days"}, InvalidInput),  # longer than the time left
        ({"closes": "in 5 hours", "reminders": "6h"}, InvalidInput),
        ({"plan": "   "}, InvalidInput),
        ({"title": ""}, InvalidInput),
    ],
)
async def test_bad_input_is_refused_and_changes_nothing(
    db: Database,
    clock: FakeClock,
    jobs: JobScheduler,
    changes: dict[str, object],
    error: type[DomainError],
) -> None:
    service = FeedbackService(db, clock, jobs)
    before = await snapshot(db)
    with pytest.raises(error) as caught:
        await open_round(service, **changes)
    assert str(caught.value)
    assert await snapshot(db) == before


async def test_no_audience_from_an_undrawn_call(
    db: Database, clock: FakeClock, jobs: JobScheduler
) -> None:
    await db.execute(
        "INSERT INTO calls (guild_id, number, channel_id, title, created_by, created_at, seed, "
        "seed_commitment) VALUES (?, 1, 10, 'Call', 1, 0, 's', 'c')",
        (GUILD,),
    )
    service = FeedbackService(db, clock, jobs)
    before = await snapshot(db)
    with pytest.raises(InvalidInput):
        await open_round(service, role_id=None, role_member_ids=[], call_number=1)
    assert await snapshot(db) == before


async def test_unknown_round_and_members_outside_refused(
    db: Database, clock: FakeClock, jobs: JobScheduler
) -> None:
    service = FeedbackService(db, clock, jobs)
    number = await open_round(service)
    round_id = (await service.get(GUILD, number)).id
    before = await snapshot(db)
    for call in (
        service.status(GUILD, 99),
        service.summary(GUILD, 99),
        service.close(GUILD, 99, 1),
        service.revise(GUILD, 99, 1, "v2"),
        service.get(GUILD + 1, number),
    ):
        with pytest.raises(NotFound):
            await call
    with pytest.raises(NotAllowed):
        await service.record_form(round_id, 4242, "hi", None, None)
    with pytest.raises(InvalidInput):
        await service.record_form(round_id, REVIEWERS[0], " ", "", None)  # nothing answered
    with pytest.raises(InvalidInput):
        await service.revise(GUILD, number, 1, "")
    assert await snapshot(db) == before


async def test_numbers_are_per_server_and_search(
    db: Database, clock: FakeClock, jobs: JobScheduler
) -> None:
    service = FeedbackService(db, clock, jobs)
    assert await open_round(service) == 1
    assert await open_round(service, title="Second plan") == 2
    assert await open_round(service, guild_id=GUILD + 1) == 1
    found = await service.search(GUILD, "Second")
    assert [r.number for r in found] == [2]


def test_parse_changes() -> None:
    assert parse_changes("- one\n* two\n3. three\n\n") == ["one", "two", "three"]
    assert parse_changes("one; two") == ["one", "two"]
    assert parse_changes("a\\nb") == ["a", "b"]
    assert parse_changes(None) == []
