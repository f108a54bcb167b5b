"""The feedback service: open a round, record responses, nudge, revise, close."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from bot.clock import Clock, from_unix
from bot.domain.audiences import ReminderJobs, resolve_audience
from bot.domain.audit.models import AuditEntry
from bot.domain.audit.service import AuditService
from bot.domain.delivery.engine import DeliveryRun
from bot.domain.delivery.models import DM
from bot.domain.errors import Conflict, NotAllowed, NotFound
from bot.domain.feedback.models import (
    FeedbackNotifier,
    FeedbackResponse,
    FeedbackRound,
    OpenedRound,
    Recorded,
    ReminderOutcome,
    Revision,
    RoundStatus,
)
from bot.domain.feedback.rules import (
    DEFAULT_CLOSE_AFTER,
    clean_answers,
    local_time_text,
    parse_changes,
    plan_reminders,
    validate_plan,
    validate_title,
)
from bot.domain.feedback.summary import build_summary
from bot.domain.jobs import Job
from bot.scheduling import JobScheduler
from bot.textclean import clean_text
from bot.timeparse import parse_when
from db import Database
from db.repositories.audiences import call_audience
from db.repositories.calls import CallRepository
from db.repositories.feedback import FeedbackRepository

log = logging.getLogger(__name__)

MAX_MESSAGE = 8000  # a thread message (4000 for Nitro) plus its attachment links


REMINDERS = ReminderJobs(kind="feedback.remind", prefix="feedback", id_field="round_id")


REMIND_JOB = REMINDERS.kind


DEADLINE_JOB = "feedback.deadline"


"""At a round's deadline: its first message changes from "please give feedback" to "closed"."""


def deadline_job_key(round_id: int) -> str:
    return f"{REMINDERS.job_prefix(round_id)}deadline"  # cancelled with the reminders


class FeedbackService:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        jobs: JobScheduler | None = None,
        audit: AuditService | None = None,
    ) -> None:
        self.db = db
        self.clock = clock
        self.jobs = jobs
        self.repo = FeedbackRepository(db)
        self.calls = CallRepository(db)
        self.audit = audit or AuditService(db, clock)
        self._threads: set[int] | None = None

    # -- organisers ----------------------------------------------------------------------------

    async def open(
        self,
        *,
        guild_id: int,
        author_id: int,
        title: str,
        plan: str,
        channel_id: int,
        tz: str,
        call_number: int | None = None,
        role_id: int | None = None,
        role_member_ids: Sequence[int] = (),
        closes: str | None = None,
        reminders: str | None = None,
    ) -> OpenedRound:
        """Validate everything, then freeze the audience and schedule the reminders."""
        now = self.clock.now()
        clean_title = validate_title(title)
        clean_plan = validate_plan(plan)
        call_id, audience = await resolve_audience(
            self.calls,
            guild_id=guild_id,
            call_number=call_number,
            role_id=role_id,
            role_member_ids=role_member_ids,
            people_of_call=call_audience,
            choose="Please choose who the feedback is from: a `call` (its drawn group and the "
            "reviewers who accepted) and/or a `role`.",
            nobody="Nobody would be asked: the call has no drawn group or accepted reviewers "
            "yet, and the role has no members. Run the draw first, or choose a role with members.",
        )
        closes_at = (
            parse_when(closes, tz=tz, now=now)
            if closes and closes.strip()
            else now + DEFAULT_CLOSE_AFTER
        )
        offsets = plan_reminders(reminders, closes_at=closes_at, now=now)
        made = await self.repo.create(
            guild_id=guild_id,
            title=clean_title,
            plan=clean_plan,
            call_id=call_id,
            role_id=role_id,
            channel_id=channel_id,
            closes_at=closes_at.timestamp(),
            reminders=[int(o.total_seconds()) for o in offsets],
            created_by=author_id,
            created_at=now.timestamp(),
            audience=audience,
        )
        # Recorded once the thread exists (attach_thread): a failed opening leaves no trace.
        self.audit.hold(
            f"feedback:{made.id}",
            self.audit.entry(
                guild_id,
                author_id,
                "feedback.opened",
                f"feedback:{made.number}",
                title=clean_title,
                call_id=call_id,
                role_id=role_id,
                audience=len(audience),
                closes_at=made.closes_at,
                reminders=list(made.reminders),
            ),
        )
        await REMINDERS.schedule(self.jobs, made.id, closes_at, made.reminders, guild_id=guild_id)
        return OpenedRound(made, audience, offsets)

    async def schedule_deadline_refresh(self, found: FeedbackRound) -> None:
        """Arm the job that refreshes the round's first message at its deadline (once the
        message exists), so it stops asking for feedback on time, also across restarts."""
        if self.jobs is not None and found.is_open:
            await self.jobs.schedule(
                deadline_job_key(found.id),
                DEADLINE_JOB,
                from_unix(found.closes_at),
                {"round_id": found.id},
                guild_id=found.guild_id,
            )

    async def attach_thread(
        self, round_id: int, thread_id: int, message_channel_id: int, message_id: int
    ) -> None:
        await self.repo.set_thread(
            round_id,
            thread_id,
            message_channel_id,
            message_id,
            audit=self.audit.held(f"feedback:{round_id}"),
        )
        self.audit.drop(f"feedback:{round_id}")
        if self._threads is not None:
            self._threads.add(thread_id)

    async def discard(self, round_id: int) -> None:
        """Undo a round whose thread could not be made (nobody could have answered): row,
        audience, jobs and the (held) audit row are gone, as if it was never opened."""
        await REMINDERS.discard(self.jobs, round_id)  # the deadline job too (same prefix)
        self.audit.drop(f"feedback:{round_id}")
        await self.repo.delete(round_id)

    async def get(self, guild_id: int, number: int) -> FeedbackRound:
        found = await self.repo.by_number(guild_id, number)
        if found is None:
            raise NotFound(
                f"There is no feedback round #{number} in this server. Start typing the round's "
                "number or title and pick it from the list."
            )
        return found

    async def get_by_id(self, round_id: int) -> FeedbackRound | None:
        return await self.repo.get(round_id)

    async def search(self, guild_id: int, text: str) -> list[FeedbackRound]:
        return await self.repo.search(guild_id, text.strip().lstrip("#"))

    async def open_rounds(self) -> list[FeedbackRound]:
        """Every open round (their first messages are refreshed once at start-up)."""
        return await self.repo.open_rounds()

    async def counter(self, round_id: int) -> tuple[int, int]:
        """(responded, audience size) for the live counter."""
        return await self.repo.counts(round_id)

    async def audience(self, round_id: int) -> list[int]:
        return await self.repo.audience(round_id)

    async def status(self, guild_id: int, number: int) -> RoundStatus:
        found = await self.get(guild_id, number)
        audience = await self.repo.audience(found.id)
        by_user = {r.user_id: r for r in await self.repo.responses(found.id)}
        responded = [by_user[u] for u in audience if u in by_user]
        waiting = [u for u in audience if u not in by_user]
        return RoundStatus(found, audience, responded, waiting)

    async def summary(
        self,
        guild_id: int,
        number: int,
        name_of: Callable[[int], str | None] = lambda _: None,
        tz: str = "UTC",
    ) -> tuple[FeedbackRound, str]:
        """All feedback as Markdown, grouped by question and member; times in ``tz`` (the
        server's time zone), with the zone named."""
        state = await self.status(guild_id, number)
        messages = await self.repo.messages(state.round.id)
        users = set(state.audience) | {m.user_id for m in messages}
        names = {u: n for u in users if (n := name_of(u))}
        text = build_summary(
            number=state.round.number,
            title=state.round.title,
            version=state.round.version,
            closes_at=local_time_text(state.round.closes_at, tz),
            audience=state.audience,
            responses=state.responded,
            messages=messages,
            names=names,
        )
        return state.round, text

    async def revise(
        self, guild_id: int, number: int, author_id: int, plan: str, changes: str | None = None
    ) -> Revision:
        """Post a new version of the plan; everyone who responded is to be told."""
        found = await self.get(guild_id, number)
        clean_plan = validate_plan(plan)
        items = parse_changes(changes)
        revised = await self.repo.revise(
            found.id,
            clean_plan,
            items,
            author_id,
            self.clock.now().timestamp(),
            audit=lambda revised: self.audit.entry(
                guild_id,
                author_id,
                "feedback.revised",
                f"feedback:{found.number}",
                version=revised.version,
                changes=len(items),
                told=len(revised.respondents),
            ),
        )
        updated = await self.repo.get(found.id)
        assert updated is not None
        return Revision(updated, revised.version, items, revised.respondents)

    async def close(self, guild_id: int, number: int, author_id: int) -> FeedbackRound:
        """Close early: no more reminders. Later responses are still kept, marked late."""
        found = await self.get(guild_id, number)
        closed = await self.repo.close(
            found.id,
            self.clock.now().timestamp(),
            "organiser",
            audit=self.audit.entry(guild_id, author_id, "feedback.closed", f"feedback:{number}"),
        )
        if closed is None:
            raise Conflict(f"Feedback round #{number} is already closed.")
        await REMINDERS.cancel(self.jobs, found.id)
        return closed

    # -- members -------------------------------------------------------------------------------

    async def is_feedback_thread(self, thread_id: int) -> bool:
        """Cheap filter for messages (a cached set of round thread ids)."""
        if self._threads is None:
            self._threads = await self.repo.thread_ids()
        return thread_id in self._threads

    async def in_audience(self, round_id: int, user_id: int) -> bool:
        return await self.repo.in_audience(round_id, user_id)

    async def previous_answers(self, round_id: int, user_id: int) -> FeedbackResponse | None:
        return await self.repo.response(round_id, user_id)

    async def record_form(
        self,
        round_id: int,
        user_id: int,
        works_well: str | None,
        would_change: str | None,
        missing: str | None,
    ) -> tuple[FeedbackRound, Recorded]:
        """Save the form's answers (at least one); counts the member once."""
        found = await self.repo.get(round_id)
        if found is None:
            raise NotFound("This feedback round no longer exists.")
        answers = clean_answers(works_well, would_change, missing)
        recorded = await self.repo.record_form(
            round_id,
            user_id,
            answers,
            self.clock.now().timestamp(),
            audit=self._response_audit(found, user_id, "button"),
        )
        if recorded is None:
            raise NotAllowed(
                "This feedback round is for the co-production group and its reviewers. If you'd "
                "like to take part, please ask an organiser."
            )
        return found, recorded

    async def record_message(
        self, thread_id: int, user_id: int, message_id: int, content: str
    ) -> tuple[FeedbackRound, Recorded] | None:
        """A message in a round's thread: kept and counted once if the author is in the audience."""
        if not await self.is_feedback_thread(thread_id):
            return None
        found = await self.repo.by_thread(thread_id)
        if found is None:
            return None
        text = (
            clean_text(content, name="message", max_length=MAX_MESSAGE, required=False)
            or "(no text: an attachment or sticker)"
        )
        recorded = await self.repo.record_message(
            found.id,
            user_id,
            message_id,
            text,
            self.clock.now().timestamp(),
            audit=self._response_audit(found, user_id, "message"),
        )
        if recorded is None:
            return None
        return found, recorded

    async def message_edited(self, thread_id: int, message_id: int, content: str) -> bool:
        """A member edited a message in a round's thread: the kept text becomes the latest."""
        if not await self.is_feedback_thread(thread_id):
            return False
        found = await self.repo.by_thread(thread_id)
        if found is None:
            return False
        text = (
            clean_text(content, name="message", max_length=MAX_MESSAGE, required=False)
            or "(no text: an attachment or sticker)"
        )
        return await self.repo.edit_message(found.id, message_id, text)

    async def messages_deleted(
        self, thread_id: int, message_ids: Sequence[int]
    ) -> FeedbackRound | None:
        """Members deleted messages in a round's thread: they are no longer kept, shown or
        exported. Returns the round if anything was removed (its counter may change)."""
        if not await self.is_feedback_thread(thread_id):
            return None
        found = await self.repo.by_thread(thread_id)
        if found is None:
            return None
        removed = await self.repo.forget_messages(found.id, message_ids)
        return found if removed else None

    def _response_audit(
        self, found: FeedbackRound, user_id: int, via: str
    ) -> Callable[[Recorded], AuditEntry | None]:
        """The audit row of a member's first response (later ones are not recorded)."""

        def audit(recorded: Recorded) -> AuditEntry | None:
            if not recorded.new:
                return None
            return self.audit.entry(
                found.guild_id,
                user_id,
                "feedback.responded",
                f"feedback:{found.number}",
                via=via,
                late=recorded.late,
            )

        return audit

    # -- reminders -----------------------------------------------------------------------------

    async def run_reminder(
        self, round_id: int, offset: int, notifier: FeedbackNotifier
    ) -> ReminderOutcome:
        """Nudge every audience member who has not responded and not had this reminder: a DM,
        or (DMs closed) one mention in the thread.

        Each recipient goes through the delivery state machine of bot/domain/delivery.py, so a
        re-run after a crash, a restart or a Discord error never sends twice and loses nobody.
        """
        outcome = ReminderOutcome()
        found = await self.repo.get(round_id)
        if found is None or not found.is_open or self.clock.now().timestamp() >= found.closes_at:
            return outcome  # gone, closed, or past its deadline (the bot was down): too late
        current: FeedbackRound = found
        waiting = await self.repo.not_responded(round_id)
        run = DeliveryRun(
            self.repo.deliveries_log, self.clock, round_id, offset, REMINDERS.key(round_id, offset)
        )
        outcome.unknown = await run.start([(u, DM) for u in waiting])

        async def dm(user_id: int, nonce: str) -> bool:
            return await notifier.nudge_dm(current, user_id, nonce=nonce)

        async def mention(user_ids: list[int], nonce: str) -> bool:
            return await notifier.nudge_in_thread(current, user_ids, nonce=nonce)

        dms = await run.each(waiting, dm, reroute=True)
        thread = await run.group(waiting, mention)
        outcome.dm, outcome.thread = dms.sent, thread.sent
        outcome.failed = dms.failed + thread.failed
        if dms.sent or thread.sent or thread.failed:
            log.info(
                "feedback round %s reminder %ss: %d DM(s), %d mention(s), %d undelivered",
                round_id,
                offset,
                len(outcome.dm),
                len(outcome.thread),
                len(outcome.failed),
            )
        return outcome

    async def handle_reminder_job(self, job: Job, notifier: FeedbackNotifier) -> ReminderOutcome:
        return await self.run_reminder(*REMINDERS.payload(job), notifier)
