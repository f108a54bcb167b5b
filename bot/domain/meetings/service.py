"""The meeting service: create, cancel, remind."""

from __future__ import annotations

from collections.abc import Sequence

from bot.clock import Clock
from bot.domain.audiences import ReminderJobs, resolve_audience
from bot.domain.audit.service import AuditService
from bot.domain.delivery.engine import DeliveryRun
from bot.domain.delivery.models import CHANNEL, DM
from bot.domain.errors import Conflict, NotAllowed, NotFound
from bot.domain.jobs import Job
from bot.domain.meetings.models import (
    POST_RECIPIENT,
    CreatedMeeting,
    Meeting,
    MeetingNotifier,
    MeetingReminderOutcome,
)
from bot.domain.meetings.rules import (
    meeting_reminders,
    parse_meeting_duration,
    validate_location,
    validate_meeting_title,
)
from bot.scheduling import JobScheduler
from bot.timeparse import parse_when
from db import Database
from db.repositories.audiences import drawn_group
from db.repositories.calls import CallRepository
from db.repositories.meetings import MeetingRepository

REMINDERS = ReminderJobs(kind="meeting.remind", prefix="meeting", id_field="meeting_id")


REMIND_JOB = REMINDERS.kind


class MeetingService:
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
        self.repo = MeetingRepository(db)
        self.calls = CallRepository(db)
        self.audit = audit or AuditService(db, clock)

    async def create(
        self,
        *,
        guild_id: int,
        author_id: int,
        title: str,
        starts: str,
        channel_id: int,
        tz: str,
        duration: str | None = None,
        call_number: int | None = None,
        role_id: int | None = None,
        role_member_ids: Sequence[int] = (),
        where: str | None = None,
        voice_channel_id: int | None = None,
        reminders: str | None = None,
    ) -> CreatedMeeting:
        """Validate everything, then freeze the audience and schedule the reminders."""
        now = self.clock.now()
        clean_title = validate_meeting_title(title)
        location = validate_location(where)
        length = parse_meeting_duration(duration)
        call_id, audience = await resolve_audience(
            self.calls,
            guild_id=guild_id,
            call_number=call_number,
            role_id=role_id,
            role_member_ids=role_member_ids,
            people_of_call=drawn_group,
            choose="Please choose who the meeting is for: a `call` (its drawn group) and/or a "
            "`role`.",
            nobody="Nobody would be invited: the call has no drawn group yet and the role has no "
            "members. Run the draw first, or choose a role with members.",
        )
        starts_at = parse_when(starts, tz=tz, now=now)
        offsets = meeting_reminders(reminders, starts_at=starts_at, now=now)
        made = await self.repo.create(
            guild_id=guild_id,
            title=clean_title,
            starts_at=starts_at.timestamp(),
            duration_seconds=int(length.total_seconds()),
            call_id=call_id,
            role_id=role_id,
            location=location,
            voice_channel_id=voice_channel_id,
            channel_id=channel_id,
            reminders=[int(o.total_seconds()) for o in offsets],
            created_by=author_id,
            created_at=now.timestamp(),
            audience=audience,
        )
        # Recorded once the post exists (attach_post): a meeting whose post fails leaves no trace.
        self.audit.hold(
            f"meeting:{made.id}",
            self.audit.entry(
                guild_id,
                author_id,
                "meeting.created",
                f"meeting:{made.number}",
                title=clean_title,
                starts_at=made.starts_at,
                call_id=call_id,
                role_id=role_id,
                audience=len(audience),
                reminders=list(made.reminders),
            ),
        )
        await REMINDERS.schedule(self.jobs, made.id, starts_at, made.reminders, guild_id=guild_id)
        return CreatedMeeting(made, audience, offsets)

    async def attach_post(self, meeting_id: int, channel_id: int, message_id: int) -> None:
        """The post exists: remember it, and record the creation with it."""
        await self.repo.set_message(
            meeting_id,
            channel_id,
            message_id,
            audit=self.audit.held(f"meeting:{meeting_id}"),
        )
        self.audit.drop(f"meeting:{meeting_id}")

    async def set_event(self, meeting_id: int, event_id: int | None) -> None:
        await self.repo.set_event(meeting_id, event_id)

    async def discard(self, meeting_id: int) -> None:
        """Undo a meeting whose post could not be made: row, audience, jobs and the (held)
        audit row are gone, as if it was never created."""
        await REMINDERS.discard(self.jobs, meeting_id)
        self.audit.drop(f"meeting:{meeting_id}")
        await self.repo.delete(meeting_id)

    async def get(self, guild_id: int, number: int) -> Meeting:
        found = await self.repo.by_number(guild_id, number)
        if found is None:
            raise NotFound(
                f"There is no meeting #{number} in this server. `/meeting list` shows the "
                "upcoming ones."
            )
        return found

    async def get_by_id(self, meeting_id: int) -> Meeting | None:
        return await self.repo.get(meeting_id)

    async def audience(self, meeting_id: int) -> list[int]:
        return await self.repo.audience(meeting_id)

    async def upcoming(self, guild_id: int) -> list[Meeting]:
        return await self.repo.upcoming(guild_id, self.clock.now().timestamp())

    async def upcoming_for(self, guild_id: int, user_id: int) -> list[Meeting]:
        """The member's own upcoming meetings (those they are invited to)."""
        return await self.repo.upcoming_for(guild_id, user_id, self.clock.now().timestamp())

    async def search(self, guild_id: int, text: str) -> list[Meeting]:
        return await self.repo.search(guild_id, text.strip().lstrip("#"))

    async def cancel(self, guild_id: int, number: int, author_id: int) -> tuple[Meeting, list[int]]:
        """Cancel: no more reminders. Returns the meeting and who is to be told."""
        found = await self.get(guild_id, number)
        cancelled = await self.repo.cancel(
            found.id,
            self.clock.now().timestamp(),
            audit=self.audit.entry(guild_id, author_id, "meeting.cancelled", f"meeting:{number}"),
        )
        if cancelled is None:
            raise Conflict(f"Meeting #{number} is already cancelled.")
        await REMINDERS.cancel(self.jobs, found.id)
        return cancelled, await self.repo.audience(found.id)

    async def toggle_dms(self, meeting_id: int, user_id: int) -> bool:
        """A member of the meeting turns meeting DMs on or off (for this server); the new state."""
        found = await self.repo.get(meeting_id)
        if found is None:
            raise NotFound("This meeting no longer exists.")
        if not await self.repo.in_audience(meeting_id, user_id):
            raise NotAllowed(
                "This meeting is for its group. If you think you should be in it, please ask an "
                "organiser."
            )
        on = await self.repo.toggle_dms(
            found.guild_id,
            user_id,
            self.clock.now().timestamp(),
            audit=lambda on: self.audit.entry(found.guild_id, user_id, "meeting.dms", "", on=on),
        )
        return on

    async def wants_dms(self, guild_id: int, user_id: int) -> bool:
        return await self.repo.wants_dms(guild_id, user_id)

    async def run_reminder(
        self, meeting_id: int, offset: int, notifier: MeetingNotifier
    ) -> MeetingReminderOutcome:
        """One channel post mentioning the audience, then DMs to those who opted in.

        The post (recipient 0) and each DM go through the delivery state machine of
        bot/domain/delivery.py, so a re-run after a crash, a restart or a Discord error never
        repeats one and loses none.
        """
        outcome = MeetingReminderOutcome()
        found = await self.repo.get(meeting_id)
        if (
            found is None
            or not found.is_scheduled
            or self.clock.now().timestamp() >= found.starts_at
        ):
            return outcome  # gone, cancelled, or it has started already (the bot was down)
        meeting: Meeting = found
        audience = await self.repo.audience(meeting_id)
        opted_in = await self.repo.dm_recipients(meeting_id)
        run = DeliveryRun(
            self.repo.deliveries_log,
            self.clock,
            meeting_id,
            offset,
            REMINDERS.key(meeting_id, offset),
        )
        outcome.unknown = await run.start([(POST_RECIPIENT, CHANNEL), *((u, DM) for u in opted_in)])

        async def post(_: list[int], nonce: str) -> bool:
            return await notifier.post_reminder(meeting, audience, nonce=nonce)

        async def dm(user_id: int, nonce: str) -> bool:
            return await notifier.dm_reminder(meeting, user_id, nonce=nonce)

        posted = await run.group([POST_RECIPIENT], post)
        outcome.posted = bool(posted.sent)
        # DMs closed: nothing more to do, the channel post already mentions everyone.
        outcome.dms = (await run.each(opted_in, dm, reroute=False)).sent
        return outcome

    async def handle_reminder_job(
        self, job: Job, notifier: MeetingNotifier
    ) -> MeetingReminderOutcome:
        return await self.run_reminder(*REMINDERS.payload(job), notifier)
