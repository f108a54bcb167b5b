"""The story's second group meeting, in a voice channel, through the real bot and the fake
Discord: voice time (a member who leaves early, one who never comes, one who reconnects, a
restart in the middle), the ledger at 30.00 an hour (a member who chose "don't pay me"), an
expense claim approved, the CSV export, and who may see and press what."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Any

import discord

from bot.domain.attendance.models import EventKind
from tests.e2e.conftest import World
from tests.e2e.harness import RunningBot

EPHEMERAL = 64


def buttons(message: Any) -> list[str]:
    return [
        str(c["custom_id"])
        for row in message.components
        for c in row.get("components", [])
        if c.get("custom_id")
    ]


async def ledger(running: RunningBot) -> dict[tuple[int | None, str], tuple[int, int | None, str]]:
    rows = await running.db.fetchall(
        "SELECT user_id, activity, minutes, amount, state FROM ledger_entries ORDER BY id"
    )
    return {(r[0], r[1]): (r[2], r[3], r[4]) for r in rows}


async def command(world: World, actor: Any, name: str, **options: Any) -> Any:
    handle = await world.fake.run_command(actor, world.channel, name, **options)
    return await handle.wait(timeout=5)


async def test_group_meeting_in_voice_to_the_ledger(world: World, running: RunningBot) -> None:
    fake, guild = world.fake, world.guild
    admin = fake.add_member(
        guild,
        "Alex (admin)",
        permissions=discord.Permissions(manage_guild=True, view_channel=True, send_messages=True),
    )
    finance_role = fake.add_role(guild, "Finance")
    treasurer = fake.add_member(guild, "Tess (treasurer)", roles=[finance_role])
    group_role = fake.add_role(guild, "Co-production group")
    group = world.members[:6]
    for m in group:
        fake.set_member_roles(m, [group_role])
    room = fake.add_channel(guild, "Group room", "voice")
    await running.settle()

    # Settings: the finance role, a rate of 30.00 an hour for group meetings.
    await command(world, admin, "settings finance-role", role=finance_role)
    reply = await command(world, admin, "involvement rates", currency="GBP", meeting="30.00")
    assert reply.flags & EPHEMERAL
    refused = await command(world, treasurer, "involvement rates", meeting="99")
    assert refused.flags & EPHEMERAL
    rates = await running.bot.services.involvement.rates(guild.id)  # type: ignore[union-attr]
    assert rates.meeting_rate == 3000 and rates.finance_role_id == finance_role.id

    a, b, c, d, e, f = group
    # c chose "don't pay me", privately.
    reply = await command(world, c, "involvement preferences", choice="don't pay me")
    assert reply.flags & EPHEMERAL

    # The meeting: 12:00 to 13:00 in the voice room, for the group role.
    reply = await command(
        world,
        world.organiser,
        "meeting create",
        title="Group meeting 2: the session plan",
        starts="in 2 hours",
        duration="1h",
        role=group_role,
        voice=room,
    )
    assert reply.flags & EPHEMERAL
    meeting = await running.db.fetchone("SELECT id, starts_at FROM meetings WHERE number = 1")
    assert meeting is not None
    audience = await running.bot.services.meetings.audience(meeting[0])  # type: ignore[union-attr]
    assert sorted(audience) == sorted(m.user.id for m in group)

    async def at(minutes_from_start: int) -> None:
        target = meeting[1] + minutes_from_start * 60
        now = running.clock.now().timestamp()
        await running.advance(timedelta(seconds=target - now))

    async def voice(member: Any, channel: Any | None) -> None:
        if channel is None:
            await fake.leave_voice(member)
        else:
            await fake.join_voice(member, channel)
        await running.settle()  # one update at a time (discord.py reuses VoiceState objects)

    await at(-5)
    for m in (a, b, c, d, e):  # f never comes
        await voice(m, room)
    await at(20)
    await voice(e, None)  # e leaves after 20 minutes
    await at(25)
    await voice(d, None)  # d's connection drops ...
    await at(30)
    await voice(d, room)  # ... and d is back 5 minutes later
    await at(35)
    await running.stop()  # a restart in the middle: 5 minutes with the bot away
    running.clock.advance(timedelta(minutes=5))
    await running.start()
    await at(65)
    for m in (a, b, c, d):
        await voice(m, None)

    # Minutes: a, b, c the whole hour (joining early counts from the start), d 55, e 20, f none.
    attendance = await running.bot.services.attendance.show(  # type: ignore[union-attr]
        EventKind.MEETING, guild.id, 1
    )
    minutes = {line.user_id: line.minutes for line in attendance.attended}
    assert minutes == {a.user.id: 60, b.user.id: 60, c.user.id: 60, d.user.id: 55, e.user.id: 20}
    assert [line.user_id for line in attendance.no_shows] == [f.user.id]
    shown = await command(world, world.organiser, "attendance show", kind="meeting", number=1)
    assert shown.flags & EPHEMERAL

    # Members never see the finance list, nor press its buttons.
    refused = await command(world, a, "involvement owed")
    assert refused.flags & EPHEMERAL and not buttons(refused.message)
    refused = await command(world, world.organiser, "involvement export")
    assert refused.flags & EPHEMERAL and not refused.message.attachments

    # The ledger at 30.00 an hour: c has an entry with no amount; f has none.
    owed = await command(world, treasurer, "involvement owed")
    assert owed.flags & EPHEMERAL
    entries = await ledger(running)
    assert entries == {
        (a.user.id, "meeting"): (60, 3000, "owed"),
        (b.user.id, "meeting"): (60, 3000, "owed"),
        (c.user.id, "meeting"): (60, None, "declined"),
        (d.user.id, "meeting"): (55, 2750, "owed"),
        (e.user.id, "meeting"): (20, 1000, "owed"),
    }
    forged = await fake.forge_click(a, world.channel, f"ledger:approve:meeting:{meeting[0]}")
    await forged.wait(timeout=5)
    assert {s for (_, _, s) in (await ledger(running)).values()} == {"owed", "declined"}

    # e claims the bus fare, with a receipt.
    e_entry = await running.db.fetchval(
        "SELECT id FROM ledger_entries WHERE user_id = ? AND activity = 'meeting'", (e.user.id,)
    )
    reply = await command(
        world,
        e,
        "involvement expense",
        activity=e_entry,
        amount="4.50",
        description="Bus fare",
        receipt=("receipt.png", b"\x89PNG fake receipt", "image/png"),
    )
    assert reply.flags & EPHEMERAL
    # Someone else can't claim on e's activity.
    await command(world, a, "involvement expense", activity=e_entry, amount="9", description="x")
    assert (e.user.id, "expense") in await ledger(running)
    assert (a.user.id, "expense") not in await ledger(running)

    # Approve the whole meeting in one press (the expense with it).
    owed = await command(world, treasurer, "involvement owed")
    approve = next(x for x in buttons(owed.message) if x.startswith("ledger:approve:meeting:"))
    click = await fake.click(treasurer, owed.message, approve)
    await click.wait(timeout=5)
    entries = await ledger(running)
    assert entries[(e.user.id, "expense")] == (0, 450, "approved")
    assert entries[(a.user.id, "meeting")] == (60, 3000, "approved")
    assert entries[(c.user.id, "meeting")] == (60, None, "declined")

    # The export: one row per entry, totals per member.
    export = await command(world, treasurer, "involvement export")
    data = fake.attachment_bytes(export.message.attachments[0]).decode("utf-8")
    rows = list(csv.reader(io.StringIO(data)))
    blank = rows.index([])
    body = [dict(zip(rows[0], r, strict=True)) for r in rows[1:blank]]
    assert len(body) == 6
    assert sorted((r["member_id"], r["activity"], r["amount"], r["state"]) for r in body) == sorted(
        [
            (str(a.user.id), "meeting", "30.00", "approved"),
            (str(b.user.id), "meeting", "30.00", "approved"),
            (str(c.user.id), "meeting", "", "declined"),
            (str(d.user.id), "meeting", "27.50", "approved"),
            (str(e.user.id), "meeting", "10.00", "approved"),
            (str(e.user.id), "expense", "4.50", "approved"),
        ]
    )
    totals = [dict(zip(rows[blank + 1], r, strict=True)) for r in rows[blank + 2 :]]
    by_member = {t["member_id"]: t for t in totals if t["totals"] == "member"}
    assert by_member[str(e.user.id)]["approved"] == "14.50"
    assert by_member[str(e.user.id)]["minutes"] == "20"
    assert by_member[str(c.user.id)]["total"] == "0.00"
    everyone = next(t for t in totals if t["totals"] == "all")
    assert everyone["approved"] == "102.00" and everyone["minutes"] == "255"

    # Mark paid; each member sees only their own record.
    owed = await command(world, treasurer, "involvement owed")
    paid = next(x for x in buttons(owed.message) if x.startswith("ledger:paid:meeting:"))
    await (await fake.click(treasurer, owed.message, paid)).wait(timeout=5)
    assert (await ledger(running))[(d.user.id, "meeting")] == (55, 2750, "paid")
    mine = await command(world, d, "involvement mine")
    assert mine.flags & EPHEMERAL
    assert "27.50" in mine.content and "30.00" not in mine.content

    # Every state change is in the audit log.
    actions = [
        r[0]
        for r in await running.db.fetchall(
            "SELECT action FROM audit_log WHERE action LIKE 'ledger.%' ORDER BY seq"
        )
    ]
    assert actions.count("ledger.entry_created") == 5
    assert actions.count("ledger.expense_claimed") == 1
    assert actions.count("ledger.approved") == 5
    assert actions.count("ledger.paid") == 5
    assert not fake.unknown_routes


async def test_im_here_outside_voice(world: World, running: RunningBot) -> None:
    """A meeting in a community centre: its post has I'm here, which counts only while the
    meeting is on and only for who it is for; members can't run /attendance."""
    fake, guild = world.fake, world.guild
    group_role = fake.add_role(guild, "Co-production group")
    for m in world.members[:3]:
        fake.set_member_roles(m, [group_role])
    await running.settle()
    await command(
        world,
        world.organiser,
        "meeting create",
        title="Group meeting 3",
        starts="in 2 hours",
        duration="1h",
        role=group_role,
        where="Community centre",
    )
    post = await fake.wait_until(
        lambda: next(
            (
                m
                for m in fake.bot_messages(world.channel)
                if any(b.startswith("attendance:here:") for b in buttons(m))
            ),
            None,
        ),
        timeout=5,
        what="the meeting post with I'm here",
    )
    here = next(b for b in buttons(post) if b.startswith("attendance:here:"))

    async def press(member: Any) -> None:
        await (await fake.click(member, post, here)).wait(timeout=5)

    await press(world.members[0])  # too early
    assert await running.db.fetchval("SELECT COUNT(*) FROM attendance_marks") == 0
    await running.advance(timedelta(hours=2, minutes=10))
    await press(world.members[0])
    await press(world.members[9])  # not in the group
    rows = await running.db.fetchall("SELECT user_id, present, source FROM attendance_marks")
    assert [tuple(r) for r in rows] == [(world.members[0].user.id, 1, "member")]
    refused = await command(world, world.members[0], "attendance show", kind="meeting", number=1)
    assert refused.flags & EPHEMERAL
    refused = await command(
        world,
        world.members[0],
        "attendance edit",
        kind="meeting",
        number=1,
        member=world.members[1],
        state="present",
    )
    assert await running.db.fetchval("SELECT COUNT(*) FROM attendance_marks") == 1
    await running.advance(timedelta(hours=1))
    result = await running.bot.services.attendance.show(  # type: ignore[union-attr]
        EventKind.MEETING, guild.id, 1
    )
    assert result.attendee_ids == [world.members[0].user.id]
    assert len(result.no_shows) == 2
