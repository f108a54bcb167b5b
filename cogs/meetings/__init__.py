"""Meetings: /meeting commands and reminders."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cogs.meetings.cog import MeetingsCog

if TYPE_CHECKING:
    from bot.client import CoproBot


async def setup(bot: CoproBot) -> None:
    await bot.add_cog(MeetingsCog(bot))
