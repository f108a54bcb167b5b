"""Volunteer calls: /call commands, sign-ups by reaction, start-up reconciliation."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cogs.calls.cog import Calls

if TYPE_CHECKING:
    from bot.client import CoproBot


async def setup(bot: CoproBot) -> None:
    await bot.add_cog(Calls(bot))
