"""jobs."""

from __future__ import annotations

import json
from typing import Any

from bot.domain.jobs import Job
from db.database import Database, Row


def _job(row: Row) -> Job:
    return Job(
        id=row["id"],
        key=row["key"],
        kind=row["kind"],
        guild_id=row["guild_id"],
        run_at=row["run_at"],
        payload=json.loads(row["payload"]),
        status=row["status"],
        attempts=row["attempts"],
    )


_COLUMNS = "id, key, kind, guild_id, run_at, payload, status, attempts"


def shard_clause(shards: tuple[int, frozenset[int]] | None) -> tuple[str, tuple[int, ...]]:
    """SQL (``AND ...``) and its parameters keeping only jobs of guilds on ``shards``
    (``(shard count, shard ids)``; Discord's rule: ``(guild_id >> 22) % shard count``). A job
    of no guild belongs to shard 0. ``None``: every job (one process owns every shard)."""
    if shards is None:
        return "", ()
    count, ids = shards
    owned = sorted(ids)
    marks = ", ".join("?" * len(owned))  # only "?" marks are formatted in
    null = " OR guild_id IS NULL" if 0 in ids else ""
    return f" AND (((guild_id >> 22) % ?) IN ({marks}){null})", (count, *owned)


class JobRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def upsert(
        self,
        *,
        key: str,
        kind: str,
        guild_id: int | None,
        run_at: float,
        payload: dict[str, Any],
        now: float,
    ) -> Job:
        """Create the job, or move an existing one with the same key (it becomes pending again)."""
        row = await self.db.fetchone(
            f"""
            INSERT INTO scheduled_jobs (key, kind, guild_id, run_at, payload, created_at)
            VALUES (?, ?, ?, ?, ?, ?)
            ON CONFLICT (key) DO UPDATE SET
                kind = excluded.kind, guild_id = excluded.guild_id, run_at = excluded.run_at,
                payload = excluded.payload, status = 'pending', attempts = 0, last_error = NULL,
                finished_at = NULL
            RETURNING {_COLUMNS}
            """,
            (key, kind, guild_id, run_at, json.dumps(payload, sort_keys=True), now),
        )
        assert row is not None
        return _job(row)

    async def cancel(self, key: str, now: float) -> bool:
        changed = await self.db.execute(
            "UPDATE scheduled_jobs SET status = 'cancelled', finished_at = ? "
            "WHERE key = ? AND status IN ('pending', 'running')",
            (now, key),
        )
        return changed > 0

    async def cancel_prefix(self, prefix: str, now: float) -> list[int]:
        """Cancel every pending job whose key starts with ``prefix``; return their ids."""
        rows = await self.db.fetchall(
            "UPDATE scheduled_jobs SET status = 'cancelled', finished_at = ? "
            "WHERE key >= ? AND key < ? AND status IN ('pending', 'running') RETURNING id",
            (now, prefix, prefix + "\uffff"),
        )
        return [r["id"] for r in rows]

    async def delete_prefix(self, prefix: str) -> list[int]:
        """Delete every job whose key starts with ``prefix``, whatever its state (for an item
        that never came to be: its post could not be made); return their ids."""
        rows = await self.db.fetchall(
            "DELETE FROM scheduled_jobs WHERE key >= ? AND key < ? RETURNING id",
            (prefix, prefix + "\uffff"),
        )
        return [r["id"] for r in rows]

    async def get(self, job_id: int) -> Job | None:
        row = await self.db.fetchone(
            f"SELECT {_COLUMNS} FROM scheduled_jobs WHERE id = ?", (job_id,)
        )
        return _job(row) if row else None

    async def get_by_key(self, key: str) -> Job | None:
        row = await self.db.fetchone(f"SELECT {_COLUMNS} FROM scheduled_jobs WHERE key = ?", (key,))
        return _job(row) if row else None

    async def due_before(
        self, until: float, limit: int, shards: tuple[int, frozenset[int]] | None = None
    ) -> list[Job]:
        """Pending jobs due before ``until`` (overdue ones included, on ``shards``), soonest
        first."""
        where, params = shard_clause(shards)
        rows = await self.db.fetchall(
            f"SELECT {_COLUMNS} FROM scheduled_jobs WHERE status = 'pending' AND run_at <= ?"
            f"{where} ORDER BY run_at, id LIMIT ?",
            (until, *params, limit),
        )
        return [_job(r) for r in rows]

    async def claim_due(
        self, now: float, limit: int, shards: tuple[int, frozenset[int]] | None = None
    ) -> list[Job]:
        """Take up to ``limit`` pending jobs due by ``now`` (on ``shards``), soonest first, in
        one statement. On PostgreSQL the candidates are read ``FOR UPDATE SKIP LOCKED``, so
        processes claiming together take disjoint jobs without waiting for each other; a job is
        only ever taken by one of them (its status leaves 'pending' in the same statement)."""
        where, params = shard_clause(shards)
        rows = await self.db.fetchall(
            f"UPDATE scheduled_jobs SET status = 'running', attempts = attempts + 1 "
            f"WHERE status = 'pending' AND id IN (SELECT id FROM scheduled_jobs "
            f"WHERE status = 'pending' AND run_at <= ?{where} ORDER BY run_at, id LIMIT ?"
            f"{self.db.dialect.skip_locked}) RETURNING {_COLUMNS}",
            (now, *params, limit),
        )
        return sorted((_job(r) for r in rows), key=lambda j: (j.run_at, j.id))

    async def claim(self, job_id: int, now: float) -> Job | None:
        """Atomically take a pending, due job; ``None`` if it was done, cancelled or moved."""
        row = await self.db.fetchone(
            f"UPDATE scheduled_jobs SET status = 'running', attempts = attempts + 1 "
            f"WHERE id = ? AND status = 'pending' AND run_at <= ? RETURNING {_COLUMNS}",
            (job_id, now),
        )
        return _job(row) if row else None

    async def finish(self, job_id: int, now: float) -> None:
        await self.db.execute(
            "UPDATE scheduled_jobs SET status = 'done', finished_at = ?, last_error = NULL "
            "WHERE id = ? AND status = 'running'",
            (now, job_id),
        )

    async def retry_later(self, job_id: int, run_at: float, error: str) -> None:
        await self.db.execute(
            "UPDATE scheduled_jobs SET status = 'pending', run_at = ?, last_error = ? "
            "WHERE id = ? AND status = 'running'",
            (run_at, error[:500], job_id),
        )

    async def fail(self, job_id: int, now: float, error: str) -> None:
        await self.db.execute(
            "UPDATE scheduled_jobs SET status = 'failed', finished_at = ?, last_error = ? "
            "WHERE id = ? AND status = 'running'",
            (now, error[:500], job_id),
        )

    async def release_running(self, shards: tuple[int, frozenset[int]] | None = None) -> int:
        """At start: jobs left 'running' by a crash never finished their effect; run them again.
        Only the jobs of ``shards`` (the starting process's): another process's running jobs
        are its own business."""
        where, params = shard_clause(shards)
        return await self.db.execute(
            f"UPDATE scheduled_jobs SET status = 'pending' WHERE status = 'running'{where}",
            params,
        )

    async def count(self, status: str = "pending") -> int:
        return int(
            await self.db.fetchval(
                "SELECT COUNT(*) FROM scheduled_jobs WHERE status = ?", (status,)
            )
        )
