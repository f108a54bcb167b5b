"""Session messages sent through Discord."""

from __future__ import annotations

import io
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import discord

from bot.checks import member_is_organiser
from bot.domain.values import CalendarEntry
from bot.domain.wording.templates import Template
from bot.notify import delivered, mentions_for, send_dm, transient
from bot.render import MESSAGE_LIMIT, clip, fit_message, plain_text
from bot.scheduling import RetryLater
from cogs._calendar import calendar_file, local_time_line
from cogs.sessions.render import DIGEST_TEXT, digest_layout
from cogs.sessions.views import feedback_view

if TYPE_CHECKING:
    from cogs.sessions.cog import Sessions

    pass

log = logging.getLogger(__name__)


class DiscordMessenger:
    """DMs, channel posts and post refreshes for the session service's jobs. Every send carries
    the delivery's nonce; a 429 or 5xx (after discord.py's own retries) becomes RetryLater, so the
    delivery goes back to pending and the job is retried. Closed DMs and other refusals return
    False (the member is mentioned in the channel instead)."""

    def __init__(self, cog: Sessions) -> None:
        self.cog = cog
        self.bot = cog.bot

    async def render(self, guild_id: int, tpl: Template, **values: object) -> str:
        return await self.bot.services.wording.render(guild_id, tpl, **values)

    async def _feedback_view(self, session_id: int | None) -> dict[str, Any]:
        if session_id is None:
            return {}
        session = await self.cog.sessions.get_by_id(session_id)
        if session is None:
            return {}
        return {
            "view": await feedback_view(self.bot.services.wording, session.guild_id, session_id)
        }

    async def is_organiser(self, guild_id: int, user_id: int) -> bool:
        guild = self.bot.get_guild(guild_id)
        if guild is None:
            return False
        member = guild.get_member(user_id)
        if member is None:
            try:
                member = await guild.fetch_member(user_id)
            except discord.NotFound:
                return False  # they left the server
            except discord.HTTPException as exc:
                if transient(exc):
                    raise RetryLater(f"Discord said {exc.status} to a member lookup") from exc
                return False
        return await member_is_organiser(self.bot, member)

    async def dm(
        self,
        user_id: int,
        text: str,
        *,
        feedback_session: int | None = None,
        nonce: str | None = None,
        attach_if_long: tuple[str, str] | None = None,
        calendar: CalendarEntry | None = None,
        guild_id: int | None = None,
        at: float | None = None,
        layout: bool = False,
    ) -> bool:
        extra = await self._feedback_view(feedback_session)
        if at is not None and guild_id is not None:
            text += await local_time_line(self.bot, guild_id, user_id, at)
        files: list[discord.File] = []
        if calendar is not None:
            files.append(calendar_file(calendar, self.bot.clock.now()))
        if nonce is not None:
            extra["nonce"] = nonce
        attached: str | None = None
        if attach_if_long is not None:
            name, note = attach_if_long
            whole = text
            # A layout post holds 4,000 characters of text, a plain message 2,000.
            text, cut = fit_message(whole, note, limit=DIGEST_TEXT if layout else MESSAGE_LIMIT)
            if cut:  # never cut short silently: the whole text comes as a file
                data = plain_text(whole).encode("utf-8")
                files.append(discord.File(io.BytesIO(data), filename=name))
                attached = name
        if files:
            extra["files"] = files
        if layout:
            send = send_dm(self.bot, user_id, view=digest_layout(text, attached), **extra)
        else:
            send = send_dm(self.bot, user_id, clip(text, MESSAGE_LIMIT), **extra)
        return await delivered(send, f"a DM to {user_id}")

    async def post(
        self,
        channel_id: int,
        text: str,
        *,
        mention_ids: Sequence[int],
        feedback_session: int | None = None,
        nonce: str | None = None,
    ) -> bool:
        extra = await self._feedback_view(feedback_session)
        if nonce is not None:
            extra["nonce"] = nonce
        channel = self.bot.get_partial_messageable(channel_id)
        return await delivered(
            channel.send(clip(text, 2000), allowed_mentions=mentions_for(mention_ids), **extra),
            f"a post in channel {channel_id}",
        )

    async def refresh(self, session_id: int) -> None:
        """Edit the post now, inside the job (a queued edit could be lost at shutdown)."""
        try:
            await self.cog.render_post(session_id)
        except (discord.Forbidden, discord.NotFound) as exc:
            log.warning("could not refresh the post of session %s: %s", session_id, exc)
        except discord.HTTPException as exc:
            if transient(exc):
                raise RetryLater(f"Discord said {exc.status} to a post edit") from exc
            log.warning("could not refresh the post of session %s: %s", session_id, exc)
