"""The involvement ledger: /involvement commands and the finance buttons."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cogs.involvement.cog import InvolvementCog

if TYPE_CHECKING:
    from bot.client import CoproBot


async def setup(bot: CoproBot) -> None:
    await bot.add_cog(InvolvementCog(bot))
