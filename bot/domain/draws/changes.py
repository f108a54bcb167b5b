"""After the draw: answers, replacements, withdrawals and departures, each in the public record."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from bot.domain.audit.models import AuditEntry
from bot.domain.calls.models import Call, Category
from bot.domain.draws.base import (
    FINISH_JOB,
    MEMBER_LEFT_JOB,
    DrawParts,
    finish_job_key,
)
from bot.domain.draws.models import (
    DELETED,
    ConfirmOutcome,
    DrawEntry,
    ReplaceOutcome,
    ReplaceRow,
    ReviewOutcome,
)
from bot.domain.errors import NotAllowed
from bot.domain.values import Mention


class DrawChanges(DrawParts):
    """Members' answers and the changes to a drawn group."""

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
