"""Forged presses across guilds and DMs, permissions in interaction payloads, role hierarchy, and the
interaction deadline, driven by a plain discord.py client."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import discord
import pytest
from discord import app_commands

from tests.e2e.fake_discord import Channel, FakeDiscord, Guild, Member, Perm
from tests.e2e.fake_discord.testing import QuickClient, connected, point_discord_py_at

T = 2.0


@dataclass
class Seen:
    interactions: list[discord.Interaction] = field(default_factory=list)
    checks: list[dict[str, Any]] = field(default_factory=list)
    errors: list[Exception] = field(default_factory=list)


class Client(QuickClient):
    def __init__(self, seen: Seen) -> None:
        intents = discord.Intents.default()
        intents.members = True
        super().__init__(intents=intents, guild_ready_timeout=0.05)
        self.seen = seen
        self.tree = app_commands.CommandTree(self)

        @self.tree.command(description="Shows permissions")
        async def check(
            interaction: discord.Interaction, where: app_commands.AppCommandChannel
        ) -> None:
            member = interaction.user
            assert isinstance(member, discord.Member) and interaction.guild is not None
            cached = interaction.guild.get_channel(where.id)
            assert isinstance(cached, discord.TextChannel)
            seen.checks.append(
                {
                    "permissions": interaction.permissions.value,
                    "app_permissions": interaction.app_permissions.value,
                    "resolved": where.permissions.value,  # as sent in `resolved`
                    "computed": cached.permissions_for(member).value,
                    "top_role": member.top_role.id,
                }
            )
            await interaction.response.send_message("ok", ephemeral=True)

        @self.tree.command(description="Answers late")
        async def slow(interaction: discord.Interaction) -> None:
            await asyncio.sleep(0.2)
            try:
                await interaction.response.send_message("late")
            except discord.HTTPException as exc:
                seen.errors.append(exc)

    async def on_interaction(self, interaction: discord.Interaction) -> None:
        self.seen.interactions.append(interaction)


@dataclass
class Env:
    fake: FakeDiscord
    client: Client
    seen: Seen
    guilds: list[Guild]
    channels: list[Channel]
    alice: list[Member]  # alice's member in each guild


@pytest.fixture
async def env(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Env]:
    async with FakeDiscord() as fake:
        guilds = [fake.add_guild(f"Guild {i}") for i in range(4)]
        channels = [fake.add_channel(g, "general") for g in guilds]
        first = fake.add_member(guilds[0], "alice")
        alice = [first] + [fake.add_member(g, first.user) for g in guilds[1:]]
        point_discord_py_at(fake, monkeypatch)
        seen = Seen()
        client = Client(seen)
        async with connected(fake, client):
            await asyncio.wait_for(client.tree.sync(), T)
            yield Env(fake, client, seen, guilds, channels, alice)
        assert not fake.unknown_routes, fake.unknown_routes


async def test_forged_presses_from_any_guild_or_dm(env: Env) -> None:
    fake, seen = env.fake, env.seen
    assert len(env.client.guilds) == 4
    text = env.client.get_channel(env.channels[0].id)
    assert isinstance(text, discord.TextChannel)
    view = discord.ui.View().add_item(discord.ui.Button(label="real", custom_id="real"))
    sent = await asyncio.wait_for(text.send("buttons", view=view), T)
    with pytest.raises(LookupError, match="no component 'admin:wipe'"):
        await fake.click(env.alice[0], sent.id, "admin:wipe")

    await fake.click(env.alice[0], sent.id, "admin:wipe", force=True)
    await fake.forge_click(env.alice[1], env.channels[1], "draw:7:confirm")
    await fake.forge_click(env.alice[2], None, "dm:press")  # from alice's DM with the bot
    await fake.forge_click(env.alice[3], env.channels[3], "pick", values=["x", "y"])
    await fake.forge_modal_submit(
        env.alice[3], env.channels[3], "feedback:999", {"text": "hi", "ok": True}
    )
    await fake.forge_modal_submit(env.alice[0], None, "dm-modal", {"text": "from DM"})
    await fake.wait_until(lambda: len(seen.interactions) == 6, T, "6 interactions")
    got = [
        (
            i.type,
            (i.data or {}).get("custom_id"),
            i.guild_id,
            isinstance(i.channel, discord.DMChannel),
        )
        for i in seen.interactions
    ]
    assert got == [
        (discord.InteractionType.component, "admin:wipe", env.guilds[0].id, False),
        (discord.InteractionType.component, "draw:7:confirm", env.guilds[1].id, False),
        (discord.InteractionType.component, "dm:press", None, True),
        (discord.InteractionType.component, "pick", env.guilds[3].id, False),
        (discord.InteractionType.modal_submit, "feedback:999", env.guilds[3].id, False),
        (discord.InteractionType.modal_submit, "dm-modal", None, True),
    ]
    pressed_on = seen.interactions[0].message
    assert pressed_on is not None and pressed_on.id == sent.id
    assert (seen.interactions[3].data or {}).get("values") == ["x", "y"]
    modal = (seen.interactions[4].data or {})["components"]
    assert [c["component"]["type"] for c in modal] == [4, 23]


async def test_permissions_in_interactions_and_role_hierarchy(env: Env) -> None:
    fake, guild = env.fake, env.guilds[0]
    mod = fake.add_role(
        guild, "mod", permissions=Perm.MANAGE_MESSAGES | Perm.MANAGE_ROLES, position=5
    )
    helper = fake.add_role(guild, "helper", position=2)
    quiet = fake.add_channel(
        guild,
        "announcements",
        overwrites={
            guild.everyone_role: (0, Perm.SEND_MESSAGES),
            mod: (Perm.SEND_MESSAGES, 0),
        },
    )
    bob = fake.add_member(guild, "bob", roles=[mod, helper])
    alice = env.alice[0]
    assert fake.top_role(bob) == mod
    for member in (alice, bob):
        handle = await fake.run_command(member, env.channels[0], "check", where=quiet)
        await handle.callback(T)
    alice_check, bob_check = env.seen.checks
    assert alice_check["resolved"] == fake.permissions(alice, quiet)
    assert not alice_check["resolved"] & Perm.SEND_MESSAGES
    assert bob_check["resolved"] & Perm.SEND_MESSAGES
    for check, member in ((alice_check, alice), (bob_check, bob)):
        # discord.py's own computation from its cache agrees (it also drops implicit bits such as
        # embed_links without send_messages, and voice bits in text channels, so compare those)
        for bit in (Perm.VIEW_CHANNEL, Perm.SEND_MESSAGES, Perm.MANAGE_MESSAGES, Perm.MANAGE_ROLES):
            assert check["computed"] & bit == check["resolved"] & bit
        assert check["permissions"] == fake.permissions(member, env.channels[0])
        assert check["app_permissions"] == fake.permissions(fake.bot_member(guild), env.channels[0])
    assert bob_check["top_role"] == mod.id

    # a role edited by a moderator after the bot started is seen by the bot
    fake.update_role(helper, permissions=Perm.MENTION_EVERYONE, name="helpers")
    g = env.client.get_guild(guild.id)
    assert g is not None
    await fake.wait_until(lambda: g.get_role(helper.id).name == "helpers", T, "GUILD_ROLE_UPDATE")  # type: ignore[union-attr]
    assert g.get_role(helper.id).permissions.mention_everyone  # type: ignore[union-attr]

    # the bot manages roles below its top role only
    member = g.get_member(alice.id)
    assert member is not None
    at_bot = fake.add_role(guild, "same", position=fake.bot_role(guild).position)
    above = fake.add_role(guild, "boss", position=fake.bot_role(guild).position + 1)
    for role in (at_bot, above):
        with pytest.raises(discord.Forbidden) as err:
            await asyncio.wait_for(member.add_roles(discord.Object(role.id)), T)
        assert err.value.code == 50013
    await asyncio.wait_for(member.add_roles(discord.Object(helper.id)), T)
    assert helper in fake.member_roles(alice)

    created = await asyncio.wait_for(g.create_role(name="drawn"), T)
    await fake.wait_until(lambda: g.get_role(created.id), T, "GUILD_ROLE_CREATE")
    edited = await asyncio.wait_for(created.edit(name="drawn-1"), T)
    assert edited.name == "drawn-1"
    with pytest.raises(discord.Forbidden):
        await asyncio.wait_for(g.get_role(above.id).edit(name="x"), T)  # type: ignore[union-attr]
    with pytest.raises(discord.Forbidden):  # can't grant a permission the bot lacks
        await asyncio.wait_for(created.edit(permissions=discord.Permissions(administrator=True)), T)
    await asyncio.wait_for(created.delete(), T)
    await fake.wait_until(lambda: g.get_role(created.id) is None, T, "GUILD_ROLE_DELETE")
    fake.delete_role(helper)
    await fake.wait_until(lambda: g.get_role(helper.id) is None, T, "GUILD_ROLE_DELETE")
    assert fake.member_roles(alice) == []


async def test_interaction_deadline(env: Env) -> None:
    fake = env.fake
    quick = await fake.run_command(env.alice[0], env.channels[0], "check", where=env.channels[0])
    await quick.callback(T)
    assert quick.ack_latency is not None and quick.ack_latency >= 0
    assert fake.ack_latencies()[quick.id] == quick.ack_latency

    fake.enforce_interaction_deadline = True
    fake.interaction_deadline = 0.05  # the command sleeps 0.2 s before answering
    slow = await fake.run_command(env.alice[0], env.channels[0], "slow")
    await fake.wait_until(lambda: env.seen.errors, T, "the late answer to fail")
    error = env.seen.errors[0]
    assert isinstance(error, discord.NotFound) and error.code == 10062
    assert slow.ack_latency is None and len(slow.late_acks) == 1 and not slow.replies
