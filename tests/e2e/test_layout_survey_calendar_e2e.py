"""Layout posts, surveys answered in a tap, access needs and calendar files, end to end."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from icalendar import Calendar

from tests.e2e.conftest import World
from tests.e2e.harness import RunningBot
from tests.e2e.test_calls_e2e import create_story_call
from tests.e2e.test_sessions_e2e import create_session, session_buttons

EPHEMERAL = 64
COMPONENTS_V2 = 1 << 15


def calendar_of(fake: Any, message: Any) -> Calendar:
    [ics] = [u for u in fake.attachments_of(message) if u.filename.endswith(".ics")]
    assert ics.description  # every attachment says what it is
    return Calendar.from_ical(ics.data)


def only_event(calendar: Calendar) -> Any:
    [event] = calendar.walk("VEVENT")
    return event


async def set_questions(world: World, running: RunningBot, **questions: str) -> Any:
    handle = await world.fake.run_command(
        world.organiser, world.channel, "session questions", session=1, **questions
    )
    return await handle.wait(timeout=5)


async def book_with(world: World, member: Any, post: Any, values: dict[str, Any]) -> Any:
    fake = world.fake
    click = await fake.click(member, post, session_buttons(post)["book"])
    submitted = await fake.submit_modal(member, click, values, timeout=5)
    return await submitted.wait(timeout=5)


async def test_call_and_session_posts_are_layout_messages_with_their_counts(
    world: World, running: RunningBot
) -> None:
    fake = world.fake
    call = await create_story_call(world, running)
    assert fake.message(call).flags & COMPONENTS_V2 and not fake.message(call).embeds
    for m in world.members[:3]:
        await fake.react(m, world.channel, call, "🧭")
    await fake.wait_until(
        lambda: "3 volunteers" in fake.message_text(call), timeout=5, what="call counts"
    )
    assert fake.message(call).content == ""  # reactions still work on a layout post

    post = await create_session(world, running, capacity=2)
    assert fake.message(post).is_components_v2 and not fake.message(post).embeds
    assert "0 of 2" in fake.message_text(post)
    for m in world.members[:3]:
        reply = await book_with(world, m, post, {"experience": "New to it"})
        assert reply.flags & EPHEMERAL
    await fake.wait_until(
        lambda: (
            "2 of 2" in fake.message_text(post)
            and "1 on the waiting list" in fake.message_text(post)
        ),
        timeout=5,
        what="the session post's counts",
    )
    message = fake.message(post)
    assert len(message.walk_components()) <= 40
    assert sum(len(t) for t in message.texts) <= 4000


async def test_choice_and_multi_answers_are_stored_and_access_needs_stay_with_organisers(
    world: World, running: RunningBot
) -> None:
    fake = world.fake
    post = await create_session(world, running, capacity=5)
    reply = await set_questions(
        world,
        running,
        question1="How experienced are you? [Never used it; A little; Comfortable]",
        question2="multi: What do you want to use it for? [Finding work; Networking; Learning]",
        question3="scale: How confident are you online?",
        question4="Anything else?",
        optional="4",
    )
    assert reply.flags & EPHEMERAL
    # 4 questions + 2 about access needs: two form pages.
    member = world.members[0]
    click = await fake.click(member, post, session_buttons(post)["book"])
    first = await fake.submit_modal(
        member,
        click,
        {
            "q1": "A little",
            "q2": ["Networking", "Finding work"],
            "q3": "4",
            "q4": "I use a screen reader",
            "access": ["Captions", "Breaks"],
        },
        timeout=5,
    )
    page = await first.wait(timeout=5)
    assert page.flags & EPHEMERAL
    [next_id] = [c for c in page.message.custom_ids if c.startswith("session:page:")]
    second = await fake.click(member, page.message, next_id)
    done = await fake.submit_modal(member, second, {"access_other": "Step-free access"}, timeout=5)
    await done.wait(timeout=5)
    await running.settle()
    rows = dict(
        await running.db.fetchall(
            "SELECT key, answer FROM session_answers WHERE user_id = ?", (member.user.id,)
        )
    )
    assert rows["q1"] == "A little"
    assert rows["q2"] == "Finding work; Networking"  # the chosen options, in the question's order
    assert rows["q3"] == "4"
    assert rows["access"] == "Captions; Breaks"
    assert rows["access_other"] == "Step-free access"

    # Organisers see access needs grouped by need; the public never does.
    handle = await fake.run_command(world.organiser, world.channel, "session attendees", session=1)
    listing = await handle.wait(timeout=5)
    assert listing.flags & EPHEMERAL
    assert "Captions" in listing.content and "Step-free access" in listing.content
    public = " ".join(fake.message_text(m) for m in fake.messages(world.channel))
    for private in ("Captions", "Step-free", "screen reader", "Networking"):
        assert private not in public
    # The summary counts each ticked option and comes with charts that have alt text.
    handle = await fake.run_command(world.organiser, world.channel, "session survey", session=1)
    summary = await handle.wait(timeout=5)
    assert summary.flags & EPHEMERAL
    charts = [u for u in fake.attachments_of(summary.message) if u.filename.endswith(".png")]
    assert len(charts) == 3 and all(u.description for u in charts)
    assert "Networking: 1" in (charts[1].description or "")


async def test_booking_dms_carry_a_calendar_file_and_a_new_time_raises_its_sequence(
    world: World, running: RunningBot
) -> None:
    fake = world.fake
    post = await create_session(world, running, capacity=2)
    people = world.members[:3]
    for m in people:
        await book_with(world, m, post, {"experience": "New to it"})
    await running.advance(timedelta(seconds=1))
    start, end = await running.db.fetchone("SELECT starts_at, ends_at FROM sessions")
    for m in people[:2]:  # both with a place got a confirmation DM with the event
        await fake.wait_until(lambda m=m: fake.dms(m), timeout=5, what="a confirmation DM")
        [dm] = fake.dms(m)
        event = only_event(calendar_of(fake, dm))
        assert event.decoded("dtstart").timestamp() == int(start)  # whole seconds in a calendar
        assert event.decoded("dtend").timestamp() == int(end)
        assert int(event.get("sequence")) == 0
        uid = str(event.get("uid"))
    assert fake.dms(people[2]) == []  # waiting: no place, so no calendar event yet

    # A place comes free: the promoted member's DM has the same event.
    click = await fake.click(people[0], post, session_buttons(post)["unbook"])
    await click.wait(timeout=5)
    await running.advance(timedelta(seconds=1))
    await fake.wait_until(lambda: fake.dms(people[2]), timeout=5, what="the promotion DM")
    assert str(only_event(calendar_of(fake, fake.dms(people[2])[-1])).get("uid")) == uid

    # Moved: everyone booked gets the event again, same UID, higher SEQUENCE.
    handle = await fake.run_command(
        world.organiser, world.channel, "session edit", session=1, starts="in 3 days"
    )
    await handle.wait(timeout=5)
    await running.advance(timedelta(seconds=1))
    member = people[1]
    await fake.wait_until(lambda: len(fake.dms(member)) >= 2, timeout=5, what="the moved DM")
    moved = only_event(calendar_of(fake, fake.dms(member)[-1]))
    assert str(moved.get("uid")) == uid and int(moved.get("sequence")) == 1
    new_start = await running.db.fetchval("SELECT starts_at FROM sessions")
    assert moved.decoded("dtstart").timestamp() == int(new_start) != int(start)

    # Cancelled: a METHOD:CANCEL file, SEQUENCE higher again.
    handle = await fake.run_command(world.organiser, world.channel, "session cancel", session=1)
    await handle.wait(timeout=5)
    await running.advance(timedelta(seconds=1))
    await fake.wait_until(lambda: len(fake.dms(member)) >= 3, timeout=5, what="the cancel DM")
    cancelled = calendar_of(fake, fake.dms(member)[-1])
    assert str(cancelled.get("method")) == "CANCEL"
    assert int(only_event(cancelled).get("sequence")) == 2


async def test_my_timezone_shows_in_dms_and_calendar_gives_my_upcoming_events(
    world: World, running: RunningBot
) -> None:
    fake = world.fake
    member = world.members[0]
    handle = await fake.run_command(member, world.channel, "my-timezone", name="America/New_York")
    assert (await handle.wait(timeout=5)).ephemeral
    post = await create_session(world, running, capacity=5)
    await book_with(world, member, post, {"experience": "New to it"})
    await book_with(world, world.members[1], post, {"experience": "New to it"})
    await running.advance(timedelta(seconds=1))
    await fake.wait_until(lambda: fake.dms(member), timeout=5, what="the confirmation")
    assert "America/New_York" in fake.dms(member)[0].content
    assert "In your time zone" not in fake.dms(world.members[1])[0].content

    handle = await fake.run_command(member, world.channel, "calendar")
    reply = await handle.wait(timeout=5)
    assert reply.ephemeral
    [upload] = fake.attachments_of(reply.message)
    events = Calendar.from_ical(upload.data).walk("VEVENT")
    assert [str(e.get("summary")) for e in events] == ["LinkedIn: an introduction"]
    handle = await fake.run_command(world.members[2], world.channel, "calendar")
    nothing = await handle.wait(timeout=5)
    assert nothing.ephemeral and not fake.attachments_of(nothing.message)


async def test_a_feedback_round_in_a_forum_is_a_layout_post_with_its_plan_file_in_the_thread(
    world: World, running: RunningBot
) -> None:
    fake = world.fake
    forum = fake.add_channel(world.guild, "plans", type="forum")
    role = fake.add_role(world.guild, "Reviewers")
    for m in world.members[:3]:
        fake.set_member_roles(m, [role])
    await running.settle()
    # (the fake's run_command has a positional `channel`: the option goes in directly)
    handle = fake.interactions.command(
        world.organiser,
        world.channel,
        "feedback open",
        {
            "title": "LinkedIn session plan",
            "plan": "Welcome, then profiles.",
            "role": role,
            "channel": forum,
            "attachment": ("plan.txt", b"1. Welcome\n2. Profiles\n"),
        },
    )
    assert (await handle.wait(timeout=5)).ephemeral
    thread = await fake.wait_until(
        lambda: (fake.threads(forum) or [None])[0], timeout=5, what="the forum post"
    )
    first, *rest = fake.bot_messages(thread)
    assert first.is_components_v2 and "0 of 3" in fake.message_text(first)
    assert any(c.startswith("feedback:give:") for c in first.custom_ids)
    files = [u for m in rest for u in fake.attachments_of(m)]
    assert [u.filename for u in files] == ["plan.txt"]


async def test_the_organiser_digest_is_a_layout_post_with_access_needs_grouped(
    world: World, running: RunningBot
) -> None:
    fake = world.fake
    post = await create_session(world, running, capacity=30)
    long_aim = "I want to find work in my field and keep in touch with people. " * 4
    for i, m in enumerate(world.members[:25]):
        values: dict[str, Any] = {"experience": "New to it", "aims": f"{i}: {long_aim}"}
        if i < 2:
            values["access"] = ["Captions"]
        await book_with(world, m, post, values)
    await running.advance(timedelta(hours=24))  # an hour before the 24-hour reminder
    digest = await fake.wait_until(
        lambda: next((m for m in fake.dms(world.organiser) if m.is_components_v2), None),
        timeout=5,
        what="the organiser's digest",
    )
    text = fake.message_text(digest)
    assert "### Access needs" in text
    assert all(f"<@{m.user.id}>" in text for m in world.members[:2])
    assert "25 of 30 places booked" in text
    assert len(digest.walk_components()) <= 40 and sum(len(t) for t in digest.texts) <= 4000
    # Written answers are counted and pointed to (`/session survey`), never quoted in a DM.
    assert "I want to find work" not in text
    assert all("I want to find work" not in a.data.decode() for a in fake.attachments_of(digest))
    public = " ".join(fake.message_text(m) for m in fake.messages(world.channel))
    assert "Captions" not in public


async def test_an_embed_post_of_the_last_release_becomes_a_layout_post_on_its_next_edit(
    world: World, running: RunningBot
) -> None:
    import discord

    fake = world.fake
    post = await create_session(world, running, capacity=5)
    # The post as the last release made it: an embed with a row of buttons.
    bot = running.bot
    assert bot is not None
    channel = bot.get_partial_messageable(world.channel.id)
    legacy_view = discord.ui.View(timeout=None)
    legacy_view.add_item(discord.ui.Button(label="Book a place", custom_id="session:book:1"))
    old = await channel.send(
        embed=discord.Embed(title="Session #1: LinkedIn: an introduction"), view=legacy_view
    )
    await running.db.execute("UPDATE sessions SET message_id = ? WHERE id = 1", (old.id,))
    running.bot.services.sessions._forget(1)  # type: ignore[union-attr]
    assert not fake.message(old.id).is_components_v2
    reply = await book_with(
        world, world.members[0], fake.message(old.id), {"experience": "New to it"}
    )
    assert reply.flags & EPHEMERAL
    await fake.wait_until(
        lambda: fake.message(old.id).is_components_v2, timeout=5, what="the upgraded post"
    )
    upgraded = fake.message(old.id)
    assert not upgraded.embeds and upgraded.content == ""
    assert "1 of 5" in fake.message_text(upgraded)
    assert fake.message(post).is_components_v2  # the other post is untouched
