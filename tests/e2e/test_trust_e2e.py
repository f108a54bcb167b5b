"""Issue 11 — trust at the edges, end to end: presses from another server or a DM, autocomplete
for members, channel options the invoker could not post in, deleted posts, half-done creates,
deleted and edited feedback comments."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import discord
import pytest

from tests.e2e.conftest import World
from tests.e2e.fake_discord import Perm
from tests.e2e.harness import RunningBot
from tests.e2e.test_sessions_e2e import EPHEMERAL, bookings, create_session, session_buttons


async def _rows(running: RunningBot, table: str) -> int:
    count: int = await running.db.fetchval(f'SELECT COUNT(*) FROM "{table}"')
    return count


# -- item 2: a custom_id pressed from a message in another server, or from a DM --------------


async def test_book_pressed_from_another_server_books_nobody(
    world: World, running: RunningBot
) -> None:
    fake = world.fake
    post = await create_session(world, running, capacity=5)
    book_id = session_buttons(post)["book"]
    other = fake.add_guild("Somebody else's server")
    elsewhere = fake.add_channel(other, "general")
    stranger = fake.add_member(other, "stranger")
    await running.settle()
    # Another app's message in the other server carries our custom_id.
    handle = await fake.forge_click(stranger, elsewhere, book_id)
    reply = await handle.wait(timeout=5)
    assert reply.flags & EPHEMERAL
    assert reply.kind != "modal" and not reply.custom_id  # no booking form was opened
    # And a member of server 1 pressing it from a DM is refused too.
    dm = await fake.forge_click(world.members[0], None, book_id)
    assert (await dm.wait(timeout=5)).flags & EPHEMERAL
    await running.settle()
    assert await bookings(running) == ([], [])


async def test_every_button_refuses_a_press_from_another_server(
    world: World, running: RunningBot
) -> None:
    """Each persistent custom_id pattern the bot registers, pressed from another server."""
    fake = world.fake
    post = await create_session(world, running, capacity=5)
    session_id = int(session_buttons(post)["book"].split(":")[2])
    other = fake.add_guild("Elsewhere")
    elsewhere = fake.add_channel(other, "general")
    stranger = fake.add_member(other, "stranger")
    await running.settle()
    before = {t: await _rows(running, t) for t in ("session_bookings", "deliveries")}
    for custom_id in (
        f"session:book:{session_id}",
        f"session:unbook:{session_id}",
        f"session:feedback:{session_id}",
    ):
        handle = await fake.forge_click(stranger, elsewhere, custom_id)
        reply = await handle.wait(timeout=5)
        assert reply.flags & EPHEMERAL, custom_id
        assert not reply.custom_id, custom_id  # no form opened
        assert "error id" not in reply.content, custom_id
    await running.settle()
    assert {t: await _rows(running, t) for t in before} == before


# -- item 3: autocomplete answers organisers only --------------------------------------------


async def test_autocomplete_tells_a_member_nothing(world: World, running: RunningBot) -> None:
    fake = world.fake
    await create_session(world, running, capacity=5)
    as_member = await fake.autocomplete(
        world.members[0], world.channel, "session edit", focused="session", session=""
    )
    as_organiser = await fake.autocomplete(
        world.organiser, world.channel, "session edit", focused="session", session=""
    )
    member_reply: Any = await as_member.wait(timeout=5)
    organiser_reply: Any = await as_organiser.wait(timeout=5)
    assert organiser_reply.choices  # the organiser sees the session
    assert member_reply.choices == []


# -- item 4: the invoker's own rights in every `channel` option ------------------------------

TABLES = ("calls", "sessions", "meetings", "feedback_rounds", "scheduled_jobs", "audit_log")


async def _counts(running: RunningBot) -> dict[str, int]:
    return {t: await _rows(running, t) for t in TABLES}


async def test_channel_options_need_the_invokers_own_rights(
    world: World, running: RunningBot
) -> None:
    fake = world.fake
    me = world.organiser
    hidden = fake.add_channel(world.guild, "staff-only", overwrites={me: (0, Perm.VIEW_CHANNEL)})
    muted = fake.add_channel(world.guild, "announcements", overwrites={me: (0, Perm.SEND_MESSAGES)})
    no_threads = fake.add_channel(
        world.guild, "plans", overwrites={me: (0, Perm.CREATE_PUBLIC_THREADS)}
    )
    voice = fake.add_channel(
        world.guild, "staff-voice", type="voice", overwrites={me: (0, Perm.VIEW_CHANNEL)}
    )
    await running.settle()
    before = await _counts(running)
    attempts: list[tuple[str, dict[str, Any]]] = []
    for channel in (hidden, muted):
        attempts += [
            ("call create", {"title": "Dig", "categories": "🌱 New", "channel": channel}),
            (
                "session create",
                {"title": "Intro", "starts": "in 2 days", "capacity": "5", "channel": channel},
            ),
            ("meeting create", {"title": "Plan", "starts": "in 2 days", "channel": channel}),
            ("feedback open", {"title": "Plan", "plan": "Read it", "channel": channel}),
        ]
    attempts += [
        ("feedback open", {"title": "Plan", "plan": "Read it", "channel": no_threads}),
        (
            "session create",
            {"title": "Intro", "starts": "in 2 days", "capacity": "5", "voice": voice},
        ),
        ("meeting create", {"title": "Plan", "starts": "in 2 days", "voice": voice}),
    ]
    for name, options in attempts:
        # (run_command's own `channel` argument is where the command is typed)
        handle = fake.interactions.command(me, world.channel, name, options)
        reply = await handle.wait(timeout=5)
        assert reply.flags & EPHEMERAL, name
        assert "error id" not in reply.content, (name, reply.content)
    await running.settle()
    assert await _counts(running) == before
    for channel in (hidden, muted, no_threads, world.channel):
        assert fake.bot_messages(channel) == [], channel.name
    # Where the organiser may post, the same command works.
    ok = await fake.run_command(me, world.channel, "call create", title="Dig", categories="🌱 New")
    await ok.wait(timeout=5)
    await running.settle()
    assert await _rows(running, "calls") == before["calls"] + 1


# -- item 5: the digest goes to an organiser, checked when it is sent ------------------------


async def test_digest_is_not_sent_to_a_creator_who_stopped_being_an_organiser(
    world: World, running: RunningBot
) -> None:
    fake = world.fake
    await create_session(world, running, capacity=5, starts="in 3 days")
    dms_before = len(fake.dms(world.organiser))
    fake.set_member_roles(world.organiser, [])  # their organiser rights are taken away
    await running.settle()
    await running.advance(timedelta(days=2, minutes=-59))  # the digest falls due
    assert len(fake.dms(world.organiser)) == dms_before
    assert (
        await running.db.fetchval("SELECT COUNT(*) FROM deliveries WHERE part LIKE 'digest%'") == 0
    )


# -- item 8: a feedback message deleted or edited in the thread -------------------------------


async def test_deleted_feedback_message_is_gone_and_an_edit_counts(
    world: World, running: RunningBot
) -> None:
    fake = world.fake
    role = fake.add_role(world.guild, "Plan reviewers")
    writer, keeper = world.members[0], world.members[1]
    for m in (writer, keeper):
        fake.set_member_roles(m, [role])
    await running.settle()
    handle = await fake.run_command(
        world.organiser, world.channel, "feedback open", title="Plan", plan="Read it", role=role
    )
    await handle.wait(timeout=5)
    thread = await fake.wait_until(
        lambda: (fake.threads(world.channel) or [None])[0], timeout=5, what="the thread"
    )
    regret = await fake.send_message(writer, thread, "My diagnosis makes mornings hard")
    kept = await fake.send_message(keeper, thread, "First draft of my thought")
    await running.settle()
    assert await _rows(running, "feedback_messages") == 2
    assert await _rows(running, "feedback_responses") == 2

    await fake.delete_message(regret)
    await fake.edit_message(kept, "Second thought: more time on profiles")
    await running.settle()

    rows = await running.db.fetchall("SELECT user_id, content FROM feedback_messages")
    assert [(r[0], r[1]) for r in rows] == [
        (keeper.user.id, "Second thought: more time on profiles")
    ]
    # The writer's only response was that message: they no longer count as having responded.
    responders = await running.db.fetchall("SELECT user_id FROM feedback_responses")
    assert [r[0] for r in responders] == [keeper.user.id]


# -- item 13: every create is all-or-nothing ------------------------------------------------

ALL_TABLES = (
    "calls",
    "call_categories",
    "sessions",
    "session_questions",
    "meetings",
    "meeting_audience",
    "feedback_rounds",
    "feedback_audience",
    "feedback_versions",
    "scheduled_jobs",
    "audit_log",
)


async def test_a_create_whose_post_fails_leaves_nothing_behind(
    world: World, running: RunningBot
) -> None:
    fake = world.fake
    role = fake.add_role(world.guild, "Group")
    fake.set_member_roles(world.members[0], [role])
    await running.settle()
    before = {t: await _rows(running, t) for t in ALL_TABLES}
    attempts: list[tuple[str, dict[str, Any]]] = [
        ("call create", {"title": "Dig", "categories": "🌱 New", "closes": "in 3 days"}),
        ("session create", {"title": "Intro", "starts": "in 3 days", "capacity": "5"}),
        ("meeting create", {"title": "Plan", "starts": "in 3 days", "role": role}),
        ("feedback open", {"title": "Plan", "plan": "Read it", "role": role}),
    ]
    for status in (403, 400):
        for name, options in attempts:
            fake.inject_fault("POST", r"/channels/\d+/messages", status=status, times=1)
            handle = await fake.run_command(world.organiser, world.channel, name, **options)
            reply = await handle.wait(timeout=5)
            assert reply.flags & EPHEMERAL, name
            if status == 403:  # the bot may not post there: said kindly
                assert "error id" not in reply.content, (name, reply.content)
            # (a 400 is unexpected, so it gets an error id; "nothing was changed" must be true)
            await running.settle()
            after = {t: await _rows(running, t) for t in ALL_TABLES}
            assert after == before, (name, status)
    assert fake.bot_messages(world.channel) == []


# -- item 14: a deleted post or channel --------------------------------------------------------


def _tracebacks(caplog: pytest.LogCaptureFixture) -> list[str]:
    """Log lines that carry a traceback of a Discord 404."""
    return [
        r.getMessage()
        for r in caplog.records
        if r.exc_info and isinstance(r.exc_info[1], discord.NotFound)
    ]


async def test_deleted_call_post_is_reported_and_can_be_reposted_keeping_sign_ups(
    world: World, running: RunningBot, caplog: pytest.LogCaptureFixture
) -> None:
    fake = world.fake
    handle = await fake.run_command(
        world.organiser, world.channel, "call create", title="Dig", categories="🌱 New; 🧭 Old"
    )
    await handle.wait(timeout=5)
    post = await fake.wait_for_message(world.channel, check=lambda m: m.is_components_v2, timeout=5)
    await fake.wait_until(lambda: len(fake.reactions(post)) == 2, timeout=5, what="reactions")
    for m in world.members[:3]:
        await fake.react(m, world.channel, post, "🌱")
    await running.settle()
    assert await _rows(running, "call_signups") == 3

    await fake.delete_message(post)
    edit = await fake.run_command(world.organiser, world.channel, "call edit", call=1, title="Dig!")
    reply = await edit.wait(timeout=5)
    assert "/call repost" in reply.content  # told the post is gone, and what to do

    other = fake.add_channel(world.guild, "volunteering")
    await running.settle()
    again = fake.interactions.command(
        world.organiser, world.channel, "call repost", {"call": 1, "channel": other}
    )
    await again.wait(timeout=5)
    await running.settle()
    new_post = await fake.wait_for_message(other, check=lambda m: m.is_components_v2, timeout=5)
    stored = await running.db.fetchone("SELECT channel_id, message_id FROM calls")
    assert (stored[0], stored[1]) == (other.id, new_post.id)
    # A restart reconciles the new post, which carries none of the old reactions: the sign-ups
    # made before it are kept, and a new one on it counts.
    await fake.react(world.members[5], other, new_post, "🧭")
    await running.restart()
    assert await _rows(running, "call_signups") == 4
    assert _tracebacks(caplog) == []


async def test_deleted_session_channel_is_reported_and_can_be_reposted(
    world: World, running: RunningBot, caplog: pytest.LogCaptureFixture
) -> None:
    fake = world.fake
    room = fake.add_channel(world.guild, "sessions")
    await running.settle()
    handle = fake.interactions.command(
        world.organiser,
        world.channel,
        "session create",
        {"title": "Intro", "starts": "in 2 days", "capacity": "5", "channel": room},
    )
    await handle.wait(timeout=5)
    post = await fake.wait_for_message(room, check=lambda m: bool(m.components), timeout=5)
    click = await fake.click(world.members[0], post, session_buttons(post)["book"])
    await fake.submit_modal(
        world.members[0],
        click,
        {"experience": ["New to it"], "aims": "People", "barriers": ""},
        timeout=5,
    )
    await running.settle()

    await fake.delete_channel(room)
    await running.settle()
    edit = await fake.run_command(
        world.organiser, world.channel, "session edit", session=1, title="Intro 2"
    )
    reply = await edit.wait(timeout=5)
    assert "/session repost" in reply.content

    again = await fake.run_command(world.organiser, world.channel, "session repost", session=1)
    await again.wait(timeout=5)
    await running.settle()
    new_post = await fake.wait_for_message(
        world.channel, check=lambda m: bool(m.components), timeout=5
    )
    stored = await running.db.fetchone("SELECT channel_id, message_id FROM sessions")
    assert (stored[0], stored[1]) == (world.channel.id, new_post.id)
    assert (await bookings(running))[0] == [world.members[0].user.id]
    # The new post works: another member books from it.
    click = await fake.click(world.members[1], new_post, session_buttons(new_post)["book"])
    await fake.submit_modal(
        world.members[1],
        click,
        {"experience": ["New to it"], "aims": "People", "barriers": ""},
        timeout=5,
    )
    await running.settle()
    assert len((await bookings(running))[0]) == 2
    assert _tracebacks(caplog) == []


# -- items 13, 15, 16: hostile input through the real commands and buttons -----------------

HUGE = "9" * 30  # beyond 64 bits


async def test_hostile_input_is_refused_kindly_and_changes_nothing(
    world: World, running: RunningBot
) -> None:
    fake = world.fake
    role = fake.add_role(world.guild, "Group")
    fake.set_member_roles(world.members[0], [role])
    await running.settle()
    before = {t: await _rows(running, t) for t in ALL_TABLES}
    attempts: list[tuple[str, dict[str, Any]]] = []
    for when in ("9999-12-31 23:00", "in 999999999999 days", f"in {HUGE} minutes"):
        attempts += [
            ("call create", {"title": "Dig", "categories": "🌱 New", "closes": when}),
            ("session create", {"title": "Intro", "starts": when, "capacity": "5"}),
            ("meeting create", {"title": "Plan", "starts": when, "role": role}),
            ("feedback open", {"title": "Plan", "plan": "Read it", "role": role, "closes": when}),
        ]
    attempts += [
        ("session create", {"title": "Intro", "starts": "in 2 days", "capacity": HUGE}),
        (
            "session create",
            {"title": "Intro", "starts": "in 2 days", "capacity": "5", "duration": f"{HUGE}m"},
        ),
        ("call create", {"title": "Dig", "categories": "🌱 New", "places": f"🌱={HUGE}"}),
        (
            "meeting create",
            {"title": "Plan", "starts": "in 2 days", "role": role, "reminders": f"{HUGE}h"},
        ),
        # item 15: nothing visible, or only controls
        ("call create", {"title": "\u200b\u200d\u2060", "categories": "🌱 New"}),
        ("session create", {"title": "\u202e\u2066\x00", "starts": "in 2 days", "capacity": "5"}),
        ("meeting create", {"title": "\ufeff \u200b", "starts": "in 2 days", "role": role}),
        # numbers for an item that no 64-bit id can be
        ("call edit", {"call": int(HUGE), "title": "x"}),
        ("session edit", {"session": int(HUGE), "title": "x"}),
        ("meeting cancel", {"meeting": int(HUGE)}),
        ("feedback close", {"round": int(HUGE)}),
        # item 16: a local time that does not exist (spring forward in London, 2027-03-28)
        ("session create", {"title": "Intro", "starts": "2027-03-28 01:30", "capacity": "5"}),
    ]
    for name, options in attempts:
        handle = fake.interactions.command(world.organiser, world.channel, name, options)
        reply = await handle.wait(timeout=5)
        assert reply.flags & EPHEMERAL, (name, options)
        assert "error id" not in reply.content, (name, options, reply.content)
    # Buttons whose custom_id carries a number beyond 64 bits.
    for custom_id in (
        f"session:book:{HUGE}",
        f"session:unbook:{HUGE}",
        f"session:feedback:{HUGE}",
        f"feedback:give:{HUGE}",
        f"meeting:dms:{HUGE}",
    ):
        handle = await fake.forge_click(world.members[0], world.channel, custom_id)
        reply = await handle.wait(timeout=5)
        assert "error id" not in reply.content, (custom_id, reply.content)
    await running.settle()
    assert {t: await _rows(running, t) for t in ALL_TABLES} == before
    assert fake.bot_messages(world.channel) == []


async def test_names_are_cleaned_and_an_ambiguous_time_shows_both(
    world: World, running: RunningBot
) -> None:
    fake = world.fake
    handle = fake.interactions.command(
        world.organiser,
        world.channel,
        "session create",
        # NUL and a bidi override are stripped; the clocks go back in London on 2027-10-31,
        # so 01:30 happens twice: the first is taken and the reply shows both.
        {"title": "Intro\x00 \u202eduction", "starts": "2027-10-31 01:30", "capacity": "5"},
    )
    reply = await handle.wait(timeout=5)
    assert "error id" not in reply.content
    title = await running.db.fetchval("SELECT title FROM sessions")
    assert title == "Intro duction"
    # The reply is followed by a note naming both occurrences (BST and GMT).
    note = await handle.wait_for(
        lambda r: "BST" in (r.content or "") and "GMT" in (r.content or ""), timeout=5
    )
    assert note.ephemeral
