"""The domain services one running bot shares (built once, passed to cogs through the bot)."""

from __future__ import annotations

from dataclasses import dataclass

from bot.clock import Clock
from bot.domain.attendance.service import AttendanceService
from bot.domain.audit.service import AuditService
from bot.domain.calls.service import CallService
from bot.domain.draws.service import DrawBeacon, DrawService
from bot.domain.feedback.service import FeedbackService
from bot.domain.involvement.service import InvolvementService
from bot.domain.meetings.polls import MeetingPollService
from bot.domain.meetings.service import MeetingService
from bot.domain.mydata.service import MyDataService
from bot.domain.report.service import ReportService
from bot.domain.sessions.service import SessionService
from bot.domain.settings.service import SettingsService
from bot.domain.wording.service import WordingService
from bot.render import discord_value
from bot.scheduling import JobScheduler
from db import Database

__all__ = ["Services", "build_services"]


@dataclass(slots=True)
class Services:
    settings: SettingsService
    calls: CallService
    wording: WordingService
    audit: AuditService
    draws: DrawService
    mydata: MyDataService
    sessions: SessionService
    feedback: FeedbackService
    meetings: MeetingService
    attendance: AttendanceService
    involvement: InvolvementService
    report: ReportService
    meeting_polls: MeetingPollService


def build_services(
    db: Database,
    clock: Clock,
    jobs: JobScheduler,
    default_timezone: str,
    *,
    beacon: DrawBeacon | None = None,
    beacon_delay: int = 60,
    docs_url: str = "",
) -> Services:
    draws = DrawService(
        db, clock, jobs, beacon=beacon, beacon_delay=beacon_delay, docs_url=docs_url
    )
    # One instance: its cache is cleared by /wording set. Values are drawn as Discord shows them.
    wording = WordingService(db, clock, formatter=discord_value)
    attendance = AttendanceService(db, clock)
    involvement = InvolvementService(db, clock, attendance)
    meetings = MeetingService(db, clock, jobs)
    return Services(
        settings=SettingsService(db, clock, default_timezone),
        calls=CallService(db, clock, jobs),
        wording=wording,
        audit=AuditService(db, clock),
        draws=draws,
        mydata=MyDataService(db, clock, draws),
        sessions=SessionService(db, clock, jobs, wording=wording),
        feedback=FeedbackService(db, clock, jobs),
        attendance=attendance,
        involvement=involvement,
        report=ReportService(db, clock, attendance, involvement),
        meetings=meetings,
        meeting_polls=MeetingPollService(db, clock, meetings, jobs),
    )
