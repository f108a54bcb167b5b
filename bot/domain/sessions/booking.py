"""Sessions, members' side: booking a place (one decisive statement), cancelling, the
fair waiting list and promotions, evaluations."""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence

from bot.domain.audit.models import AuditEntry
from bot.domain.errors import Conflict, InvalidInput, NotAllowed, NotFound
from bot.domain.sessions.base import BookingItem, SessionParts
from bot.domain.sessions.evaluation import (
    EvaluationSummary,
    clean_comment,
    parse_rating,
    summarise_evaluations,
)
from bot.domain.sessions.jobs import JOB_NOTICE, job_key
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
    Evaluation,
    Session,
)
from bot.domain.sessions.rules import (
    Refusal,
    booking_refusal,
    is_full,
)
from bot.domain.sessions.survey import (
    SurveySummary,
    merge_retained,
    summarise_survey,
    validate_answers,
)
from bot.domain.sessions.texts import (
    ALREADY_CONFIRMED,
    ALREADY_CONFIRMED_STARTED,
    ALREADY_WAITING,
    BOOK_CANCELLED,
    BOOK_CLOSED,
    BOOK_PRIORITY,
    EVALUATION_CANCELLED,
    EVALUATION_NOT_ATTENDEE,
    EVALUATION_TOO_EARLY,
    SESSION_GONE,
    UNBOOK_CANCELLED,
    UNBOOK_STARTED,
    WAITING_NO_PLACE,
)
from bot.domain.values import Moment


class SessionBooking(SessionParts):
    """Members' side of a session: book, cancel, the waiting list, evaluations."""

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
        """Before the form opens: raise a kind Conflict if the booking rule
        (:func:`~bot.domain.sessions.rules.booking_refusal`) refuses the member now. The booking
        itself applies the same rule again in its own unit of work."""
        now = self.clock.now().timestamp()
        has_priority = (
            session.priority_until is not None
            and now < session.priority_until
            and await self.repo.has_priority(session.id, user_id)
        )
        refusal = booking_refusal(session, now, has_priority=has_priority)
        if refusal is not None:
            raise await self._refusal(session, refusal)

    async def _refusal(self, session: Session, refusal: Refusal) -> Conflict:
        """The kind words for a refused booking, in the server's wording."""
        if refusal == "cancelled_session":
            return Conflict(await self._say(session, BOOK_CANCELLED))
        if refusal == "closed":
            return Conflict(await self._say(session, BOOK_CLOSED))
        until = session.priority_until or session.closes_at
        return Conflict(
            await self._say(
                session,
                BOOK_PRIORITY,
                opens=Moment(until, "F"),
                opens_relative=Moment(until, "R"),
            )
        )

    async def book(
        self, session_id: int, user_id: int, answers: Mapping[str, str | Sequence[str]]
    ) -> BookingOutcome:
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
        result = await self._writer.submit(BookingItem(request, session.guild_id, session.number))
        if result.status in ("confirmed", "waiting", "already_confirmed", "already_waiting"):
            if result.status == "confirmed":
                await self._confirm_by_dm(session, user_id, request.now)
            return BookingOutcome(result.status, result.position, session)
        self._forget(session_id)  # refused: the cached session may be out of date
        status = result.status
        if status == "cancelled_session" or status == "closed" or status == "priority":
            raise await self._refusal(await self._require(session_id), status)
        raise NotFound(await self.wording.render(session.guild_id, SESSION_GONE))

    async def _apply_bookings(self, items: Sequence[BookingItem]) -> list[BookResult]:
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
                job_key(session.id, "notice", "promoted", token),
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

    async def _confirm_by_dm(self, session: Session, user_id: int, booked_at: float) -> None:
        """The booking confirmation DM with its calendar file (a notice job, so it goes through
        the delivery engine: sent once, retried if Discord fails)."""
        if self.jobs is None:
            return
        # The key names this booking's notice without naming the member (erasure leaves no id
        # behind in job keys); the booking itself is decided once, so one notice per booking.
        token = f"{int(booked_at * 1000)}-{secrets.token_hex(4)}"
        await self.jobs.schedule(
            job_key(session.id, "notice", "booked", token),
            JOB_NOTICE,
            self.clock.now(),
            {"session_id": session.id, "reason": "booked", "token": token, "user_ids": [user_id]},
            guild_id=session.guild_id,
        )

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
