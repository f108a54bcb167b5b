"""Proof that the real, unmodified discord.py client works against the fake Discord server.

A minimal ``commands.Bot`` defined here connects to :class:`FakeDiscord`, syncs its app commands and
exercises interactions, components, modals, reactions, DMs, roles, threads, events, RESUME and 429s.
"""

from __future__ import annotations

import asyncio
import io
import logging
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import discord
import pytest
import yarl
from discord import app_commands
from discord.ext import commands

from tests.e2e.fake_discord import (
    DEFAULT_BOT_PERMISSIONS,
    Channel,
    FakeDiscord,
    Guild,
    Member,
    Perm,
    Role,
)

log = logging.getLogger(__name__)
T = 2.0  # default timeout for every await in these tests


class SignupButton(discord.ui.DynamicItem[discord.ui.Button], template=r"signup:(?P<call_id>\d+)"):
    """A persistent button whose state lives in its custom_id."""

    def __init__(self, call_id: int) -> None:
        super().__init__(
            discord.ui.Button(
                label="Sign up", custom_id=f"signup:{call_id}", style=discord.ButtonStyle.primary
            )
        )
        self.call_id = call_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Button, match: re.Match[str]
    ) -> SignupButton:
        return cls(int(match["call_id"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message(
            f"{interaction.user.name} signed up for {self.call_id}", ephemeral=True
        )


class FeedbackModal(discord.ui.Modal, title="Feedback"):
    """A modal with one text field."""

    text: discord.ui.TextInput = discord.ui.TextInput(
        label="Your feedback", custom_id="feedback_text"
    )

    async def on_submit(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message(f"thanks: {self.text.value}", ephemeral=True)


@dataclass
class Seen:
    """What the test bot observed through the gateway."""

    reactions: list[discord.RawReactionActionEvent] = field(default_factory=list)
    messages: list[discord.Message] = field(default_factory=list)
    resumed: int = 0


class ProofBot(commands.Bot):
    """discord.py waits 5 s before a non-initial IDENTIFY (identify rate limit); skip that in tests."""

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        return None


def make_bot(seen: Seen) -> commands.Bot:
    """A minimal bot with the intents and commands the proof needs."""
    intents = discord.Intents.none()
    intents.guilds = intents.members = intents.guild_messages = intents.guild_reactions = True
    intents.dm_messages = intents.message_content = True
    bot = ProofBot(
        command_prefix="!",
        intents=intents,
        max_messages=None,
        guild_ready_timeout=0.05,
        allowed_mentions=discord.AllowedMentions.none(),
    )

    @bot.tree.command(description="Replies pong, ephemerally")
    async def ping(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("pong", ephemeral=True)

    @bot.tree.command(description="Posts a sign-up button")
    async def signup(interaction: discord.Interaction) -> None:
        view = discord.ui.View(timeout=None).add_item(SignupButton(42))
        await interaction.response.send_message("Who is in?", view=view)

    @bot.tree.command(description="Opens the feedback form")
    async def feedback(interaction: discord.Interaction) -> None:
        await interaction.response.send_modal(FeedbackModal(custom_id="feedback_form"))

    call = app_commands.Group(name="call", description="Calls for volunteers")

    @call.command(name="create", description="Create a call")
    @app_commands.describe(title="Title", slots="How many", role="Who to ask", category="Category")
    async def call_create(
        interaction: discord.Interaction,
        title: str,
        slots: int,
        role: discord.Role,
        category: str = "general",
        urgent: bool = False,
    ) -> None:
        await interaction.response.defer(thinking=True)
        await interaction.followup.send(f"{title}|{slots}|{role.name}|{category}|{urgent}")

    @call_create.autocomplete("category")
    async def category_autocomplete(
        interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        names = ["garden", "games", "kitchen"]
        return [app_commands.Choice(name=n, value=n) for n in names if n.startswith(current)]

    bot.tree.add_command(call)

    @bot.event
    async def setup_hook() -> None:
        bot.add_dynamic_items(SignupButton)

    @bot.event
    async def on_raw_reaction_add(payload: discord.RawReactionActionEvent) -> None:
        seen.reactions.append(payload)

    @bot.event
    async def on_message(message: discord.Message) -> None:
        seen.messages.append(message)

    @bot.event
    async def on_resumed() -> None:
        seen.resumed += 1

    return bot


@dataclass
class World:
    """The fake server, the running bot and the scenery built for the tests."""

    fake: FakeDiscord
    bot: commands.Bot
    seen: Seen
    guild: Guild
    general: Channel
    forum: Channel
    helper: Role
    alice: Member
    bob: Member


@asynccontextmanager
async def running_bot(fake: FakeDiscord, seen: Seen) -> AsyncIterator[commands.Bot]:
    """Start the proof bot against ``fake`` and wait for on_ready; close it afterwards."""
    bot = make_bot(seen)
    task = asyncio.create_task(bot.start(fake.bot_token))
    try:
        await asyncio.wait_for(bot.wait_until_ready(), 5)
        yield bot
    finally:
        await asyncio.wait_for(bot.close(), T)
        await asyncio.wait_for(asyncio.gather(task, return_exceptions=True), T)


@pytest.fixture
async def world(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[World]:
    async with FakeDiscord() as fake:
        guild = fake.add_guild("Co-op")
        general = fake.add_channel(guild, "general")
        forum = fake.add_channel(guild, "ideas", "forum", tags=["garden"])
        fake.add_channel(guild, "Lounge", "voice")
        helper = fake.add_role(guild, "helper")
        alice = fake.add_member(guild, "alice")
        bob = fake.add_member(guild, "bob", dms_closed=True)
        # What the real bot does itself before login:
        monkeypatch.setattr(discord.http.Route, "BASE", fake.api_base)
        monkeypatch.setattr(
            discord.gateway.DiscordWebSocket, "DEFAULT_GATEWAY", yarl.URL(fake.ws_url)
        )
        seen = Seen()
        async with running_bot(fake, seen) as bot:
            await asyncio.wait_for(bot.tree.sync(), T)
            yield World(fake, bot, seen, guild, general, forum, helper, alice, bob)
        assert not fake.unknown_routes, fake.unknown_routes


async def test_ready_state_and_command_sync(world: World) -> None:
    fake, bot = world.fake, world.bot
    guild = bot.get_guild(world.guild.id)
    assert guild is not None and guild.name == "Co-op"
    assert {c.name for c in guild.channels} >= {"general", "ideas", "Lounge"}
    assert guild.get_member(world.alice.id) is not None
    assert guild.me.guild_permissions.manage_roles
    schema = {c["name"]: c for c in fake.commands()}
    assert set(schema) == {"ping", "signup", "feedback", "call"}
    create = schema["call"]["options"][0]
    assert create["name"] == "create" and [o["name"] for o in create["options"]][:3] == [
        "title",
        "slots",
        "role",
    ]
    assert fake.gateway.stats["heartbeat"] >= 1  # discord.py heartbeats right after HELLO


async def test_ping_replies_ephemerally(world: World) -> None:
    handle = await world.fake.run_command(world.alice, world.general, "ping")
    reply = await handle.wait(T)
    assert (reply.type, reply.content, reply.ephemeral) == (4, "pong", True)
    assert world.fake.messages(world.general) == []  # ephemeral messages are not in the channel


async def test_subcommand_with_typed_options_defer_and_followup(world: World) -> None:
    handle = await world.fake.run_command(
        world.alice,
        world.general,
        "call create",
        title="Dig",
        slots=3,
        role=world.helper,
        urgent=True,
    )
    assert (await handle.callback(T)).type == 5
    reply = await handle.followup(0, T)
    assert reply.content == "Dig|3|helper|general|True"
    assert not reply.ephemeral


async def test_autocomplete(world: World) -> None:
    handle = await world.fake.autocomplete(
        world.alice, world.general, "call create", focused="category", category="ga"
    )
    reply = await handle.callback(T)
    assert reply.type == 8 and [c["value"] for c in reply.choices] == ["garden", "games"]


async def test_dynamic_button_click(world: World) -> None:
    fake = world.fake
    sent = await (await fake.run_command(world.alice, world.general, "signup")).wait(T)
    posted = fake.messages(world.general)
    assert [m.content for m in posted] == ["Who is in?"] and sent.message is posted[0]
    click = await fake.click(world.alice, posted[0], "signup:42")
    reply = await click.wait(T)
    assert reply.content == "alice signed up for 42" and reply.ephemeral


async def test_modal_open_and_submit(world: World) -> None:
    fake = world.fake
    opened = await fake.run_command(world.alice, world.general, "feedback")
    modal = await opened.modal(T)
    assert (modal.title, modal.custom_id) == ("Feedback", "feedback_form")
    submitted = await fake.submit_modal(world.alice, opened, {"Your feedback": "lovely"})
    reply = await submitted.wait(T)
    assert reply.content == "thanks: lovely" and reply.ephemeral
    # Fields can also be addressed by custom_id, and the modal by its custom_id.
    await fake.run_command(world.bob, world.general, "feedback")
    again = await fake.submit_modal(world.bob, "feedback_form", {"feedback_text": "ok"}, timeout=T)
    assert (await again.wait(T)).content == "thanks: ok"


async def test_reactions_both_ways(world: World) -> None:
    fake, bot = world.fake, world.bot
    star = fake.add_emoji(world.guild, "star")
    channel = bot.get_channel(world.general.id)
    assert isinstance(channel, discord.TextChannel)
    message = await asyncio.wait_for(channel.send("react here"), T)
    await asyncio.wait_for(message.add_reaction("👍"), T)
    await asyncio.wait_for(message.add_reaction(f"<:star:{star.id}>"), T)
    await fake.react(world.alice, world.general, message.id, "👍")
    await fake.wait_until(lambda: any(r.user_id == world.alice.id for r in world.seen.reactions), T)
    assert fake.reactions(fake.messages(world.general)[0]) == {
        "👍": [bot.user.id, world.alice.id],
        f"star:{star.id}": [bot.user.id],
    }
    fetched = await asyncio.wait_for(channel.fetch_message(message.id), T)
    users = [u.id async for u in fetched.reactions[0].users(limit=1)]
    assert users == [min(bot.user.id, world.alice.id)]
    await fake.unreact(world.alice, world.general, message.id, "👍")
    assert fake.reactions(fake.messages(world.general)[0])["👍"] == [bot.user.id]


async def test_dm_to_member_with_closed_dms_is_forbidden(world: World) -> None:
    bob = await asyncio.wait_for(world.bot.fetch_user(world.bob.id), T)
    with pytest.raises(discord.Forbidden) as err:
        await asyncio.wait_for(bob.send("hi"), T)
    assert err.value.code == 50007
    alice = await asyncio.wait_for(world.bot.fetch_user(world.alice.id), T)
    await asyncio.wait_for(alice.send("hello alice"), T)
    assert [m.content for m in world.fake.dms(world.alice)] == ["hello alice"]


async def test_role_changes_respect_permissions_and_hierarchy(world: World) -> None:
    fake, bot = world.fake, world.bot
    member = bot.get_guild(world.guild.id).get_member(world.alice.id)
    await asyncio.wait_for(member.add_roles(discord.Object(world.helper.id)), T)
    assert [r.name for r in fake.member_roles(world.alice)] == ["helper"]
    await fake.wait_until(
        lambda: any(r.id == world.helper.id for r in member.roles), T, "GUILD_MEMBER_UPDATE"
    )
    boss = fake.add_role(world.guild, "boss", position=200)
    with pytest.raises(discord.Forbidden) as err:
        await asyncio.wait_for(member.add_roles(discord.Object(boss.id)), T)
    assert err.value.code == 50013
    fake.set_bot_permissions(world.guild, DEFAULT_BOT_PERMISSIONS & ~Perm.MANAGE_ROLES)
    with pytest.raises(discord.Forbidden) as err:
        await asyncio.wait_for(member.remove_roles(discord.Object(world.helper.id)), T)
    assert err.value.code == 50013 and err.value.text == "Missing Permissions"


async def test_resume_after_dropped_connection_delivers_missed_event(world: World) -> None:
    fake = world.fake
    await fake.drop_connection()
    sent = await fake.send_message(world.alice, world.general, "while you were away")
    await fake.wait_until(
        lambda: any(m.id == sent.id for m in world.seen.messages), T, "replayed MESSAGE_CREATE"
    )
    after = await fake.send_message(world.alice, world.general, "after resume")
    await fake.wait_until(
        lambda: any(m.id == after.id for m in world.seen.messages), T, "MESSAGE_CREATE"
    )
    assert fake.gateway.stats["resume"] == 1 and fake.gateway.stats["identify"] == 1
    await fake.wait_until(lambda: world.seen.resumed == 1, T, "on_resumed")


async def test_disconnect_bot_forces_a_fresh_identify(world: World) -> None:
    fake = world.fake
    await fake.disconnect_bot()
    newcomer = fake.add_channel(
        world.guild, "newcomer"
    )  # no session: only visible via the next READY
    await fake.wait_until(lambda: fake.gateway.stats["identify"] == 2, T, "a second IDENTIFY")
    assert fake.gateway.stats["invalid_session"] == 1  # the client tried to RESUME first
    await fake.wait_until(
        lambda: world.bot.get_channel(newcomer.id), T, "the new channel in GUILD_CREATE"
    )


async def test_restarted_bot_sees_current_state(world: World) -> None:
    fake = world.fake
    await asyncio.wait_for(world.bot.close(), T)
    await fake.send_message(world.alice, world.general, "while the bot was down")
    late = fake.add_member(world.guild, "late")
    async with running_bot(fake, Seen()) as bot:
        assert fake.gateway.stats["identify"] == 2
        assert bot.get_guild(world.guild.id).get_member(late.id) is not None
        history = [m async for m in bot.get_channel(world.general.id).history(limit=10)]
        assert [m.content for m in history] == ["while the bot was down"]


async def test_429_is_retried_by_discord_py(world: World) -> None:
    fake = world.fake
    fake.inject_fault("POST", rf"/channels/{world.general.id}/messages", 429, retry_after=0.05)
    channel = world.bot.get_channel(world.general.id)
    message = await asyncio.wait_for(channel.send("eventually"), T)
    posts = fake.requests_matching("POST", rf"/channels/{world.general.id}/messages")
    assert [p.status for p in posts] == [429, 200]
    assert posts[1].json["allowed_mentions"] == {"parse": []}  # the bot never pings
    assert [m.content for m in fake.messages(world.general)] == ["eventually"]
    assert int(posts[1].response["id"]) == message.id


async def test_threads_forum_posts_attachments_and_events(world: World) -> None:
    fake, bot = world.fake, world.bot
    channel = bot.get_channel(world.general.id)
    message = await asyncio.wait_for(
        channel.send("a", file=discord.File(io.BytesIO(b"hello"), "a.txt")), T
    )
    assert await asyncio.wait_for(message.attachments[0].read(), T) == b"hello"
    thread = await asyncio.wait_for(message.create_thread(name="talk"), T)
    await asyncio.wait_for(thread.send("in thread"), T)
    assert [m.content for m in fake.messages(fake.threads(world.general)[0])] == ["in thread"]
    forum = bot.get_channel(world.forum.id)
    assert isinstance(forum, discord.ForumChannel)
    post = await asyncio.wait_for(
        forum.create_thread(
            name="Idea", content="Let's garden", applied_tags=[forum.available_tags[0]]
        ),
        T,
    )
    assert post.message.content == "Let's garden" and fake.threads(world.forum)[0].name == "Idea"
    reply = await fake.send_message(world.alice, fake.threads(world.forum)[0], "+1")
    await fake.wait_until(lambda: any(m.id == reply.id for m in world.seen.messages), T)

    start = discord.utils.utcnow() + timedelta(days=1)
    guild = bot.get_guild(world.guild.id)
    event = await asyncio.wait_for(
        guild.create_scheduled_event(
            name="Harvest",
            start_time=start,
            end_time=start + timedelta(hours=2),
            entity_type=discord.EntityType.external,
            location="Garden",
            privacy_level=discord.PrivacyLevel.guild_only,
        ),
        T,
    )
    assert [e.name for e in fake.scheduled_events(world.guild)] == [
        "Harvest"
    ] and event.location == "Garden"
    fake.set_bot_permissions(world.guild, DEFAULT_BOT_PERMISSIONS & ~Perm.MANAGE_EVENTS)
    with pytest.raises(discord.Forbidden):
        await asyncio.wait_for(event.delete(), T)


async def test_unknown_routes_are_reported(world: World, caplog: Any) -> None:
    route = discord.http.Route("GET", "/guilds/{guild_id}/bans", guild_id=world.guild.id)
    with pytest.raises(discord.NotFound):
        await asyncio.wait_for(world.bot.http.request(route), T)
    assert world.fake.unknown_routes == [f"GET /guilds/{world.guild.id}/bans"]
    assert "UNKNOWN ROUTE" in caplog.text
    world.fake.unknown_routes.clear()
