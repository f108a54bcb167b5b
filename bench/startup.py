"""4. Start-up and memory: process start to ready, with ``signups`` sign-ups stored.

The measured process is ``python -m bench._startup_child DB`` (see that module): it builds the
bot as ``python -m bot`` does, logs in through the recording REST layer (no network), runs
``setup_hook`` (``tree.sync`` answered locally), feeds ``READY`` through the real gateway parser
and reports when ``on_ready`` ran, with its RSS. Time is from just before the process is
spawned to the ready timestamp it prints.

Baseline: ``python -c "import discord"`` spawned the same way (it prints its time after the
import), alternated with the bot runs.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench.common import CHANNEL_ID, GUILD_ID, ORGANISER_ID, POST_ID, Figure, Section, snowflake

__all__ = ["Config", "bot_start", "import_discord", "prepare_db", "run"]

BASELINE_CODE = "import time, discord; print(repr(time.time()), flush=True)"


@dataclass
class Config:
    signups: int = 10_000
    runs: int = 5
    timeout: float = 60.0

    @classmethod
    def full(cls) -> Config:
        return cls()

    @classmethod
    def quick(cls) -> Config:
        return cls(signups=10_000, runs=2)

    @classmethod
    def tiny(cls) -> Config:
        return cls(signups=200, runs=1, timeout=30.0)


async def prepare_db(path: Path, signups: int) -> None:
    """A migrated database holding one open call with ``signups`` sign-ups."""
    from db import open_database
    from db.repositories.calls import CallRepository

    async with open_database(path) as db:
        repo = CallRepository(db)
        call = await repo.create(
            guild_id=GUILD_ID,
            channel_id=CHANNEL_ID,
            title="A very popular call",
            description="",
            closes_at=None,
            created_by=ORGANISER_ID,
            created_at=time.time(),
            seed="0" * 64,
            seed_commitment="0" * 64,
            categories=[("🧭", "🧭", "Experienced", 3), ("🌱", "🌱", "New", 3)],
        )
        await repo.set_message(call.id, CHANNEL_ID, POST_ID)
        cats = await repo.categories(call.id)
        now = time.time()
        await db.executemany(
            "INSERT INTO call_signups (call_id, user_id, category_id, joined_at) VALUES (?, ?, ?, ?)",
            [(call.id, snowflake(i), cats[i % 2].id, now + i * 1e-3) for i in range(signups)],
        )
        await db.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def _env(pycache: Path | None = None) -> dict[str, str]:
    """The children's environment. Bytecode is cached (as on any server after the first start)
    in ``pycache`` rather than in the source tree, even where PYTHONDONTWRITEBYTECODE is set."""
    env = dict(os.environ)
    root = str(Path(__file__).resolve().parent.parent)
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.pop("PYTHONPROFILEIMPORTTIME", None)
    if pycache is not None:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(pycache)
    return env


def _spawn(args: list[str], timeout: float, pycache: Path | None) -> tuple[float, str]:
    """(seconds from spawn to the time the child printed, its stdout's last line)."""
    t0 = time.time()
    done = subprocess.run(
        [sys.executable, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=_env(pycache),
        cwd=str(Path(__file__).resolve().parent.parent),
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{args[:2]} failed ({done.returncode}): {done.stderr[-2000:]}")
    line = done.stdout.strip().splitlines()[-1]
    return t0, line


def bot_start(
    db_path: Path, timeout: float = 60.0, pycache: Path | None = None
) -> dict[str, float]:
    t0, line = _spawn(["-m", "bench._startup_child", str(db_path)], timeout, pycache)
    data = json.loads(line)
    return {
        "seconds": data["ready"] - t0,
        "imports": data["imported"] - t0,
        "login": data["logged_in"] - data["built"],
        "rss_mb": max(data["rss_mb"], data.get("peak_rss_mb", 0.0)),
        "requests": data["requests"],
    }


def import_discord(timeout: float = 60.0, pycache: Path | None = None) -> float:
    t0, line = _spawn(["-c", BASELINE_CODE], timeout, pycache)
    return float(line) - t0


async def run(cfg: Config) -> Section:
    section = Section("Start-up and memory")
    ready = Figure(
        "Start-up",
        f"process start → ready, {cfg.signups:,} sign-ups stored",
        "ms",
        baseline_name='`python -c "import discord"`',
        target="≤ 1.5× baseline",
        meets=lambda med, ratio: ratio is not None and ratio <= 1.5,
        digits=0,
    )
    imports = Figure("Start-up", "… of which interpreter start and imports", "ms", digits=0)
    login = Figure("Start-up", "… of which login + setup_hook (cogs, re-arm)", "ms", digits=0)
    rss = Figure(
        "Start-up",
        "RSS at ready (peak)",
        "MiB",
        target="≤ 80 MiB",
        meets=lambda med, ratio: med <= 80,
        digits=1,
    )
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as tmp:
        db_path = Path(tmp) / "startup.sqlite3"
        pycache = Path(tmp) / "pycache"
        await prepare_db(db_path, cfg.signups)
        loop = asyncio.get_running_loop()
        # One untimed round of each: compiled bytecode and the OS file cache are warm after it,
        # as on any restart.
        await loop.run_in_executor(None, import_discord, cfg.timeout, pycache)
        await loop.run_in_executor(None, bot_start, db_path, cfg.timeout, pycache)
        for _ in range(cfg.runs):
            base = await loop.run_in_executor(None, import_discord, cfg.timeout, pycache)
            result = await loop.run_in_executor(None, bot_start, db_path, cfg.timeout, pycache)
            ready.bot.append(result["seconds"] * 1000)
            ready.baseline.append(base * 1000)
            imports.bot.append(result["imports"] * 1000)
            login.bot.append(result["login"] * 1000)
            rss.bot.append(result["rss_mb"])
            section.check(
                "start-up: no REST call beyond the stubbed login",
                result["requests"] <= 2,
                f"{result['requests']} requests",
            )
    section.figures.extend([ready, imports, login, rss])
    section.notes.append(
        "Ready is the bot's own `on_ready` after a `READY` dispatch with no servers "
        "(`guild_ready_timeout=0`, so discord.py's wait for late `GUILD_CREATE`s is not counted); "
        "the reconciliation of open calls that follows `on_ready` needs Discord and is not "
        "included here: the reconciliation section below starts the real bot against the fake "
        "Discord with real servers, members and stored sign-ups, and times start → reconciled. "
        "One untimed round of each process runs first so bytecode caches are warm "
        "(compiled into a temporary `PYTHONPYCACHEPREFIX`, for the bot and discord.py alike, even "
        "where `PYTHONDONTWRITEBYTECODE` is set)."
    )
    return section
