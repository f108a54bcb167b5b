"""Attendance: voice time, the I'm here button, /attendance show and edit."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cogs.attendance.cog import AttendanceCog

if TYPE_CHECKING:
    from bot.client import CoproBot


async def setup(bot: CoproBot) -> None:
    await bot.add_cog(AttendanceCog(bot))
