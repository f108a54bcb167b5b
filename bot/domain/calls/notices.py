"""What a member was last told about their sign-up, so DMs never go stale."""

from __future__ import annotations

from bot.domain.calls.models import (
    SignupNotice,
)
from bot.domain.calls.rules import (
    signup_notice,
)
from bot.domain.calls.service import CallService


class SignupConfirmations:
    """Decides what a queued sign-up DM says at the moment it is sent, from the roster then.

    Sign-up DMs are paced (bot.notify.DmQueue), so under a burst one is sent a while after the
    reaction that asked for it; by then the member may have withdrawn or switched. Each member
    is told only the change since what they were last told: a join withdrawn before its DM went
    out says nothing, a switch after a confirmed join says "moved", a withdrawal after a
    confirmed join is acknowledged. What each member was told is kept in memory only (these DMs
    are a courtesy; after a restart a withdrawal is simply not acknowledged), bounded in size.
    """

    def __init__(self, calls: CallService, limit: int = 50_000) -> None:
        self.calls = calls
        self.limit = limit
        self._told: dict[tuple[int, int], int] = {}  # (call id, user id) -> category id

    def told(self, call_id: int, user_id: int) -> int | None:
        return self._told.get((call_id, user_id))

    async def due(self, call_id: int, user_id: int) -> SignupNotice | None:
        """The notice to send now, or ``None``; remembers it as told."""
        call = await self.calls.get_by_id(call_id)
        if call is None:
            return None
        told = self._told.get((call_id, user_id))
        current = await self.calls.current_category(call_id, user_id)
        kind = signup_notice(told, current)
        if kind is None:
            return None
        self._remember(call_id, user_id, current)
        category = None
        if current is not None:
            category = next(
                (c for c in await self.calls.categories(call_id) if c.id == current), None
            )
            if category is None:
                return None
        return SignupNotice(kind, call, category)

    def _remember(self, call_id: int, user_id: int, category_id: int | None) -> None:
        key = (call_id, user_id)
        self._told.pop(key, None)
        if category_id is None:
            return
        self._told[key] = category_id
        while len(self._told) > self.limit:
            self._told.pop(next(iter(self._told)))
