"""1. Reaction burst (and 5. the Discord budget it costs).

``events`` ``MESSAGE_REACTION_ADD`` payloads for one call post (distinct members, alternating
between the two categories) go through the real ``DiscordWebSocket.received_message`` of the
bot, one event-loop turn apart (a gateway reader awaits its socket between messages), into
``Calls.on_raw_reaction_add`` → ``CallService.react`` → the batch writer. The clock stops when
the last sign-up is committed (``react`` returned). The handlers' follow-up work (DM
confirmations, post edits) runs on the recording REST layer, which yields the budget figures.

Baseline: the same payloads through the same discord.py parsing into a bare
``on_raw_reaction_add`` doing one race-free ``INSERT … SELECT … RETURNING`` per event on its
own aiosqlite connection (one call each, autocommit), on a database with the bot's schema.
"""

from __future__ import annotations

import asyncio
import logging
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import discord

from bench.common import (
    CHANNEL_ID,
    GUILD_ID,
    ORGANISER_ID,
    POST_ID,
    Figure,
    RecordingHTTP,
    Section,
    capture_errors,
    drain_tasks,
    percentile,
    prepare_client,
    raw_connection,
    reaction_payload,
    snowflake,
)

__all__ = ["BurstResult", "Config", "baseline_burst", "bot_burst", "run"]

log = logging.getLogger(__name__)

CATEGORIES = (("🧭", "Experienced"), ("🌱", "New"))
TITLE = "Co-produce the introduction session"

RAW_SIGNUP = (
    "INSERT INTO call_signups (call_id, user_id, category_id, joined_at, source) "
    "SELECT c.id, ?, cc.id, ?, 'reaction' FROM calls c "
    "JOIN call_categories cc ON cc.call_id = c.id "
    "WHERE c.message_id = ? AND cc.emoji_key = ? AND c.status = 'open' "
    "ON CONFLICT (call_id, user_id) DO UPDATE SET category_id = excluded.category_id, "
    "joined_at = excluded.joined_at RETURNING category_id"
)


@dataclass
class Config:
    events: int = 1000
    runs: int = 5
    timeout: float = 60.0
    flush_posts: bool = True  # wait for the coalesced post edit (min_interval) after the burst
    # After the last commit, watch the handlers' REST calls this long, then stop them (the DM
    # confirmations are paced and take ~events/20 s); None waits for every DM.
    observe: float | None = 3.0
    full_delivery: bool = True  # one extra run (DMs on) that waits for every DM

    @classmethod
    def full(cls) -> Config:
        return cls()

    @classmethod
    def quick(cls) -> Config:
        return cls(events=300, runs=2, full_delivery=False)

    @classmethod
    def tiny(cls) -> Config:
        return cls(
            events=40, runs=1, timeout=20.0, flush_posts=False, observe=None, full_delivery=False
        )


@dataclass
class BurstResult:
    events: int
    seconds: float  # first receipt -> last commit
    latencies_ms: list[float]
    rows: int  # sign-up rows in the database
    distinct_users: int
    wrong_category: int
    outcomes: Counter[str] = field(default_factory=Counter)
    commits_per_event_max: int = 0
    errors: int = 0
    error_summary: str = ""
    effects_seconds: float | None = None  # first receipt -> every handler finished (DMs sent)
    handlers_stopped: int = 0  # handlers still sending when the observation window closed
    http: RecordingHTTP | None = None

    @property
    def events_per_s(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else float("inf")

    @property
    def p50_ms(self) -> float:
        return percentile(self.latencies_ms, 50)

    @property
    def p99_ms(self) -> float:
        return percentile(self.latencies_ms, 99)

    @property
    def exactly_once(self) -> bool:
        return (
            self.rows == self.events
            and self.distinct_users == self.events
            and self.wrong_category == 0
            and self.commits_per_event_max == 1
            and len(self.latencies_ms) == self.events
        )


def _payloads(events: int) -> list[tuple[int, str, str]]:
    """(user id, emoji, JSON text) per event: distinct members, categories alternating."""
    return [
        (
            snowflake(i),
            CATEGORIES[i % 2][0],
            reaction_payload(i + 1, snowflake(i), CATEGORIES[i % 2][0]),
        )
        for i in range(events)
    ]


async def _feed(ws: Any, payloads: list[tuple[int, str, str]], receipt: dict[int, float]) -> float:
    t0 = time.perf_counter()
    for user_id, _, text in payloads:
        receipt[user_id] = time.perf_counter()
        await ws.received_message(text)
        await asyncio.sleep(0)  # the socket read between two gateway messages
    return t0


async def _check_rows(fetchall: Any, payloads: list[tuple[int, str, str]]) -> tuple[int, int, int]:
    rows = await fetchall(
        "SELECT s.user_id, cc.emoji_key FROM call_signups s "
        "JOIN call_categories cc ON cc.id = s.category_id"
    )
    stored = {r[0]: r[1] for r in rows}
    expected = {user_id: emoji for user_id, emoji, _ in payloads}
    wrong = sum(1 for u, e in expected.items() if stored.get(u) != e)
    return len(rows), len(stored), wrong


async def _settle(cfg: Config, observe: float | None) -> tuple[bool, int]:
    """Wait for the handlers (all, or for ``observe`` seconds); (all finished, stopped count)."""
    # The handlers (discord.py's event tasks) and the paced worker that sends their courtesy
    # DMs (bot.notify.DmQueue, task "dm-queue").
    if observe is None:
        await drain_tasks("discord.py", cfg.timeout)
        await drain_tasks("dm-queue", cfg.timeout)
        return True, 0
    try:
        await drain_tasks("discord.py", observe)
        await drain_tasks("dm-queue", observe)
        return True, 0
    except TimeoutError:
        me = asyncio.current_task()
        pending = [
            t
            for t in asyncio.all_tasks()
            if t is not me and not t.done() and t.get_name().startswith(("discord.py", "dm-queue"))
        ]
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        return False, len(pending)


async def bot_burst(
    cfg: Config,
    workdir: Path,
    *,
    dm: bool = True,
    observe: float | bool | None = False,
    around_feed: Callable[[Callable[[], Awaitable[None]]], Awaitable[None]] | None = None,
) -> BurstResult:
    """The bot's own path. ``dm`` is the server's dm-confirmations setting (default on)."""
    from bot.__main__ import build_bot
    from bot.settings import load_settings

    path = workdir / f"bot-{time.perf_counter_ns()}.sqlite3"
    settings = load_settings(
        {"DISCORD_TOKEN": "bench", "DATABASE_PATH": str(path)}, dotenv_path=None
    )
    payloads = _payloads(cfg.events)
    with capture_errors() as errors:
        async with build_bot(settings) as bot:
            http = RecordingHTTP(bot)

            async def no_sync(*args: Any, **kwargs: Any) -> list[Any]:
                return []

            bot.tree.sync = no_sync  # type: ignore[method-assign]
            await bot.setup_hook()
            ws = prepare_client(bot)
            calls = bot.services.calls
            details = await calls.create(
                guild_id=GUILD_ID,
                channel_id=CHANNEL_ID,
                author_id=ORGANISER_ID,
                title=TITLE,
                categories="; ".join(f"{e} {label}" for e, label in CATEGORIES),
                tz="Europe/London",
            )
            await calls.attach_post(details.call.id, CHANNEL_ID, POST_ID)
            if not dm:
                await bot.services.settings.set_dm_confirmations(GUILD_ID, False)
            bot._ready.set()  # type: ignore[union-attr]

            receipt: dict[int, float] = {}
            commit: dict[int, float] = {}
            commits: Counter[int] = Counter()
            outcomes: Counter[str] = Counter()
            all_in = asyncio.Event()
            react = calls.react

            async def timed_react(message_id: int, user_id: int, key: str, *, added: bool) -> Any:
                result = await react(message_id, user_id, key, added=added)
                commit[user_id] = time.perf_counter()
                commits[user_id] += 1
                outcomes[result.outcome] += 1
                if len(commit) >= cfg.events:
                    all_in.set()
                return result

            calls.react = timed_react  # type: ignore[method-assign]
            t0 = 0.0

            async def feed_and_wait() -> None:
                nonlocal t0
                t0 = await _feed(ws, payloads, receipt)
                await asyncio.wait_for(all_in.wait(), cfg.timeout)

            if around_feed is not None:
                await around_feed(feed_and_wait)
            else:
                await feed_and_wait()
            finished, stopped = await _settle(cfg, cfg.observe if observe is False else observe)
            t_effects = time.perf_counter() if finished else None
            if cfg.flush_posts:
                await bot.posts.flush()
            rows, distinct, wrong = await _check_rows(bot.db.fetchall, payloads)
    return BurstResult(
        events=cfg.events,
        seconds=max(commit.values()) - t0,
        latencies_ms=[(commit[u] - receipt[u]) * 1000 for u in commit],
        rows=rows,
        distinct_users=distinct,
        wrong_category=wrong,
        outcomes=outcomes,
        commits_per_event_max=max(commits.values(), default=0),
        errors=len(errors.records),
        error_summary=errors.summary(),
        http=http,
        effects_seconds=None if t_effects is None else t_effects - t0,
        handlers_stopped=stopped,
    )


async def baseline_burst(cfg: Config, workdir: Path, *, group: bool = False) -> BurstResult:
    """Same payloads, same parsing, one raw ``INSERT … SELECT`` per event; with ``group``, the
    events that arrived meanwhile are written together (one transaction, one ``executemany``),
    which is the write pattern the bot uses, without its roster rules and audit chain."""
    from bot.client import intents
    from db import open_database
    from db.repositories.calls import CallRepository

    path = workdir / f"raw-{time.perf_counter_ns()}.sqlite3"
    payloads = _payloads(cfg.events)
    receipt: dict[int, float] = {}
    commit: dict[int, float] = {}
    commits: Counter[int] = Counter()
    outcomes: Counter[str] = Counter()
    all_in = asyncio.Event()
    with capture_errors() as errors:
        async with open_database(path) as db:
            repo = CallRepository(db)
            call = await repo.create(
                guild_id=GUILD_ID,
                channel_id=CHANNEL_ID,
                title=TITLE,
                description="",
                closes_at=None,
                created_by=ORGANISER_ID,
                created_at=time.time(),
                seed="0" * 64,
                seed_commitment="0" * 64,
                categories=[(e, e, label, 1) for e, label in CATEGORIES],
            )
            await repo.set_message(call.id, CHANNEL_ID, POST_ID)
            conn = await raw_connection(path)
            client = discord.Client(intents=intents(), max_messages=None)
            async with client:
                ws = prepare_client(client)

                queue: list[tuple[int, float, int, str]] = []
                wake = asyncio.Event()

                async def group_writer() -> None:
                    while True:
                        await wake.wait()
                        wake.clear()
                        batch, queue[:] = list(queue), []
                        if not batch:
                            continue
                        await conn.execute("BEGIN")
                        await conn.executemany(
                            RAW_SIGNUP.replace(" RETURNING category_id", ""), batch
                        )
                        await conn.execute("COMMIT")
                        done = time.perf_counter()
                        for user_id, *_ in batch:
                            commit[user_id] = done
                            commits[user_id] += 1
                            outcomes["joined"] += 1
                        if len(commit) >= cfg.events:
                            all_in.set()

                writer = asyncio.create_task(group_writer()) if group else None

                async def on_raw_reaction_add(payload: discord.RawReactionActionEvent) -> None:
                    if payload.guild_id is None or payload.user_id == client.user.id:  # type: ignore[union-attr]
                        return
                    key = (payload.emoji.name or "").replace("\ufe0f", "")
                    if group:
                        queue.append((payload.user_id, time.time(), payload.message_id, key))
                        wake.set()
                        return
                    rows = await conn.execute_fetchall(
                        RAW_SIGNUP, (payload.user_id, time.time(), payload.message_id, key)
                    )
                    commit[payload.user_id] = time.perf_counter()
                    commits[payload.user_id] += 1
                    outcomes["joined" if rows else "ignored"] += 1
                    if len(commit) >= cfg.events:
                        all_in.set()

                client.event(on_raw_reaction_add)
                t0 = await _feed(ws, payloads, receipt)
                await asyncio.wait_for(all_in.wait(), cfg.timeout)
                await drain_tasks("discord.py", cfg.timeout)
                if writer is not None:
                    writer.cancel()
                rows_n, distinct, wrong = await _check_rows(conn.execute_fetchall, payloads)
            await conn.close()
    return BurstResult(
        events=cfg.events,
        seconds=max(commit.values()) - t0,
        latencies_ms=[(commit[u] - receipt[u]) * 1000 for u in commit],
        rows=rows_n,
        distinct_users=distinct,
        wrong_category=wrong,
        outcomes=outcomes,
        commits_per_event_max=max(commits.values(), default=0),
        errors=len(errors.records),
        error_summary=errors.summary(),
    )


def _figures(n: int) -> dict[str, Figure]:
    bench = "Reaction burst"
    ge1 = lambda med, ratio: ratio is not None and ratio >= 1.0  # noqa: E731
    f = {
        "rate_dm": Figure(
            bench,
            f"{n} sign-ups, DM confirmations on (server default): events/s",
            "ev/s",
            baseline_name="1 raw INSERT…SELECT per event",
            target="≥ 1.0× baseline",
            meets=ge1,
            digits=0,
        ),
        "p50_dm": Figure(
            bench,
            "receipt → commit p50, DMs on",
            "ms",
            digits=1,
            baseline_name="raw INSERT…SELECT per event",
        ),
        "p99_dm": Figure(
            bench,
            "receipt → commit p99, DMs on",
            "ms",
            digits=1,
            baseline_name="raw INSERT…SELECT per event",
        ),
        "rate": Figure(
            bench,
            f"{n} sign-ups, DM confirmations off: events/s",
            "ev/s",
            baseline_name="1 raw INSERT…SELECT per event",
            target="≥ 1.0× baseline",
            meets=ge1,
            digits=0,
        ),
        "p50": Figure(
            bench,
            "receipt → commit p50, DMs off",
            "ms",
            digits=1,
            baseline_name="raw INSERT…SELECT per event",
        ),
        "p99": Figure(
            bench,
            "receipt → commit p99, DMs off",
            "ms",
            digits=1,
            baseline_name="raw INSERT…SELECT per event",
        ),
        "rate_group": Figure(
            bench,
            f"{n} sign-ups, DMs off: events/s, against a raw group commit",
            "ev/s",
            baseline_name="raw INSERT…SELECT, the events that arrived meanwhile in one "
            "transaction (executemany)",
            digits=0,
        ),
        "effects_dm": Figure(
            bench, "first receipt → every DM confirmation sent (one run)", "s", digits=1
        ),
    }
    budget = "Discord budget"
    f["rest_dm"] = Figure(
        budget,
        f"REST calls for the {n}-reaction burst, DMs on (every DM delivered, one run)",
        "calls",
        digits=0,
    )
    f["rps_dm"] = Figure(
        budget,
        "most REST calls in any 1 s, DMs on",
        "req",
        digits=0,
        target="≤ 50 req/s",
        meets=lambda med, r: med <= 50,
    )
    f["edits_dm"] = Figure(
        budget,
        "most edits of the call post in any 2 s, DMs on",
        "edits",
        digits=0,
        target="≤ 1 per post per 2 s",
        meets=lambda med, r: med <= 1,
    )
    f["rest"] = Figure(budget, f"REST calls for the {n}-reaction burst, DMs off", "calls", digits=0)
    f["rps"] = Figure(
        budget,
        "most REST calls in any 1 s, DMs off",
        "req",
        digits=0,
        target="≤ 50 req/s",
        meets=lambda med, r: med <= 50,
    )
    f["edits"] = Figure(
        budget,
        "most edits of the call post in any 2 s, DMs off",
        "edits",
        digits=0,
        target="≤ 1 per post per 2 s",
        meets=lambda med, r: med <= 1,
    )
    return f


def _record(section: Section, label: str, result: BurstResult) -> None:
    section.check(
        f"reaction burst ({label}): every event committed exactly once",
        result.exactly_once,
        f"{result.rows} rows, {result.distinct_users} members, {result.wrong_category} in the "
        f"wrong category, max {result.commits_per_event_max} commit(s) per event, "
        f"outcomes {dict(result.outcomes)}",
    )
    section.check(
        f"reaction burst ({label}): no errors logged", result.errors == 0, result.error_summary
    )


async def run(cfg: Config) -> Section:
    section = Section("Reaction burst and Discord budget")
    fig = _figures(cfg.events)
    patterns: Counter[str] = Counter()
    with tempfile.TemporaryDirectory(prefix="bench-reactions-") as tmp:
        workdir = Path(tmp)
        for _ in range(cfg.runs):
            base = await baseline_burst(cfg, workdir)
            _record(section, "raw baseline", base)
            grouped = await baseline_burst(cfg, workdir, group=True)
            _record(section, "raw group-commit baseline", grouped)
            for dm in (True, False):
                res = await bot_burst(cfg, workdir, dm=dm)
                _record(section, "bot, DMs on" if dm else "bot, DMs off", res)
                suffix = "_dm" if dm else ""
                fig["rate" + suffix].bot.append(res.events_per_s)
                fig["rate" + suffix].baseline.append(base.events_per_s)
                fig["p50" + suffix].bot.append(res.p50_ms)
                fig["p50" + suffix].baseline.append(base.p50_ms)
                fig["p99" + suffix].bot.append(res.p99_ms)
                fig["p99" + suffix].baseline.append(base.p99_ms)
                assert res.http is not None
                if not dm:
                    fig["rest"].bot.append(len(res.http.requests))
                    fig["rate_group"].bot.append(res.events_per_s)
                    fig["rate_group"].baseline.append(grouped.events_per_s)
                fig["rps" + suffix].bot.append(res.http.max_per_second())
                if cfg.flush_posts:
                    fig["edits" + suffix].bot.append(res.http.edits_per_post(2.0))
        if cfg.full_delivery:
            res = await bot_burst(cfg, workdir, dm=True, observe=None)
            _record(section, "bot, DMs on, every DM delivered", res)
            assert res.http is not None and res.effects_seconds is not None
            fig["effects_dm"].bot.append(res.effects_seconds)
            dms = res.http.by_pattern().get("POST /channels/{channel_id}/messages", 0)
            section.check(
                "reaction burst: one DM confirmation per sign-up",
                dms == cfg.events,
                f"{dms} DMs for {cfg.events} sign-ups",
            )
            fig["rps_dm"].bot.append(res.http.max_per_second())
            fig["rest_dm"].bot.append(len(res.http.requests))
            patterns = res.http.by_pattern()
    for key in ("effects_dm", "rest_dm"):
        if not fig[key].bot:
            del fig[key]
    section.figures.extend(fig.values())
    if patterns:
        section.notes.append(
            "REST calls of one burst with DMs on, every DM delivered, by route: "
            + ", ".join(f"`{k}` × {v}" for k, v in sorted(patterns.items()))
            + ". The recording layer answers at once, so the per-second figure is the rate the "
            "bot *asks* for; Discord's global limit is 50 requests/s."
        )
    section.notes.append(
        f"With DMs on, the handlers' REST calls are watched for {cfg.observe} s after the last "
        "commit and then stopped (the DM confirmations are paced, so sending all of them takes "
        "much longer); the REST-call counts of those runs cover that window only, and one extra "
        "run waits for every DM."
    )
    section.notes.append(
        "Payloads are fed one event-loop turn apart through `DiscordWebSocket.received_message`; "
        "each carries a `member` object, and the bench server is in the cache, so discord.py "
        "builds a `Member` per event (as in production). The bot runs with `max_messages=None`."
    )
    return section
