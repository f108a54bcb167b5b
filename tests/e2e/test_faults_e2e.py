"""Scenario 3: Discord faults (429, 5xx, closed DMs, missing permissions) lose nothing."""

from __future__ import annotations

from tests.e2e.conftest import World
from tests.e2e.harness import RunningBot
from tests.e2e.test_calls_e2e import STORY_CATEGORIES, create_story_call, roster

EPHEMERAL = 64


async def test_429_and_500_on_the_call_post_are_retried(world: World, running: RunningBot) -> None:
    fake = world.fake
    path = rf"/channels/{world.channel.id}/messages"
    fake.inject_fault("POST", path, 429, retry_after=0.05)
    fake.inject_fault("POST", path, 500, times=1)
    await create_story_call(world, running)
    posts = [m for m in fake.bot_messages(world.channel) if m.is_components_v2]
    assert len(posts) == 1  # retried until it worked, and posted exactly once
    assert await running.db.fetchval("SELECT COUNT(*) FROM calls WHERE message_id IS NOT NULL") == 1


async def test_closed_dms_are_not_an_error(world: World, running: RunningBot) -> None:
    fake = world.fake
    closed = fake.add_member(world.guild, "dms-closed", dms_closed=True)
    post = await create_story_call(world, running)
    await fake.react(closed, world.channel, post, "🌱")
    await fake.react(world.members[0], world.channel, post, "🧭")
    await running.settle()
    assert await roster(running) == {"🧭": [world.members[0].user.id], "🌱": [closed.user.id]}
    # The open-DM member got a confirmation; the closed one simply didn't.
    await fake.wait_until(lambda: fake.dms(world.members[0]), timeout=5, what="a confirmation DM")
    assert fake.dms(closed) == []


async def test_no_permission_to_post_tells_the_organiser(world: World, running: RunningBot) -> None:
    fake = world.fake
    locked = fake.add_channel(
        world.guild, "announcements", overwrites={fake.bot_role(world.guild): (0, 1 << 11)}
    )  # deny Send Messages
    # ("channel" is also run_command's own parameter, so build this interaction directly)
    handle = fake.interactions.command(
        world.organiser,
        world.channel,
        "call create",
        {"title": "x", "categories": STORY_CATEGORIES, "channel": locked},
    )
    reply = await handle.wait(timeout=5)
    assert reply.flags & EPHEMERAL and str(locked.id) in reply.content
    assert await running.db.fetchval("SELECT COUNT(*) FROM calls") == 0


async def test_closed_call_reaction_is_removed(world: World, running: RunningBot) -> None:
    fake = world.fake
    post = await create_story_call(world, running)
    handle = await fake.run_command(world.organiser, world.channel, "call close", call=1)
    await handle.wait(timeout=5)
    late = world.members[5]
    await fake.react(late, world.channel, post, "🧭")
    await fake.wait_until(
        lambda: late.user.id not in fake.reactions(post).get("🧭", []),
        timeout=5,
        what="the late reaction removed",
    )
    assert await roster(running) == {}
    await fake.wait_until(lambda: fake.dms(late), timeout=5, what="a kind 'closed' DM")


def give_roles(world: World) -> None:
    """The organiser gets a staff role with Manage Roles, above every role added so far (the
    rule for roles the bot gives on an organiser's behalf)."""
    import discord

    staff = world.fake.add_role(
        world.guild,
        "Staff",
        permissions=discord.Permissions(
            manage_events=True, manage_roles=True, view_channel=True, send_messages=True
        ).value,
    )
    world.fake.set_member_roles(world.organiser, [staff])


async def test_missing_manage_roles_still_records_the_draw(
    world: World, running: RunningBot
) -> None:
    import discord

    from tests.e2e.fake_discord import DEFAULT_BOT_PERMISSIONS

    fake = world.fake
    fake.set_bot_permissions(
        world.guild, DEFAULT_BOT_PERMISSIONS & ~discord.Permissions(manage_roles=True).value
    )
    group_role = fake.add_role(world.guild, "Co-production group")
    give_roles(world)  # the organiser may choose the role; the bot may not give it
    await running.settle()
    post = await create_story_call(world, running)
    for m in world.members[:4]:
        await fake.react(m, world.channel, post, "🧭")
    await running.settle()
    handle = await fake.run_command(
        world.organiser, world.channel, "draw run", call=1, places="2", group_role=group_role
    )
    reply = await handle.wait(timeout=10)
    assert reply.flags & EPHEMERAL
    await running.reach_draw()
    # The draw is made when its round is out; a second /draw run tells the organiser exactly
    # what to fix.
    handle = await fake.run_command(world.organiser, world.channel, "draw run", call=1)
    reply = await handle.wait(timeout=10)
    assert "Manage Roles" in reply.content
    assert await running.db.fetchval("SELECT COUNT(*) FROM draws") == 1
    assert (
        await running.db.fetchval("SELECT COUNT(*) FROM draw_entries WHERE status = 'selected'")
        == 2
    )
    assert all(group_role not in fake.member_roles(m) for m in world.members[:4])
