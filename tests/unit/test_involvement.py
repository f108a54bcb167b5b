"""The involvement ledger on a real database: integer money, entries from attendance that
follow edits and preferences until approved, bulk approval and payment audited, expense claims,
no-payments mode, and members' data (shown, anonymised on deletion, purged after retention)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.clock import FakeClock
from bot.domain.attendance.models import EventKind
from bot.domain.attendance.service import AttendanceService
from bot.domain.errors import Conflict, InvalidInput, NotFound
from bot.domain.involvement.models import Activity, EntryState, Method, Rates, Sync
from bot.domain.involvement.rules import (
    hourly_amount,
    hours,
    money,
    parse_money,
    rounded_minutes,
    terms,
)
from bot.domain.involvement.service import InvolvementService, counts_as_finance
from bot.domain.meetings.service import MeetingService
from bot.domain.mydata.service import MyDataService
from bot.scheduling import JobScheduler
from db import Database
from tests.unit.test_attendance import GUILD, PEOPLE, ROOM, voice_meeting


def test_money_is_integers() -> None:
    assert [parse_money(x) for x in ("30", "30.5", "30.00", "£4,50", " 0.07 ")] == [
        3000,
        3050,
        3000,
        450,
        7,
    ]
    assert parse_money("") is None
    for bad in ("30.001", "-3", "abc", "1e3", "99999999"):
        with pytest.raises(InvalidInput):
            parse_money(bad)
    assert (money(2750, "GBP"), money(5), money(None)) == ("27.50 GBP", "0.05", "-")
    assert hourly_amount(3000, 55) == 2750 and hourly_amount(1000, 1) == 17  # 16.67 -> 17
    assert rounded_minutes(52, 15) == 60 and rounded_minutes(52, 1) == 52
    assert hours(255) == "4.25"


def test_terms() -> None:
    rates = Rates(GUILD, meeting_rate=3000, review_fixed=1500)
    assert terms(rates, Activity.MEETING, 20, None) == (20, 1000, EntryState.OWED)
    assert terms(rates, Activity.MEETING, 20, Method.DECLINE) == (20, None, EntryState.DECLINED)
    assert terms(rates, Activity.SESSION, 90, None) == (90, None, EntryState.RECORDED)
    assert terms(rates, Activity.REVIEW, 0, Method.VOUCHER) == (0, 1500, EntryState.OWED)
    off = Rates(GUILD, payments=False, meeting_rate=3000)
    assert terms(off, Activity.MEETING, 60, None) == (60, None, EntryState.RECORDED)
    rounded = Rates(GUILD, meeting_rate=3000, rounding_minutes=15)
    assert terms(rounded, Activity.MEETING, 52, None) == (60, 3000, EntryState.OWED)


def test_finance_rule() -> None:
    assert counts_as_finance(
        administrator=False, manage_guild=True, role_ids=[], finance_role_id=None
    )
    assert counts_as_finance(
        administrator=False, manage_guild=False, role_ids=[5], finance_role_id=5
    )
    assert not counts_as_finance(
        administrator=False, manage_guild=False, role_ids=[6], finance_role_id=5
    )


async def held_meeting(db: Database, clock: FakeClock, jobs: JobScheduler) -> int:
    """A 60-minute meeting in voice: PEOPLE[0..2] the whole time, PEOPLE[3] 20 minutes."""
    meeting = await voice_meeting(MeetingService(db, clock, jobs), voice_channel_id=ROOM)
    attendance = AttendanceService(db, clock)
    clock.advance(timedelta(hours=2))
    for user in PEOPLE[:4]:
        await attendance.voice_moved(GUILD, user, None, ROOM)
    clock.advance(timedelta(minutes=20))
    await attendance.voice_moved(GUILD, PEOPLE[3], ROOM, None)
    clock.advance(timedelta(minutes=45))
    return meeting.id


async def entries(db: Database) -> dict[tuple[int | None, str], tuple[int, int | None, str]]:
    rows = await db.fetchall(
        "SELECT user_id, activity, minutes, amount, state FROM ledger_entries ORDER BY id"
    )
    return {(r[0], r[1]): (r[2], r[3], r[4]) for r in rows}


async def test_ledger_follows_attendance_until_approved(
    db: Database, clock: FakeClock, jobs: JobScheduler
) -> None:
    meeting_id = await held_meeting(db, clock, jobs)
    service = InvolvementService(db, clock)
    await service.set_rates(GUILD, 1, meeting="30.00")
    await service.set_preference(GUILD, PEOPLE[2], Method.DECLINE)  # brings the ledger up to date
    assert await service.sync(GUILD) == Sync()  # idempotent
    assert await entries(db) == {
        (PEOPLE[0], "meeting"): (60, 3000, "owed"),
        (PEOPLE[1], "meeting"): (60, 3000, "owed"),
        (PEOPLE[2], "meeting"): (60, None, "declined"),
        (PEOPLE[3], "meeting"): (20, 1000, "owed"),
    }
    # An organiser's correction and a changed mind reach unpaid entries.
    await service.attendance.edit(EventKind.MEETING, GUILD, 1, PEOPLE[3], True, 30, 1)
    await service.attendance.edit(EventKind.MEETING, GUILD, 1, PEOPLE[1], False, None, 1)
    await service.set_preference(GUILD, PEOPLE[2], Method.VOUCHER)
    assert await entries(db) == {
        (PEOPLE[0], "meeting"): (60, 3000, "owed"),
        (PEOPLE[2], "meeting"): (60, 3000, "owed"),
        (PEOPLE[3], "meeting"): (30, 1500, "owed"),
    }
    approved = await service.approve(GUILD, "meeting", meeting_id, 1)
    assert len(approved) == 3
    with pytest.raises(Conflict):
        await service.approve(GUILD, "meeting", meeting_id, 1)
    # Approved entries no longer move with attendance.
    await service.attendance.edit(EventKind.MEETING, GUILD, 1, PEOPLE[0], False, None, 1)
    await service.sync(GUILD)
    assert (await entries(db))[(PEOPLE[0], "meeting")] == (60, 3000, "approved")
    paid = await service.mark_paid(GUILD, "meeting", meeting_id, 1)
    assert {e.state for e in paid} == {EntryState.PAID}
    actions = [r[0] for r in await db.fetchall("SELECT action FROM audit_log ORDER BY seq")]
    for action in ("ledger.entry_created", "ledger.entry_updated", "ledger.entry_removed"):
        assert action in actions
    assert actions.count("ledger.approved") == 3 and actions.count("ledger.paid") == 3
    # Only finance sees everything; a member's own view holds only their entries.
    mine, totals = await service.mine(GUILD, PEOPLE[3])
    assert [e.user_id for e in mine] == [PEOPLE[3]]
    assert totals is not None and totals.paid == 1500


async def test_expense_claims(db: Database, clock: FakeClock, jobs: JobScheduler) -> None:
    await held_meeting(db, clock, jobs)
    service = InvolvementService(db, clock)
    await service.set_rates(GUILD, 1, meeting="30")
    await service.sync(GUILD)
    own = await service.own_activities(GUILD, PEOPLE[3])
    claim = await service.claim_expense(GUILD, PEOPLE[3], own[0].id, "4.50", "Bus fare", "r.png")
    assert (claim.amount, claim.state, claim.activity) == (450, EntryState.OWED, Activity.EXPENSE)
    with pytest.raises(NotFound):  # not theirs
        await service.claim_expense(GUILD, PEOPLE[0], own[0].id, "4.50", "Bus fare")
    with pytest.raises(InvalidInput):
        await service.claim_expense(GUILD, PEOPLE[3], own[0].id, "0", "Bus fare")
    with pytest.raises(InvalidInput):
        await service.claim_expense(GUILD, PEOPLE[3], own[0].id, "4", "   ")
    assert await db.fetchval("SELECT COUNT(*) FROM ledger_entries WHERE activity = 'expense'") == 1


async def test_no_payments_counts_hours(db: Database, clock: FakeClock, jobs: JobScheduler) -> None:
    await held_meeting(db, clock, jobs)
    service = InvolvementService(db, clock)
    await service.set_rates(GUILD, 1, payments=False, meeting="30")
    await service.sync(GUILD)
    assert {v for v in (await entries(db)).values()} == {
        (60, None, "recorded"),
        (20, None, "recorded"),
    }
    assert await service.owed(GUILD) == []


async def test_mydata_shows_deletes_and_keeps_ledger_anonymously(
    db: Database, clock: FakeClock, jobs: JobScheduler
) -> None:
    await held_meeting(db, clock, jobs)
    service = InvolvementService(db, clock)
    await service.set_rates(GUILD, 1, meeting="30")
    await service.set_preference(GUILD, PEOPLE[3], Method.VOUCHER)
    await service.sync(GUILD)
    mydata = MyDataService(db, clock)
    shown = (await mydata.collect(GUILD, PEOPLE[3])).counts()
    for name in ("voice time", "payment preference", "involvement ledger"):
        assert shown.get(name), name
    report = await mydata.delete(GUILD, PEOPLE[3])
    assert report.removed["payment preference"] == 1
    assert (
        await db.fetchval("SELECT COUNT(*) FROM ledger_entries WHERE user_id = ?", (PEOPLE[3],))
        == 0
    )
    kept = await db.fetchall("SELECT user_id, amount FROM ledger_entries WHERE user_id IS NULL")
    assert [tuple(r) for r in kept] == [(None, 1000)]  # kept for accounting, without the member
    await service.sync(GUILD)  # nothing brings the member back
    assert (
        await db.fetchval("SELECT COUNT(*) FROM ledger_entries WHERE user_id = ?", (PEOPLE[3],))
        == 0
    )
    # Six years (the default) later, the retention sweep deletes the ledger entries.
    clock.advance(timedelta(days=2191))
    assert (await mydata.sweep()).ledger_entries == 0
    clock.advance(timedelta(days=2))
    assert (await mydata.sweep()).ledger_entries == 4
    # The retention is configurable.
    assert await service.set_retention_years(GUILD, 7, 1) == 7 * 365 + 1
    with pytest.raises(InvalidInput):
        await service.set_retention_years(GUILD, 0, 1)
