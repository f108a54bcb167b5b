"""6. Start-up reconciliation and post pacing with real guilds (issue 14).

The real bot (``build_bot``, unmodified discord.py) against the in-process fake Discord
(``tests/e2e/fake_discord``), which counts every REST request and adds **50 ms to every REST
answer** here. For each cell of the grid (open calls × reactions per call, all in one channel of
one server whose members are all in READY's GUILD_CREATE):

* the calls are created with ``/call create``; then, with the bot stopped, each post gets its
  reactions and the database its matching sign-ups (written directly: the stored roster);
* **in sync**: the bot starts; REST calls and time from start to the end of reconciliation;
* **changed**: with the bot stopped, one member on every tenth call (at least one) moves from 🧭
  to 🌱; the bot starts again; REST calls (posts read, pages of reaction users, edits) and time.
  The pages needed are those of the changed emojis only: ⌈(reactions on 🧭 of that post)/100⌉
  + 1 per changed call.

Baseline, in the same run: the same number of ``GET message`` requests made by the bot's own
discord.py HTTP client with the same concurrency: the least any reconciliation must do. The
former reconciliation (every page of every category reaction on every post) is given as a
request count computed from the grid.

Post pacing: after the changed run (every changed post is edited) a new member signs up on up to
15 posts at once; the most edits the fake saw in any 5 s in the channel are reported.
"""

from __future__ import annotations

import asyncio
import logging
import math
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.common import Figure, Section

__all__ = ["Config", "run"]

LATENCY = 0.05
GET_MESSAGE = "/channels/{channel_id}/messages/{message_id}"


@dataclass
class Config:
    grid: list[tuple[int, int]] = field(
        default_factory=lambda: [(10, 500), (10, 5000), (50, 500), (50, 5000)]
    )

    @classmethod
    def full(cls) -> Config:
        return cls()

    @classmethod
    def quick(cls) -> Config:
        return cls(grid=[(10, 500)])

    @classmethod
    def tiny(cls) -> Config:
        return cls(grid=[(3, 120)])


async def _reconciled(bot: Any) -> None:
    cog = next(c for c in bot.cogs.values() if type(c).__name__ == "Calls")
    while cog._reconciling is None:  # noqa: ASYNC110 (set by the cog's on_ready)
        await asyncio.sleep(0.005)
    await cog._reconciling


async def _cell(calls: int, reactions: int, tmp: Path) -> dict[str, float]:
    from datetime import UTC, datetime

    from bot.clock import FakeClock
    from tests.e2e.fake_discord import FakeDiscord
    from tests.e2e.harness import RunningBot, organiser_permissions

    out: dict[str, float] = {}
    async with FakeDiscord() as fake:
        guild = fake.add_guild("Bench")
        channel = fake.add_channel(guild, "calls")
        organiser = fake.add_member(guild, "organiser", permissions=organiser_permissions())
        members = [fake.add_member(guild, f"m{i:05d}") for i in range(reactions + 1)]
        spare = members.pop()
        runner = RunningBot(
            fake, tmp / f"r-{calls}-{reactions}.sqlite3", FakeClock(datetime.now(UTC)), guild.id
        )
        await runner.start(timeout=60)
        posts = []
        for n in range(calls):
            before = fake.bot_messages(channel)
            handle = await fake.run_command(
                organiser, channel, "call create", title=f"Call {n}", categories="🧭 A; 🌱 B"
            )
            await handle.wait(timeout=20)
            post = await fake.wait_for_message(
                channel, after=before[-1] if before else None, check=lambda m: m.is_components_v2
            )
            await fake.wait_until(lambda p=post: len(fake.reactions(p)) == 2, timeout=10)
            posts.append(post)
        await runner.settle()
        db = runner.db
        ids = {
            int(r[0]): (int(r[1]), int(r[2]))
            for r in await db.fetchall(
                "SELECT c.message_id, c.id, cc.id FROM calls c JOIN call_categories cc "
                "ON cc.call_id = c.id AND cc.emoji_key = '🧭'"
            )
        }
        await runner.stop()

        # The stored roster and the posts' reactions, in sync.
        import sqlite3

        conn = sqlite3.connect(runner.db_path)
        now = time.time()
        for post in posts:
            call_id, category_id = ids[post.id]
            conn.executemany(
                "INSERT INTO call_signups (call_id, user_id, category_id, joined_at, source) "
                "VALUES (?, ?, ?, ?, 'reaction')",
                [(call_id, m.user.id, category_id, now + i * 1e-3) for i, m in enumerate(members)],
            )
            stored = fake.message(post)
            stored.reactions["🧭"] = [fake.bot_user.id, *(m.user.id for m in members)]
        conn.commit()
        conn.close()

        fake.rest_latency = LATENCY
        mark = fake.mark()
        t0 = time.perf_counter()
        bot = await runner.start(timeout=120)
        await _reconciled(bot)
        out["sync_seconds"] = time.perf_counter() - t0
        counts = fake.request_counts(mark)
        out["sync_get_message"] = counts[("GET", GET_MESSAGE)]
        out["sync_pages"] = sum(
            n for (m, r), n in counts.items() if "/reactions/" in r and m == "GET"
        )
        out["sync_edits"] = sum(
            n for (m, r), n in counts.items() if m == "PATCH" and r == GET_MESSAGE
        )
        out["sync_requests"] = out["sync_get_message"] + out["sync_pages"] + out["sync_edits"]

        # Baseline: the same GETs of the posts through the bot's own HTTP client, same budget.
        from cogs.calls.cog import RECONCILE_REQUESTS

        budget = asyncio.Semaphore(RECONCILE_REQUESTS)

        async def get(post: Any) -> None:
            async with budget:
                await bot.http.get_message(channel.id, post.id)

        t0 = time.perf_counter()
        await asyncio.gather(*(get(p) for p in posts))
        out["baseline_seconds"] = time.perf_counter() - t0
        await runner.stop()

        # Changed: one member on every tenth call moves from 🧭 to 🌱 while the bot is down.
        changed = posts[::10] or posts[:1]
        mover = members[0]
        for post in changed:
            stored = fake.message(post)
            stored.reactions["🧭"].remove(mover.user.id)
            stored.reactions.setdefault("🌱", [fake.bot_user.id]).append(mover.user.id)
        mark = fake.mark()
        t0 = time.perf_counter()
        bot = await runner.start(timeout=120)
        await _reconciled(bot)
        out["changed_seconds"] = time.perf_counter() - t0
        await bot.posts.flush()
        counts = fake.request_counts(mark)
        out["changed_calls"] = len(changed)
        out["changed_get_message"] = counts[("GET", GET_MESSAGE)]
        out["changed_pages"] = sum(
            n for (m, r), n in counts.items() if "/reactions/" in r and m == "GET"
        )
        out["changed_pages_needed"] = len(changed) * (math.ceil(reactions / 100) + 1)
        out["changed_edits"] = sum(
            n for (m, r), n in counts.items() if m == "PATCH" and r == GET_MESSAGE
        )
        # A live burst: a new member signs up on up to 15 posts at once (15 edits wanted).
        burst = posts[:15]
        burst_mark = fake.mark()
        for post in burst:
            await fake.react(spare, channel, post, "🌱")
        await fake.wait_until(
            lambda: fake.count_requests("PATCH", GET_MESSAGE, since=burst_mark) >= len(burst),
            timeout=60,
            what="every post edited after the burst",
        )
        await bot.posts.flush()
        out["burst_posts"] = len(burst)
        out["max_edits_5s"] = fake.max_edits_in_window(channel, 5.0, via=["channel"])
        out["former_requests"] = calls * (1 + math.ceil(reactions / 100) + 1)
        ok = True
        rows = await runner.db.fetchall(
            "SELECT cc.emoji_key, COUNT(*) FROM call_signups s JOIN call_categories cc "
            "ON cc.id = s.category_id GROUP BY cc.emoji_key"
        )
        got = {str(k): int(n) for k, n in rows}
        ok = got == {"🧭": calls * reactions - len(changed), "🌱": len(changed) + len(burst)}
        out["roster_ok"] = float(ok)
        await runner.stop()
    return out


async def run(cfg: Config) -> Section:
    section = Section("Reconciliation with real guilds (50 ms REST latency)")
    logging.getLogger("discord").setLevel(logging.ERROR)
    with tempfile.TemporaryDirectory(prefix="bench-reconcile-") as tmp:
        for calls, reactions in cfg.grid:
            cell = await _cell(calls, reactions, Path(tmp))
            tag = f"{calls} calls × {reactions:,} reactions"
            stored = calls * reactions
            f = Figure(
                "Reconciliation",
                f"{tag}, in sync: REST calls (posts read + pages + edits)",
                "calls",
                digits=0,
                target=f"≤ calls + 5 = {calls + 5}",
                meets=lambda med, _r, c=calls: med <= c + 5,
            )
            f.bot.append(cell["sync_requests"])
            f.baseline.append(cell["former_requests"])
            f.baseline_name = "former reconciliation: every page of every reaction (computed)"
            t = Figure(
                "Reconciliation",
                f"{tag}, in sync ({stored:,} sign-ups stored): start → reconciled",
                "s",
                digits=2,
                baseline_name=f"{calls} GET message through the bot's HTTP client, same budget",
            )
            t.bot.append(cell["sync_seconds"])
            t.baseline.append(cell["baseline_seconds"])
            c = Figure(
                "Reconciliation",
                f"{tag}, {int(cell['changed_calls'])} call(s) changed: pages of reaction users",
                "pages",
                digits=0,
                target=f"≤ pages of the changed emojis ({int(cell['changed_pages_needed'])})",
                meets=lambda med, _r, n=cell["changed_pages_needed"]: med <= n,
            )
            c.bot.append(cell["changed_pages"])
            ct = Figure(
                "Reconciliation",
                f"{tag}, changed: start → reconciled (posts read {int(cell['changed_get_message'])},"
                f" edits {int(cell['changed_edits'])})",
                "s",
                digits=2,
            )
            ct.bot.append(cell["changed_seconds"])
            e = Figure(
                "Post pacing",
                f"{tag}: most post edits in the channel in any 5 s (after reconciliation, then a "
                f"sign-up on {int(cell['burst_posts'])} posts at once)",
                "edits",
                digits=0,
                target="≤ 5",
                meets=lambda med, _r: med <= 5,
            )
            e.bot.append(cell["max_edits_5s"])
            section.figures += [f, t, c, ct, e]
            section.check(
                f"{tag}: the roster matches the reactions after the changes",
                bool(cell["roster_ok"]),
            )
    return section
