"""Shards: SHARD_COUNT/SHARD_IDS, Discord's guild -> shard rule, and a process's scheduler
arming, claiming and releasing only the jobs of its shards' guilds (on both backends)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.clock import FakeClock
from bot.domain.jobs import Job
from bot.scheduling import JobScheduler
from bot.settings import SettingsError, load_settings
from db import Database


def guild_on(shard: int, count: int, n: int = 1) -> int:
    """A guild id on ``shard`` of ``count`` (Discord: ``(guild_id >> 22) % count``)."""
    return ((count * n + shard) << 22) | 12345


def test_shard_settings() -> None:
    base = {"DISCORD_TOKEN": "t"}
    plain = load_settings(base)
    assert plain.shard_count is None and plain.owned_shards is None and plain.owns(42)
    assert load_settings({**base, "SHARD_COUNT": "auto"}).shard_auto
    every = load_settings({**base, "SHARD_COUNT": "4"})
    assert every.shard_ids == (0, 1, 2, 3) and every.owned_shards is None
    some = load_settings({**base, "SHARD_COUNT": "4", "SHARD_IDS": "0-1,3"})
    assert some.owned_shards == (4, frozenset({0, 1, 3}))
    assert some.owns(guild_on(3, 4)) and not some.owns(guild_on(2, 4))
    assert some.owns(None)  # work of no guild: shard 0
    for bad in (
        {"SHARD_IDS": "1"},
        {"SHARD_COUNT": "2", "SHARD_IDS": "2"},
        {"SHARD_COUNT": "zero"},
        {"SHARD_COUNT": "auto", "SHARD_IDS": "0"},
    ):
        with pytest.raises(SettingsError, match="SHARD"):
            load_settings({**base, **bad})


async def test_each_process_runs_only_its_shards_jobs(db: Database, clock: FakeClock) -> None:
    ran: list[tuple[int, int | None]] = []
    schedulers = [JobScheduler(db, clock, shards=(2, frozenset({s}))) for s in (0, 1)]
    for shard, scheduler in enumerate(schedulers):

        async def run(job: Job, shard: int = shard) -> None:
            ran.append((shard, job.guild_id))

        scheduler.register("work", run)
    guilds = [guild_on(s, 2, n) for n in range(3) for s in (0, 1)]
    for i, guild in enumerate(guilds):
        await schedulers[0].schedule(f"k{i}", "work", clock.now(), guild_id=guild)
    await schedulers[0].schedule("global", "work", clock.now())  # no guild: shard 0
    clock.advance(timedelta(seconds=1))
    assert await schedulers[1].run_due() == 3
    assert await schedulers[0].run_due() == 4
    assert sorted(ran, key=repr) == sorted(
        [((g >> 22) % 2, g) for g in guilds] + [(0, None)], key=repr
    )


async def test_a_restart_releases_only_its_own_shards_running_jobs(
    db: Database, clock: FakeClock
) -> None:
    """A process died with jobs claimed: its replacement (same shards) runs them again; a
    process of other shards starting meanwhile leaves them (and its own live claims) alone."""
    first = JobScheduler(db, clock, shards=(2, frozenset({0})))
    for n in range(2):
        await first.schedule(f"a{n}", "work", clock.now(), guild_id=guild_on(0, 2, n))
        await first.schedule(f"b{n}", "work", clock.now(), guild_id=guild_on(1, 2, n))
    clock.advance(timedelta(seconds=1))
    now = clock.now().timestamp()
    claimed_0 = await first.repo.claim_due(now, 10, (2, frozenset({0})))
    claimed_1 = await first.repo.claim_due(now, 10, (2, frozenset({1})))
    assert len(claimed_0) == 2 and len(claimed_1) == 2  # both processes "die" holding these
    assert await first.repo.release_running((2, frozenset({1}))) == 2
    assert await first.repo.count("running") == 2  # shard 0's claims untouched
    assert await first.repo.release_running((2, frozenset({0}))) == 2
    assert await first.repo.count("pending") == 4


def test_the_sharded_bot_only_when_sharding_is_set() -> None:
    from bot.client import CoproBot, ShardedCoproBot, bot_class

    base = {"DISCORD_TOKEN": "t"}
    assert bot_class(load_settings(base)) is CoproBot
    assert bot_class(load_settings({**base, "SHARD_COUNT": "auto"})) is ShardedCoproBot
    assert (
        bot_class(load_settings({**base, "SHARD_COUNT": "2", "SHARD_IDS": "1"})) is ShardedCoproBot
    )
