"""Start-up reconciliation does only what changed (issue 14 item 4): the REST requests are
counted in the fake Discord."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.e2e.conftest import World
from tests.e2e.harness import RunningBot
from tests.e2e.test_calls_e2e import create_story_call, roster

GET_MESSAGE = "/channels/{channel_id}/messages/{message_id}"
GET_USERS = "/channels/{channel_id}/messages/{message_id}/reactions/{emoji}"


async def _reconciled(running: RunningBot) -> None:
    assert running.bot is not None
    # By name: the extension is imported afresh at each start.
    cog: Any = next(c for c in running.bot.cogs.values() if type(c).__name__ == "Calls")
    await running.fake.wait_until(lambda: cog._reconciling is not None, what="reconciliation")
    assert cog._reconciling is not None
    await asyncio.wait_for(cog._reconciling, 10)
    await running.settle()


async def test_restart_pages_only_the_reactions_whose_count_changed(
    world: World, running: RunningBot
) -> None:
    fake = world.fake
    crowd = [fake.add_member(world.guild, f"crowd{i:03d}") for i in range(150)]
    posts = [await create_story_call(world, running) for _ in range(3)]
    assert len({p.id for p in posts}) == 3  # type: ignore[attr-defined]
    for post in posts:
        for m in crowd:
            await fake.react(m, world.channel, post, "🧭")
        for m in crowd[:30]:
            await fake.react(m, world.channel, post, "🌱")  # switch: 🧭 taken off by the bot
    await fake.wait_until(
        lambda: all(
            len(fake.reactions(p).get("🌱", [])) == 31
            and len(fake.reactions(p).get("🧭", [])) == 121
            for p in posts
        ),
        timeout=20,
        what="the sign-ups applied",
    )
    await running.settle()
    before = await roster(running)

    # In sync: one GET of each post, no page of users, no edit, no reaction removed.
    await running.stop()
    mark = fake.mark()
    await running.start()
    await _reconciled(running)
    assert fake.count_requests("GET", GET_MESSAGE, since=mark) == 3
    assert fake.count_requests("GET", GET_USERS, since=mark) == 0
    assert fake.count_requests("PATCH", "/channels/{c}/messages/{m}", since=mark) == 0
    assert fake.count_requests("DELETE", "*", since=mark) == 0
    assert await roster(running) == before

    # One member leaves 🌱 on the second post while the bot is down: only that emoji is paged
    # (31 reactions: one page), the post is edited once.
    await running.stop()
    await fake.unreact(crowd[0], world.channel, posts[1], "🌱")
    mark = fake.mark()
    await running.start()
    await _reconciled(running)
    assert fake.count_requests("GET", GET_MESSAGE, since=mark) == 3
    paged = [r for r in fake.requests_since(mark) if r.method == "GET" and "/reactions/" in r.path]
    assert len(paged) == 1 and str(posts[1].id) in paged[0].path  # type: ignore[attr-defined]
    on_second = await running.db.fetchall(
        "SELECT s.user_id FROM call_signups s JOIN calls c ON c.id = s.call_id "
        "WHERE c.message_id = ?",
        (posts[1].id,),  # type: ignore[attr-defined]
    )
    assert crowd[0].user.id not in {r[0] for r in on_second} and len(on_second) == 149


async def test_a_burst_over_many_posts_in_one_channel_is_paced(
    world: World, running: RunningBot
) -> None:
    """Issue 14 item 5: 8 call posts in one channel all refreshed at once: never more than 5
    edits in any 5 seconds in that channel, and every post ends up current."""
    fake = world.fake
    posts = [await create_story_call(world, running) for _ in range(8)]
    assert len({p.id for p in posts}) == 8  # type: ignore[attr-defined]
    mark = fake.mark()
    for post in posts:
        for m in world.members[:3]:
            await fake.react(m, world.channel, post, "🧭")
    await fake.wait_until(
        lambda: all("3 volunteers" in fake.message_text(fake.message(p)) for p in posts),
        timeout=30,
        what="every post showing its 3 volunteers",
    )
    assert fake.count_requests("PATCH", "/channels/{c}/messages/{m}", since=mark) >= 8
    # Post edits (PATCH of a channel message); interaction replies are webhooks, not counted.
    assert fake.max_edits_in_window(world.channel, 5.0, via=["channel"]) <= 5
