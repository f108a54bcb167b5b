"""Delivery states, routes and nonces."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Literal

Part = int | str


ClaimStamp = Literal["keep", "stamp", "clear"]


@dataclass(frozen=True, slots=True)
class DeliveryRow:
    part: Part
    user_id: int
    state: str
    via: str
    claimed_at: float | None
    updated_at: float


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
