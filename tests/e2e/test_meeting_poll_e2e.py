"""/meeting poll: a native poll among the group; when it closes the organiser sees who can come
at each time and makes the meeting at the winning time with one press."""

from __future__ import annotations

import json
from datetime import timedelta

from icalendar import Calendar

from tests.e2e.conftest import World
from tests.e2e.harness import RunningBot

EPHEMERAL = 64


async def test_a_poll_closes_and_its_winning_time_becomes_the_meeting(
    world: World, running: RunningBot
) -> None:
    fake = world.fake
    group = fake.add_role(world.guild, "LinkedIn group")
    people = world.members[:5]
    for m in people:
        fake.set_member_roles(m, [group])
    await running.settle()
    handle = await fake.run_command(
        world.organiser,
        world.channel,
        "meeting poll",
        title="Group meeting 1",
        options="2026-12-10 18:00; 2026-12-12 12:00; 2026-12-14 09:30",
        role=group,
        closes="in 1 hour",
    )
    reply = await handle.wait(timeout=5)
    assert reply.flags & EPHEMERAL
    post = await fake.wait_for_message(world.channel, check=lambda m: m.poll is not None)
    answers = post.poll["answers"]
    assert [a["poll_media"]["text"] for a in answers][1] == "Sat 12 Dec 2026, 12:00"
    assert all(f"<@{m.user.id}>" in post.content for m in people)  # the group is asked

    for m in people[:3]:  # three can come on the 12th; one of them on the 10th too
        await fake.vote(m, post, 2)
    await fake.vote(people[0], post, 1)
    await fake.vote(people[3], post, 1)
    await running.settle()
    assert await running.db.fetchval("SELECT COUNT(*) FROM meetings") == 0

    await running.advance(timedelta(hours=1, minutes=1))  # the poll closes
    result = await fake.wait_until(
        lambda: next((m for m in fake.dms(world.organiser) if m.is_components_v2), None),
        timeout=5,
        what="the poll result for the organiser",
    )
    text = fake.message_text(result)
    assert "3 people can come" in text and "2 people can come" in text and "0 people" in text
    assert all(f"<@{m.user.id}>" in text for m in people[:4])
    assert fake.message(post).poll_finalized  # the bot ended it

    # Only the organiser who made the poll can use its buttons.
    other = await fake.click(people[0], result, "meeting:pick:1:1", force=True)
    assert (await other.wait(timeout=5)).ephemeral
    assert await running.db.fetchval("SELECT COUNT(*) FROM meetings") == 0

    press = await fake.click(world.organiser, result, "meeting:pick:1:1")
    done = await press.wait(timeout=5)
    assert "Meeting #1" in done.content
    starts_at, title = await running.db.fetchone("SELECT starts_at, title FROM meetings")
    options = json.loads(await running.db.fetchval("SELECT options FROM meeting_polls"))
    assert title == "Group meeting 1" and starts_at == options[1]  # the winning time
    audience = {r[0] for r in await running.db.fetchall("SELECT user_id FROM meeting_audience")}
    assert audience == {m.user.id for m in people}
    assert len(fake.scheduled_events(world.guild)) == 1
    again = await fake.click(world.organiser, result, "meeting:pick:1:0")
    await again.wait(timeout=5)
    assert await running.db.fetchval("SELECT COUNT(*) FROM meetings") == 1  # only once

    # The meeting's reminder DMs carry its calendar event (for members who asked for DMs).
    meeting_post = next(
        m for m in fake.bot_messages(world.channel) if "meeting:dms:1" in m.custom_ids
    )
    await (await fake.click(people[0], meeting_post, "meeting:dms:1")).wait(timeout=5)
    await running.advance(timedelta(days=16))
    reminders = [m for m in fake.dms(people[0]) if fake.attachments_of(m)]
    assert reminders
    [ics] = fake.attachments_of(reminders[-1])
    assert ics.filename == "meeting-1.ics" and ics.description
    event = Calendar.from_ical(ics.data).walk("VEVENT")[0]
    assert event.decoded("dtstart").timestamp() == int(starts_at)


async def test_a_meeting_post_carries_its_event_and_its_cancellation_a_cancel_file(
    world: World, running: RunningBot
) -> None:
    fake = world.fake
    group = fake.add_role(world.guild, "Group")
    for m in world.members[:3]:
        fake.set_member_roles(m, [group])
    await running.settle()
    handle = await fake.run_command(
        world.organiser,
        world.channel,
        "meeting create",
        title="Meet",
        starts="in 3 days",
        role=group,
    )
    await handle.wait(timeout=5)
    post = next(m for m in fake.bot_messages(world.channel) if "meeting:dms:1" in m.custom_ids)
    [made] = fake.attachments_of(post)
    first = Calendar.from_ical(made.data)
    assert str(first.get("method")) == "PUBLISH"
    handle = await fake.run_command(world.organiser, world.channel, "meeting cancel", meeting=1)
    await handle.wait(timeout=5)
    cancel_post = await fake.wait_until(
        lambda: next(
            (
                m
                for m in fake.bot_messages(world.channel)
                if m.id != post.id and fake.attachments_of(m)
            ),
            None,
        ),
        timeout=5,
        what="the cancellation post",
    )
    [ics] = fake.attachments_of(cancel_post)
    cancelled = Calendar.from_ical(ics.data)
    assert str(cancelled.get("method")) == "CANCEL"
    [a], [b] = first.walk("VEVENT"), cancelled.walk("VEVENT")
    assert str(a.get("uid")) == str(b.get("uid"))
    assert int(b.get("sequence")) > int(a.get("sequence"))
