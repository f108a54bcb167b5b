"""A session's timeline: reminders, the organiser digest, notices and the evaluation, as
scheduled jobs whose messages go through the one delivery engine (each sent once)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from bot.clock import from_unix
from bot.domain.attendance.models import EventKind
from bot.domain.attendance.service import AttendanceService
from bot.domain.delivery.engine import DeliveryRun
from bot.domain.delivery.models import DM
from bot.domain.jobs import Job
from bot.domain.sessions.base import SessionParts
from bot.domain.sessions.models import (
    DeliveryReport,
    Messenger,
    Session,
)
from bot.domain.sessions.rules import (
    digest_time,
    reminder_runs,
)
from bot.domain.sessions.survey import access_groups, survey_counts_text
from bot.domain.sessions.texts import (
    BOOKED_DM,
    EVALUATION,
    EVALUATION_CHANNEL,
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
    WAITING_ENDED,
    WAITING_ENDED_CHANNEL,
)
from bot.domain.values import CalendarEntry, Link, Mentions, Moment, session_uid
from bot.domain.wording.templates import Template

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


def job_key(session_id: int, *parts: object) -> str:
    return ":".join(["session", str(session_id), *(str(p) for p in parts)])


def job_prefix(session_id: int) -> str:
    return f"session:{session_id}:"


def session_calendar(session: Session) -> CalendarEntry:
    """The session as a calendar event: one UID for its whole life, its revision as SEQUENCE
    (a new time or a cancellation is a new revision), cancelled once it is."""
    return CalendarEntry(
        uid=session_uid(session.guild_id, session.id),
        title=session.title,
        starts_at=session.starts_at,
        ends_at=session.ends_at,
        sequence=session.ics_sequence,
        cancelled=session.is_cancelled,
        link=Link(session.guild_id, session.channel_id, session.message_id),
        filename=f"session-{session.number}.ics",
    )


class SessionJobs(SessionParts):
    """A session's timeline: reminders, digest, notices, evaluation, each delivered once."""

    async def digest_text(self, session_id: int) -> str:
        """The organiser's digest: bookings, waiting list and the survey in numbers (no names,
        no answer text: a pointer to `/session survey`, which checks who asks). It may be longer
        than one message: see :meth:`_digest`."""
        details = await self.details(session_id)
        s = details.session
        head = (
            f"**Session #{s.number}: {s.title}** starts "
            f"{self.wording.formatter(Moment(s.starts_at))}.\n"
            f"{details.capacity_line}."
        )
        summary = survey_counts_text(
            await self.survey(session_id),
            pointer=f"read them with `/session survey session:{s.number}` in the server",
        )
        access = await self.access_text(session_id)
        return head + ("\n\n" + access if access else "") + "\n\n" + summary

    async def access_text(self, session_id: int) -> str:
        """Access needs grouped by need, with who asked (organisers only: the digest DM and
        ``/session attendees``; never in a channel). Empty when nobody has one."""
        groups = access_groups(
            await self.questions(session_id), await self.repo.answers(session_id)
        )
        if not groups:
            return ""
        lines = ["**Access needs** (only organisers see this):"]
        for need, who in groups:
            lines.append(f"- {need}: {self.wording.formatter(Mentions.of(who))}")
        return "\n".join(lines)

    async def _schedule_timeline(self, session: Session) -> None:
        """(Re)schedule reminders, digest, evaluation and post refreshes. Keys are per session
        and offset, so re-scheduling moves the same jobs instead of adding new ones."""
        if self.jobs is None:
            return
        now = self.clock.now().timestamp()
        payload: dict[str, Any] = {"session_id": session.id, "starts_at": session.starts_at}
        future = dict(reminder_runs(session.starts_at, session.reminders, now))
        for offset in session.reminders:
            key = job_key(session.id, "reminder", offset)
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
                job_key(session.id, "digest"),
                JOB_DIGEST,
                from_unix(digest_at),
                payload,
                guild_id=session.guild_id,
            )
        else:
            await self.jobs.cancel(job_key(session.id, "digest"))
        await self.jobs.schedule(
            job_key(session.id, "evaluation"),
            JOB_EVALUATION,
            from_unix(session.ends_at),
            payload,
            guild_id=session.guild_id,
        )
        await self.jobs.schedule(
            job_key(session.id, "ended"),
            JOB_ENDED,
            from_unix(session.ends_at),
            payload,
            guild_id=session.guild_id,
        )
        await self.jobs.schedule(
            job_key(session.id, "refresh", "closes"),
            JOB_REFRESH,
            from_unix(session.closes_at),
            payload,
            guild_id=session.guild_id,
        )
        if session.priority_until is not None and session.priority_until > now:
            await self.jobs.schedule(
                job_key(session.id, "refresh", "priority"),
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
                at=session.starts_at,
            )
        if job.kind == JOB_DIGEST:
            return await self._digest(session, messenger)
        if job.kind == JOB_EVALUATION:
            # To those who came when attendance is known; otherwise to everyone with a place.
            came = await AttendanceService(self.db, self.clock, self.audit).attendees(
                EventKind.SESSION, session.id
            )
            confirmed = (
                came if came is not None else await self.repo.user_ids(session.id, ["confirmed"])
            )
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
            self.repo.deliveries_log, self.clock, session.id, kind, job_key(session.id, kind)
        )

    async def _digest(self, session: Session, messenger: Messenger) -> DeliveryReport:
        """Organisers only: a DM to the session's organiser, if they are still an organiser of
        the server when it is sent (the same rule as the commands). Never posted in a channel."""
        if not await messenger.is_organiser(session.guild_id, session.created_by):
            log.info(
                "session %s: its creator is no longer an organiser of the server; digest not sent",
                session.id,
            )
            return DeliveryReport()
        run = self._run(session, f"digest:{int(session.starts_at)}")
        report = DeliveryReport(unknown=await run.start([(session.created_by, DM)]))
        full = await self.digest_text(session.id)
        # Never cut short silently: if it doesn't fit in one message, the whole text is attached.
        long = (f"session-{session.number}-digest.txt", DIGEST_NOTE)

        async def dm(user_id: int, nonce: str) -> bool:
            return await messenger.dm(user_id, full, nonce=nonce, attach_if_long=long, layout=True)

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
                calendar=session_calendar(session),
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
                calendar=session_calendar(session),
                at=session.starts_at,
            )
        if reason == "booked":
            # The booking confirmation by DM, with the calendar file. The member saw the
            # confirmation on screen already, so closed DMs are not posted in the channel.
            if self.clock.now().timestamp() >= session.starts_at:
                return None  # the bot was down past the start: a confirmation would be stale
            still = set(await self.repo.user_ids(session.id, ["confirmed"]))
            people = [int(u) for u in payload.get("user_ids", []) if int(u) in still]
            return await self._deliver(
                session,
                f"booked:{payload.get('token')}",
                people,
                BOOKED_DM,
                None,
                messenger,
                calendar=session_calendar(session),
                at=session.starts_at,
            )
        if reason == "moved":
            if payload.get("starts_at") != session.starts_at:
                return None  # moved again since; a newer notice tells the latest time
            people = await self.repo.user_ids(session.id, ["confirmed", "waiting"])
            return await self._deliver(
                session,
                f"moved:{int(session.starts_at)}",
                people,
                MOVED,
                MOVED_CHANNEL,
                messenger,
                calendar=session_calendar(session),
                at=session.starts_at,
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
                until=Moment(until, "F"),
            )
        log.warning("unknown session notice %s", reason)
        return None

    async def _deliver(
        self,
        session: Session,
        kind: str,
        recipients: Sequence[int],
        dm_template: Template,
        channel_template: Template | None,
        messenger: Messenger,
        *,
        feedback: bool = False,
        calendar: CalendarEntry | None = None,
        at: float | None = None,
        **extra: object,
    ) -> DeliveryReport:
        """DM each recipient once; those whose DMs are closed get one channel post mentioning
        them (the text names no survey answers), unless there is no ``channel_template``. Every
        recipient's row is claimed before the send and marked after it
        (bot/domain/delivery.py): a crash, a restart or a Discord error never sends twice and
        loses nobody. ``calendar`` is attached to each DM as a calendar file; ``at`` is the
        time the message is about (shown in the member's own time zone when they set one)."""
        people = list(dict.fromkeys(recipients))
        run = self._run(session, kind)
        report = DeliveryReport(unknown=await run.start([(u, DM) for u in people]))
        values: dict[str, object] = {
            "title": session.title,
            "when": Moment(session.starts_at),
            "link": Link(session.guild_id, session.channel_id, session.message_id),
            **extra,
        }
        feedback_session = session.id if feedback else None
        text = await messenger.render(session.guild_id, dm_template, **values)

        async def dm(user_id: int, nonce: str) -> bool:
            return await messenger.dm(
                user_id,
                text,
                feedback_session=feedback_session,
                nonce=nonce,
                calendar=calendar,
                guild_id=session.guild_id,
                at=at,
            )

        async def post(user_ids: list[int], nonce: str) -> bool:
            assert channel_template is not None
            note = await messenger.render(
                session.guild_id, channel_template, mentions=Mentions.of(user_ids), **values
            )
            return await messenger.post(
                session.channel_id,
                note,
                mention_ids=user_ids,
                feedback_session=feedback_session,
                nonce=nonce,
            )

        dms = await run.each(people, dm, reroute=channel_template is not None)
        posts = await run.group(people, post, size=MENTIONS_PER_POST)
        report.dm, report.channel = dms.sent, posts.sent
        report.undelivered = dms.failed + posts.failed
        acted = set(dms.sent + dms.rerouted + dms.failed + posts.sent + posts.failed)
        report.skipped = sum(1 for u in people if u not in acted)
        return report
