"""Calls end to end: the real bot, through discord.py, against the fake Discord server."""

from __future__ import annotations

import csv
import io

from tests.e2e.conftest import World
from tests.e2e.harness import RunningBot

EPHEMERAL = 64
STORY_CATEGORIES = "🧭 Experienced with LinkedIn; 🌱 New to LinkedIn"


async def create_story_call(world: World, running: RunningBot, **extra: str) -> object:
    fake = world.fake
    existing = fake.bot_messages(world.channel)
    handle = await fake.run_command(
        world.organiser,
        world.channel,
        "call create",
        title="Co-produce the LinkedIn introduction",
        categories=STORY_CATEGORIES,
        places="🧭=3, 🌱=3",
        **extra,
    )
    reply = await handle.wait(timeout=5)
    assert reply.flags & EPHEMERAL
    post = await fake.wait_for_message(
        world.channel,
        after=existing[-1] if existing else None,
        check=lambda m: m.is_components_v2,
    )
    await fake.wait_until(lambda: len(fake.reactions(post)) == 2, what="the bot's two reactions")
    return post


async def roster(running: RunningBot) -> dict[str, list[int]]:
    rows = await running.db.fetchall(
        "SELECT cc.emoji_key, s.user_id FROM call_signups s JOIN call_categories cc "
        "ON cc.id = s.category_id ORDER BY cc.position, s.joined_at, s.rowid"
    )
    out: dict[str, list[int]] = {}
    for key, user in rows:
        out.setdefault(key, []).append(user)
    return out


async def test_story_call_17_volunteers(world: World, running: RunningBot) -> None:
    fake = world.fake
    post = await create_story_call(world, running)
    experienced, new = world.members[:10], world.members[10:17]
    # Someone picks 🌱 first, then switches to 🧭; an extra member joins and withdraws.
    await fake.react(experienced[0], world.channel, post, "🌱")
    for m in experienced[1:]:
        await fake.react(m, world.channel, post, "🧭")
    await fake.react(world.members[20], world.channel, post, "🧭")
    for m in new:
        await fake.react(m, world.channel, post, "🌱")
    await running.settle()
    await fake.react(experienced[0], world.channel, post, "🧭")
    await fake.unreact(world.members[20], world.channel, post, "🧭")
    await fake.react(world.members[21], world.channel, post, "🎉")  # ignored
    await fake.wait_until(
        lambda: experienced[0].user.id not in fake.reactions(post).get("🌱", []),
        timeout=5,
        what="the bot removing the old reaction",
    )
    await running.settle()

    got = await roster(running)
    assert got["🧭"] == [m.user.id for m in experienced[1:]] + [experienced[0].user.id]
    assert got["🌱"] == [m.user.id for m in new]

    # The post's counts follow the roster (coalesced edits).
    await fake.wait_until(
        lambda: "10 volunteers" in fake.message_text(post),
        timeout=5,
        what="the post showing 10 volunteers",
    )

    # /call volunteers: the CSV lists exactly the right people in the right order.
    handle = await fake.run_command(world.organiser, world.channel, "call volunteers", call=1)
    reply = await handle.wait(timeout=5)
    assert reply.flags & EPHEMERAL
    attachment = reply.message.attachments[0]
    data = fake.attachment_bytes(attachment).decode("utf-8")
    rows = list(csv.DictReader(io.StringIO(data)))
    assert [int(r["user_id"]) for r in rows] == got["🧭"] + got["🌱"]


async def test_non_organiser_is_refused_and_nothing_changes(
    world: World, running: RunningBot
) -> None:
    fake = world.fake
    handle = await fake.run_command(
        world.members[0], world.channel, "call create", title="x", categories=STORY_CATEGORIES
    )
    reply = await handle.wait(timeout=5)
    assert reply.flags & EPHEMERAL
    assert await running.db.fetchval("SELECT COUNT(*) FROM calls") == 0
    assert fake.bot_messages(world.channel) == []


async def test_bad_input_is_refused_kindly(world: World, running: RunningBot) -> None:
    fake = world.fake
    for options in (
        {"categories": "🧭 A; 🧭 B"},
        {"categories": STORY_CATEGORIES, "places": "0"},
        {"categories": STORY_CATEGORIES, "closes": "not a date"},
    ):
        handle = await fake.run_command(
            world.organiser, world.channel, "call create", title="x", **options
        )
        reply = await handle.wait(timeout=5)
        assert reply.flags & EPHEMERAL and reply.content
        assert "error id" not in reply.content
    handle = await fake.run_command(world.organiser, world.channel, "call close", call=42)
    assert (await handle.wait(timeout=5)).flags & EPHEMERAL
    assert await running.db.fetchval("SELECT COUNT(*) FROM calls") == 0


async def test_restart_reconciles_reactions_made_while_down(
    world: World, running: RunningBot
) -> None:
    fake = world.fake
    post = await create_story_call(world, running)
    a, b, c, d, e = world.members[:5]
    await fake.react(a, world.channel, post, "🧭")
    await fake.react(b, world.channel, post, "🧭")
    await running.settle()
    assert (await roster(running)) == {"🧭": [a.user.id, b.user.id]}

    await running.stop()
    await fake.unreact(b, world.channel, post, "🧭")  # withdrew while the bot was down
    await fake.react(c, world.channel, post, "🌱")  # joined while down
    await fake.react(d, world.channel, post, "🧭")
    await fake.react(
        d, world.channel, post, "🌱"
    )  # two categories: keeps the first, the other is removed
    await fake.react(e, world.channel, post, "🧭")  # (🧭's count changes: b out, d and e in)
    await running.start()
    await fake.wait_until(
        lambda: d.user.id not in fake.reactions(post).get("🌱", []),
        timeout=5,
        what="the extra reaction removed",
    )
    got = await roster(running)
    assert got["🌱"] == [c.user.id]
    assert got["🧭"][0] == a.user.id and sorted(got["🧭"][1:]) == sorted([d.user.id, e.user.id])


async def test_call_closes_itself_on_time_also_across_a_restart(
    world: World, running: RunningBot
) -> None:
    from datetime import timedelta

    fake = world.fake
    post = await create_story_call(world, running, closes="in 1 minute")
    await fake.react(world.members[0], world.channel, post, "🧭")
    await running.settle()
    await running.stop()
    running.clock.advance(timedelta(minutes=5))  # the closing time passes while the bot is down
    await running.start()
    await running.bot.jobs.run_due()  # type: ignore[union-attr]
    await running.settle()
    assert await running.db.fetchval("SELECT status FROM calls") == "closed"
    assert (
        await running.db.fetchval(
            "SELECT COUNT(*) FROM scheduled_jobs WHERE kind = 'call.close' AND status = 'done'"
        )
        == 1
    )
    await fake.wait_until(
        lambda: "closed" in fake.message_text(post).lower(),
        timeout=5,
        what="the post saying the call is closed",
    )
    late = world.members[1]
    await fake.react(late, world.channel, post, "🌱")
    await fake.wait_until(
        lambda: late.user.id not in fake.reactions(post).get("🌱", []),
        timeout=5,
        what="the late reaction removed",
    )
    assert await roster(running) == {"🧭": [world.members[0].user.id]}
