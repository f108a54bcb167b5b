"""Deliveries end to end: Discord's enforce_nonce, and a reminder re-sent after a hard crash
reaching the member once (the real bot, discord.py and the fake server)."""

from __future__ import annotations

from datetime import timedelta

from bot.domain.delivery.models import nonce_for
from bot.notify import send_dm
from tests.e2e.conftest import World
from tests.e2e.harness import RunningBot
from tests.e2e.test_sessions_e2e import book, create_session


async def test_a_repeated_nonce_returns_the_first_message(
    world: World, running: RunningBot
) -> None:
    assert running.bot is not None
    channel = running.bot.get_partial_messageable(world.channel.id)
    before = len(world.fake.bot_messages(world.channel))
    first = await channel.send("Hello", nonce="delivery-1")
    again = await channel.send("Hello", nonce="delivery-1")
    other = await channel.send("Hello")  # discord.py adds a random nonce of its own
    assert again.id == first.id and other.id != first.id
    assert len(world.fake.bot_messages(world.channel)) == before + 2


async def test_reminder_maybe_sent_before_a_crash_reaches_the_member_once(
    world: World, running: RunningBot
) -> None:
    fake = world.fake
    post = await create_session(world, running, capacity=3)
    members = world.members[:2]
    for member in members:
        await book(world, member, post)
    await running.settle()
    row = await running.db.fetchone("SELECT id, starts_at FROM sessions")
    session_id, starts_at = int(row[0]), float(row[1])
    dms_before = {m.user.id: len(fake.dms(m)) for m in members}

    # The 24h reminder is due; a run sent the first member's DM and the process died before
    # recording it: the row is left 'sending'.
    running.clock.advance(timedelta(days=1))
    kind = f"reminder:86400:{int(starts_at)}"
    victim = members[0].user.id
    nonce = nonce_for(f"session:{session_id}:{kind}:dm:{victim}")
    assert running.bot is not None
    await send_dm(running.bot, victim, "A friendly reminder (sent before the crash)", nonce=nonce)
    now = running.clock.now().timestamp()
    await running.db.execute(
        "INSERT INTO deliveries (owner_kind, owner_id, part, user_id, state, via, claimed_at, "
        "updated_at) VALUES ('session', ?, ?, ?, 'sending', 'dm', ?, ?)",
        (session_id, kind, victim, now, now),
    )

    await running.restart()
    await running.advance(timedelta(minutes=1))  # the job runs again within 5 minutes
    assert {m.user.id: len(fake.dms(m)) for m in members} == {
        m.user.id: dms_before[m.user.id] + 1 for m in members
    }
    resent = [
        r
        for r in fake.requests_matching("POST", r"/channels/\d+/messages")
        if isinstance(r.json, dict) and r.json.get("nonce") == nonce
    ]
    assert len(resent) == 2 and all(r.json.get("enforce_nonce") for r in resent)
    states = await running.db.fetchall(
        "SELECT user_id, state FROM deliveries WHERE owner_kind = 'session' AND owner_id = ? "
        "AND part = ?",
        (session_id, kind),
    )
    assert {r[0]: r[1] for r in states} == {m.user.id: "sent" for m in members}
