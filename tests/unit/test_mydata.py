"""Members' data: show everything, delete it (bookings pass on, draws still verify), retention."""

from __future__ import annotations

import io
import json
from datetime import timedelta

import pytest

from bot.clock import FakeClock
from bot.domain.audit.service import AuditService
from bot.domain.calls.service import CallService
from bot.domain.draws.service import MEMBER_LEFT_JOB, DrawService
from bot.domain.errors import InvalidInput
from bot.domain.mydata.service import RETENTION_JOB, RETENTION_KEY, MyDataService
from bot.domain.sessions.service import SessionService
from bot.scheduling import JobScheduler
from bot.verify_draw import main as verify_draw
from db import Database
from db.repositories.audiences import drawn_group
from tests.fakes.beacon import LocalBeacon, chain_args, draw_now

GUILD = 1000
ORGANISER = 7777
ME = 501
TZ = "Europe/London"
ANSWERS = {
    "experience": "New to it",
    "aims": "Connecting with people",
    "barriers": "I use a screen reader",
}


async def drawn_call(calls: CallService, draws: DrawService, members: list[int]) -> int:
    details = await calls.create(
        guild_id=GUILD,
        channel_id=10,
        author_id=ORGANISER,
        title="Co-produce the session",
        categories="🧭 Experienced; 🌱 New",
        places="🧭=3, 🌱=1",
        tz=TZ,
    )  # every 🧭 volunteer is drawn
    await calls.attach_post(details.call.id, 10, 9000 + details.call.id)
    for i, user in enumerate(members):
        await calls.react(9000 + details.call.id, user, "🧭" if i % 2 == 0 else "🌱", added=True)
    await draw_now(
        draws, draws.clock, guild_id=GUILD, number=details.call.number, actor_id=ORGANISER
    )
    return details.call.number


async def open_call(calls: CallService, members: list[int]) -> int:
    details = await calls.create(
        guild_id=GUILD,
        channel_id=10,
        author_id=ORGANISER,
        title="Review the plan",
        categories="📝 Reviewer",
        tz=TZ,
    )
    await calls.attach_post(details.call.id, 10, 9500)
    for user in members:
        await calls.react(9500, user, "📝", added=True)
    return details.call.id


async def session_for(sessions: SessionService, capacity: int, bookers: list[int]) -> int:
    session = await sessions.create(
        guild_id=GUILD,
        channel_id=10,
        author_id=ORGANISER,
        title="LinkedIn: an introduction",
        starts="in 3 days",
        capacity=capacity,
        tz=TZ,
    )
    for user in bookers:
        await sessions.book(session.id, user, dict(ANSWERS))
    return session.id


async def test_show_collects_everything_about_the_member(
    db: Database, clock: FakeClock, jobs: JobScheduler
) -> None:
    calls, draws = (
        CallService(db, clock, jobs),
        DrawService(db, clock, jobs, beacon=LocalBeacon(clock)),
    )
    sessions, mydata = SessionService(db, clock, jobs), MyDataService(db, clock)
    await drawn_call(calls, draws, [ME, 502, 503, 504])
    await open_call(calls, [ME])
    await session_for(sessions, 22, [ME])
    data = await mydata.collect(GUILD, ME)
    counts = data.counts()
    for section in ("call sign-ups", "draws", "bookings", "survey answers", "audit trail entries"):
        assert counts.get(section), section
    [entry] = next(s for s in data.sections if s.name == "draws").rows
    ref = await db.fetchval("SELECT ref FROM draw_entries WHERE user_id = ?", (ME,))
    assert entry["reference"] == ref and len(ref) == 32  # the member can find their own line
    answers = next(s for s in data.sections if s.name == "survey answers")
    assert len(answers.rows) == 3
    dumped = json.dumps(data.as_json())
    assert "I use a screen reader" in dumped
    # Nobody else's data: another member sees only their own.
    other = await mydata.collect(GUILD, 503)
    assert "I use a screen reader" not in json.dumps(other.as_json())
    assert (await mydata.collect(GUILD + 1, ME)).empty
    await calls.close_writer()


async def test_delete_booked_and_drawn_member(
    db: Database, clock: FakeClock, jobs: JobScheduler
) -> None:
    calls, draws = (
        CallService(db, clock, jobs),
        DrawService(db, clock, jobs, beacon=LocalBeacon(clock)),
    )
    sessions, mydata = SessionService(db, clock, jobs), MyDataService(db, clock)
    audit = AuditService(db, clock)
    number = await drawn_call(calls, draws, [ME, 502, 503, 504])
    assert ME in (await draws.show(GUILD, number)).categories[0].drawn
    call_id = await open_call(calls, [ME, 502])
    session_id = await session_for(sessions, 1, [ME, 502])  # ME has the place, 502 waits
    assert [b.status for b in await sessions.bookings(session_id)] == ["confirmed", "waiting"]
    rows_before = await db.fetchval("SELECT COUNT(*) FROM audit_log")
    assert await audit.rows_about(GUILD, ME)

    report = await mydata.delete(GUILD, ME, cancel_booking=sessions.cancel_booking)

    # The waiting list promoted as usual (and the promotion notice is scheduled).
    bookings = await sessions.bookings(session_id)
    assert [(b.user_id, b.status) for b in bookings] == [(502, "confirmed")]
    assert (
        await db.fetchval(
            "SELECT COUNT(*) FROM scheduled_jobs WHERE key LIKE 'session:%:notice:promoted:%'"
        )
        == 1
    )
    # Withdrawn from the open call; the post's counter needs a refresh.
    assert [s.user_id for s in await calls.repo.signups(call_id)] == [502]
    assert [s.call_id for s in report.open_signups] == [call_id]
    # Nothing personal left outside the draw.
    assert await db.fetchval("SELECT COUNT(*) FROM session_answers WHERE user_id = ?", (ME,)) == 0
    assert await db.fetchval("SELECT COUNT(*) FROM call_signups WHERE user_id = ?", (ME,)) == 0
    left = await mydata.collect(GUILD, ME)
    assert left.empty  # the draw entry stays, but without the member's id
    assert await db.fetchval("SELECT COUNT(*) FROM draw_entries WHERE user_id = ?", (ME,)) == 0
    assert await db.fetchval("SELECT COUNT(*) FROM draw_entries WHERE user_id IS NULL") == 1
    assert await db.fetchval("SELECT ref_salt FROM draws") is None  # refs can't be re-derived
    # ME was in the group with nobody on the reserve list: the place is reported open.
    view = await draws.show(GUILD, number)
    assert view.categories[0].open_places == 2  # 3 places, 2 volunteers, one withdrew
    assert (
        await db.fetchval("SELECT COUNT(*) FROM scheduled_jobs WHERE kind = ?", (MEMBER_LEFT_JOB,))
        == 1
    )
    # The published draw still verifies, in Discord and from its exported file; the audit
    # chain too, with nothing removed.
    assert (await draws.verify(GUILD, number)).ok
    out = io.StringIO()
    assert (
        verify_draw(
            ["--json", "-", *chain_args(draws)],
            stdin=io.StringIO(draws.export_json(view)),
            stdout=out,
        )
        == 0
    ), out.getvalue()
    assert (await audit.verify(GUILD)).ok
    assert await db.fetchval("SELECT COUNT(*) FROM audit_log") > rows_before
    # The audit rows stay but can't be linked to the member any more.
    assert await audit.rows_about(GUILD, ME) == []
    actions = [r[0] for r in await db.fetchall("SELECT action FROM audit_log ORDER BY id")]
    assert actions[-1] == "member.data_deleted" and "booking.cancelled" in actions
    await calls.close_writer()


async def test_delete_a_drawn_member_promotes_the_next_reserve(
    db: Database, clock: FakeClock, jobs: JobScheduler
) -> None:
    calls, draws = (
        CallService(db, clock, jobs),
        DrawService(db, clock, jobs, beacon=LocalBeacon(clock)),
    )
    mydata = MyDataService(db, clock, draws)
    number = await drawn_call(calls, draws, [601, 602, 603, 604, 605, 606])  # 🌱: 1 of 3
    view = await draws.show(GUILD, number)
    new = view.categories[1]
    leaving, next_up, reserve_2 = new.order
    assert isinstance(leaving, int) and isinstance(reserve_2, int)
    published = draws.export_json(view)

    report = await mydata.delete(GUILD, leaving)
    await mydata.delete(GUILD, reserve_2)  # a reserve deleting: leaves the list, frees nothing

    assert any("draw" in name for name in report.removed)
    after = await draws.show(GUILD, number)
    assert [(e.user_id, e.status) for e in after.categories[1].entries] == [
        (None, "replaced"),
        (next_up, "selected"),
        (None, "withdrawn"),
    ]
    assert next_up in await drawn_group(db, after.call.id)
    # The promoted member is told by the draws cog: a job, without anyone's id in it.
    [job] = [
        j
        for j in await jobs.repo.due_before(clock.now().timestamp() + 1, 10)
        if j.kind == MEMBER_LEFT_JOB
    ]
    assert job.payload["promoted_ref"] == after.categories[1].entries[1].ref

    def values(node: object) -> list[object]:
        if isinstance(node, dict):
            return [v for x in node.values() for v in values(x)]
        if isinstance(node, list):
            return [v for x in node for v in values(x)]
        return [node]

    # No value in the payload is the member's id (a whole value, not digits inside a hex ref).
    assert all(v not in (leaving, str(leaving)) for v in values(job.payload))
    # Verification: unchanged, from the service and from the file published before.
    assert (await draws.verify(GUILD, number)).ok
    now_published = json.loads(draws.export_json(after))
    assert {k: v for k, v in now_published.items() if k != "changes"} == {
        k: v for k, v in json.loads(published).items() if k != "changes"
    }
    change = now_published["changes"][0]  # the public history gained the withdrawal, by ref
    assert (change["left"], change["joined"], change["why"]) == (
        after.categories[1].entries[0].ref,
        after.categories[1].entries[1].ref,
        "withdrew",
    )
    assert (
        verify_draw(
            ["--json", "-", *chain_args(draws)], stdin=io.StringIO(published), stdout=io.StringIO()
        )
        == 0
    )
    assert (
        verify_draw(
            ["--json", "-", *chain_args(draws)],
            stdin=io.StringIO(draws.export_json(after)),
            stdout=io.StringIO(),
        )
        == 0
    )
    await calls.close_writer()


async def test_a_place_the_deletion_itself_gives_up_is_announced_after_it_commits(
    db: Database, clock: FakeClock, jobs: JobScheduler
) -> None:
    calls, draws = (
        CallService(db, clock, jobs),
        DrawService(db, clock, jobs, beacon=LocalBeacon(clock)),
    )
    mydata = MyDataService(db, clock, draws)
    number = await drawn_call(calls, draws, [601, 602, 603, 604, 605, 606])
    new = (await draws.show(GUILD, number)).categories[1]
    leaving, next_up = new.order[0], new.order[1]
    assert isinstance(leaving, int)

    async def missed(guild_id: int, user_id: int) -> list[object]:
        return []  # e.g. a draw was run between the service's pass and the deletion

    draws.withdraw_member = missed  # type: ignore[method-assign,assignment]
    report = await mydata.delete(GUILD, leaving)
    assert report.departures == [(new.entries[0].call_id, new.entries[0].ref, new.entries[1].ref)]
    assert report.removed["places in a draw's group (passed to the next reserve)"] == 1
    [job] = [
        j
        for j in await jobs.repo.due_before(clock.now().timestamp() + 1, 10)
        if j.kind == MEMBER_LEFT_JOB
    ]
    assert job.payload == {
        "call_id": new.entries[0].call_id,
        "ref": new.entries[0].ref,
        "promoted_ref": new.entries[1].ref,
    }
    assert next_up in await drawn_group(db, new.entries[0].call_id)
    await calls.close_writer()


async def test_a_failed_deletion_still_announces_the_places_given_up_without_naming_anyone(
    db: Database, clock: FakeClock, jobs: JobScheduler
) -> None:
    calls, draws = (
        CallService(db, clock, jobs),
        DrawService(db, clock, jobs, beacon=LocalBeacon(clock)),
    )
    mydata = MyDataService(db, clock, draws)
    number = await drawn_call(calls, draws, [601, 602, 603, 604, 605, 606])
    new = (await draws.show(GUILD, number)).categories[1]
    leaving = new.order[0]
    assert isinstance(leaving, int)

    async def broken(guild_id: int, user_id: int, now: float) -> object:
        raise RuntimeError("disk full")

    mydata.repo.delete = broken  # type: ignore[method-assign,assignment]
    with pytest.raises(RuntimeError):
        await mydata.delete(GUILD, leaving)
    [job] = [
        j
        for j in await jobs.repo.due_before(clock.now().timestamp() + 1, 10)
        if j.kind == MEMBER_LEFT_JOB
    ]
    outcome = await draws.left_outcome(
        int(job.payload["call_id"]), job.payload["ref"], job.payload["promoted_ref"]
    )
    assert outcome is not None and outcome.left_user_id is None  # the id is still stored
    await calls.close_writer()


async def test_delete_with_nothing_stored_and_without_sessions_service(
    db: Database, clock: FakeClock
) -> None:
    mydata = MyDataService(db, clock)
    report = await mydata.delete(GUILD, ME)
    assert report.total == 0
    assert await db.fetchval("SELECT action FROM audit_log") == "member.data_deleted"


async def test_retention_removes_answers_and_comments_after_the_period(
    db: Database, clock: FakeClock, jobs: JobScheduler
) -> None:
    sessions, mydata = SessionService(db, clock, jobs), MyDataService(db, clock)
    await mydata.set_retention_days(GUILD, 30, actor_id=ORGANISER)
    assert await mydata.retention_days(GUILD) == 30
    session_id = await session_for(sessions, 22, [ME, 502, 503])
    await db.execute(
        "UPDATE session_answers SET answer = 'Very experienced' "
        "WHERE user_id = 503 AND key = 'experience'"
    )
    clock.advance(timedelta(days=3, hours=2))  # the session has happened
    await sessions.evaluate(session_id, ME, 5, "The examples", "More time")
    await sessions.evaluate(session_id, 502, 4, "", "")
    survey_before = await sessions.survey(session_id)
    evaluation_before, _ = await sessions.evaluation(session_id)

    clock.advance(timedelta(days=29))  # not yet 30 days after the end
    assert (await mydata.sweep()).sessions == 0
    assert await db.fetchval("SELECT COUNT(*) FROM session_answers") == 9

    clock.advance(timedelta(days=2))
    report = await mydata.sweep()
    assert (report.sessions, report.answers, report.comments) == (1, 9, 1)
    assert await db.fetchval("SELECT COUNT(*) FROM session_answers") == 0
    evaluation_after, rows = await sessions.evaluation(session_id)
    assert all(not e.useful and not e.better for e in rows)
    # Ratings stay, so the evaluation's counts and average are unchanged.
    assert evaluation_after.ratings == evaluation_before.ratings
    assert evaluation_after.average == evaluation_before.average
    # The survey's counts are kept without the answers.
    kept = {(c.key, c.answer): c.count for c in await mydata.retained_counts(session_id)}
    assert kept[("", "")] == survey_before.responses == 3
    choice = survey_before.chart
    assert choice is not None
    for c in choice.counts:
        assert kept.get(("experience", c.option), 0) == c.count
    assert kept[("aims", "")] == 3  # text questions: how many answered, not what
    # A second sweep changes nothing (the job may run again after a crash).
    assert (await mydata.sweep()).sessions == 0
    assert {(c.key, c.answer): c.count for c in await mydata.retained_counts(session_id)} == kept
    actions = [r[0] for r in await db.fetchall("SELECT action FROM audit_log ORDER BY seq")]
    assert "data.retention" in actions


async def test_retention_days_are_validated(db: Database, clock: FakeClock) -> None:
    mydata = MyDataService(db, clock)
    assert await mydata.retention_days(GUILD) == 90
    with pytest.raises(InvalidInput):
        await mydata.set_retention_days(GUILD, 0)


async def test_daily_job_sweeps_and_reschedules(
    db: Database, clock: FakeClock, jobs: JobScheduler
) -> None:
    mydata = MyDataService(db, clock)
    jobs.register(RETENTION_JOB, lambda job: mydata.run_daily(jobs, job))
    await mydata.ensure_daily(jobs)
    await mydata.ensure_daily(jobs)  # at every start: keeps the one there is
    first = await jobs.repo.get_by_key(RETENTION_KEY)
    assert first is not None and first.status == "pending"
    clock.advance(timedelta(days=1))
    assert await jobs.run_due() == 1
    after = await jobs.repo.get_by_key(RETENTION_KEY)
    assert after is not None and after.status == "pending" and after.run_at > first.run_at
    assert after.run_at - clock.now().timestamp() <= 86400


async def test_the_members_own_time_zone_is_shown_and_deleted_with_their_data(
    db: Database, clock: FakeClock
) -> None:
    from bot.domain.settings.service import SettingsService

    settings, mydata = SettingsService(db, clock, TZ), MyDataService(db, clock)
    assert await settings.set_member_timezone(GUILD, ME, "Europe/Paris") == "Europe/Paris"
    with pytest.raises(InvalidInput):
        await settings.set_member_timezone(GUILD, ME, "Mars/Olympus")
    data = await mydata.collect(GUILD, ME)
    assert data.counts().get("your time zone") == 1
    await mydata.delete(GUILD, ME)
    assert await settings.member_timezone(GUILD, ME) is None
