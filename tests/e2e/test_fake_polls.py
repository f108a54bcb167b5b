"""Polls against the fake, driven by a plain discord.py client: create, vote, voters, end, expiry."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta

import discord
import pytest
from discord.http import Route

from tests.e2e.fake_discord import Channel, FakeDiscord, Member
from tests.e2e.fake_discord.testing import QuickClient, connected, point_discord_py_at

T = 2.0


@dataclass
class Seen:
    votes: list[tuple[str, int, int]] = field(default_factory=list)  # (add/remove, user, answer)
    messages: list[discord.Message] = field(default_factory=list)
    edits: list[discord.RawMessageUpdateEvent] = field(default_factory=list)


@dataclass
class Env:
    fake: FakeDiscord
    client: discord.Client
    seen: Seen
    channel: Channel
    text: discord.TextChannel
    alice: Member
    bob: Member


@pytest.fixture
async def env(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Env]:
    async with FakeDiscord() as fake:
        guild = fake.add_guild("Garden")
        channel = fake.add_channel(guild, "general")
        alice, bob = fake.add_member(guild, "alice"), fake.add_member(guild, "bob")
        point_discord_py_at(fake, monkeypatch)
        intents = discord.Intents.default()  # includes the poll intents
        intents.message_content = True
        intents.members = True
        client = QuickClient(intents=intents, guild_ready_timeout=0.05)
        seen = Seen()

        @client.event
        async def on_raw_poll_vote_add(event: discord.RawPollVoteActionEvent) -> None:
            seen.votes.append(("add", event.user_id, event.answer_id))

        @client.event
        async def on_raw_poll_vote_remove(event: discord.RawPollVoteActionEvent) -> None:
            seen.votes.append(("remove", event.user_id, event.answer_id))

        @client.event
        async def on_message(message: discord.Message) -> None:
            seen.messages.append(message)

        @client.event
        async def on_raw_message_edit(event: discord.RawMessageUpdateEvent) -> None:
            seen.edits.append(event)

        async with connected(fake, client):
            text = client.get_channel(channel.id)
            assert isinstance(text, discord.TextChannel)
            yield Env(fake, client, seen, channel, text, alice, bob)
        assert not fake.unknown_routes, fake.unknown_routes


def _poll(question: str = "Lunch?", *, multiple: bool = False) -> discord.Poll:
    poll = discord.Poll(question=question, duration=timedelta(hours=2), multiple=multiple)
    for answer in ("Soup", "Salad", "Bread"):
        poll.add_answer(text=answer)
    return poll


async def test_votes_voters_and_ending_a_poll(env: Env) -> None:
    fake = env.fake
    sent = await asyncio.wait_for(env.text.send(poll=_poll(multiple=True)), T)
    assert sent.poll is not None and [a.id for a in sent.poll.answers] == [1, 2, 3]
    assert sent.poll.duration == timedelta(hours=2) and not sent.poll.is_finalised()

    await fake.vote(env.alice, sent.id, 1)
    await fake.vote(env.alice, sent.id, 2)  # multiselect
    await fake.vote(env.bob, sent.id, 1)
    await fake.unvote(env.alice, sent.id, 2)
    await fake.wait_until(lambda: len(env.seen.votes) == 4, T, "4 vote events")
    assert env.seen.votes == [
        ("add", env.alice.id, 1),
        ("add", env.alice.id, 2),
        ("add", env.bob.id, 1),
        ("remove", env.alice.id, 2),
    ]
    assert fake.poll_votes(sent.id) == {1: [env.alice.id, env.bob.id], 2: [], 3: []}

    fetched = await asyncio.wait_for(env.text.fetch_message(sent.id), T)
    assert fetched.poll is not None
    assert [a.vote_count for a in fetched.poll.answers] == [2, 0, 0]
    answer = fetched.poll.get_answer(1)
    assert answer is not None
    voters = [u.id async for u in answer.voters(limit=1)]
    assert voters == [min(env.alice.id, env.bob.id)]
    all_voters = [u.id async for u in answer.voters()]
    assert sorted(all_voters) == sorted([env.alice.id, env.bob.id])

    ended = await asyncio.wait_for(fetched.end_poll(), T)
    assert ended.poll is not None and ended.poll.is_finalised()
    result = await fake.wait_for_message(env.channel, check=lambda m: m.type == 46)
    assert result.message_reference is not None
    assert result.message_reference["message_id"] == str(sent.id)
    fields = {f["name"]: f["value"] for f in result.embeds[0]["fields"]}
    assert fields["victor_answer_id"] == "1" and fields["total_votes"] == "2"
    await fake.wait_until(
        lambda: any(m.type == discord.MessageType.poll_result for m in env.seen.messages), T
    )
    parsed = next(m for m in env.seen.messages if m.type == discord.MessageType.poll_result)
    assert parsed.author.id == env.client.user.id  # type: ignore[union-attr]
    assert any(e.message_id == sent.id for e in env.seen.edits)  # MESSAGE_UPDATE on ending
    with pytest.raises(ValueError, match="ended"):
        await fake.vote(env.bob, sent.id, 2)
    with pytest.raises(discord.HTTPException) as err:
        await asyncio.wait_for(fetched.end_poll(), T)
    assert err.value.code == 520001


async def test_single_choice_and_expiry_by_the_fake_clock(env: Env) -> None:
    fake = env.fake
    sent = await asyncio.wait_for(env.text.send(poll=_poll("Tea?")), T)
    await fake.vote(env.alice, sent.id, 3)
    with pytest.raises(ValueError, match="single-choice"):
        await fake.vote(env.alice, sent.id, 1)
    with pytest.raises(ValueError, match="no answer 9"):
        await fake.vote(env.bob, sent.id, 9)
    assert await fake.advance_clock(timedelta(hours=1)) == []  # still open
    results = await fake.advance_clock(timedelta(hours=1, seconds=1))
    assert [m.type for m in results] == [46]
    assert fake.message(sent.id).poll_finalized
    fetched = await asyncio.wait_for(env.text.fetch_message(sent.id), T)
    assert fetched.poll is not None and fetched.poll.is_finalised()
    answer = fetched.poll.get_answer(3)
    assert answer is not None and answer.vote_count == 1
    fields = {f["name"]: f["value"] for f in results[0].embeds[0]["fields"]}
    assert (fields["poll_question_text"], fields["victor_answer_text"]) == ("Tea?", "Bread")


async def test_poll_validation(env: Env) -> None:
    http = env.client.http
    route = Route("POST", "/channels/{channel_id}/messages", channel_id=env.channel.id)
    answers = [{"poll_media": {"text": f"a{i}"}} for i in range(11)]
    bad = [
        {"poll": {"question": {"text": "q"}, "answers": answers}},  # 11 answers
        {"poll": {"question": {"text": ""}, "answers": answers[:2]}},
        {"poll": {"question": {"text": "q"}, "answers": answers[:2], "duration": 800}},
        {  # no polls on a Components V2 message
            "flags": 1 << 15,
            "components": [{"type": 10, "content": "x"}],
            "poll": {"question": {"text": "q"}, "answers": answers[:2]},
        },
    ]
    for payload in bad:
        with pytest.raises(discord.HTTPException) as err:
            await asyncio.wait_for(http.request(route, json=payload), T)
        assert err.value.status == 400 and err.value.code == 50035
    plain = await asyncio.wait_for(env.text.send("no poll"), T)
    with pytest.raises(discord.HTTPException) as err:
        await asyncio.wait_for(plain.end_poll(), T)
    assert err.value.code == 520006
    assert "poll" not in (await asyncio.wait_for(http.request(route, json={"content": "x"}), T))
