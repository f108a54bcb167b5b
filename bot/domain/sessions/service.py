"""The session service."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.clock import Clock, from_unix
from bot.domain.audit.models import AuditEntry
from bot.domain.audit.service import AuditService
from bot.domain.cache import SharedCache
from bot.domain.calls.rules import validate_description, validate_title
from bot.domain.delivery.engine import DeliveryRun
from bot.domain.delivery.models import DM
from bot.domain.errors import Conflict, InvalidInput, NotAllowed, NotFound
from bot.domain.jobs import Job
from bot.domain.sessions.evaluation import (
    EvaluationSummary,
    clean_comment,
    parse_rating,
    summarise_evaluations,
)
from bot.domain.sessions.models import (
    Attendee,
    Booking,
    BookingOutcome,
    BookingStatus,
    BookPress,
    BookRequest,
    BookResult,
    CancelOutcome,
    CancelResult,
    DeliveryReport,
    EditOutcome,
    Evaluation,
    Messenger,
    Session,
    SessionDetails,
)
from bot.domain.sessions.rules import (
    digest_time,
    is_full,
    parse_capacity,
    parse_priority,
    parse_session_duration,
    plan_session_reminders,
    reminder_runs,
    validate_session_times,
)
from bot.domain.sessions.survey import (
    Question,
    SurveySummary,
    build_questions,
    default_questions,
    merge_retained,
    summarise_survey,
    survey_summary_text,
    validate_answers,
)
from bot.domain.sessions.texts import (
    ALREADY_CONFIRMED,
    ALREADY_CONFIRMED_STARTED,
    ALREADY_WAITING,
    BOOK_CANCELLED,
    BOOK_CLOSED,
    BOOK_PRIORITY,
    EVALUATION,
    EVALUATION_CANCELLED,
    EVALUATION_CHANNEL,
    EVALUATION_NOT_ATTENDEE,
    EVALUATION_TOO_EARLY,
    MOVED,
    MOVED_CHANNEL,
    PRIORITY,
    PRIORITY_CHANNEL,
    PROMOTED,
    PROMOTED_CHANNEL,
    REMINDER,
    REMINDER_CHANNEL,
    SESSION_CANCELLED,
    SESSION_CANCELLED_CHANNEL,
    SESSION_GONE,
    UNBOOK_CANCELLED,
    UNBOOK_STARTED,
    WAITING_ENDED,
    WAITING_ENDED_CHANNEL,
    WAITING_NO_PLACE,
)
from bot.domain.wording.service import WordingService
from bot.domain.wording.templates import Template
from bot.render import fit_message, jump_link, mentions_text, plain_text, ts, when
from bot.scheduling import JobScheduler
from bot.timeparse import parse_when
from db import Database
from db.batching import BatchWriter
from db.repositories.sessions import SessionRepository

log = logging.getLogger(__name__)


JOB_REMINDER = "session.reminder"


JOB_DIGEST = "session.digest"


JOB_EVALUATION = "session.evaluation"


JOB_NOTICE = "session.notice"


JOB_REFRESH = "session.refresh"


JOB_ENDED = "session.ended"  # the people still waiting hear that no place came free


JOB_KINDS = (JOB_REMINDER, JOB_DIGEST, JOB_EVALUATION, JOB_NOTICE, JOB_REFRESH, JOB_ENDED)


MENTIONS_PER_POST = 40


DIGEST_NOTE = (
    "(This is cut short to fit in one message: the full summary is in the attached text file.)"
)


@dataclass(frozen=True, slots=True)
class _BookingItem:
    """A validated booking waiting for the writer, with what its audit row names."""

    request: BookRequest
    guild_id: int
    number: int


def _key(session_id: int, *parts: object) -> str:
    return ":".join(["session", str(session_id), *(str(p) for p in parts)])


def _prefix(session_id: int) -> str:
    return f"session:{session_id}:"


class SessionService:
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
        self._writer: BatchWriter[_BookingItem, BookResult] = BatchWriter(self._apply_bookings)

    async def _say(self, session: Session, tpl: Template, **values: object) -> str:
        """A member-facing text in the server's wording (for refusals)."""
        return await self.wording.render(session.guild_id, tpl, title=session.title, **values)

    # -- reading --------------------------------------------------------------------------------

    async def get(self, guild_id: int, number: int) -> Session:
        session = await self.repo.by_number(guild_id, number)
        if session is None:
            raise NotFound(
                f"There is no session #{number} in this server. `/session list` shows the "
                "sessions there are."
            )
        return session

    async def get_by_id(self, session_id: int) -> Session | None:
        return await self.repo.get(session_id)

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

    async def details(self, session_id: int) -> SessionDetails:
        session = await self._require(session_id)
        confirmed, waiting = await self.repo.counts(session_id)
        return SessionDetails(session, confirmed, waiting)

    async def overview(self, guild_id: int) -> list[SessionDetails]:
        result = []
        for s in await self.repo.list_for_guild(guild_id):
            confirmed, waiting = await self.repo.counts(s.id)
            result.append(SessionDetails(s, confirmed, waiting))
        return result

    async def search(self, guild_id: int, text: str) -> list[Session]:
        return await self.repo.search(guild_id, text.strip().lstrip("#"))

    async def questions(self, session_id: int) -> list[Question]:
        try:
            _, questions = await self._booking_view(session_id)
        except NotFound:
            return []
        return list(questions)

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

    async def create(
        self,
        *,
        guild_id: int,
        channel_id: int,
        author_id: int,
        title: str,
        starts: str | datetime,
        capacity: int | str,
        duration: str | timedelta | None = None,
        description: str | None = None,
        closes: str | datetime | None = None,
        reminders: str | Sequence[timedelta] | None = None,
        repeat_of: int | None = None,
        priority: str | timedelta | None = None,
        topic: str | None = None,
        tz: str,
    ) -> Session:
        """Validate everything first (nothing is stored if anything is wrong), then store the
        session with the default survey questions and schedule its reminders. ``topic``
        (``LinkedIn``) is used in the default questions ("How much have you used LinkedIn
        before?")."""
        now = self.clock.now()
        clean_title = validate_title(title)
        questions = default_questions(topic)
        clean_description = validate_description(description)
        places = parse_capacity(capacity)
        length = parse_session_duration(duration)
        starts_at = self._when(starts, tz, now)
        closes_at = (
            self._when(closes, tz, now) if closes is not None and str(closes).strip() else None
        )
        closes_at = validate_session_times(starts=starts_at, closes=closes_at, now=now)
        offsets = plan_session_reminders(reminders, starts=starts_at, now=now)
        earlier: Session | None = None
        priority_until: float | None = None
        if repeat_of is not None:
            earlier = await self.get(guild_id, repeat_of)
            window = parse_priority(priority)
            priority_until = min((now + window).timestamp(), closes_at.timestamp())
        elif priority is not None and str(priority).strip():
            raise InvalidInput(
                "`priority` only applies to a repeat: give `repeat-of` (the earlier session's "
                "number) too, or leave `priority` empty."
            )
        session, _ = await self.repo.create(
            guild_id=guild_id,
            channel_id=channel_id,
            title=clean_title,
            description=clean_description,
            starts_at=starts_at.timestamp(),
            ends_at=(starts_at + length).timestamp(),
            closes_at=closes_at.timestamp(),
            capacity=places,
            reminders=[int(o.total_seconds()) for o in offsets],
            repeat_of=earlier.id if earlier else None,
            priority_until=priority_until,
            created_by=author_id,
            created_at=now.timestamp(),
            questions=[q.to_row(i) for i, q in enumerate(questions, start=1)],
            audit=lambda made: self.audit.entry(
                guild_id,
                author_id,
                "session.created",
                f"session:{made[0].number}",
                capacity=places,
                starts_at=made[0].starts_at,
                repeat_of=repeat_of,
                priority_people=made[1],
            ),
        )
        self._forget(session.id)  # an id can be reused after a discard
        await self._schedule_timeline(session)
        return session

    @staticmethod
    def _when(value: str | datetime, tz: str, now: datetime) -> datetime:
        if isinstance(value, datetime):
            if value.tzinfo is None:
                raise ValueError("aware datetimes only")
            return value
        return parse_when(value, tz=tz, now=now, future=False)

    async def attach_post(self, session_id: int, channel_id: int, message_id: int) -> None:
        """The post exists: remember it, and tell people with priority (a repeat)."""
        await self.repo.set_message(session_id, channel_id, message_id)
        self._forget(session_id)
        session = await self._require(session_id)
        if session.priority_until is not None and self.jobs is not None:
            await self.jobs.schedule(
                _key(session_id, "notice", "priority"),
                JOB_NOTICE,
                self.clock.now(),
                {"session_id": session_id, "reason": "priority"},
                guild_id=session.guild_id,
            )

    async def attach_event(self, session_id: int, event_id: int | None) -> None:
        await self.repo.set_event(session_id, event_id)
        self._forget(session_id)

    async def discard(self, session_id: int) -> None:
        """Remove a session whose post could not be made (nobody could have booked)."""
        if self.jobs is not None:
            await self.jobs.cancel_prefix(_prefix(session_id))
        await self.repo.delete(session_id)
        self._forget(session_id)

    def _ensure_changeable(self, session: Session) -> None:
        now = self.clock.now().timestamp()
        if session.is_cancelled:
            raise Conflict(f"Session #{session.number} has been cancelled, so it can't be changed.")
        if session.is_finished(now):
            raise Conflict(
                f"Session #{session.number} has already finished, so it can't be changed. "
                "You can plan a repeat with `/session create ... repeat-of`."
            )

    async def edit(
        self,
        guild_id: int,
        number: int,
        *,
        actor_id: int,
        title: str | None = None,
        starts: str | datetime | None = None,
        capacity: int | str | None = None,
        closes: str | datetime | None = None,
        tz: str,
    ) -> EditOutcome:
        """Change a session. Raising the capacity promotes people waiting at once (same
        transaction); lowering it never removes a confirmed booking."""
        session = await self.get(guild_id, number)
        self._ensure_changeable(session)
        if all(v is None for v in (title, starts, capacity, closes)):
            raise InvalidInput("Tell me what to change: a title, start, capacity or closing time.")
        now = self.clock.now()
        new_title = validate_title(title) if title is not None else session.title
        new_capacity = parse_capacity(capacity) if capacity is not None else session.capacity
        starts_at = from_unix(session.starts_at)
        if starts is not None:
            starts_at = self._when(starts, tz, now)
            if starts_at <= now:
                raise InvalidInput(
                    "That start time is in the past. Please give a time in the future."
                )
        length = session.ends_at - session.starts_at
        if closes is not None:
            closes_at = validate_session_times(
                starts=starts_at, closes=self._when(closes, tz, now), now=now
            )
        elif session.closes_at == session.starts_at:
            closes_at = starts_at  # booking closed at the start before; it still does
        else:
            closes_at = min(from_unix(session.closes_at), starts_at)
        changed = [
            name
            for name, differs in (
                ("title", new_title != session.title),
                ("start", starts_at.timestamp() != session.starts_at),
                ("capacity", new_capacity != session.capacity),
                ("closing time", closes_at.timestamp() != session.closes_at),
            )
            if differs
        ]

        def audit(made: tuple[Session, list[tuple[int, int]]]) -> list[AuditEntry]:
            updated, promoted = made
            return [
                *self._promotion_audit(updated, promoted, actor_id),
                self.audit.entry(
                    guild_id,
                    actor_id,
                    "session.edited",
                    f"session:{number}",
                    changed=changed,
                    capacity=updated.capacity,
                    starts_at=updated.starts_at,
                    promoted=len(promoted),
                ),
            ]

        result = await self.repo.update(
            session.id,
            title=new_title,
            starts_at=starts_at.timestamp(),
            ends_at=starts_at.timestamp() + length,
            closes_at=closes_at.timestamp(),
            capacity=new_capacity,
            now=now.timestamp(),
            audit=audit,
        )
        self._forget(session.id)
        if result is None:
            raise Conflict(
                f"Session #{number} was cancelled or finished meanwhile; nothing changed."
            )
        updated, promoted = result
        start_changed = updated.starts_at != session.starts_at
        if start_changed or updated.closes_at != session.closes_at:
            await self._schedule_timeline(updated)
        if start_changed and self.jobs is not None:
            await self.jobs.schedule(
                _key(updated.id, "notice", "moved"),
                JOB_NOTICE,
                now,
                {"session_id": updated.id, "reason": "moved", "starts_at": updated.starts_at},
                guild_id=guild_id,
            )
        await self._after_promotion(updated, promoted)
        return EditOutcome(updated, [u for u, _ in promoted], start_changed, changed)

    async def cancel(self, guild_id: int, number: int, *, actor_id: int) -> Session:
        """Cancel the session: reminders stop, everyone booked or waiting is told."""
        session = await self.get(guild_id, number)
        if session.is_cancelled:
            raise Conflict(f"Session #{number} is already cancelled.")
        self._ensure_changeable(session)
        now = self.clock.now()
        cancelled = await self.repo.cancel(
            session.id,
            now.timestamp(),
            audit=lambda made: self.audit.entry(
                guild_id,
                actor_id,
                "session.cancelled",
                f"session:{number}",
                confirmed=made[1],
                waiting=made[2],
            ),
        )
        self._forget(session.id)
        if cancelled is None:
            raise Conflict(f"Session #{number} was cancelled or finished meanwhile.")
        if self.jobs is not None:
            await self.jobs.cancel_prefix(_prefix(session.id))
            await self.jobs.schedule(
                _key(session.id, "notice", "cancelled"),
                JOB_NOTICE,
                now,
                {"session_id": session.id, "reason": "cancelled"},
                guild_id=guild_id,
            )
        return cancelled

    async def set_questions(
        self,
        guild_id: int,
        number: int,
        *,
        actor_id: int,
        texts: Sequence[str | None],
        optional: str | None = None,
    ) -> list[Question]:
        """Replace the survey questions (up to 5) while nobody has booked yet."""
        session = await self.get(guild_id, number)
        self._ensure_changeable(session)
        questions = build_questions(texts, optional)
        replaced = await self.repo.replace_questions(
            session.id,
            [q.to_row(i) for i, q in enumerate(questions, start=1)],
            audit=self.audit.entry(
                guild_id,
                actor_id,
                "session.questions_set",
                f"session:{number}",
                count=len(questions),
            ),
        )
        self._forget(session.id)
        if not replaced:
            raise Conflict(
                f"People have already booked session #{number}, so its questions can't change "
                "now (their answers were given to the old ones)."
            )
        return questions

    # -- members --------------------------------------------------------------------------------

    async def member_status(self, session_id: int, user_id: int) -> BookingOutcome | None:
        """The member's booking as an 'already_*' outcome, or None if they have none."""
        found = await self.repo.member_status(session_id, user_id)
        if found is None:
            return None
        session, _ = await self._booking_view(session_id)
        status: BookingStatus = (
            "already_confirmed" if found[0] == "confirmed" else "already_waiting"
        )
        return BookingOutcome(status, found[1], session)

    async def press_book(self, session_id: int, user_id: int) -> BookPress:
        """What pressing Book shows. The session's state comes first: after the start, a member
        still waiting is told plainly that no place came free (not "I'll tell you when one
        does"). Before the start a place can still come free (someone cancels), so people
        waiting keep their number even after booking has closed. Refusals raise Conflict."""
        session = await self._require(session_id)
        now = self.clock.now().timestamp()
        if session.is_cancelled:
            raise Conflict(await self._say(session, BOOK_CANCELLED))
        found = await self.repo.member_status(session_id, user_id)
        started = session.has_started(now)
        if found is not None:
            status, position = found
            if status == "confirmed":
                return BookPress(
                    session, ALREADY_CONFIRMED_STARTED if started else ALREADY_CONFIRMED
                )
            return BookPress(session, WAITING_NO_PLACE if started else ALREADY_WAITING, position)
        await self.check_can_book(session, user_id)  # closed, or a repeat's priority window
        _, questions = await self._booking_view(session_id)
        confirmed, waiting = await self.repo.counts(session_id)
        return BookPress(
            session, None, None, questions, is_full(confirmed, session.capacity, waiting)
        )

    async def check_can_book(self, session: Session, user_id: int) -> None:
        """Raise a kind Conflict if the member can't book now (closed, cancelled, priority)."""
        now = self.clock.now().timestamp()
        if session.is_cancelled:
            raise Conflict(await self._say(session, BOOK_CANCELLED))
        if not session.booking_open(now):
            raise Conflict(await self._say(session, BOOK_CLOSED))
        if (
            session.priority_until is not None
            and now < session.priority_until
            and not await self.repo.has_priority(session.id, user_id)
        ):
            raise Conflict(
                await self._say(
                    session,
                    BOOK_PRIORITY,
                    opens=ts(session.priority_until, "F"),
                    opens_relative=ts(session.priority_until, "R"),
                )
            )

    async def book(self, session_id: int, user_id: int, answers: dict[str, str]) -> BookingOutcome:
        """Book a place (or a waiting-list spot) with the member's survey answers.

        The answers are checked first, so a mistake never reaches the database. The decision is
        one atomic SQL statement (capacity, waiting list and submission number together), so
        whatever the concurrency there are never more confirmed bookings than places and the
        waiting list is in submission order. Bookings arriving together share one transaction
        (with their answers and audit rows) through the writer, in the order they arrived."""
        session, questions = await self._booking_view(session_id)
        try:
            clean = validate_answers(questions, answers)
        except InvalidInput:
            existing = await self.member_status(session_id, user_id)
            if existing is not None:  # booked already: their status, not a complaint
                return existing
            raise
        rows = tuple(
            (i, q.key, q.text, clean[q.key])
            for i, q in enumerate(questions, start=1)
            if q.key in clean
        )
        request = BookRequest(session_id, user_id, self.clock.now().timestamp(), rows)
        result = await self._writer.submit(_BookingItem(request, session.guild_id, session.number))
        if result.status in ("confirmed", "waiting", "already_confirmed", "already_waiting"):
            return BookingOutcome(result.status, result.position, session)
        self._forget(session_id)  # refused: the cached session may be out of date
        if result.status == "missing":
            raise NotFound(await self.wording.render(session.guild_id, SESSION_GONE))
        fresh = await self._require(session_id)
        await self.check_can_book(fresh, user_id)
        raise Conflict(f"**{fresh.title}** can't be booked just now.")  # pragma: no cover

    async def _apply_bookings(self, items: Sequence[_BookingItem]) -> list[BookResult]:
        """The batch writer's step: the repository books the whole batch in one transaction
        (if it raises, the writer rolls it back and applies the items one by one)."""
        return await self.repo.book_many([(i.request, i.guild_id, i.number) for i in items])

    async def close_writer(self) -> None:
        """Let bookings already submitted finish (at shutdown)."""
        await self._writer.close()

    async def cancel_booking(self, session_id: int, user_id: int) -> CancelOutcome:
        """Cancel the member's booking; the first people waiting are promoted in the same
        transaction, and told (DM, or a channel mention naming no answers)."""
        session = await self._require(session_id)
        now = self.clock.now().timestamp()

        def audit(made: CancelResult) -> list[AuditEntry]:
            return [
                self.audit.entry(
                    session.guild_id,
                    user_id,
                    "booking.cancelled",
                    f"session:{session.number}",
                    user_id=user_id,
                    was=made.previous,
                ),
                *self._promotion_audit(session, list(made.promoted), None),
            ]

        result = await self.repo.cancel_booking(session_id, user_id, now, audit=audit)
        if result.refused == "missing":
            raise NotFound(await self.wording.render(session.guild_id, SESSION_GONE))
        if result.refused == "cancelled_session":
            raise Conflict(await self._say(session, UNBOOK_CANCELLED))
        if result.refused == "started":
            raise Conflict(await self._say(session, UNBOOK_STARTED))
        open_now = session.booking_open(now)
        if result.previous is None:
            return CancelOutcome(False, None, [], session, open_now)
        await self._after_promotion(session, list(result.promoted))
        return CancelOutcome(
            True, result.previous, [u for u, _ in result.promoted], session, open_now
        )

    def _promotion_audit(
        self, session: Session, promoted: list[tuple[int, int]], actor_id: int | None
    ) -> list[AuditEntry]:
        """The audit rows of people promoted from the waiting list (appended in the
        transaction that promoted them)."""
        return [
            self.audit.entry(
                session.guild_id,
                actor_id,
                "booking.promoted",
                f"session:{session.number}",
                user_id=user_id,
                seq=seq,
            )
            for user_id, seq in promoted
        ]

    async def _after_promotion(self, session: Session, promoted: list[tuple[int, int]]) -> None:
        """Tell the people promoted (their audit rows were written with the promotion)."""
        if not promoted:
            return
        if self.jobs is not None:
            token = promoted[0][1]
            await self.jobs.schedule(
                _key(session.id, "notice", "promoted", token),
                JOB_NOTICE,
                self.clock.now(),
                {
                    "session_id": session.id,
                    "reason": "promoted",
                    "token": token,
                    "user_ids": [u for u, _ in promoted],
                },
                guild_id=session.guild_id,
            )

    # -- organisers' views (private) ------------------------------------------------------------

    async def attendees(self, session_id: int) -> list[Attendee]:
        """Confirmed in booking order, then the waiting list in order, with survey answers.
        For organisers only (ephemeral replies and CSV files)."""
        answers = await self.repo.answers(session_id)
        result: list[Attendee] = []
        counters = {"confirmed": 0, "waiting": 0}
        for b in await self.repo.bookings(session_id):
            counters[b.status] += 1
            result.append(
                Attendee(
                    b.user_id,
                    b.status,
                    counters[b.status],
                    b.booked_at,
                    b.promoted_at,
                    answers.get(b.user_id, {}),
                )
            )
        return result

    async def bookings(self, session_id: int) -> list[Booking]:
        return await self.repo.bookings(session_id)

    async def survey(self, session_id: int) -> SurveySummary:
        questions = await self.questions(session_id)
        answers = await self.repo.answers(session_id)
        summary = summarise_survey(questions, list(answers.values()))
        return merge_retained(summary, await self.repo.retained_counts(session_id))

    async def check_can_evaluate(self, session: Session, user_id: int) -> None:
        """Raise a kind refusal unless the member had a place and the session has started."""
        if session.is_cancelled:
            raise Conflict(await self._say(session, EVALUATION_CANCELLED))
        status = await self.repo.member_status(session.id, user_id)
        if status is None or status[0] != "confirmed":
            raise NotAllowed(await self._say(session, EVALUATION_NOT_ATTENDEE))
        if not session.has_started(self.clock.now().timestamp()):
            raise Conflict(await self._say(session, EVALUATION_TOO_EARLY))

    async def evaluate(
        self,
        session_id: int,
        user_id: int,
        rating: int | str,
        useful: str | None = None,
        better: str | None = None,
    ) -> Session:
        session = await self._require(session_id)
        now = self.clock.now().timestamp()
        if session.is_cancelled:
            raise Conflict(await self._say(session, EVALUATION_CANCELLED))
        if not session.has_started(now):
            raise Conflict(await self._say(session, EVALUATION_TOO_EARLY))
        score = parse_rating(rating)
        most_useful = clean_comment(useful, "What was most useful")
        could_be_better = clean_comment(better, "What could be better")
        audit = self.audit.entry(
            session.guild_id,
            user_id,
            "evaluation.submitted",
            f"session:{session.number}",
            user_id=user_id,
            rating=score,
        )
        if not await self.repo.save_evaluation(
            session_id, user_id, score, most_useful, could_be_better, now, audit=audit
        ):
            raise NotAllowed(await self._say(session, EVALUATION_NOT_ATTENDEE))
        return session

    async def evaluation(self, session_id: int) -> tuple[EvaluationSummary, list[Evaluation]]:
        rows = await self.repo.evaluations(session_id)
        confirmed, _ = await self.repo.counts(session_id)
        return summarise_evaluations(
            [(r.rating, r.useful, r.better) for r in rows], confirmed
        ), rows

    async def digest_text(self, session_id: int) -> str:
        """The organisers' digest: bookings, waiting list and the whole survey summary (no
        names). It may be longer than one message: see :meth:`_digest`."""
        details = await self.details(session_id)
        s = details.session
        head = (
            f"**Session #{s.number}: {s.title}** starts {when(s.starts_at)}.\n"
            f"{details.capacity_line}."
        )
        summary = survey_summary_text(
            await self.survey(session_id),
            limit_per_question=10_000,
            where="in the CSV of `/session attendees`",
        )
        return head + "\n\n" + summary

    # -- timed work -----------------------------------------------------------------------------

    async def _schedule_timeline(self, session: Session) -> None:
        """(Re)schedule reminders, digest, evaluation and post refreshes. Keys are per session
        and offset, so re-scheduling moves the same jobs instead of adding new ones."""
        if self.jobs is None:
            return
        now = self.clock.now().timestamp()
        payload: dict[str, Any] = {"session_id": session.id, "starts_at": session.starts_at}
        future = dict(reminder_runs(session.starts_at, session.reminders, now))
        for offset in session.reminders:
            key = _key(session.id, "reminder", offset)
            if offset in future:
                await self.jobs.schedule(
                    key,
                    JOB_REMINDER,
                    from_unix(future[offset]),
                    {**payload, "offset": offset},
                    guild_id=session.guild_id,
                )
            else:
                await self.jobs.cancel(key)
        digest_at = digest_time(session.starts_at, session.reminders, now)
        if digest_at is not None:
            await self.jobs.schedule(
                _key(session.id, "digest"),
                JOB_DIGEST,
                from_unix(digest_at),
                payload,
                guild_id=session.guild_id,
            )
        else:
            await self.jobs.cancel(_key(session.id, "digest"))
        await self.jobs.schedule(
            _key(session.id, "evaluation"),
            JOB_EVALUATION,
            from_unix(session.ends_at),
            payload,
            guild_id=session.guild_id,
        )
        await self.jobs.schedule(
            _key(session.id, "ended"),
            JOB_ENDED,
            from_unix(session.ends_at),
            payload,
            guild_id=session.guild_id,
        )
        await self.jobs.schedule(
            _key(session.id, "refresh", "closes"),
            JOB_REFRESH,
            from_unix(session.closes_at),
            payload,
            guild_id=session.guild_id,
        )
        if session.priority_until is not None and session.priority_until > now:
            await self.jobs.schedule(
                _key(session.id, "refresh", "priority"),
                JOB_REFRESH,
                from_unix(session.priority_until),
                payload,
                guild_id=session.guild_id,
            )

    async def handle_job(self, job: Job, messenger: Messenger) -> DeliveryReport | None:
        """Run one of this feature's jobs. Idempotent: every delivery goes through the state
        machine of bot/domain/delivery.py, per recipient."""
        session = await self.repo.get(int(job.payload["session_id"]))
        if session is None:
            return None
        if job.kind == JOB_REFRESH:
            await messenger.refresh(session.id)
            return None
        if job.kind == JOB_NOTICE:
            return await self._notice(session, job.payload, messenger)
        if session.is_cancelled:
            return None
        if job.payload.get("starts_at") not in (None, session.starts_at):
            log.info("session %s: skipping a job for an old start time", session.id)
            return None
        now = self.clock.now().timestamp()
        if job.kind in (JOB_REMINDER, JOB_DIGEST) and now >= session.starts_at:
            # The bot was down past the start: a reminder saying "started 3 hours ago" helps
            # nobody.
            log.info("session %s: skipping a %s after the start", session.id, job.kind)
            return None
        if job.kind == JOB_REMINDER:
            offset = int(job.payload["offset"])
            if any(o < offset and session.starts_at - o <= now for o in session.reminders):
                log.info(
                    "session %s: the %ss reminder is late and a later one is due too; "
                    "only that one is sent",
                    session.id,
                    offset,
                )
                return None
            confirmed = await self.repo.user_ids(session.id, ["confirmed"])
            return await self._deliver(
                session,
                f"reminder:{offset}:{int(session.starts_at)}",
                confirmed,
                REMINDER,
                REMINDER_CHANNEL,
                messenger,
            )
        if job.kind == JOB_DIGEST:
            return await self._digest(session, messenger)
        if job.kind == JOB_EVALUATION:
            confirmed = await self.repo.user_ids(session.id, ["confirmed"])
            report = await self._deliver(
                session,
                "evaluation",
                confirmed,
                EVALUATION,
                EVALUATION_CHANNEL,
                messenger,
                feedback=True,
            )
            await messenger.refresh(session.id)
            return report
        if job.kind == JOB_ENDED:
            # Nobody can get a place any more: those still waiting hear so, once each (the
            # delivery rows make a re-run or a restart send nothing twice). They stay on the
            # list, which is who a repeat tells first.
            waiting = await self.repo.user_ids(session.id, ["waiting"])
            return await self._deliver(
                session, "waiting_ended", waiting, WAITING_ENDED, WAITING_ENDED_CHANNEL, messenger
            )
        log.warning("unknown session job kind %s", job.kind)
        return None

    def _run(self, session: Session, kind: str) -> DeliveryRun:
        return DeliveryRun(
            self.repo.deliveries_log, self.clock, session.id, kind, _key(session.id, kind)
        )

    async def _digest(self, session: Session, messenger: Messenger) -> DeliveryReport:
        """Organisers only: a DM to the session's organiser. Never posted in a channel."""
        run = self._run(session, f"digest:{int(session.starts_at)}")
        report = DeliveryReport(unknown=await run.start([(session.created_by, DM)]))
        full = await self.digest_text(session.id)
        text, cut = fit_message(full, DIGEST_NOTE)
        attachment = (f"session-{session.number}-digest.txt", plain_text(full)) if cut else None

        async def dm(user_id: int, nonce: str) -> bool:
            if attachment is not None:  # never cut short silently: the whole text is attached
                return await messenger.dm(user_id, text, nonce=nonce, file=attachment)
            return await messenger.dm(user_id, text, nonce=nonce)

        result = await run.each([session.created_by], dm, reroute=False)
        report.dm, report.undelivered, report.skipped = result.sent, result.failed, result.skipped
        if result.failed:
            log.warning("session %s: the organiser's DMs are closed; digest not sent", session.id)
        return report

    async def _notice(
        self, session: Session, payload: dict[str, Any], messenger: Messenger
    ) -> DeliveryReport | None:
        reason = payload.get("reason")
        if reason == "cancelled":
            people = await self.repo.user_ids(session.id, ["confirmed", "waiting"])
            return await self._deliver(
                session,
                "cancelled",
                people,
                SESSION_CANCELLED,
                SESSION_CANCELLED_CHANNEL,
                messenger,
            )
        if session.is_cancelled:
            return None
        if reason == "promoted":
            still = set(await self.repo.user_ids(session.id, ["confirmed"]))
            people = [int(u) for u in payload.get("user_ids", []) if int(u) in still]
            return await self._deliver(
                session,
                f"promoted:{payload.get('token')}",
                people,
                PROMOTED,
                PROMOTED_CHANNEL,
                messenger,
            )
        if reason == "moved":
            if payload.get("starts_at") != session.starts_at:
                return None  # moved again since; a newer notice tells the latest time
            people = await self.repo.user_ids(session.id, ["confirmed", "waiting"])
            return await self._deliver(
                session, f"moved:{int(session.starts_at)}", people, MOVED, MOVED_CHANNEL, messenger
            )
        if reason == "priority":
            earlier = await self.repo.get(session.repeat_of) if session.repeat_of else None
            people = await self.repo.priority_users(session.id)
            until = session.priority_until or session.closes_at
            return await self._deliver(
                session,
                "priority",
                people,
                PRIORITY,
                PRIORITY_CHANNEL,
                messenger,
                earlier=earlier.title if earlier else "the last session",
                until=ts(until, "F"),
            )
        log.warning("unknown session notice %s", reason)
        return None

    async def _deliver(
        self,
        session: Session,
        kind: str,
        recipients: Sequence[int],
        dm_template: Template,
        channel_template: Template,
        messenger: Messenger,
        *,
        feedback: bool = False,
        **extra: object,
    ) -> DeliveryReport:
        """DM each recipient once; those whose DMs are closed get one channel post mentioning
        them (the text names no survey answers). Every recipient's row is claimed before the
        send and marked after it (bot/domain/delivery.py): a crash, a restart or a Discord
        error never sends twice and loses nobody."""
        people = list(dict.fromkeys(recipients))
        run = self._run(session, kind)
        report = DeliveryReport(unknown=await run.start([(u, DM) for u in people]))
        values: dict[str, object] = {
            "title": session.title,
            "when": when(session.starts_at),
            "link": jump_link(session.guild_id, session.channel_id, session.message_id),
            **extra,
        }
        feedback_session = session.id if feedback else None
        text = await messenger.render(session.guild_id, dm_template, **values)

        async def dm(user_id: int, nonce: str) -> bool:
            return await messenger.dm(user_id, text, feedback_session=feedback_session, nonce=nonce)

        async def post(user_ids: list[int], nonce: str) -> bool:
            note = await messenger.render(
                session.guild_id, channel_template, mentions=mentions_text(user_ids), **values
            )
            return await messenger.post(
                session.channel_id,
                note,
                mention_ids=user_ids,
                feedback_session=feedback_session,
                nonce=nonce,
            )

        dms = await run.each(people, dm, reroute=True)
        posts = await run.group(people, post, size=MENTIONS_PER_POST)
        report.dm, report.channel = dms.sent, posts.sent
        report.undelivered = dms.failed + posts.failed
        acted = set(dms.sent + dms.rerouted + dms.failed + posts.sent + posts.failed)
        report.skipped = sum(1 for u in people if u not in acted)
        return report
