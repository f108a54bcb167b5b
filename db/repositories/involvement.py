"""involvement: rates, preferences and the ledger (every state change with its audit row)."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence

from bot.domain.audit.models import AuditEntry, AuditFor
from bot.domain.involvement.models import (
    Activity,
    ActivityTotals,
    Entry,
    EntryState,
    Method,
    Rates,
    Sync,
    Wanted,
)
from db.database import Database, Row, Tx
from db.repositories.audit import append_entries

_ENTRY = (
    "id, guild_id, user_id, activity, source_kind, source_id, title, occurred_at, minutes, "
    "amount, currency, method, description, receipt, state, created_at, updated_at"
)

_RATE_COLUMNS = (
    "currency, payments, meeting_rate, session_rate, review_rate, review_fixed, "
    "rounding_minutes, finance_role_id, retention_days"
)

# Changes to entries the sources may still make: paid or approved entries are never touched.
_OPEN = (EntryState.OWED.value, EntryState.DECLINED.value, EntryState.RECORDED.value)


def _entry(row: Row) -> Entry:
    values = list(row)
    values[3] = Activity(values[3])
    values[14] = EntryState(values[14])
    return Entry(*values)


# An entry's audit row: given the action, the entry (after) and extra details.
EntryAudit = Callable[[str, Entry, dict[str, object]], AuditEntry]


class InvolvementRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    # -- settings -------------------------------------------------------------------------------

    async def rates(self, guild_id: int) -> Rates:
        row = await self.db.fetchone(
            f"SELECT {_RATE_COLUMNS} FROM involvement_settings WHERE guild_id = ?", (guild_id,)
        )
        if row is None:
            return Rates(guild_id)
        return Rates(
            guild_id,
            row[0],
            bool(row[1]),
            row[2],
            row[3],
            row[4],
            row[5],
            int(row[6]),
            row[7],
            int(row[8]),
        )

    async def save_rates(self, rates: Rates, now: float, *, audit: AuditFor[int] = None) -> None:
        async def work(tx: Tx) -> None:
            await tx.execute(
                "INSERT INTO involvement_settings (guild_id, currency, payments, meeting_rate, "
                "session_rate, review_rate, review_fixed, rounding_minutes, finance_role_id, "
                "retention_days, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (guild_id) DO UPDATE SET currency = excluded.currency, "
                "payments = excluded.payments, meeting_rate = excluded.meeting_rate, "
                "session_rate = excluded.session_rate, review_rate = excluded.review_rate, "
                "review_fixed = excluded.review_fixed, "
                "rounding_minutes = excluded.rounding_minutes, "
                "finance_role_id = excluded.finance_role_id, "
                "retention_days = excluded.retention_days, updated_at = excluded.updated_at",
                (
                    rates.guild_id,
                    rates.currency,
                    int(rates.payments),
                    rates.meeting_rate,
                    rates.session_rate,
                    rates.review_rate,
                    rates.review_fixed,
                    rates.rounding_minutes,
                    rates.finance_role_id,
                    rates.retention_days,
                    now,
                ),
            )
            await append_entries(tx, audit, 1)

        await self.db.transaction(work)

    # -- preferences ----------------------------------------------------------------------------

    async def preference(self, guild_id: int, user_id: int) -> Method | None:
        value = await self.db.fetchval(
            "SELECT method FROM involvement_preferences WHERE guild_id = ? AND user_id = ?",
            (guild_id, user_id),
        )
        return None if value is None else Method(value)

    async def preferences(self, guild_id: int) -> dict[int, Method]:
        rows = await self.db.fetchall(
            "SELECT user_id, method FROM involvement_preferences WHERE guild_id = ?", (guild_id,)
        )
        return {int(r[0]): Method(r[1]) for r in rows}

    async def set_preference(
        self, guild_id: int, user_id: int, method: Method, now: float, *, audit: AuditFor[int]
    ) -> None:
        async def work(tx: Tx) -> None:
            await tx.execute(
                "INSERT INTO involvement_preferences (guild_id, user_id, method, updated_at) "
                "VALUES (?, ?, ?, ?) ON CONFLICT (guild_id, user_id) DO UPDATE SET "
                "method = excluded.method, updated_at = excluded.updated_at",
                (guild_id, user_id, method.value, now),
            )
            await append_entries(tx, audit, 1)

        await self.db.transaction(work)

    # -- entries --------------------------------------------------------------------------------

    async def entries(
        self,
        guild_id: int,
        *,
        since: float | None = None,
        until: float | None = None,
        user_id: int | None = None,
    ) -> list[Entry]:
        sql = f"SELECT {_ENTRY} FROM ledger_entries WHERE guild_id = ?"
        params: list[object] = [guild_id]
        if since is not None:
            sql += " AND occurred_at >= ?"
            params.append(since)
        if until is not None:
            sql += " AND occurred_at <= ?"
            params.append(until)
        if user_id is not None:
            sql += " AND user_id = ?"
            params.append(user_id)
        rows = await self.db.fetchall(
            sql + " ORDER BY occurred_at, source_kind, source_id, id", params
        )
        return [_entry(r) for r in rows]

    async def entry(self, entry_id: int) -> Entry | None:
        row = await self.db.fetchone(
            f"SELECT {_ENTRY} FROM ledger_entries WHERE id = ?", (entry_id,)
        )
        return _entry(row) if row else None

    async def sync(
        self,
        guild_id: int,
        wanted: Sequence[Wanted],
        covered: Collection[tuple[str, int]],
        now: float,
        audit: EntryAudit,
    ) -> Sync:
        """Make the server's activity entries match ``wanted`` for the ``covered`` sources, in
        one transaction with an audit row per change: new entries are created; owed, declined
        and recorded ones follow the sources (minutes, amount, the member's preference) or go
        when the member turns out not to have attended. Approved and paid entries, expenses and
        anonymised entries are never changed here."""

        async def work(tx: Tx) -> Sync:
            rows = await tx.fetchall(
                f"SELECT {_ENTRY} FROM ledger_entries WHERE guild_id = ? "
                "AND activity != 'expense' AND user_id IS NOT NULL",
                (guild_id,),
            )
            existing = {e.key: e for e in (_entry(r) for r in rows)}
            created = updated = removed = 0
            seen: set[tuple[str, int, int | None, str]] = set()
            for w in wanted:
                seen.add(w.key)
                old = existing.get(w.key)
                if old is None:
                    row = await tx.fetchone(
                        "INSERT INTO ledger_entries (guild_id, user_id, activity, source_kind, "
                        "source_id, title, occurred_at, minutes, amount, currency, method, "
                        "state, created_at, updated_at) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                        f"RETURNING {_ENTRY}",
                        (
                            guild_id,
                            w.user_id,
                            w.activity.value,
                            w.source_kind,
                            w.source_id,
                            w.title,
                            w.occurred_at,
                            w.minutes,
                            w.amount,
                            w.currency,
                            w.method,
                            w.state.value,
                            now,
                            now,
                        ),
                    )
                    assert row is not None
                    await append_entries(tx, audit("ledger.entry_created", _entry(row), {}))
                    created += 1
                    continue
                if old.state.value not in _OPEN:
                    continue
                if (old.minutes, old.amount, old.method, old.state, old.title) == (
                    w.minutes,
                    w.amount,
                    w.method,
                    w.state,
                    w.title,
                ):
                    continue
                row = await tx.fetchone(
                    "UPDATE ledger_entries SET minutes = ?, amount = ?, method = ?, state = ?, "
                    f"title = ?, currency = ?, updated_at = ? WHERE id = ? RETURNING {_ENTRY}",
                    (
                        w.minutes,
                        w.amount,
                        w.method,
                        w.state.value,
                        w.title,
                        w.currency,
                        now,
                        old.id,
                    ),
                )
                assert row is not None
                await append_entries(
                    tx,
                    audit(
                        "ledger.entry_updated",
                        _entry(row),
                        {"was_state": old.state.value, "was_amount": old.amount},
                    ),
                )
                updated += 1
            covered_set = set(covered)
            for key, old in existing.items():
                if key in seen or (key[0], key[1]) not in covered_set:
                    continue
                if old.state.value not in _OPEN:
                    continue
                await tx.execute("DELETE FROM ledger_entries WHERE id = ?", (old.id,))
                await append_entries(tx, audit("ledger.entry_removed", old, {}))
                removed += 1
            return Sync(created, updated, removed)

        return await self.db.transaction(work)

    async def add_expense(
        self,
        parent: Entry,
        amount: int,
        description: str,
        receipt: str | None,
        now: float,
        audit: EntryAudit,
    ) -> Entry:
        async def work(tx: Tx) -> Entry:
            row = await tx.fetchone(
                "INSERT INTO ledger_entries (guild_id, user_id, activity, source_kind, source_id, "
                "title, occurred_at, minutes, amount, currency, method, description, receipt, "
                "state, created_at, updated_at) VALUES (?, ?, 'expense', ?, ?, ?, ?, 0, ?, ?, ?, "
                f"?, ?, 'owed', ?, ?) RETURNING {_ENTRY}",
                (
                    parent.guild_id,
                    parent.user_id,
                    parent.source_kind,
                    parent.source_id,
                    parent.title,
                    parent.occurred_at,
                    amount,
                    parent.currency,
                    parent.method,
                    description,
                    receipt,
                    now,
                    now,
                ),
            )
            assert row is not None
            made = _entry(row)
            await append_entries(tx, audit("ledger.expense_claimed", made, {}))
            return made

        return await self.db.transaction(work)

    async def move(
        self,
        guild_id: int,
        source_kind: str,
        source_id: int,
        from_state: EntryState,
        to_state: EntryState,
        now: float,
        audit: EntryAudit,
    ) -> list[Entry]:
        """Every entry of one activity in ``from_state`` moves to ``to_state`` (one statement,
        an audit row per entry, one transaction); the entries moved."""

        async def work(tx: Tx) -> list[Entry]:
            rows = await tx.fetchall(
                "UPDATE ledger_entries SET state = ?, updated_at = ? WHERE guild_id = ? "
                f"AND source_kind = ? AND source_id = ? AND state = ? RETURNING {_ENTRY}",
                (to_state.value, now, guild_id, source_kind, source_id, from_state.value),
            )
            moved = sorted((_entry(r) for r in rows), key=lambda e: e.id)
            for e in moved:
                await append_entries(
                    tx, audit(f"ledger.{to_state.value}", e, {"was_state": from_state.value})
                )
            return moved

        return await self.db.transaction(work)

    async def activities(self, guild_id: int) -> list[ActivityTotals]:
        """Activities with entries still owed or approved (not yet paid), oldest first."""
        rows = await self.db.fetchall(
            "SELECT source_kind, source_id, MIN(title), MIN(occurred_at), "
            "SUM(CASE WHEN state = 'owed' THEN 1 ELSE 0 END), COALESCE(SUM(CASE WHEN state = 'owed' THEN amount END), 0), "
            "SUM(CASE WHEN state = 'approved' THEN 1 ELSE 0 END), "
            "COALESCE(SUM(CASE WHEN state = 'approved' THEN amount END), 0), MIN(currency) "
            "FROM ledger_entries WHERE guild_id = ? AND state IN ('owed', 'approved') "
            "GROUP BY source_kind, source_id ORDER BY MIN(occurred_at), source_kind, source_id",
            (guild_id,),
        )
        return [ActivityTotals(*r) for r in rows]

    async def reviews(self, guild_id: int) -> list[tuple[int, str, int, float]]:
        """Every feedback response of the server: (round id, round title, member, first at)."""
        rows = await self.db.fetchall(
            "SELECT f.id, f.title, r.user_id, r.first_at FROM feedback_responses r "
            "JOIN feedback_rounds f ON f.id = r.round_id WHERE f.guild_id = ? "
            "ORDER BY f.id, r.first_at, r.user_id",
            (guild_id,),
        )
        return [(int(r[0]), str(r[1]), int(r[2]), float(r[3])) for r in rows]

    async def review_rounds(self, guild_id: int) -> list[int]:
        rows = await self.db.fetchall(
            "SELECT id FROM feedback_rounds WHERE guild_id = ?", (guild_id,)
        )
        return [int(r[0]) for r in rows]

    async def source_guild(self, source_kind: str, source_id: int) -> int | None:
        """The server an activity's entries belong to (None: no entries)."""
        value = await self.db.fetchval(
            "SELECT guild_id FROM ledger_entries WHERE source_kind = ? AND source_id = ? LIMIT 1",
            (source_kind, source_id),
        )
        return None if value is None else int(value)
