"""After the retention sweep deletes survey answers, the survey summary keeps its counts."""

from __future__ import annotations

from datetime import timedelta

from bot.clock import FakeClock
from bot.domain.mydata.service import MyDataService
from bot.domain.sessions.service import SessionService
from bot.scheduling import JobScheduler
from db import Database
from tests.unit.test_mydata import GUILD, ORGANISER, session_for


async def test_summary_counts_survive_retention(
    db: Database, clock: FakeClock, jobs: JobScheduler
) -> None:
    sessions, mydata = SessionService(db, clock, jobs), MyDataService(db, clock)
    await mydata.set_retention_days(GUILD, 30, actor_id=ORGANISER)
    session_id = await session_for(sessions, 22, [501, 502, 503])
    before = await sessions.survey(session_id)
    clock.advance(timedelta(days=40))
    assert (await mydata.sweep()).sessions == 1
    assert await db.fetchval("SELECT COUNT(*) FROM session_answers") == 0
    after = await sessions.survey(session_id)
    assert after.responses == before.responses == 3
    assert after.chart is not None and before.chart is not None
    assert {c.option: c.count for c in after.chart.counts} == {
        c.option: c.count for c in before.chart.counts
    }
    text_before = [q for q in before.questions if q.question.kind == "text"]
    text_after = [q for q in after.questions if q.question.kind == "text"]
    assert [q.retained for q in text_after] == [len(q.answers) for q in text_before]
    assert all(q.answers == () for q in text_after)
