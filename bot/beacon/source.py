"""The beacon a running bot draws with: one drand endpoint and one trusted chain.

The trust anchor is the chain hash (setting ``DRAW_BEACON_CHAIN``): for the League of Entropy's
quicknet chain the bot knows its public key already; for any other chain (a test chain, another
drand network) the chain info is read once from the endpoint and accepted only if its fields
hash to that chain hash (so the endpoint can't swap the public key). Every round is then
verified against the chain's public key before it is used.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import aiohttp

from bot.beacon.client import BeaconUnavailable, ChainMismatch, DrandClient
from bot.beacon.drand import QUICKNET, BeaconRound, ChainInfo

__all__ = ["DEFAULT_BEACON_URL", "BeaconSource"]

DEFAULT_BEACON_URL = "https://api.drand.sh"


class BeaconSource:
    """Reads verified rounds of the configured chain (see the module docstring)."""

    def __init__(
        self,
        url: str = DEFAULT_BEACON_URL,
        chain_hash: str = QUICKNET.chain_hash,
        *,
        clock: Callable[[], float] = time.time,
        timeout: float = 10.0,
    ) -> None:
        self.url = url.rstrip("/")
        self.chain_hash = chain_hash.strip().lower()
        self._clock = clock
        self._timeout = timeout
        self._chain: ChainInfo | None = QUICKNET if self.chain_hash == QUICKNET.chain_hash else None
        self._lock = asyncio.Lock()

    async def chain(self) -> ChainInfo:
        """The trusted chain's parameters (read once from the endpoint unless known)."""
        if self._chain is not None:
            return self._chain
        async with self._lock:
            if self._chain is None:
                self._chain = await self._read_info()
        return self._chain

    async def _read_info(self) -> ChainInfo:
        from bot.beacon.drand import parse_chain_info

        url = f"{self.url}/{self.chain_hash}/info"
        try:
            async with (
                aiohttp.ClientSession() as session,
                session.get(url, timeout=aiohttp.ClientTimeout(total=self._timeout)) as response,
            ):
                if response.status != 200:
                    raise BeaconUnavailable(f"chain info: HTTP {response.status} from {self.url}")
                data = await response.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise BeaconUnavailable(f"{url}: {type(exc).__name__}: {exc}") from exc
        try:
            info = parse_chain_info(data)
        except ValueError as exc:
            raise ChainMismatch(f"unusable chain info from {self.url}: {exc}") from exc
        if info.chain_hash != self.chain_hash or not info.group_hash:
            raise ChainMismatch(f"{self.url} does not serve chain {self.chain_hash}")
        return info

    async def fetch(self, round_number: int) -> BeaconRound:
        """The verified round (raises :class:`bot.beacon.client.BeaconError` subclasses)."""
        chain = await self.chain()
        async with DrandClient(self.url, chain, clock=self._clock, timeout=self._timeout) as client:
            return await client.fetch_round(round_number)
