"""Build the impact report from what the bot recorded."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from bot.clock import Clock
from bot.domain.attendance.models import EventKind
from bot.domain.attendance.service import AttendanceService
from bot.domain.errors import InvalidInput
from bot.domain.involvement.models import Activity, EntryState
from bot.domain.involvement.service import InvolvementService
from bot.domain.report.models import ImpactReport, MoneyFigures
from db import Database
from db.repositories.report import ReportRepository


class ReportService:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        attendance: AttendanceService,
        involvement: InvolvementService,
    ) -> None:
        self.repo = ReportRepository(db)
        self.clock = clock
        self.attendance = attendance
        self.involvement = involvement

    async def impact(
        self, guild_id: int, since: datetime | None, until: datetime | None
    ) -> ImpactReport:
        if since is not None and until is not None and until < since:
            raise InvalidInput("The end of the period is before its start. Swap `from` and `to`.")
        start = since.timestamp() if since else None
        end = until.timestamp() if until else None
        report = ImpactReport(guild_id, start, end)
        report.calls.extend(await self.repo.calls(guild_id, start, end))
        report.rounds.extend(await self.repo.rounds(guild_id, start, end))
        for session_id, figures in await self.repo.sessions(guild_id, start, end):
            known = await self._attendance(EventKind.SESSION, session_id)
            if known is not None:
                figures = replace(figures, attended=known[0], no_shows=known[1])
            report.sessions.append(figures)
        for meeting_id, meeting in await self.repo.meetings(guild_id, start, end):
            known = await self._attendance(EventKind.MEETING, meeting_id)
            report.meetings.append(
                replace(meeting, attended=known[0]) if known is not None else meeting
            )
        await self.involvement.sync(guild_id)
        entries = [
            e
            for e in await self.involvement.entries(guild_id)
            if (start is None or e.occurred_at >= start) and (end is None or e.occurred_at <= end)
        ]
        rates = await self.involvement.rates(guild_id)

        def total(state: EntryState) -> int:
            return sum(e.amount or 0 for e in entries if e.state is state)

        money = MoneyFigures(
            rates.currency,
            sum(e.minutes for e in entries if e.activity is not Activity.EXPENSE),
            len({e.user_id for e in entries}),
            len(entries),
            total(EntryState.OWED),
            total(EntryState.APPROVED),
            total(EntryState.PAID),
            sum(1 for e in entries if e.state is EntryState.DECLINED),
            sum(1 for e in entries if e.activity is Activity.EXPENSE),
        )
        return replace(report, money=money)

    async def _attendance(self, kind: EventKind, event_id: int) -> tuple[int, int] | None:
        event = await self.attendance.repo.event(kind, event_id)
        if event is None or self.clock.now().timestamp() < event.starts_at:
            return None
        result = await self.attendance.of(event)
        if not result.known:
            return None
        return len(result.attended), len(result.no_shows)
