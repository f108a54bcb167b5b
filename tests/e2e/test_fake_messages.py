"""Deletion, uploads, reaction counts, request accounting and edit accounting against the fake,
driven by a plain discord.py client."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import discord
import pytest
from discord.http import Route

from tests.e2e.fake_discord import Channel, EditRecord, FakeDiscord, Guild, Member
from tests.e2e.fake_discord.testing import QuickClient, connected, point_discord_py_at

T = 2.0


@dataclass
class Seen:
    events: list[tuple[str, Any]] = field(default_factory=list)
    limits: list[int] = field(default_factory=list)

    def names(self) -> list[str]:
        return [name for name, _ in self.events]


@dataclass
class Env:
    fake: FakeDiscord
    client: discord.Client
    seen: Seen
    guild: Guild
    channel: Channel
    text: discord.TextChannel
    alice: Member
    bob: Member


@pytest.fixture
async def env(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Env]:
    async with FakeDiscord() as fake:
        guild = fake.add_guild("Garden", upload_limit=1000)
        channel = fake.add_channel(guild, "general")
        alice, bob = fake.add_member(guild, "alice"), fake.add_member(guild, "bob")
        point_discord_py_at(fake, monkeypatch)
        intents = discord.Intents.default()
        intents.message_content = True
        client = QuickClient(intents=intents, guild_ready_timeout=0.05)
        seen = Seen()

        @client.event
        async def on_raw_message_delete(event: discord.RawMessageDeleteEvent) -> None:
            seen.events.append(("delete", event.message_id))

        @client.event
        async def on_raw_bulk_message_delete(event: discord.RawBulkMessageDeleteEvent) -> None:
            seen.events.append(("bulk", sorted(event.message_ids)))

        @client.event
        async def on_raw_message_edit(event: discord.RawMessageUpdateEvent) -> None:
            seen.events.append(("edit", (event.message_id, event.data.get("content"))))

        @client.event
        async def on_guild_channel_delete(gone: discord.abc.GuildChannel) -> None:
            seen.events.append(("channel_delete", gone.id))

        @client.event
        async def on_interaction(interaction: discord.Interaction) -> None:
            seen.limits.append(interaction.filesize_limit)
            data = interaction.data or {}
            if data.get("custom_id") == "files":
                await interaction.response.send_message(
                    "here", file=discord.File(io.BytesIO(b"one"), "one.txt", description="first")
                )
                await interaction.followup.send(file=discord.File(io.BytesIO(b"two"), "two.txt"))

        async with connected(fake, client):
            text = client.get_channel(channel.id)
            assert isinstance(text, discord.TextChannel)
            yield Env(fake, client, seen, guild, channel, text, alice, bob)
        assert not fake.unknown_routes, fake.unknown_routes


async def test_deleting_messages_and_channels(env: Env) -> None:
    fake, text = env.fake, env.text
    sent = [await asyncio.wait_for(text.send(f"m{i}"), T) for i in range(3)]
    await asyncio.wait_for(text.delete_messages(sent[:2]), T)  # REST bulk delete
    theirs = [await fake.send_message(env.alice, env.channel, f"a{i}") for i in range(2)]
    await fake.bulk_delete(theirs)
    mine = await fake.send_message(env.bob, env.channel, "typo")
    await fake.edit_message(mine, "fixed")
    await fake.delete_message(sent[2])
    await fake.wait_until(lambda: len(env.seen.events) == 4, T, "4 events")
    assert env.seen.events == [
        ("bulk", sorted(m.id for m in sent[:2])),
        ("bulk", sorted(m.id for m in theirs)),
        ("edit", (mine.id, "fixed")),
        ("delete", sent[2].id),
    ]
    with pytest.raises(discord.NotFound) as err:
        await asyncio.wait_for(sent[2].edit(content="again"), T)
    assert err.value.code == 10008
    with pytest.raises(discord.HTTPException) as err2:
        await asyncio.wait_for(text.delete_messages([sent[2]]), T)  # one id: plain DELETE
    assert err2.value.code == 10008
    route = Route("POST", "/channels/{channel_id}/messages/bulk-delete", channel_id=env.channel.id)
    with pytest.raises(discord.HTTPException) as err3:
        await asyncio.wait_for(env.client.http.request(route, json={"messages": ["1"]}), T)
    assert err3.value.code == 50016

    await fake.delete_channel(env.channel)
    await fake.wait_until(lambda: ("channel_delete", env.channel.id) in env.seen.events, T)
    assert env.client.get_channel(env.channel.id) is None
    with pytest.raises(discord.NotFound) as gone:
        await asyncio.wait_for(text.send("anyone?"), T)
    assert gone.value.code == 10003
    with pytest.raises(discord.NotFound) as gone_msg:
        await asyncio.wait_for(text.fetch_message(mine.id), T)
    assert gone_msg.value.code == 10003  # the channel is checked first
    assert fake.messages(env.channel) == []


async def test_uploads_are_stored_served_and_limited(env: Env) -> None:
    fake, text = env.fake, env.text
    csv = b"name,slots\ndig,3\n"
    sent = await asyncio.wait_for(
        text.send(file=discord.File(io.BytesIO(csv), "calls.csv", description="all calls")), T
    )
    (upload,) = fake.attachments_of(sent.id)
    assert (upload.filename, upload.data, upload.description) == ("calls.csv", csv, "all calls")
    assert upload.content_type.startswith("text/csv")
    assert fake.message(sent.id).attachment_bytes("calls.csv") == csv
    assert sent.attachments[0].description == "all calls"
    assert await asyncio.wait_for(sent.attachments[0].read(), T) == csv

    edited = await asyncio.wait_for(
        sent.edit(attachments=[sent.attachments[0], discord.File(io.BytesIO(b"x"), "x.txt")]), T
    )
    assert [a.filename for a in edited.attachments] == ["calls.csv", "x.txt"]
    assert [u.data for u in fake.attachments_of(sent.id)] == [csv, b"x"]

    with pytest.raises(discord.HTTPException) as err:
        await asyncio.wait_for(text.send(file=discord.File(io.BytesIO(b"0" * 1001), "big.bin")), T)
    assert (err.value.status, err.value.code) == (413, 40005)

    handle = await fake.forge_click(env.alice, env.channel, "files")
    reply = await handle.wait(T)
    follow = await handle.followup(0, T)
    assert reply.message is not None and follow.message is not None
    assert fake.attachments_of(reply.message)[0].description == "first"
    assert follow.message.attachment_bytes("two.txt") == b"two"
    assert handle.payload["attachment_size_limit"] == 1000 and env.seen.limits == [1000]
    fake.set_upload_limit(env.guild, 2000)
    await fake.forge_click(env.alice, env.channel, "nothing")
    await fake.wait_until(lambda: env.seen.limits == [1000, 2000], T, "second interaction")


async def test_reaction_counts_and_request_accounting(env: Env) -> None:
    fake, text = env.fake, env.text
    sent = await asyncio.wait_for(text.send("react"), T)
    await asyncio.wait_for(sent.add_reaction("👍"), T)
    await asyncio.wait_for(sent.add_reaction("🌱"), T)
    for member in (env.alice, env.bob):
        await fake.react(member, env.channel, sent.id, "👍")

    mark = fake.mark()
    fetched = await asyncio.wait_for(text.fetch_message(sent.id), T)
    counts = {
        str(r.emoji): (r.count, r.me, r.normal_count, r.burst_count) for r in fetched.reactions
    }
    assert counts == {"👍": (3, True, 3, 0), "🌱": (1, True, 1, 0)}
    assert fake.count_requests("GET", "/channels/{c}/messages/{m}", since=mark) == 1
    assert fake.count_requests(since=mark) == len(fake.requests_since(mark)) == 1
    assert fake.request_counts(mark) == {("GET", "/channels/{channel_id}/messages/{message_id}"): 1}

    voters = sorted([env.client.user.id, env.alice.id, env.bob.id])  # type: ignore[union-attr]
    http = env.client.http
    page1 = await asyncio.wait_for(http.get_reaction_users(text.id, sent.id, "👍", 2), T)
    page2 = await asyncio.wait_for(
        http.get_reaction_users(text.id, sent.id, "👍", 2, after=int(page1[-1]["id"])), T
    )
    assert [int(u["id"]) for u in page1 + page2] == voters
    users = [u.id async for u in fetched.reactions[0].users()]
    assert sorted(users) == voters

    fake.rest_latency = 0.01  # every REST answer is delayed; behaviour is unchanged
    await asyncio.wait_for(text.fetch_message(sent.id), T)
    fake.rest_latency = 0.0
    assert fake.count_requests("GET", f"/channels/{text.id}/messages/{sent.id}") == 2


async def test_edit_accounting_per_channel(env: Env) -> None:
    fake, text = env.fake, env.text
    sent = await asyncio.wait_for(text.send("v0"), T)
    for i in range(1, 4):
        await asyncio.wait_for(sent.edit(content=f"v{i}"), T)
    theirs = await fake.send_message(env.alice, env.channel, "x")
    await fake.edit_message(theirs, "y")
    assert [e.via for e in fake.edits(env.channel)] == ["channel"] * 3
    assert len(fake.edits(env.channel, everyone=True)) == 4
    assert fake.edits(env.channel, author=env.alice)[0].via == "member"
    assert fake.max_edits_in_window(env.channel, window=1e9) == 3  # no timing assumption

    # the sliding-window arithmetic on a fixed timeline
    other = fake.add_channel(env.guild, "other")
    bot = env.client.user.id  # type: ignore[union-attr]
    fake.world.edit_log[other.id] = [
        EditRecord(t, 1, bot, "channel") for t in (0.0, 1.0, 2.0, 4.9, 5.0, 5.5, 20.0)
    ]
    assert fake.max_edits_in_window(other, 5.0) == 5  # 1.0, 2.0, 4.9, 5.0, 5.5
    assert fake.max_edits_in_window(other, 1.0) == 3  # 4.9, 5.0, 5.5
