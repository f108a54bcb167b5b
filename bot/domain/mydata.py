"""Members' control of their data: see it all, delete it, and the retention period.

* ``/mydata show``: everything stored about the member in one server (:meth:`MyDataService.collect`).
* ``/mydata delete``: cancels their upcoming bookings through the sessions service (so the
  waiting list promotes as usual) and withdraws them from draws through the draw service (a place
  in a group goes to the next reserve, as with ``/draw replace``), then deletes their rows
  everywhere in one transaction. Draw entries stay without the member's id: published draws name
  volunteers by entry reference, so they keep verifying. Their audit key is deleted so the audit
  rows that stay can no longer be linked to them.
* Retention: a daily job deletes survey answers and evaluation comments a server-chosen number
  of days after their session ends; the counts are kept (``survey_answer_counts``) and ratings stay.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

from bot.clock import Clock, from_unix
from bot.domain.audit import AuditService
from bot.domain.draw_service import DrawService
from bot.domain.errors import InvalidInput
from bot.scheduling import JobScheduler
from db import Database
from db.repositories.audit import AuditRow
from db.repositories.jobs import Job
from db.repositories.mydata import (
    DEFAULT_RETENTION_DAYS,
    DeletionReport,
    MyDataRepository,
    RetainedCount,
    RetentionReport,
    Section,
)

__all__ = [
    "DEFAULT_RETENTION_DAYS",
    "MAX_RETENTION_DAYS",
    "RETENTION_JOB",
    "RETENTION_KEY",
    "MemberData",
    "MyDataService",
    "next_sweep_time",
]

log = logging.getLogger(__name__)

RETENTION_JOB = "data.retention"
RETENTION_KEY = "data:retention:daily"
SWEEP_AT = time(3, 30)  # UTC, a quiet hour
MAX_RETENTION_DAYS = 3650

# Cancels one booking: (session_id, user_id), e.g. SessionService.cancel_booking, which promotes
# the next person on the waiting list and tells them.
BookingCanceller = Callable[[int, int], Awaitable[Any]]


@dataclass(frozen=True, slots=True)
class MemberData:
    guild_id: int
    user_id: int
    generated_at: datetime
    sections: list[Section]
    audit: list[AuditRow]

    @property
    def empty(self) -> bool:
        return not self.sections and not self.audit

    def counts(self) -> dict[str, int]:
        found = {s.name: len(s.rows) for s in self.sections}
        if self.audit:
            found["audit trail entries"] = len(self.audit)
        return found

    def as_json(self) -> dict[str, Any]:
        """Everything, with times as ISO 8601 UTC, for the member's JSON file."""

        def clean(row: dict[str, Any]) -> dict[str, Any]:
            return {
                k: (from_unix(v).isoformat(timespec="seconds")
                    if k.endswith("_at") and isinstance(v, int | float) else v)
                for k, v in row.items()
            }

        return {
            "server_id": str(self.guild_id),
            "member_id": str(self.user_id),
            "generated_at": self.generated_at.isoformat(timespec="seconds"),
            "data": {s.name: [clean(r) for r in s.rows] for s in self.sections},
            "audit_trail": [
                {"seq": a.seq, "at": from_unix(a.at).isoformat(timespec="seconds"),
                 "action": a.action, "subject": a.subject, "by_you": a.actor_ref is not None}
                for a in self.audit
            ],
            "notes": [
                "Audit trail entries name members by a salted reference, never by their id.",
                "Published draw results list volunteers by an entry reference, not by user id; "
                "yours is the 'reference' under 'draws'. Deleting your data removes your id from "
                "the draw and keeps the reference, so the draw can still be verified.",
                "The audit trail is kept too, and can then no longer be linked to you.",
            ],
        }


def next_sweep_time(now: datetime) -> datetime:
    """The next daily sweep: today at 03:30 UTC if that is still ahead, else tomorrow."""
    today = datetime.combine(now.date(), SWEEP_AT, tzinfo=now.tzinfo)
    return today if today > now else today + timedelta(days=1)


class MyDataService:
    def __init__(self, db: Database, clock: Clock, draws: DrawService | None = None) -> None:
        self.repo = MyDataRepository(db)
        self.audit = AuditService(db, clock)
        self.clock = clock
        # Without the bot's shared draw service (which has the job scheduler), the job that
        # announces a freed place is written to the table and armed at the scheduler's next
        # top-up instead of at once.
        self.draws = draws or DrawService(db, clock)

    # -- seeing and deleting a member's data ----------------------------------------------------

    async def collect(self, guild_id: int, user_id: int) -> MemberData:
        sections = await self.repo.collect(guild_id, user_id)
        audit = await self.audit.rows_about(guild_id, user_id)
        return MemberData(guild_id, user_id, self.clock.now(), sections, audit)

    async def draw_roles(self, guild_id: int, user_id: int) -> set[int]:
        """Roles given for draws that the member should lose when they delete their data (read
        before :meth:`delete`, which forgets who they were)."""
        return await self.repo.draw_roles(guild_id, user_id)

    async def delete(
        self, guild_id: int, user_id: int, *, cancel_booking: BookingCanceller | None = None
    ) -> DeletionReport:
        """Withdraw the member everywhere and delete what is stored about them in this server.

        Upcoming bookings are cancelled first through ``cancel_booking`` (the sessions service),
        so the next person on the waiting list is promoted and told as usual. A booking that
        cannot be cancelled that way is still deleted below. Then the member withdraws from
        draws: a place in a group goes to the next reserve. Only once the deletion has
        committed (the member's id is off the draw entries) are the jobs written that let the
        draws cog announce each freed place (never naming the member) and tell the promoted
        member.
        """
        cancelled = 0
        if cancel_booking is not None:
            now = self.clock.now().timestamp()
            for session_id in await self.repo.active_bookings(guild_id, user_id, now):
                try:
                    await cancel_booking(session_id, user_id)
                    cancelled += 1
                except Exception:
                    log.exception("could not cancel the booking for session %s", session_id)
        departures: list[tuple[int, str, str | None]] = []
        try:
            departures = [(o.call.id, o.left_ref, o.promoted_ref)
                          for o in await self.draws.withdraw_member(guild_id, user_id)]
        except Exception:  # the deletion below still withdraws them, in its transaction
            log.exception("could not withdraw member from draws in guild %s", guild_id)
        try:
            report = await self.repo.delete(guild_id, user_id, self.clock.now().timestamp())
        finally:
            # Also if the deletion failed: those places were given up all the same (and the
            # announcement never names a member who left this way).
            await self._announce(guild_id, departures)
        await self._announce(guild_id, report.departures)
        passed_on = len(departures) + len(report.departures)
        if cancelled:
            report.removed["bookings cancelled (places passed on)"] = cancelled
        if passed_on:
            report.removed["places in a draw's group (passed to the next reserve)"] = passed_on
        return report

    async def _announce(self, guild_id: int, departures: list[tuple[int, str, str | None]]) -> None:
        try:
            await self.draws.announce_departures(guild_id, departures)
        except Exception:  # the promoted members are still told by the draws cog at start
            log.exception("could not schedule the announcement of %d freed place(s) in guild %s",
                          len(departures), guild_id)

    # -- retention ------------------------------------------------------------------------------

    async def retention_days(self, guild_id: int) -> int:
        return await self.repo.retention_days(guild_id)

    async def set_retention_days(self, guild_id: int, days: int, actor_id: int | None = None) -> int:
        if not 1 <= days <= MAX_RETENTION_DAYS:
            raise InvalidInput(
                f"Please choose between 1 and {MAX_RETENTION_DAYS} days "
                f"(the default is {DEFAULT_RETENTION_DAYS})."
            )
        await self.repo.set_retention_days(
            guild_id, days, self.clock.now().timestamp(),
            audit=self.audit.entry(guild_id, actor_id, "settings.changed",
                                   "setting:retention_days", value=days),
        )
        return days

    async def sweep(self) -> RetentionReport:
        """Delete what is past its retention period now (idempotent)."""
        report = await self.repo.sweep(self.clock.now().timestamp())
        if report.sessions:
            log.info("retention: %d answers and %d comments deleted from %d session(s)",
                     report.answers, report.comments, report.sessions)
        return report

    async def retained_counts(self, session_id: int) -> list[RetainedCount]:
        """Survey counts kept after retention deleted the answers (key '' = how many answered)."""
        return await self.repo.retained_counts(session_id)

    async def ensure_daily(self, jobs: JobScheduler) -> None:
        """Make sure the daily sweep is scheduled (called at start; keeps an overdue one)."""
        existing = await jobs.repo.get_by_key(RETENTION_KEY)
        if existing is not None and existing.status in ("pending", "running"):
            return
        await jobs.schedule(RETENTION_KEY, RETENTION_JOB, next_sweep_time(self.clock.now()), {})

    async def run_daily(self, jobs: JobScheduler, job: Job) -> None:
        """The job handler: sweep, then schedule tomorrow's sweep under the same key."""
        await self.sweep()
        await jobs.schedule(RETENTION_KEY, RETENTION_JOB,
                            next_sweep_time(self.clock.now() + timedelta(minutes=1)), {})
