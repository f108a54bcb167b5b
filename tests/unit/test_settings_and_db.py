from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bot.settings import SettingsError, load_settings
from db import Database, Tx, open_database
from db.migrations import load_migrations
from tests.dbtools import table_names


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
        [sys.executable, "-m", "bot"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode != 0
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and ".env.example" in lines[0]


async def test_fresh_file_migrates_and_second_start_changes_nothing(db_path: Path) -> None:
    latest = len(load_migrations())
    async with open_database(db_path) as db:
        assert await db.schema_version() == latest
        if db.dialect.is_sqlite:
            assert await db.fetchval("PRAGMA journal_mode") == "wal"
            assert await db.fetchval("PRAGMA foreign_keys") == 1
        tables = set(await table_names(db))
        assert {"calls", "call_categories", "call_signups", "scheduled_jobs"} <= tables
    async with open_database(db_path) as db:
        assert await db.migrate() == []
        assert await db.schema_version() == latest


async def test_transaction_rolls_back_as_one(db: Database) -> None:
    async def work(tx: Tx) -> None:
        await tx.execute("INSERT INTO guild_settings (guild_id, updated_at) VALUES (1, 0)")
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        await db.transaction(work)
    assert await db.fetchval("SELECT COUNT(*) FROM guild_settings") == 0


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_a_unit_of_work_that_awaits_anything_else_is_refused_and_rolled_back(
    db: Database,
) -> None:
    """A unit of work awaits only its transaction; awaiting a sleep (or Discord) would let other
    work interleave on PostgreSQL and cannot run on SQLite's database thread."""
    import asyncio

    from db.sqlite import TransactionMisuse

    async def work(tx: Tx) -> None:
        await tx.execute("INSERT INTO guild_settings (guild_id, updated_at) VALUES (1, 0)")
        await asyncio.sleep(0)

    with pytest.raises(TransactionMisuse):
        await db.transaction(work)
    assert await db.fetchval("SELECT COUNT(*) FROM guild_settings") == 0
    assert await db.transaction(_nothing) is None  # the writer is usable again


async def test_database_files_are_private(tmp_path: Path) -> None:
    """Members' answers live in the file: only the bot's user may read it (and its WAL)."""
    import stat

    path = tmp_path / "data" / "bot.sqlite3"
    async with open_database(path) as db:
        await db.execute("INSERT INTO guild_settings (guild_id, updated_at) VALUES (1, 0)")
        modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in path.parent.iterdir()}
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert set(modes) >= {"bot.sqlite3", "bot.sqlite3-wal"}
    assert all(mode == 0o600 for mode in modes.values()), modes


async def test_an_existing_readable_database_is_made_private(tmp_path: Path) -> None:
    import stat

    path = tmp_path / "bot.sqlite3"
    async with open_database(path):
        pass
    path.chmod(0o644)
    async with open_database(path):
        pass
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


async def test_long_reads_stream_in_chunks_beside_the_writer(db: Database) -> None:
    await db.executemany(
        "INSERT INTO guild_settings (guild_id, updated_at) VALUES (?, 0)", [(i,) for i in range(25)]
    )
    chunks = [len(c) async for c in db.stream("SELECT guild_id FROM guild_settings", chunk=10)]
    assert chunks == [10, 10, 5]
    assert len(await db.read("SELECT guild_id FROM guild_settings")) == 25


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
        async def work(t: Tx) -> int:
            return await t.execute(
                "INSERT INTO guild_settings (guild_id, updated_at) VALUES (?, 0)", (i,)
            )

        return await db.transaction(work)

    results = await asyncio.gather(
        *(f(i) for i in range(50) for f in (upsert, tx)), return_exceptions=True
    )
    assert [r for r in results if isinstance(r, BaseException)] == []
    assert await db.transaction(_nothing) is None  # no transaction was left open
    assert await db.fetchval("SELECT COUNT(*) FROM guild_settings") == 50
    assert await db.fetchval("SELECT COUNT(*) FROM scheduled_jobs") == 50


async def _nothing(tx: Tx) -> None:
    return None
