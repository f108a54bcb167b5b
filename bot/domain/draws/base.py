"""What every part of the draw service shares: its settings, the draw-wide constants and
helpers, and the lookups of calls and draws."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from bot.beacon.drand import BeaconRound, ChainInfo
from bot.clock import Clock
from bot.domain.audit.service import AuditService
from bot.domain.calls.models import Call, Category
from bot.domain.delivery.models import OwnerKind, nonce_for
from bot.domain.draws.algorithm import (
    draw_seed,
    entrant_ref,
    freeze_fingerprint,
    new_ref_salt,
    public_value_bytes,
    roster_fingerprint,
    run_draw,
)
from bot.domain.draws.models import (
    CategoryView,
    DrawView,
    FreezeRecord,
)
from bot.domain.errors import Conflict, NotFound
from bot.domain.values import Moment
from bot.scheduling import JobScheduler
from db import Database
from db.repositories.calls import CallRepository
from db.repositories.deliveries import DeliveryLog
from db.repositories.draws import DrawRepository, FreezeCompute
from db.repositories.jobs import JobRepository

log = logging.getLogger(__name__)


EXPORT_FORMAT = "coprobot-draw"


EXPORT_VERSION = 3  # 3: with the freeze, the beacon and the changes; 2: by "ref"; 1: "user_id"


FREEZE_FORMAT = "coprobot-draw-freeze"


DOCS = "docs/draw.md"


# A job that makes the draw of a frozen call once its public value is due, and again
# (RetryLater) while the beacon can't be reached. One per call.
REVEAL_JOB = "draw.reveal"


MAX_SOURCE = 300  # characters of an organiser-named public value's description


class DrawBeacon(Protocol):
    """The public randomness beacon (bot.beacon.source.BeaconSource): the trusted chain and its
    verified rounds. Its errors are bot.beacon.client.BeaconError."""

    async def chain(self) -> ChainInfo: ...

    async def fetch(self, round_number: int) -> BeaconRound: ...


def reveal_job_key(call_id: int) -> str:
    return f"draw:{call_id}:reveal"


def freeze_compute(name: str) -> FreezeCompute:
    """The freeze's computation for the repository: every entry's reference from a fresh random
    salt of its own (the salt is not kept), then the roster and freeze fingerprints."""

    def compute(
        commitment: str, roster: list[tuple[int, str]], places: list[tuple[str, int]]
    ) -> tuple[dict[int, str], str, str]:
        while True:
            refs = {user_id: entrant_ref(new_ref_salt(), user_id) for user_id, _ in roster}
            if len(set(refs.values())) == len(refs):  # a clash needs a 128-bit collision
                break
        published = [(refs[user_id], key) for user_id, key in roster]
        return (
            refs,
            roster_fingerprint(published, 3),
            freeze_fingerprint(commitment, name, places, published),
        )

    return compute


def beacon_bytes(freeze: FreezeRecord) -> bytes:
    """The public value as the draw hashes it (drand: the 32 randomness bytes)."""
    assert freeze.beacon_value is not None
    if freeze.beacon_kind == "drand":
        return bytes.fromhex(freeze.beacon_value)
    return public_value_bytes(freeze.beacon_value)


def frozen_order(freeze: FreezeRecord, seed: str) -> dict[str, list[tuple[str, bool]]]:
    """Each category's refs in draw order, each with whether the algorithm drew it (the
    repository only stores this decision)."""
    result = run_draw(
        draw_seed(seed, beacon_bytes(freeze)),
        freeze.roster,
        freeze.places,
        list(freeze.places),
        version=3,
    )
    return {c.key: [(ref, ref in set(c.selected)) for ref in c.order] for c in result.categories}


# A job the draws cog runs after a member left the group outside Discord's interaction flow
# (their data was deleted): announce it and offer the place to the next reserve.
MEMBER_LEFT_JOB = "draw.member_left"


# A job the draws cog runs to finish a draw's Discord side (post, roles, one message per member)
# after a change such as a replacement, and again (RetryLater) while Discord fails transiently.
# One per call (its key), so asking again only moves it.
FINISH_JOB = "draw.finish"


# When the finish job runs after a replacement whose pass is also tried at once: a safety net
# that finds nothing to do if that pass went through.
FINISH_CHECK = timedelta(minutes=1)


def iso_utc(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).isoformat().replace("+00:00", "Z")


def delivery_nonce(kind: str, call_id: int, ref: str) -> str:
    """The Discord nonce of the one ``kind`` message ("notice" or "invite") to the member whose
    entry reference is ``ref``: every attempt to send it uses the same one."""
    return nonce_for(f"draw:{call_id}:{kind}:{ref}")


def finish_job_key(call_id: int) -> str:
    return f"draw:{call_id}:finish"


def fallback_nonce(kind: str, call_id: int, refs: Iterable[str]) -> str:
    """The nonce of the channel post that mentions the members with closed DMs (by their refs)."""
    return nonce_for(f"draw:{call_id}:{kind}-fallback:{','.join(sorted(refs))}")


class DrawParts:
    """The state and lookups shared by the draw service's parts (see :mod:`.service`)."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        jobs: JobScheduler | None = None,
        *,
        beacon: DrawBeacon | None = None,
        beacon_delay: int = 60,
        docs_url: str = "",
    ) -> None:
        self.db = db
        self.clock = clock
        self.jobs = jobs
        self.beacon = beacon
        self._known_chain: ChainInfo | None = None  # the beacon's chain, once read
        self.beacon_delay = beacon_delay
        self.docs_url = docs_url
        self.repo = DrawRepository(db)
        self.calls = CallRepository(db)
        self.audit = AuditService(db, clock)
        self.deliveries_log = DeliveryLog(db, OwnerKind.DRAW)

    # -- lookups --------------------------------------------------------------------------------

    async def call(self, guild_id: int, number: int) -> Call:
        call = await self.calls.by_number(guild_id, number)
        if call is None:
            raise NotFound(
                f"There is no call #{number} in this server. `/call list` shows the calls there are."
            )
        return call

    async def _drawn_call(self, guild_id: int, number: int) -> Call:
        call = await self.call(guild_id, number)
        if await self.repo.get(call.id) is None:
            freeze = await self.repo.get_freeze(call.id)
            if freeze is not None:
                kind = "drand" if freeze.beacon_kind == "drand" else "the named"
                message = (
                    f"Call #{number} is frozen but not drawn yet: its draw uses {kind} public "
                    "randomness that comes out {due}. "
                    f"Run `/draw run call:{number}` to make the draw once it is out."
                )
                raise NotFound(message, due=Moment(freeze.beacon_due_at))
            raise NotFound(
                f"Call #{number} hasn't been drawn yet. Run `/draw run call:{number}` when you're ready."
            )
        return call

    async def view(self, call_id: int) -> DrawView:
        call = await self.calls.get(call_id)
        draw = await self.repo.get(call_id)
        if call is None or draw is None:
            raise NotFound("That draw no longer exists.")
        places = draw.places
        entries = await self.repo.entries(call_id)
        categories = tuple(
            CategoryView(
                cat,
                places.get(cat.key, cat.places),
                tuple(e for e in entries if e.category_id == cat.id),
            )
            for cat in await self.calls.categories(call_id)
        )
        freeze = await self.repo.get_freeze(call_id)
        if freeze is not None and freeze.beacon_kind == "drand" and self._known_chain is None:
            try:  # the chain's parameters go into the export (cached after the first read)
                await self._chain()
            except Conflict:
                pass
        return DrawView(
            call,
            draw,
            categories,
            tuple(await self.repo.reviewers(call_id)),
            tuple(await self.deliveries_log.rows(call_id)),
            freeze=freeze,
            changes=tuple(await self.repo.changes(call_id)),
        )

    async def show(self, guild_id: int, number: int) -> DrawView:
        call = await self._drawn_call(guild_id, number)
        return await self.view(call.id)

    async def view_if_drawn(self, call_id: int) -> DrawView | None:
        if await self.repo.get(call_id) is None:
            return None
        return await self.view(call_id)

    async def call_of(self, call_id: int) -> Call:
        call = await self.calls.get(call_id)
        if call is None:
            raise NotFound("That call no longer exists.")
        return call

    async def categories_of(self, call_id: int) -> list[Category]:
        return await self.calls.categories(call_id)

    async def guild_of(self, call_id: int) -> int | None:
        """The server of a call (for its wording), or None if it no longer exists."""
        call = await self.calls.get(call_id)
        return call.guild_id if call is not None else None

    # -- members --------------------------------------------------------------------------------

    async def _call_by_id(self, call_id: int) -> Call:
        call = await self.calls.get(call_id)
        if call is None or await self.repo.get(call_id) is None:
            raise NotFound("That draw no longer exists, so this button doesn't do anything now.")
        return call

    # -- shared helpers ---------------------------------------------------------------------

    async def _chain(self) -> ChainInfo:
        from bot.beacon.client import BeaconError

        if self.beacon is None:
            raise Conflict("No public randomness beacon is set up for draws (DRAW_BEACON_URL).")
        try:
            self._known_chain = await self.beacon.chain()
            return self._known_chain
        except BeaconError as exc:
            log.warning("the beacon's chain info could not be read: %s", exc)
            raise Conflict(
                "I can't reach the public randomness beacon right now, so I can't name the round "
                "the draw will use. Nothing was changed; please try again in a few minutes."
            ) from None

    async def _job(
        self,
        key: str,
        kind: str,
        guild_id: int,
        payload: dict[str, Any],
        delay: timedelta = timedelta(0),
    ) -> None:
        run_at = self.clock.now() + delay
        if self.jobs is not None:
            await self.jobs.schedule(key, kind, run_at, payload, guild_id=guild_id)
        else:
            await JobRepository(self.db).upsert(
                key=key,
                kind=kind,
                guild_id=guild_id,
                run_at=run_at.timestamp(),
                payload=payload,
                now=self.clock.now().timestamp(),
            )
