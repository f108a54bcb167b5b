"""Components V2 layout messages and the new modal components, driven by a plain discord.py client.

Proves that discord.py parses the layout messages and modal submits the fake builds, and that the
fake accepts (and validates) what discord.py sends.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import discord
import pytest
from discord.http import Route

from tests.e2e.fake_discord import Channel, FakeDiscord, Guild, Member
from tests.e2e.fake_discord.testing import QuickClient, connected, point_discord_py_at

T = 2.0
V2 = 1 << 15


@dataclass
class Seen:
    """What the client's callbacks observed."""

    interactions: list[discord.Interaction] = field(default_factory=list)
    submitted: list[dict[str, Any]] = field(default_factory=list)


class Panel(discord.ui.LayoutView):
    """A Components V2 layout: container > text, sections with button/thumbnail accessories,
    separator, gallery, file, a row with a select."""

    def __init__(self, seen: Seen, title: str = "Harvest day") -> None:
        super().__init__(timeout=None)
        self.seen = seen
        join: discord.ui.Button[Panel] = discord.ui.Button(label="Join", custom_id="panel:join")
        join.callback = self.join  # type: ignore[method-assign]
        form: discord.ui.Button[Panel] = discord.ui.Button(label="Form", custom_id="panel:form")
        form.callback = self.form  # type: ignore[method-assign]
        pick: discord.ui.Select[Panel] = discord.ui.Select(
            custom_id="panel:pick",
            options=[discord.SelectOption(label=x, value=x) for x in ("rakes", "gloves")],
        )
        pick.callback = self.pick  # type: ignore[method-assign]
        self.add_item(
            discord.ui.Container(
                discord.ui.TextDisplay(f"## {title}"),
                discord.ui.Section("Bring gloves", "Meet at 9", accessory=join),
                discord.ui.Separator(),
                discord.ui.Section(
                    "The map", accessory=discord.ui.Thumbnail("attachment://map.png")
                ),
                discord.ui.MediaGallery(discord.MediaGalleryItem("attachment://map.png")),
                discord.ui.File("attachment://notes.txt"),
                discord.ui.ActionRow(pick),
                accent_color=0x2ECC71,
            )
        )
        self.add_item(discord.ui.ActionRow(form))

    async def join(self, interaction: discord.Interaction) -> None:
        self.seen.interactions.append(interaction)
        await interaction.response.edit_message(view=Panel(self.seen, "Harvest day (1 joined)"))

    async def pick(self, interaction: discord.Interaction) -> None:
        self.seen.interactions.append(interaction)
        await interaction.response.send_message(f"picked {interaction.data}", ephemeral=True)

    async def form(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_modal(SignupModal(self.seen))


class SignupModal(discord.ui.Modal, title="Sign up"):
    """Five top-level items: a text display and labels around the new inputs."""

    def __init__(self, seen: Seen) -> None:
        super().__init__(custom_id="signup_modal")
        self.seen = seen
        self.name = discord.ui.TextInput(custom_id="name", max_length=20)
        self.role = discord.ui.RadioGroup(
            custom_id="role",
            options=[
                discord.RadioGroupOption(label="Digger", value="dig"),
                discord.RadioGroupOption(label="Cook", value="cook", default=True),
            ],
        )
        self.days = discord.ui.CheckboxGroup(
            custom_id="days",
            options=[
                discord.CheckboxGroupOption(label=d.title(), value=d) for d in ("sat", "sun", "mon")
            ],
            max_values=2,
        )
        self.photos = discord.ui.Checkbox(custom_id="photos")
        self.add_item(discord.ui.TextDisplay("Tell us how you'd like to help."))
        self.add_item(discord.ui.Label(text="Your name", component=self.name))
        self.add_item(discord.ui.Label(text="Role", component=self.role))
        self.add_item(discord.ui.Label(text="Days", component=self.days))
        self.add_item(discord.ui.Label(text="Photos OK?", component=self.photos))

    async def on_submit(self, interaction: discord.Interaction) -> None:
        self.seen.submitted.append(
            {
                "name": self.name.value,
                "role": self.role.value,
                "days": self.days.values,
                "photos": self.photos.value,
                "message": interaction.message,
            }
        )
        await interaction.response.send_message("thanks", ephemeral=True)


class PickModal(discord.ui.Modal, title="Pick"):
    """A string select and a user select inside labels."""

    def __init__(self, seen: Seen) -> None:
        super().__init__(custom_id="pick_modal")
        self.seen = seen
        self.tool = discord.ui.Select(
            custom_id="tool",
            options=[discord.SelectOption(label=t, value=t) for t in ("rake", "hoe", "spade")],
            max_values=2,
        )
        self.buddy: discord.ui.UserSelect[Any] = discord.ui.UserSelect(
            custom_id="buddy", required=False
        )
        self.add_item(discord.ui.Label(text="Tools", component=self.tool))
        self.add_item(discord.ui.Label(text="Buddy", component=self.buddy))

    async def on_submit(self, interaction: discord.Interaction) -> None:
        self.seen.submitted.append(
            {"tool": self.tool.values, "buddy": [u.id for u in self.buddy.values]}
        )
        await interaction.response.send_message("ok", ephemeral=True)


@dataclass
class Env:
    fake: FakeDiscord
    client: discord.Client
    seen: Seen
    guild: Guild
    channel: Channel
    alice: Member


@pytest.fixture
async def env(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Env]:
    async with FakeDiscord() as fake:
        guild = fake.add_guild("Garden")
        channel = fake.add_channel(guild, "general")
        alice = fake.add_member(guild, "alice")
        point_discord_py_at(fake, monkeypatch)
        intents = discord.Intents.default()
        intents.message_content = True
        client = QuickClient(intents=intents, guild_ready_timeout=0.05, max_messages=None)
        async with connected(fake, client):
            yield Env(fake, client, Seen(), guild, channel, alice)
        assert not fake.unknown_routes, fake.unknown_routes


async def _send_panel(env: Env) -> discord.Message:
    channel = env.client.get_channel(env.channel.id)
    assert isinstance(channel, discord.TextChannel)
    files = [
        discord.File(io.BytesIO(b"\x89PNG fake"), "map.png"),
        discord.File(io.BytesIO(b"bring water"), "notes.txt"),
    ]
    return await asyncio.wait_for(channel.send(view=Panel(env.seen), files=files), T)


async def test_layout_message_is_stored_parsed_and_clickable(env: Env) -> None:
    fake = env.fake
    sent = await _send_panel(env)
    stored = fake.message(sent.id)
    assert stored.is_components_v2 and stored.flags & V2
    kinds = [c["type"] for c in fake.components(stored)]
    assert kinds == [17, 10, 9, 10, 10, 2, 14, 9, 10, 11, 12, 13, 1, 3, 1, 2]
    assert all(isinstance(c["id"], int) for c in fake.components(stored))  # Discord numbers them
    assert stored.text == "## Harvest day\nBring gloves\nMeet at 9\nThe map"
    assert fake.find_component(stored, "panel:join") == stored.find_component("panel:join")
    thumb = next(c for c in fake.components(stored) if c["type"] == 11)
    assert thumb["media"]["url"] == stored.attachments[0]["url"]  # attachment:// resolved
    file_comp = next(c for c in fake.components(stored) if c["type"] == 13)
    assert (file_comp["name"], file_comp["size"]) == ("notes.txt", len(b"bring water"))

    # discord.py parses the stored layout (REST) into its V2 component classes
    fetched = await asyncio.wait_for(sent.channel.fetch_message(sent.id), T)
    container = fetched.components[0]
    assert isinstance(container, discord.components.Container)
    assert container.accent_colour == discord.Colour(0x2ECC71)

    # a button nested in a section inside a container is clickable; the interaction carries it
    click = await fake.click(env.alice, stored, "panel:join")
    await click.callback(T)
    interaction = env.seen.interactions[0]
    assert interaction.message is not None and interaction.message.id == sent.id
    assert isinstance(interaction.message.components[0], discord.components.Container)
    assert click.payload["message"]["flags"] & V2
    assert click.payload["data"]["id"] == stored.find_component("panel:join")["id"]  # type: ignore[index]
    assert "1 joined" in fake.message(sent.id).text  # type 7 update kept the V2 layout
    assert fake.message(sent.id).is_components_v2

    pick = await fake.click(env.alice, stored, "panel:pick", ["gloves"])
    assert "gloves" in (await pick.wait(T)).content
    with pytest.raises(ValueError, match="no options"):
        await fake.click(env.alice, stored, "panel:pick", ["shovels"])


async def test_layout_limits_are_enforced(env: Env) -> None:
    http = env.client.http
    route = Route("POST", "/channels/{channel_id}/messages", channel_id=env.channel.id)

    async def post(payload: dict[str, Any]) -> discord.HTTPException:
        with pytest.raises(discord.HTTPException) as err:
            await asyncio.wait_for(http.request(route, json=payload), T)
        return err.value

    text = {"type": 10, "content": "x"}
    too_many = {"flags": V2, "components": [{"type": 17, "components": [text] * 40}]}  # 41
    assert (await post(too_many)).code == 50035
    assert (
        await post({"flags": V2, "components": [{"type": 10, "content": "y" * 4001}]})
    ).code == 50035
    err = await post({"flags": V2, "content": "hi", "components": [text]})
    assert err.status == 400 and "In content" in err.text
    assert (await post({"components": [text]})).code == 50035  # V2 component without the flag
    section = {"type": 9, "components": [text]}  # no accessory
    assert (await post({"flags": V2, "components": [section]})).code == 50035
    ok = await asyncio.wait_for(http.request(route, json={"flags": V2, "components": [text]}), T)
    ping = {"type": 10, "content": f"hi <@{env.alice.id}>"}
    pinged = await asyncio.wait_for(
        http.request(route, json={"flags": V2, "components": [ping]}), T
    )
    assert [u["id"] for u in pinged["mentions"]] == [str(env.alice.id)]  # text displays ping

    edit = Route(
        "PATCH",
        "/channels/{channel_id}/messages/{message_id}",
        channel_id=env.channel.id,
        message_id=ok["id"],
    )
    with pytest.raises(discord.HTTPException) as removed:
        await asyncio.wait_for(http.request(edit, json={"flags": 0, "content": "back"}), T)
    assert removed.value.code == 50035
    # a legacy message can become V2 only when its content is emptied in the same edit
    legacy = await asyncio.wait_for(http.request(route, json={"content": "old"}), T)
    upgrade = Route(
        "PATCH",
        "/channels/{channel_id}/messages/{message_id}",
        channel_id=env.channel.id,
        message_id=legacy["id"],
    )
    with pytest.raises(discord.HTTPException):
        await asyncio.wait_for(http.request(upgrade, json={"flags": V2, "components": [text]}), T)
    done = await asyncio.wait_for(
        http.request(upgrade, json={"flags": V2, "content": None, "components": [text]}), T
    )
    assert done["flags"] & V2 and done["content"] == ""


async def test_modal_with_labels_radio_checkboxes(env: Env) -> None:
    fake = env.fake
    sent = await _send_panel(env)
    opened = await fake.click(env.alice, sent.id, "panel:form")
    modal = await opened.modal(T)
    assert [c["type"] for c in modal.components] == [10, 18, 18, 18, 18]

    with pytest.raises(ValueError, match="required"):  # name is required, no default
        await fake.submit_modal(env.alice, opened, {"days": ["sat"]})
    with pytest.raises(ValueError, match=r"takes 1\.\.2"):
        await fake.submit_modal(env.alice, opened, {"name": "Al", "days": ["sat", "sun", "mon"]})
    with pytest.raises(ValueError, match="at most 20"):
        await fake.submit_modal(env.alice, opened, {"name": "A" * 21, "days": ["sat"]})

    submitted = await fake.submit_modal(
        env.alice, opened, {"Your name": "Alice", "days": ["sun", "sat"], "photos": True}
    )
    assert (await submitted.wait(T)).content == "thanks"
    got = env.seen.submitted[0]
    assert (got["name"], got["role"], got["days"], got["photos"]) == (
        "Alice",
        "cook",  # the default option
        ["sun", "sat"],
        True,
    )
    assert got["message"] is not None and got["message"].id == sent.id
    data = submitted.payload["data"]
    assert data["components"][0] == {"type": 10, "id": 1}
    label = data["components"][2]
    assert label["type"] == 18 and label["component"] == {
        "type": 21,
        "id": label["component"]["id"],
        "custom_id": "role",
        "value": "cook",
    }


async def test_modal_string_and_user_selects(env: Env) -> None:
    fake = env.fake
    channel = env.client.get_channel(env.channel.id)
    assert isinstance(channel, discord.TextChannel)
    button: discord.ui.Button[discord.ui.View] = discord.ui.Button(label="go", custom_id="go")

    async def open_modal(interaction: discord.Interaction) -> None:
        await interaction.response.send_modal(PickModal(env.seen))

    button.callback = open_modal  # type: ignore[method-assign]
    message = await asyncio.wait_for(
        channel.send("pick", view=discord.ui.View(timeout=None).add_item(button)), T
    )
    opened = await fake.click(env.alice, message.id, "go")
    await opened.modal(T)
    with pytest.raises(ValueError, match="no options"):
        await fake.submit_modal(env.alice, opened, {"tool": ["axe"]})
    done = await fake.submit_modal(
        env.alice, opened, {"Tools": ["rake", "spade"], "buddy": [env.alice]}
    )
    assert (await done.wait(T)).content == "ok"
    assert env.seen.submitted[0] == {"tool": ["rake", "spade"], "buddy": [env.alice.id]}
    assert str(env.alice.id) in done.payload["data"]["resolved"]["users"]


async def test_modal_limits_are_enforced(env: Env) -> None:
    fake = env.fake
    handle = await fake.forge_click(env.alice, env.channel, "nobody-listens")
    url = f"{fake.api_base}/interactions/{handle.id}/{handle.token}/callback"
    label = {
        "type": 18,
        "label": "Q",
        "component": {"type": 4, "custom_id": "q", "style": 1},
    }
    six = [{**label, "component": {**label["component"], "custom_id": f"q{i}"}} for i in range(6)]
    radio = {
        "type": 18,
        "label": "R",
        "component": {"type": 21, "custom_id": "r", "options": [{"label": "a", "value": "a"}]},
    }
    async with aiohttp.ClientSession() as session:
        for components in (six, [radio], [{"type": 4, "custom_id": "bare", "style": 1}]):
            body = {"type": 9, "data": {"custom_id": "m", "title": "t", "components": components}}
            async with session.post(url, json=body) as resp:
                assert resp.status == 400 and (await resp.json())["code"] == 50035
        ok = {"type": 9, "data": {"custom_id": "m", "title": "t", "components": [label]}}
        async with session.post(url, json=ok) as resp:
            assert resp.status == 204
    assert (await handle.modal(T)).custom_id == "m"
