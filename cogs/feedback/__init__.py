"""Feedback rounds: /feedback commands, the thread, the form."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cogs.feedback.cog import FeedbackCog

if TYPE_CHECKING:
    from bot.client import CoproBot


async def setup(bot: CoproBot) -> None:
    await bot.add_cog(FeedbackCog(bot))
