"""The session service's shared parts (see service.py for how the parts fit together)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.clock import Clock
from bot.domain.audit.models import AuditEntry
from bot.domain.audit.service import AuditService
from bot.domain.cache import SharedCache
from bot.domain.errors import NotFound
from bot.domain.sessions.models import (
    BookRequest,
    BookResult,
    Session,
    SessionDetails,
)
from bot.domain.sessions.survey import (
    Question,
    SurveySummary,
)
from bot.domain.sessions.texts import (
    SESSION_GONE,
)
from bot.domain.wording.service import WordingService
from bot.domain.wording.templates import Template
from bot.scheduling import JobScheduler
from db import Database
from db.batching import BatchWriter
from db.repositories.sessions import SessionRepository


@dataclass(frozen=True, slots=True)
class BookingItem:
    """A validated booking waiting for the writer, with what its audit row names."""

    request: BookRequest
    guild_id: int
    number: int


class SessionParts:
    """What every part of the session service shares: storage, clock, jobs, wording, and the
    booking cache."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        jobs: JobScheduler | None = None,
        audit: AuditService | None = None,
        wording: WordingService | None = None,
    ) -> None:
        self.db = db
        self.repo = SessionRepository(db)
        self.clock = clock
        self.jobs = jobs
        self.audit = audit or AuditService(db, clock)
        self.wording = wording or WordingService(db, clock, self.audit)
        # A session and its survey questions, per id, for the booking path. Every write here
        # that changes either calls ``_forget`` (the booking decision itself never trusts the
        # cache: its SQL re-checks status, closing time and priority on the real row).
        self._booking_cache: SharedCache[int, tuple[Session, tuple[Question, ...]]] = SharedCache()
        # Bookings that arrive together are written in one transaction (each still decided by
        # its own INSERT ... SELECT), in submission order.
        self._writer: BatchWriter[BookingItem, BookResult] = BatchWriter(self._apply_bookings)

    async def _say(self, session: Session, tpl: Template, **values: object) -> str:
        """A member-facing text in the server's wording (for refusals)."""
        return await self.wording.render(session.guild_id, tpl, title=session.title, **values)

    async def _require(self, session_id: int) -> Session:
        session = await self.repo.get(session_id)
        if session is None:
            raise NotFound(await self.wording.render(None, SESSION_GONE))
        return session

    async def _booking_view(self, session_id: int) -> tuple[Session, tuple[Question, ...]]:
        """The session and its questions from the cache (one shared load on a miss). A missing
        session raises NotFound and is not cached."""

        async def load() -> tuple[Session, tuple[Question, ...]]:
            session, questions = await self.repo.session_and_questions(session_id)
            if session is None:
                raise NotFound(await self.wording.render(None, SESSION_GONE))
            return session, tuple(questions)

        return await self._booking_cache.get(session_id, load)

    def _forget(self, session_id: int) -> None:
        """The session or its questions changed: the next booking reads them again."""
        self._booking_cache.invalidate(session_id)

    async def get(self, guild_id: int, number: int) -> Session:
        session = await self.repo.by_number(guild_id, number)
        if session is None:
            raise NotFound(
                f"There is no session #{number} in this server. `/session list` shows the "
                "sessions there are."
            )
        return session

    async def details(self, session_id: int) -> SessionDetails:
        session = await self._require(session_id)
        confirmed, waiting = await self.repo.counts(session_id)
        return SessionDetails(session, confirmed, waiting)

    async def questions(self, session_id: int) -> list[Question]:
        try:
            _, questions = await self._booking_view(session_id)
        except NotFound:
            return []
        return list(questions)

    # -- what the other parts provide (see service.py: SessionService joins them) --------------

    async def _apply_bookings(self, items: Sequence[BookingItem]) -> list[BookResult]:
        raise NotImplementedError  # SessionBooking

    def _promotion_audit(
        self, session: Session, promoted: list[tuple[int, int]], actor_id: int | None
    ) -> list[AuditEntry]:
        raise NotImplementedError  # SessionBooking

    async def _after_promotion(self, session: Session, promoted: list[tuple[int, int]]) -> None:
        raise NotImplementedError  # SessionBooking

    async def survey(self, session_id: int) -> SurveySummary:
        raise NotImplementedError  # SessionBooking

    async def _schedule_timeline(self, session: Session) -> None:
        raise NotImplementedError  # SessionJobs
