"""Meeting reminders sent through Discord."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.domain.meetings.models import Meeting, meeting_calendar
from bot.domain.meetings.texts import REMINDER_DM, REMINDER_POST
from bot.notify import delivered, send_dm, send_mentioning
from bot.render import when
from cogs._calendar import calendar_file, local_time_line
from cogs.meetings.views import post_link, where_text

if TYPE_CHECKING:
    from bot.client import CoproBot


class DiscordMeetingReminders:
    """The MeetingNotifier for real Discord. Every send carries the delivery's nonce; a 429 or
    5xx (after discord.py's own retries) becomes RetryLater, so the delivery goes back to
    pending and the job is retried."""

    def __init__(self, bot: CoproBot) -> None:
        self.bot = bot

    async def post_reminder(self, meeting: Meeting, audience: list[int], *, nonce: str) -> bool:
        channel = self.bot.get_partial_messageable(meeting.channel_id, guild_id=meeting.guild_id)

        async def render(mentions: str) -> str:
            return await self.bot.services.wording.render(
                meeting.guild_id,
                REMINDER_POST,
                mentions=mentions,
                title=meeting.title,
                starts=when(meeting.starts_at),
                where=where_text(meeting),
            )

        return await delivered(
            send_mentioning(channel, render, audience, nonce=nonce),
            f"a reminder post for meeting {meeting.id}",
        )

    async def dm_reminder(self, meeting: Meeting, user_id: int, *, nonce: str) -> bool:
        text = await self.bot.services.wording.render(
            meeting.guild_id,
            REMINDER_DM,
            title=meeting.title,
            starts=when(meeting.starts_at),
            where=where_text(meeting),
            link=post_link(meeting),
        )
        text += await local_time_line(self.bot, meeting.guild_id, user_id, meeting.starts_at)
        ics = calendar_file(meeting_calendar(meeting), self.bot.clock.now())
        return await delivered(
            send_dm(self.bot, user_id, text, nonce=nonce, file=ics),
            f"a meeting reminder DM to {user_id}",
        )
