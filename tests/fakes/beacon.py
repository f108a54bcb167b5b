"""An in-process drand chain for unit tests, and a helper that takes a call through a whole draw.

:class:`LocalBeacon` is a chain of its own (own BLS key pair, quicknet's scheme): it hands out
genuinely signed rounds once they are due by the test's clock, so the values a draw uses are
real beacon values. Transport and verification are exercised with the HTTP fake
(``tests/fakes/drand_server.py``) and :class:`bot.beacon.source.BeaconSource`.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

from bot.beacon.client import BeaconUnavailable, RoundNotYet
from bot.beacon.drand import BeaconRound, ChainInfo, new_chain_info, time_of_round
from bot.clock import Clock, FakeClock
from bot.domain.draws.models import RunOutcome
from bot.domain.draws.service import DrawService
from tests.fakes.drand_server import _cached_keypair, _cached_signature

__all__ = ["LocalBeacon", "chain_args", "draw_now", "publish_and_wait"]


def chain_args(draws: DrawService) -> list[str]:
    """``python -m bot.verify_draw`` arguments that trust the test chain of ``draws``."""
    beacon = draws.beacon
    assert isinstance(beacon, LocalBeacon)
    return ["--chain-hash", beacon.info.chain_hash]


class LocalBeacon:
    """A drand chain in the test process (see the module docstring)."""

    def __init__(
        self,
        clock: Clock,
        *,
        seed: bytes = b"coprobot unit beacon",
        period: int = 3,
        genesis_time: int = 1_700_000_000,
    ) -> None:
        self.secret, public_key = _cached_keypair(seed)
        self.info: ChainInfo = new_chain_info(
            public_key=public_key,
            period=period,
            genesis_time=genesis_time,
            group_hash=hashlib.sha256(b"unit genesis " + seed).digest(),
            beacon_id="unit",
        )
        self.clock = clock
        self.down = False
        self.fetched: list[int] = []

    async def chain(self) -> ChainInfo:
        return self.info

    async def fetch(self, round_number: int) -> BeaconRound:
        if self.down:
            raise BeaconUnavailable("the test beacon is down")
        due = time_of_round(self.info, round_number)
        if self.clock.now().timestamp() < due:
            raise RoundNotYet(round_number, due, "not due by the test clock")
        self.fetched.append(round_number)
        return BeaconRound(round_number, _cached_signature(self.secret, round_number))


async def publish_and_wait(draws: DrawService, clock: Clock, call_id: int) -> None:
    """What the cog does between the freeze and the draw: publish the freeze, let time pass
    until its public value is out."""
    assert isinstance(clock, FakeClock)
    freeze = await draws.freeze_of(call_id)
    assert freeze is not None
    if freeze.message_id is None:
        await draws.mark_freeze_posted(call_id, 7_000_000 + call_id)
    wait = freeze.beacon_due_at - clock.now().timestamp() + 1
    if wait > 0:
        clock.advance(timedelta(seconds=wait))


async def draw_now(draws: DrawService, clock: Clock, **run: Any) -> RunOutcome:
    """``/draw run`` until the draw is made: freeze, publish, wait for the round, draw."""
    first = await draws.run(**run)
    if first.view is not None:
        return first
    assert first.freeze is not None
    await publish_and_wait(draws, clock, first.freeze.call_id)
    again = {k: v for k, v in run.items() if k in ("guild_id", "number", "actor_id", "value")}
    second = await draws.run(**again)
    assert second.view is not None, second.waiting
    return RunOutcome(
        second.view,
        created=second.created,
        closed_call=first.closed_call,
        freeze=second.freeze,
        froze_now=True,
    )
