"""calls."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.domain.audit.models import AuditFor
from bot.domain.calls.models import Call, Category, ReactionEvent, ReactionResult, Signup
from db.database import Database, Row, Tx
from db.repositories.audit import AuditBatch, append_entries, execute_audited, fetchone_audited

_CALL_COLUMNS = (
    "id, guild_id, number, channel_id, message_id, title, description, status, closes_at, "
    "created_by, created_at, closed_at, seed, seed_commitment"
)


def _call(row: Row) -> Call:
    return Call(**{k: row[k] for k in row.keys()})


def _category(row: Row) -> Category:
    return Category(
        id=row["id"],
        call_id=row["call_id"],
        position=row["position"],
        emoji=row["emoji"],
        key=row["emoji_key"],
        label=row["label"],
        places=row["places"],
    )


async def apply_reaction(
    tx: Tx,
    event: ReactionEvent,
    lookups: dict[tuple[int, str], Any] | None = None,
) -> ReactionResult:
    """Apply one reaction event inside the caller's transaction (sync, worker thread).

    The call's row is read ``FOR UPDATE`` (PostgreSQL): sign-ups, switches and withdrawals on
    one call, and its draw, are decided one transaction at a time whatever process runs them.

    ``lookups`` caches the call/category row per (post, emoji) for the rest of the batch: the
    transaction is the only writer, so it cannot change under us.
    """
    cache_key = (event.message_id, event.key)
    if lookups is not None and cache_key in lookups:
        found = lookups[cache_key]
    else:
        found = await tx.fetchone(
            "SELECT c.id, c.status, cc.id, c.guild_id, c.number, c.title, cc.emoji, cc.label "
            "FROM calls c JOIN call_categories cc ON cc.call_id = c.id "
            f"WHERE c.message_id = ? AND cc.emoji_key = ?{tx.dialect.for_update}",
            cache_key,
        )
        if lookups is not None:
            lookups[cache_key] = found
    if found is None:
        return ReactionResult("ignored")
    call_id, status, category_id = found[0], found[1], found[2]
    about = {
        "call_id": call_id,
        "category_id": category_id,
        "guild_id": found[3],
        "call_number": found[4],
        "call_title": found[5],
        "emoji": found[6],
        "label": found[7],
    }
    if status != "open":
        return ReactionResult("closed" if event.added else "noop", **about)
    if not event.added:
        deleted = await tx.execute(
            "DELETE FROM call_signups WHERE call_id = ? AND user_id = ? AND category_id = ?",
            (call_id, event.user_id, category_id),
        )
        return ReactionResult("withdrawn" if deleted else "noop", **about)
    previous = await tx.fetchone(
        "SELECT cc.id, cc.emoji_key, cc.emoji, cc.label FROM call_signups s "
        "JOIN call_categories cc ON cc.id = s.category_id WHERE s.call_id = ? AND s.user_id = ?",
        (call_id, event.user_id),
    )
    if previous is not None and previous[0] == category_id:
        return ReactionResult("already", **about)
    await tx.execute(
        "INSERT INTO call_signups (call_id, user_id, category_id, joined_at, source) "
        "VALUES (?, ?, ?, ?, ?) ON CONFLICT (call_id, user_id) DO UPDATE SET "
        "category_id = excluded.category_id, joined_at = excluded.joined_at, source = excluded.source",
        (call_id, event.user_id, category_id, event.at, event.source),
    )
    if previous is None:
        return ReactionResult("joined", **about)
    return ReactionResult(
        "switched",
        previous_key=previous[1],
        previous_emoji=previous[2],
        previous_label=previous[3],
        **about,
    )


AUDITED_OUTCOMES = {
    "joined": "call.signup",
    "switched": "call.switch",
    "withdrawn": "call.withdrawal",
}


# A member switching category back and forth writes at most one ``call.switch`` row per call
# per this many seconds; the switches in between are counted in the member's next row on that
# call (``switches_not_recorded``). See docs/data-and-wording.md.
SWITCH_AUDIT_INTERVAL = 60.0


class SwitchThrottle:
    """Which reaction switches get an audit row of their own (in memory: after a restart a
    member's next switch is recorded, at most one row more)."""

    def __init__(self, interval: float = SWITCH_AUDIT_INTERVAL) -> None:
        self.interval = interval
        self._last: dict[tuple[int, int], tuple[float, int]] = {}  # -> (recorded at, skipped)

    def record(self, call_id: int, user_id: int, outcome: str, at: float) -> int | None:
        """``None``: leave this switch out of the log (counted); otherwise record the row with
        the number of switches left out since the member's previous row on this call."""
        key = (call_id, user_id)
        last = self._last.get(key)
        skipped = last[1] if last else 0
        if outcome == "switched":
            if last is not None and at - last[0] < self.interval:
                self._last[key] = (last[0], skipped + 1)
                return None
            self._last[key] = (at, 0)
            if len(self._last) > 50_000:
                self._last = {k: v for k, v in self._last.items() if at - v[0] < self.interval}
        else:
            self._last.pop(key, None)
        return skipped


def _record_signup_change(
    audit: AuditBatch,
    result: ReactionResult,
    user_id: int,
    outcome: str,
    at: float,
    source: str,
    skipped: int = 0,
) -> None:
    """Audit one sign-up, switch or withdrawal inside the transaction that made it."""
    assert result.guild_id is not None
    details: dict[str, object] = {"category": result.label, "source": source}
    if result.previous_label is not None:
        details["previous"] = result.previous_label
    if skipped:
        details["switches_not_recorded"] = skipped
    audit.append(
        result.guild_id,
        at,
        user_id,
        AUDITED_OUTCOMES[outcome],
        f"call:{result.call_number}",
        details,
    )


class CallRepository:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.switches = SwitchThrottle()

    async def create(
        self,
        *,
        guild_id: int,
        channel_id: int,
        title: str,
        description: str,
        closes_at: float | None,
        created_by: int,
        created_at: float,
        seed: str,
        seed_commitment: str,
        categories: Sequence[tuple[str, str, str, int]],
        audit: AuditFor[Call] = None,
    ) -> Call:
        """Insert the call (with the next per-server number), its categories and its audit row
        (``audit(call)``) in one transaction."""

        async def work(tx: Tx) -> Call:
            await tx.lock("number", "calls", guild_id)  # the next number, one at a time
            row = await tx.fetchone(
                f"""
                INSERT INTO calls (guild_id, number, channel_id, title, description, closes_at,
                                   created_by, created_at, seed, seed_commitment)
                SELECT ?, COALESCE(MAX(number), 0) + 1, ?, ?, ?, ?, ?, ?, ?, ?
                FROM calls WHERE guild_id = ?
                RETURNING {_CALL_COLUMNS}
                """,
                (
                    guild_id,
                    channel_id,
                    title,
                    description,
                    closes_at,
                    created_by,
                    created_at,
                    seed,
                    seed_commitment,
                    guild_id,
                ),
            )
            assert row is not None  # INSERT/UPDATE ... RETURNING of a row that exists
            call = _call(row)
            await tx.executemany(
                "INSERT INTO call_categories (call_id, position, emoji, emoji_key, label, places) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (call.id, i, emoji, key, label, places)
                    for i, (emoji, key, label, places) in enumerate(categories)
                ],
            )
            await append_entries(tx, audit, call)
            return call

        return await self.db.transaction(work)

    async def delete(self, call_id: int, *, audit: AuditFor[Row] = None) -> None:
        """Delete the call; ``audit(row)`` (the deleted call's ``guild_id, number``) gives its
        audit row, appended in the same transaction only if a call was deleted."""
        await fetchone_audited(
            self.db, "DELETE FROM calls WHERE id = ? RETURNING guild_id, number", (call_id,), audit
        )

    async def set_message(
        self,
        call_id: int,
        channel_id: int,
        message_id: int,
        *,
        posted_at: float | None = None,
        audit: AuditFor[int] = None,
    ) -> None:
        """Remember the post (made at ``posted_at``); ``audit`` (the creation's or re-post's
        row) is appended in the same transaction."""
        await execute_audited(
            self.db,
            "UPDATE calls SET channel_id = ?, message_id = ?, posted_at = COALESCE(?, posted_at) "
            "WHERE id = ?",
            (channel_id, message_id, posted_at, call_id),
            audit,
        )

    async def posted_at(self, call_id: int) -> float | None:
        """When the call's current post was made (``None``: before this was kept)."""
        value = await self.db.fetchval("SELECT posted_at FROM calls WHERE id = ?", (call_id,))
        return float(value) if value is not None else None

    async def get(self, call_id: int) -> Call | None:
        row = await self.db.fetchone(f"SELECT {_CALL_COLUMNS} FROM calls WHERE id = ?", (call_id,))
        return _call(row) if row else None

    async def by_number(self, guild_id: int, number: int) -> Call | None:
        row = await self.db.fetchone(
            f"SELECT {_CALL_COLUMNS} FROM calls WHERE guild_id = ? AND number = ?",
            (guild_id, number),
        )
        return _call(row) if row else None

    async def by_message(self, message_id: int) -> Call | None:
        row = await self.db.fetchone(
            f"SELECT {_CALL_COLUMNS} FROM calls WHERE message_id = ?", (message_id,)
        )
        return _call(row) if row else None

    async def message_ids(self) -> set[int]:
        rows = await self.db.fetchall("SELECT message_id FROM calls WHERE message_id IS NOT NULL")
        return {r[0] for r in rows}

    async def list_for_guild(self, guild_id: int, limit: int = 25) -> list[Call]:
        rows = await self.db.fetchall(
            f"SELECT {_CALL_COLUMNS} FROM calls WHERE guild_id = ? "
            "ORDER BY status = 'open' DESC, number DESC LIMIT ?",
            (guild_id, limit),
        )
        return [_call(r) for r in rows]

    async def open_calls(self) -> list[Call]:
        rows = await self.db.fetchall(
            f"SELECT {_CALL_COLUMNS} FROM calls WHERE status = 'open' ORDER BY id"
        )
        return [_call(r) for r in rows]

    async def search_numbers(self, guild_id: int, text: str, limit: int = 25) -> list[Call]:
        rows = await self.db.fetchall(
            f"SELECT {_CALL_COLUMNS} FROM calls WHERE guild_id = ? "
            "AND (CAST(number AS TEXT) LIKE ? OR title LIKE ?) "
            "ORDER BY status = 'open' DESC, number DESC LIMIT ?",
            (guild_id, f"{text}%", f"%{text}%", limit),
        )
        return [_call(r) for r in rows]

    async def categories(self, call_id: int) -> list[Category]:
        rows = await self.db.fetchall(
            "SELECT * FROM call_categories WHERE call_id = ? ORDER BY position", (call_id,)
        )
        return [_category(r) for r in rows]

    async def update(
        self,
        call_id: int,
        *,
        title: str,
        description: str,
        closes_at: float | None,
        places: dict[int, int],
        expect_status: str,
        audit: AuditFor[None] = None,
    ) -> bool:
        """Change the call and its places, with its audit row, in one transaction, only if the
        call is still in ``expect_status`` and (when places change) still not drawn: one
        conditional statement decides. False if it changed nothing (no audit row either)."""

        async def work(tx: Tx) -> bool:
            changed = await tx.execute(
                "UPDATE calls SET title = ?, description = ?, closes_at = ? "
                "WHERE id = ? AND status = ? "
                "AND (? = 0 OR NOT EXISTS (SELECT 1 FROM draws WHERE draws.call_id = calls.id))",
                (title, description, closes_at, call_id, expect_status, 1 if places else 0),
            )
            if not changed:
                return False
            await tx.executemany(
                "UPDATE call_categories SET places = ? WHERE id = ? AND call_id = ?",
                [(n, cat_id, call_id) for cat_id, n in places.items()],
            )
            await append_entries(tx, audit)
            return True

        return await self.db.transaction(work)

    async def close(
        self, call_id: int, now: float, reason: str, *, audit: AuditFor[Row] = None
    ) -> bool:
        """Close an open call; False if it was already closed (one atomic statement).
        ``audit(row)`` (the call's ``guild_id, number``) gives its audit row, appended in the
        same transaction only if this statement closed it."""
        return (
            await fetchone_audited(
                self.db,
                "UPDATE calls SET status = 'closed', closed_at = ?, close_reason = ? "
                "WHERE id = ? AND status = 'open' RETURNING guild_id, number",
                (now, reason, call_id),
                audit,
            )
            is not None
        )

    async def reopen(
        self, call_id: int, closes_at: float | None, now: float, *, audit: AuditFor[int] = None
    ) -> bool:
        """Reopen a closed call that was not drawn, with its audit row, in one transaction;
        False if nothing changed (then no audit row). A frozen roster is dropped (closing again
        makes a new freeze), unless the public value it named is already out after the freeze
        was published: that draw is decided and only needs to be made."""

        async def work(tx: Tx) -> int:
            changed = await tx.execute(
                "UPDATE calls SET status = 'open', closed_at = NULL, close_reason = NULL, "
                "closes_at = ? WHERE id = ? AND status = 'closed' "
                "AND NOT EXISTS (SELECT 1 FROM draws WHERE draws.call_id = calls.id) "
                "AND NOT EXISTS (SELECT 1 FROM draw_freezes f WHERE f.call_id = calls.id "
                "AND f.beacon_due_at <= ? AND f.posted_at IS NOT NULL "
                "AND f.posted_at < f.beacon_due_at)",
                (closes_at, call_id, now),
            )
            if changed:
                await tx.execute("DELETE FROM draw_freezes WHERE call_id = ?", (call_id,))
                await append_entries(tx, audit, changed)
            return changed

        return await self.db.transaction(work) > 0

    async def freeze_state(self, call_id: int) -> tuple[float, float | None] | None:
        """``(due_at, posted_at)`` of the call's frozen roster, or None if it isn't frozen."""
        row = await self.db.fetchone(
            "SELECT beacon_due_at, posted_at FROM draw_freezes WHERE call_id = ?", (call_id,)
        )
        return None if row is None else (float(row[0]), row[1])

    async def signups(self, call_id: int) -> list[Signup]:
        """The roster in sign-up order within each category (category position, then time)."""
        rows = await self.db.fetchall(
            "SELECT s.call_id, s.user_id, s.category_id, s.joined_at, s.source "
            "FROM call_signups s JOIN call_categories cc ON cc.id = s.category_id "
            "WHERE s.call_id = ? ORDER BY cc.position, s.joined_at, s.rowid",
            (call_id,),
        )
        return [Signup(*r) for r in rows]

    async def counts(self, call_id: int) -> dict[int, int]:
        rows = await self.db.fetchall(
            "SELECT category_id, COUNT(*) FROM call_signups WHERE call_id = ? GROUP BY category_id",
            (call_id,),
        )
        return {r[0]: r[1] for r in rows}

    async def apply_reactions(self, events: Sequence[ReactionEvent]) -> list[ReactionResult]:
        """Apply a batch of reaction events in order, with their audit rows, in one transaction
        issued as one call (a burst of reactions is a handful of these, not one per event)."""

        async def work(tx: Tx) -> list[ReactionResult]:
            audit = AuditBatch(tx)
            lookups: dict[tuple[int, str], Any] = {}
            results = []
            for event in events:
                result = await apply_reaction(tx, event, lookups)
                if result.outcome in AUDITED_OUTCOMES and result.call_id is not None:
                    skipped = self.switches.record(
                        result.call_id, event.user_id, result.outcome, event.at
                    )
                    if skipped is not None:
                        _record_signup_change(
                            audit,
                            result,
                            event.user_id,
                            result.outcome,
                            event.at,
                            event.source,
                            skipped,
                        )
                results.append(result)
            await audit.flush()
            return results

        return await self.db.transaction(work)

    async def apply_reconcile(
        self,
        call_id: int,
        categories: Sequence[Category],
        joins: Sequence[tuple[int, int]],
        switches: Sequence[tuple[Signup, int]],
        withdrawals: Sequence[Signup],
        now: float,
    ) -> None:
        """Apply start-up reconciliation in one transaction, with its audit rows.

        ``joins`` are (user, category id); ``switches`` (row as read, new category id);
        ``withdrawals`` rows as read. Each change applies only if the member's row is still
        exactly as it was read, so a live reaction made meanwhile always wins.
        """
        by_id = {c.id: c for c in categories}

        async def work(tx: Tx) -> None:
            row = await tx.fetchone(
                f"SELECT status, guild_id, number, title FROM calls WHERE id = ?"
                f"{tx.dialect.for_update}",
                (call_id,),
            )
            if row is None or row[0] != "open":
                return
            audit = AuditBatch(tx)

            def result(category_id: int, previous: int | None = None) -> ReactionResult:
                cat, prev = by_id[category_id], by_id.get(previous or -1)
                return ReactionResult(
                    "joined",
                    call_id,
                    cat.id,
                    guild_id=row[1],
                    call_number=row[2],
                    call_title=row[3],
                    emoji=cat.emoji,
                    label=cat.label,
                    previous_label=prev.label if prev else None,
                )

            step = 0
            for user, category_id in joins:
                step += 1
                done = await tx.execute(
                    "INSERT INTO call_signups (call_id, user_id, category_id, joined_at, source) "
                    "VALUES (?, ?, ?, ?, 'reconciliation') ON CONFLICT (call_id, user_id) DO NOTHING",
                    (call_id, user, category_id, now + step * 1e-6),
                )
                if done:
                    _record_signup_change(
                        audit, result(category_id), user, "joined", now, "reconciliation"
                    )
            for was, category_id in switches:
                step += 1
                done = await tx.execute(
                    "UPDATE call_signups SET category_id = ?, joined_at = ?, "
                    "source = 'reconciliation' WHERE call_id = ? AND user_id = ? "
                    "AND category_id = ? AND joined_at = ?",
                    (
                        category_id,
                        now + step * 1e-6,
                        call_id,
                        was.user_id,
                        was.category_id,
                        was.joined_at,
                    ),
                )
                if done:
                    _record_signup_change(
                        audit,
                        result(category_id, was.category_id),
                        was.user_id,
                        "switched",
                        now,
                        "reconciliation",
                    )
            for was in withdrawals:
                done = await tx.execute(
                    "DELETE FROM call_signups WHERE call_id = ? AND user_id = ? "
                    "AND category_id = ? AND joined_at = ?",
                    (call_id, was.user_id, was.category_id, was.joined_at),
                )
                if done:
                    _record_signup_change(
                        audit,
                        result(was.category_id),
                        was.user_id,
                        "withdrawn",
                        now,
                        "reconciliation",
                    )
            await audit.flush()

        await self.db.transaction(work)

    async def current_category(self, call_id: int, user_id: int) -> int | None:
        """The category a member is signed up in on a call now (``None``: not signed up)."""
        row = await self.db.fetchone(
            "SELECT category_id FROM call_signups WHERE call_id = ? AND user_id = ?",
            (call_id, user_id),
        )
        return int(row[0]) if row is not None else None

    async def is_drawn(self, call_id: int) -> bool:
        return (
            await self.db.fetchone("SELECT 1 FROM draws WHERE call_id = ?", (call_id,)) is not None
        )
