"""Show and delete a member's data; the retention sweep."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, time, timedelta
from typing import Any

from bot.clock import Clock
from bot.domain.audit.service import AuditService
from bot.domain.draws.service import DrawService
from bot.domain.errors import InvalidInput
from bot.domain.jobs import Job
from bot.domain.mydata.models import (
    DEFAULT_RETENTION_DAYS,
    JOB_RETENTION_DAYS,
    DeletionReport,
    MemberData,
    RetainedCount,
    RetentionReport,
)
from bot.scheduling import JobScheduler
from db import Database
from db.repositories.mydata import MyDataRepository

log = logging.getLogger(__name__)


RETENTION_JOB = "data.retention"


RETENTION_KEY = "data:retention:daily"


SWEEP_AT = time(3, 30)  # UTC, a quiet hour


MAX_RETENTION_DAYS = 3650


# Cancels one booking: (session_id, user_id), e.g. SessionService.cancel_booking, which promotes
# the next person on the waiting list and tells them.
BookingCanceller = Callable[[int, int], Awaitable[Any]]


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
            departures = [
                (o.call.id, o.left_ref, o.promoted_ref)
                for o in await self.draws.withdraw_member(guild_id, user_id)
            ]
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
            log.exception(
                "could not schedule the announcement of %d freed place(s) in guild %s",
                len(departures),
                guild_id,
            )

    # -- retention ------------------------------------------------------------------------------

    async def retention_days(self, guild_id: int) -> int:
        return await self.repo.retention_days(guild_id)

    async def set_retention_days(
        self, guild_id: int, days: int, actor_id: int | None = None
    ) -> int:
        if not 1 <= days <= MAX_RETENTION_DAYS:
            raise InvalidInput(
                f"Please choose between 1 and {MAX_RETENTION_DAYS} days "
                f"(the default is {DEFAULT_RETENTION_DAYS})."
            )
        await self.repo.set_retention_days(
            guild_id,
            days,
            self.clock.now().timestamp(),
            audit=self.audit.entry(
                guild_id, actor_id, "settings.changed", "setting:retention_days", value=days
            ),
        )
        return days

    async def sweep(self) -> RetentionReport:
        """Delete what is past its retention period now (idempotent)."""
        report = await self.repo.sweep(self.clock.now().timestamp(), JOB_RETENTION_DAYS)
        if report.jobs:
            log.info("retention: %d finished job(s) deleted", report.jobs)
        if report.sessions:
            log.info(
                "retention: %d answers and %d comments deleted from %d session(s)",
                report.answers,
                report.comments,
                report.sessions,
            )
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
        await jobs.schedule(
            RETENTION_KEY,
            RETENTION_JOB,
            next_sweep_time(self.clock.now() + timedelta(minutes=1)),
            {},
        )
