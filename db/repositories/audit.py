"""audit."""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from typing import Any

from bot.domain.audit.chain import GENESIS, row_hash
from bot.domain.audit.models import AuditEntry, AuditFor, AuditMade, AuditRow
from db.database import Database, Row, Tx

# Canonical JSON of a row's details (the encoder made once: json.dumps builds one per call).
_DETAILS = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)

_COLUMNS = "id, guild_id, seq, at, actor_ref, action, subject, details, prev_hash, hash"
_PREFIXED = ", ".join(f"a.{c.strip()}" for c in _COLUMNS.split(","))


async def guild_salt(tx: Tx, guild_id: int) -> str:
    """The server's secret salt (created on first use), inside the caller's transaction."""
    row = await tx.fetchone("SELECT salt FROM guild_secrets WHERE guild_id = ?", (guild_id,))
    if row is not None:
        return str(row[0])
    await tx.lock("guild-secret", guild_id)  # two first uses at once make one salt
    row = await tx.fetchone("SELECT salt FROM guild_secrets WHERE guild_id = ?", (guild_id,))
    if row is not None:
        return str(row[0])
    salt = secrets.token_hex(16)
    await tx.execute("INSERT INTO guild_secrets (guild_id, salt) VALUES (?, ?)", (guild_id, salt))
    return salt


def member_ref(salt: str, user_id: int) -> str:
    """A member id as a salted hash: stable within a server, not reversible without the salt."""
    return hashlib.sha256(f"{salt}:{user_id}".encode()).hexdigest()[:32]


def _ref(salt: str, key: str, user_id: int) -> str:
    return hashlib.sha256(f"{salt}:{key}:{user_id}".encode()).hexdigest()[:32]


async def audit_ref(tx: Tx, guild_id: int, user_id: int, *, create: bool = True) -> str | None:
    """The member's current reference in this server's audit log (inside a transaction);
    ``None`` if they have no key and ``create`` is off."""
    row = await tx.fetchone(
        "SELECT key FROM member_keys WHERE guild_id = ? AND user_id = ?", (guild_id, user_id)
    )
    if row is not None:
        key = str(row[0])
    elif create:
        await tx.lock("audit", guild_id)  # member keys are made under the chain's lock
        again = await tx.fetchone(
            "SELECT key FROM member_keys WHERE guild_id = ? AND user_id = ?", (guild_id, user_id)
        )
        if again is not None:
            return _ref(await guild_salt(tx, guild_id), str(again[0]), user_id)
        key = secrets.token_hex(16)
        await tx.execute(
            "INSERT INTO member_keys (guild_id, user_id, key) VALUES (?, ?, ?)",
            (guild_id, user_id, key),
        )
    else:
        return None
    return _ref(await guild_salt(tx, guild_id), key, user_id)


async def forget_member(tx: Tx, guild_id: int, user_id: int) -> bool:
    """Delete the member's key: their past audit rows can no longer be linked to them."""
    return (
        await tx.execute(
            "DELETE FROM member_keys WHERE guild_id = ? AND user_id = ?", (guild_id, user_id)
        )
        > 0
    )


async def chain_head(tx: Tx, guild_id: int) -> tuple[int, str, float]:
    """The server's last (seq, hash, time), or the genesis values for an empty chain. Read it
    under ``tx.lock("audit", guild_id)`` (see :meth:`AuditBatch.flush`)."""
    row = await tx.fetchone(
        "SELECT seq, hash, at FROM audit_log WHERE guild_id = ? ORDER BY seq DESC LIMIT 1",
        (guild_id,),
    )
    return (int(row[0]), str(row[1]), float(row[2])) if row else (0, GENESIS, 0.0)


def _is_id(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def details_text(details: Mapping[str, Any], ref: Callable[[int], str | None]) -> str:
    """Canonical JSON of a row's details, every ``*user_id``/``*user_ids`` value replaced by the
    member's reference (raw member ids never reach the audit log)."""

    def one(value: object) -> object:
        return ref(value) if isinstance(value, int) and _is_id(value) else value

    clean: dict[str, Any] = {}
    for k, v in details.items():
        if k.endswith("user_id"):
            clean[k] = one(v)
        elif k.endswith("user_ids") and isinstance(v, list | tuple | set | frozenset):
            clean[k] = [one(x) for x in (sorted(v) if isinstance(v, set | frozenset) else v)]
        else:
            clean[k] = v
    return _DETAILS.encode(clean)


def _named_ids(details: Mapping[str, Any]) -> set[int]:
    """The member ids a row's details name (replaced by references when written)."""
    ids: set[int] = set()
    for k, v in details.items():
        if k.endswith("user_id") and _is_id(v):
            ids.add(v)
        elif k.endswith("user_ids") and isinstance(v, list | tuple | set | frozenset):
            ids.update(x for x in v if _is_id(x))
    return ids


async def append_entries(tx: Tx, audit: AuditFor[Any], result: Any = None) -> list[AuditRow]:
    """Inside the decision's transaction, once it changed something: append its audit row(s).

    Returns the rows appended. An error here propagates, so the caller's ``db.transaction``
    rolls the decision back too.
    """
    made: AuditMade = audit(result) if callable(audit) else audit
    if made is None:
        return []
    batch = AuditBatch(tx)
    for entry in [made] if isinstance(made, AuditEntry) else made:
        batch.add(entry)
    return await batch.flush()


async def execute_audited(
    db: Database, sql: str, params: Sequence[Any], audit: AuditFor[int]
) -> int:
    """One decisive statement and its audit row in one transaction; the changed row count.

    The row is appended only if the statement changed something (``rowcount > 0``); without
    ``audit`` this is plain :meth:`Database.execute`.
    """
    if audit is None:
        return await db.execute(sql, params)

    async def work(tx: Tx) -> int:
        changed = await tx.execute(sql, params)
        if changed > 0:
            await append_entries(tx, audit, changed)
        return changed

    return await db.transaction(work)


async def fetchone_audited(
    db: Database, sql: str, params: Sequence[Any], audit: AuditFor[Row]
) -> Row | None:
    """One decisive ``... RETURNING`` statement and its audit row in one transaction.

    The row is appended (from the returned row) only if the statement returned one.
    """
    if audit is None:
        return await db.fetchone(sql, params)

    async def work(tx: Tx) -> Row | None:
        row = await tx.fetchone(sql, params)
        if row is not None:
            await append_entries(tx, audit, row)
        return row

    return await db.transaction(work)


async def fetchall_audited(
    db: Database, sql: str, params: Sequence[Any], audit: AuditFor[list[Row]]
) -> list[Row]:
    """One decisive ``... RETURNING`` statement (many rows) and their audit rows in one
    transaction; ``audit`` is called with the returned rows only if there are any."""
    if audit is None:
        return await db.fetchall(sql, params)

    async def work(tx: Tx) -> list[Row]:
        rows = await tx.fetchall(sql, params)
        if rows:
            await append_entries(tx, audit, rows)
        return rows

    return await db.transaction(work)


class AuditBatch:
    """Audit rows appended inside one transaction, chained in memory, written at once.

    Every audit row goes through here (one row or a burst of reaction sign-ups): rows are
    collected by :meth:`add` and resolved by :meth:`flush` with one query for the members'
    keys, one ``executemany`` for the keys of new members, one read of each server's chain
    head and one ``executemany`` for the rows.
    """

    def __init__(self, tx: Tx) -> None:
        self.tx = tx
        self._salts: dict[int, str] = {}
        self._keys: dict[tuple[int, int], str] = {}
        self._refs: dict[tuple[int, int], str] = {}
        self._last: dict[int, tuple[int, str, float]] = {}
        self._pending: list[AuditEntry] = []

    def add(self, entry: AuditEntry) -> None:
        self._pending.append(entry)

    def append(
        self,
        guild_id: int,
        at: float,
        actor_id: int | None,
        action: str,
        subject: str,
        details: Mapping[str, Any],
    ) -> None:
        self._pending.append(AuditEntry(guild_id, at, actor_id, action, subject, details))

    def _member_ids(self) -> dict[int, set[int]]:
        wanted: dict[int, set[int]] = {}
        for entry in self._pending:
            ids = wanted.setdefault(entry.guild_id, set())
            if entry.actor_id is not None:
                ids.add(entry.actor_id)
            ids.update(_named_ids(entry.details))
        return wanted

    async def _load_keys(self) -> None:
        for guild_id, ids in self._member_ids().items():
            if guild_id not in self._salts:
                self._salts[guild_id] = await guild_salt(self.tx, guild_id)
            missing = [u for u in ids if (guild_id, u) not in self._keys]
            for i in range(0, len(missing), 500):
                chunk = missing[i : i + 500]
                marks = ",".join("?" * len(chunk))
                # Only "?" placeholders are formatted in; every value is a bound parameter.
                for user_id, key in await self.tx.fetchall(
                    f"SELECT user_id, key FROM member_keys WHERE guild_id = ? "
                    f"AND user_id IN ({marks})",
                    (guild_id, *chunk),
                ):
                    self._keys[(guild_id, int(user_id))] = str(key)
            new = [
                (guild_id, u, secrets.token_hex(16))
                for u in missing
                if (guild_id, u) not in self._keys
            ]
            if new:
                await self.tx.executemany(
                    "INSERT INTO member_keys (guild_id, user_id, key) VALUES (?, ?, ?)", new
                )
                self._keys.update({(g, u): k for g, u, k in new})

    def _ref(self, guild_id: int, user_id: int) -> str:
        ref = self._refs.get((guild_id, user_id))
        if ref is None:
            ref = _ref(self._salts[guild_id], self._keys[(guild_id, user_id)], user_id)
            self._refs[(guild_id, user_id)] = ref
        return ref

    async def flush(self) -> list[AuditRow]:
        """Resolve and write the collected rows (still inside the caller's transaction).

        Each server's chain is locked (``tx.lock("audit", guild)``, in server order so two
        transactions never wait on each other crosswise) before its head is read, and stays
        locked until the transaction ends: another connection or process appending to the same
        chain waits and then reads the head this one wrote. No head is kept between
        transactions."""
        if not self._pending:
            return []
        for guild_id in sorted({e.guild_id for e in self._pending} - set(self._last)):
            await self.tx.lock("audit", guild_id)
        await self._load_keys()
        rows: list[AuditRow] = []
        for entry in self._pending:
            guild_id = entry.guild_id
            actor = self._ref(guild_id, entry.actor_id) if entry.actor_id is not None else None
            text = details_text(entry.details, lambda u, g=guild_id: self._ref(g, u))  # type: ignore[misc]
            last = self._last.get(guild_id) or await chain_head(self.tx, guild_id)  # locked above
            seq, prev = last[0] + 1, last[1]
            # Entries are stamped when decided but chained when their batch commits: keep time
            # monotonic along the chain so a date-range export never has a hole in the sequence.
            at = max(entry.at, last[2])
            digest = row_hash(prev, guild_id, seq, at, actor, entry.action, entry.subject, text)
            rows.append(
                AuditRow(
                    0, guild_id, seq, at, actor, entry.action, entry.subject, text, prev, digest
                )
            )
            self._last[guild_id] = (seq, digest, at)
        await self.tx.executemany(
            "INSERT INTO audit_log (guild_id, seq, at, actor_ref, action, subject, details, "
            "prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    r.guild_id,
                    r.seq,
                    r.at,
                    r.actor_ref,
                    r.action,
                    r.subject,
                    r.details,
                    r.prev_hash,
                    r.hash,
                )
                for r in rows
            ],
        )
        # The members each row names, for the indexed lookup of a member's rows (0008).
        named: set[tuple[int, str, int]] = set()
        for entry, r in zip(self._pending, rows, strict=True):
            if r.actor_ref is not None:
                named.add((r.guild_id, r.actor_ref, r.seq))
            named.update(
                (r.guild_id, self._ref(r.guild_id, user_id), r.seq)
                for user_id in _named_ids(entry.details)
            )
        if named:
            await self.tx.executemany(
                "INSERT OR IGNORE INTO audit_refs (guild_id, ref, seq) VALUES (?, ?, ?)",
                sorted(named),
            )
        self._pending = []
        return rows


class AuditRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def append(
        self,
        guild_id: int,
        at: float,
        actor_id: int | None,
        action: str,
        subject: str,
        details: dict[str, Any],
    ) -> AuditRow:
        """Append one row, chained to the server's previous row, in one transaction."""
        entry = AuditEntry(guild_id, at, actor_id, action, subject, details)

        async def work(tx: Tx) -> AuditRow:
            (row,) = await append_entries(tx, entry)
            return row

        return await self.db.transaction(work)

    async def rows(
        self, guild_id: int, since: float | None = None, until: float | None = None
    ) -> list[AuditRow]:
        rows = await self.db.fetchall(
            f"SELECT {_COLUMNS} FROM audit_log WHERE guild_id = ? AND at >= ? AND at <= ? ORDER BY seq",
            (guild_id, since if since is not None else 0.0, until if until is not None else 1e12),
        )
        return [AuditRow(*r) for r in rows]

    async def count(self, guild_id: int, since: float | None, until: float | None) -> int:
        """How many rows an export of this period holds (read beside the writer)."""
        rows = await self.db.read(
            "SELECT COUNT(*) FROM audit_log WHERE guild_id = ? AND at >= ? AND at <= ?",
            (guild_id, since if since is not None else 0.0, until if until is not None else 1e12),
        )
        return int(rows[0][0])

    async def stream_rows(
        self, guild_id: int, since: float | None, until: float | None, *, chunk: int = 2000
    ) -> AsyncIterator[list[AuditRow]]:
        """The period's rows oldest first, in chunks, from one snapshot, beside the writer."""
        async for rows in self.db.stream(
            f"SELECT {_COLUMNS} FROM audit_log WHERE guild_id = ? AND at >= ? AND at <= ? "
            "ORDER BY seq",
            (guild_id, since if since is not None else 0.0, until if until is not None else 1e12),
            chunk=chunk,
        ):
            yield [AuditRow(*r) for r in rows]

    async def guild_ids(self) -> list[int]:
        rows = await self.db.fetchall("SELECT DISTINCT guild_id FROM audit_log ORDER BY guild_id")
        return [r[0] for r in rows]

    async def member_ref(self, guild_id: int, user_id: int, *, create: bool = True) -> str | None:
        """The member's current audit reference (None if they have none and ``create`` is off)."""

        async def work(tx: Tx) -> str | None:
            return await audit_ref(tx, guild_id, user_id, create=create)

        return await self.db.transaction(work)

    async def rows_about(self, guild_id: int, ref: str) -> list[AuditRow]:
        """Rows made by the member, or naming them in their details."""
        rows = await self.db.read(
            f"SELECT {_PREFIXED} FROM audit_refs AS r JOIN audit_log AS a "
            "ON a.guild_id = r.guild_id AND a.seq = r.seq "
            "WHERE r.guild_id = ? AND r.ref = ? ORDER BY r.seq",
            (guild_id, ref),
        )
        return [AuditRow(*r) for r in rows]

    async def known_refs(self, guild_id: int) -> dict[str, int]:
        """Reference -> user id for members whose key still exists (organisers' export)."""

        async def work(tx: Tx) -> dict[str, int]:
            salt_row = await tx.fetchone(
                "SELECT salt FROM guild_secrets WHERE guild_id = ?", (guild_id,)
            )
            if salt_row is None:
                return {}
            keys = await tx.fetchall(
                "SELECT user_id, key FROM member_keys WHERE guild_id = ?", (guild_id,)
            )
            return {_ref(str(salt_row[0]), str(k), int(u)): int(u) for u, k in keys}

        return await self.db.transaction(work)
