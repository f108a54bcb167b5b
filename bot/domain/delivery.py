"""One delivery state machine for every timed message to members: session notices and reminders,
feedback nudges and meeting reminders. No discord here.

Every intended recipient of a job gets a row (``db/repositories/deliveries.py``)::

    pending --claim--> sending --Discord took it--------------> sent (via dm or channel)
                          |----DM closed, a channel may mention--> pending (via channel)
                          |----DM closed / can't post, no way on--> failed
                          '----Discord error or cancelled---------> pending, and RetryLater

A claim is one ``UPDATE ... WHERE state = 'pending' RETURNING`` statement, and the DB write that
marks a row ``sending`` comes before the send, so after a hard crash a row can only be left in
``sending``: *maybe sent*. The next run re-sends it only if it was claimed less than
:data:`RESEND_WINDOW` ago, with the same deterministic Discord nonce (:func:`nonce_for`), so
Discord returns the message it already made instead of posting a second one (discord.py sends
``enforce_nonce`` with every nonce). Older ``sending`` rows become ``unknown``: logged, never
re-sent, because Discord's nonce memory lasts only a few minutes.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from bot.clock import Clock
from bot.scheduling import RetryLater
from db.repositories.deliveries import DeliveryLog, Part

__all__ = [
    "CHANNEL",
    "DM",
    "FAILED",
    "NONCE_LENGTH",
    "PENDING",
    "RESEND_WINDOW",
    "SENDING",
    "SENT",
    "STATES",
    "UNKNOWN",
    "DeliveryResult",
    "DeliveryRun",
    "nonce_for",
]

log = logging.getLogger(__name__)

PENDING = "pending"  # to send (again)
SENDING = "sending"  # claimed; a send is under way (or the bot died during it: maybe sent)
SENT = "sent"  # Discord took it
FAILED = "failed"  # could not be delivered (DMs closed and no channel, or the bot may not post)
UNKNOWN = "unknown"  # left 'sending' by a crash longer ago than Discord remembers nonces
STATES = (PENDING, SENDING, SENT, FAILED, UNKNOWN)

DM = "dm"
CHANNEL = "channel"

RESEND_WINDOW = timedelta(minutes=5)
NONCE_LENGTH = 25  # Discord accepts nonces of up to 25 characters


def nonce_for(delivery_key: str) -> str:
    """The Discord nonce of one delivery: the same key always gives the same nonce."""
    return hashlib.sha256(delivery_key.encode()).hexdigest()[:NONCE_LENGTH]


@dataclass(slots=True)
class DeliveryResult:
    sent: list[int] = field(default_factory=list)  # delivered by this run, in order
    rerouted: list[int] = field(default_factory=list)  # DMs closed: a channel mention is next
    failed: list[int] = field(default_factory=list)  # could not be delivered
    skipped: int = 0  # done before (a re-run), or not claimable


SendOne = Callable[[int, str], Awaitable[bool]]  # (user_id, nonce) -> delivered?
SendGroup = Callable[[list[int], str], Awaitable[bool]]  # (user_ids, nonce) -> posted?


class DeliveryRun:
    """The deliveries of one job run: e.g. session 5's 24h reminder, or round 2's 48h nudge.

    ``key`` names the delivery everywhere (logs and nonces) and must be the same on every run
    of the same job, e.g. ``session:5:reminder:86400:1790000000``."""

    def __init__(self, store: DeliveryLog, clock: Clock, owner: int, part: Part, key: str) -> None:
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
        """Settle what a crashed run left 'sending', then add a 'pending' row per ``(user_id,
        via)`` that has none. Returns the recipients whose delivery is now 'unknown'."""
        now = self._now()
        cutoff = now - RESEND_WINDOW.total_seconds()
        self.unknown = await self.store.move(
            self.owner, self.part, src=SENDING, dst=UNKNOWN, now=now, claimed_before=cutoff
        )
        if self.unknown:
            log.warning(
                "%s: %d delivery(ies) may or may not have been sent before a stop more than %s "
                "ago; not sending them again (users %s)",
                self.key, len(self.unknown), RESEND_WINDOW, self.unknown,
            )
        again = await self.store.move(
            self.owner, self.part, src=SENDING, dst=PENDING, now=now, claimed_since=cutoff
        )
        if again:
            log.info("%s: re-sending %d delivery(ies) interrupted by a stop, with the same nonce",
                     self.key, len(again))
        await self.store.add(self.owner, self.part, recipients, PENDING, now)
        return self.unknown

    async def each(self, users: Sequence[int], send: SendOne, *, reroute: bool) -> DeliveryResult:
        """Send to each of ``users`` whose row is pending by DM: claim, send, record.

        ``send`` returns False when the member's DMs are closed: the row then waits for a
        channel mention (``reroute``) or is marked failed."""
        result = DeliveryResult()
        for user in dict.fromkeys(users):
            claimed = await self.store.move(
                self.owner, self.part, users=[user], via_is=DM, src=PENDING, dst=SENDING,
                now=self._now(), claim="stamp",
            )
            if not claimed:
                result.skipped += 1
                continue
            delivered = await self._attempt([user], send(user, self.nonce(DM, [user])))
            if delivered:
                await self._settle([user], SENT)
                result.sent.append(user)
            elif reroute:
                await self.store.move(
                    self.owner, self.part, users=[user], src=SENDING, dst=PENDING, via=CHANNEL,
                    now=self._now(), claim="clear",
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
        waiting = {r.user_id for r in await self.store.rows(self.owner, self.part)
                   if r.state == PENDING and r.via == CHANNEL}
        todo = [u for u in dict.fromkeys(users) if u in waiting]
        result.skipped = len(set(users)) - len(todo)
        step = size or max(1, len(todo))
        for start in range(0, len(todo), step):
            chunk = todo[start:start + step]
            claimed = set(await self.store.move(
                self.owner, self.part, users=chunk, via_is=CHANNEL, src=PENDING, dst=SENDING,
                now=self._now(), claim="stamp",
            ))
            chunk = [u for u in chunk if u in claimed]
            if not chunk:
                continue
            posted = await self._attempt(chunk, send(chunk, self.nonce(CHANNEL, chunk)))
            await self._settle(chunk, SENT if posted else FAILED)
            (result.sent if posted else result.failed).extend(chunk)
            if not posted:
                log.warning("%s: could not post the channel message for %d member(s)",
                            self.key, len(chunk))
        return result

    async def _settle(self, users: list[int], state: str) -> None:
        await self.store.move(self.owner, self.part, users=users, src=SENDING, dst=state,
                              now=self._now())

    async def _attempt(self, users: list[int], sending: Awaitable[bool]) -> bool:
        """Await one send. On any failure (a Discord error after discord.py's own retries, a
        cancellation at shutdown) the rows go back to 'pending' and the job is retried."""
        try:
            return await sending
        except BaseException as exc:
            try:  # shielded: a second cancellation must not leave the rows 'sending'
                await asyncio.shield(self.store.move(
                    self.owner, self.part, users=users, src=SENDING, dst=PENDING,
                    now=self._now(), claim="clear",
                ))
            except Exception:
                log.exception("%s: could not put %s back to pending", self.key, users)
            if isinstance(exc, RetryLater) or not isinstance(exc, Exception):
                raise
            log.warning("%s: sending failed; retrying later", self.key, exc_info=exc)
            raise RetryLater(f"{self.key}: {type(exc).__name__}: {exc}") from exc
