"""The append-only, hash-chained audit log."""

from __future__ import annotations

import hashlib
import json
import secrets
import sqlite3
from dataclasses import dataclass
from typing import Any

from db.connection import Database

__all__ = ["GENESIS", "AuditRepository", "AuditRow", "row_hash"]

GENESIS = "0" * 64


@dataclass(frozen=True, slots=True)
class AuditRow:
    id: int
    guild_id: int
    seq: int
    at: float
    actor_ref: str | None
    action: str
    subject: str
    details: str
    prev_hash: str
    hash: str


def row_hash(
    prev_hash: str, guild_id: int, seq: int, at: float, actor_ref: str | None, action: str,
    subject: str, details: str,
) -> str:
    """SHA-256 over the previous hash and this row's fields (canonical JSON)."""
    body = json.dumps(
        [prev_hash, guild_id, seq, repr(float(at)), actor_ref, action, subject, details],
        ensure_ascii=False, separators=(",", ":"),
    )
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def _salt(conn: sqlite3.Connection, guild_id: int) -> str:
    row = conn.execute("SELECT salt FROM guild_secrets WHERE guild_id = ?", (guild_id,)).fetchone()
    if row is not None:
        return str(row[0])
    salt = secrets.token_hex(16)
    conn.execute("INSERT INTO guild_secrets (guild_id, salt) VALUES (?, ?)", (guild_id, salt))
    return salt


def member_ref(salt: str, user_id: int) -> str:
    """A member id as a salted hash: stable within a server, not reversible without the salt."""
    return hashlib.sha256(f"{salt}:{user_id}".encode()).hexdigest()[:32]


class AuditRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def append(
        self, guild_id: int, at: float, actor_id: int | None, action: str, subject: str,
        details: dict[str, Any],
    ) -> AuditRow:
        """Append one row, chained to the server's previous row, in one transaction."""

        def work(conn: sqlite3.Connection) -> AuditRow:
            salt = _salt(conn, guild_id)
            actor = member_ref(salt, actor_id) if actor_id is not None else None
            clean = {
                k: (member_ref(salt, v) if k.endswith("user_id") and isinstance(v, int) else v)
                for k, v in details.items()
            }
            text = json.dumps(clean, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
            last = conn.execute(
                "SELECT seq, hash FROM audit_log WHERE guild_id = ? ORDER BY seq DESC LIMIT 1",
                (guild_id,),
            ).fetchone()
            seq, prev = (last[0] + 1, last[1]) if last else (1, GENESIS)
            digest = row_hash(prev, guild_id, seq, at, actor, action, subject, text)
            cur = conn.execute(
                "INSERT INTO audit_log (guild_id, seq, at, actor_ref, action, subject, details, "
                "prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (guild_id, seq, at, actor, action, subject, text, prev, digest),
            )
            return AuditRow(int(cur.lastrowid or 0), guild_id, seq, at, actor, action, subject,
                            text, prev, digest)

        return await self.db.transaction(work)

    async def rows(self, guild_id: int, since: float | None = None, until: float | None = None) -> list[AuditRow]:
        rows = await self.db.fetchall(
            "SELECT id, guild_id, seq, at, actor_ref, action, subject, details, prev_hash, hash "
            "FROM audit_log WHERE guild_id = ? AND at >= ? AND at <= ? ORDER BY seq",
            (guild_id, since if since is not None else 0.0, until if until is not None else 1e12),
        )
        return [AuditRow(*r) for r in rows]

    async def member_ref(self, guild_id: int, user_id: int) -> str:
        return await self.db.transaction(lambda conn: member_ref(_salt(conn, guild_id), user_id))
