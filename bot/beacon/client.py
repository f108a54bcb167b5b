"""Fetch drand rounds over HTTP and verify them before anyone sees them.

The transport is not trusted: the only trust anchor is the :class:`ChainInfo` the
client was configured with (for the bot, the quicknet constant). Every round is
checked against that chain's public key, so a server, a proxy or an attacker in
between can refuse service but cannot make the bot accept a value of its choosing.

Endpoints (drand's HTTP API)::

    {base}/{chain_hash}/info
    {base}/{chain_hash}/public/{round}
    {base}/{chain_hash}/public/latest

Outcomes the caller can act on are distinct exceptions, all :class:`BeaconError`:

- :class:`RoundNotYet`: the round is not due yet (by our clock), or the server says it
  does not have it yet (404 or 425 for a round that is due now or only just became
  due). Retry at or after ``due_at``.
- :class:`BeaconUnavailable`: network error, timeout, 5xx, or any other unexpected
  status. Retry later, or try another server.
- :class:`BadSignature`: the server answered with a value that is not the genuine
  round (forged or tampered signature, wrong round number, randomness that does not
  match the signature, or an unreadable body). Never accepted.
- :class:`ChainMismatch`: the server's chain info is not the configured chain.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any, Final, Self

import aiohttp

from bot.beacon.drand import (
    BeaconRound,
    ChainInfo,
    parse_chain_info,
    parse_round,
    time_of_round,
    verify_round,
)

__all__ = [
    "BadSignature",
    "BeaconError",
    "BeaconUnavailable",
    "ChainMismatch",
    "DrandClient",
    "RoundNotYet",
]

DEFAULT_TIMEOUT: Final = 10.0
"""Seconds allowed for one whole request (connect, send, read the body)."""

DEFAULT_LAG_ALLOWANCE: Final = 60.0
"""How long after a round's time a 404/425 still means "not yet" rather than a fault."""

_MAX_BODY: Final = 64 * 1024
_NOT_YET_STATUSES: Final = frozenset({404, 425})


class BeaconError(Exception):
    """Base class of everything :class:`DrandClient` raises."""


class RoundNotYet(BeaconError):
    """The round is not available yet; ``due_at`` is its Unix time."""

    def __init__(self, round_number: int, due_at: int, detail: str) -> None:
        super().__init__(f"drand round {round_number} is not available yet ({detail})")
        self.round = round_number
        self.due_at = due_at


class BeaconUnavailable(BeaconError):
    """The beacon could not be reached or did not answer usefully."""


class BadSignature(BeaconError):
    """The server served a value that is not the genuine round; it is never accepted."""


class ChainMismatch(BeaconError):
    """The server does not serve the configured chain (other key, hash or parameters)."""


class DrandClient:
    """Reads and verifies rounds of one drand chain from one HTTP endpoint.

    ``session`` may be shared with the rest of the application; when omitted the client
    opens its own and closes it in :meth:`close` (or on leaving ``async with``).
    ``clock`` returns the current Unix time; tests give it a controllable one.
    """

    def __init__(
        self,
        base_url: str,
        chain: ChainInfo,
        session: aiohttp.ClientSession | None = None,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        clock: Callable[[], float] = time.time,
        lag_allowance: float = DEFAULT_LAG_ALLOWANCE,
    ) -> None:
        self._base = base_url.rstrip("/")
        self._chain = chain
        self._session = session
        self._owns_session = session is None
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._clock = clock
        self._lag_allowance = lag_allowance

    @property
    def chain(self) -> ChainInfo:
        """The configured chain: the only thing this client trusts."""
        return self._chain

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the HTTP session if this client opened it."""
        if self._owns_session and self._session is not None:
            await self._session.close()
            self._session = None

    # ------------------------------------------------------------------ public API

    async def fetch_info(self) -> ChainInfo:
        """The server's chain info, checked to be exactly the configured chain.

        Raises :class:`ChainMismatch` if it differs (or the server does not know the
        chain hash), :class:`BeaconUnavailable` if the server cannot be read.
        """
        status, body = await self._get("info")
        if status == 404:
            raise ChainMismatch(f"{self._base} does not serve chain {self._chain.chain_hash}")
        if status != 200:
            raise BeaconUnavailable(f"chain info: HTTP {status} from {self._base}")
        try:
            served = parse_chain_info(_json_object(body))
        except ValueError as exc:
            raise ChainMismatch(f"unusable chain info from {self._base}: {exc}") from exc
        differences = [
            name
            for name in ("chain_hash", "public_key", "period", "genesis_time", "scheme_id")
            if getattr(served, name) != getattr(self._chain, name)
        ]
        if differences:
            raise ChainMismatch(
                f"{self._base} serves a different chain ({', '.join(differences)} differ)"
            )
        return served

    async def fetch_round(self, round_number: int) -> BeaconRound:
        """The verified round ``round_number``.

        Raises :class:`RoundNotYet` before the round's time (without asking the server)
        or when the server does not have it yet, :class:`BadSignature` for anything
        but the genuine round, :class:`BeaconUnavailable` for transport failures.
        """
        due_at = time_of_round(self._chain, round_number)
        now = self._clock()
        if now < due_at:
            raise RoundNotYet(round_number, due_at, f"due in {due_at - now:.1f} s")
        status, body = await self._get(f"public/{round_number}")
        if status in _NOT_YET_STATUSES and now - due_at <= self._lag_allowance:
            raise RoundNotYet(round_number, due_at, f"server answered HTTP {status}")
        if status != 200:
            raise BeaconUnavailable(f"round {round_number}: HTTP {status} from {self._base}")
        return await self._verified(body, expected_round=round_number)

    async def fetch_latest(self) -> BeaconRound:
        """The server's latest round, verified (whatever its number)."""
        status, body = await self._get("public/latest")
        if status != 200:
            raise BeaconUnavailable(f"latest round: HTTP {status} from {self._base}")
        return await self._verified(body, expected_round=None)

    # ------------------------------------------------------------------ internals

    async def _verified(self, body: bytes, *, expected_round: int | None) -> BeaconRound:
        try:
            beacon = parse_round(_json_object(body))
        except ValueError as exc:
            raise BadSignature(f"unreadable round from {self._base}: {exc}") from exc
        if expected_round is not None and beacon.round != expected_round:
            raise BadSignature(f"asked for round {expected_round}, was served round {beacon.round}")
        if not await asyncio.to_thread(verify_round, self._chain, beacon):
            raise BadSignature(
                f"round {beacon.round} from {self._base} does not verify "
                f"against chain {self._chain.chain_hash}"
            )
        return beacon

    async def _get(self, path: str) -> tuple[int, bytes]:
        """GET ``{base}/{chain_hash}/{path}``: the status and (for 200) the body."""
        url = f"{self._base}/{self._chain.chain_hash}/{path}"
        session = self._session_or_new()
        try:
            async with session.get(url, timeout=self._timeout, allow_redirects=True) as response:
                if response.status != 200:
                    return response.status, b""
                body = await response.content.read(_MAX_BODY + 1)
        except (aiohttp.ClientError, TimeoutError) as exc:
            detail = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            raise BeaconUnavailable(f"{url}: {detail}") from exc
        if len(body) > _MAX_BODY:
            return 200, b""  # never a drand answer; read as malformed by the caller
        return 200, body

    def _session_or_new(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession()
            self._owns_session = True
        return self._session


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError("body is not JSON") from exc
    if not isinstance(data, dict):
        raise ValueError("body is not a JSON object")
    return data
