"""A local drand beacon that is a real chain of its own.

It holds its own BLS key pair (derived from a seed, so tests are repeatable) and signs
rounds with exactly quicknet's scheme, so :class:`bot.beacon.client.DrandClient`
verifies its rounds with the same code as the real ones. Only the key differs: a
client configured with :data:`bot.beacon.drand.QUICKNET` refuses this chain.

Rounds fall due by the server's clock (a :class:`ManualClock` the test moves, or
the wall clock). It serves drand's HTTP API on 127.0.0.1 and a free port:

- ``GET /{chain_hash}/info``: the chain info (drand's original JSON field names);
- ``GET /{chain_hash}/public/{round}``: a due round; a future one answers
  ``future_status`` (425 Too Early, or 404 as older drand relays do);
- ``GET /{chain_hash}/public/latest``: the latest due round.

Faults a test can switch on: :meth:`FakeDrandServer.forge` (serve a wrong value for a
round), :meth:`FakeDrandServer.go_down` (answer 503, or stop listening so connections
are refused), ``delay`` (answer late, to trip client timeouts) and ``impersonate``
(serve another chain's info under this chain's hash).
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Callable
from functools import lru_cache
from types import TracebackType
from typing import Literal, Self

from aiohttp import web

from bot.beacon.drand import (
    BeaconRound,
    ChainInfo,
    current_round,
    keypair,
    new_chain_info,
    sign_round,
    time_of_round,
)

__all__ = ["FakeDrandServer", "ForgeKind", "ManualClock"]

ForgeKind = Literal["other-key", "other-round", "randomness"]
"""How a forged round is wrong.

- ``other-key``: signed by a key that is not the chain's (a well-formed signature,
  with matching randomness: only the pairing check can tell);
- ``other-round``: the chain's genuine signature, but of the next round;
- ``randomness``: the genuine signature, with a randomness field that is not its hash.
"""


class ManualClock:
    """A Unix-time clock that only moves when told to. Call it to read the time."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds

    def set(self, now: float) -> None:
        self.now = now


@lru_cache(maxsize=8)
def _cached_keypair(seed: bytes) -> tuple[int, bytes]:
    return keypair(seed)


@lru_cache(maxsize=256)
def _cached_signature(secret: int, round_number: int) -> bytes:
    return sign_round(secret, round_number)


class FakeDrandServer:
    """A drand HTTP endpoint for one chain of its own; use as ``async with``."""

    def __init__(
        self,
        *,
        seed: bytes = b"coprobot fake drand",
        genesis_time: int = 1_700_000_000,
        period: int = 3,
        clock: Callable[[], float] = time.time,
        future_status: Literal[404, 425] = 425,
        beacon_id: str = "fake",
    ) -> None:
        self.secret, public_key = _cached_keypair(seed)
        self.chain: ChainInfo = new_chain_info(
            public_key=public_key,
            period=period,
            genesis_time=genesis_time,
            group_hash=hashlib.sha256(b"fake genesis seed " + seed).digest(),
            beacon_id=beacon_id,
        )
        self.clock = clock
        self.future_status = future_status
        self.delay = 0.0
        """Seconds to wait before answering any request."""
        self.impersonate: ChainInfo | None = None
        """When set, ``/info`` describes this chain instead (under our chain hash)."""
        self.requests: list[str] = []
        """Paths requested so far, in order."""
        self._forged: dict[int, ForgeKind] = {}
        self._down: Literal["503", "refuse"] | None = None
        self._runner: web.AppRunner | None = None
        self._site: web.TCPSite | None = None
        self._port = 0

    # ------------------------------------------------------------------ lifecycle

    @property
    def url(self) -> str:
        """The base URL to give a client (``http://127.0.0.1:PORT``)."""
        if not self._port:
            raise RuntimeError("the fake drand server is not started")
        return f"http://127.0.0.1:{self._port}"

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/{chain_hash}/info", self._info)
        app.router.add_get("/{chain_hash}/public/latest", self._latest)
        app.router.add_get("/{chain_hash}/public/{round}", self._round)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        await self._listen(0)
        self._port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
            self._site = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()

    # ------------------------------------------------------------------ faults

    def forge(self, round_number: int, kind: ForgeKind = "other-key") -> None:
        """Serve a wrong value for ``round_number`` from now on."""
        self._forged[round_number] = kind

    async def go_down(self, mode: Literal["503", "refuse"] = "503") -> None:
        """Answer every request with 503, or stop listening (connections refused)."""
        self._down = mode
        if mode == "refuse" and self._site is not None:
            await self._site.stop()
            self._site = None
            # Also drop kept-alive connections, or a pooled client would still get in.
            assert self._runner is not None and self._runner.server is not None
            await self._runner.server.shutdown(timeout=0.5)

    async def come_back(self) -> None:
        """Serve normally again, on the same port."""
        self._down = None
        if self._site is None:
            await self._listen(self._port)

    async def _listen(self, port: int) -> None:
        assert self._runner is not None
        self._site = web.TCPSite(self._runner, "127.0.0.1", port, reuse_address=True)
        await self._site.start()

    # ------------------------------------------------------------------ chain

    def genuine_round(self, round_number: int) -> BeaconRound:
        """The round as this chain really signs it (whether due or not)."""
        return BeaconRound(round_number, _cached_signature(self.secret, round_number))

    def _served_round(self, round_number: int) -> dict[str, object]:
        kind = self._forged.get(round_number)
        if kind is None:
            return self.genuine_round(round_number).to_json()
        if kind == "other-key":
            impostor_secret, _ = _cached_keypair(b"not the fake chain's key")
            return BeaconRound(
                round_number, _cached_signature(impostor_secret, round_number)
            ).to_json()
        if kind == "other-round":
            signature = self.genuine_round(round_number + 1).signature
            return BeaconRound(round_number, signature).to_json()
        served = self.genuine_round(round_number).to_json()
        served["randomness"] = "00" * 32
        return served

    # ------------------------------------------------------------------ handlers

    async def _gate(self, request: web.Request) -> web.Response | None:
        """Record the request; the response to give instead, if any."""
        self.requests.append(request.path)
        if self.delay:
            await asyncio.sleep(self.delay)
        if self._down == "503":
            return web.Response(status=503, text="service unavailable")
        if request.match_info["chain_hash"] != self.chain.chain_hash:
            return web.Response(status=404, text="unknown chain")
        return None

    async def _info(self, request: web.Request) -> web.Response:
        if (refusal := await self._gate(request)) is not None:
            return refusal
        described = self.impersonate or self.chain
        return web.json_response(
            {
                "public_key": described.public_key.hex(),
                "period": described.period,
                "genesis_time": described.genesis_time,
                "hash": described.chain_hash,
                "groupHash": described.group_hash.hex(),
                "schemeID": described.scheme_id,
                "metadata": {"beaconID": described.beacon_id},
            }
        )

    async def _latest(self, request: web.Request) -> web.Response:
        if (refusal := await self._gate(request)) is not None:
            return refusal
        latest = current_round(self.chain, self.clock())
        if latest < 1:
            return web.Response(status=self.future_status, text="no round yet")
        return web.json_response(self._served_round(latest))

    async def _round(self, request: web.Request) -> web.Response:
        if (refusal := await self._gate(request)) is not None:
            return refusal
        try:
            round_number = int(request.match_info["round"])
        except ValueError:
            return web.Response(status=400, text="bad round")
        if round_number < 1:
            return web.Response(status=400, text="bad round")
        if time_of_round(self.chain, round_number) > self.clock():
            return web.Response(status=self.future_status, text="round not yet available")
        return web.json_response(self._served_round(round_number))
