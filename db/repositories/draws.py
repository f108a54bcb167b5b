"""draws."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, Literal

from bot.domain.audit.models import AuditFor, AuditMade
from bot.domain.draws.models import (
    ClaimKind,
    Compute,
    DrawEntry,
    DrawRecord,
    RecordOutcome,
    ReplaceRow,
    Reviewer,
)
from db.database import Database, Row, Tx
from db.repositories.audit import append_entries, execute_audited

_DRAW_COLUMNS = (
    "call_id, algorithm, seed, roster_hash, roster_json, places_json, group_role_id, "
    "reviewer_role_id, drawn_by, drawn_at, result_message_id, posted_at"
)


_ENTRY_COLUMNS = (
    "e.call_id, e.ref, e.user_id, e.category_id, e.rank, e.status, e.confirmation, "
    "e.promoted_at, e.left_at, e.left_reason, e.notified_at, e.notified_via, e.invited_at, "
    "e.invited_via, e.role_at, e.announced_at"
)


# Claims of a per-member delivery: one atomic UPDATE each, so a re-run never sends twice.
# ``?1`` now, ``?2`` call, ``?3`` user, ``?4`` the oldest claim that may be taken over, ``?5`` the
# claiming process. A claim an earlier process (a crash) left without ``via``, or one given back
# after an attempt that may have reached Discord (``_UNCLAIM``: no claiming process), is taken
# over once, and only while Discord still de-duplicates the same nonce; it keeps its first claim
# time, so a second crash or failure can't stretch that window. A claim of the same process is
# never taken over: it is a send in progress.
_CLAIM = {
    "notice": "UPDATE draw_entries SET notified_at = COALESCE(notified_at, ?1), notify_claim = ?5 "
    "WHERE call_id = ?2 AND user_id = ?3 AND status = 'selected' "
    "AND (notified_at IS NULL OR (notified_via IS NULL AND notified_at >= ?4 "
    "AND notify_claim IS NOT ?5))",
    "invite": "UPDATE draw_entries SET invited_at = COALESCE(invited_at, ?1), invite_claim = ?5 "
    "WHERE call_id = ?2 AND user_id = ?3 AND status = 'reserve' "
    "AND (invited_at IS NULL OR (invited_via IS NULL AND invited_at >= ?4 "
    "AND invite_claim IS NOT ?5))",
}


_VIA = {
    "notice": "UPDATE draw_entries SET notified_via = ? WHERE call_id = ? "
    "AND user_id IN (SELECT value FROM json_each(?))",
    "invite": "UPDATE draw_entries SET invited_via = ? WHERE call_id = ? "
    "AND user_id IN (SELECT value FROM json_each(?))",
}


# The claim time before a claim: NULL means the claim is the member's first (nothing was ever
# attempted), else an earlier attempt's fate is unknown and its claim time must be kept.
_CLAIMED_AT = {
    "notice": "SELECT notified_at FROM draw_entries WHERE call_id = ? AND user_id = ?",
    "invite": "SELECT invited_at FROM draw_entries WHERE call_id = ? AND user_id = ?",
}


# Only a claim still without ``via`` is given back: a delivery on record is never undone.
# _RELEASE: Discord refused a first attempt (nothing was made), so the claim is forgotten.
_RELEASE = {
    "notice": "UPDATE draw_entries SET notified_at = NULL, notify_claim = NULL "
    "WHERE call_id = ? AND user_id = ? AND notified_via IS NULL",
    "invite": "UPDATE draw_entries SET invited_at = NULL, invite_claim = NULL "
    "WHERE call_id = ? AND user_id = ? AND invited_via IS NULL",
}


# _UNCLAIM: the attempt may have reached Discord (cancelled, network error, ...): any process
# may send it again with the same nonce, but only while the FIRST claim time is recent enough
# (``_CLAIM``); after that ``_EXPIRE`` marks it unknown.
_UNCLAIM = {
    "notice": "UPDATE draw_entries SET notify_claim = NULL "
    "WHERE call_id = ? AND user_id = ? AND notified_via IS NULL",
    "invite": "UPDATE draw_entries SET invite_claim = NULL "
    "WHERE call_id = ? AND user_id = ? AND invited_via IS NULL",
}


# Claims an earlier process left (or an interrupted attempt gave back, ``_UNCLAIM``) without
# ``via`` for longer than Discord de-duplicates: whether the message went out is unknown, so they
# are marked 'unknown' (never re-sent: never a second message). ``?1`` call, ``?2`` the oldest
# claim still re-sent, ``?3`` this process.
_EXPIRE = {
    "notice": "UPDATE draw_entries SET notified_via = 'unknown' WHERE call_id = ?1 "
    "AND status = 'selected' AND notified_at IS NOT NULL AND notified_via IS NULL "
    "AND notified_at < ?2 AND notify_claim IS NOT ?3 RETURNING user_id, ref, notified_at",
    "invite": "UPDATE draw_entries SET invited_via = 'unknown' WHERE call_id = ?1 "
    "AND status = 'reserve' AND invited_at IS NOT NULL AND invited_via IS NULL "
    "AND invited_at < ?2 AND invite_claim IS NOT ?3 RETURNING user_id, ref, invited_at",
}


# Leaving the group (organiser's replace, or the member's "I can't take part").
_LEAVE_GROUP = (
    "UPDATE draw_entries SET status = 'replaced', left_at = ?1, left_reason = ?2, "
    "confirmation = CASE WHEN ?3 THEN 'declined' ELSE confirmation END "
    "WHERE call_id = ?4 AND user_id = ?5 AND status = 'selected' RETURNING category_id, ref, status"
)


# Withdrawing from a draw altogether (data deletion): a group member leaves the group, a reserve
# leaves the reserve list (so they are never offered a place).
_WITHDRAW = (
    "UPDATE draw_entries SET left_at = ?1, left_reason = ?2, "
    "status = CASE status WHEN 'selected' THEN 'replaced' ELSE 'withdrawn' END "
    "WHERE call_id = ?3 AND user_id = ?4 AND status IN ('selected', 'reserve') "
    "RETURNING category_id, ref, status"
)


_PROMOTE = (
    "UPDATE draw_entries SET status = 'selected', promoted_at = ?1 "
    "WHERE call_id = ?2 AND ref = (SELECT ref FROM draw_entries "
    "WHERE call_id = ?2 AND category_id = ?3 AND status = 'reserve' ORDER BY rank LIMIT 1) "
    "RETURNING user_id, ref"
)


async def _promote_after(tx: Tx, call_id: int, left: Any, now: float) -> ReplaceRow | None:
    """``left`` is the (category_id, ref, new status) a leave returned, or None."""
    if left is None:
        return None
    category_id, left_ref, status = int(left[0]), str(left[1]), str(left[2])
    if status != "replaced":
        return ReplaceRow(category_id, left_ref, False, None, None)
    promoted = await tx.fetchone(_PROMOTE, (now, call_id, category_id))
    promoted_user = int(promoted[0]) if promoted is not None and promoted[0] is not None else None
    if promoted_user is not None:  # in the group now: no longer waiting to answer as a reviewer
        await tx.execute(
            "DELETE FROM call_reviewers WHERE call_id = ? AND user_id = ? AND status = 'invited'",
            (call_id, promoted_user),
        )
    return ReplaceRow(
        category_id,
        left_ref,
        True,
        promoted_user,
        str(promoted[1]) if promoted is not None else None,
    )


async def leave_group_sync(
    tx: Tx, call_id: int, user_id: int, *, now: float, reason: str, declined: bool
) -> ReplaceRow | None:
    """Inside a transaction: ``user_id`` leaves the group and the next reserve of the same
    category takes the place. ``None`` if they are not in the group."""
    left = await tx.fetchone(_LEAVE_GROUP, (now, reason, 1 if declined else 0, call_id, user_id))
    return await _promote_after(tx, call_id, left, now)


async def withdraw_sync(
    tx: Tx, call_id: int, user_id: int, *, now: float, reason: str = "data_deleted"
) -> ReplaceRow | None:
    """Inside a transaction: ``user_id`` withdraws from the draw. A group member's place goes to
    the next reserve; a reserve leaves the list. ``None`` if they were neither."""
    left = await tx.fetchone(_WITHDRAW, (now, reason, call_id, user_id))
    return await _promote_after(tx, call_id, left, now)


def _draw(row: Row) -> DrawRecord:
    return DrawRecord(*row)


def _entry(row: Row) -> DrawEntry:
    return DrawEntry(*row)


def _reviewer(row: Row) -> Reviewer:
    return Reviewer(*row)


class DrawRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    # -- the draw itself ------------------------------------------------------------------------

    async def record(
        self,
        call_id: int,
        *,
        places: dict[str, int] | None,
        compute: Compute,
        drawn_by: int,
        now: float,
        group_role_id: int | None,
        reviewer_role_id: int | None,
        audit: Callable[[RecordOutcome], AuditMade] | None = None,
    ) -> RecordOutcome:
        """Close the call, freeze its roster and record the draw, all in ONE transaction.

        A no-op returning the existing draw if the call was drawn already; ``empty`` (nothing
        written) if nobody volunteered. Sign-ups are written in transactions on the same
        connection and check the call is open, so none can slip in after the roster is read.
        ``audit(outcome)`` gives the audit row of a new draw, appended in the same transaction.
        """

        async def work(tx: Tx) -> RecordOutcome:
            existing = await tx.fetchone(
                f"SELECT {_DRAW_COLUMNS} FROM draws WHERE call_id = ?", (call_id,)
            )
            if existing is not None:
                return RecordOutcome("existing", _draw(existing))
            call = await tx.fetchone("SELECT seed, status FROM calls WHERE id = ?", (call_id,))
            if call is None:
                return RecordOutcome("missing")
            categories = await tx.fetchall(
                "SELECT id, emoji_key, places FROM call_categories WHERE call_id = ? "
                "ORDER BY position",
                (call_id,),
            )
            roster_rows = await tx.fetchall(
                "SELECT s.user_id, cc.emoji_key FROM call_signups s "
                "JOIN call_categories cc ON cc.id = s.category_id "
                "WHERE s.call_id = ? ORDER BY cc.position, s.joined_at, s.rowid",
                (call_id,),
            )
            if not roster_rows:
                return RecordOutcome("empty")
            roster = [(int(r[0]), str(r[1])) for r in roster_rows]
            order_keys = [str(c[1]) for c in categories]
            used = {str(c[1]): int(c[2]) for c in categories}
            if places is not None:
                used.update({k: v for k, v in places.items() if k in used})
            computed = compute(str(call[0]), roster, used, order_keys)
            closed = (
                await tx.execute(
                    "UPDATE calls SET status = 'closed', closed_at = ?, close_reason = 'draw' "
                    "WHERE id = ? AND status = 'open'",
                    (now, call_id),
                )
                > 0
            )
            row = await tx.fetchone(
                f"""
                INSERT INTO draws (call_id, algorithm, seed, roster_hash, roster_json, ref_salt,
                                   places_json, group_role_id, reviewer_role_id, drawn_by, drawn_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                RETURNING {_DRAW_COLUMNS}
                """,
                (
                    call_id,
                    computed.algorithm,
                    str(call[0]),
                    computed.roster_hash,
                    json.dumps([[r, k] for r, k in computed.roster], ensure_ascii=False),
                    computed.ref_salt,
                    json.dumps(used, ensure_ascii=False),
                    group_role_id,
                    reviewer_role_id,
                    drawn_by,
                    now,
                ),
            )
            category_ids = {str(c[1]): int(c[0]) for c in categories}
            entries = []
            reviewers = []
            for key, members in computed.order.items():
                for rank, (ref, user_id) in enumerate(members, start=1):
                    selected = rank <= used[key]
                    entries.append(
                        (
                            call_id,
                            ref,
                            user_id,
                            category_ids[key],
                            rank,
                            "selected" if selected else "reserve",
                        )
                    )
                    if not selected:
                        reviewers.append((call_id, user_id, now))
            await tx.executemany(
                "INSERT INTO draw_entries (call_id, ref, user_id, category_id, rank, status) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                entries,
            )
            await tx.executemany(
                "INSERT INTO call_reviewers (call_id, user_id, status, invited_at) "
                "VALUES (?, ?, 'invited', ?) ON CONFLICT (call_id, user_id) DO NOTHING",
                reviewers,
            )
            assert row is not None  # INSERT/UPDATE ... RETURNING of a row that exists
            outcome = RecordOutcome("created", _draw(row), closed_call=closed)
            await append_entries(tx, audit, outcome)
            return outcome

        return await self.db.transaction(work)

    async def get(self, call_id: int) -> DrawRecord | None:
        row = await self.db.fetchone(
            f"SELECT {_DRAW_COLUMNS} FROM draws WHERE call_id = ?", (call_id,)
        )
        return _draw(row) if row else None

    async def mark_posted(
        self, call_id: int, message_id: int, now: float, *, audit: AuditFor[int] = None
    ) -> bool:
        """Remember the result post; False if one was recorded already (then no audit row)."""
        return (
            await execute_audited(
                self.db,
                "UPDATE draws SET result_message_id = ?, posted_at = ? "
                "WHERE call_id = ? AND result_message_id IS NULL",
                (message_id, now, call_id),
                audit,
            )
            > 0
        )

    async def set_roles(
        self, call_id: int, group_role_id: int | None, reviewer_role_id: int | None
    ) -> None:
        """Fill in roles that were not set at the draw (a set role is never changed here)."""
        await self.db.execute(
            "UPDATE draws SET group_role_id = COALESCE(group_role_id, ?), "
            "reviewer_role_id = COALESCE(reviewer_role_id, ?) WHERE call_id = ?",
            (group_role_id, reviewer_role_id, call_id),
        )

    async def unfinished(self) -> list[tuple[int, int]]:
        """``(call_id, guild_id)`` of draws not yet posted or with members still to be told,
        including messages a crash left claimed but not known to be sent (no ``via``)."""
        rows = await self.db.fetchall(
            "SELECT d.call_id, c.guild_id FROM draws d JOIN calls c ON c.id = d.call_id "
            "WHERE d.result_message_id IS NULL OR EXISTS (SELECT 1 FROM draw_entries e "
            "WHERE e.call_id = d.call_id AND e.user_id IS NOT NULL "
            "AND ((e.status = 'selected' AND e.notified_via IS NULL) "
            "OR (e.status = 'reserve' AND e.invited_via IS NULL))) ORDER BY d.call_id"
        )
        return [(int(r[0]), int(r[1])) for r in rows]

    # -- entries and reviewers ------------------------------------------------------------------

    async def entries(self, call_id: int) -> list[DrawEntry]:
        """Every entry, by category position then rank."""
        rows = await self.db.fetchall(
            f"SELECT {_ENTRY_COLUMNS} FROM draw_entries e "
            "JOIN call_categories c ON c.id = e.category_id "
            "WHERE e.call_id = ? ORDER BY c.position, e.rank",
            (call_id,),
        )
        return [_entry(r) for r in rows]

    async def entry(self, call_id: int, user_id: int) -> DrawEntry | None:
        row = await self.db.fetchone(
            f"SELECT {_ENTRY_COLUMNS} FROM draw_entries e WHERE e.call_id = ? AND e.user_id = ?",
            (call_id, user_id),
        )
        return _entry(row) if row else None

    async def entry_by_ref(self, call_id: int, ref: str) -> DrawEntry | None:
        row = await self.db.fetchone(
            f"SELECT {_ENTRY_COLUMNS} FROM draw_entries e WHERE e.call_id = ? AND e.ref = ?",
            (call_id, ref),
        )
        return _entry(row) if row else None

    async def active_calls_of(self, guild_id: int, user_id: int) -> list[int]:
        """Calls of this server where the member is in the group or on a reserve list."""
        rows = await self.db.fetchall(
            "SELECT e.call_id FROM draw_entries e JOIN calls c ON c.id = e.call_id "
            "WHERE c.guild_id = ? AND e.user_id = ? AND e.status IN ('selected', 'reserve') "
            "ORDER BY e.call_id",
            (guild_id, user_id),
        )
        return [int(r[0]) for r in rows]

    async def reviewers(self, call_id: int) -> list[Reviewer]:
        rows = await self.db.fetchall(
            "SELECT call_id, user_id, status, invited_at, answered_at, role_at FROM call_reviewers "
            "WHERE call_id = ? ORDER BY invited_at, user_id",
            (call_id,),
        )
        return [_reviewer(r) for r in rows]

    async def reviewer(self, call_id: int, user_id: int) -> Reviewer | None:
        row = await self.db.fetchone(
            "SELECT call_id, user_id, status, invited_at, answered_at, role_at FROM call_reviewers "
            "WHERE call_id = ? AND user_id = ?",
            (call_id, user_id),
        )
        return _reviewer(row) if row else None

    # -- decisions ------------------------------------------------------------------------------

    async def replace(
        self,
        call_id: int,
        user_id: int,
        *,
        now: float,
        reason: str,
        declined: bool,
        audit: AuditFor[ReplaceRow] = None,
    ) -> ReplaceRow | None:
        """``user_id`` leaves the group and the next reserve of the same category takes the place,
        in one transaction (with the audit row). ``None`` (nothing changed) if they are not in
        the group."""

        async def work(tx: Tx) -> ReplaceRow | None:
            row = await leave_group_sync(
                tx, call_id, user_id, now=now, reason=reason, declined=declined
            )
            if row is not None:
                await append_entries(tx, audit, row)
            return row

        return await self.db.transaction(work)

    async def withdraw(
        self, call_id: int, user_id: int, *, now: float, audit: AuditFor[ReplaceRow] = None
    ) -> ReplaceRow | None:
        """``user_id`` withdraws from the draw (data deletion), in one transaction (with the
        audit row): a group member's place goes to the next reserve, a reserve leaves the list."""

        async def work(tx: Tx) -> ReplaceRow | None:
            row = await withdraw_sync(tx, call_id, user_id, now=now)
            if row is not None:
                await append_entries(tx, audit, row)
            return row

        return await self.db.transaction(work)

    async def confirm(self, call_id: int, user_id: int, *, audit: AuditFor[int] = None) -> bool:
        """Confirm a place; False if not in the group or confirmed already (then no audit row)."""
        return (
            await execute_audited(
                self.db,
                "UPDATE draw_entries SET confirmation = 'confirmed' WHERE call_id = ? AND user_id = ? "
                "AND status = 'selected' AND confirmation = 'pending'",
                (call_id, user_id),
                audit,
            )
            > 0
        )

    async def answer_review(
        self,
        call_id: int,
        user_id: int,
        *,
        accept: bool,
        now: float,
        audit: AuditFor[int] = None,
    ) -> bool:
        """Record a reviewer's yes/no; False if not invited or the answer is unchanged (then no
        audit row)."""
        status = "accepted" if accept else "declined"
        return (
            await execute_audited(
                self.db,
                "UPDATE call_reviewers SET status = ?, answered_at = ? "
                "WHERE call_id = ? AND user_id = ? AND status != ?",
                (status, now, call_id, user_id, status),
                audit,
            )
            > 0
        )

    # -- deliveries -----------------------------------------------------------------------------

    async def claim(
        self,
        kind: Literal["notice", "invite"],
        call_id: int,
        user_id: int,
        now: float,
        *,
        resend_since: float,
        claimer: str,
    ) -> ClaimKind | None:
        """Claim the right to send ``kind`` to the member, in one transaction: "fresh" (the first
        claim), or "resend": taking over a claim left without ``via`` since ``resend_since`` by
        another ``claimer`` (a crashed process) or given back after an attempt that may have
        reached Discord, to send it again with the same nonce (Discord de-duplicates it). None
        if it is not claimable."""
        args = (now, call_id, user_id, resend_since, claimer)

        async def work(tx: Tx) -> ClaimKind | None:
            before = await tx.fetchone(_CLAIMED_AT[kind], (call_id, user_id))
            if await tx.execute(_CLAIM[kind], args) == 0:
                return None
            return "fresh" if before is None or before[0] is None else "resend"

        return await self.db.transaction(work)

    async def delivered(
        self, kind: Literal["notice", "invite"], call_id: int, user_ids: list[int], via: str
    ) -> None:
        """Record how the members were told, all in one statement."""
        await self.db.execute(_VIA[kind], (via, call_id, json.dumps(user_ids)))

    async def expire_claims(
        self,
        kind: Literal["notice", "invite"],
        call_id: int,
        before: float,
        *,
        claimer: str,
        audit: AuditFor[list[tuple[int | None, str, float]]] = None,
    ) -> list[tuple[int | None, str, float]]:
        """Mark claims another ``claimer`` (a crashed process) left without ``via`` before
        ``before`` as 'unknown' (never re-sent); returns ``(user_id, ref, claimed_at)`` of each.
        ``audit(expired)`` gives their audit rows, appended in the same transaction."""

        async def work(tx: Tx) -> list[tuple[int | None, str, float]]:
            rows = await tx.fetchall(_EXPIRE[kind], (call_id, before, claimer))
            expired = [(None if r[0] is None else int(r[0]), str(r[1]), float(r[2])) for r in rows]
            if expired:
                await append_entries(tx, audit, expired)
            return expired

        return await self.db.transaction(work)

    async def release(self, kind: Literal["notice", "invite"], call_id: int, user_id: int) -> None:
        """Forget a first claim whose send Discord refused (nothing was made): a later pass
        sends it, at any time."""
        await self.db.execute(_RELEASE[kind], (call_id, user_id))

    async def unclaim(self, kind: Literal["notice", "invite"], call_id: int, user_id: int) -> None:
        """Give back a claim whose send may have reached Discord, keeping its first claim time:
        a later pass sends it again with the same nonce only while Discord de-duplicates it."""
        await self.db.execute(_UNCLAIM[kind], (call_id, user_id))

    async def claim_announcement(self, call_id: int, ref: str, now: float) -> bool:
        """Claim the one "has left the group" post about this entry (True once, unless released)."""
        return (
            await self.db.execute(
                "UPDATE draw_entries SET announced_at = ? WHERE call_id = ? AND ref = ? "
                "AND status IN ('replaced', 'withdrawn') AND announced_at IS NULL",
                (now, call_id, ref),
            )
            > 0
        )

    async def release_announcement(self, call_id: int, ref: str) -> None:
        await self.db.execute(
            "UPDATE draw_entries SET announced_at = NULL WHERE call_id = ? AND ref = ?",
            (call_id, ref),
        )

    async def mark_role(self, call_id: int, user_id: int, now: float | None) -> None:
        await self.db.execute(
            "UPDATE draw_entries SET role_at = ? WHERE call_id = ? AND user_id = ?",
            (now, call_id, user_id),
        )

    async def mark_reviewer_role(self, call_id: int, user_id: int, now: float | None) -> None:
        await self.db.execute(
            "UPDATE call_reviewers SET role_at = ? WHERE call_id = ? AND user_id = ?",
            (now, call_id, user_id),
        )
