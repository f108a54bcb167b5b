"""Every decision and its audit row commit together: if the row can't be written, the decision
is rolled back too (nothing changes), and otherwise each decision leaves exactly one row."""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

import db.repositories.audit as audit_repo
from bot import verify_audit
from bot.clock import FakeClock
from bot.domain.calls.service import CallService
from bot.domain.draws.service import DrawService
from bot.domain.feedback.service import FeedbackService
from bot.domain.sessions.service import SessionService
from bot.domain.sessions.texts import BOOKED
from bot.domain.settings.service import SettingsService
from bot.domain.wording.service import WordingService
from bot.scheduling import JobScheduler
from db import Database
from tests.dbtools import table_names
from tests.fakes.beacon import LocalBeacon, publish_and_wait

GUILD = 1000
ORGANISER = 1
TZ = "Europe/London"
ANSWERS = {"experience": "New to it", "aims": "Connecting with people", "barriers": ""}


class AuditBroke(Exception):
    pass


def _boom(*_: object, **__: object) -> str:
    raise AuditBroke("the audit row could not be written")


async def everything(db: Database) -> list[tuple[str, list[tuple[Any, ...]]]]:
    """Every row of every table: the whole state a decision could change."""
    tables = await table_names(db)
    state = []
    for name in tables:
        rows = await db.fetchall(f'SELECT * FROM "{name}"')  # names from the catalogue
        state.append((name, sorted((tuple(r) for r in rows), key=repr)))
    return state


async def actions(db: Database) -> Counter[str]:
    return Counter(r[0] for r in await db.fetchall("SELECT action FROM audit_log"))


async def coupled(
    db: Database,
    db_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    decide: Callable[[], Awaitable[Any]],
    expected: dict[str, int],
) -> Any:
    """``decide`` with the audit row failing inside the transaction changes nothing at all; run
    again normally it appends exactly the ``expected`` rows and the chain verifies."""
    before = await everything(db)
    with monkeypatch.context() as patch:
        patch.setattr(audit_repo, "row_hash", _boom)
        with pytest.raises(AuditBroke):
            await decide()
    assert await everything(db) == before, "the decision was kept without its audit row"

    counted = await actions(db)
    result = await decide()
    added = await actions(db) - counted
    assert dict(added) == expected
    report = verify_audit.verify_db(db_path)
    assert report.ok, report.verdict()
    return result


@pytest.fixture
def calls(db: Database, clock: FakeClock, jobs: JobScheduler) -> CallService:
    return CallService(db, clock, jobs)


async def make_call(calls: CallService, clock: FakeClock, volunteers: int = 5) -> int:
    details = await calls.create(
        guild_id=GUILD,
        channel_id=10,
        author_id=ORGANISER,
        title="Co-produce the session",
        categories="🧭 Experienced; 🌱 New",
        places="🧭=1, 🌱=1",
        tz=TZ,
    )
    message_id = 5000 + details.call.id
    await calls.attach_post(details.call.id, 10, message_id)
    for user in range(101, 101 + volunteers):
        await calls.react(message_id, user, "🧭" if user % 2 else "🌱", added=True)
        clock.advance(timedelta(seconds=1))
    return details.call.id


async def test_call_create_and_close(
    db: Database,
    db_path: Path,
    clock: FakeClock,
    calls: CallService,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def create() -> Any:
        return await calls.create(
            guild_id=GUILD,
            channel_id=10,
            author_id=ORGANISER,
            title="A call",
            categories="🧭 Experienced",
            tz=TZ,
        )

    # The creation is recorded with its post (a call whose post fails leaves no trace), so the
    # decision coupled to its audit row is attaching the post.
    made = await create()
    assert await actions(db) == Counter()
    await coupled(
        db,
        db_path,
        monkeypatch,
        lambda: calls.attach_post(made.call.id, 10, 4242),
        {"call.created": 1},
    )
    assert made.call.number == 1

    closed = await coupled(
        db,
        db_path,
        monkeypatch,
        lambda: calls.close(made.call.id, actor_id=ORGANISER),
        {"call.closed": 1},
    )
    assert closed
    # Closing again changes nothing, so nothing is recorded.
    before = await actions(db)
    assert not await calls.close(made.call.id, actor_id=ORGANISER)
    assert await actions(db) == before


async def test_draw_run_and_replacement(
    db: Database,
    db_path: Path,
    clock: FakeClock,
    jobs: JobScheduler,
    calls: CallService,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    call_id = await make_call(calls, clock)
    draws = DrawService(db, clock, jobs, beacon=LocalBeacon(clock))
    frozen = await coupled(
        db,
        db_path,
        monkeypatch,
        lambda: draws.run(guild_id=GUILD, number=1, actor_id=ORGANISER),
        {"call.closed": 1, "draw.frozen": 1},
    )
    assert frozen.froze_now and frozen.closed_call and frozen.view is None
    await publish_and_wait(draws, clock, call_id)
    outcome = await coupled(
        db,
        db_path,
        monkeypatch,
        lambda: draws.run(guild_id=GUILD, number=1, actor_id=ORGANISER),
        {"draw.run": 1},
    )
    assert outcome.created
    assert (await calls.get_by_id(call_id)).status == "closed"  # type: ignore[union-attr]

    leaver = next(u for c in outcome.view.categories for u in c.drawn if u is not None)
    replaced = await coupled(
        db,
        db_path,
        monkeypatch,
        lambda: draws.replace(GUILD, 1, leaver, ORGANISER),
        {"draw.replaced": 1},
    )
    assert replaced.promoted_user_id is not None


async def test_feedback_round_open(
    db: Database,
    db_path: Path,
    clock: FakeClock,
    jobs: JobScheduler,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    service = FeedbackService(db, clock, jobs)

    async def open_round() -> Any:
        return await service.open(
            guild_id=GUILD,
            author_id=ORGANISER,
            title="Session plan",
            plan="https://docs.example/plan",
            channel_id=20,
            tz=TZ,
            role_id=555,
            role_member_ids=[101, 102, 103],
            closes="in 3 days",
            reminders="24h",
        )

    opened = await open_round()  # recorded once its thread exists
    assert await actions(db) == Counter()
    await coupled(
        db,
        db_path,
        monkeypatch,
        lambda: service.attach_thread(opened.round.id, 7001, 20, 7001),
        {"feedback.opened": 1},
    )
    assert opened.round.number == 1 and opened.audience == [101, 102, 103]


async def test_session_cancel_and_booking_cancel_with_promotion(
    db: Database,
    db_path: Path,
    clock: FakeClock,
    jobs: JobScheduler,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    service = SessionService(db, clock, jobs)
    session = await service.create(
        guild_id=GUILD,
        channel_id=10,
        author_id=ORGANISER,
        title="LinkedIn: an introduction",
        starts="in 3 days",
        capacity=1,
        tz=TZ,
    )
    await service.attach_post(session.id, 10, 9000)
    assert (await service.book(session.id, 201, ANSWERS)).status == "confirmed"
    assert (await service.book(session.id, 202, ANSWERS)).status == "waiting"

    # The cancellation and the promotion of the person waiting: all three rows or nothing.
    cancelled = await coupled(
        db,
        db_path,
        monkeypatch,
        lambda: service.cancel_booking(session.id, 201),
        {"booking.cancelled": 1, "booking.promoted": 1},
    )
    assert cancelled.cancelled and cancelled.promoted == [202]

    await coupled(
        db,
        db_path,
        monkeypatch,
        lambda: service.cancel(GUILD, session.number, actor_id=ORGANISER),
        {"session.cancelled": 1},
    )
    assert (await service.get(GUILD, session.number)).is_cancelled


async def test_settings_and_wording_changes(
    db: Database,
    db_path: Path,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = SettingsService(db, clock, "UTC")
    assert await settings.timezone(GUILD) == "UTC"  # cached before the failed change
    await coupled(
        db,
        db_path,
        monkeypatch,
        lambda: settings.set_timezone(GUILD, "Europe/Paris", actor_id=ORGANISER),
        {"settings.changed": 1},
    )
    assert await settings.timezone(GUILD) == "Europe/Paris"

    wording = WordingService(db, clock)
    key = BOOKED.key
    view = await wording.view(GUILD, key)
    await coupled(
        db,
        db_path,
        monkeypatch,
        lambda: wording.set(GUILD, key, view.template.default + " Thank you!", ORGANISER),
        {"wording.set": 1},
    )
    assert await coupled(
        db,
        db_path,
        monkeypatch,
        lambda: wording.reset(GUILD, key, ORGANISER),
        {"wording.reset": 1},
    )
    before = await actions(db)
    assert not await wording.reset(GUILD, key, ORGANISER)  # nothing to reset: no row
    assert await actions(db) == before
