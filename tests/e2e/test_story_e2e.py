"""Scenario 1, the whole story (STORY.md) through the real bot and the fake Discord server.

A call with two categories; 17 members react (10/7, with a switch and a withdrawal); a 3 + 3
draw with roles; the 11 others are invited to review and some accept; a feedback round where
8 of 11 respond and a reminder reaches only the rest; a session with 22 places where 30 try to
book, 3 cancel and 3 are promoted; reminders and the evaluation invitation.
"""

from __future__ import annotations

import io
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import discord

from bot.verify_draw import main as verify_draw
from tests.e2e.conftest import World
from tests.e2e.harness import RunningBot
from tests.e2e.test_calls_e2e import create_story_call, roster
from tests.e2e.test_feedback_e2e import give_feedback_id
from tests.independent_verifier import verify as independent_verify

EPHEMERAL = 64


def buttons(message: Any) -> list[str]:
    return [str(c["custom_id"]) for c in message.walk_components() if c.get("custom_id")]


async def volunteer_17(world: World, running: RunningBot, post: Any) -> tuple[list[Any], list[Any]]:
    fake = world.fake
    experienced, new = world.members[:10], world.members[10:17]
    await fake.react(new[0], world.channel, post, "🧭")  # picks the wrong one first...
    for m in experienced:
        await fake.react(m, world.channel, post, "🧭")
    await fake.react(world.members[25], world.channel, post, "🌱")  # ... joins then withdraws
    for m in new[1:]:
        await fake.react(m, world.channel, post, "🌱")
    await running.settle()
    await fake.react(new[0], world.channel, post, "🌱")  # ... and switches
    await fake.unreact(world.members[25], world.channel, post, "🌱")
    await running.settle()
    got = await roster(running)
    assert len(got["🧭"]) == 10 and len(got["🌱"]) == 7
    return experienced, new


async def freeze_then_reveal(world: World, running: RunningBot, post: Any) -> str:
    """The beacon step of the story: the freeze is public before its round, the draw waits for
    the round, then is made from it. Returns the published draw file."""
    fake = world.fake
    [(message_id, posted_at, due_at, round_number)] = await running.db.fetchall(
        "SELECT message_id, posted_at, beacon_due_at, beacon_round FROM draw_freezes"
    )
    assert posted_at < due_at and round_number
    freeze_post = next(m for m in fake.bot_messages(world.channel) if m.id == message_id)
    assert freeze_post.message_reference["message_id"] == str(post.id)
    frozen = json.loads(freeze_post.attachment("call-1-roster.json").data)
    assert frozen["freeze_fingerprint"] in freeze_post.content
    assert len(frozen["roster"]) == 17
    assert {c["key"]: c["places"] for c in frozen["categories"]} == {"🧭": 3, "🌱": 3}
    assert await running.db.fetchval("SELECT COUNT(*) FROM draws") == 0
    # The round comes out: the job fetches it, checks its signature, and draws.
    wait = due_at - running.clock.now().timestamp() + 2
    await running.advance(timedelta(seconds=max(wait, 1)))
    await fake.wait_until(
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
    await running.settle()
    assert running.beacon is not None and running.beacon.requests  # fetched from the chain
    result = next(
        m for m in fake.bot_messages(world.channel) if "call-1-draw.json" in str(m.attachments)
    )
    export = result.attachment("call-1-draw.json").data.decode("utf-8")
    data = json.loads(export)
    assert data["freeze"]["fingerprint"] == frozen["freeze_fingerprint"]
    assert data["roster"] == frozen["roster"]
    assert data["beacon"]["round"] == round_number
    return export


async def test_the_whole_story(world: World, running: RunningBot, tmp_path: Path) -> None:
    fake = world.fake
    guild = world.guild
    group_role = fake.add_role(guild, "Co-production group")
    reviewer_role = fake.add_role(guild, "Plan reviewers")
    # Roles given by the bot are chosen by an organiser who could give them: Manage Roles, and a
    # role above them.
    staff = fake.add_role(
        guild,
        "Staff",
        permissions=discord.Permissions(
            manage_events=True, manage_roles=True, view_channel=True, send_messages=True
        ).value,
    )
    fake.set_member_roles(world.organiser, [staff])
    await running.settle()

    # 1-3. The call, 17 volunteers.
    post = await create_story_call(world, running)
    experienced, new = await volunteer_17(world, running, post)
    volunteers = {m.user.id: m for m in experienced + new}

    # 4. The draw: 3 + 3, with roles, published with its verification data.
    handle = await fake.run_command(
        world.organiser,
        world.channel,
        "draw run",
        call=1,
        group_role=group_role,
        reviewer_role=reviewer_role,
    )
    assert (await handle.wait(timeout=10)).flags & EPHEMERAL
    await running.settle()
    # Freeze, then reveal: the roster is frozen and published on the call post (its file
    # attached) before the drand round it names exists; nothing is drawn yet.
    export = await freeze_then_reveal(world, running, post)
    drawn = [
        r[0]
        for r in await running.db.fetchall(
            "SELECT user_id FROM draw_entries WHERE status = 'selected'"
        )
    ]
    assert len(drawn) == 6
    assert len(set(drawn) & {m.user.id for m in experienced}) == 3
    assert len(set(drawn) & {m.user.id for m in new}) == 3
    for user_id in drawn:
        assert group_role in fake.member_roles(volunteers[user_id])
    result_posts = [m for m in fake.bot_messages(world.channel) if m.message_reference]
    assert result_posts, "the result is posted as a reply to the call post"
    handle = await fake.run_command(world.organiser, world.channel, "draw verify", call=1)
    assert (await handle.wait(timeout=5)).flags & EPHEMERAL
    # The published file checks out with python -m bot.verify_draw (offline, the round's BLS
    # signature against the local chain's key) and with the independent verifier written only
    # from docs/draw.md; both agree.
    assert running.beacon is not None
    chain = ["--chain-hash", running.beacon.chain.chain_hash]
    out = io.StringIO()
    code = verify_draw(["--json", "-", *chain], stdin=io.StringIO(export), stdout=out)
    assert code == 0, out.getvalue()
    # ... and against the frozen list as it was posted before the round (its file).
    freeze_post = next(
        m for m in fake.bot_messages(world.channel) if "call-1-roster.json" in str(m.attachments)
    )
    roster_file = tmp_path / "call-1-roster.json"
    roster_file.write_bytes(freeze_post.attachment("call-1-roster.json").data)
    out = io.StringIO()
    code = verify_draw(
        ["--json", "-", *chain, "--freeze", str(roster_file)],
        stdin=io.StringIO(export),
        stdout=out,
    )
    assert code == 0, out.getvalue()
    assert independent_verify(json.loads(export), running.beacon.chain.chain_hash) == (True, [])

    # 5. Nobody left out: the 11 others are invited to review; 5 accept, 1 declines.
    not_drawn = [uid for uid in volunteers if uid not in drawn]
    assert len(not_drawn) == 11
    accepting = not_drawn[:5]
    for uid in not_drawn[:6]:
        member = volunteers[uid]
        invite = await fake.wait_until(
            lambda m=member: next(
                (d for d in fake.dms(m) if any(b.startswith("draw:review") for b in buttons(d))),
                None,
            ),
            timeout=5,
            what="a review invitation DM",
        )
        action = "review" if uid in accepting else "noreview"
        custom_id = next(b for b in buttons(invite) if b.startswith(f"draw:{action}:"))
        click = await fake.click(member, invite, custom_id)
        await click.wait(timeout=5)
    await running.settle()
    accepted = {
        r[0]
        for r in await running.db.fetchall(
            "SELECT user_id FROM call_reviewers WHERE status = 'accepted'"
        )
    }
    assert accepted == set(accepting)
    for uid in accepting:
        assert reviewer_role in fake.member_roles(volunteers[uid])

    # 6-7. Feedback on the plan from the group and the reviewers: 11 people, 8 respond.
    handle = await fake.run_command(
        world.organiser,
        world.channel,
        "feedback open",
        title="Session plan",
        plan="1. Welcome 2. Networking basics 3. Your profile",
        call=1,
        closes="in 3 days",
        reminders="24h",
    )
    assert (await handle.wait(timeout=5)).flags & EPHEMERAL
    thread = await fake.wait_until(
        lambda: (fake.threads(world.channel) or [None])[0], timeout=5, what="the feedback thread"
    )
    first = next(
        m
        for m in fake.bot_messages(world.channel)
        if any(b.startswith("feedback:give:") for b in buttons(m))
    )
    audience = drawn + accepting
    assert len(audience) == 11
    responders, silent = audience[:8], audience[8:]
    for uid in responders[:4]:
        click = await fake.click(volunteers[uid], first, give_feedback_id(first))
        done = await fake.submit_modal(
            volunteers[uid],
            click,
            {"What would you change?": "'Connecting with people', not 'networking'"},
        )
        await done.wait(timeout=5)
    for uid in responders[4:]:
        await fake.send_message(volunteers[uid], thread, "Please add time for questions.")
    await running.settle()
    before = {uid: len(fake.dms(volunteers[uid])) for uid in audience}
    await running.advance(timedelta(days=2, minutes=1))  # the 24h reminder
    nudged = {uid for uid in audience if len(fake.dms(volunteers[uid])) > before[uid]}
    assert nudged == set(silent)

    # 8. Wording: the plan is revised; the 8 respondents hear what changed.
    handle = await fake.run_command(
        world.organiser,
        world.channel,
        "feedback revise",
        round=1,
        plan="1. Welcome 2. Connecting with people 3. Your profile",
        changes="'Networking' is now 'connecting with people'",
    )
    await handle.wait(timeout=5)

    await story_sessions(world, running)


async def story_sessions(world: World, running: RunningBot) -> None:
    """Steps 9-12 are added by the sessions feature (see test_sessions_e2e)."""
    try:
        from tests.e2e.test_sessions_e2e import run_story_session
    except ImportError:  # pragma: no cover - sessions not built yet
        return
    await run_story_session(world, running)
