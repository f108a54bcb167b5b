"""Sessions: /session commands, booking buttons and forms."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cogs.sessions.cog import Sessions

if TYPE_CHECKING:
    from bot.client import CoproBot


async def setup(bot: CoproBot) -> None:
    await bot.add_cog(Sessions(bot))
