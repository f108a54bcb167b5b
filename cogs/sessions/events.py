"""The Discord scheduled event that mirrors each session (made, moved, cancelled with it)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import discord

from bot.clock import from_unix
from bot.domain.sessions.models import Session
from bot.guild import create_event
from bot.render import clip

if TYPE_CHECKING:
    from bot.client import CoproBot
    from bot.domain.sessions.service import SessionService

    pass


log = logging.getLogger(__name__)


class ServerEvents:
    """The Discord scheduled event that mirrors each session (part of the Sessions cog)."""

    bot: CoproBot
    sessions: SessionService

    async def _create_event(
        self,
        guild: discord.Guild,
        session: Session,
        voice: discord.VoiceChannel | discord.StageChannel | None,
        link: str,
    ) -> str:
        """Make the matching server event; a note for the organiser if it could not be made."""
        return await create_event(
            guild,
            what="session",
            item_id=session.id,
            title=session.title,
            starts_at=session.starts_at,
            ends_at=session.ends_at,
            description=f"Session #{session.number}. Book a place on the post: {link}",
            voice=voice,
            location=link,
            works_without="The session, bookings and reminders work without it.",
            save=lambda event_id: self.sessions.attach_event(session.id, event_id),
        )

    async def _event(self, session: Session) -> discord.ScheduledEvent | None:
        guild = self.bot.get_guild(session.guild_id)
        if guild is None or session.event_id is None:
            return None
        found = guild.get_scheduled_event(session.event_id)
        if found is not None:
            return found
        try:
            return await guild.fetch_scheduled_event(session.event_id)
        except discord.HTTPException:
            return None

    async def _update_event(self, session: Session) -> str:
        event = await self._event(session)
        if event is None:
            return ""
        try:
            await event.edit(
                name=clip(session.title, 100),
                start_time=from_unix(session.starts_at),
                end_time=from_unix(session.ends_at),
            )
        except discord.HTTPException as exc:
            log.warning("could not update the event of session %s: %s", session.id, exc)
            return "\nI couldn't update the server event; please check it (Manage Events)."
        return ""

    async def _cancel_event(self, session: Session) -> str:
        event = await self._event(session)
        if event is None:
            return ""
        try:
            await event.cancel()
        except discord.HTTPException:
            try:
                await event.delete()
            except discord.HTTPException as exc:
                log.warning("could not cancel the event of session %s: %s", session.id, exc)
                return "\nI couldn't cancel the server event; please remove it by hand."
        return ""
