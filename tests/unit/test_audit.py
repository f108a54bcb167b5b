"""The hash-chained audit trail: every decision recorded, member ids hashed, tampering detected."""

from __future__ import annotations

import csv
import json
import sqlite3
from datetime import timedelta
from pathlib import Path

import asyncpg
import pytest

from bot import verify_audit
from bot.clock import FakeClock
from bot.domain.audit.chain import verify_chain
from bot.domain.audit.service import AuditService
from bot.domain.calls.service import CallService
from bot.domain.errors import InvalidInput
from bot.domain.settings.service import SettingsService
from db import Database, is_postgres_url
from tests.postgres import run_sync

GUILD = 1000
OTHER = 2000
MEMBER = 123456789012345678


def tamper(db_path: Path, *statements: str) -> None:
    """What an attacker with the file (or the database's owner) would do: drop the triggers,
    change rows."""
    if is_postgres_url(db_path):

        async def run() -> None:
            conn = await asyncpg.connect(str(db_path))
            try:
                await conn.execute("ALTER TABLE audit_log DISABLE TRIGGER USER")
                for sql in statements:
                    await conn.execute(sql)
            finally:
                await conn.close()

        run_sync(run())
        return
    conn = sqlite3.connect(db_path)
    conn.execute("DROP TRIGGER audit_log_no_update")
    conn.execute("DROP TRIGGER audit_log_no_delete")
    for sql in statements:
        conn.execute(sql)
    conn.commit()
    conn.close()


async def fill(audit: AuditService, clock: FakeClock, n: int = 6) -> None:
    for i in range(n):
        await audit.record(GUILD, 1, "call.created", f"call:{i + 1}", title=f"Call {i + 1}")
        await audit.record(OTHER, 2, "booking.confirmed", f"session:{i + 1}", user_id=MEMBER)
        clock.advance(timedelta(minutes=1))


async def test_intact_chain_verifies_from_db_and_cli(
    db: Database, db_path: Path, clock: FakeClock, capsys: pytest.CaptureFixture[str]
) -> None:
    audit = AuditService(db, clock)
    await fill(audit, clock)
    assert (await audit.verify(GUILD)).ok
    assert verify_audit.main(["--db", str(db_path)]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1 and out[0].startswith("OK")


async def test_edited_row_is_detected(
    db: Database, db_path: Path, clock: FakeClock, capsys: pytest.CaptureFixture[str]
) -> None:
    audit = AuditService(db, clock)
    await fill(audit, clock)
    tamper(
        db_path, f"UPDATE audit_log SET subject = 'call:99' WHERE guild_id = {GUILD} AND seq = 3"
    )
    assert verify_audit.main(["--db", str(db_path)]) == 1
    verdict = capsys.readouterr().out.strip()
    assert verdict.startswith("FAILED") and f"server {GUILD} row 3" in verdict


async def test_edit_with_recomputed_hash_is_still_detected(
    db: Database, db_path: Path, clock: FakeClock
) -> None:
    """Re-hashing the edited row breaks the link from the next row."""
    audit = AuditService(db, clock)
    await fill(audit, clock)
    row = (await audit.repo.rows(GUILD))[2]
    forged = row.__class__(
        row.id,
        row.guild_id,
        row.seq,
        row.at,
        row.actor_ref,
        row.action,
        "call:99",
        row.details,
        row.prev_hash,
        "",
    )
    tamper(
        db_path,
        f"UPDATE audit_log SET subject = 'call:99', hash = '{forged.expected_hash}' "
        f"WHERE id = {row.id}",
    )
    report = verify_audit.verify_db(db_path)
    assert not report.ok and f"row {row.seq + 1}" in report.problems[0]


@pytest.mark.parametrize("how", ["removed", "reordered", "first removed"])
async def test_removed_or_reordered_rows_are_detected(
    db: Database, db_path: Path, clock: FakeClock, how: str
) -> None:
    audit = AuditService(db, clock)
    await fill(audit, clock)
    if how == "removed":
        tamper(db_path, f"DELETE FROM audit_log WHERE guild_id = {GUILD} AND seq = 4")
    elif how == "first removed":
        tamper(db_path, f"DELETE FROM audit_log WHERE guild_id = {GUILD} AND seq = 1")
    else:
        tamper(
            db_path,
            f"UPDATE audit_log SET seq = -1 WHERE guild_id = {GUILD} AND seq = 2",
            f"UPDATE audit_log SET seq = 2 WHERE guild_id = {GUILD} AND seq = 3",
            f"UPDATE audit_log SET seq = 3 WHERE guild_id = {GUILD} AND seq = -1",
        )
    report = verify_audit.verify_db(db_path)
    assert not report.ok, report.verdict()


async def test_kept_head_detects_a_rewritten_tail(
    db: Database, db_path: Path, clock: FakeClock
) -> None:
    audit = AuditService(db, clock)
    await fill(audit, clock)
    head = (await audit.repo.rows(GUILD))[-1].hash
    tamper(db_path, f"DELETE FROM audit_log WHERE guild_id = {GUILD} AND seq = 6")
    assert verify_audit.verify_db(db_path).ok  # a truncated tail alone looks intact...
    assert not verify_audit.verify_db(db_path, [head]).ok  # ...but not against a kept hash


async def test_log_is_append_only_for_the_bot(db: Database, clock: FakeClock) -> None:
    await AuditService(db, clock).record(GUILD, 1, "x")
    refused = (sqlite3.DatabaseError, asyncpg.PostgresError)
    with pytest.raises(refused):
        await db.execute("UPDATE audit_log SET action = 'y'")
    with pytest.raises(refused):
        await db.execute("DELETE FROM audit_log")


async def test_member_ids_are_never_stored(db: Database, clock: FakeClock) -> None:
    audit = AuditService(db, clock)
    await audit.record(
        GUILD,
        MEMBER,
        "draw.run",
        "call:1",
        user_id=MEMBER,
        selected_user_ids=[MEMBER, 5],
        note="kept",
    )
    await audit.record(OTHER, MEMBER, "x", user_id=MEMBER)
    rows = await db.fetchall("SELECT actor_ref, details FROM audit_log")
    dump = json.dumps([tuple(r) for r in rows])
    assert str(MEMBER) not in dump
    details = json.loads(rows[0][1])
    ref = await audit.member_ref(GUILD, MEMBER)
    assert rows[0][0] == ref == details["user_id"] == details["selected_user_ids"][0]
    assert details["note"] == "kept"
    assert rows[1][0] != ref  # another server: another reference


async def test_csv_export_verifies_and_detects_an_edit(
    db: Database, clock: FakeClock, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    audit = AuditService(db, clock)
    await fill(audit, clock)
    export = await audit.export(GUILD)
    rows = export.csv_rows(lambda user_id: "Organiser" if user_id == 1 else None)
    assert rows[1][5] == "Organiser (1)"  # names come from the key table, not the log
    path = tmp_path / "audit.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)
    assert verify_audit.main([str(path)]) == 0
    # A period starting mid-chain still verifies.
    assert audit.parse_period(None, None, "Europe/London") == (None, None)
    partial = await audit.export(GUILD, since=clock.now() - timedelta(minutes=3))
    assert partial.rows[0].seq > 1 and verify_chain(partial.rows, allow_partial=True).ok
    # Someone edits a cell in the file.
    rows[3][8] = rows[3][8].replace("Call", "Kall")
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)
    capsys.readouterr()
    assert verify_audit.main([str(path)]) == 1
    assert capsys.readouterr().out.startswith("FAILED")


async def test_export_period_and_bad_range(db: Database, clock: FakeClock) -> None:
    audit = AuditService(db, clock)
    start, end = audit.parse_period("2026-11-01", "2026-11-30", "UTC")
    assert start is not None and end is not None
    assert end - start > timedelta(days=29, hours=23)  # a bare end date includes that day
    with pytest.raises(InvalidInput):
        await audit.export(GUILD, end, start)


async def test_call_flow_is_audited_with_sources(db: Database, clock: FakeClock) -> None:
    calls = CallService(db, clock)
    details = await calls.create(
        guild_id=GUILD,
        channel_id=1,
        author_id=9,
        title="Co-produce",
        categories="🧭 Experienced; 🌱 New",
        tz="UTC",
    )
    await calls.attach_post(details.call.id, 1, 555)
    await calls.react(555, 11, "🧭", added=True)
    await calls.react(555, 11, "🌱", added=True)  # switch
    await calls.react(555, 12, "🧭", added=True)
    await calls.react(555, 12, "🧭", added=False)  # withdraw
    await calls.react(555, 13, "🧭", added=True)
    await calls.edit(GUILD, 1, places="🧭=3, 🌱=3", tz="UTC", actor_id=9)
    # While offline: 13 withdrew and 14 joined.
    await calls.reconcile(details.call.id, {"🌱": [11, 14], "🧭": []})
    await calls.close_by_number(GUILD, 1, actor_id=9)
    await calls.reopen(GUILD, 1, None, "UTC", actor_id=9)
    await calls.close_writer()
    rows = await db.fetchall(
        "SELECT action, details FROM audit_log WHERE guild_id = ? ORDER BY seq", (GUILD,)
    )
    got = [(r[0], json.loads(r[1]).get("source")) for r in rows]
    assert got == [
        ("call.created", None),
        ("call.signup", "reaction"),
        ("call.switch", "reaction"),
        ("call.signup", "reaction"),
        ("call.withdrawal", "reaction"),
        ("call.signup", "reaction"),
        ("call.edited", None),
        ("call.signup", "reconciliation"),
        ("call.withdrawal", "reconciliation"),
        ("call.closed", None),
        ("call.reopened", None),
    ]
    assert (await AuditService(db, clock).verify(GUILD)).ok


async def test_settings_changes_are_audited(db: Database, clock: FakeClock) -> None:
    settings = SettingsService(db, clock, "Europe/London")
    await settings.set_timezone(GUILD, "Europe/Paris", actor_id=5)
    await settings.set_dm_confirmations(GUILD, False, actor_id=5)
    await settings.set_organiser_role(GUILD, 77, actor_id=5)
    rows = await db.fetchall("SELECT action, subject FROM audit_log ORDER BY seq")
    assert [tuple(r) for r in rows] == [
        ("settings.changed", "setting:timezone"),
        ("settings.changed", "setting:dm_confirmations"),
        ("settings.changed", "setting:organiser_role"),
    ]
