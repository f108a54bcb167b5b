"""What a draw publishes and delivers: the verification, the exported file, the members' notices
and the roles given."""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from typing import Any

from bot.beacon.drand import BeaconRound
from bot.domain.calls.models import Call
from bot.domain.delivery.engine import DeliveryRun
from bot.domain.delivery.models import PENDING, SENDING
from bot.domain.draws.algorithm import (
    ALGORITHM,
    Change,
    VerifyReport,
    draw_seed,
    verify_published,
)
from bot.domain.draws.base import (
    EXPORT_FORMAT,
    EXPORT_VERSION,
    DrawParts,
    beacon_bytes,
    iso_utc,
)
from bot.domain.draws.models import (
    Deliveries,
    DrawPart,
    DrawView,
)

log = logging.getLogger(__name__)


class DrawPublication(DrawParts):
    """The published record, its verification, and the messages and roles that follow a draw."""

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
            beacon: dict[str, Any] = {
                "kind": freeze.beacon_kind,
                "due": iso_utc(freeze.beacon_due_at),
            }
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
                "frozen_at": iso_utc(freeze.frozen_at),
                "published_at": iso_utc(freeze.posted_at) if freeze.posted_at else None,
                "message_id": str(freeze.message_id) if freeze.message_id else None,
            }
            data["beacon"] = beacon
            data["draw_seed"] = draw_seed(view.draw.seed, beacon_bytes(freeze))
            data["changes"] = [
                {
                    "category": c.category_key,
                    "left": c.left_ref,
                    "joined": c.joined_ref,
                    "at": iso_utc(c.at),
                    "why": c.reason,
                }
                for c in view.changes
            ]
        return data

    def export_json(self, view: DrawView) -> str:
        return json.dumps(self.export(view), ensure_ascii=False, indent=2) + "\n"

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
