"""Exports that stay within Discord's limits however long the history (issue 14, issue 11
item 6): a large audit export arrives as several compressed parts, each under the server's
upload limit, and ``verify_audit`` accepts the parts and their concatenation; cells a
spreadsheet would run as formulas are neutralised."""

from __future__ import annotations

import csv
import gzip
import io
from pathlib import Path

import pytest

from bot import exports
from bot.domain.audit.models import AuditEntry
from bot.verify_audit import main as verify_audit
from db.database import Tx
from db.repositories.audit import AuditBatch
from tests.e2e.conftest import World
from tests.e2e.harness import RunningBot

EPHEMERAL = 64
LIMIT = 120_000  # bytes: a small upload limit, so a modest fixture needs several parts


async def _fill_audit(running: RunningBot, guild_id: int, rows: int, actor: int) -> None:
    for start in range(0, rows, 2000):

        async def work(tx: Tx, start: int = start) -> None:
            batch = AuditBatch(tx)
            for i in range(start, min(rows, start + 2000)):
                batch.add(
                    AuditEntry(
                        guild_id,
                        1_790_000_000.0 + i,
                        actor,
                        "call.signup",
                        '=HYPERLINK("http://x")' if i % 7 == 0 else f"call:{i % 50}",
                        {"category": "-2+3" if i % 5 == 0 else "🌱", "n": i},
                    )
                )
            await batch.flush()

        await running.db.transaction(work)


async def test_a_large_audit_export_arrives_in_parts_that_verify(
    world: World, running: RunningBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = world.fake
    fake.set_upload_limit(world.guild, LIMIT)
    monkeypatch.setattr(exports, "PROGRESS_EVERY", 0.0)  # show progress after every chunk
    await _fill_audit(running, world.guild.id, 12_000, world.organiser.user.id)

    handle = await fake.run_command(world.organiser, world.channel, "audit export")
    first = await handle.wait(timeout=30)
    assert first.flags & EPHEMERAL

    def parts() -> list[dict[str, object]]:
        found = {a["id"]: a for r in handle.replies if r.message for a in r.message.attachments}
        return list(found.values())

    def complete() -> bool:  # "audit-G.part1of4.csv.gz": every one of the 4 has arrived
        got = parts()
        return bool(got) and len(got) == int(str(got[0]["filename"]).split("of")[1].split(".")[0])

    await fake.wait_until(complete, timeout=30, what="every part of the export")
    attachments = parts()
    # The deferred reply showed how far the export got before the files came.
    progress = [r.data.get("content") or "" for r in handle.replies if r.kind == "edit"]
    assert any("of 12,000 rows" in text for text in progress), progress
    names = [a["filename"] for a in attachments]
    datas = [fake.attachment_bytes(a) for a in attachments]
    assert len(set(names)) == len(names) >= 2
    assert all(n.endswith(".csv.gz") for n in names)
    assert all(len(d) <= LIMIT for d in datas)

    paths = []
    rows: list[dict[str, str]] = []
    for name, data in zip(names, datas, strict=True):
        path = tmp_path / name
        path.write_bytes(data)
        paths.append(path)
        rows += list(csv.DictReader(io.StringIO(gzip.decompress(data).decode("utf-8"))))
    assert [int(r["seq"]) for r in rows] == list(range(1, 12_001))  # every row, once, in order
    # Formula-like cells are written as text; plain numbers are left alone.
    assert rows[0]["subject"] == '\'=HYPERLINK("http://x")'
    assert rows[1]["subject"] == "call:1"
    assert all(not r["subject"].startswith("=") for r in rows)

    assert verify_audit([str(p) for p in paths]) == 0
    joined = tmp_path / "all.csv.gz"
    joined.write_bytes(b"".join(datas))
    assert verify_audit([str(joined)]) == 0
    # A part left out is a hole in the chain.
    assert verify_audit([str(paths[0]), str(paths[-1])]) == 1


async def test_every_export_neutralises_formulas(world: World, running: RunningBot) -> None:
    fake = world.fake
    from tests.e2e.test_calls_e2e import create_story_call

    member = fake.add_member(world.guild, "=cmd|' /C calc'!A0", nick="@SUM(1+1)")
    post = await create_story_call(world, running)
    await fake.react(member, world.channel, post, "🌱")
    await running.settle()
    handle = await fake.run_command(world.organiser, world.channel, "call volunteers", call=1)
    reply = await handle.wait(timeout=5)
    await running.settle()
    data = fake.attachment_bytes(reply.message.attachments[0]).decode("utf-8")
    (row,) = list(csv.DictReader(io.StringIO(data)))
    assert row["display_name"] == "'@SUM(1+1)"
    assert row["position"] == "1"


async def test_a_long_volunteer_list_says_how_many_are_not_shown(
    world: World, running: RunningBot
) -> None:
    """Issue 11 item 17: the reply is cut at 2,000 characters, says how many are not shown, and
    the CSV stays complete."""
    from tests.e2e.test_calls_e2e import create_story_call

    fake = world.fake
    crowd = [fake.add_member(world.guild, f"v{i:03d}") for i in range(60)]
    post = await create_story_call(world, running)
    for m in crowd:
        await fake.react(m, world.channel, post, "🧭")
    await fake.wait_until(
        lambda: len(fake.reactions(post).get("🧭", [])) == 61, timeout=10, what="60 sign-ups"
    )
    await running.settle()
    handle = await fake.run_command(world.organiser, world.channel, "call volunteers", call=1)
    reply = await handle.wait(timeout=10)
    await running.settle()
    text = reply.content
    shown = text.count("joined <t:")
    assert len(text) <= 2000 and 0 < shown < 60
    assert f"{60 - shown} more not shown" in text
    data = fake.attachment_bytes(reply.message.attachments[0]).decode("utf-8")
    assert len(list(csv.DictReader(io.StringIO(data)))) == 60
