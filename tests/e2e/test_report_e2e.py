"""The whole story, then its ledger (the 8 feedback responses become 8 review entries) and
/report impact showing the story's numbers, as a Markdown file, a chart and a summary."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import discord

from tests.e2e import test_story_e2e as story
from tests.e2e.conftest import World
from tests.e2e.harness import RunningBot

EPHEMERAL = 64


async def command(world: World, actor: Any, name: str, **options: Any) -> Any:
    handle = await world.fake.run_command(actor, world.channel, name, **options)
    return await handle.wait(timeout=10)


async def test_story_ledger_and_impact_report(
    world: World, running: RunningBot, tmp_path: Path
) -> None:
    fake, guild = world.fake, world.guild
    await story.test_the_whole_story(world, running, tmp_path)
    admin = fake.add_member(
        guild,
        "Alex (admin)",
        permissions=discord.Permissions(
            manage_guild=True, manage_events=True, view_channel=True, send_messages=True
        ),
    )
    await running.settle()
    await command(world, admin, "involvement rates", review_fixed="15.00")

    # The 8 feedback responses of the story are 8 review entries of 15.00.
    await command(world, admin, "involvement owed")
    reviews = await running.db.fetchall(
        "SELECT user_id, amount, state FROM ledger_entries WHERE activity = 'review'"
    )
    responders = await running.db.fetchall("SELECT user_id FROM feedback_responses")
    assert len(reviews) == 8
    assert {r[0] for r in reviews} == {r[0] for r in responders}
    assert {(r[1], r[2]) for r in reviews} == {(1500, "owed")}

    # Attendance of the session: 20 of the 22 came (recorded by an organiser afterwards).
    confirmed = [
        r[0]
        for r in await running.db.fetchall(
            "SELECT user_id FROM session_bookings WHERE status = 'confirmed' ORDER BY seq"
        )
    ]
    assert len(confirmed) == 22
    by_id = {m.user.id: m for m in world.members}
    for user_id in confirmed[:20]:
        reply = await command(
            world,
            world.organiser,
            "attendance edit",
            kind="session",
            number=1,
            member=by_id[user_id],
            state="present",
        )
        assert reply.flags & EPHEMERAL

    # A member can't run the report.
    refused = await command(world, world.members[0], "report impact")
    assert refused.flags & EPHEMERAL and not refused.message.attachments

    reply = await command(world, world.organiser, "report impact")
    assert reply.flags & EPHEMERAL
    names = [a["filename"] for a in reply.message.attachments]
    assert "impact-report.md" in names and any(n.endswith(".png") for n in names)
    md = fake.attachment_bytes(
        next(a for a in reply.message.attachments if a["filename"] == "impact-report.md")
    ).decode("utf-8")
    for line in (
        "- Volunteers: 17 (10 + 7)",
        "- Drawn: 6 (3 + 3)",
        "- Invited to review: 11 (5 accepted, 1 declined)",
        "- 8 of 11 replied",
        "- Versions of the plan: 2",
        "- Places: 22",
        "- Booked: 22",
        "- Waiting list at the end: 5",
        "- Promoted from the waiting list: 3",
        "- Cancelled bookings: 3",
        "- Attended: 20",
        "- No-shows: 2",
        "- Owed: 120.00 GBP",
    ):
        assert line in md, line
    for m in world.members:  # counts only: no names, no ids
        assert m.user.name not in md and str(m.user.id) not in md
    for number in ("17 volunteers", "6 drawn", "11 invited", "8 of 11", "22 session places"):
        assert number in reply.content, number

    # The same figures, from the service.
    report = await running.bot.services.report.impact(guild.id, None, None)  # type: ignore[union-attr]
    assert (report.volunteers, report.drawn, report.reviewers_invited) == (17, 6, 11)
    assert (report.asked, report.replied, report.places, report.booked) == (11, 8, 22, 22)
    assert report.attended == 20
    assert not fake.unknown_routes
