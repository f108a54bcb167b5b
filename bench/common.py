"""Shared pieces of the benchmark suite: figures and statistics, the machine and versions,
error capture. The Discord fakes live in :mod:`bench.fakes` (re-exported here)."""

from __future__ import annotations

import asyncio
import logging
import os
import platform
import sqlite3
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import discord

from bench.fakes import (
    BOT_USER_ID,
    CHANNEL_ID,
    GUILD_ID,
    ORGANISER_ID,
    POST_ID,
    RecordingHTTP,
    attach_gateway,
    max_in_window,
    prepare_client,
    reaction_payload,
    rss_mb,
    snowflake,
    user_json,
)

__all__ = [
    "BOT_USER_ID",
    "CHANNEL_ID",
    "GUILD_ID",
    "ORGANISER_ID",
    "POST_ID",
    "Check",
    "Figure",
    "RecordingHTTP",
    "Section",
    "attach_gateway",
    "capture_errors",
    "drain_tasks",
    "machine_info",
    "max_in_window",
    "percentile",
    "prepare_client",
    "reaction_payload",
    "rss_mb",
    "snowflake",
    "user_json",
    "versions",
]

log = logging.getLogger(__name__)

# -- figures ------------------------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (``q`` in 0..100) of a non-empty sequence."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.4999)))
    return ordered[rank - 1]


@dataclass
class Figure:
    """One measured quantity: a value per run for the bot and, optionally, for the baseline.

    ``ratio`` is bot ÷ baseline (see :attr:`ratio`); the target says which way is good.
    ``target`` is a predicate on (bot median, ratio) with a human description.
    """

    benchmark: str
    name: str
    unit: str
    bot: list[float] = field(default_factory=list)
    baseline: list[float] = field(default_factory=list)
    baseline_name: str = ""
    target: str = ""
    meets: Callable[[float, float | None], bool] | None = None
    digits: int = 1

    @property
    def median(self) -> float:
        return statistics.median(self.bot) if self.bot else float("nan")

    @property
    def baseline_median(self) -> float | None:
        return statistics.median(self.baseline) if self.baseline else None

    @property
    def ratio(self) -> float | None:
        """bot ÷ baseline: the median of the per-run ratios when the runs are paired (each bot
        run next to its baseline run, which cancels slow drifts of a shared machine), else the
        ratio of the medians."""
        base = self.baseline_median
        if base is None or base == 0 or not self.bot:
            return None
        if len(self.bot) == len(self.baseline) and all(self.baseline):
            return statistics.median(b / r for b, r in zip(self.bot, self.baseline, strict=True))
        return self.median / base

    @property
    def met(self) -> bool | None:
        if self.meets is None or not self.bot:
            return None
        return bool(self.meets(self.median, self.ratio))

    def fmt(self, values: list[float]) -> str:
        if not values:
            return "–"
        med = statistics.median(values)
        d = self.digits
        if len(values) == 1:
            return f"{med:,.{d}f} {self.unit}"
        return f"{med:,.{d}f} ({min(values):,.{d}f}–{max(values):,.{d}f}) {self.unit}"


@dataclass
class Check:
    """A correctness fact (never a timing): exactly-once, 22 confirmed, no errors."""

    name: str
    ok: bool
    detail: str = ""


@dataclass
class Section:
    """What one benchmark module returns."""

    title: str
    figures: list[Figure] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    skipped: str | None = None

    def check(self, name: str, ok: bool, detail: str = "") -> None:
        # Checks repeat once per run; keep one line per name, failing if any run failed.
        for existing in self.checks:
            if existing.name == name:
                if existing.ok and not ok:
                    existing.ok, existing.detail = False, detail
                return
        self.checks.append(Check(name, ok, detail))


# -- the machine --------------------------------------------------------------------------------


def machine_info() -> dict[str, str]:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    ram = "?"
    try:
        with open("/proc/meminfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("MemTotal:"):
                    ram = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
                    break
    except OSError:
        pass
    return {
        "CPU": cpu,
        "cores": str(os.cpu_count() or "?"),
        "RAM": ram,
        "OS": f"{platform.system()} {platform.release()}",
    }


def versions() -> dict[str, str]:
    import aiosqlite
    import apscheduler

    return {
        "Python": sys.version.split()[0],
        "discord.py": discord.__version__,
        "aiosqlite": getattr(aiosqlite, "__version__", "?"),
        "APScheduler": getattr(apscheduler, "__version__", "?"),
        "SQLite": sqlite3.sqlite_version,
    }


class capture_errors(logging.Handler):
    """Context manager counting ERROR log records (discord.py logs handler exceptions so)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def __enter__(self) -> capture_errors:
        logging.getLogger().addHandler(self)
        return self

    def __exit__(self, *exc: object) -> None:
        logging.getLogger().removeHandler(self)

    def summary(self) -> str:
        return "; ".join(sorted({f"{r.name}: {r.getMessage()[:120]}" for r in self.records}))


def now_text() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")


async def drain_tasks(prefix: str = "discord.py", within: float = 60.0) -> None:
    """Wait until every task whose name starts with ``prefix`` has finished (or TimeoutError)."""
    deadline = time.perf_counter() + within
    me = asyncio.current_task()
    while True:
        pending = [
            t
            for t in asyncio.all_tasks()
            if t is not me and t.get_name().startswith(prefix) and not t.done()
        ]
        if not pending:
            return
        remaining = deadline - time.perf_counter()
        if remaining <= 0:
            raise TimeoutError(f"{len(pending)} task(s) named {prefix}* still running")
        await asyncio.wait(pending, timeout=remaining)


async def raw_connection(path: Path | str) -> Any:
    """A plain aiosqlite connection to ``path``, configured as the bot's writer is (WAL,
    autocommit): the raw baseline every bot figure is measured against."""
    import aiosqlite

    conn = await aiosqlite.connect(str(path), isolation_level=None)
    await conn.execute("PRAGMA journal_mode=WAL")
    await conn.execute("PRAGMA synchronous=NORMAL")
    await conn.execute("PRAGMA foreign_keys=ON")
    await conn.execute("PRAGMA busy_timeout=5000")
    return conn
