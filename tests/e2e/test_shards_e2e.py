"""Two bot processes, ``SHARD_COUNT=2``, one PostgreSQL database, against the fake Discord
(which routes each guild to its shard's session): four servers, the story's call in each, a
burst of sign-ups; one process is killed (SIGKILL) in the middle of the burst and restarted.
Every server's work is done exactly once: one call each, one sign-up row per member in the
category they chose, one audit row per sign-up, every audit chain intact."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.domain.audit.chain import verify_chain
from db import Database, open_database
from db.repositories.audit import AuditRepository
from tests.e2e.fake_discord import FakeDiscord
from tests.e2e.harness import organiser_permissions

pytestmark = pytest.mark.parametrize("backend", ["postgresql"], indirect=True)

CATEGORIES = "🧭 Experienced with LinkedIn; 🌱 New to LinkedIn"
MEMBERS = 12
START = 60.0  # seconds a bot process may take to start on a loaded machine


class BotProcess:
    """``python -m bot`` for one shard, configured only through its environment."""

    def __init__(self, fake: FakeDiscord, url: str, shard: int, folder: Path) -> None:
        self.env = {
            k: v for k, v in os.environ.items() if k not in ("DATABASE_PATH", "DEV_GUILD_ID")
        }
        self.env.update(
            DISCORD_TOKEN=fake.bot_token,
            DATABASE_URL=url,
            SHARD_COUNT="2",
            SHARD_IDS=str(shard),
            DISCORD_API_BASE=fake.api_base,
            DISCORD_GATEWAY_URL=fake.ws_url,
            LOG_LEVEL="WARNING",
        )
        self.folder = folder  # its working directory: no stray .env is read
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            cwd=self.folder,
            env=self.env,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )

    async def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        await self.proc.wait()

    async def stop(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.terminate()
            try:
                await asyncio.wait_for(self.proc.wait(), 10)
            except TimeoutError:
                await self.kill()


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    async with FakeDiscord() as server:
        yield server


def shards_connected(fake: FakeDiscord) -> list[Any]:
    return sorted(s.shard for s in fake.gateway.sessions.values() if s.conn is not None)


async def test_two_processes_four_servers_kill_and_restart(
    fake: FakeDiscord, db_path: str, tmp_path: Path
) -> None:
    guilds = [fake.add_guild(f"Community {i}", shard=(i % 2, 2)) for i in range(4)]
    worlds = []
    for guild in guilds:
        channel = fake.add_channel(guild, "co-production")
        organiser = fake.add_member(guild, "organiser", permissions=organiser_permissions())
        members = [fake.add_member(guild, f"member{i:02d}") for i in range(MEMBERS)]
        worlds.append((guild, channel, organiser, members))
    processes = [BotProcess(fake, db_path, shard, tmp_path) for shard in (0, 1)]
    try:
        for process in processes:
            await process.start()
        await fake.wait_until(
            lambda: shards_connected(fake) == [(0, 2), (1, 2)] and fake.world.commands.get(None),
            START,
            "both shards connected and the commands synced",
        )
        posts = []
        for _guild, channel, organiser, _members in worlds:
            handle = await fake.run_command(
                organiser, channel, "call create", title="Co-produce", categories=CATEGORIES
            )
            await handle.wait(timeout=15)
            post = await fake.wait_for_message(
                channel, check=lambda m: m.is_components_v2, timeout=15
            )
            await fake.wait_until(lambda p=post: len(fake.reactions(p)) == 2, 15, "bot reactions")
            posts.append(post)

        def choice(i: int) -> str:
            return "🧭" if i % 3 else "🌱"

        async def react(upto: range) -> None:
            for i in upto:
                for (_g, channel, _o, members), post in zip(worlds, posts, strict=True):
                    await fake.react(members[i], channel, post, choice(i))
                await asyncio.sleep(0)

        await react(range(0, MEMBERS // 2))
        await processes[1].kill()  # mid-burst: shard 1's guilds (1 and 3) lose their bot
        await react(range(MEMBERS // 2, MEMBERS))
        await processes[1].start()
        await fake.wait_until(
            lambda: shards_connected(fake) == [(0, 2), (1, 2)], START, "shard 1 back"
        )
        async with open_database(db_path) as db:

            async def all_signed_up() -> bool:
                count = await db.fetchval("SELECT COUNT(*) FROM call_signups")
                return int(count) == 4 * MEMBERS

            for _ in range(int(START * 4)):
                if await all_signed_up():
                    break
                await asyncio.sleep(0.25)
            await check(db, worlds, choice)
    finally:
        for process in processes:
            await process.stop()


async def check(db: Database, worlds: list[Any], choice: Any) -> None:
    for guild, _channel, _organiser, members in worlds:
        calls = await db.fetchall("SELECT id FROM calls WHERE guild_id = ?", (guild.id,))
        assert len(calls) == 1, f"{guild.name}: {len(calls)} calls"
        rows = await db.fetchall(
            "SELECT s.user_id, cc.emoji_key FROM call_signups s "
            "JOIN call_categories cc ON cc.id = s.category_id WHERE s.call_id = ?",
            (calls[0][0],),
        )
        got = {int(r[0]): str(r[1]) for r in rows}
        assert len(rows) == MEMBERS == len(got)  # one row per member
        assert got == {m.user.id: choice(i) for i, m in enumerate(members)}
        audit = await AuditRepository(db).rows(guild.id)
        actions = Counter(r.action for r in audit)
        assert actions["call.signup"] == MEMBERS, (guild.name, actions)  # each audited once
        assert verify_chain(audit).ok
