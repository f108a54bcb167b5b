"""Voice states and sharded gateway sessions against the fake, driven by plain discord.py clients."""

from __future__ import annotations

import asyncio

import discord
import pytest

from tests.e2e.fake_discord import FakeDiscord
from tests.e2e.fake_discord.testing import (
    QuickClient,
    QuickShardedClient,
    connected,
    point_discord_py_at,
)

T = 2.0


async def test_voice_states_reach_discord_py(monkeypatch: pytest.MonkeyPatch) -> None:
    async with FakeDiscord() as fake:
        guild = fake.add_guild("Garden")
        lounge = fake.add_channel(guild, "Lounge", "voice")
        stage = fake.add_channel(guild, "Talks", "stage")
        alice, bob = fake.add_member(guild, "alice"), fake.add_member(guild, "bob")
        await fake.join_voice(alice, lounge, self_mute=True)  # before the bot starts
        point_discord_py_at(fake, monkeypatch)
        intents = discord.Intents.none()
        intents.guilds = intents.voice_states = True  # no members intent: voice caches members
        client = QuickClient(intents=intents, guild_ready_timeout=0.05)
        updates: list[tuple[int, int | None, int | None]] = []

        @client.event
        async def on_voice_state_update(
            member: discord.Member, before: discord.VoiceState, after: discord.VoiceState
        ) -> None:
            ids = (
                before.channel.id if before.channel else None,
                after.channel.id if after.channel else None,
            )
            updates.append((member.id, *ids))

        async with connected(fake, client):
            g = client.get_guild(guild.id)
            assert g is not None
            voice = g.get_channel(lounge.id)
            talks = g.get_channel(stage.id)
            assert isinstance(voice, discord.VoiceChannel)
            assert isinstance(talks, discord.StageChannel)
            # GUILD_CREATE carried the voice state (and alice, though members aren't requested)
            assert [m.id for m in voice.members] == [alice.id]
            member = g.get_member(alice.id)
            assert member is not None and member.voice is not None and member.voice.self_mute
            assert g.get_member(bob.id) is None

            # one at a time: discord.py mutates the VoiceState objects it passed to earlier
            # on_voice_state_update calls when a later update for the same member is parsed
            await fake.join_voice(bob, stage)
            await fake.wait_until(lambda: len(updates) == 1, T, "bob joined")
            await fake.move_voice(alice, stage)
            await fake.wait_until(lambda: len(updates) == 2, T, "alice moved")
            await fake.leave_voice(bob)
            await fake.wait_until(lambda: len(updates) == 3, T, "bob left")
            assert updates == [
                (bob.id, None, stage.id),
                (alice.id, lounge.id, stage.id),
                (bob.id, stage.id, None),
            ]
            assert [m.id for m in talks.members] == [alice.id] and voice.members == []
            assert fake.voice_members(stage) == [alice]
            fetched = await asyncio.wait_for(member.fetch_voice(), T)
            assert fetched.channel is not None and fetched.channel.id == stage.id
            assert fetched.suppress  # stage listeners are suppressed
            missing = g.get_member(alice.id)
            assert missing is not None
            await fake.leave_voice(alice)
            with pytest.raises(discord.NotFound) as err:
                await asyncio.wait_for(missing.fetch_voice(), T)
            assert err.value.code == 10065
        assert not fake.unknown_routes


async def test_two_shard_processes_split_guilds_and_dms(monkeypatch: pytest.MonkeyPatch) -> None:
    async with FakeDiscord() as fake:
        zero = fake.add_guild("Zero", shard=(0, 2))
        one = fake.add_guild("One", shard=(1, 2))
        assert (fake.shard_of(zero, 2), fake.shard_of(one, 2)) == (0, 1)
        chan_zero, chan_one = fake.add_channel(zero, "a"), fake.add_channel(one, "b")
        alice = fake.add_member(zero, "alice")
        fake.add_member(one, alice.user)
        point_discord_py_at(fake, monkeypatch)
        intents = discord.Intents.default()
        intents.message_content = True
        seen: dict[int, list[int]] = {0: [], 1: []}

        def make(shard_id: int) -> discord.AutoShardedClient:
            client = QuickShardedClient(
                intents=intents, shard_ids=[shard_id], shard_count=2, guild_ready_timeout=0.05
            )

            @client.event
            async def on_message(message: discord.Message) -> None:
                seen[shard_id].append(message.channel.id)

            return client

        async with connected(fake, make(0)) as c0, connected(fake, make(1)) as c1:
            assert [g.id for g in c0.guilds] == [zero.id]
            assert [g.id for g in c1.guilds] == [one.id]
            assert sorted(s.shard for s in fake.gateway.sessions.values()) == [(0, 2), (1, 2)]
            await fake.send_message(alice, chan_one, "to shard one")
            await fake.send_message(alice, chan_zero, "to shard zero")
            dm = await fake.send_dm(alice, "a DM goes to shard 0")
            await fake.wait_until(lambda: len(seen[0]) == 2 and len(seen[1]) == 1, T, "messages")
            assert seen == {0: [chan_zero.id, dm.channel_id], 1: [chan_one.id]}
            late = fake.add_guild("Late", shard=(1, 2))
            await fake.wait_until(lambda: c1.get_guild(late.id), T, "GUILD_CREATE on shard 1")
            assert c0.get_guild(late.id) is None
        assert not fake.unknown_routes


async def test_auto_sharded_client_uses_recommended_shards(monkeypatch: pytest.MonkeyPatch) -> None:
    async with FakeDiscord() as fake:
        fake.recommended_shards = 3
        guilds = [fake.add_guild(f"g{i}", shard=(i, 3)) for i in range(3)]
        point_discord_py_at(fake, monkeypatch)
        client = QuickShardedClient(intents=discord.Intents.default(), guild_ready_timeout=0.05)
        async with connected(fake, client):
            assert client.shard_count == 3
            assert sorted(g.id for g in client.guilds) == sorted(g.id for g in guilds)
            assert {g.shard_id for g in client.guilds} == {0, 1, 2}
            assert fake.count_requests("GET", "/gateway/bot") == 1
