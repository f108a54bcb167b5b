"""The measured process of the growth benchmark (run by bench/growth.py, not by hand).

``python -m bench._growth_child KIND DB GUILD_ID`` prints one JSON line. It imports only what
the measured path needs (the verify runs never import discord), so its memory is the path's own.
"""

from __future__ import annotations

import asyncio
import gc
import json
import sqlite3
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

GUILD_ID = int(sys.argv[3]) if len(sys.argv) > 3 else 0
LIMIT = 10 * 1024 * 1024


def _rss(field: str = "VmRSS:") -> float:
    """This process's RSS (or, with ``VmHWM:``, its peak since exec) in MiB."""
    try:
        with open("/proc/self/status", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith(field):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _settle() -> None:
    """As the running bot is once ready (CoproBot.on_ready): start-up objects collected and
    frozen, so the cyclic collector does not walk them again."""
    gc.collect()
    gc.freeze()


class _Meter:
    """The longest gap of a 2 ms ticker on the loop, and the peak RSS sampled there."""

    def __init__(self) -> None:
        self.stall = 0.0
        self.start_rss = _rss()
        self.peak_rss = self.start_rss
        self._stop = False
        self._task: asyncio.Task[None] | None = None

    async def _tick(self) -> None:
        n = 0
        while not self._stop:
            t = time.perf_counter()
            await asyncio.sleep(0.002)
            self.stall = max(self.stall, time.perf_counter() - t - 0.002)
            n += 1
            if n % 5 == 0:
                self.peak_rss = max(self.peak_rss, _rss())

    def __enter__(self) -> _Meter:
        self._task = asyncio.get_running_loop().create_task(self._tick())
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop = True
        self.peak_rss = max(self.peak_rss, _rss())


class _Interaction:
    """What send_export needs from a Discord interaction; reads each part to count its bytes."""

    filesize_limit = LIMIT
    guild = None

    def __init__(self) -> None:
        self.sizes: list[int] = []
        self.followup = self

    def _take(self, file: Any) -> None:
        size = 0
        while chunk := file.fp.read(1 << 20):
            size += len(chunk)
        self.sizes.append(size)

    async def edit_original_response(self, **kw: Any) -> None:
        for file in kw.get("attachments") or []:
            self._take(file)

    async def send(self, *_a: Any, **kw: Any) -> None:
        if kw.get("file") is not None:
            self._take(kw["file"])


async def _bot_export(path: str) -> dict[str, float]:
    from bot.clock import SystemClock
    from bot.domain.audit.export import CSV_COLUMNS, actor_labels, csv_row
    from bot.domain.audit.service import AuditService
    from bot.exports import send_export
    from db import open_database

    async with open_database(path, migrate=False) as db:
        audit = AuditService(db, SystemClock())
        inter = _Interaction()
        _settle()
        with _Meter() as meter:
            t0 = time.perf_counter()
            total = await audit.export_size(GUILD_ID)
            labels = actor_labels(await audit.known_refs(GUILD_ID), lambda _u: None)
            await send_export(
                inter,  # type: ignore[arg-type]
                stem="audit",
                header=CSV_COLUMNS,
                chunks=audit.export_chunks(GUILD_ID),
                convert=lambda rows: [csv_row(r, labels) for r in rows],
                total=total,
                message=lambda _r, _p: "",
            )
            seconds = time.perf_counter() - t0
    return {
        "seconds": seconds,
        "stall_ms": meter.stall * 1000,
        "extra_rss": meter.peak_rss - meter.start_rss,
        "bytes": float(sum(inter.sizes)),
        "parts": float(len(inter.sizes)),
        "largest": float(max(inter.sizes)),
        "rows": float(total),
    }


async def _raw_export(path: str) -> dict[str, float]:
    import csv
    import gzip

    def work() -> int:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        cursor = conn.execute(
            "SELECT guild_id, seq, at, actor_ref, action, subject, details, prev_hash, hash "
            "FROM audit_log WHERE guild_id = ? ORDER BY seq",
            (GUILD_ID,),
        )
        with tempfile.TemporaryFile() as out, gzip.open(out, "wt", newline="") as gz:
            writer = csv.writer(gz)
            while batch := cursor.fetchmany(2000):
                writer.writerows(batch)
            gz.flush()
            size = out.tell()
        conn.close()
        return size

    _settle()
    with _Meter() as meter:
        t0 = time.perf_counter()
        size = await asyncio.to_thread(work)
        seconds = time.perf_counter() - t0
    return {
        "seconds": seconds,
        "stall_ms": meter.stall * 1000,
        "extra_rss": meter.peak_rss - meter.start_rss,
        "bytes": float(size),
    }


def _bot_verify(path: str) -> dict[str, float]:
    from bot.verify_audit import verify_db

    before = _rss()
    t0 = time.perf_counter()
    report = verify_db(Path(path))
    seconds = time.perf_counter() - t0
    peak = _rss("VmHWM:")
    return {"seconds": seconds, "peak_rss": peak, "extra_rss": peak - before, "ok": report.ok}


def _raw_verify(path: str) -> dict[str, float]:
    import hashlib

    before = _rss()
    t0 = time.perf_counter()
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    cursor = conn.execute(
        "SELECT guild_id, seq, at, actor_ref, action, subject, details, prev_hash, hash "
        "FROM audit_log ORDER BY guild_id, seq"
    )
    ok, last = True, "0" * 64
    while batch := cursor.fetchmany(2000):
        for g, s, at, actor, action, subject, details, prev, digest in batch:
            body = json.dumps(
                [prev, g, s, repr(float(at)), actor, action, subject, details],
                ensure_ascii=False,
                separators=(",", ":"),
            )
            ok = ok and prev == last and hashlib.sha256(body.encode()).hexdigest() == digest
            last = digest
    conn.close()
    seconds = time.perf_counter() - t0
    peak = _rss("VmHWM:")
    return {"seconds": seconds, "peak_rss": peak, "extra_rss": peak - before, "ok": ok}


def _child(kind: str, path: str) -> dict[str, float]:
    if kind == "bot-export":
        return asyncio.run(_bot_export(path))
    if kind == "raw-export":
        return asyncio.run(_raw_export(path))
    if kind == "bot-verify":
        return _bot_verify(path)
    return _raw_verify(path)


if __name__ == "__main__":
    print(json.dumps(_child(sys.argv[1], sys.argv[2])))
