"""Feedback round end to end: 11 reviewers, 8 respond (button and thread), 3 are nudged."""

from __future__ import annotations

from datetime import timedelta

from tests.e2e.conftest import World
from tests.e2e.harness import RunningBot

EPHEMERAL = 64


def give_feedback_id(message: object) -> str:
    for comp in message.walk_components():  # type: ignore[attr-defined]
        if comp.get("custom_id", "").startswith("feedback:give:"):
            return str(comp["custom_id"])
    raise AssertionError("no Give feedback button")


async def test_story_feedback_round(world: World, running: RunningBot) -> None:
    fake = world.fake
    reviewers_role = fake.add_role(world.guild, "Plan reviewers")
    reviewers = world.members[:11]
    for m in reviewers:
        fake.set_member_roles(m, [reviewers_role])
    closed_dm = reviewers[10]
    closed_dm.user.dms_closed = True
    await running.settle()

    handle = await fake.run_command(
        world.organiser,
        world.channel,
        "feedback open",
        title="LinkedIn session plan",
        plan="1. Welcome 2. Networking basics 3. Your profile",
        role=reviewers_role,
        closes="in 3 days",
        reminders="24h",
    )
    reply = await handle.wait(timeout=5)
    assert reply.flags & EPHEMERAL
    thread = await fake.wait_until(
        lambda: (fake.threads(world.channel) or [None])[0], timeout=5, what="the feedback thread"
    )
    first = next(m for m in fake.bot_messages(world.channel) if m.components)
    custom_id = give_feedback_id(first)

    # Five respond with the button (modal), three by writing in the thread.
    for m in reviewers[:5]:
        click = await fake.click(m, first, custom_id)
        submitted = await fake.submit_modal(
            m, click, {"What would you change?": "Say 'connecting with people'"}
        )
        assert (await submitted.wait(timeout=5)).flags & EPHEMERAL
    for m in reviewers[5:8]:
        await fake.send_message(m, thread, "I'd like more time on profiles.")
    await running.settle()
    # Someone outside the audience is kindly turned away and not counted.
    outsider = world.members[20]
    click = await fake.click(outsider, first, custom_id)
    assert (await click.wait(timeout=5)).flags & EPHEMERAL

    responded = await running.db.fetchval("SELECT COUNT(*) FROM feedback_responses")
    assert responded == 8
    await fake.wait_until(
        lambda: "8 of 11" in fake.message_text(first),
        timeout=5,
        what="the live counter at 8 of 11",
    )

    # The 24h reminder reaches exactly the three who haven't answered.
    dms_before = {m.user.id: len(fake.dms(m)) for m in reviewers}
    await running.advance(timedelta(days=2, minutes=1))
    nudged = {m.user.id for m in reviewers if len(fake.dms(m)) > dms_before[m.user.id]}
    assert nudged == {m.user.id for m in reviewers[8:10]}
    thread_text = " ".join(msg.content for msg in fake.bot_messages(thread))
    assert f"<@{closed_dm.user.id}>" in thread_text  # closed DMs: a mention in the thread

    # Running the reminder again (e.g. after a restart) sends nothing more.
    await running.restart()
    await running.advance(timedelta(minutes=1))
    assert {m.user.id for m in reviewers if len(fake.dms(m)) > dms_before[m.user.id]} == nudged
    assert sum(len(fake.dms(m)) - dms_before[m.user.id] for m in reviewers) == 2

    status = await fake.run_command(world.organiser, world.channel, "feedback status", round=1)
    assert (await status.wait(timeout=5)).flags & EPHEMERAL

    before_revise = fake.bot_messages(thread)
    revise = await fake.run_command(
        world.organiser,
        world.channel,
        "feedback revise",
        round=1,
        plan="1. Welcome 2. Connecting with people 3. Your profile",
        changes="'Networking' is now 'connecting with people'",
    )
    await revise.wait(timeout=5)
    await running.settle()
    new_posts = [m for m in fake.bot_messages(thread) if m not in before_revise]
    told = " ".join(p.content for p in new_posts)
    assert all(f"<@{m.user.id}>" in told for m in reviewers[:8])
    assert not any(f"<@{m.user.id}>" in told for m in reviewers[8:])
