"""The delivery state machine."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence

from bot.clock import Clock
from bot.domain.delivery.models import (
    CHANNEL,
    DM,
    FAILED,
    PENDING,
    RESEND_WINDOW,
    SENDING,
    SENT,
    UNKNOWN,
    DeliveryResult,
    nonce_for,
)
from bot.scheduling import RetryLater
from db.repositories.deliveries import DeliveryLog

log = logging.getLogger(__name__)


class NotDelivered(RetryLater):
    """Raised by a send when Discord answered with an error: the message was not created, so the
    delivery is simply tried again later (the job is retried)."""


SendOne = Callable[[int, str], Awaitable[bool]]  # (user_id, nonce) -> delivered?


SendGroup = Callable[[list[int], str], Awaitable[bool]]  # (user_ids, nonce) -> posted?


class DeliveryRun:
    """The deliveries of one job run: e.g. session 5's 24h reminder, or round 2's 48h nudge.

    ``key`` names the delivery everywhere (logs and nonces) and must be the same on every run
    of the same job, e.g. ``session:5:reminder:86400:1790000000``."""

    def __init__(
        self, store: DeliveryLog, clock: Clock, owner: int, part: int | str, key: str
    ) -> None:
        self.store = store
        self.clock = clock
        self.owner = owner
        self.part = part
        self.key = key
        self.unknown: list[int] = []

    def _now(self) -> float:
        return self.clock.now().timestamp()

    def nonce(self, via: str, user_ids: Sequence[int]) -> str:
        return nonce_for(f"{self.key}:{via}:{','.join(str(u) for u in user_ids)}")

    async def start(self, recipients: Sequence[tuple[int, str]]) -> list[int]:
        """Settle what an earlier run left: 'sending' (a crash) or 'pending' with a claim time (an
        interrupted attempt) is sent again if first claimed within :data:`RESEND_WINDOW`, else
        marked 'unknown'. Then add a 'pending' row per ``(user_id, via)`` that has none. Returns
        the recipients whose delivery is now 'unknown'."""
        now = self._now()
        cutoff = now - RESEND_WINDOW.total_seconds()
        self.unknown = []
        await self._expire(None, cutoff, (SENDING, PENDING))
        again = await self.store.move(
            self.owner, self.part, src=SENDING, dst=PENDING, now=now, claimed_since=cutoff
        )
        if again:
            log.info(
                "%s: re-sending %d delivery(ies) interrupted by a stop, with the same nonce",
                self.key,
                len(again),
            )
        await self.store.add(self.owner, self.part, recipients, PENDING, now)
        return list(self.unknown)

    async def each(self, users: Sequence[int], send: SendOne, *, reroute: bool) -> DeliveryResult:
        """Send to each of ``users`` whose row is pending by DM: claim, send, record.

        ``send`` returns False when the member's DMs are closed: the row then waits for a
        channel mention (``reroute``) or is marked failed."""
        result = DeliveryResult()
        for user in dict.fromkeys(users):
            fresh = await self._claim([user], DM)
            if fresh is None:
                result.skipped += 1
                continue
            delivered = await self._attempt([user], fresh, send(user, self.nonce(DM, [user])))
            if delivered:
                await self._settle([user], SENT)
                result.sent.append(user)
            elif reroute:
                await self.store.move(
                    self.owner,
                    self.part,
                    users=[user],
                    src=SENDING,
                    dst=PENDING,
                    via=CHANNEL,
                    now=self._now(),
                    claim="clear",
                )
                result.rerouted.append(user)
            else:
                await self._settle([user], FAILED)
                result.failed.append(user)
        return result

    async def group(
        self, users: Sequence[int], send: SendGroup, *, size: int | None = None
    ) -> DeliveryResult:
        """One channel message per group of up to ``size`` of ``users`` whose row is pending
        for the channel (in the order of ``users``), each group claimed in one statement."""
        result = DeliveryResult()
        waiting = {
            r.user_id
            for r in await self.store.rows(self.owner, self.part)
            if r.state == PENDING and r.via == CHANNEL
        }
        todo = [u for u in dict.fromkeys(users) if u in waiting]
        result.skipped = len(set(users)) - len(todo)
        step = size or max(1, len(todo))
        for start in range(0, len(todo), step):
            chunk = todo[start : start + step]
            claimed = await self.store.claim(
                self.owner,
                self.part,
                chunk,
                src=PENDING,
                dst=SENDING,
                via_is=CHANNEL,
                now=self._now(),
                fresh_since=self._cutoff(),
            )
            taken = {u for u, _ in claimed}
            await self._expire([u for u in chunk if u not in taken], self._cutoff())
            result.skipped += len(chunk) - len(taken)
            chunk = [u for u in chunk if u in taken]
            if not chunk:
                continue
            fresh = {u for u, first in claimed if first}
            posted = await self._attempt(chunk, fresh, send(chunk, self.nonce(CHANNEL, chunk)))
            await self._settle(chunk, SENT if posted else FAILED)
            (result.sent if posted else result.failed).extend(chunk)
            if not posted:
                log.warning(
                    "%s: could not post the channel message for %d member(s)", self.key, len(chunk)
                )
        return result

    async def _settle(self, users: list[int], state: str) -> None:
        await self.store.move(
            self.owner, self.part, users=users, src=SENDING, dst=state, now=self._now()
        )

    def _cutoff(self) -> float:
        """Claims older than this are past Discord's nonce memory: never sent again."""
        return self._now() - RESEND_WINDOW.total_seconds()

    async def _claim(self, users: list[int], via: str) -> set[int] | None:
        """Claim ``users``' pending rows going ``via``; the users whose claim is their first
        (None if nothing was claimed). A row whose earlier attempt may have reached Discord more
        than :data:`RESEND_WINDOW` ago is not claimed but becomes 'unknown'."""
        claimed = await self.store.claim(
            self.owner,
            self.part,
            users,
            src=PENDING,
            dst=SENDING,
            via_is=via,
            now=self._now(),
            fresh_since=self._cutoff(),
        )
        if not claimed:
            await self._expire(users, self._cutoff())
            return None
        return {u for u, first in claimed if first}

    async def _expire(
        self, users: list[int] | None, cutoff: float, states: Sequence[str] = (PENDING,)
    ) -> None:
        """Rows (of ``users``, or all) in ``states`` whose send may have reached Discord, first
        claimed before ``cutoff``: an interrupted attempt put them back 'pending' with their
        claim time, or (at :meth:`start`) a crash left them 'sending'. Marked 'unknown': never
        sent again."""
        if users is not None and not users:
            return
        now = self._now()
        gone: list[int] = []
        for src in states:
            gone += await self.store.move(
                self.owner,
                self.part,
                users=users,
                src=src,
                dst=UNKNOWN,
                now=now,
                claimed_before=cutoff,
            )
        if gone:
            self.unknown.extend(gone)
            log.warning(
                "%s: %d delivery(ies) may or may not have been sent by an attempt more than %s "
                "ago (a stop, a network error); not sending them again (users %s)",
                self.key,
                len(gone),
                RESEND_WINDOW,
                gone,
            )

    async def _put_back(self, forget: list[int], keep: list[int]) -> None:
        now = self._now()
        await self.store.move(
            self.owner, self.part, users=forget, src=SENDING, dst=PENDING, now=now, claim="clear"
        )
        await self.store.move(
            self.owner, self.part, users=keep, src=SENDING, dst=PENDING, now=now, claim="keep"
        )

    async def _attempt(self, users: list[int], fresh: set[int], sending: Awaitable[bool]) -> bool:
        """Await one send; the rows go back to 'pending' on any failure and the job is retried.

        :class:`NotDelivered` (any RetryLater: Discord refused, nothing was created) forgets the
        claim of rows claimed for the first time, so the retry simply sends them. Anything else
        (a cancellation at shutdown, a network error or timeout, an unknown error) may have
        reached Discord: the rows keep their first claim time, so a retry within
        :data:`RESEND_WINDOW` sends them again with the same nonce (Discord de-duplicates) and
        after it they become 'unknown' instead of a second message. A row that already had an
        earlier claim keeps it in both cases (that earlier attempt may have gone out)."""
        try:
            return await sending
        except BaseException as exc:
            refused = isinstance(exc, RetryLater)
            forget = [u for u in users if refused and u in fresh]
            keep = [u for u in users if u not in forget]
            try:  # shielded: a second cancellation must not leave the rows 'sending'
                await asyncio.shield(self._put_back(forget, keep))
            except Exception:
                log.exception("%s: could not put %s back to pending", self.key, users)
            if refused or not isinstance(exc, Exception):
                raise
            log.warning(
                "%s: sending may or may not have reached Discord; retrying with the same "
                "nonce within %s",
                self.key,
                RESEND_WINDOW,
                exc_info=exc,
            )
            raise RetryLater(f"{self.key}: {type(exc).__name__}: {exc}") from exc
