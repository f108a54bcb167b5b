"""Nudges sent through Discord."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.domain.feedback.models import FeedbackRound
from bot.domain.feedback.texts import REMINDER_DM, REMINDER_THREAD
from bot.notify import delivered, send_dm, send_mentioning
from bot.notify import mention_groups as mention_groups  # its old home; tests import it here
from bot.render import when
from cogs.feedback.views import thread_link

if TYPE_CHECKING:
    from cogs.feedback.cog import FeedbackCog

    pass


class DiscordNudges:
    """The FeedbackNotifier for real Discord: DMs, falling back to one mention in the thread.
    Every send carries the delivery's nonce; a 429 or 5xx (after discord.py's own retries)
    becomes RetryLater, so the delivery goes back to pending and the job is retried."""

    def __init__(self, cog: FeedbackCog) -> None:
        self.cog = cog
        self.bot = cog.bot

    async def nudge_dm(self, round: FeedbackRound, user_id: int, *, nonce: str) -> bool:
        text = await self.bot.services.wording.render(
            round.guild_id,
            REMINDER_DM,
            title=round.title,
            deadline=when(round.closes_at),
            link=thread_link(round),
        )
        return await delivered(
            send_dm(self.bot, user_id, text, nonce=nonce), f"a feedback reminder DM to {user_id}"
        )

    async def nudge_in_thread(
        self, round: FeedbackRound, user_ids: list[int], *, nonce: str
    ) -> bool:
        if round.thread_id is None:
            return False
        thread = self.bot.get_partial_messageable(round.thread_id, guild_id=round.guild_id)

        async def render(mentions: str) -> str:
            return await self.bot.services.wording.render(
                round.guild_id,
                REMINDER_THREAD,
                mentions=mentions,
                title=round.title,
                deadline=when(round.closes_at),
            )

        return await delivered(
            send_mentioning(thread, render, user_ids, nonce=nonce),
            f"a feedback reminder in thread {round.thread_id}",
        )
