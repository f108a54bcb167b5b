"""Freeze, then reveal: close a call and freeze its roster, name the public value, and make the
draw once that value is out and verified."""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.beacon.drand import first_round_after, time_of_round
from bot.domain.audit.models import AuditEntry
from bot.domain.calls.models import Call, Category, CategorySpec
from bot.domain.calls.rules import parse_places
from bot.domain.calls.service import close_job_key
from bot.domain.draws.algorithm import (
    ALGORITHM_ID,
    beacon_name,
    one_line,
)
from bot.domain.draws.base import (
    FREEZE_FORMAT,
    MAX_SOURCE,
    REVEAL_JOB,
    DrawParts,
    freeze_compute,
    frozen_order,
    iso_utc,
    reveal_job_key,
)
from bot.domain.draws.models import (
    BeaconChoice,
    DrawRecord,
    FreezeOutcome,
    FreezeRecord,
    RecordOutcome,
    RevealOutcome,
    RunOutcome,
)
from bot.domain.errors import Conflict, InvalidInput, NotFound

log = logging.getLogger(__name__)


class DrawFreezing(DrawParts):
    """Running a draw: the freeze, the public value, the reveal."""

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
            compute=freeze_compute(name),
            roles=(group_role_id, reviewer_role_id, roles_by),
            audit=audit,
        )
        if made.kind == "missing":
            raise NotFound("That call no longer exists.")
        if made.closed_call and reason != "schedule" and self.jobs is not None:
            await self.jobs.cancel(close_job_key(call.id))  # (the job itself is what runs now)
        return made

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
            order=frozen_order,
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
        beacon: dict[str, Any] = {"kind": freeze.beacon_kind, "due": iso_utc(freeze.beacon_due_at)}
        if freeze.beacon_kind == "drand":
            beacon.update(chain_hash=freeze.beacon_chain, round=freeze.beacon_round)
        else:
            beacon.update(source=freeze.beacon_source)
        return {
            "format": FREEZE_FORMAT,
            "format_version": 3,
            "call": {"guild_id": str(call.guild_id), "number": call.number, "title": call.title},
            "seed_commitment": call.seed_commitment,
            "frozen_at": iso_utc(freeze.frozen_at),
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
