"""Issue 8 end to end: the community's own words in a real send, the audit export verifies,
and a member sees their own data."""

from __future__ import annotations

import json
from pathlib import Path

from bot.verify_audit import main as verify_audit
from tests.e2e.conftest import World
from tests.e2e.harness import RunningBot
from tests.e2e.test_calls_e2e import create_story_call

EPHEMERAL = 64


async def test_custom_wording_audit_export_and_mydata(
    world: World, running: RunningBot, tmp_path: Path
) -> None:
    fake = world.fake
    admin = fake.add_member(world.guild, "Admin", permissions=1 << 5)  # Manage Server
    handle = await fake.run_command(
        admin, world.channel, "wording set", key="call.signup_dm",
        text="Thank you for connecting with us! You joined {category} on call #{number}.",
    )
    assert (await handle.wait(timeout=5)).flags & EPHEMERAL
    # A typo in a placeholder is refused, and the custom text stays.
    handle = await fake.run_command(admin, world.channel, "wording set", key="call.signup_dm",
                                    text="Hello {nmuber}")
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
    tampered.write_text("\n".join([lines[0], *lines[1:-1], lines[-1].replace("call", "cal1", 1)]),
                        encoding="utf-8")
    assert verify_audit([str(tampered)]) == 1

    # /mydata show: ephemeral, with a JSON file of what is stored about the member.
    handle = await fake.run_command(member, world.channel, "mydata show")
    reply = await handle.wait(timeout=5)
    assert reply.flags & EPHEMERAL
    data = json.loads(fake.attachment_bytes(reply.message.attachments[0]))
    assert str(member.user.id) in json.dumps(data)
