"""Sessions end to end: 22 places, 30 try to book, 3 cancel, 3 promoted; reminders; evaluation."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from tests.e2e.conftest import World
from tests.e2e.harness import RunningBot

EPHEMERAL = 64


def session_buttons(message: Any) -> dict[str, str]:
    found = {}
    for c in message.walk_components():
        cid = str(c.get("custom_id", ""))
        if cid.startswith("session:"):
            found[cid.split(":")[1]] = cid
    return found


async def create_session(
    world: World, running: RunningBot, *, capacity: int = 22, starts: str = "in 2 days"
) -> Any:
    fake = world.fake
    before = {m.id for m in fake.bot_messages(world.channel)}
    handle = await fake.run_command(
        world.organiser,
        world.channel,
        "session create",
        title="LinkedIn: an introduction",
        starts=starts,
        capacity=str(capacity),
        duration="90m",
    )
    assert (await handle.wait(timeout=5)).flags & EPHEMERAL
    return await fake.wait_until(
        lambda: next(
            (
                m
                for m in fake.bot_messages(world.channel)
                if m.id not in before and "book" in session_buttons(m)
            ),
            None,
        ),
        timeout=5,
        what="the session post",
    )


async def book(world: World, member: Any, post: Any) -> Any:
    fake = world.fake
    click = await fake.click(member, post, session_buttons(post)["book"])
    submitted = await fake.submit_modal(
        member,
        click,
        {
            "experience": "New to it",
            "aims": "Connecting with people",
            "barriers": "I use a screen reader",
        },
        timeout=5,
    )
    return await submitted.wait(timeout=5)


async def bookings(running: RunningBot) -> tuple[list[int], list[int]]:
    rows = await running.db.fetchall(
        "SELECT user_id, status FROM session_bookings WHERE status IN ('confirmed', 'waiting') "
        "ORDER BY seq"
    )
    return ([r[0] for r in rows if r[1] == "confirmed"], [r[0] for r in rows if r[1] == "waiting"])


async def run_story_session(world: World, running: RunningBot) -> None:
    fake = world.fake
    post = await create_session(world, running)
    people = world.members[:30]
    replies = await asyncio.gather(*(book(world, m, post) for m in people))
    assert all(r.flags & EPHEMERAL for r in replies)
    await running.settle()
    confirmed, waiting = await bookings(running)
    assert len(confirmed) == 22 and len(waiting) == 8

    # Three cancel: the first three waiting are promoted, in order, and told.
    leaving = [m for m in people if m.user.id in confirmed][:3]
    promoted_ids = waiting[:3]
    dms_before = {
        uid: len(fake.dms(next(m for m in people if m.user.id == uid))) for uid in promoted_ids
    }
    for m in leaving:
        click = await fake.click(m, post, session_buttons(post)["unbook"])
        await click.wait(timeout=5)
    await running.settle()
    confirmed2, waiting2 = await bookings(running)
    assert len(confirmed2) == 22 and waiting2 == waiting[3:]
    assert set(promoted_ids) <= set(confirmed2)
    by_id = {m.user.id: m for m in people}
    await fake.wait_until(
        lambda: all(
            len(fake.dms(by_id[uid])) > dms_before[uid] or by_id[uid].user.dms_closed
            for uid in promoted_ids
        ),
        timeout=5,
        what="promotion notices",
    )
    await fake.wait_until(
        lambda: "22 of 22" in fake.message_text(post),
        timeout=5,
        what="the live places line",
    )

    # Privacy: no survey answer ever appears in a public channel.
    public = " ".join(fake.message_text(m) for m in fake.messages(world.channel))
    assert "screen reader" not in public

    # Reminders (24h and 1h before) reach every confirmed attendee once; then the evaluation.
    dm_counts = {uid: len(fake.dms(by_id[uid])) for uid in confirmed2}
    await running.advance(timedelta(days=1, minutes=1))
    assert all(len(fake.dms(by_id[uid])) == dm_counts[uid] + 1 for uid in confirmed2)
    await running.restart()  # a restart between reminders loses and repeats nothing
    await running.advance(timedelta(hours=23))
    assert all(len(fake.dms(by_id[uid])) == dm_counts[uid] + 2 for uid in confirmed2)
    await running.advance(timedelta(hours=2, minutes=30))  # the session (90 minutes) has ended
    evaluation = fake.dms(by_id[confirmed2[0]])[-1]
    assert "feedback" in session_buttons(evaluation)
    click = await fake.click(
        by_id[confirmed2[0]], evaluation, session_buttons(evaluation)["feedback"]
    )
    modal = await click.modal(timeout=5)
    assert modal.data
    # The rating is a 1-to-5 radio group: one tap.
    sent = await fake.submit_modal(
        by_id[confirmed2[0]], click, {"rating": "5", "useful": "The demo"}, timeout=5
    )
    assert (await sent.wait(timeout=5)).flags & EPHEMERAL
    handle = await fake.run_command(world.organiser, world.channel, "session evaluation", session=1)
    summary = await handle.wait(timeout=5)
    [chart] = [u for u in fake.attachments_of(summary.message) if u.filename.endswith(".png")]
    assert chart.description and "5: 1" in chart.description


async def test_story_session(world: World, running: RunningBot) -> None:
    await run_story_session(world, running)


async def test_buttons_still_work_after_restart(world: World, running: RunningBot) -> None:
    fake = world.fake
    post = await create_session(world, running, capacity=1)
    await book(world, world.members[0], post)
    await running.restart()
    reply = await book(world, world.members[1], post)  # old post, new process
    assert reply.flags & EPHEMERAL
    confirmed, waiting = await bookings(running)
    assert confirmed == [world.members[0].user.id] and waiting == [world.members[1].user.id]
    click = await fake.click(world.members[0], post, session_buttons(post)["unbook"])
    await click.wait(timeout=5)
    await running.settle()
    assert (await bookings(running)) == ([world.members[1].user.id], [])
