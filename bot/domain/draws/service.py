"""The draw service: run a call's draw once, show and verify it, replace members, record answers."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

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
    VerifyReport,
    entrant_ref,
    new_ref_salt,
    run_draw,
    verify_published,
)
from bot.domain.draws.models import (
    DELETED,
    CategoryView,
    ConfirmOutcome,
    Deliveries,
    DrawEntry,
    DrawPart,
    DrawRecord,
    DrawView,
    NewDraw,
    RecordOutcome,
    ReplaceOutcome,
    ReplaceRow,
    ReviewOutcome,
    RunOutcome,
)
from bot.domain.errors import InvalidInput, NotAllowed, NotFound
from bot.domain.values import Mention
from bot.scheduling import JobScheduler
from db import Database
from db.repositories.calls import CallRepository
from db.repositories.deliveries import DeliveryLog
from db.repositories.draws import DrawRepository
from db.repositories.jobs import JobRepository

log = logging.getLogger(__name__)


EXPORT_FORMAT = "coprobot-draw"


EXPORT_VERSION = 2  # 2: volunteers listed by entry reference ("ref"); 1: by "user_id"


DOCS = "docs/draw.md"


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


def delivery_nonce(kind: str, call_id: int, ref: str) -> str:
    """The Discord nonce of the one ``kind`` message ("notice" or "invite") to the member whose
    entry reference is ``ref``: every attempt to send it uses the same one."""
    return nonce_for(f"draw:{call_id}:{kind}:{ref}")


def finish_job_key(call_id: int) -> str:
    return f"draw:{call_id}:finish"


def fallback_nonce(kind: str, call_id: int, refs: Iterable[str]) -> str:
    """The nonce of the channel post that mentions the members with closed DMs (by their refs)."""
    return nonce_for(f"draw:{call_id}:{kind}-fallback:{','.join(sorted(refs))}")


def _compute(
    seed: str, roster: list[tuple[int, str]], places: dict[str, int], order: list[str]
) -> NewDraw:
    """Give every volunteer an entry reference under a fresh secret salt, then draw on the refs."""
    while True:
        salt = new_ref_salt()
        refs = {user_id: entrant_ref(salt, user_id) for user_id, _ in roster}
        if len(set(refs.values())) == len(refs):  # a clash needs a 128-bit collision
            break
    published = sorted((refs[user_id], key) for user_id, key in roster)
    result = run_draw(seed, published, places, order)
    user_of = {ref: user_id for user_id, ref in refs.items()}
    return NewDraw(
        result.algorithm,
        result.roster_fingerprint,
        salt,
        published,
        {c.key: [(ref, user_of[ref]) for ref in c.order] for c in result.categories},
    )


class DrawService:
    def __init__(self, db: Database, clock: Clock, jobs: JobScheduler | None = None) -> None:
        self.db = db
        self.clock = clock
        self.jobs = jobs
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
        return DrawView(
            call,
            draw,
            categories,
            tuple(await self.repo.reviewers(call_id)),
            tuple(await self.deliveries_log.rows(call_id)),
        )

    async def show(self, guild_id: int, number: int) -> DrawView:
        call = await self._drawn_call(guild_id, number)
        return await self.view(call.id)

    async def view_if_drawn(self, call_id: int) -> DrawView | None:
        if await self.repo.get(call_id) is None:
            return None
        return await self.view(call_id)

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
    ) -> RunOutcome:
        """Close the call, freeze its roster and draw, once. A second run returns the first draw."""
        call = await self.call(guild_id, number)
        existing = await self.repo.get(call.id)
        if existing is not None:
            return await self._rerun(existing, places, group_role_id, reviewer_role_id)
        categories = await self.calls.categories(call.id)
        override: dict[str, int] | None = None
        if places is not None and places.strip():
            specs = parse_places(
                places, [CategorySpec(c.emoji, c.key, c.label, c.places) for c in categories]
            )
            override = {s.key: s.places for s in specs}
        now = self.clock.now().timestamp()

        def audit(made: RecordOutcome) -> AuditEntry:
            assert made.draw is not None
            return self.audit.entry(
                guild_id,
                actor_id,
                "draw.run",
                f"call:{number}",
                algorithm=made.draw.algorithm,
                roster_hash=made.draw.roster_hash,
                volunteers=len(made.draw.roster),
                places=made.draw.places,
                closed_call=made.closed_call,
                group_role_id=group_role_id,
                reviewer_role_id=reviewer_role_id,
            )

        outcome = await self.repo.record(
            call.id,
            places=override,
            compute=_compute,
            drawn_by=actor_id,
            now=now,
            group_role_id=group_role_id,
            reviewer_role_id=reviewer_role_id,
            audit=audit,
        )
        if outcome.kind == "missing":
            raise NotFound("That call no longer exists.")
        if outcome.kind == "empty":
            raise InvalidInput(
                f"Nobody has volunteered for call #{number} yet, so there is nobody to draw. "
                "I haven't changed anything: the call stays as it was."
            )
        assert outcome.draw is not None
        if outcome.kind == "existing":  # another run got there first
            return await self._rerun(outcome.draw, places, group_role_id, reviewer_role_id)
        if self.jobs is not None:
            await self.jobs.cancel(close_job_key(call.id))
        view = await self.view(call.id)
        return RunOutcome(view, created=True, closed_call=outcome.closed_call)

    async def _rerun(
        self,
        draw: DrawRecord,
        places: str | None,
        group_role_id: int | None,
        reviewer_role_id: int | None,
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
            await self.repo.set_roles(draw.call_id, group_role_id, reviewer_role_id)
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
        """Re-run the draw from its stored, published data and compare with the recorded result."""
        view = await self.show(guild_id, number)
        return verify_published(
            algorithm=view.draw.algorithm,
            seed=view.draw.seed,
            roster=view.draw.roster,
            places=view.draw.places,
            category_order=[c.category.key for c in view.categories],
            commitment=view.call.seed_commitment,
            fingerprint=view.draw.roster_hash,
            published={c.category.key: list(c.refs) for c in view.categories},
        )

    def export(self, view: DrawView) -> dict[str, Any]:
        """Everything needed to re-run the draw anywhere (``python -m bot.verify_draw --json``).

        No user ids (algorithm v2): volunteers are listed by their entry reference.
        """
        version = view.draw.version
        who = "user_id" if version == 1 else "ref"
        return {
            "format": EXPORT_FORMAT,
            "format_version": 1 if version == 1 else EXPORT_VERSION,
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
