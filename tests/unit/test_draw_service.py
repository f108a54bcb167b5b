"""The draw service on a real migrated SQLite file: the story, replacements, answers, faults."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import pytest

from bot.clock import FakeClock
from bot.domain.calls.service import CallService
from bot.domain.draws.algorithm import commitment_of, draw_seed, run_draw
from bot.domain.draws.service import MEMBER_LEFT_JOB, DrawService
from bot.domain.errors import DomainError, InvalidInput, NotAllowed, NotFound
from bot.scheduling import JobScheduler
from cogs.draws.render import result_post_text, status_text, verification_text
from db import Database
from db.repositories.audiences import accepted_reviewers, call_audience, drawn_group
from tests.dbtools import rows_of
from tests.fakes.beacon import LocalBeacon, draw_now, publish_and_wait

GUILD = 1000
ORGANISER = 1
STORY = "🧭 Experienced with LinkedIn; 🌱 New to LinkedIn"
EXPERIENCED = list(range(101, 111))  # 10
NEW = list(range(201, 208))  # 7


async def make_call(
    calls: CallService, places: str | None = "🧭=3, 🌱=3", **kwargs: str
) -> tuple[int, int]:
    details = await calls.create(
        guild_id=GUILD,
        channel_id=10,
        author_id=ORGANISER,
        title="Co-produce the LinkedIn session",
        categories=STORY,
        places=places,
        tz="Europe/London",
        **kwargs,
    )
    message_id = 5000 + details.call.id
    await calls.attach_post(details.call.id, 10, message_id)
    return details.call.id, message_id


async def story_call(calls: CallService, clock: FakeClock, **kwargs: str) -> tuple[int, int]:
    call_id, msg = await make_call(calls, **kwargs)
    for users, key in ((EXPERIENCED, "🧭"), (NEW, "🌱")):
        for user in users:
            await calls.react(msg, user, key, added=True)
            clock.advance(timedelta(seconds=1))
    return call_id, msg


async def snapshot(db: Database) -> list[tuple[object, ...]]:
    return await rows_of(
        db,
        "SELECT 'c', id, status, closed_at, 0 FROM calls",
        "SELECT 's', call_id, user_id, category_id, joined_at FROM call_signups",
        "SELECT 'd', call_id, roster_hash, drawn_at, 0 FROM draws",
        "SELECT 'e', call_id, ref, status, confirmation FROM draw_entries",
        "SELECT 'r', call_id, user_id, status, answered_at FROM call_reviewers",
        "SELECT 'j', id, key, status, run_at FROM scheduled_jobs",
        "SELECT 'a', guild_id, seq, action, 0 FROM audit_log",
    )


@pytest.fixture
def calls(db: Database, clock: FakeClock, jobs: JobScheduler) -> CallService:
    return CallService(db, clock, jobs)


@pytest.fixture
def draws(db: Database, clock: FakeClock, jobs: JobScheduler) -> DrawService:
    return DrawService(db, clock, jobs, beacon=LocalBeacon(clock))


async def test_the_story_10_and_7_volunteers_3_plus_3_drawn_11_invited(
    db: Database, calls: CallService, draws: DrawService, clock: FakeClock, jobs: JobScheduler
) -> None:
    call_id, _ = await story_call(calls, clock, closes="in 2 days")
    outcome = await draw_now(draws, clock, guild_id=GUILD, number=1, actor_id=ORGANISER)
    assert outcome.created and outcome.closed_call
    view = outcome.view
    assert view.call.status == "closed"
    assert (await jobs.repo.get_by_key(f"call:{call_id}:close")).status == "cancelled"  # type: ignore[union-attr]
    assert [
        (c.category.key, c.places, c.volunteers, len(c.drawn), len(c.reserve_order))
        for c in view.categories
    ] == [("🧭", 3, 10, 3, 7), ("🌱", 3, 7, 3, 4)]
    # Every volunteer has an entry reference made at the freeze (each from a salt of its own,
    # which is not kept): nothing secret remains that could re-make them.
    assert await db.fetchval("SELECT ref_salt FROM draws WHERE call_id = ?", (call_id,)) is None
    refs = {e.user_id: e.ref for c in view.categories for e in c.entries}
    assert len(set(refs.values())) == 17 and all(len(r) == 32 for r in refs.values())
    freeze = view.freeze
    assert freeze is not None and freeze.beacon_kind == "drand" and freeze.beacon_value
    # The published roster is the refs (sorted), never the ids, and the stored result is exactly
    # the documented function of the committed seed, the beacon value and the frozen roster.
    roster = sorted([(refs[u], "🧭") for u in EXPERIENCED] + [(refs[u], "🌱") for u in NEW])
    assert view.draw.roster == roster == freeze.roster
    assert view.draw.algorithm == "hmac-sha256-rank/v3"
    assert not {e for e, _ in json.loads(view.draw.roster_json)} & {
        str(u) for u in EXPERIENCED + NEW
    }
    order_seed = draw_seed(view.call.seed, bytes.fromhex(freeze.beacon_value))
    expected = run_draw(order_seed, roster, {"🧭": 3, "🌱": 3}, version=3)
    assert view.draw.roster_hash == expected.roster_fingerprint
    for cat in view.categories:
        assert cat.refs == expected.category(cat.category.key).order
        assert cat.order == tuple(next(u for u, r in refs.items() if r == ref) for ref in cat.refs)
    assert commitment_of(view.draw.seed) == view.call.seed_commitment
    # The group and the 11 invited reviewers, for the later features.
    group = await drawn_group(db, call_id)
    assert len(group) == 6 and set(group) == set(view.drawn)
    assert len(view.reviewers) == 11 and {r.status for r in view.reviewers} == {"invited"}
    assert await accepted_reviewers(db, call_id) == []
    # Posting texts: odds in words, every volunteer listed, verification data present.
    text = result_post_text(view, "intro", "closing")
    assert "3 of 10 volunteers" in text and "30% chance" in text and "3 of 7" in text
    # The drawn are mentioned in user id order, not in draw order; reserves are not mentioned.
    drawn_mentions = [f"<@{u}>" for u in sorted(view.drawn)]
    assert all(m in text for m in drawn_mentions)
    positions = [text.index(m) for m in drawn_mentions]
    assert positions == sorted(positions)
    assert not any(f"<@{u}>" in text for u in EXPERIENCED + NEW if u not in view.drawn)
    assert view.draw.seed in text and freeze.freeze_hash in text and len(text) <= 2000
    assert "no answer yet" in status_text(view)
    assert all(f"`{e.ref[:8]}`" in status_text(view) for e in view.categories[0].current)
    report = await draws.verify(GUILD, 1)
    assert report.ok and report.commitment_ok and report.fingerprint_ok and report.order_ok
    assert report.freeze_ok and report.beacon_ok and report.changes_ok


async def test_drawing_twice_returns_the_same_result(
    db: Database, calls: CallService, draws: DrawService, clock: FakeClock
) -> None:
    await story_call(calls, clock)
    first = await draw_now(draws, clock, guild_id=GUILD, number=1, actor_id=ORGANISER)
    before = await snapshot(db)
    again = await draw_now(draws, clock, guild_id=GUILD, number=1, actor_id=ORGANISER, places="5")
    assert not again.created and again.ignored == ("places",)
    assert [c.order for c in again.view.categories] == [c.order for c in first.view.categories]
    assert await snapshot(db) == before


async def test_concurrent_runs_draw_once(
    db: Database, calls: CallService, draws: DrawService, clock: FakeClock
) -> None:
    call_id, _ = await story_call(calls, clock)
    frozen = await asyncio.gather(
        *(draws.run(guild_id=GUILD, number=1, actor_id=ORGANISER) for _ in range(5))
    )
    assert sum(o.froze_now for o in frozen) == 1  # one freeze
    assert len({o.freeze.freeze_hash for o in frozen if o.freeze}) == 1
    await publish_and_wait(draws, clock, call_id)
    outcomes = await asyncio.gather(
        *(draws.run(guild_id=GUILD, number=1, actor_id=ORGANISER) for _ in range(5))
    )
    assert sum(o.created for o in outcomes) == 1
    assert len({tuple(c.order for c in o.view.categories if o.view) for o in outcomes}) == 1
    assert (
        await db.fetchval("SELECT COUNT(*) FROM draw_entries WHERE call_id = ?", (call_id,)) == 17
    )
    assert (
        await db.fetchval(
            "SELECT COUNT(DISTINCT ref) FROM draw_entries WHERE call_id = ?", (call_id,)
        )
        == 17
    )


async def test_sign_ups_after_the_draw_are_refused(
    calls: CallService, draws: DrawService, clock: FakeClock
) -> None:
    _call_id, msg = await story_call(calls, clock)
    await draw_now(draws, clock, guild_id=GUILD, number=1, actor_id=ORGANISER)
    assert (await calls.react(msg, 999, "🧭", added=True)).outcome == "closed"
    with pytest.raises(DomainError):
        await calls.reopen(GUILD, 1, None, "Europe/London")


async def test_places_override_and_fewer_volunteers_than_places(
    calls: CallService, draws: DrawService, clock: FakeClock
) -> None:
    _, msg = await make_call(calls, places="1")
    for user in (1, 2, 3, 4):
        await calls.react(msg, user, "🧭", added=True)
    await calls.react(msg, 9, "🌱", added=True)
    view = (
        await draw_now(
            draws, clock, guild_id=GUILD, number=1, actor_id=ORGANISER, places="🧭=2, 🌱=3"
        )
    ).view
    exp, new = view.categories
    assert (exp.places, len(exp.drawn), len(exp.reserve_order)) == (2, 2, 2)
    assert (new.places, new.drawn, new.open_places) == (3, (9,), 2)
    assert (await draws.verify(GUILD, 1)).ok
    assert view.draw.places == {"🧭": 2, "🌱": 3}
    assert "2 places are still open" in result_post_text(view, "", "")


@pytest.mark.parametrize("places", ["0", "abc", "🎲=2", "🧭=0", "-3"])
async def test_bad_places_change_nothing(
    db: Database, calls: CallService, draws: DrawService, clock: FakeClock, places: str
) -> None:
    await story_call(calls, clock)
    before = await snapshot(db)
    with pytest.raises(InvalidInput) as info:
        await draws.run(guild_id=GUILD, number=1, actor_id=ORGANISER, places=places)
    assert str(info.value)
    assert await snapshot(db) == before


async def test_no_volunteers_changes_nothing(
    db: Database, calls: CallService, draws: DrawService
) -> None:
    await make_call(calls, closes="in 1 day")
    before = await snapshot(db)
    with pytest.raises(InvalidInput):
        await draws.run(guild_id=GUILD, number=1, actor_id=ORGANISER)
    assert await snapshot(db) == before
    with pytest.raises(NotFound):
        await draws.run(guild_id=GUILD, number=7, actor_id=ORGANISER)
    with pytest.raises(NotFound):
        await draws.show(GUILD, 1)
    assert await snapshot(db) == before


async def test_replace_promotes_the_next_reserve_of_the_same_category(
    db: Database, calls: CallService, draws: DrawService, clock: FakeClock
) -> None:
    call_id, _ = await story_call(calls, clock)
    view = (await draw_now(draws, clock, guild_id=GUILD, number=1, actor_id=ORGANISER)).view
    new = view.categories[1]
    leaving = new.drawn[0]
    out = await draws.replace(GUILD, 1, leaving, ORGANISER)
    assert out.category.key == "🌱" and out.left_user_id == leaving
    assert out.promoted_user_id == new.reserve_order[0]
    group = await drawn_group(db, call_id)
    assert leaving not in group and new.reserve_order[0] in group and len(group) == 6
    still_invited = {r.user_id for r in (await draws.view(call_id)).reviewers}
    assert new.reserve_order[0] not in still_invited and len(still_invited) == 10
    # The member declines by button: the next reserve in line is promoted.
    second = await draws.decline(call_id, new.reserve_order[0])
    assert second.promoted_user_id == new.reserve_order[1]
    after = await draws.view(call_id)
    cat = after.categories[1]
    assert [e.user_id for e in cat.left] == [leaving, new.reserve_order[0]]
    assert cat.left[1].confirmation == "declined"
    assert [e.user_id for e in cat.waiting] == list(new.reserve_order[2:])
    # The published result never changes; verification still matches.
    assert cat.drawn == new.drawn and (await draws.verify(GUILD, 1)).ok


async def test_no_reserve_left_reports_the_place_open(
    calls: CallService, draws: DrawService, clock: FakeClock
) -> None:
    _, msg = await make_call(calls, places="1")
    await calls.react(msg, 1, "🧭", added=True)
    await calls.react(msg, 2, "🧭", added=True)
    await draw_now(draws, clock, guild_id=GUILD, number=1, actor_id=ORGANISER)
    view = await draws.show(GUILD, 1)
    first, reserve = view.categories[0].order
    assert (await draws.replace(GUILD, 1, first, ORGANISER)).promoted_user_id == reserve
    out = await draws.replace(GUILD, 1, reserve, ORGANISER)
    assert out.promoted_user_id is None
    assert (await draws.show(GUILD, 1)).categories[0].open_places == 1


async def test_replace_of_someone_not_in_the_group_changes_nothing(
    db: Database, calls: CallService, draws: DrawService, clock: FakeClock
) -> None:
    call_id, _ = await story_call(calls, clock)
    view = (await draw_now(draws, clock, guild_id=GUILD, number=1, actor_id=ORGANISER)).view
    reserve = view.categories[0].reserve_order[0]
    before = await snapshot(db)
    for user in (424242, reserve):
        with pytest.raises(NotAllowed):
            await draws.replace(GUILD, 1, user, ORGANISER)
    with pytest.raises(NotAllowed):
        await draws.decline(call_id, reserve)
    with pytest.raises(NotAllowed):
        await draws.confirm(call_id, 424242)
    with pytest.raises(NotAllowed):
        await draws.answer_review(call_id, view.drawn[0], accept=True)  # drawn, so not invited
    assert await snapshot(db) == before


async def test_confirm_and_reviewer_answers(
    db: Database, calls: CallService, draws: DrawService, clock: FakeClock
) -> None:
    call_id, _ = await story_call(calls, clock)
    view = (await draw_now(draws, clock, guild_id=GUILD, number=1, actor_id=ORGANISER)).view
    member = view.drawn[0]
    assert (await draws.confirm(call_id, member)).changed
    assert not (await draws.confirm(call_id, member)).changed
    reviewers = [r.user_id for r in view.reviewers]
    assert (await draws.answer_review(call_id, reviewers[0], accept=True)).changed
    assert not (await draws.answer_review(call_id, reviewers[0], accept=True)).changed
    assert (await draws.answer_review(call_id, reviewers[1], accept=False)).changed
    clock.advance(timedelta(seconds=1))
    assert (await draws.answer_review(call_id, reviewers[2], accept=True)).changed
    assert await accepted_reviewers(db, call_id) == [reviewers[0], reviewers[2]]
    audience = await call_audience(db, call_id)
    assert len(audience) == 8
    after = await draws.view(call_id)
    assert after.entry(member).confirmation == "confirmed"  # type: ignore[union-attr]
    assert "1 said no" in status_text(after) and "confirmed" in status_text(after)
    actions = [r[0] for r in await db.fetchall("SELECT action FROM audit_log ORDER BY seq")]
    assert actions.count("draw.run") == 1 and "draw.confirmed" in actions
    assert actions.count("review.accepted") == 2 and "review.declined" in actions


async def test_deliveries_are_claimed_once_and_finished_draws_drop_out(
    calls: CallService, draws: DrawService, clock: FakeClock
) -> None:
    call_id, _ = await story_call(calls, clock)
    await draw_now(draws, clock, guild_id=GUILD, number=1, actor_id=ORGANISER)
    assert await draws.unfinished() == [(call_id, GUILD)]
    todo = await draws.deliveries(call_id)
    assert len(todo.notices) == 6 and len(todo.invites) == 11
    user = todo.notices[0].user_id
    assert user is not None
    notices, invites = draws.delivery_run(call_id, "notice"), draws.delivery_run(call_id, "invite")
    await notices.start([(e.user_id, "dm") for e in todo.notices if e.user_id is not None])
    await invites.start([(e.user_id, "dm") for e in todo.invites if e.user_id is not None])
    assert await notices._claim([user], "dm") is not None
    assert await notices._claim([user], "dm") is None  # a re-run never sends twice
    await notices._put_back([user], [])  # a refused send is given back...
    assert await notices._claim([user], "dm") is not None  # ...and sent later
    assert await invites._claim([user], "dm") is None  # drawn members aren't invited
    assert await draws.mark_posted(call_id, 777) and not await draws.mark_posted(call_id, 778)
    # Claimed but not known to be sent (in flight, or a crash): still unfinished.
    assert await draws.unfinished() == [(call_id, GUILD)]

    async def yes(*_: object) -> bool:
        return True

    await notices._put_back([user], [])
    await notices.each([e.user_id for e in todo.notices if e.user_id], yes, reroute=False)
    await invites.each([e.user_id for e in todo.invites if e.user_id], yes, reroute=False)
    assert await draws.unfinished() == []
    # A promotion makes the draw unfinished again: the promoted member must be told.
    out = await draws.replace(GUILD, 1, user, ORGANISER)
    assert out.promoted_user_id is not None
    assert [e.user_id for e in (await draws.deliveries(call_id)).notices] == [out.promoted_user_id]
    assert await draws.unfinished() == [(call_id, GUILD)]


async def test_verify_detects_a_tampered_record(
    db: Database, calls: CallService, draws: DrawService, clock: FakeClock
) -> None:
    call_id, _ = await story_call(calls, clock)
    view = (await draw_now(draws, clock, guild_id=GUILD, number=1, actor_id=ORGANISER)).view
    a, b = view.categories[0].order[0], view.categories[0].order[5]
    await db.execute(
        "UPDATE draw_entries SET rank = -1 WHERE call_id = ? AND user_id = ?", (call_id, a)
    )
    await db.execute(
        "UPDATE draw_entries SET rank = 1 WHERE call_id = ? AND user_id = ?", (call_id, b)
    )
    await db.execute(
        "UPDATE draw_entries SET rank = 6 WHERE call_id = ? AND user_id = ?", (call_id, a)
    )
    report = await draws.verify(GUILD, 1)
    assert not report.ok and report.order_ok is False and report.commitment_ok
    await db.execute("UPDATE calls SET seed_commitment = ? WHERE id = ?", ("0" * 64, call_id))
    assert (await draws.verify(GUILD, 1)).commitment_ok is False
    roster = json.loads(view.draw.roster_json)
    roster[0][1] = "🌱" if roster[0][1] == "🧭" else "🧭"  # someone moved to the other category
    await db.execute(
        "UPDATE draws SET roster_json = ? WHERE call_id = ?", (json.dumps(roster), call_id)
    )
    assert (await draws.verify(GUILD, 1)).fingerprint_ok is False


async def test_export_has_everything_to_re_run(
    calls: CallService, draws: DrawService, clock: FakeClock
) -> None:
    await story_call(calls, clock)
    view = (await draw_now(draws, clock, guild_id=GUILD, number=1, actor_id=ORGANISER)).view
    data = draws.export(view)
    assert (data["format_version"], data["algorithm_version"]) == (3, 3)
    roster = [(r["ref"], r["category"]) for r in data["roster"]]
    places = {c["key"]: c["places"] for c in data["categories"]}
    seed = draw_seed(data["seed"], bytes.fromhex(data["beacon"]["randomness"]))
    assert seed == data["draw_seed"]
    again = run_draw(seed, roster, places, version=3)
    assert again.roster_fingerprint == data["roster_fingerprint"]
    assert {k: list(v) for k, v in again.selected().items()} == {
        k: v["selected"] for k, v in data["result"].items()
    }
    # No user id anywhere in the published file.
    ids = {str(u) for u in EXPERIENCED + NEW}

    def values(node: object) -> list[str]:
        if isinstance(node, dict):
            return [v for x in node.values() for v in values(x)]
        if isinstance(node, list):
            return [v for x in node for v in values(x)]
        return [str(node)]

    assert not set(values(json.loads(draws.export_json(view)))) & ids
    assert "user_id" not in draws.export_json(view)
    shown = verification_text(view)
    assert view.draw.seed in shown and data["freeze"]["fingerprint"] in shown


async def test_a_drawn_member_withdrawing_passes_the_place_on_and_the_draw_still_verifies(
    db: Database, calls: CallService, draws: DrawService, clock: FakeClock, jobs: JobScheduler
) -> None:
    call_id, _ = await story_call(calls, clock)
    view = (await draw_now(draws, clock, guild_id=GUILD, number=1, actor_id=ORGANISER)).view
    exp = view.categories[0]
    leaving, reserve = exp.drawn[0], exp.reserve_order[0]
    assert isinstance(leaving, int) and isinstance(reserve, int)
    reserve_leaving = exp.reserve_order[1]
    assert isinstance(reserve_leaving, int)
    freed = await draws.withdraw_member(GUILD, leaving)
    assert [(o.left_user_id, o.promoted_user_id) for o in freed] == [(None, reserve)]
    assert freed[0].left_ref == exp.entries[0].ref
    # A reserve withdrawing frees no place and is never offered one.
    assert await draws.withdraw_member(GUILD, reserve_leaving) == []
    assert await draws.withdraw_member(GUILD, reserve_leaving) == []  # nothing left to do
    after = (await draws.view(call_id)).categories[0]
    assert reserve in [e.user_id for e in after.current] and leaving not in [
        e.user_id for e in after.current
    ]
    assert [e.status for e in after.left] == ["replaced", "withdrawn"]
    assert {e.left_reason for e in after.left} == {"data_deleted"}
    group = await drawn_group(db, call_id)
    assert len(group) == 6 and leaving not in group
    # The announcement is not asked for yet (the member's data is deleted first), and even
    # while their id is still on the entry, the departure never names them.
    key = f"draw:{call_id}:left:{freed[0].left_ref}"
    assert await jobs.repo.get_by_key(key) is None
    early = await draws.left_outcome(call_id, freed[0].left_ref, freed[0].promoted_ref)
    assert early is not None and early.left_user_id is None and early.promoted_user_id == reserve
    # Then the draws cog is asked (by a job) to announce it and tell the promoted member.
    await draws.announce_departures(GUILD, [(call_id, freed[0].left_ref, freed[0].promoted_ref)])
    job = await jobs.repo.get_by_key(key)
    assert job is not None and job.kind == MEMBER_LEFT_JOB and job.status == "pending"
    # (compared value by value: a short test id like 109 can occur inside a random hex ref)
    assert str(leaving) not in {str(v) for v in job.payload.values()}
    assert "user" not in json.dumps(job.payload)
    # Once the ids are removed (what /mydata delete does next), everything still verifies.
    await db.execute(
        "UPDATE draw_entries SET user_id = NULL WHERE user_id IN (?, ?)", (leaving, reserve_leaving)
    )
    again = await draws.view(call_id)
    assert (await draws.verify(GUILD, 1)).ok
    assert again.categories[0].refs == exp.refs  # the published order never changes
    assert "a member who withdrew" in status_text(again)
    assert "a member who withdrew" in result_post_text(again, "", "")
    outcome = await draws.left_outcome(call_id, freed[0].left_ref, freed[0].promoted_ref)
    assert (
        outcome is not None and outcome.left_user_id is None and outcome.promoted_user_id == reserve
    )
    assert await draws.claim_announcement(call_id, freed[0].left_ref)
    assert not await draws.claim_announcement(call_id, freed[0].left_ref)  # posted once
    actions = [r[0] for r in await db.fetchall("SELECT action FROM audit_log ORDER BY seq")]
    assert actions.count("draw.withdrawn") == 2


async def test_a_claim_left_by_a_crash_is_taken_over_once_while_discord_dedupes(
    db: Database, calls: CallService, draws: DrawService, clock: FakeClock, jobs: JobScheduler
) -> None:
    call_id, _ = await story_call(calls, clock)
    await draw_now(draws, clock, guild_id=GUILD, number=1, actor_id=ORGANISER)
    todo = await draws.deliveries(call_id)
    recent, old = todo.notices[0].user_id, todo.notices[1].user_id
    assert recent is not None and old is not None
    run = draws.delivery_run(call_id, "notice")
    await run.start([(recent, "dm"), (old, "dm")])
    assert await run._claim([old], "dm") is not None
    clock.advance(timedelta(minutes=4))
    assert await run._claim([recent], "dm") is not None
    clock.advance(timedelta(minutes=2))  # old: claimed 6 minutes ago, recent: 2 minutes ago
    assert await run._claim([recent], "dm") is None  # a send in progress is never taken over

    restarted = DrawService(
        db, clock, jobs, beacon=LocalBeacon(clock)
    )  # the bot after a crash (both left 'sending')
    assert await restarted.unfinished() == [(call_id, GUILD)]
    again = restarted.delivery_run(call_id, "notice")
    unknown = await again.start([(recent, "dm"), (old, "dm")])
    assert unknown == [old]  # the 6-minute-old one: too old for Discord to de-duplicate
    await restarted.record_unknown((await restarted.view(call_id)).call, "notice", unknown)
    due = {e.user_id for e in (await restarted.deliveries(call_id)).notices}
    assert recent in due and old not in due
    assert await again._claim([recent], "dm") is not None  # re-sent (same nonce)
    assert await again._claim([recent], "dm") is None  # ...once
    assert await again._claim([old], "dm") is None  # never re-sent
    row = (await restarted.view(call_id)).told("notice", old)
    assert row is not None and row.state == "unknown"
    # Giving back never undoes a delivery on record.
    await again._put_back([old], [])
    assert (await restarted.view(call_id)).told("notice", old).state == "unknown"  # type: ignore[union-attr]
    actions = [r[0] for r in await db.fetchall("SELECT action FROM audit_log")]
    assert "draw.notice_unknown" in actions
