"""/report impact."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cogs.report.cog import ReportCog

if TYPE_CHECKING:
    from bot.client import CoproBot


async def setup(bot: CoproBot) -> None:
    await bot.add_cog(ReportCog(bot))
