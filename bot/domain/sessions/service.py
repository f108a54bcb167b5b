"""The session service."""

from __future__ import annotations

import logging
from datetime import timedelta

from bot.domain.sessions.booking import SessionBooking
from bot.domain.sessions.jobs import SessionJobs
from bot.domain.sessions.lifecycle import SessionLifecycle
from bot.domain.sessions.models import (
    Session,
    SessionDetails,
)
from bot.domain.sessions.rules import (
    reminder_runs,
)

log = logging.getLogger(__name__)


class SessionService(SessionLifecycle, SessionBooking, SessionJobs):
    # -- reading --------------------------------------------------------------------------------

    async def get_by_id(self, session_id: int) -> Session | None:
        return await self.repo.get(session_id)

    async def open_posts(self) -> list[Session]:
        """Sessions whose posts may show a stale state (not cancelled, ended less than a day
        ago): refreshed once at start-up."""
        return await self.repo.open_since(self.clock.now().timestamp() - 86400)

    def reminders_to_send(self, session: Session) -> list[timedelta]:
        """The session's reminders that are still ahead (those that will really be sent)."""
        now = self.clock.now().timestamp()
        return [
            timedelta(seconds=o)
            for o, _ in reminder_runs(session.starts_at, session.reminders, now)
        ]

    async def overview(self, guild_id: int) -> list[SessionDetails]:
        result = []
        for s in await self.repo.list_for_guild(guild_id):
            confirmed, waiting = await self.repo.counts(s.id)
            result.append(SessionDetails(s, confirmed, waiting))
        return result

    async def booked_by(self, guild_id: int, user_id: int) -> list[Session]:
        """The member's own upcoming sessions (those they have a place at)."""
        return await self.repo.booked_by(guild_id, user_id, self.clock.now().timestamp())

    async def search(self, guild_id: int, text: str) -> list[Session]:
        return await self.repo.search(guild_id, text.strip().lstrip("#"))

    def state_word(self, session: Session) -> str:
        now = self.clock.now().timestamp()
        if session.is_cancelled:
            return "cancelled"
        if session.is_finished(now):
            return "finished"
        if session.has_started(now):
            return "happening now"
        if not session.booking_open(now):
            return "booking closed"
        return "booking open"

    # -- organisers -----------------------------------------------------------------------------

    # -- members --------------------------------------------------------------------------------

    # -- organisers' views (private) ------------------------------------------------------------

    # -- timed work -----------------------------------------------------------------------------
