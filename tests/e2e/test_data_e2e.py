"""Issue 8 end to end: the community's own words in a real send, the audit export verifies,
and a member sees their own data."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from bot.verify_audit import main as verify_audit
from tests.e2e.conftest import World
from tests.e2e.harness import RunningBot
from tests.e2e.test_calls_e2e import create_story_call
from tests.e2e.test_faults_e2e import give_roles

EPHEMERAL = 64


async def test_custom_wording_audit_export_and_mydata(
    world: World, running: RunningBot, tmp_path: Path
) -> None:
    fake = world.fake
    admin = fake.add_member(world.guild, "Admin", permissions=1 << 5)  # Manage Server
    handle = await fake.run_command(
        admin,
        world.channel,
        "wording set",
        key="call.signup_dm",
        text="Thank you for connecting with us! You joined {category} on call #{number}.",
    )
    assert (await handle.wait(timeout=5)).flags & EPHEMERAL
    # A typo in a placeholder is refused, and the custom text stays.
    handle = await fake.run_command(
        admin, world.channel, "wording set", key="call.signup_dm", text="Hello {nmuber}"
    )
    assert (await handle.wait(timeout=5)).flags & EPHEMERAL

    post = await create_story_call(world, running)
    member = world.members[0]
    await fake.react(member, world.channel, post, "🌱")
    dm = await fake.wait_until(lambda: fake.dms(member), timeout=5, what="the sign-up DM")
    assert dm[-1].content.startswith("Thank you for connecting with us!")

    # The audit export is a CSV whose hash chain verifies offline.
    handle = await fake.run_command(world.organiser, world.channel, "audit export")
    reply = await handle.wait(timeout=5)
    assert reply.flags & EPHEMERAL
    csv_path = tmp_path / "audit.csv"
    csv_path.write_bytes(fake.attachment_bytes(reply.message.attachments[0]))
    assert verify_audit([str(csv_path)]) == 0
    lines = csv_path.read_text(encoding="utf-8").splitlines()
    tampered = tmp_path / "tampered.csv"
    tampered.write_text(
        "\n".join([lines[0], *lines[1:-1], lines[-1].replace("call", "cal1", 1)]), encoding="utf-8"
    )
    assert verify_audit([str(tampered)]) == 1

    # /mydata show: ephemeral, with a JSON file of what is stored about the member.
    handle = await fake.run_command(member, world.channel, "mydata show")
    reply = await handle.wait(timeout=5)
    assert reply.flags & EPHEMERAL
    data = json.loads(fake.attachment_bytes(reply.message.attachments[0]))
    assert str(member.user.id) in json.dumps(data)


async def test_a_drawn_member_deletes_their_data(world: World, running: RunningBot) -> None:
    """The place passes to the next reserve, the group role goes, the draw still verifies."""
    fake = world.fake
    group_role = fake.add_role(world.guild, "Co-production group")
    give_roles(world)
    await running.settle()
    post = await create_story_call(world, running)
    for m in world.members[:4]:
        await fake.react(m, world.channel, post, "🧭")
    await running.settle()
    handle = await fake.run_command(
        world.organiser, world.channel, "draw run", call=1, places="2", group_role=group_role
    )
    await handle.wait(timeout=10)
    await running.reach_draw()
    selected = [
        r[0]
        for r in await running.db.fetchall(
            "SELECT user_id FROM draw_entries WHERE status = 'selected'"
        )
    ]
    leaver = next(m for m in world.members[:4] if m.user.id == selected[0])
    assert group_role in fake.member_roles(leaver)

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
        lambda: group_role not in fake.member_roles(leaver),
        timeout=5,
        what="the group role removed",
    )
    now_selected = [
        r[0]
        for r in await running.db.fetchall(
            "SELECT user_id FROM draw_entries WHERE status = 'selected'"
        )
    ]
    assert leaver.user.id not in now_selected and len(now_selected) == 2
    assert (
        await running.db.fetchval(
            "SELECT COUNT(*) FROM draw_entries WHERE user_id = ?", (leaver.user.id,)
        )
        == 0
    )
    handle = await fake.run_command(world.organiser, world.channel, "draw verify", call=1)
    verdict = await handle.wait(timeout=5)
    assert verdict.flags & EPHEMERAL
    assert (
        await running.bot.services.draws.verify(  # type: ignore[union-attr]
            world.guild.id, 1
        )
    ).ok
