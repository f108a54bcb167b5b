"""Sessions, organisers' side: create, edit, cancel, and the survey's questions."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from bot.clock import from_unix
from bot.domain.audit.models import AuditEntry
from bot.domain.calls.rules import validate_description, validate_title
from bot.domain.errors import Conflict, InvalidInput
from bot.domain.sessions.base import SessionParts
from bot.domain.sessions.jobs import JOB_NOTICE, job_key, job_prefix
from bot.domain.sessions.models import (
    EditOutcome,
    Session,
)
from bot.domain.sessions.rules import (
    parse_capacity,
    parse_priority,
    parse_session_duration,
    plan_session_reminders,
    validate_session_times,
)
from bot.domain.sessions.survey import (
    Question,
    build_questions,
    default_questions,
)
from bot.timeparse import parse_when


class SessionLifecycle(SessionParts):
    """Organisers' side of a session: create, edit, cancel, survey questions."""

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
        session, priority_people = await self.repo.create(
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
        )
        # Recorded once the post exists (attach_post): a session whose post fails leaves no trace.
        self.audit.hold(
            f"session:{session.id}",
            self.audit.entry(
                guild_id,
                author_id,
                "session.created",
                f"session:{session.number}",
                capacity=places,
                starts_at=session.starts_at,
                repeat_of=repeat_of,
                priority_people=priority_people,
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
        await self.repo.set_message(
            session_id,
            channel_id,
            message_id,
            audit=self.audit.held(f"session:{session_id}"),
        )
        self.audit.drop(f"session:{session_id}")
        self._forget(session_id)
        session = await self._require(session_id)
        if session.priority_until is not None and self.jobs is not None:
            await self.jobs.schedule(
                job_key(session_id, "notice", "priority"),
                JOB_NOTICE,
                self.clock.now(),
                {"session_id": session_id, "reason": "priority"},
                guild_id=session.guild_id,
            )

    async def reposted(
        self, session_id: int, channel_id: int, message_id: int, *, actor_id: int
    ) -> None:
        """A new post replaces one that was deleted (``/session repost``); recorded with it.
        Bookings and the waiting list are untouched (they never depended on the post)."""
        session = await self._require(session_id)
        await self.repo.set_message(
            session_id,
            channel_id,
            message_id,
            audit=self.audit.entry(
                session.guild_id,
                actor_id,
                "session.reposted",
                f"session:{session.number}",
                channel_id=channel_id,
            ),
        )
        self._forget(session_id)

    async def attach_event(self, session_id: int, event_id: int | None) -> None:
        await self.repo.set_event(session_id, event_id)
        self._forget(session_id)

    async def discard(self, session_id: int) -> None:
        """Remove a session whose post could not be made (nobody could have booked)."""
        if self.jobs is not None:
            await self.jobs.discard_prefix(job_prefix(session_id))
        self.audit.drop(f"session:{session_id}")
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
                job_key(updated.id, "notice", "moved"),
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
            await self.jobs.cancel_prefix(job_prefix(session.id))
            await self.jobs.schedule(
                job_key(session.id, "notice", "cancelled"),
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
        access: bool = True,
    ) -> list[Question]:
        """Replace the survey questions while nobody has booked yet (the access needs questions
        are kept after them unless ``access`` is False)."""
        session = await self.get(guild_id, number)
        self._ensure_changeable(session)
        questions = build_questions(texts, optional, access=access)
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
