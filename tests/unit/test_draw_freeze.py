"""Freeze, then reveal (issue 12): the roster is frozen and published before the public value it
names exists; the draw waits for a genuine drand round; nothing can be steered afterwards."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from bot.beacon.source import BeaconSource
from bot.clock import FakeClock
from bot.domain.calls.service import CallService
from bot.domain.draws.algorithm import freeze_fingerprint, roster_fingerprint, run_draw
from bot.domain.draws.models import BeaconChoice
from bot.domain.draws.service import DrawService
from bot.domain.errors import Conflict, InvalidInput
from bot.scheduling import JobScheduler
from bot.verify_draw import main as verify_draw
from db import Database
from tests.fakes.beacon import LocalBeacon, chain_args, draw_now, publish_and_wait
from tests.fakes.drand_server import FakeDrandServer
from tests.independent_verifier import verify as independent_verify
from tests.unit.test_draw_service import EXPERIENCED, GUILD, ORGANISER, story_call


@pytest.fixture
def calls(db: Database, clock: FakeClock, jobs: JobScheduler) -> CallService:
    return CallService(db, clock, jobs)


@pytest.fixture
def draws(db: Database, clock: FakeClock, jobs: JobScheduler) -> DrawService:
    return DrawService(db, clock, jobs, beacon=LocalBeacon(clock))


@pytest.fixture
async def chain(clock: FakeClock) -> AsyncIterator[FakeDrandServer]:
    """A drand chain of its own over HTTP, on the test's clock."""
    async with FakeDrandServer(clock=lambda: clock.now().timestamp()) as server:
        yield server


def check(data: str, *args: str) -> tuple[int, str]:
    out = io.StringIO()
    code = verify_draw(["--json", "-", *args], stdin=io.StringIO(data), stdout=out)
    return code, out.getvalue()


async def test_the_draw_waits_for_its_round_verifies_it_and_refuses_a_forgery(
    db: Database,
    calls: CallService,
    clock: FakeClock,
    jobs: JobScheduler,
    chain: FakeDrandServer,
) -> None:
    beacon = BeaconSource(chain.url, chain.chain.chain_hash, clock=lambda: clock.now().timestamp())
    draws = DrawService(db, clock, jobs, beacon=beacon)
    call_id, _ = await story_call(calls, clock)
    first = await draws.run(guild_id=GUILD, number=1, actor_id=ORGANISER)
    freeze = first.freeze
    assert first.froze_now and first.view is None and freeze is not None
    assert freeze.beacon_chain == chain.chain.chain_hash
    assert freeze.beacon_due_at > freeze.frozen_at + 59  # named a minute ahead: time to publish
    # Not published yet, and not due yet: no draw.
    assert first.waiting is not None and first.waiting.kind == "not_due"
    await draws.mark_freeze_posted(call_id, 1234)
    clock.advance(timedelta(seconds=freeze.beacon_due_at - clock.now().timestamp() + 1))
    # The server serves a forged round (signed by another key): refused, nothing drawn.
    assert freeze.beacon_round is not None
    chain.forge(freeze.beacon_round, "other-key")
    forged = await draws.run(guild_id=GUILD, number=1, actor_id=ORGANISER)
    assert forged.view is None and forged.waiting is not None
    assert forged.waiting.kind == "waiting" and "verify" in forged.waiting.detail
    assert await db.fetchval("SELECT COUNT(*) FROM draws") == 0
    assert await db.fetchval("SELECT beacon_value FROM draw_freezes") is None
    # The beacon down: the draw waits too (never falls back).
    chain.forge(freeze.beacon_round, "randomness")
    assert (await draws.run(guild_id=GUILD, number=1, actor_id=ORGANISER)).view is None
    await chain.go_down("503")
    assert (await draws.run(guild_id=GUILD, number=1, actor_id=ORGANISER)).view is None
    await chain.come_back()
    chain._forged.clear()  # the genuine round again
    drawn = await draws.run(guild_id=GUILD, number=1, actor_id=ORGANISER)
    assert drawn.created and drawn.view is not None
    stored = drawn.view.freeze
    assert stored is not None
    genuine = chain.genuine_round(freeze.beacon_round)
    assert stored.beacon_signature == genuine.signature.hex()
    assert stored.beacon_value == genuine.randomness.hex()
    report = await draws.verify(GUILD, 1)
    assert report.ok and report.beacon_ok and report.freeze_ok
    # The published file checks out offline with both checkers, against the chain's own key.
    data = draws.export_json(drawn.view)
    code, out = check(data, "--chain-hash", chain.chain.chain_hash)
    assert code == 0, out
    assert independent_verify(json.loads(data), chain.chain.chain_hash) == (True, [])
    # ... online too; and a checker that trusts quicknet (the default) refuses this chain.
    code, out = await asyncio.to_thread(  # the checker runs its own event loop
        check, data, "--chain-hash", chain.chain.chain_hash, "--beacon-url", chain.url
    )
    assert code == 0, out
    assert check(data)[0] == 1
    # A forged signature in the file is refused by both checkers.
    tampered = json.loads(data)
    tampered["beacon"]["signature"] = chain.genuine_round(freeze.beacon_round + 1).signature.hex()
    assert check(json.dumps(tampered), "--chain-hash", chain.chain.chain_hash)[0] == 1
    assert not independent_verify(tampered, chain.chain.chain_hash)[0]


async def test_an_unpublished_freeze_is_never_drawn(
    db: Database, calls: CallService, draws: DrawService, clock: FakeClock
) -> None:
    await story_call(calls, clock)
    first = await draws.run(guild_id=GUILD, number=1, actor_id=ORGANISER)
    assert first.freeze is not None
    clock.advance(timedelta(seconds=first.freeze.beacon_due_at - clock.now().timestamp() + 1))
    late = await draws.run(guild_id=GUILD, number=1, actor_id=ORGANISER)
    assert late.waiting is not None and late.waiting.kind == "not_published"
    assert await db.fetchval("SELECT COUNT(*) FROM draws") == 0
    # Re-opening is allowed (the freeze was never public), and closing again makes a new one.
    await calls.reopen(GUILD, 1, None, "Europe/London")
    assert await db.fetchval("SELECT COUNT(*) FROM draw_freezes") == 0
    again = await draws.run(guild_id=GUILD, number=1, actor_id=ORGANISER)
    assert again.froze_now and again.freeze is not None
    assert again.freeze.freeze_hash != first.freeze.freeze_hash  # fresh references


async def test_places_are_fixed_at_the_freeze(
    db: Database, calls: CallService, draws: DrawService, clock: FakeClock
) -> None:
    call_id, _ = await story_call(calls, clock)
    call = await draws.call_of(call_id)
    made = await draws.freeze_for_close(call_id, actor_id=ORGANISER, reason="organiser")
    assert made.kind == "created" and made.freeze is not None
    assert made.freeze.places == {"🧭": 3, "🌱": 3}
    with pytest.raises(Conflict):
        await calls.edit(GUILD, 1, places="1", tz="Europe/London")
    with pytest.raises(Conflict):
        await draws.run(guild_id=GUILD, number=1, actor_id=ORGANISER, places="🧭=1")
    same = await draws.run(guild_id=GUILD, number=1, actor_id=ORGANISER, places="3")
    assert same.freeze is not None and same.freeze.places == {"🧭": 3, "🌱": 3}
    # Re-opening before the round drops the freeze (a new one comes at the next close); once
    # the round is out after a public freeze, the draw is decided: re-opening is refused.
    await calls.reopen(GUILD, 1, None, "Europe/London")
    await calls.edit(GUILD, 1, places="🧭=2", tz="Europe/London")
    view = (await draw_now(draws, clock, guild_id=GUILD, number=1, actor_id=ORGANISER)).view
    assert view is not None and view.draw.places == {"🧭": 2, "🌱": 3}
    assert call.seed == view.draw.seed
    with pytest.raises(Conflict):
        await calls.reopen(GUILD, 1, None, "Europe/London")


async def test_reopening_after_the_round_is_out_is_refused(
    db: Database, calls: CallService, draws: DrawService, clock: FakeClock
) -> None:
    call_id, _ = await story_call(calls, clock)
    await draws.freeze_for_close(call_id, actor_id=ORGANISER, reason="organiser")
    await publish_and_wait(draws, clock, call_id)
    with pytest.raises(Conflict):
        await calls.reopen(GUILD, 1, None, "Europe/London")
    assert await db.fetchval("SELECT COUNT(*) FROM draw_freezes") == 1


async def test_re_rolling_a_reference_after_the_freeze_is_caught(
    calls: CallService, draws: DrawService, clock: FakeClock, tmp_path: Path
) -> None:
    await story_call(calls, clock)
    view = (await draw_now(draws, clock, guild_id=GUILD, number=1, actor_id=ORGANISER)).view
    assert view is not None and view.freeze is not None
    frozen = draws.freeze_json(view.call, [c.category for c in view.categories], view.freeze)
    freeze_file = tmp_path / "call-1-roster.json"
    freeze_file.write_text(frozen, encoding="utf-8")
    data = draws.export_json(view)
    trust = chain_args(draws)
    assert check(data, *trust, "--freeze", str(freeze_file))[0] == 0
    # Someone holding the database re-rolls one member's salt after the freeze and re-makes the
    # whole file to match (new reference, new order, new fingerprints). The freeze published on
    # the call post before the round gives it away.
    forged = json.loads(data)
    new_ref = "f" * 32
    old_ref = forged["roster"][0]["ref"]
    roster = [
        (new_ref if r["ref"] == old_ref else r["ref"], r["category"]) for r in forged["roster"]
    ]
    places = [(c["key"], c["places"]) for c in forged["categories"]]
    result = run_draw(forged["draw_seed"], roster, dict(places), version=3)
    forged["roster"] = [{"ref": r, "category": k} for r, k in sorted(roster)]
    forged["roster_fingerprint"] = roster_fingerprint(roster, 3)
    forged["freeze"]["fingerprint"] = freeze_fingerprint(
        forged["seed_commitment"], forged["freeze"]["beacon_name"], places, roster
    )
    forged["result"] = {
        c.key: {"selected": list(c.selected), "reserve": list(c.reserve)} for c in result.categories
    }
    assert check(json.dumps(forged), *trust)[0] == 0  # consistent with itself...
    code, out = check(json.dumps(forged), *trust, "--freeze", str(freeze_file))
    assert code == 1 and "frozen roster file" in out  # ... but not the freeze published before


async def test_a_replacement_is_in_the_public_record_and_must_follow_the_reserve_order(
    db: Database, calls: CallService, draws: DrawService, clock: FakeClock
) -> None:
    await story_call(calls, clock)
    view = (await draw_now(draws, clock, guild_id=GUILD, number=1, actor_id=ORGANISER)).view
    assert view is not None
    exp = view.categories[0]
    leaving, first_reserve = exp.entries[0], exp.entries[3]
    assert leaving.user_id is not None
    await draws.replace(GUILD, 1, leaving.user_id, ORGANISER)
    after = await draws.view(view.call.id)
    [change] = after.changes
    assert (change.left_ref, change.joined_ref, change.reason) == (
        leaving.ref,
        first_reserve.ref,
        "replaced",
    )
    assert await db.fetchval("SELECT COUNT(*) FROM audit_log WHERE action = 'draw.replaced'") == 1
    data = json.loads(draws.export_json(after))
    assert data["changes"][0]["left"] == leaving.ref and data["changes"][0]["why"] == "replaced"
    assert check(json.dumps(data), *chain_args(draws))[0] == 0
    assert independent_verify(data, chain_args(draws)[1]) == (True, [])
    assert (await draws.verify(GUILD, 1)).changes_ok
    # A favoured second reserve brought in instead of the first: both checkers refuse it.
    skipped = json.loads(json.dumps(data))
    skipped["changes"][0]["joined"] = exp.entries[4].ref
    code, out = check(json.dumps(skipped), *chain_args(draws))
    assert code == 1 and "next on the reserve list" in out
    assert not independent_verify(skipped, chain_args(draws)[1])[0]

    # The member who left is never named in the record; the reference only.
    def values(node: object) -> list[str]:
        if isinstance(node, dict):
            return [v for x in node.values() for v in values(x)]
        if isinstance(node, list):
            return [v for x in node for v in values(x)]
        return [str(node)]

    assert str(leaving.user_id) not in values(data)


async def test_a_member_who_deleted_their_data_after_the_freeze_is_withdrawn_at_the_draw(
    db: Database, calls: CallService, draws: DrawService, clock: FakeClock
) -> None:
    from db.repositories.mydata import MyDataRepository

    call_id, _ = await story_call(calls, clock)
    await draws.freeze_for_close(call_id, actor_id=ORGANISER, reason="organiser")
    gone = EXPERIENCED[0]
    await MyDataRepository(db).delete(GUILD, gone, clock.now().timestamp())
    assert await db.fetchval("SELECT COUNT(*) FROM frozen_entries WHERE user_id = ?", (gone,)) == 0
    view = (await draw_now(draws, clock, guild_id=GUILD, number=1, actor_id=ORGANISER)).view
    assert view is not None and view.volunteers == 17  # the frozen roster, unchanged
    exp = view.categories[0]
    [withdrawn] = [e for e in exp.entries if e.user_id is None]
    assert withdrawn.status in ("replaced", "withdrawn")
    assert len(exp.current) == 3 and all(e.user_id is not None for e in exp.current)
    assert [c.reason for c in view.changes] == ["withdrew"]
    assert check(draws.export_json(view), *chain_args(draws))[0] == 0


async def test_a_public_value_named_by_the_organiser(
    db: Database, calls: CallService, draws: DrawService, clock: FakeClock
) -> None:
    call_id, _ = await story_call(calls, clock)
    due = clock.now().timestamp() + 3600
    source = "UK Lotto main numbers,  Saturday 28 November 2026"
    with pytest.raises(InvalidInput):  # a value already out can't be named
        await draws.run(
            guild_id=GUILD,
            number=1,
            actor_id=ORGANISER,
            choice=BeaconChoice("public", source, clock.now().timestamp() - 1),
        )
    first = await draws.run(
        guild_id=GUILD, number=1, actor_id=ORGANISER, choice=BeaconChoice("public", source, due)
    )
    assert first.freeze is not None and first.freeze.beacon_name == (
        "public UK Lotto main numbers, Saturday 28 November 2026"
    )
    await publish_and_wait(draws, clock, call_id)
    waiting = await draws.run(guild_id=GUILD, number=1, actor_id=ORGANISER)
    assert waiting.waiting is not None and waiting.waiting.kind == "need_value"
    drawn = await draws.run(guild_id=GUILD, number=1, actor_id=ORGANISER, value="3 14 15 26 35 42")
    assert drawn.created and drawn.view is not None
    data = draws.export_json(drawn.view)
    assert check(data)[0] == 0
    assert independent_verify(json.loads(data)) == (True, [])
    tampered = json.loads(data)
    tampered["beacon"]["value"] = "1 2 3 4 5 6"
    assert check(json.dumps(tampered))[0] == 1
