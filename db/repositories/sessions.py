"""sessions."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass

from bot.domain.audit.models import AuditFor
from bot.domain.delivery.models import DeliveryRow, OwnerKind
from bot.domain.sessions.models import (
    Booking,
    BookRequest,
    BookResult,
    BookStatus,
    CancelResult,
    Evaluation,
    Session,
)
from bot.domain.sessions.rules import booking_refusal, is_full
from bot.domain.sessions.survey import Question
from db.database import Database, Row, Tx
from db.repositories.audit import AuditBatch, append_entries, execute_audited, fetchone_audited
from db.repositories.deliveries import DeliveryLog

_COLUMNS = (
    "id, guild_id, number, channel_id, message_id, event_id, title, description, starts_at, "
    "ends_at, closes_at, capacity, reminders, repeat_of, priority_until, status, created_by, "
    "created_at, cancelled_at, ics_sequence"
)


_QUESTIONS = (
    "SELECT key, text, label, kind, options, required FROM session_questions "
    "WHERE session_id = ? ORDER BY position"
)


def _question(row: Row) -> Question:
    return Question(
        key=str(row["key"]),
        text=str(row["text"]),
        label=str(row["label"]),
        kind=str(row["kind"]),
        options=tuple(json.loads(str(row["options"]))),
        required=bool(row["required"]),
    )


def _session(row: Row) -> Session:
    values = {k: row[k] for k in row.keys()}
    values["reminders"] = tuple(int(x) for x in json.loads(values["reminders"]))
    return Session(**values)


_COUNTS = (
    "SELECT COALESCE(SUM(CASE WHEN status = 'confirmed' THEN 1 ELSE 0 END), 0), COALESCE(SUM(CASE WHEN status = 'waiting' THEN 1 ELSE 0 END), 0) "
    "FROM session_bookings WHERE session_id = ?"
)


async def _position(tx: Tx, session_id: int, seq: int) -> int:
    return int(
        await tx.fetchval(
            "SELECT COUNT(*) FROM session_bookings WHERE session_id = ? AND status = 'waiting' "
            "AND seq <= ?",
            (session_id, seq),
        )
    )


async def _promote(tx: Tx, session_id: int, now: float) -> list[tuple[int, int]]:
    """Move the first people waiting into free places (inside the caller's transaction)."""
    row = await tx.fetchone(
        "SELECT s.capacity - (SELECT COUNT(*) FROM session_bookings b "
        "WHERE b.session_id = s.id AND b.status = 'confirmed') FROM sessions s WHERE s.id = ?",
        (session_id,),
    )
    free = int(row[0]) if row else 0
    if free <= 0:
        return []
    rows = await tx.fetchall(
        "UPDATE session_bookings SET status = 'confirmed', promoted_at = ? "
        "WHERE session_id = ? AND status = 'waiting' AND seq IN ("
        "  SELECT seq FROM session_bookings WHERE session_id = ? AND status = 'waiting' "
        "  ORDER BY seq LIMIT ?) RETURNING user_id, seq",
        (now, session_id, session_id, free),
    )
    return sorted(((int(r[0]), int(r[1])) for r in rows), key=lambda p: p[1])


# The booking decision. Capacity, the waiting list and the submission number (seq) are all
# decided inside this ONE statement, so it can never overbook, whatever runs around it.
_BOOK = """
INSERT INTO session_bookings (session_id, user_id, status, seq, booked_at)
VALUES (?, ?, ?, ?, ?)
ON CONFLICT (session_id, user_id) DO UPDATE SET
    status = excluded.status, seq = excluded.seq, booked_at = excluded.booked_at,
    promoted_at = NULL, cancelled_at = NULL
WHERE session_bookings.status = 'cancelled'
"""


@dataclass(slots=True)
class _Tally:
    """A session's places while a batch of bookings is decided (the batch is the only writer)."""

    session: Session
    confirmed: int
    waiting: int
    last_seq: int


async def _tally(tx: Tx, session_id: int) -> _Tally | None:
    row = await tx.fetchone(
        f"SELECT {_COLUMNS} FROM sessions WHERE id = ?{tx.dialect.for_update}", (session_id,)
    )
    if row is None:
        return None
    counts = await tx.fetchone(
        "SELECT COALESCE(SUM(CASE WHEN status = 'confirmed' THEN 1 ELSE 0 END), 0), COALESCE(SUM(CASE WHEN status = 'waiting' THEN 1 ELSE 0 END), 0), "
        "COALESCE(MAX(seq), 0) FROM session_bookings WHERE session_id = ?",
        (session_id,),
    )
    assert counts is not None  # an aggregate always returns a row
    return _Tally(_session(row), int(counts[0]), int(counts[1]), int(counts[2]))


async def book_sync(
    tx: Tx, request: BookRequest, tallies: dict[int, _Tally | None] | None = None
) -> BookResult:
    """Decide one booking inside the caller's transaction: the session row locked, the booking
    rule (:func:`bot.domain.sessions.rules.booking_refusal`) and the capacity rule
    (:func:`~bot.domain.sessions.rules.is_full`) applied to what is stored, then the booking and
    the member's answers written, so a booking never lacks its answers. The result carries the
    refusal reason when there is one: nobody diagnoses it afterwards.

    ``tallies`` (session id -> its places) is shared by the bookings of one batch, which is the
    only writer while it runs, so each session is read once per batch.
    """
    session_id, user_id, now = request.session_id, request.user_id, request.now
    tallies = {} if tallies is None else tallies
    if session_id not in tallies:  # first booking of this session in the transaction: lock it
        await tx.lock("session", session_id)  # (held until the transaction ends)
        tallies[session_id] = await _tally(tx, session_id)
    tally = tallies[session_id]
    if tally is None:
        return BookResult("missing")
    existing = await tx.fetchone(
        "SELECT status, seq FROM session_bookings WHERE session_id = ? AND user_id = ?",
        (session_id, user_id),
    )
    if existing is not None and existing[0] == "confirmed":
        return BookResult("already_confirmed", int(existing[1]))
    if existing is not None and existing[0] == "waiting":
        seq = int(existing[1])
        return BookResult("already_waiting", seq, await _position(tx, session_id, seq))
    session = tally.session
    has_priority = (
        session.priority_until is not None
        and now < session.priority_until
        and await tx.fetchval(
            "SELECT 1 FROM session_priority WHERE session_id = ? AND user_id = ?",
            (session_id, user_id),
        )
        is not None
    )
    refusal = booking_refusal(session, now, has_priority=has_priority)
    if refusal is not None:
        return BookResult(refusal)
    waits = is_full(tally.confirmed, session.capacity, tally.waiting)
    status: BookStatus = "waiting" if waits else "confirmed"
    seq = tally.last_seq + 1
    await tx.execute(_BOOK, (session_id, user_id, status, seq, now))
    tally.last_seq = seq
    await tx.execute(
        "DELETE FROM session_answers WHERE session_id = ? AND user_id = ?", (session_id, user_id)
    )
    if request.answers:
        await tx.executemany(
            "INSERT INTO session_answers (session_id, user_id, position, key, question, "
            "answer) VALUES (?, ?, ?, ?, ?, ?)",
            [(session_id, user_id, *a) for a in request.answers],
        )
    if not waits:
        tally.confirmed += 1
        return BookResult(status, seq)
    tally.waiting += 1
    return BookResult(status, seq, tally.waiting)


class SessionRepository:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.deliveries_log = DeliveryLog(db, OwnerKind.SESSION)

    # -- sessions -------------------------------------------------------------------------------

    async def create(
        self,
        *,
        guild_id: int,
        channel_id: int,
        title: str,
        description: str,
        starts_at: float,
        ends_at: float,
        closes_at: float,
        capacity: int,
        reminders: Sequence[int],
        repeat_of: int | None,
        priority_until: float | None,
        created_by: int,
        created_at: float,
        questions: Sequence[tuple[int, str, str, str, str, str, int]],
        audit: AuditFor[tuple[Session, int]] = None,
    ) -> tuple[Session, int]:
        """Insert the session (next per-server number), its questions and, for a repeat, the
        earlier waiting list as the priority list, with the audit row (``audit(result)``), in
        one transaction. Returns (session, number of people with priority)."""

        async def work(tx: Tx) -> tuple[Session, int]:
            await tx.lock("number", "sessions", guild_id)  # the next number, one at a time
            row = await tx.fetchone(
                f"""
                INSERT INTO sessions (guild_id, number, channel_id, title, description, starts_at,
                                      ends_at, closes_at, capacity, reminders, repeat_of,
                                      priority_until, created_by, created_at)
                SELECT ?, COALESCE(MAX(number), 0) + 1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?
                FROM sessions WHERE guild_id = ?
                RETURNING {_COLUMNS}
                """,
                (
                    guild_id,
                    channel_id,
                    title,
                    description,
                    starts_at,
                    ends_at,
                    closes_at,
                    capacity,
                    json.dumps(list(reminders)),
                    repeat_of,
                    priority_until,
                    created_by,
                    created_at,
                    guild_id,
                ),
            )
            assert row is not None  # INSERT/UPDATE ... RETURNING of a row that exists
            session = _session(row)
            await tx.executemany(
                "INSERT INTO session_questions (session_id, position, key, text, label, kind, "
                "options, required) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [(session.id, *q) for q in questions],
            )
            priority = 0
            if repeat_of is not None:
                priority = await tx.execute(
                    "INSERT INTO session_priority (session_id, user_id, from_session_id) "
                    "SELECT ?, user_id, session_id FROM session_bookings "
                    "WHERE session_id = ? AND status = 'waiting'",
                    (session.id, repeat_of),
                )
                if priority == 0 and priority_until is not None:
                    # Nobody missed out last time: no priority window needed.
                    row = await tx.fetchone(
                        f"UPDATE sessions SET priority_until = NULL WHERE id = ? RETURNING {_COLUMNS}",
                        (session.id,),
                    )
                    assert row is not None  # INSERT/UPDATE ... RETURNING of a row that exists
                    session = _session(row)
            await append_entries(tx, audit, (session, priority))
            return session, priority

        return await self.db.transaction(work)

    async def delete(self, session_id: int) -> None:
        await self.db.execute("DELETE FROM sessions WHERE id = ?", (session_id,))

    async def set_message(
        self, session_id: int, channel_id: int, message_id: int, *, audit: AuditFor[int] = None
    ) -> None:
        """Remember the post; ``audit`` (the creation's row, once its post exists) is appended
        in the same transaction."""
        await execute_audited(
            self.db,
            "UPDATE sessions SET channel_id = ?, message_id = ? WHERE id = ?",
            (channel_id, message_id, session_id),
            audit,
        )

    async def set_event(self, session_id: int, event_id: int | None) -> None:
        await self.db.execute(
            "UPDATE sessions SET event_id = ? WHERE id = ?", (event_id, session_id)
        )

    async def get(self, session_id: int) -> Session | None:
        row = await self.db.fetchone(f"SELECT {_COLUMNS} FROM sessions WHERE id = ?", (session_id,))
        return _session(row) if row else None

    async def by_number(self, guild_id: int, number: int) -> Session | None:
        row = await self.db.fetchone(
            f"SELECT {_COLUMNS} FROM sessions WHERE guild_id = ? AND number = ?", (guild_id, number)
        )
        return _session(row) if row else None

    async def open_since(self, since: float) -> list[Session]:
        """Sessions not cancelled that end after ``since`` (their posts are refreshed at start)."""
        rows = await self.db.fetchall(
            f"SELECT {_COLUMNS} FROM sessions WHERE status = 'open' AND ends_at > ? "
            "AND message_id IS NOT NULL ORDER BY id",
            (since,),
        )
        return [_session(r) for r in rows]

    async def list_for_guild(self, guild_id: int, limit: int = 25) -> list[Session]:
        rows = await self.db.fetchall(
            f"SELECT {_COLUMNS} FROM sessions WHERE guild_id = ? "
            "ORDER BY status = 'open' DESC, number DESC LIMIT ?",
            (guild_id, limit),
        )
        return [_session(r) for r in rows]

    async def booked_by(
        self, guild_id: int, user_id: int, since: float, limit: int = 50
    ) -> list[Session]:
        """Open sessions not yet ended where the member has a place, soonest first."""
        columns = ", ".join(f"s.{c.strip()}" for c in _COLUMNS.split(","))
        rows = await self.db.fetchall(
            f"SELECT {columns} FROM sessions s JOIN session_bookings b ON b.session_id = s.id "
            "WHERE s.guild_id = ? AND b.user_id = ? AND b.status = 'confirmed' "
            "AND s.status = 'open' AND s.ends_at > ? ORDER BY s.starts_at LIMIT ?",
            (guild_id, user_id, since, limit),
        )
        return [_session(r) for r in rows]

    async def search(self, guild_id: int, text: str, limit: int = 25) -> list[Session]:
        rows = await self.db.fetchall(
            f"SELECT {_COLUMNS} FROM sessions WHERE guild_id = ? "
            "AND (CAST(number AS TEXT) LIKE ? OR title LIKE ?) "
            "ORDER BY status = 'open' DESC, number DESC LIMIT ?",
            (guild_id, f"{text}%", f"%{text}%", limit),
        )
        return [_session(r) for r in rows]

    async def update(
        self,
        session_id: int,
        *,
        title: str,
        starts_at: float,
        ends_at: float,
        closes_at: float,
        capacity: int,
        now: float,
        audit: AuditFor[tuple[Session, list[tuple[int, int]]]] = None,
    ) -> tuple[Session, list[tuple[int, int]]] | None:
        """Change a session that is open and not finished, and promote into any new places, with
        the audit rows (``audit(result)``), in one transaction. ``None`` if it was cancelled or
        finished meanwhile."""

        async def work(tx: Tx) -> tuple[Session, list[tuple[int, int]]] | None:
            await tx.lock("session", session_id)
            row = await tx.fetchone(
                # A new time is a new revision of the calendar event (its SEQUENCE).
                f"UPDATE sessions SET title = ?, starts_at = ?, ends_at = ?, closes_at = ?, "
                f"capacity = ?, ics_sequence = ics_sequence "
                f"+ CASE WHEN starts_at <> ? OR ends_at <> ? THEN 1 ELSE 0 END "
                f"WHERE id = ? AND status = 'open' AND ends_at > ? RETURNING {_COLUMNS}",
                (
                    title,
                    starts_at,
                    ends_at,
                    closes_at,
                    capacity,
                    starts_at,
                    ends_at,
                    session_id,
                    now,
                ),
            )
            if row is None:
                return None
            result = _session(row), await _promote(tx, session_id, now)
            await append_entries(tx, audit, result)
            return result

        return await self.db.transaction(work)

    async def cancel(
        self, session_id: int, now: float, *, audit: AuditFor[tuple[Session, int, int]] = None
    ) -> Session | None:
        """Cancel an open, unfinished session (one decisive statement); ``None`` if it was not.
        ``audit((session, confirmed, waiting))`` gives its audit row, appended in the same
        transaction with the booking counts at that moment."""

        async def work(tx: Tx) -> Session | None:
            await tx.lock("session", session_id)
            row = await tx.fetchone(
                f"UPDATE sessions SET status = 'cancelled', cancelled_at = ?, "
                f"ics_sequence = ics_sequence + 1 WHERE id = ? AND status = 'open' AND ends_at > ? RETURNING {_COLUMNS}",
                (now, session_id, now),
            )
            if row is None:
                return None
            session = _session(row)
            if audit is not None:
                counts = await tx.fetchone(_COUNTS, (session_id,))
                assert counts is not None  # an aggregate always returns a row
                confirmed, waiting = counts
                await append_entries(tx, audit, (session, int(confirmed), int(waiting)))
            return session

        return await self.db.transaction(work)

    # -- questions ------------------------------------------------------------------------------

    async def questions(self, session_id: int) -> list[Question]:
        rows = await self.db.fetchall(_QUESTIONS, (session_id,))
        return [_question(r) for r in rows]

    async def replace_questions(
        self,
        session_id: int,
        questions: Sequence[tuple[int, str, str, str, str, str, int]],
        *,
        audit: AuditFor[bool] = None,
    ) -> bool:
        """Replace the questions if nobody has booked yet (checked in the same transaction, with
        the audit row appended only if they were replaced)."""

        async def work(tx: Tx) -> bool:
            await tx.lock("session", session_id)
            booked = await tx.fetchone(
                "SELECT 1 FROM session_bookings WHERE session_id = ? LIMIT 1", (session_id,)
            )
            if booked is not None:
                return False
            await tx.execute("DELETE FROM session_questions WHERE session_id = ?", (session_id,))
            await tx.executemany(
                "INSERT INTO session_questions (session_id, position, key, text, label, kind, "
                "options, required) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [(session_id, *q) for q in questions],
            )
            await append_entries(tx, audit, True)
            return True

        return await self.db.transaction(work)

    # -- bookings -------------------------------------------------------------------------------

    async def book(
        self,
        session_id: int,
        user_id: int,
        now: float,
        answers: Sequence[tuple[int, str, str, str]],
    ) -> BookResult:
        """Book a place or a waiting-list spot, alone in its own transaction (see
        :func:`book_sync`; a burst of bookings is written by :meth:`book_many` instead)."""
        request = BookRequest(session_id, user_id, now, tuple(answers))

        async def work(tx: Tx) -> BookResult:
            return await book_sync(tx, request)

        return await self.db.transaction(work)

    async def book_many(self, items: Sequence[tuple[BookRequest, int, int]]) -> list[BookResult]:
        """A batch of bookings ``(request, guild id, session number)`` with their answers and
        audit rows: one transaction, one call.

        Each booking is decided in submission order by :func:`book_sync`; a refusal (closed,
        already booked, ...) is that item's result and never affects the others."""

        async def work(tx: Tx) -> list[BookResult]:
            audit = AuditBatch(tx)
            tallies: dict[int, _Tally | None] = {}
            results = []
            for request, guild_id, number in items:
                result = await book_sync(tx, request, tallies)
                if result.status in ("confirmed", "waiting"):
                    audit.append(
                        guild_id,
                        request.now,
                        request.user_id,
                        f"booking.{result.status}",
                        f"session:{number}",
                        {"user_id": request.user_id, "seq": result.seq},
                    )
                results.append(result)
            await audit.flush()
            return results

        return await self.db.transaction(work)

    async def session_and_questions(self, session_id: int) -> tuple[Session | None, list[Question]]:
        """The session and its survey questions in one round trip (what booking needs)."""

        async def work(tx: Tx) -> tuple[Session | None, list[Question]]:
            row = await tx.fetchone(f"SELECT {_COLUMNS} FROM sessions WHERE id = ?", (session_id,))
            if row is None:
                return None, []
            questions = await tx.fetchall(_QUESTIONS, (session_id,))
            return _session(row), [_question(q) for q in questions]

        return await self.db.transaction(work)

    async def member_status(self, session_id: int, user_id: int) -> tuple[str, int | None] | None:
        """('confirmed', None), ('waiting', position) or None."""
        row = await self.db.fetchone(
            "SELECT b.status, CASE WHEN b.status = 'waiting' THEN ("
            "  SELECT COUNT(*) FROM session_bookings w WHERE w.session_id = b.session_id "
            "  AND w.status = 'waiting' AND w.seq <= b.seq) END "
            "FROM session_bookings b WHERE b.session_id = ? AND b.user_id = ? "
            "AND b.status IN ('confirmed', 'waiting')",
            (session_id, user_id),
        )
        return (str(row[0]), row[1]) if row else None

    async def has_priority(self, session_id: int, user_id: int) -> bool:
        row = await self.db.fetchone(
            "SELECT 1 FROM session_priority WHERE session_id = ? AND user_id = ?",
            (session_id, user_id),
        )
        return row is not None

    async def cancel_booking(
        self, session_id: int, user_id: int, now: float, *, audit: AuditFor[CancelResult] = None
    ) -> CancelResult:
        """Cancel the member's booking, delete their answers, and promote the first people
        waiting into any free place, with the audit rows (``audit(result)``, only if a booking
        was cancelled): one transaction."""

        async def work(tx: Tx) -> CancelResult:
            await tx.lock("session", session_id)
            session = await tx.fetchone(
                f"SELECT status, starts_at FROM sessions WHERE id = ?{tx.dialect.for_update}",
                (session_id,),
            )
            if session is None:
                return CancelResult(None, (), "missing")
            if session[0] != "open":
                return CancelResult(None, (), "cancelled_session")
            if session[1] <= now:
                return CancelResult(None, (), "started")
            row = await tx.fetchone(
                "SELECT status FROM session_bookings WHERE session_id = ? AND user_id = ? "
                "AND status IN ('confirmed', 'waiting')",
                (session_id, user_id),
            )
            if row is None:
                return CancelResult(None, ())
            await tx.execute(
                "UPDATE session_bookings SET status = 'cancelled', cancelled_at = ? "
                "WHERE session_id = ? AND user_id = ?",
                (now, session_id, user_id),
            )
            await tx.execute(
                "DELETE FROM session_answers WHERE session_id = ? AND user_id = ?",
                (session_id, user_id),
            )
            promoted = await _promote(tx, session_id, now) if row[0] == "confirmed" else []
            result = CancelResult(str(row[0]), tuple(promoted))
            await append_entries(tx, audit, result)
            return result

        return await self.db.transaction(work)

    async def counts(self, session_id: int) -> tuple[int, int]:
        """(confirmed, waiting)."""
        row = await self.db.fetchone(_COUNTS, (session_id,))
        return (int(row[0]), int(row[1])) if row else (0, 0)

    async def bookings(self, session_id: int) -> list[Booking]:
        """Confirmed (in booking order), then the waiting list in order."""
        rows = await self.db.fetchall(
            "SELECT user_id, status, seq, booked_at, promoted_at FROM session_bookings "
            "WHERE session_id = ? AND status IN ('confirmed', 'waiting') "
            "ORDER BY status = 'waiting', seq",
            (session_id,),
        )
        return [Booking(*r) for r in rows]

    async def user_ids(self, session_id: int, statuses: Sequence[str]) -> list[int]:
        marks = ", ".join("?" for _ in statuses)
        rows = await self.db.fetchall(
            f"SELECT user_id FROM session_bookings WHERE session_id = ? AND status IN ({marks}) "
            "ORDER BY seq",
            (session_id, *statuses),
        )
        return [int(r[0]) for r in rows]

    async def retained_counts(self, session_id: int) -> list[tuple[str, str, int]]:
        """Counts kept after the retention sweep deleted the answers (absent table: none)."""
        try:
            rows = await self.db.fetchall(
                "SELECT key, answer, count FROM survey_answer_counts WHERE session_id = ?",
                (session_id,),
            )
        except sqlite3.OperationalError:
            return []
        return [(r[0], r[1], int(r[2])) for r in rows]

    async def answers(self, session_id: int) -> dict[int, dict[str, str]]:
        """Private survey answers of current bookings: {user_id: {question key: answer}}."""
        rows = await self.db.fetchall(
            "SELECT a.user_id, a.key, a.answer FROM session_answers a "
            "JOIN session_bookings b ON b.session_id = a.session_id AND b.user_id = a.user_id "
            "WHERE a.session_id = ? AND b.status IN ('confirmed', 'waiting') "
            "ORDER BY b.seq, a.position",
            (session_id,),
        )
        result: dict[int, dict[str, str]] = {}
        for r in rows:
            result.setdefault(int(r[0]), {})[str(r[1])] = str(r[2])
        return result

    async def priority_users(self, session_id: int) -> list[int]:
        rows = await self.db.fetchall(
            "SELECT user_id FROM session_priority WHERE session_id = ? ORDER BY rowid",
            (session_id,),
        )
        return [int(r[0]) for r in rows]

    # -- evaluations ----------------------------------------------------------------------------

    async def save_evaluation(
        self,
        session_id: int,
        user_id: int,
        rating: int,
        useful: str,
        better: str,
        now: float,
        *,
        audit: AuditFor[Row] = None,
    ) -> bool:
        """Store (or replace) an attendee's evaluation, with its audit row in the same
        transaction; False if they had no confirmed place (then no audit row)."""
        row = await fetchone_audited(
            self.db,
            "INSERT INTO session_evaluations (session_id, user_id, rating, useful, better, "
            "submitted_at) SELECT session_id, user_id, ?, ?, ?, ? FROM session_bookings "
            "WHERE session_id = ? AND user_id = ? AND status = 'confirmed' "
            "ON CONFLICT (session_id, user_id) DO UPDATE SET rating = excluded.rating, "
            "useful = excluded.useful, better = excluded.better, "
            "submitted_at = excluded.submitted_at RETURNING user_id",
            (rating, useful, better, now, session_id, user_id),
            audit,
        )
        return row is not None

    async def evaluations(self, session_id: int) -> list[Evaluation]:
        rows = await self.db.fetchall(
            "SELECT user_id, rating, useful, better, submitted_at FROM session_evaluations "
            "WHERE session_id = ? ORDER BY submitted_at",
            (session_id,),
        )
        return [Evaluation(*r) for r in rows]

    # -- deliveries -----------------------------------------------------------------------------

    async def deliveries(self, session_id: int, kind: str | None = None) -> list[DeliveryRow]:
        """Who is (or was) sent what; the states are those of bot/domain/delivery.py."""
        return await self.deliveries_log.rows(session_id, kind)
