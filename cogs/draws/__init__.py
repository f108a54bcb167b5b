"""Draws: /draw commands, result posts, members' answers by button."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cogs.draws.cog import Draws

if TYPE_CHECKING:
    from bot.client import CoproBot


async def setup(bot: CoproBot) -> None:
    await bot.add_cog(Draws(bot))
