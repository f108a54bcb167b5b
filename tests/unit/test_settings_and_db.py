from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bot.settings import SettingsError, load_settings
from db.connection import Database, load_migrations


def test_missing_token_is_one_clear_line() -> None:
    with pytest.raises(SettingsError) as info:
        load_settings({})
    assert "\n" not in str(info.value)
    assert ".env" in str(info.value) and "DISCORD_TOKEN" in str(info.value)


@pytest.mark.parametrize(
    "env",
    [
        {"DISCORD_TOKEN": "x", "DEFAULT_TIMEZONE": "Mars/Olympus"},
        {"DISCORD_TOKEN": "x", "DEV_GUILD_ID": "abc"},
        {"DISCORD_TOKEN": "x", "LOG_LEVEL": "LOUD"},
    ],
)
def test_bad_settings_refused(env: dict[str, str]) -> None:
    with pytest.raises(SettingsError):
        load_settings(env)


def test_defaults() -> None:
    s = load_settings({"DISCORD_TOKEN": "abc", "DEV_GUILD_ID": "123"})
    assert s.database_path == Path("data/bot.sqlite3")
    assert s.default_timezone == "Europe/London" and s.dev_guild_id == 123


def test_run_command_without_token_exits_with_one_line(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    proc = subprocess.run(
        [sys.executable, "-m", "bot"], cwd=tmp_path, env=env, capture_output=True, text=True,
        timeout=60,
    )
    assert proc.returncode != 0
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and ".env.example" in lines[0]


async def test_fresh_file_migrates_and_second_start_changes_nothing(db_path: Path) -> None:
    latest = len(load_migrations())
    async with Database.open(db_path) as db:
        assert await db.schema_version() == latest
        mode = await db.fetchval("PRAGMA journal_mode")
        assert mode == "wal"
        assert await db.fetchval("PRAGMA foreign_keys") == 1
        tables = {r[0] for r in await db.fetchall("SELECT name FROM sqlite_master WHERE type='table'")}
        assert {"calls", "call_categories", "call_signups", "scheduled_jobs"} <= tables
    async with Database.open(db_path) as db:
        assert await db.migrate() == []
        assert await db.schema_version() == latest


async def test_transaction_rolls_back_as_one(db: Database) -> None:
    def work(conn):  # type: ignore[no-untyped-def]
        conn.execute(
            "INSERT INTO guild_settings (guild_id, updated_at) VALUES (1, 0)"
        )
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        await db.transaction(work)
    assert await db.fetchval("SELECT COUNT(*) FROM guild_settings") == 0


async def test_returning_writes_and_transactions_interleave_safely(db: Database) -> None:
    """A regression: ``UPDATE/INSERT ... RETURNING`` fetched over several awaits used to leave a
    statement in progress, so a concurrent transaction's COMMIT failed and the connection stayed
    stuck in an open transaction (every later write was lost)."""
    import asyncio

    from db.repositories.jobs import JobRepository

    jobs = JobRepository(db)

    async def upsert(i: int) -> object:
        return await jobs.upsert(key=f"k{i}", kind="x", guild_id=1, run_at=0, payload={}, now=0)

    async def tx(i: int) -> object:
        return await db.transaction(lambda c: c.execute(
            "INSERT INTO guild_settings (guild_id, updated_at) VALUES (?, 0)", (i,)).close())

    results = await asyncio.gather(*(f(i) for i in range(50) for f in (upsert, tx)),
                                   return_exceptions=True)
    assert [r for r in results if isinstance(r, BaseException)] == []
    assert not db.conn._conn.in_transaction
    assert await db.fetchval("SELECT COUNT(*) FROM guild_settings") == 50
    assert await db.fetchval("SELECT COUNT(*) FROM scheduled_jobs") == 50
