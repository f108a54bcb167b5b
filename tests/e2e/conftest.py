"""End-to-end fixtures: a fake Discord server with the story's world, and the real bot on it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from bot.clock import FakeClock
from tests.conftest import STORY_START
from tests.e2e.fake_discord import FakeDiscord
from tests.e2e.harness import RunningBot, organiser_permissions
from tests.fakes.drand_server import FakeDrandServer


@dataclass
class World:
    fake: FakeDiscord
    guild: Any
    channel: Any
    organiser: Any
    members: list[Any] = field(default_factory=list)


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    async with FakeDiscord() as server:
        yield server


@pytest.fixture
def world(fake: FakeDiscord) -> World:
    guild = fake.add_guild("Co-production Community")
    channel = fake.add_channel(guild, "co-production")
    organiser = fake.add_member(guild, "Sam (staff)", permissions=organiser_permissions())
    members = [fake.add_member(guild, f"member{i:02d}") for i in range(1, 31)]
    return World(fake, guild, channel, organiser, members)


@pytest.fixture
async def running(fake: FakeDiscord, world: World, db_path: Path) -> AsyncIterator[RunningBot]:
    clock = FakeClock(STORY_START)
    # The draws' public randomness: a local drand chain of its own, on the bot's clock.
    async with FakeDrandServer(clock=lambda: clock.now().timestamp()) as beacon:
        runner = RunningBot(fake, db_path, clock, world.guild.id, beacon)
        await runner.start()
        yield runner
        await runner.stop()
