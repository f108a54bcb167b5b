"""draws."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from bot.domain.audit.models import AuditFor, AuditMade
from bot.domain.draws.models import (
    DrawChange,
    DrawEntry,
    DrawRecord,
    FreezeOutcome,
    FreezeRecord,
    RecordOutcome,
    ReplaceRow,
    Reviewer,
)
from db.database import Database, Row, Tx
from db.repositories.audit import append_entries, execute_audited

_DRAW_COLUMNS = (
    "call_id, algorithm, seed, roster_hash, roster_json, places_json, group_role_id, "
    "reviewer_role_id, drawn_by, drawn_at, result_message_id, posted_at, roles_by"
)


_FREEZE_COLUMNS = (
    "call_id, frozen_at, frozen_by, reason, roster_json, roster_hash, freeze_hash, places_json, "
    "beacon_kind, beacon_chain, beacon_round, beacon_due_at, beacon_source, beacon_value, "
    "beacon_signature, beacon_at, message_id, posted_at, waiting_notice_at, group_role_id, "
    "reviewer_role_id, roles_by"
)


# A freeze's computation: (commitment, roster [(user id, key)], places [(key, n)] in call order)
# -> (ref of each user id, roster hash, freeze hash). Supplied by the domain (fresh salts).
FreezeCompute = Callable[
    [str, list[tuple[int, str]], list[tuple[str, int]]], tuple[dict[int, str], str, str]
]


_ENTRY_COLUMNS = (
    "e.call_id, e.ref, e.user_id, e.category_id, e.rank, e.status, e.confirmation, "
    "e.promoted_at, e.left_at, e.left_reason, e.role_at, e.announced_at"
)


_LEAVE_GROUP = (
    "UPDATE draw_entries SET status = 'replaced', left_at = ?1, left_reason = ?2, "
    "confirmation = CASE WHEN ?3 = 1 THEN 'declined' ELSE confirmation END "
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


_CHANGE_REASONS = {"organiser": "replaced", "declined": "declined"}


async def _record_change(
    tx: Tx,
    call_id: int,
    category_id: int,
    left_ref: str,
    joined_ref: str | None,
    now: float,
    reason: str,
) -> None:
    """Append one change to the draw's public history (same transaction as the change)."""
    await tx.execute(
        "INSERT INTO draw_changes (call_id, seq, category_key, left_ref, joined_ref, at, reason) "
        "SELECT ?1, COALESCE((SELECT MAX(seq) FROM draw_changes WHERE call_id = ?1), 0) + 1, "
        "emoji_key, ?2, ?3, ?4, ?5 FROM call_categories WHERE id = ?6",
        (call_id, left_ref, joined_ref, now, _CHANGE_REASONS.get(reason, "withdrew"), category_id),
    )


async def _promote_after(
    tx: Tx, call_id: int, left: Any, now: float, reason: str = "data_deleted"
) -> ReplaceRow | None:
    """``left`` is the (category_id, ref, new status) a leave returned, or None. The change is
    appended to the draw's public history."""
    if left is None:
        return None
    category_id, left_ref, status = int(left[0]), str(left[1]), str(left[2])
    if status != "replaced":
        await _record_change(tx, call_id, category_id, left_ref, None, now, reason)
        return ReplaceRow(category_id, left_ref, False, None, None)
    promoted = await tx.fetchone(_PROMOTE, (now, call_id, category_id))
    await _record_change(
        tx,
        call_id,
        category_id,
        left_ref,
        str(promoted[1]) if promoted is not None else None,
        now,
        reason,
    )
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
    await tx.lock("draw", call_id)  # one change of a draw's group at a time
    left = await tx.fetchone(_LEAVE_GROUP, (now, reason, 1 if declined else 0, call_id, user_id))
    return await _promote_after(tx, call_id, left, now, reason)


async def withdraw_sync(
    tx: Tx, call_id: int, user_id: int, *, now: float, reason: str = "data_deleted"
) -> ReplaceRow | None:
    """Inside a transaction: ``user_id`` withdraws from the draw. A group member's place goes to
    the next reserve; a reserve leaves the list. ``None`` if they were neither."""
    await tx.lock("draw", call_id)
    left = await tx.fetchone(_WITHDRAW, (now, reason, call_id, user_id))
    return await _promote_after(tx, call_id, left, now, reason)


async def withdraw_ref_sync(tx: Tx, call_id: int, ref: str, *, now: float) -> ReplaceRow | None:
    """Inside a transaction: the entry ``ref`` (a member who deleted their data between the
    freeze and the draw) withdraws, as :func:`withdraw_sync` does for a member."""
    left = await tx.fetchone(
        "UPDATE draw_entries SET left_at = ?1, left_reason = 'data_deleted', "
        "status = CASE status WHEN 'selected' THEN 'replaced' ELSE 'withdrawn' END "
        "WHERE call_id = ?2 AND ref = ?3 AND status IN ('selected', 'reserve') "
        "RETURNING category_id, ref, status",
        (now, call_id, ref),
    )
    return await _promote_after(tx, call_id, left, now)


def _draw(row: Row) -> DrawRecord:
    return DrawRecord(*row)


def _freeze(row: Row) -> FreezeRecord:
    return FreezeRecord(*row)


def _entry(row: Row) -> DrawEntry:
    return DrawEntry(*row)


def _reviewer(row: Row) -> Reviewer:
    return Reviewer(*row)


class DrawRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    # -- the draw itself ------------------------------------------------------------------------

    # -- freeze, then reveal (version 3) -------------------------------------------------------

    async def freeze(
        self,
        call_id: int,
        *,
        now: float,
        actor_id: int | None,
        reason: str,
        places: dict[str, int] | None,
        beacon: dict[str, Any],
        beacon_name: str,
        compute: FreezeCompute,
        roles: tuple[int | None, int | None, int | None] = (None, None, None),
        audit: Callable[[FreezeOutcome], AuditMade] | None = None,
    ) -> FreezeOutcome:
        """Close the call (if open) and freeze its roster, in ONE transaction with the audit
        row(s): every volunteer's entry reference, the places and the public value the draw will
        use (``beacon``: the ``beacon_*`` columns, named before it exists) are fixed here.

        ``existing``: frozen already (nothing changes); ``drawn``: drawn before freezes existed;
        ``empty``: nobody volunteered (the call is still closed unless ``reason`` is ``draw``).
        Sign-ups are written on the same connection and check the call is open, so none can
        slip in after the roster is read.
        """

        async def work(tx: Tx) -> FreezeOutcome:
            await tx.lock("call", call_id)
            existing = await tx.fetchone(
                f"SELECT {_FREEZE_COLUMNS} FROM draw_freezes WHERE call_id = ?", (call_id,)
            )
            if existing is not None:
                return FreezeOutcome("existing", _freeze(existing))
            if await tx.fetchone("SELECT 1 FROM draws WHERE call_id = ?", (call_id,)):
                return FreezeOutcome("drawn")
            # The call's row locked (FOR UPDATE on PostgreSQL): sign-ups in flight finish before
            # the roster is read, and a second freeze of the same call waits, then finds this one.
            call = await tx.fetchone(
                f"SELECT seed_commitment FROM calls WHERE id = ?{tx.dialect.for_update}", (call_id,)
            )
            if call is None:
                return FreezeOutcome("missing")
            categories = await tx.fetchall(
                "SELECT id, emoji_key, places FROM call_categories WHERE call_id = ? "
                "ORDER BY position",
                (call_id,),
            )
            signups = await tx.fetchall(
                "SELECT s.user_id, cc.emoji_key FROM call_signups s "
                "JOIN call_categories cc ON cc.id = s.category_id "
                "WHERE s.call_id = ? ORDER BY cc.position, s.joined_at, s.rowid",
                (call_id,),
            )
            close_sql = (
                "UPDATE calls SET status = 'closed', closed_at = ?, close_reason = ? "
                "WHERE id = ? AND status = 'open'"
            )
            if not signups:
                closed = False
                if reason != "draw":
                    closed = await tx.execute(close_sql, (now, reason, call_id)) > 0
                outcome = FreezeOutcome("empty", closed_call=closed)
                if closed:
                    await append_entries(tx, audit, outcome)
                return outcome
            roster = [(int(r[0]), str(r[1])) for r in signups]
            used = {str(c[1]): int(c[2]) for c in categories}
            if places is not None:
                used.update({k: v for k, v in places.items() if k in used})
            ordered = [(str(c[1]), used[str(c[1])]) for c in categories]
            refs, roster_hash, freeze_hash = compute(str(call[0]), roster, ordered)
            published = sorted((refs[user_id], key) for user_id, key in roster)
            closed = await tx.execute(close_sql, (now, reason, call_id)) > 0
            group_role_id, reviewer_role_id, roles_by = roles
            row = await tx.fetchone(
                f"""
                INSERT INTO draw_freezes (call_id, frozen_at, frozen_by, reason, roster_json,
                    roster_hash, freeze_hash, places_json, beacon_kind, beacon_chain,
                    beacon_round, beacon_due_at, beacon_source, group_role_id,
                    reviewer_role_id, roles_by)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                RETURNING {_FREEZE_COLUMNS}
                """,
                (
                    call_id,
                    now,
                    actor_id,
                    reason,
                    json.dumps([[r, k] for r, k in published], ensure_ascii=False),
                    roster_hash,
                    freeze_hash,
                    json.dumps(dict(ordered), ensure_ascii=False),
                    beacon["kind"],
                    beacon.get("chain"),
                    beacon.get("round"),
                    beacon["due_at"],
                    beacon.get("source"),
                    group_role_id,
                    reviewer_role_id,
                    roles_by,
                ),
            )
            category_ids = {str(c[1]): int(c[0]) for c in categories}
            await tx.executemany(
                "INSERT INTO frozen_entries (call_id, ref, user_id, category_id) "
                "VALUES (?, ?, ?, ?)",
                [(call_id, refs[u], u, category_ids[k]) for u, k in roster],
            )
            assert row is not None
            outcome = FreezeOutcome("created", _freeze(row), closed_call=closed)
            await append_entries(tx, audit, outcome)
            return outcome

        return await self.db.transaction(work)

    async def get_freeze(self, call_id: int) -> FreezeRecord | None:
        row = await self.db.fetchone(
            f"SELECT {_FREEZE_COLUMNS} FROM draw_freezes WHERE call_id = ?", (call_id,)
        )
        return _freeze(row) if row else None

    async def frozen_ref(self, call_id: int, user_id: int) -> str | None:
        ref = await self.db.fetchval(
            "SELECT ref FROM frozen_entries WHERE call_id = ? AND user_id = ?", (call_id, user_id)
        )
        return None if ref is None else str(ref)

    async def mark_freeze_posted(self, call_id: int, message_id: int, now: float) -> bool:
        return (
            await self.db.execute(
                "UPDATE draw_freezes SET message_id = ?, posted_at = ? "
                "WHERE call_id = ? AND message_id IS NULL",
                (message_id, now, call_id),
            )
            > 0
        )

    async def unposted_freezes(self) -> list[tuple[int, int]]:
        """``(call_id, guild_id)`` of freezes not yet published (and not drawn)."""
        rows = await self.db.fetchall(
            "SELECT f.call_id, c.guild_id FROM draw_freezes f JOIN calls c ON c.id = f.call_id "
            "WHERE f.message_id IS NULL AND NOT EXISTS "
            "(SELECT 1 FROM draws d WHERE d.call_id = f.call_id) ORDER BY f.call_id"
        )
        return [(int(r[0]), int(r[1])) for r in rows]

    async def claim_waiting_notice(self, call_id: int, now: float) -> bool:
        """Claim the one "waiting for the beacon" notice of a freeze."""
        return (
            await self.db.execute(
                "UPDATE draw_freezes SET waiting_notice_at = ? "
                "WHERE call_id = ? AND waiting_notice_at IS NULL",
                (now, call_id),
            )
            > 0
        )

    async def set_freeze_roles(
        self, call_id: int, group_role_id: int | None, reviewer_role_id: int | None, by: int
    ) -> None:
        """Roles asked for by ``/draw run`` on a call frozen before (a set role stays)."""
        await self.db.execute(
            "UPDATE draw_freezes SET group_role_id = COALESCE(group_role_id, ?), "
            "reviewer_role_id = COALESCE(reviewer_role_id, ?), roles_by = COALESCE(roles_by, ?) "
            "WHERE call_id = ?",
            (group_role_id, reviewer_role_id, by, call_id),
        )

    async def record_frozen(
        self,
        call_id: int,
        *,
        algorithm: str,
        order: Callable[[FreezeRecord, str], dict[str, list[tuple[str, bool]]]],
        drawn_by: int | None,
        now: float,
        beacon: tuple[str, str | None] | None = None,
        audit: Callable[[RecordOutcome], AuditMade] | None = None,
    ) -> RecordOutcome:
        """The draw of a frozen call whose public value is known, in ONE transaction with its
        audit row: ``order(freeze, committed seed)`` gives each category's refs in draw order,
        each with whether the algorithm drew it (stored here, not decided here).
        ``beacon``: the public value and its signature, stored on the freeze in the same
        transaction (a value stored before never changes).
        A no-op returning the existing draw if the call was drawn already. Entries of members
        who deleted their data since the freeze are withdrawn at once (the next reserve takes
        the place), as part of the same decision."""

        async def work(tx: Tx) -> RecordOutcome:
            await tx.lock("call", call_id)
            existing = await tx.fetchone(
                f"SELECT {_DRAW_COLUMNS} FROM draws WHERE call_id = ?", (call_id,)
            )
            if existing is not None:
                return RecordOutcome("existing", _draw(existing))
            if beacon is not None:  # the public value (verified), kept with the decision
                await tx.execute(
                    "UPDATE draw_freezes SET beacon_value = ?, beacon_signature = ?, "
                    "beacon_at = ? WHERE call_id = ? AND beacon_value IS NULL",
                    (beacon[0], beacon[1], now, call_id),
                )
            row = await tx.fetchone(
                f"SELECT {_FREEZE_COLUMNS} FROM draw_freezes WHERE call_id = ?", (call_id,)
            )
            call = await tx.fetchone("SELECT seed FROM calls WHERE id = ?", (call_id,))
            if row is None or call is None:
                return RecordOutcome("missing")
            freeze = _freeze(row)
            if freeze.beacon_value is None:
                return RecordOutcome("missing")
            members = {
                str(r[0]): (r[1], int(r[2]))
                for r in await tx.fetchall(
                    "SELECT ref, user_id, category_id FROM frozen_entries WHERE call_id = ?",
                    (call_id,),
                )
            }
            ordered = order(freeze, str(call[0]))
            drawn = await tx.fetchone(
                f"""
                INSERT INTO draws (call_id, algorithm, seed, roster_hash, roster_json, ref_salt,
                                   places_json, group_role_id, reviewer_role_id, drawn_by,
                                   drawn_at, roles_by)
                VALUES (?, ?, ?, ?, ?, NULL, ?, ?, ?, ?, ?, ?)
                RETURNING {_DRAW_COLUMNS}
                """,
                (
                    call_id,
                    algorithm,
                    str(call[0]),
                    freeze.roster_hash,
                    freeze.roster_json,
                    freeze.places_json,
                    freeze.group_role_id,
                    freeze.reviewer_role_id,
                    drawn_by if drawn_by is not None else 0,
                    now,
                    freeze.roles_by,
                ),
            )
            entries = []
            reviewers = []
            gone: list[str] = []
            for refs in ordered.values():
                for rank, (ref, selected) in enumerate(refs, start=1):
                    user_id, category_id = members[ref]
                    entries.append(
                        (
                            call_id,
                            ref,
                            user_id,
                            category_id,
                            rank,
                            "selected" if selected else "reserve",
                        )
                    )
                    if user_id is None:
                        gone.append(ref)
                    elif not selected:
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
            for ref in gone:  # in draw order, so places pass on in the reserve order
                await withdraw_ref_sync(tx, call_id, ref, now=now)
            assert drawn is not None
            outcome = RecordOutcome("created", _draw(drawn))
            await append_entries(tx, audit, outcome)
            return outcome

        return await self.db.transaction(work)

    async def changes(self, call_id: int) -> list[DrawChange]:
        rows = await self.db.fetchall(
            "SELECT call_id, seq, category_key, left_ref, joined_ref, at, reason "
            "FROM draw_changes WHERE call_id = ? ORDER BY seq",
            (call_id,),
        )
        return [DrawChange(*r) for r in rows]

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
        self, call_id: int, group_role_id: int | None, reviewer_role_id: int | None, by: int
    ) -> None:
        """Fill in roles that were not set at the draw (a set role is never changed here), and
        who chose them (re-checked before every grant)."""
        await self.db.execute(
            "UPDATE draws SET group_role_id = COALESCE(group_role_id, ?), "
            "reviewer_role_id = COALESCE(reviewer_role_id, ?), roles_by = COALESCE(roles_by, ?) "
            "WHERE call_id = ?",
            (group_role_id, reviewer_role_id, by, call_id),
        )

    async def unfinished(self) -> list[tuple[int, int]]:
        """``(call_id, guild_id)`` of draws not yet posted or with members still to be told
        (their message not yet sent, failed or of unknown fate: see the delivery engine)."""
        rows = await self.db.fetchall(
            "SELECT d.call_id, c.guild_id FROM draws d JOIN calls c ON c.id = d.call_id "
            "WHERE d.result_message_id IS NULL OR EXISTS (SELECT 1 FROM draw_entries e "
            "WHERE e.call_id = d.call_id AND e.user_id IS NOT NULL "
            "AND e.status IN ('selected', 'reserve') AND NOT EXISTS (SELECT 1 FROM deliveries x "
            "WHERE x.owner_kind = 'draw' AND x.owner_id = e.call_id AND x.user_id = e.user_id "
            "AND x.part = CASE e.status WHEN 'selected' THEN 'notice' ELSE 'invite' END "
            "AND x.state IN ('sent', 'failed', 'unknown'))) ORDER BY d.call_id"
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
