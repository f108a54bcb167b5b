"""5. Costs as the history grows: 10k, 100k and 1M audit rows (issue 14).

The audit log is grown in one database, size after size, **generated fast with raw
``executemany`` of pre-hashed rows**: the chain (``prev_hash``/``hash`` by the bot's own
:func:`bot.domain.audit.chain.row_hash`), members' references (the bot's salted scheme, with
their keys in ``member_keys``) and the ``audit_refs`` index lines (migration 0008) are computed in
Python and inserted in batches of 50,000, which writes the same rows the bot would, about 50×
faster than appending them one decision at a time. ``python -m bot.verify_audit`` accepts the
result, which is checked.

At each size, each in a fresh child process (so peak memory is the export's own):

* **Export**: the bot's ``/audit export`` path (count, members' labels, ``db.stream`` chunks on
  the reader, CSV + gzip in a worker thread, parts under a 10 MiB limit) with a fake interaction
  that reads the parts. Time, the longest event-loop stall (a 2 ms ticker on the loop), peak
  extra RSS (sampled on the loop, minus the RSS just before), total file size and parts.
  Baseline: a minimal streaming export in a worker thread (``sqlite3`` cursor → ``csv.writer`` →
  ``gzip``), with the same ticker.
* **``/mydata show``** for a member with 20 rows (the same 20 at every size): the bot's
  ``MyDataService.collect``. Baseline: the same indexed query on raw aiosqlite. The old scan
  (``instr(details, ref)``) is shown beside it.
* **``verify_audit``** of the database: time and peak RSS of the process. Baseline: a minimal
  streaming check (rows from a cursor, SHA-256 of each row's canonical JSON, links compared).
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.common import GUILD_ID, Figure, Section, raw_connection

__all__ = ["Config", "fill", "run"]

PROBE = 4_242_424_242  # the member whose /mydata show is timed: 20 rows at every size
MEMBERS = 5_000
LIMIT = 10 * 1024 * 1024
AT0 = 1_780_000_000.0


@dataclass
class Config:
    sizes: list[int] = field(default_factory=lambda: [10_000, 100_000, 1_000_000])
    runs: int = 2
    mydata_reps: int = 30

    @classmethod
    def full(cls) -> Config:
        return cls()

    @classmethod
    def quick(cls) -> Config:
        return cls(sizes=[10_000, 50_000], runs=1, mydata_reps=10)

    @classmethod
    def tiny(cls) -> Config:
        return cls(sizes=[2_000], runs=1, mydata_reps=3)


# -- generating the log ---------------------------------------------------------------------------


@dataclass
class Chain:
    seq: int = 0
    prev: str = "0" * 64
    refs: dict[int, str] = field(default_factory=dict)


def _prepare(path: Path) -> Chain:
    """A migrated database with a server salt and member keys; the chain's start."""
    from db.repositories.audit import _ref

    async def migrate() -> None:
        from db import open_database

        async with open_database(path):
            pass

    asyncio.run(migrate())
    conn = sqlite3.connect(path)
    salt = secrets.token_hex(16)
    conn.execute("INSERT INTO guild_secrets (guild_id, salt) VALUES (?, ?)", (GUILD_ID, salt))
    users = [PROBE, *range(10_000, 10_000 + MEMBERS)]
    keys = [(GUILD_ID, u, secrets.token_hex(16)) for u in users]
    conn.executemany("INSERT INTO member_keys (guild_id, user_id, key) VALUES (?, ?, ?)", keys)
    conn.commit()
    conn.close()
    return Chain(refs={u: _ref(salt, k, u) for _, u, k in keys})


def fill(path: Path, chain: Chain, upto: int) -> None:
    """Append rows until the log holds ``upto`` (raw executemany of pre-hashed rows)."""
    from bot.domain.audit.chain import row_hash

    members = list(chain.refs.values())[1:]
    probe = chain.refs[PROBE]
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")
    while chain.seq < upto:
        rows: list[tuple[Any, ...]] = []
        refs: list[tuple[int, str, int]] = []
        for _ in range(min(50_000, upto - chain.seq)):
            seq = chain.seq + 1
            at = AT0 + seq * 0.5
            actor = probe if seq % 500 == 1 and seq <= 10_000 else members[seq % len(members)]
            if seq % 3 == 0:
                action = "call.switch"
                details = {
                    "category": "New to LinkedIn",
                    "previous": "Experienced",
                    "source": "reaction",
                }
            else:
                action = "call.signup"
                details = {"category": "Experienced with LinkedIn", "source": "reaction"}
            text = json.dumps(details, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
            subject = f"call:{seq // 5000 + 1}"
            digest = row_hash(chain.prev, GUILD_ID, seq, at, actor, action, subject, text)
            rows.append((GUILD_ID, seq, at, actor, action, subject, text, chain.prev, digest))
            refs.append((GUILD_ID, actor, seq))
            chain.seq, chain.prev = seq, digest
        conn.execute("BEGIN")
        conn.executemany(
            "INSERT INTO audit_log (guild_id, seq, at, actor_ref, action, subject, details, "
            "prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        conn.executemany("INSERT INTO audit_refs (guild_id, ref, seq) VALUES (?, ?, ?)", refs)
        conn.execute("COMMIT")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()


# -- measurements in a child process (bench/_growth_child.py) ----------------------------------


def _in_child(kind: str, path: Path) -> dict[str, float]:
    root = Path(__file__).resolve().parent.parent
    out = subprocess.run(
        [sys.executable, "-m", "bench._growth_child", kind, str(path), str(GUILD_ID)],
        check=True,
        capture_output=True,
        text=True,
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
    )
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


# -- /mydata show, in process ---------------------------------------------------------------------


async def _mydata(path: Path, reps: int) -> tuple[float, float, float, int]:
    """Median ms of the bot's collect, of the raw indexed query, and of the old scan."""
    from bot.clock import SystemClock
    from bot.domain.mydata.service import MyDataService
    from db import open_database

    bot_times, raw_times, scan_times = [], [], []
    rows = 0
    async with open_database(path) as db:
        service = MyDataService(db, SystemClock())
        ref = await service.audit.member_ref(GUILD_ID, PROBE)
        raw = await raw_connection(path)
        try:
            for _ in range(reps):
                t0 = time.perf_counter()
                data = await service.collect(GUILD_ID, PROBE)
                bot_times.append((time.perf_counter() - t0) * 1000)
                rows = len(data.audit)
                t0 = time.perf_counter()
                async with raw.execute(
                    "SELECT a.* FROM audit_refs r JOIN audit_log a ON a.guild_id = r.guild_id "
                    "AND a.seq = r.seq WHERE r.guild_id = ? AND r.ref = ? ORDER BY r.seq",
                    (GUILD_ID, ref),
                ) as cur:
                    await cur.fetchall()
                raw_times.append((time.perf_counter() - t0) * 1000)
            for _ in range(max(1, reps // 10)):
                t0 = time.perf_counter()
                async with raw.execute(
                    "SELECT * FROM audit_log WHERE guild_id = ? "
                    "AND (actor_ref = ? OR instr(details, ?) > 0) ORDER BY seq",
                    (GUILD_ID, ref, ref),
                ) as cur:
                    await cur.fetchall()
                scan_times.append((time.perf_counter() - t0) * 1000)
        finally:
            await raw.close()
    return (
        statistics.median(bot_times),
        statistics.median(raw_times),
        statistics.median(scan_times),
        rows,
    )


# -- the benchmark --------------------------------------------------------------------------------


def _label(n: int) -> str:
    return f"{n // 1_000_000}M" if n >= 1_000_000 else f"{n // 1000}k"


async def run(cfg: Config) -> Section:
    section = Section("Growth: 10k, 100k, 1M audit rows")
    with tempfile.TemporaryDirectory(prefix="bench-growth-") as tmp:
        path = Path(tmp) / "growth.sqlite3"
        chain = await asyncio.to_thread(_prepare, path)
        mydata_at: dict[int, float] = {}
        for size in cfg.sizes:
            t0 = time.perf_counter()
            await asyncio.to_thread(fill, path, chain, size)
            section.notes.append(
                f"{_label(size)}: the log was grown to {size:,} rows by raw executemany of "
                f"pre-hashed rows in {time.perf_counter() - t0:.1f} s; database "
                f"{path.stat().st_size / 2**20:,.0f} MiB."
            )
            tag = _label(size)
            export = Figure(
                "Export",
                f"{tag}: /audit export time",
                "s",
                digits=2,
                baseline_name="minimal streaming export in a thread (cursor → csv → gzip)",
            )
            stall = Figure(
                "Export",
                f"{tag}: longest event-loop stall during the export",
                "ms",
                digits=1,
                baseline_name="same ticker beside the minimal export",
                target="≤ 100 ms" if size >= 1_000_000 else "",
                meets=(lambda med, _r: med <= 100) if size >= 1_000_000 else None,
            )
            rss = Figure(
                "Export",
                f"{tag}: peak extra RSS during the export",
                "MiB",
                digits=1,
                baseline_name="minimal streaming export",
                target="≤ 50 MiB" if size >= 1_000_000 else "",
                meets=(lambda med, _r: med <= 50) if size >= 1_000_000 else None,
            )
            sizefig = Figure(
                "Export",
                f"{tag}: export size (all parts)",
                "MiB",
                digits=2,
                baseline_name="gzip of the same rows, one file",
            )
            parts = Figure(
                "Export",
                f"{tag}: parts, largest part",
                "",
                digits=0,
                target="every part ≤ 10 MiB",
                meets=lambda _m, _r: True,
            )
            verify = Figure(
                "Verify",
                f"{tag}: verify_audit --db time",
                "s",
                digits=2,
                baseline_name="minimal streaming check (cursor → sha256 → links)",
            )
            vmem = Figure(
                "Verify",
                f"{tag}: verify_audit peak RSS (whole process)",
                "MiB",
                digits=1,
                baseline_name="minimal streaming check, whole process",
                target="≤ 50 MiB" if size >= 1_000_000 else "",
                meets=(lambda med, _r: med <= 50) if size >= 1_000_000 else None,
            )
            largest_ok = True
            for _ in range(cfg.runs):
                bot = await asyncio.to_thread(_in_child, "bot-export", path)
                raw = await asyncio.to_thread(_in_child, "raw-export", path)
                export.bot.append(bot["seconds"])
                export.baseline.append(raw["seconds"])
                stall.bot.append(bot["stall_ms"])
                stall.baseline.append(raw["stall_ms"])
                rss.bot.append(max(0.0, bot["extra_rss"]))
                rss.baseline.append(max(0.0, raw["extra_rss"]))
                sizefig.bot.append(bot["bytes"] / 2**20)
                sizefig.baseline.append(raw["bytes"] / 2**20)
                parts.bot.append(bot["parts"])
                largest_ok = largest_ok and bot["largest"] <= LIMIT
                section.check(f"{tag}: every row exported", bot["rows"] == size)
                vb = await asyncio.to_thread(_in_child, "bot-verify", path)
                vr = await asyncio.to_thread(_in_child, "raw-verify", path)
                verify.bot.append(vb["seconds"])
                verify.baseline.append(vr["seconds"])
                vmem.bot.append(vb["peak_rss"])
                vmem.baseline.append(vr["peak_rss"])
                section.check(f"{tag}: verify_audit accepts the generated log", bool(vb["ok"]))
                section.check(f"{tag}: the minimal check accepts it too", bool(vr["ok"]))
            parts.name = (
                f"{tag}: parts of the export (each ≤ 10 MiB: {'yes' if largest_ok else 'NO'})"
            )
            parts.meets = lambda _m, _r, ok=largest_ok: ok  # type: ignore[misc]
            mine, raw_ms, scan_ms, rows = await _mydata(path, cfg.mydata_reps)
            mydata_at[size] = mine
            md = Figure(
                "/mydata show",
                f"{tag}: collect for a member with {rows} audit rows",
                "ms",
                digits=2,
                baseline_name="raw aiosqlite, the same indexed query",
            )
            md.bot.append(mine)
            md.baseline.append(raw_ms)
            old = Figure(
                "/mydata show",
                f"{tag}: the old scan (instr over details), raw",
                "ms",
                digits=1,
            )
            old.bot.append(scan_ms)
            section.figures += [export, stall, rss, sizefig, parts, verify, vmem, md, old]
        if len(mydata_at) > 1:
            first, last = min(mydata_at), max(mydata_at)
            flat = Figure(
                "/mydata show",
                f"time at {_label(last)} ÷ time at {_label(first)}",
                "×",
                digits=2,
                target="≤ 2×",
                meets=lambda med, _r: med <= 2,
            )
            flat.bot.append(mydata_at[last] / mydata_at[first])
            section.figures.append(flat)
    return section
