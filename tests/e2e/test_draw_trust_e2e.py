"""Trust at the edges of the draw, through the real bot and the fake Discord server.

Issue 11 item 1: roles the bot grants (``/draw run group-role/reviewer-role``) must be roles the
organiser could give themselves, with no dangerous permission, checked again before every grant.
Issue 11 item 11: the result post doesn't pair mentions with references; a member's mention goes
once they delete their data. Issue 12: while the beacon can't be reached the draw waits and says
so, then draws.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import discord

from tests.e2e.conftest import World
from tests.e2e.harness import RunningBot, organiser_permissions
from tests.e2e.test_calls_e2e import create_story_call
from tests.e2e.test_faults_e2e import give_roles

EPHEMERAL = 64


async def volunteers(world: World, running: RunningBot, n: int = 4) -> Any:
    post = await create_story_call(world, running)
    for m in world.members[:n]:
        await world.fake.react(m, world.channel, post, "🧭")
    await running.settle()
    return post


async def frozen(running: RunningBot) -> int:
    return int(await running.db.fetchval("SELECT COUNT(*) FROM draw_freezes"))


async def test_an_organiser_without_manage_roles_cannot_have_an_admin_role_given(
    world: World, running: RunningBot
) -> None:
    fake = world.fake
    admin = fake.add_role(
        world.guild, "Admins", permissions=discord.Permissions(administrator=True)
    )
    plain = fake.add_role(world.guild, "Co-production group")
    await running.settle()
    await volunteers(world, running)
    # Only Manage Events: no role at all may be given on their behalf, an admin role least of all.
    for role, why in ((admin, "Administrator"), (plain, "Manage Roles")):
        handle = await fake.run_command(
            world.organiser, world.channel, "draw run", call=1, group_role=role
        )
        reply = await handle.wait(timeout=10)
        assert reply.flags & EPHEMERAL and why in reply.content
        assert await frozen(running) == 0  # refused before anything changed
    handle = await fake.run_command(
        world.organiser, world.channel, "draw run", call=1, reviewer_role=admin
    )
    await handle.wait(timeout=10)
    assert await frozen(running) == 0
    assert await running.db.fetchval("SELECT status FROM calls") == "open"


async def test_dangerous_or_higher_roles_are_refused_even_with_manage_roles(
    world: World, running: RunningBot
) -> None:
    fake = world.fake
    mods = fake.add_role(
        world.guild, "Helpers", permissions=discord.Permissions(manage_messages=True)
    )
    give_roles(world)  # Manage Roles, above the roles so far
    above = fake.add_role(world.guild, "Above the organiser")
    await running.settle()
    await volunteers(world, running)
    for role, why in ((mods, "Manage Messages"), (above, "not below")):
        handle = await fake.run_command(
            world.organiser, world.channel, "draw run", call=1, group_role=role
        )
        assert why in (await handle.wait(timeout=10)).content
        assert await frozen(running) == 0
    # The server's owner may choose a role above their own roles, but never a dangerous one.
    owner = fake.owner(world.guild)
    handle = await fake.run_command(owner, world.channel, "draw run", call=1, group_role=mods)
    assert "Manage Messages" in (await handle.wait(timeout=10)).content
    assert await frozen(running) == 0


async def test_a_role_made_dangerous_after_it_was_chosen_is_not_given(
    world: World, running: RunningBot
) -> None:
    fake = world.fake
    group = fake.add_role(world.guild, "Co-production group")
    give_roles(world)
    await running.settle()
    await volunteers(world, running)
    handle = await fake.run_command(
        world.organiser, world.channel, "draw run", call=1, places="2", group_role=group
    )
    await handle.wait(timeout=10)
    assert await frozen(running) == 1  # accepted: a plain role below the organiser's
    # Before the draw is made, someone gives the role Administrator.
    fake.update_role(group, permissions=discord.Permissions(administrator=True).value)
    await running.settle()
    await running.reach_draw()
    assert await running.db.fetchval("SELECT COUNT(*) FROM draws") == 1
    assert all(group not in fake.member_roles(m) for m in world.members[:4])
    assert (
        await running.db.fetchval("SELECT COUNT(*) FROM draw_entries WHERE role_at IS NOT NULL")
        == 0
    )
    # The draw was made by a job: the organiser who chose the role is told by DM, once.
    told = await fake.wait_until(
        lambda: [d for d in fake.dms(world.organiser) if "didn't give the role" in d.content],
        timeout=5,
        what="the organiser told about the refused role",
    )
    assert len(told) == 1 and "Administrator" in told[0].content
    # The organiser is told, and giving the role back its plain permissions lets it be given.
    handle = await fake.run_command(world.organiser, world.channel, "draw run", call=1)
    reply = await handle.wait(timeout=10)
    assert "Administrator" in reply.content
    fake.update_role(group, permissions=0)
    await running.settle()
    handle = await fake.run_command(world.organiser, world.channel, "draw run", call=1)
    await handle.wait(timeout=10)
    await running.settle()
    drawn = [
        r[0]
        for r in await running.db.fetchall(
            "SELECT user_id FROM draw_entries WHERE status = 'selected'"
        )
    ]
    by_id = {m.user.id: m for m in world.members[:4]}
    assert len(drawn) == 2 and all(group in fake.member_roles(by_id[u]) for u in drawn)


async def test_an_organiser_who_lost_manage_roles_no_longer_has_roles_given(
    world: World, running: RunningBot
) -> None:
    fake = world.fake
    group = fake.add_role(world.guild, "Co-production group")
    give_roles(world)
    await running.settle()
    await volunteers(world, running)
    handle = await fake.run_command(
        world.organiser, world.channel, "draw run", call=1, places="2", group_role=group
    )
    await handle.wait(timeout=10)
    # The organiser is demoted before the draw (keeps Manage Events, loses Manage Roles).
    staff = fake.add_role(world.guild, "Events", permissions=organiser_permissions())
    fake.set_member_roles(world.organiser, [staff])
    await running.settle()
    await running.reach_draw()
    assert await running.db.fetchval("SELECT COUNT(*) FROM draws") == 1
    assert all(group not in fake.member_roles(m) for m in world.members[:4])
    handle = await fake.run_command(world.organiser, world.channel, "draw run", call=1)
    assert "Manage Roles" in (await handle.wait(timeout=10)).content


async def test_the_result_post_does_not_pair_mentions_with_references(
    world: World, running: RunningBot
) -> None:
    fake = world.fake
    await volunteers(world, running, n=6)
    handle = await fake.run_command(world.organiser, world.channel, "draw run", call=1, places="3")
    await handle.wait(timeout=10)
    await running.reach_draw()
    rows = await running.db.fetchall("SELECT user_id, rank, status FROM draw_entries ORDER BY rank")
    drawn = [int(r[0]) for r in rows if r[2] == "selected"]
    reserves = [int(r[0]) for r in rows if r[2] == "reserve"]
    result = await fake.wait_until(
        lambda: next(
            (
                m
                for m in fake.bot_messages(world.channel)
                if "call-1-draw.json" in str(m.attachments)
            ),
            None,
        ),
        timeout=10,
        what="the result post",
    )
    text = fake.message_text(result)
    positions = [text.index(f"<@{u}>") for u in sorted(drawn)]
    assert positions == sorted(positions)  # in user id order, whatever the draw order
    assert not any(f"<@{u}>" in text for u in reserves)  # reserves are told privately
    # A drawn member deletes their data: the post no longer mentions them.
    leaver = next(m for m in world.members[:6] if m.user.id == drawn[0])
    handle = await fake.run_command(leaver, world.channel, "mydata delete")
    reply = await handle.wait(timeout=5)
    confirm = next(
        c["custom_id"]
        for row in reply.message.components
        for c in row["components"]
        if c["custom_id"].startswith("mydata:delete:")
    )
    click = await fake.click(leaver, reply.message, confirm)
    await click.wait(timeout=10)
    await running.advance(timedelta(seconds=1))  # the place-freed job
    await fake.wait_until(
        lambda: f"<@{leaver.user.id}>" not in fake.message_text(fake.message(result)),
        timeout=10,
        what="the result post without the member's mention",
    )
    assert "a member who withdrew" in fake.message_text(fake.message(result))
    assert "Changes since the draw" in fake.message_text(fake.message(result))


async def test_an_unreachable_beacon_makes_the_draw_wait_and_say_so(
    world: World, running: RunningBot
) -> None:
    fake = world.fake
    assert running.beacon is not None
    await volunteers(world, running)
    handle = await fake.run_command(world.organiser, world.channel, "draw run", call=1, places="2")
    await handle.wait(timeout=10)
    await running.beacon.go_down("503")
    before = len(fake.bot_messages(world.channel))
    # The round's time passes while the beacon is down: the draw job runs, and waits.
    due = await running.db.fetchval("SELECT MAX(beacon_due_at) FROM draw_freezes")
    await running.advance(timedelta(seconds=max(1.0, due - running.clock.now().timestamp() + 2)))
    await fake.wait_until(
        lambda: len(fake.bot_messages(world.channel)) > before, timeout=10, what="the notice"
    )
    await running.settle()
    assert await running.db.fetchval("SELECT COUNT(*) FROM draws") == 0  # no silent fallback
    notices = fake.bot_messages(world.channel)[before:]
    assert len(notices) == 1 and "waiting" in notices[0].content
    handle = await fake.run_command(world.organiser, world.channel, "draw run", call=1)
    reply = await handle.wait(timeout=10)
    assert reply.flags & EPHEMERAL and await running.db.fetchval("SELECT COUNT(*) FROM draws") == 0
    await running.beacon.come_back()
    await running.advance(timedelta(seconds=31))  # the job tries again
    await fake.wait_until(
        lambda: any(
            "call-1-draw.json" in str(m.attachments) for m in fake.bot_messages(world.channel)
        ),
        timeout=10,
        what="the result post",
    )
    assert await running.db.fetchval("SELECT COUNT(*) FROM draws") == 1
    # Told once only, however many times it retried.
    assert sum("waiting" in m.content for m in fake.bot_messages(world.channel)) == 1


async def test_closing_a_call_by_hand_freezes_and_publishes_its_roster(
    world: World, running: RunningBot
) -> None:
    fake = world.fake
    post = await volunteers(world, running, n=3)
    handle = await fake.run_command(world.organiser, world.channel, "call close", call=1)
    reply = await handle.wait(timeout=10)
    assert reply.flags & EPHEMERAL
    await running.settle()
    [(message_id, posted_at, due_at, fingerprint)] = await running.db.fetchall(
        "SELECT message_id, posted_at, beacon_due_at, freeze_hash FROM draw_freezes"
    )
    assert posted_at < due_at
    freeze_post = fake.message(
        next(m for m in fake.bot_messages(world.channel) if m.id == message_id)
    )
    assert fingerprint in freeze_post.content
    assert freeze_post.attachment("call-1-roster.json").data
    # The call post shows the fingerprint, and the places are fixed now.
    await fake.wait_until(
        lambda: fingerprint in fake.message_text(fake.message(post)),
        timeout=10,
        what="the call post showing the frozen fingerprint",
    )
    handle = await fake.run_command(world.organiser, world.channel, "call edit", call=1, places="1")
    await handle.wait(timeout=10)
    assert await running.db.fetchval("SELECT MAX(places) FROM call_categories") == 3
    # /draw run later makes the draw once the round is out.
    handle = await fake.run_command(world.organiser, world.channel, "draw run", call=1)
    await handle.wait(timeout=10)
    await running.reach_draw()
    assert await running.db.fetchval("SELECT COUNT(*) FROM draws") == 1
