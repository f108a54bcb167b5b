"""Two bots in one test, ``SHARD_COUNT=2``, one database (both backends): the server is on shard
1, but a press in a DM reaches shard 0's bot (Discord sends DMs to shard 0). The decision is the
database's either way; the role that goes with it must be given too, although shard 0's bot does
not have that server in its cache."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import discord
import pytest

from bot.clock import FakeClock
from tests.conftest import STORY_START
from tests.e2e.fake_discord import FakeDiscord
from tests.e2e.harness import RunningBot, organiser_permissions
from tests.e2e.test_story_e2e import buttons
from tests.fakes.drand_server import FakeDrandServer

EPHEMERAL = 64
STORY_CATEGORIES = "🧭 Experienced with LinkedIn; 🌱 New to LinkedIn"


async def test_a_review_accepted_in_a_dm_on_the_other_shard_gets_its_role(
    fake: FakeDiscord, db_path: Path
) -> None:
    guild = fake.add_guild("Co-production Community", shard=(1, 2))
    channel = fake.add_channel(guild, "co-production")
    organiser = fake.add_member(guild, "Sam (staff)", permissions=organiser_permissions())
    members = [fake.add_member(guild, f"member{i:02d}") for i in range(6)]
    group_role = fake.add_role(guild, "Co-production group")
    reviewer_role = fake.add_role(guild, "Plan reviewers")
    # The organiser may give these roles: Manage Roles and a role above them.
    staff = fake.add_role(
        guild,
        "Staff",
        permissions=discord.Permissions(
            manage_events=True, manage_roles=True, view_channel=True, send_messages=True
        ).value,
    )
    fake.set_member_roles(organiser, [staff])
    clock = FakeClock(STORY_START)
    async with FakeDrandServer(clock=lambda: clock.now().timestamp()) as beacon:
        await _review_in_a_dm_on_the_other_shard(
            fake,
            db_path,
            clock,
            beacon,
            guild,
            channel,
            organiser,
            members,
            group_role,
            reviewer_role,
        )


async def _review_in_a_dm_on_the_other_shard(
    fake: FakeDiscord,
    db_path: Path,
    clock: FakeClock,
    beacon: FakeDrandServer,
    guild: Any,
    channel: Any,
    organiser: Any,
    members: list[Any],
    group_role: Any,
    reviewer_role: Any,
) -> None:
    bots = [
        RunningBot(
            fake,
            db_path,
            clock,
            guild.id,
            beacon,
            env={"SHARD_COUNT": "2", "SHARD_IDS": str(shard)},
        )
        for shard in (0, 1)
    ]
    owner = bots[1]
    try:
        for bot in bots:
            await bot.start()
        assert owner.bot is not None and owner.bot.get_guild(guild.id) is not None
        assert bots[0].bot is not None and bots[0].bot.get_guild(guild.id) is None

        handle = await fake.run_command(
            organiser,
            channel,
            "call create",
            title="Co-produce",
            categories=STORY_CATEGORIES,
            places="🧭=1, 🌱=1",
        )
        assert (await handle.wait(timeout=5)).flags & EPHEMERAL
        post = await fake.wait_for_message(channel, check=lambda m: m.is_components_v2)
        await fake.wait_until(lambda: len(fake.reactions(post)) == 2, what="the bot's reactions")
        for i, member in enumerate(members):
            await fake.react(member, channel, post, "🧭" if i % 2 else "🌱")
        await owner.settle()
        handle = await fake.run_command(
            organiser,
            channel,
            "draw run",
            call=1,
            group_role=group_role,
            reviewer_role=reviewer_role,
        )
        assert (await handle.wait(timeout=10)).flags & EPHEMERAL
        await owner.reach_draw()
        await owner.settle()
        not_drawn = {
            int(r[0])
            for r in await owner.db.fetchall(
                "SELECT user_id FROM draw_entries WHERE status = 'reserve'"
            )
        }
        member = next(m for m in members if m.user.id in not_drawn)
        invite = await fake.wait_until(
            lambda: next(
                (
                    d
                    for d in fake.dms(member)
                    if any(b.startswith("draw:review") for b in buttons(d))
                ),
                None,
            ),
            timeout=5,
            what="a review invitation DM",
        )
        custom_id = next(b for b in buttons(invite) if b.startswith("draw:review:"))
        click = await fake.click(member, invite, custom_id)  # a DM: shard 0's bot gets it
        await click.wait(timeout=5)
        for bot in bots:
            await bot.settle()
        status = await owner.db.fetchval(
            "SELECT status FROM call_reviewers WHERE user_id = ?", (member.user.id,)
        )
        assert status == "accepted"
        assert reviewer_role in fake.member_roles(member)
    finally:
        for bot in reversed(bots):
            await bot.stop()


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_shard_count_auto_takes_discords_recommendation(
    fake: FakeDiscord, db_path: Path
) -> None:
    """``SHARD_COUNT=auto``: one process runs Discord's recommended number of shards and sees
    every server (and every job is its own)."""
    fake.recommended_shards = 2
    guilds = [fake.add_guild(f"Community {i}", shard=(i, 2)) for i in range(2)]
    runner = RunningBot(
        fake, db_path, FakeClock(STORY_START), guilds[0].id, env={"SHARD_COUNT": "auto"}
    )
    try:
        bot = await runner.start(timeout=20)  # discord.py waits 5 s before the second shard
        assert bot.shard_count == 2
        assert {g.id for g in bot.guilds} == {g.id for g in guilds}
        assert bot.jobs.shards is None
    finally:
        await runner.stop()
