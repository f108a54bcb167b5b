"""``python -m bench --profile``: where the bot's hot paths spend their time.

For the reaction burst and the booking burst: the database round trips per event (each
statement or unit of work is one hop to the database thread and back), grouped by what runs; the time the
worker thread spends in each transaction; and the event loop's own cProfile. For start-up: the
slowest imports of the measured process (``-X importtime``).
"""

from __future__ import annotations

import cProfile
import io
import pstats
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench import booking, reactions, startup

__all__ = ["count_hops", "main"]


@contextmanager
def count_hops() -> Iterator[Counter[str]]:
    """Count every trip to a database thread (a statement or a whole unit of work)."""
    from db.sqlite import _Connection

    hops: Counter[str] = Counter()
    original = _Connection.call

    async def counting(self: _Connection, fn: Callable[..., Any]) -> Any:
        hops[getattr(fn, "__qualname__", type(fn).__name__)] += 1
        return await original(self, fn)

    _Connection.call = counting  # type: ignore[method-assign]
    try:
        yield hops
    finally:
        _Connection.call = original  # type: ignore[method-assign]


def _top(profile: cProfile.Profile, n: int = 15) -> str:
    out = io.StringIO()
    pstats.Stats(profile, stream=out).sort_stats("tottime").print_stats(n)
    lines = out.getvalue().splitlines()
    start = next((i for i, line in enumerate(lines) if "ncalls" in line), 0)
    return "\n".join(lines[start:])


def _hops_text(hops: Counter[str], per: int, what: str) -> str:
    total = sum(hops.values())
    lines = [f"  {total} database round trips = {total / per:.1f} per {what}"]
    lines += [f"  {v:6d}  {k}" for k, v in hops.most_common(12)]
    return "\n".join(lines)


async def _profiled(
    run: Callable[[], Awaitable[Any]],
) -> tuple[Any, Counter[str], cProfile.Profile]:
    profile = cProfile.Profile()
    with count_hops() as hops:
        profile.enable()
        try:
            result = await run()
        finally:
            profile.disable()
    return result, hops, profile


async def profile_reactions(workdir: Path) -> None:
    cfg = reactions.Config(events=1000, runs=1, flush_posts=False, observe=0.0)
    for dm in (False, True):
        holder: dict[str, Any] = {}

        async def around(
            feed: Callable[[], Awaitable[None]], holder: dict[str, Any] = holder
        ) -> None:
            holder["result"] = await _profiled(feed)

        res = await reactions.bot_burst(cfg, workdir, dm=dm, around_feed=around)
        _, hops, profile = holder["result"]
        print(
            f"\n== Reaction burst, 1000 events, DMs {'on' if dm else 'off'}: "
            f"{res.events_per_s:,.0f} ev/s, p99 {res.p99_ms:.0f} ms (feed → last commit)"
        )
        print(_hops_text(hops, cfg.events, "event"))
        print(_top(profile))
    raw = await reactions.baseline_burst(cfg, workdir)
    print(
        f"\n== Raw baseline: {raw.events_per_s:,.0f} ev/s, p99 {raw.p99_ms:.0f} ms "
        "(1 round trip per event)"
    )


async def profile_booking(workdir: Path) -> None:
    cfg = booking.Config(attempts=1000, runs=1)
    result, hops, profile = await _profiled(lambda: booking.bot_burst(cfg, workdir))
    print(
        f"\n== Booking burst, 1000 attempts: {result.per_s:,.0f} bookings/s, "
        f"p99 {result.p99_ms:.0f} ms"
    )
    print(_hops_text(hops, cfg.attempts, "booking (setup included)"))
    print(_top(profile))


def profile_startup(workdir: Path) -> None:
    import asyncio

    db_path = workdir / "startup.sqlite3"
    asyncio.run(startup.prepare_db(db_path, 10_000))
    pycache = workdir / "pycache"
    startup.bot_start(db_path, pycache=pycache)  # warm caches
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "bench._startup_child", str(db_path)],
        capture_output=True,
        text=True,
        env=startup._env(pycache),
        check=True,
        cwd=str(Path(__file__).resolve().parent.parent),
    )
    rows = []
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        parts = line[len("import time:") :].split("|")
        rows.append((int(parts[0]), int(parts[1]), parts[2].rstrip()))
    print("\n== Start-up: the slowest imports (self time, -X importtime)")
    for self_us, cum, name in sorted(rows, reverse=True)[:20]:
        print(f"  {self_us / 1000:7.1f} ms self {cum / 1000:8.1f} ms total  {name}")
    ours = [r for r in rows if r[2].strip().split(".")[0] in ("bot", "cogs", "db")]
    print(
        f"  bot/, cogs/, db/ modules: {sum(r[0] for r in ours) / 1000:.1f} ms self time in "
        f"{len(ours)} modules"
    )


async def main() -> None:
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-profile-") as tmp:
        workdir = Path(tmp)
        await profile_reactions(workdir)
        await profile_booking(workdir)
        await asyncio_to_thread(profile_startup, workdir)
    print(f"\n(profiling took {time.perf_counter() - started:.0f} s)")


async def asyncio_to_thread(fn: Callable[..., Any], *args: Any) -> Any:
    import asyncio

    return await asyncio.to_thread(fn, *args)
