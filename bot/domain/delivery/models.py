"""Delivery states, routes and nonces: what the one delivery engine records per recipient."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from typing import Literal

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
    "ClaimStamp",
    "DeliveryResult",
    "DeliveryRow",
    "DeliveryState",
    "OwnerKind",
    "Route",
    "nonce_for",
]


class DeliveryState(StrEnum):
    PENDING = "pending"  # to send (again)
    SENDING = "sending"  # claimed; a send is under way (or the bot died during it: maybe sent)
    SENT = "sent"  # Discord took it
    FAILED = "failed"  # could not be delivered (DMs closed and no channel, or may not post)
    UNKNOWN = "unknown"  # left 'sending' by a crash longer ago than Discord remembers nonces


class Route(StrEnum):
    DM = "dm"
    CHANNEL = "channel"  # DMs closed: a mention in a channel


class OwnerKind(StrEnum):
    """What a delivery is about (the ``deliveries`` table's ``owner_kind``)."""

    SESSION = "session"
    FEEDBACK = "feedback"
    MEETING = "meeting"
    DRAW = "draw"


PENDING = DeliveryState.PENDING
SENDING = DeliveryState.SENDING
SENT = DeliveryState.SENT
FAILED = DeliveryState.FAILED
UNKNOWN = DeliveryState.UNKNOWN
STATES = tuple(DeliveryState)
DM = Route.DM
CHANNEL = Route.CHANNEL

ClaimStamp = Literal["keep", "stamp", "clear"]

RESEND_WINDOW = timedelta(minutes=5)  # Discord de-duplicates a nonce for a few minutes
NONCE_LENGTH = 25  # Discord accepts nonces of up to 25 characters


@dataclass(frozen=True, slots=True)
class DeliveryRow:
    """One recipient of one message: ``part`` says which message of its owner."""

    part: str
    user_id: int
    state: DeliveryState
    via: Route
    claimed_at: float | None
    updated_at: float


def nonce_for(delivery_key: str) -> str:
    """The Discord nonce of one delivery: the same key always gives the same nonce."""
    return hashlib.sha256(delivery_key.encode()).hexdigest()[:NONCE_LENGTH]


@dataclass(slots=True)
class DeliveryResult:
    sent: list[int] = field(default_factory=list)  # delivered by this run, in order
    rerouted: list[int] = field(default_factory=list)  # DMs closed: a channel mention is next
    failed: list[int] = field(default_factory=list)  # could not be delivered
    skipped: int = 0  # done before (a re-run), or not claimable
