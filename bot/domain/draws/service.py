"""The draw service: run a call's draw once, show and verify it, replace members, record answers."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from bot.beacon.drand import BeaconRound, ChainInfo, first_round_after, time_of_round
from bot.clock import Clock
from bot.domain.audit.models import AuditEntry
from bot.domain.audit.service import AuditService
from bot.domain.calls.models import Call, Category, CategorySpec
from bot.domain.calls.rules import parse_places
from bot.domain.calls.service import close_job_key
from bot.domain.delivery.engine import DeliveryRun
from bot.domain.delivery.models import PENDING, SENDING, OwnerKind, nonce_for
from bot.domain.draws.algorithm import (
    ALGORITHM,
    ALGORITHM_ID,
    Change,
    VerifyReport,
    beacon_name,
    draw_seed,
    entrant_ref,
    freeze_fingerprint,
    new_ref_salt,
    one_line,
    public_value_bytes,
    roster_fingerprint,
    run_draw,
    verify_published,
)
from bot.domain.draws.models import (
    DELETED,
    BeaconChoice,
    CategoryView,
    ConfirmOutcome,
    Deliveries,
    DrawEntry,
    DrawPart,
    DrawRecord,
    DrawView,
    FreezeOutcome,
    FreezeRecord,
    RecordOutcome,
    ReplaceOutcome,
    ReplaceRow,
    RevealOutcome,
    ReviewOutcome,
    RunOutcome,
)
from bot.domain.errors import Conflict, InvalidInput, NotAllowed, NotFound
from bot.domain.values import Mention, Moment
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


def _freeze_compute(name: str) -> FreezeCompute:
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


def _frozen_order(freeze: FreezeRecord, seed: str) -> dict[str, list[str]]:
    result = run_draw(
        draw_seed(seed, beacon_bytes(freeze)),
        freeze.roster,
        freeze.places,
        list(freeze.places),
        version=3,
    )
    return {c.key: list(c.order) for c in result.categories}


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


def _iso(at: float) -> str:
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


class DrawService:
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

    # -- organisers -----------------------------------------------------------------------------

    async def run(
        self,
        *,
        guild_id: int,
        number: int,
        actor_id: int,
        places: str | None = None,
        group_role_id: int | None = None,
        reviewer_role_id: int | None = None,
        choice: BeaconChoice | None = None,
        value: str | None = None,
    ) -> RunOutcome:
        """Freeze, then reveal (docs/draw.md). The first run closes the call and freezes its
        roster (unless closing froze it already), naming a public value that doesn't exist yet;
        a run once that value is out (and the freeze was published before it) makes the draw,
        once. A run after the draw returns that draw."""
        call = await self.call(guild_id, number)
        existing = await self.repo.get(call.id)
        if existing is not None:
            return await self._rerun(existing, places, group_role_id, reviewer_role_id, actor_id)
        freeze = await self.repo.get_freeze(call.id)
        froze_now = closed = False
        if freeze is None:
            made = await self.freeze(
                call,
                actor_id=actor_id,
                reason="draw",
                places=places,
                choice=choice or BeaconChoice(),
                roles=(group_role_id, reviewer_role_id),
            )
            if made.kind == "empty":
                raise InvalidInput(
                    f"Nobody has volunteered for call #{number} yet, so there is nobody to draw. "
                    "I haven't changed anything: the call stays as it was."
                )
            if made.kind == "drawn":
                drawn = await self.repo.get(call.id)
                assert drawn is not None
                return await self._rerun(drawn, places, group_role_id, reviewer_role_id, actor_id)
            assert made.freeze is not None
            freeze, froze_now, closed = made.freeze, made.kind == "created", made.closed_call
        else:
            self._same_places(call, freeze, places, await self.calls.categories(call.id))
            if choice is not None and choice.kind == "public" and freeze.beacon_kind != "public":
                raise Conflict(
                    f"Call #{number} was frozen with a drand round as its public value; that "
                    "can't change now. Re-open the call to start a new freeze."
                )
            if group_role_id is not None or reviewer_role_id is not None:
                await self.repo.set_freeze_roles(call.id, group_role_id, reviewer_role_id, actor_id)
        reveal = await self.reveal(call.id, actor_id, value=value)
        if reveal.kind in ("drawn", "existing"):
            return RunOutcome(
                await self.view(call.id),
                created=reveal.kind == "drawn",
                closed_call=closed,
                freeze=reveal.freeze,
                froze_now=froze_now,
            )
        return RunOutcome(
            None,
            created=False,
            closed_call=closed,
            freeze=reveal.freeze,
            froze_now=froze_now,
            waiting=reveal,
        )

    @staticmethod
    def _same_places(
        call: Call, freeze: FreezeRecord, places: str | None, categories: list[Category]
    ) -> None:
        """Places are fixed at the freeze: a different number given afterwards is refused."""
        if places is None or not places.strip():
            return
        specs = parse_places(
            places,
            [
                CategorySpec(c.emoji, c.key, c.label, freeze.places.get(c.key, c.places))
                for c in categories
            ],
        )
        if {s.key: s.places for s in specs} != freeze.places:
            raise Conflict(
                f"The places of call #{call.number} were fixed when its roster was frozen, and "
                "everyone can see them on the call post. To change them, re-open the call "
                "(`/call reopen`): closing it again makes a new freeze."
            )

    async def freeze(
        self,
        call: Call,
        *,
        actor_id: int | None,
        reason: str,
        places: str | None = None,
        choice: BeaconChoice | None = None,
        roles: tuple[int | None, int | None] = (None, None),
    ) -> FreezeOutcome:
        """Close the call and freeze its roster (one transaction with its audit rows): fresh
        entry references, the places, and the public value the draw will use, named now and
        due later (a drand round ``beacon_delay`` seconds on, or the organiser's value)."""
        choice = choice or BeaconChoice()
        categories = await self.calls.categories(call.id)
        override: dict[str, int] | None = None
        if places is not None and places.strip():
            specs = parse_places(
                places, [CategorySpec(c.emoji, c.key, c.label, c.places) for c in categories]
            )
            override = {s.key: s.places for s in specs}
        now = self.clock.now().timestamp()
        beacon: dict[str, Any]
        if choice.kind == "public":
            source = one_line(choice.source)
            if not source or len(source) > MAX_SOURCE:
                raise InvalidInput(
                    "Describe the public value in up to 300 characters: what it is, where it is "
                    "published and when (for example the numbers of a national lottery draw)."
                )
            if choice.due_at is None or choice.due_at <= now:
                raise InvalidInput(
                    "The public value must come out after the roster is frozen: give a date and "
                    "time in the future."
                )
            beacon = {"kind": "public", "source": source, "due_at": choice.due_at}
            name = beacon_name("public", source=source)
        else:
            chain = await self._chain()
            round_number = first_round_after(chain, now + self.beacon_delay)
            beacon = {
                "kind": "drand",
                "chain": chain.chain_hash,
                "round": round_number,
                "due_at": float(time_of_round(chain, round_number)),
            }
            name = beacon_name("drand", chain_hash=chain.chain_hash, round_number=round_number)
        group_role_id, reviewer_role_id = roles
        roles_by = actor_id if group_role_id or reviewer_role_id else None

        def audit(made: FreezeOutcome) -> list[AuditEntry]:
            rows = []
            if made.closed_call:
                rows.append(
                    self.audit.entry(
                        call.guild_id, actor_id, "call.closed", f"call:{call.number}", reason=reason
                    )
                )
            if made.freeze is not None:
                rows.append(
                    self.audit.entry(
                        call.guild_id,
                        actor_id,
                        "draw.frozen",
                        f"call:{call.number}",
                        roster_hash=made.freeze.roster_hash,
                        freeze_hash=made.freeze.freeze_hash,
                        volunteers=len(made.freeze.roster),
                        places=made.freeze.places,
                        beacon=name,
                        due_at=made.freeze.beacon_due_at,
                        group_role_id=group_role_id,
                        reviewer_role_id=reviewer_role_id,
                    )
                )
            return rows

        made = await self.repo.freeze(
            call.id,
            now=now,
            actor_id=actor_id,
            reason=reason,
            places=override,
            beacon=beacon,
            beacon_name=name,
            compute=_freeze_compute(name),
            roles=(group_role_id, reviewer_role_id, roles_by),
            audit=audit,
        )
        if made.kind == "missing":
            raise NotFound("That call no longer exists.")
        if made.closed_call and reason != "schedule" and self.jobs is not None:
            await self.jobs.cancel(close_job_key(call.id))  # (the job itself is what runs now)
        return made

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

    async def freeze_for_close(
        self, call_id: int, *, actor_id: int | None, reason: str
    ) -> FreezeOutcome:
        """Closing a call (by hand, on time, or because its post is gone) freezes its roster."""
        call = await self.calls.get(call_id)
        if call is None:
            return FreezeOutcome("missing")
        return await self.freeze(call, actor_id=actor_id, reason=reason)

    async def reveal(
        self, call_id: int, actor_id: int | None = None, *, value: str | None = None
    ) -> RevealOutcome:
        """Make the draw of a frozen call, once, if its public value is out: fetched from the
        beacon and verified (drand), or ``value`` as the organiser entered it (public)."""
        from bot.beacon.client import BeaconError

        freeze = await self.repo.get_freeze(call_id)
        if freeze is None:
            raise NotFound("That call hasn't been frozen yet.")
        if await self.repo.get(call_id) is not None:
            return RevealOutcome("existing", freeze)
        now = self.clock.now().timestamp()
        if now < freeze.beacon_due_at:
            return RevealOutcome("not_due", freeze)
        if freeze.posted_at is None or freeze.posted_at >= freeze.beacon_due_at:
            return RevealOutcome("not_published", freeze)
        beacon: tuple[str, str | None] | None = None
        if freeze.beacon_value is None:
            if freeze.beacon_kind == "public":
                if value is None or not value.strip():
                    return RevealOutcome("need_value", freeze)
                text = " ".join(value.split())
                if len(text) > MAX_SOURCE:
                    raise InvalidInput("The public value is at most 300 characters.")
                beacon = (text, None)
            else:
                try:
                    chain = await self._chain()
                    if chain.chain_hash != freeze.beacon_chain:
                        return RevealOutcome(
                            "waiting",
                            freeze,
                            "the beacon set up now is not the chain named at the freeze",
                        )
                    assert freeze.beacon_round is not None and self.beacon is not None
                    got = await self.beacon.fetch(freeze.beacon_round)
                except (BeaconError, Conflict) as exc:
                    log.warning("draw for call %s is waiting for the beacon: %s", call_id, exc)
                    return RevealOutcome("waiting", freeze, str(exc))
                beacon = (got.randomness.hex(), got.signature.hex())
            freeze = replace(freeze, beacon_value=beacon[0], beacon_signature=beacon[1])
        elif value is not None and value.strip() and " ".join(value.split()) != freeze.beacon_value:
            raise Conflict("The public value was entered already and can't change.")
        call = await self.calls.get(call_id)
        assert call is not None

        def audit(made: RecordOutcome) -> AuditEntry:
            assert made.draw is not None
            return self.audit.entry(
                call.guild_id,
                actor_id,
                "draw.run",
                f"call:{call.number}",
                algorithm=made.draw.algorithm,
                roster_hash=made.draw.roster_hash,
                freeze_hash=freeze.freeze_hash,
                beacon=freeze.beacon_name,
                beacon_value=freeze.beacon_value,
                volunteers=len(made.draw.roster),
                places=made.draw.places,
            )

        made = await self.repo.record_frozen(
            call_id,
            algorithm=ALGORITHM_ID,
            order=_frozen_order,
            drawn_by=actor_id,
            now=now,
            beacon=beacon,
            audit=audit,
        )
        if made.kind == "missing":
            raise NotFound("That draw no longer exists.")
        if self.jobs is not None:
            await self.jobs.cancel(reveal_job_key(call_id))
        stored = await self.repo.get_freeze(call_id)
        return RevealOutcome("drawn" if made.kind == "created" else "existing", stored or freeze)

    async def reveal_later(self, call_id: int, guild_id: int, at: float) -> None:
        """Ask the draws cog (job :data:`REVEAL_JOB`) to make the draw at ``at``."""
        run_at = datetime.fromtimestamp(at, UTC)
        delay = max(timedelta(0), run_at - self.clock.now())
        await self._job(reveal_job_key(call_id), REVEAL_JOB, guild_id, {"call_id": call_id}, delay)

    async def freeze_of(self, call_id: int) -> FreezeRecord | None:
        return await self.repo.get_freeze(call_id)

    async def mark_freeze_posted(self, call_id: int, message_id: int) -> bool:
        return await self.repo.mark_freeze_posted(call_id, message_id, self.clock.now().timestamp())

    async def unposted_freezes(self) -> list[tuple[int, int]]:
        return await self.repo.unposted_freezes()

    async def claim_waiting_notice(self, call_id: int) -> bool:
        return await self.repo.claim_waiting_notice(call_id, self.clock.now().timestamp())

    def freeze_export(
        self, call: Call, categories: list[Category], freeze: FreezeRecord
    ) -> dict[str, Any]:
        """The frozen roster file published on the call post before the public value exists
        (``call-N-roster.json``)."""
        beacon: dict[str, Any] = {"kind": freeze.beacon_kind, "due": _iso(freeze.beacon_due_at)}
        if freeze.beacon_kind == "drand":
            beacon.update(chain_hash=freeze.beacon_chain, round=freeze.beacon_round)
        else:
            beacon.update(source=freeze.beacon_source)
        return {
            "format": FREEZE_FORMAT,
            "format_version": 3,
            "call": {"guild_id": str(call.guild_id), "number": call.number, "title": call.title},
            "seed_commitment": call.seed_commitment,
            "frozen_at": _iso(freeze.frozen_at),
            "beacon": beacon,
            "beacon_name": freeze.beacon_name,
            "categories": [
                {
                    "key": c.key,
                    "emoji": c.emoji,
                    "label": c.label,
                    "places": freeze.places.get(c.key, c.places),
                }
                for c in categories
            ],
            "roster": [{"ref": r, "category": k} for r, k in freeze.roster],
            "roster_fingerprint": freeze.roster_hash,
            "freeze_fingerprint": freeze.freeze_hash,
        }

    def freeze_json(self, call: Call, categories: list[Category], freeze: FreezeRecord) -> str:
        return (
            json.dumps(self.freeze_export(call, categories, freeze), ensure_ascii=False, indent=2)
            + "\n"
        )

    async def _rerun(
        self,
        draw: DrawRecord,
        places: str | None,
        group_role_id: int | None,
        reviewer_role_id: int | None,
        actor_id: int,
    ) -> RunOutcome:
        ignored: list[str] = []
        if places is not None and places.strip():
            ignored.append("places")
        if group_role_id is not None and draw.group_role_id not in (None, group_role_id):
            ignored.append("group-role")
        if reviewer_role_id is not None and draw.reviewer_role_id not in (None, reviewer_role_id):
            ignored.append("reviewer-role")
        if (group_role_id is not None and draw.group_role_id is None) or (
            reviewer_role_id is not None and draw.reviewer_role_id is None
        ):
            await self.repo.set_roles(draw.call_id, group_role_id, reviewer_role_id, actor_id)
        return RunOutcome(await self.view(draw.call_id), created=False, ignored=tuple(ignored))

    async def replace(
        self, guild_id: int, number: int, user_id: int, actor_id: int
    ) -> ReplaceOutcome:
        """An organiser takes ``user_id`` out of the group; the next reserve takes the place."""
        call = await self._drawn_call(guild_id, number)
        return await self._replace(call, user_id, actor_id, reason="organiser", by_member=False)

    async def _replace(
        self, call: Call, user_id: int, actor_id: int, *, reason: str, by_member: bool
    ) -> ReplaceOutcome:
        categories = {c.id: c for c in await self.calls.categories(call.id)}

        def audit(left: ReplaceRow) -> AuditEntry:
            return self.audit.entry(
                call.guild_id,
                actor_id,
                "draw.declined" if by_member else "draw.replaced",
                f"call:{call.number}",
                left_user_id=user_id,
                promoted_user_id=left.promoted_user_id,
                category=categories[left.category_id].key,
                place_open=left.promoted_user_id is None,
            )

        row = await self.repo.replace(
            call.id,
            user_id,
            now=self.clock.now().timestamp(),
            reason=reason,
            declined=by_member,
            audit=audit,
        )
        if row is None:
            entry = await self.repo.entry(call.id, user_id)
            raise self._not_in_group(call, user_id, entry, by_member=by_member)
        draw = await self.repo.get(call.id)
        assert draw is not None
        category = categories[row.category_id]
        return ReplaceOutcome(
            call,
            category,
            user_id,
            row.promoted_user_id,
            draw.group_role_id,
            draw.result_message_id,
            row.left_ref,
            row.promoted_ref,
        )

    async def withdraw_member(self, guild_id: int, user_id: int) -> list[ReplaceOutcome]:
        """The member deleted their data: withdraw them from every draw of this server.

        In the group: they leave it and the next reserve of the category is offered the place,
        exactly as with ``/draw replace`` (one transaction per draw). On a reserve list: they
        leave the list, so they are never offered a place. Each is audited. Returns the places
        given up (reserve withdrawals are not returned); the caller passes them to
        :meth:`announce_departures` once the member's data is deleted, so the announcement can
        never run while the member's id is still on the entry.
        """
        freed: list[ReplaceOutcome] = []
        for call_id in await self.repo.active_calls_of(guild_id, user_id):
            call = await self.calls.get(call_id)
            categories = {c.id: c for c in await self.calls.categories(call_id)}

            def audit(
                left: ReplaceRow,
                call: Call | None = call,
                categories: dict[int, Category] = categories,
            ) -> AuditEntry | None:
                if call is None:
                    return None
                return self.audit.entry(
                    guild_id,
                    user_id,
                    "draw.withdrawn",
                    f"call:{call.number}",
                    left_user_id=user_id,
                    was_in_group=left.was_selected,
                    promoted_user_id=left.promoted_user_id,
                    category=categories[left.category_id].key,
                    place_open=left.was_selected and left.promoted_user_id is None,
                )

            row = await self.repo.withdraw(
                call_id, user_id, now=self.clock.now().timestamp(), audit=audit
            )
            if row is None or call is None:
                continue
            category = categories[row.category_id]
            if not row.was_selected:
                continue
            draw = await self.repo.get(call_id)
            assert draw is not None
            freed.append(
                ReplaceOutcome(
                    call,
                    category,
                    None,
                    row.promoted_user_id,
                    draw.group_role_id,
                    draw.result_message_id,
                    row.left_ref,
                    row.promoted_ref,
                )
            )
        return freed

    async def announce_departures(
        self, guild_id: int, departures: Iterable[tuple[int, str, str | None]]
    ) -> None:
        """Ask the draws cog, through a persisted job per departure (:data:`MEMBER_LEFT_JOB`), to
        announce places given up outside an interaction (``(call_id, left_ref, promoted_ref)``)
        and to offer each to the promoted member. Without a scheduler at hand the jobs are only
        written; the running scheduler arms them at its next top-up or at start."""
        for call_id, left_ref, promoted_ref in departures:
            payload = {"call_id": call_id, "ref": left_ref, "promoted_ref": promoted_ref}
            await self._job(f"draw:{call_id}:left:{left_ref}", MEMBER_LEFT_JOB, guild_id, payload)

    async def finish_later(
        self, call_id: int, guild_id: int, delay: timedelta = timedelta(0)
    ) -> None:
        """Ask the draws cog, through the call's persisted :data:`FINISH_JOB`, to finish the
        draw's Discord side after ``delay`` (asking again only moves the one job)."""
        await self._job(finish_job_key(call_id), FINISH_JOB, guild_id, {"call_id": call_id}, delay)

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

    async def left_outcome(
        self, call_id: int, ref: str, promoted_ref: str | None
    ) -> ReplaceOutcome | None:
        """A recorded departure, rebuilt from the database (for the :data:`MEMBER_LEFT_JOB`).
        A member who left by deleting their data is never named, even while their id is still
        on the entry."""
        call = await self.calls.get(call_id)
        draw = await self.repo.get(call_id)
        left = await self.repo.entry_by_ref(call_id, ref)
        if call is None or draw is None or left is None:
            return None
        promoted = await self.repo.entry_by_ref(call_id, promoted_ref) if promoted_ref else None
        category = next(c for c in await self.calls.categories(call_id) if c.id == left.category_id)
        left_user = None if left.left_reason == DELETED else left.user_id
        return ReplaceOutcome(
            call,
            category,
            left_user,
            promoted.user_id if promoted is not None else None,
            draw.group_role_id,
            draw.result_message_id,
            left.ref,
            promoted.ref if promoted is not None else None,
        )

    async def claim_announcement(self, call_id: int, ref: str) -> bool:
        """Claim the one "has left the group" post about this entry; False if it was made."""
        return await self.repo.claim_announcement(call_id, ref, self.clock.now().timestamp())

    async def release_announcement(self, call_id: int, ref: str) -> None:
        await self.repo.release_announcement(call_id, ref)

    @staticmethod
    def _not_in_group(
        call: Call, user_id: int, entry: DrawEntry | None, *, by_member: bool
    ) -> NotAllowed:
        """Why the member's place can't change (``by_member``: they pressed a button)."""
        n = call.number
        if by_member:
            if entry is not None and entry.status == "replaced":
                return NotAllowed(
                    f"You've already given up your place in call #{n}. Thank you for letting us "
                    "know."
                )
            return NotAllowed(
                f"These buttons are for the members drawn for call #{n}, and you're not in its "
                "group at the moment, so there's nothing to change."
            )
        who = Mention(user_id)
        if entry is not None and entry.status == "withdrawn":
            message = "{who} has withdrawn from the draw for call #%d; nothing was changed."
        elif entry is None:
            message = (
                "{who} didn't volunteer for call #%d, so they're not in its group. "
                "`/draw show call:%d` lists who is."
            )
        elif entry.status == "reserve":
            message = (
                "{who} is on the reserve list for call #%d, not in the group, so there's "
                "nothing to replace. `/draw show call:%d` lists who is in the group."
            )
        else:
            message = "{who} has already left the group for call #%d; nothing was changed."
        return NotAllowed(message.replace("%d", str(n)), who=who)

    async def verify(self, guild_id: int, number: int) -> VerifyReport:
        """Re-run the draw from its stored, published data and compare with the recorded result
        (version 3: with the freeze, the beacon value and the changes after the draw)."""
        view = await self.show(guild_id, number)
        freeze = view.freeze if view.draw.version >= 3 else None
        report = verify_published(
            algorithm=view.draw.algorithm,
            seed=view.draw.seed,
            roster=view.draw.roster,
            places=view.draw.places,
            category_order=[c.category.key for c in view.categories],
            commitment=view.call.seed_commitment,
            fingerprint=view.draw.roster_hash,
            published={c.category.key: list(c.refs) for c in view.categories},
            beacon_value=beacon_bytes(freeze) if freeze is not None else None,
            beacon=freeze.beacon_name if freeze is not None else None,
            freeze=freeze.freeze_hash if freeze is not None else None,
            changes=[
                Change(c.category_key, c.left_ref, c.joined_ref, c.reason) for c in view.changes
            ],
        )
        if freeze is not None and freeze.beacon_kind == "drand" and self.beacon is not None:
            from bot.beacon.drand import verify_round

            chain = await self.beacon.chain()
            assert freeze.beacon_round is not None and freeze.beacon_signature is not None
            genuine = chain.chain_hash == freeze.beacon_chain and verify_round(
                chain, BeaconRound(freeze.beacon_round, bytes.fromhex(freeze.beacon_signature))
            )
            genuine = (
                genuine
                and BeaconRound(
                    freeze.beacon_round, bytes.fromhex(freeze.beacon_signature)
                ).randomness.hex()
                == freeze.beacon_value
            )
            report = replace(
                report,
                beacon_ok=genuine,
                problems=report.problems
                + (() if genuine else ("The beacon round's signature does not verify.",)),
            )
        return report

    def export(self, view: DrawView) -> dict[str, Any]:
        """Everything needed to re-run the draw anywhere (``python -m bot.verify_draw --json``).

        No user ids (algorithm v2 and v3): volunteers are listed by their entry reference.
        Version 3 adds the freeze (its fingerprint, when and where it was published), the
        beacon value with what proves it (the drand round's signature and the chain's public
        key), and the changes after the draw.
        """
        version = view.draw.version
        who = "user_id" if version == 1 else "ref"
        data: dict[str, Any] = {
            "format": EXPORT_FORMAT,
            "format_version": version if version < 3 else EXPORT_VERSION,
            "algorithm": ALGORITHM,
            "algorithm_version": version,
            "call": {
                "guild_id": str(view.call.guild_id),
                "number": view.call.number,
                "title": view.call.title,
            },
            "seed": view.draw.seed,
            "seed_commitment": view.call.seed_commitment,
            "roster_fingerprint": view.draw.roster_hash,
            "categories": [
                {
                    "key": c.category.key,
                    "emoji": c.category.emoji,
                    "label": c.category.label,
                    "places": c.places,
                }
                for c in view.categories
            ],
            "roster": [{who: entrant, "category": k} for entrant, k in view.draw.roster],
            "result": {
                c.category.key: {"selected": list(c.drawn_refs), "reserve": list(c.reserve_refs)}
                for c in view.categories
            },
        }
        freeze = view.freeze
        if version >= 3 and freeze is not None:
            beacon: dict[str, Any] = {"kind": freeze.beacon_kind, "due": _iso(freeze.beacon_due_at)}
            if freeze.beacon_kind == "drand":
                beacon.update(
                    chain_hash=freeze.beacon_chain,
                    round=freeze.beacon_round,
                    randomness=freeze.beacon_value,
                    signature=freeze.beacon_signature,
                )
                if self._known_chain is not None:
                    chain = self._known_chain
                    beacon["chain"] = {
                        "public_key": chain.public_key.hex(),
                        "period": chain.period,
                        "genesis_time": chain.genesis_time,
                        "group_hash": chain.group_hash.hex(),
                        "beacon_id": chain.beacon_id,
                        "scheme_id": chain.scheme_id,
                    }
            else:
                beacon.update(source=freeze.beacon_source, value=freeze.beacon_value)
            data["freeze"] = {
                "fingerprint": freeze.freeze_hash,
                "beacon_name": freeze.beacon_name,
                "frozen_at": _iso(freeze.frozen_at),
                "published_at": _iso(freeze.posted_at) if freeze.posted_at else None,
                "message_id": str(freeze.message_id) if freeze.message_id else None,
            }
            data["beacon"] = beacon
            data["draw_seed"] = draw_seed(view.draw.seed, beacon_bytes(freeze))
            data["changes"] = [
                {
                    "category": c.category_key,
                    "left": c.left_ref,
                    "joined": c.joined_ref,
                    "at": _iso(c.at),
                    "why": c.reason,
                }
                for c in view.changes
            ]
        return data

    def export_json(self, view: DrawView) -> str:
        return json.dumps(self.export(view), ensure_ascii=False, indent=2) + "\n"

    # -- members --------------------------------------------------------------------------------

    async def _call_by_id(self, call_id: int) -> Call:
        call = await self.calls.get(call_id)
        if call is None or await self.repo.get(call_id) is None:
            raise NotFound("That draw no longer exists, so this button doesn't do anything now.")
        return call

    async def confirm(self, call_id: int, user_id: int) -> ConfirmOutcome:
        call = await self._call_by_id(call_id)
        audit = self.audit.entry(
            call.guild_id, user_id, "draw.confirmed", f"call:{call.number}", user_id=user_id
        )
        if await self.repo.confirm(call_id, user_id, audit=audit):
            return ConfirmOutcome(call, changed=True)
        entry = await self.repo.entry(call_id, user_id)
        if entry is not None and entry.status == "selected" and entry.confirmation == "confirmed":
            return ConfirmOutcome(call, changed=False)
        raise self._not_in_group(call, user_id, entry, by_member=True)

    async def decline(self, call_id: int, user_id: int) -> ReplaceOutcome:
        """The member can't take part: they leave and the next reserve is offered the place."""
        call = await self._call_by_id(call_id)
        return await self._replace(call, user_id, user_id, reason="declined", by_member=True)

    async def keep_place(self, call_id: int, user_id: int) -> Call:
        """The member decided to keep their place after all: nothing changes, but they must
        still be in the group (otherwise they are told kindly why not)."""
        call = await self._call_by_id(call_id)
        entry = await self.repo.entry(call_id, user_id)
        if entry is None or entry.status != "selected":
            raise self._not_in_group(call, user_id, entry, by_member=True)
        return call

    async def answer_review(self, call_id: int, user_id: int, *, accept: bool) -> ReviewOutcome:
        call = await self._call_by_id(call_id)
        if await self.repo.reviewer(call_id, user_id) is None:
            raise NotAllowed(
                f"This invitation is for the volunteers of call #{call.number} who weren't drawn. "
                "If you'd like to help review, please ask an organiser."
            )
        changed = await self.repo.answer_review(
            call_id,
            user_id,
            accept=accept,
            now=self.clock.now().timestamp(),
            audit=self.audit.entry(
                call.guild_id,
                user_id,
                "review.accepted" if accept else "review.declined",
                f"call:{call.number}",
                user_id=user_id,
            ),
        )
        draw = await self.repo.get(call_id)
        return ReviewOutcome(call, accept, changed, draw.reviewer_role_id if draw else None)

    # -- what the cog still has to do (crash-safe passes) --------------------------------------

    async def unfinished(self) -> list[tuple[int, int]]:
        """``(call_id, guild_id)`` of draws not posted yet or with members still to be told."""
        return await self.repo.unfinished()

    async def mark_posted(self, call_id: int, message_id: int) -> bool:
        call = await self.calls.get(call_id)
        audit = (
            None
            if call is None
            else self.audit.entry(
                call.guild_id, None, "draw.posted", f"call:{call.number}", message_id=message_id
            )
        )
        return await self.repo.mark_posted(
            call_id, message_id, self.clock.now().timestamp(), audit=audit
        )

    def delivery_run(self, call_id: int, part: DrawPart) -> DeliveryRun:
        """The one delivery engine's run for the members' ``part`` messages of a draw
        ("notice": a place in the group; "invite": to review the plan)."""
        return DeliveryRun(self.deliveries_log, self.clock, call_id, part, f"draw:{call_id}:{part}")

    async def deliveries(self, call_id: int) -> Deliveries:
        """Who is still to be told (their message not yet sent, failed or of unknown fate: a
        message a stop interrupted is settled by the engine), and who still needs a role."""
        view = await self.view(call_id)
        entries = [e for c in view.categories for e in c.entries if e.user_id is not None]

        def due(part: DrawPart, user_id: int | None) -> bool:
            told = view.told(part, user_id)
            return told is None or told.state in (PENDING, SENDING)

        return Deliveries(
            notices=tuple(
                e for e in entries if e.status == "selected" and due("notice", e.user_id)
            ),
            invites=tuple(e for e in entries if e.status == "reserve" and due("invite", e.user_id)),
            roles=tuple(
                e.user_id
                for e in entries
                if e.user_id is not None and e.status == "selected" and e.role_at is None
            )
            if view.draw.group_role_id
            else (),
            reviewer_roles=tuple(
                r.user_id for r in view.reviewers if r.status == "accepted" and r.role_at is None
            )
            if view.draw.reviewer_role_id
            else (),
        )

    async def record_unknown(self, call: Call, part: DrawPart, user_ids: list[int]) -> None:
        """Messages a stop interrupted too long ago to send again safely (they may have gone
        out): on the record, so organisers can check with the member."""
        for user_id in user_ids:
            log.warning(
                "draw for call %s: the %s to %s may not have arrived", call.id, part, user_id
            )
            await self.audit.record(
                call.guild_id, None, f"draw.{part}_unknown", f"call:{call.number}", user_id=user_id
            )

    async def role_given(self, call_id: int, user_id: int, given: bool = True) -> None:
        await self.repo.mark_role(call_id, user_id, self.clock.now().timestamp() if given else None)

    async def reviewer_role_given(self, call_id: int, user_id: int, given: bool = True) -> None:
        await self.repo.mark_reviewer_role(
            call_id, user_id, self.clock.now().timestamp() if given else None
        )
