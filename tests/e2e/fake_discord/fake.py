"""Test-facing API: :class:`FakeDiscord` runs the server and lets a test build a world, act as members and
read back what the bot did."""

# Waiting helpers take an explicit `timeout` on purpose: every await in a test must fail fast.
# ruff: noqa: ASYNC109

from __future__ import annotations

import datetime as dt
import logging
import re
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

from aiohttp import web

from .components import walk_components
from .gateway import Gateway
from .interactions import InteractionHandle, Interactions, wait_until
from .rest import Fault, RecordedRequest, RestApi
from .state import (
    CHANNEL_TYPE_NAMES,
    DEFAULT_BOT_PERMISSIONS,
    DEFAULT_UPLOAD_LIMIT,
    JSON,
    Channel,
    ChannelType,
    EditRecord,
    Emoji,
    Guild,
    Member,
    Message,
    Role,
    ScheduledEvent,
    Upload,
    User,
    VoiceState,
    World,
    shard_of,
)

log = logging.getLogger(__name__)

Actor = Member | User
MessageRef = Message | int  # also anything with an ``id`` (e.g. a ``discord.Message``)


def _perm_value(value: Any) -> int:
    """Accept ints or objects with ``.value`` (e.g. ``discord.Permissions``)."""
    return int(getattr(value, "value", value))


def _template_key(route: str) -> str:
    """``/channels/{channel_id}/messages`` and ``/channels/{c}/messages`` compare equal."""
    return re.sub(r"\{[^}]*\}", "{}", route.removeprefix("/api/v10"))


class FakeDiscord:
    """An in-process fake Discord (REST v10 + gateway v10) on 127.0.0.1.

    Use as ``async with FakeDiscord() as fake:``; point discord.py at ``fake.url`` / ``fake.ws_url``
    and log in with ``fake.bot_token``.
    """

    def __init__(self, *, bot_name: str = "FakeBot", heartbeat_interval_ms: int = 41250) -> None:
        self.world = World(bot_name=bot_name)
        self.gateway = Gateway(self.world, heartbeat_interval_ms)
        self.interactions = Interactions(self.world)
        self.rest = RestApi(self.world, self.gateway, self.interactions)
        self.events: list[tuple[str, JSON]] = []
        self.world.listeners.append(lambda name, data: self.events.append((name, data)))
        self._runner: web.AppRunner | None = None
        self.url = ""

    # -- lifecycle --------------------------------------------------------------------------
    async def start(self) -> FakeDiscord:
        """Start listening on a free port on 127.0.0.1."""
        app = web.Application(client_max_size=64 * 1024 * 1024)
        self.rest.setup(app)
        app.router.add_get("/gateway-ws", self.gateway.handle)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}"
        self.world.base_url = self.url
        self.gateway.ws_url = self.ws_url
        log.info("fake discord listening on %s", self.url)
        return self

    async def stop(self) -> None:
        """Close sockets and stop the server."""
        await self.gateway.close_all()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self.rest.unknown_routes:
            log.warning(
                "FAKE DISCORD: unknown routes hit during the run: %s", self.rest.unknown_routes
            )

    async def __aenter__(self) -> FakeDiscord:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def ws_url(self) -> str:
        """Gateway URL (``ws://127.0.0.1:PORT/gateway-ws``)."""
        return self.url.replace("http://", "ws://", 1) + "/gateway-ws"

    @property
    def api_base(self) -> str:
        """Value for ``discord.http.Route.BASE``."""
        return f"{self.url}/api/v10"

    @property
    def bot_token(self) -> str:
        """The only token the server accepts."""
        return self.world.bot_token

    @property
    def application_id(self) -> int:
        """Application id (same as the bot user id)."""
        return self.world.application_id

    @property
    def bot_user(self) -> User:
        """The bot's user."""
        return self.world.bot_user

    # -- world building ---------------------------------------------------------------------
    def add_guild(
        self,
        name: str = "Test Guild",
        *,
        owner: Actor | None = None,
        owner_name: str = "owner",
        bot_permissions: Any = DEFAULT_BOT_PERMISSIONS,
        bot_role_position: int = 100,
        upload_limit: int = DEFAULT_UPLOAD_LIMIT,
        shard: tuple[int, int] | None = None,
    ) -> Guild:
        """Create a guild (with @everyone, a managed bot role and the bot as member); emits GUILD_CREATE.

        ``upload_limit``: largest file (bytes) the guild accepts (Discord's default 10 MiB; bigger
        -> 413 / 40005).  ``shard=(shard_id, shard_count)`` picks an id whose events go to that
        shard: ``(guild_id >> 22) % shard_count == shard_id``.
        """
        owner_user = (
            owner.user if isinstance(owner, Member) else owner or self.world.add_user(owner_name)
        )
        guild_id = self.world.ids.next_on_shard(*shard) if shard else None
        guild = self.world.add_guild(
            name, owner_user, _perm_value(bot_permissions), bot_role_position, guild_id=guild_id
        )
        guild.upload_limit = upload_limit
        self._emit_guild_create(guild)
        return guild

    def _emit_guild_create(self, guild: Guild) -> None:
        for session in self.gateway.sessions.values():
            self.gateway.send_guild_create(session, guild.id)

    def set_upload_limit(self, guild: Guild, limit: int) -> None:
        """Change the largest file (bytes) ``guild`` accepts (also sent as ``attachment_size_limit``)."""
        guild.upload_limit = limit

    @staticmethod
    def shard_of(guild: Guild | int, shard_count: int) -> int:
        """The shard that receives ``guild``'s events with ``shard_count`` shards."""
        return shard_of(guild.id if isinstance(guild, Guild) else guild, shard_count)

    @property
    def recommended_shards(self) -> int:
        """The ``shards`` count ``GET /gateway/bot`` recommends (default 1)."""
        return self.rest.recommended_shards

    @recommended_shards.setter
    def recommended_shards(self, count: int) -> None:
        self.rest.recommended_shards = count

    def owner(self, guild: Guild) -> Member:
        """The guild owner's member."""
        return guild.members[guild.owner_id]

    def add_channel(
        self,
        guild: Guild,
        name: str,
        type: str = "text",
        *,
        parent: Channel | None = None,
        topic: str | None = None,
        overwrites: dict[Role | Member, tuple[Any, Any]] | None = None,
        tags: list[str] | None = None,
    ) -> Channel:
        """Add a channel (``text``, ``voice``, ``stage``, ``forum``, ``category``, ``news``); emits
        CHANNEL_CREATE.

        ``overwrites`` maps a role or member to ``(allow, deny)`` permission values; ``tags`` are forum tags.
        """
        world = self.world
        channel = Channel(
            world.ids.next(),
            CHANNEL_TYPE_NAMES[type],
            name=name,
            guild_id=guild.id,
            parent_id=parent.id if parent else None,
            topic=topic,
            position=sum(1 for c in guild.channels if not world.channels[c].is_thread),
        )
        channel.overwrites = [
            {
                "id": str(target.id),
                "type": 0 if isinstance(target, Role) else 1,
                "allow": str(_perm_value(allow)),
                "deny": str(_perm_value(deny)),
            }
            for target, (allow, deny) in (overwrites or {}).items()
        ]
        channel.available_tags = [
            {
                "id": str(world.ids.next()),
                "name": t,
                "moderated": False,
                "emoji_id": None,
                "emoji_name": None,
            }
            for t in tags or []
        ]
        world.channels[channel.id] = channel
        guild.channels.append(channel.id)
        world.emit("CHANNEL_CREATE", world.channel_payload(channel))
        return channel

    def add_thread(
        self,
        parent: Channel,
        name: str,
        *,
        owner: Actor | None = None,
        starter: Message | None = None,
    ) -> Channel:
        """Create a thread as a member (or under ``starter``); emits THREAD_CREATE."""
        user = (
            self._user(owner)
            if owner
            else self.world.users[self.world.guilds[parent.guild_id or 0].owner_id]
        )
        thread = self.world.create_thread(
            parent, name, user, thread_id=starter.id if starter else None
        )
        if starter is not None:
            starter.thread_id = thread.id
        return thread

    def add_role(
        self,
        guild: Guild,
        name: str,
        *,
        permissions: Any = 0,
        position: int | None = None,
        mentionable: bool = False,
        color: int = 0,
    ) -> Role:
        """Add a role; without ``position`` it goes just above the other non-bot roles (below the bot)."""
        if position is None:
            below_bot = [
                r.position
                for r in guild.roles.values()
                if r.position < self.bot_role(guild).position
            ]
            position = 1 + max(below_bot, default=0)
        role = Role(
            self.world.ids.next(),
            guild.id,
            name,
            _perm_value(permissions),
            position,
            mentionable=mentionable,
            color=color,
        )
        guild.roles[role.id] = role
        self.world.emit(
            "GUILD_ROLE_CREATE", {"guild_id": str(guild.id), "role": self.world.role_payload(role)}
        )
        return role

    def update_role(self, role: Role, **changes: Any) -> Role:
        """Change a role (``permissions``, ``position``, ``name`` ...); emits GUILD_ROLE_UPDATE."""
        for key, value in changes.items():
            setattr(role, key, _perm_value(value) if key == "permissions" else value)
        self.world.emit(
            "GUILD_ROLE_UPDATE",
            {"guild_id": str(role.guild_id), "role": self.world.role_payload(role)},
        )
        return role

    def delete_role(self, role: Role) -> None:
        """Delete a role as a moderator would (members lose it); emits GUILD_ROLE_DELETE."""
        self.world.delete_role(role)

    def top_role(self, member: Member) -> Role:
        """The member's highest role (@everyone if none)."""
        guild = self.world.guilds[member.guild_id]
        roles = [guild.roles[r] for r in member.role_ids if r in guild.roles]
        return max(roles, key=lambda r: (r.position, -r.id), default=guild.everyone_role)

    def permissions(self, member: Member, channel: Channel | None = None) -> int:
        """The member's permissions, in ``channel`` (overwrites applied) or guild-wide."""
        if channel is None:
            return self.world.base_permissions(member)
        return self.world.permissions_in(member, channel)

    def bot_role(self, guild: Guild) -> Role:
        """The bot's managed role."""
        return guild.roles[guild.bot_role_id]

    def set_bot_permissions(self, guild: Guild, permissions: Any) -> None:
        """Replace the bot role's permissions (e.g. drop manage_roles)."""
        self.update_role(self.bot_role(guild), permissions=permissions)

    def bot_member(self, guild: Guild) -> Member:
        """The bot's member in ``guild``."""
        return self.world.bot_member(guild)

    def add_member(
        self,
        guild: Guild,
        name: str | User,
        *,
        roles: Iterable[Role] = (),
        permissions: Any = None,
        dms_closed: bool = False,
        bot: bool = False,
        nick: str | None = None,
    ) -> Member:
        """Add a member (new user, or an existing ``User``); emits GUILD_MEMBER_ADD.

        ``permissions`` creates a personal role ``"<name> perms"`` with those permissions.
        """
        user = (
            name
            if isinstance(name, User)
            else self.world.add_user(name, bot=bot, dms_closed=dms_closed)
        )
        member = Member(user, guild.id, [r.id for r in roles], nick=nick)
        if permissions is not None:
            member.role_ids.append(
                self.add_role(guild, f"{user.name} perms", permissions=permissions).id
            )
        guild.members[user.id] = member
        self.world.emit(
            "GUILD_MEMBER_ADD", {"guild_id": str(guild.id), **self.world.member_payload(member)}
        )
        return member

    def add_emoji(self, guild: Guild, name: str, *, animated: bool = False) -> Emoji:
        """Add a custom emoji (usable in reactions as ``emoji`` or ``"name:id"``)."""
        emoji = Emoji(self.world.ids.next(), name, animated)
        guild.emojis[emoji.id] = emoji
        self.world.emit(
            "GUILD_EMOJIS_UPDATE",
            {
                "guild_id": str(guild.id),
                "emojis": [self.world.emoji_payload(e) for e in guild.emojis.values()],
            },
        )
        return emoji

    def set_member_roles(self, member: Member, roles: list[Role]) -> None:
        """Replace a member's roles as a moderator would; emits GUILD_MEMBER_UPDATE."""
        member.role_ids = [r.id for r in roles]
        self.world.member_updated(member)

    # -- acting as members ------------------------------------------------------------------
    def _user(self, actor: Actor) -> User:
        return actor.user if isinstance(actor, Member) else actor

    def _message(self, channel: Channel | None, message: MessageRef) -> Message:
        if isinstance(message, Message):
            return self.world.messages.get(message.id, message)
        if not isinstance(message, int) and hasattr(message, "id"):  # e.g. a discord.Message
            message = int(message.id)
        msg = self.world.messages.get(int(message))
        if msg is None or (channel is not None and msg.channel_id != channel.id):
            raise LookupError(f"no message {message} in channel {channel.id if channel else '?'}")
        return msg

    async def send_message(
        self,
        actor: Actor,
        channel: Channel,
        content: str = "",
        *,
        reply_to: Message | None = None,
        embeds: list[JSON] | None = None,
        attachments: list[tuple[str, bytes]] | None = None,
    ) -> Message:
        """Post a message as a member (any channel or thread); emits MESSAGE_CREATE."""
        ref = (
            {"message_id": str(reply_to.id), "channel_id": str(reply_to.channel_id)}
            if reply_to
            else None
        )
        atts = [self.world.new_attachment(channel.id, f, d, None) for f, d in attachments or []]
        return self.world.create_message(
            channel,
            self._user(actor),
            content=content,
            embeds=embeds or [],
            message_reference=ref,
            attachments=atts,
        )

    async def send_dm(self, actor: Actor, content: str) -> Message:
        """A user DMs the bot; emits MESSAGE_CREATE without guild_id."""
        user = self._user(actor)
        return self.world.create_message(self.world.dm_channel(user), user, content=content)

    async def edit_message(self, message: Message, content: str) -> Message:
        """A member edits their message; emits MESSAGE_UPDATE (the full message, new content)."""
        message = self._message(None, message)
        return self.world.edit_message(
            message, self.world.users[message.author_id], {"content": content}, via="member"
        )

    async def delete_message(self, message: MessageRef) -> None:
        """Delete a message (as its author or a moderator); emits MESSAGE_DELETE.  Afterwards REST
        calls on it answer 404 / 10008 Unknown Message."""
        self.world.delete_message(self._message(None, message))

    async def bulk_delete(self, messages: Iterable[MessageRef]) -> None:
        """A moderator deletes several messages of one channel at once; emits MESSAGE_DELETE_BULK."""
        msgs = [self._message(None, m) for m in messages]
        channels = {m.channel_id for m in msgs}
        if len(channels) != 1:
            raise ValueError(f"bulk delete works on one channel; got messages from {channels}")
        self.world.bulk_delete(self.world.channels[channels.pop()], msgs)

    async def delete_channel(self, channel: Channel) -> None:
        """A moderator deletes a channel (its threads and messages go too); emits CHANNEL_DELETE
        (THREAD_DELETE for a thread).  Afterwards REST calls on the channel answer 404 / 10003."""
        self.world.delete_channel(channel)

    # -- polls ------------------------------------------------------------------------------
    def _poll(self, message: MessageRef) -> Message:
        return self.world.poll_message(self._message(None, message))

    async def vote(self, actor: Actor, message: MessageRef, answer_id: int) -> None:
        """Vote for ``answer_id`` as a member; emits MESSAGE_POLL_VOTE_ADD.

        Raises ``ValueError`` where Discord's client would not let the member vote: the poll ended,
        an unknown answer, or a second answer on a single-choice poll (unvote first).
        """
        msg, user = self._poll(message), self._user(actor)
        if user.bot:
            raise ValueError("apps and bots cannot vote on polls")
        if not self.world.poll_is_open(msg):
            raise ValueError(f"the poll of message {msg.id} has ended")
        assert msg.poll is not None
        ids = [a["answer_id"] for a in msg.poll["answers"]]
        if answer_id not in ids:
            raise ValueError(f"poll {msg.id} has no answer {answer_id}; answers: {ids}")
        voted = [a for a, users in msg.poll_votes.items() if user.id in users and a != answer_id]
        if voted and not msg.poll["allow_multiselect"]:
            raise ValueError(f"{user.name} already voted for {voted} on a single-choice poll")
        self.world.poll_vote(msg, user, answer_id, add=True)

    async def unvote(self, actor: Actor, message: MessageRef, answer_id: int | None = None) -> None:
        """Remove a member's vote (all of them if ``answer_id`` is None); emits
        MESSAGE_POLL_VOTE_REMOVE per removed answer."""
        msg, user = self._poll(message), self._user(actor)
        if not self.world.poll_is_open(msg):
            raise ValueError(f"the poll of message {msg.id} has ended")
        for aid in [answer_id] if answer_id is not None else sorted(msg.poll_votes):
            self.world.poll_vote(msg, user, aid, add=False)

    async def end_poll(self, message: MessageRef) -> Message:
        """End a poll now (as if it expired): results finalised, MESSAGE_UPDATE, then Discord's
        poll-result message (type 46) in the same channel, which is returned."""
        msg = self._poll(message)
        if msg.id not in self.world.open_polls:
            raise ValueError(f"the poll of message {msg.id} has already ended")
        return self.world.end_poll(msg)

    async def advance_clock(self, delta: dt.timedelta) -> list[Message]:
        """Move the fake's clock forward; polls whose expiry passed end (see :meth:`end_poll`).
        Returns the poll-result messages posted.  (Message timestamps and ids stay real-time.)"""
        self.world.clock_offset += delta
        return self.world.expire_due_polls()

    def now(self) -> dt.datetime:
        """The fake's clock (real UTC time + everything passed to :meth:`advance_clock`)."""
        return self.world.now()

    def poll_votes(self, message: MessageRef) -> dict[int, list[int]]:
        """``{answer_id: [voter ids in vote order]}`` (answers without votes included)."""
        msg = self._poll(message)
        assert msg.poll is not None
        return {
            a["answer_id"]: list(msg.poll_votes.get(a["answer_id"], []))
            for a in msg.poll["answers"]
        }

    # -- voice ------------------------------------------------------------------------------
    async def join_voice(self, member: Member, channel: Channel, **flags: Any) -> VoiceState:
        """Connect a member to a voice or stage channel; emits VOICE_STATE_UPDATE.

        ``flags``: ``self_mute``, ``self_deaf``, ``mute``, ``deaf``, ``self_video``, ``self_stream``,
        ``suppress`` (stage listeners start suppressed).
        """
        return self.world.set_voice_state(member, channel, **flags)

    async def move_voice(self, member: Member, channel: Channel) -> VoiceState:
        """Move a connected member to another voice channel; emits VOICE_STATE_UPDATE."""
        if member.id not in self.world.guilds[member.guild_id].voice_states:
            raise ValueError(f"{member.name} is not in a voice channel")
        return self.world.set_voice_state(member, channel)

    async def leave_voice(self, member: Member) -> None:
        """Disconnect a member from voice; emits VOICE_STATE_UPDATE with ``channel_id: null``."""
        self.world.set_voice_state(member, None)

    async def set_voice_flags(self, member: Member, **flags: Any) -> VoiceState:
        """Change a connected member's mute/deaf/video flags; emits VOICE_STATE_UPDATE."""
        state = self.voice_state(member)
        if state is None:
            raise ValueError(f"{member.name} is not in a voice channel")
        return self.world.set_voice_state(
            member, self.world.channels[state.channel_id or 0], **flags
        )

    def voice_state(self, member: Member) -> VoiceState | None:
        """The member's voice state (None: not connected)."""
        return self.world.guilds[member.guild_id].voice_states.get(member.id)

    def voice_members(self, channel: Channel) -> list[Member]:
        """Members connected to ``channel``."""
        guild = self.world.guilds[channel.guild_id or 0]
        return [
            guild.members[s.user_id]
            for s in guild.voice_states.values()
            if s.channel_id == channel.id and s.user_id in guild.members
        ]

    async def react(
        self, actor: Actor, channel: Channel, message: MessageRef, emoji: str | Emoji
    ) -> None:
        """Add a reaction as a member; emits MESSAGE_REACTION_ADD."""
        self.world.add_reaction(self._message(channel, message), self._user(actor), str(emoji))

    async def unreact(
        self, actor: Actor, channel: Channel, message: MessageRef, emoji: str | Emoji
    ) -> None:
        """Remove a member's reaction; emits MESSAGE_REACTION_REMOVE."""
        self.world.remove_reaction(self._message(channel, message), self._user(actor), str(emoji))

    async def run_command(
        self, actor: Actor, channel: Channel, command: str, **options: Any
    ) -> InteractionHandle:
        """Invoke a synced slash command, e.g. ``run_command(m, ch, "call create", title="x")``.

        Option values: str/int/float/bool, ``Member``/``User`` (user), ``Role``, ``Channel``, and
        ``(filename, bytes[, content_type])`` for attachments.  Option names may use ``_`` for ``-``.
        """
        return self.interactions.command(actor, channel, command, options)

    async def autocomplete(
        self, actor: Actor, channel: Channel, command: str, focused: str, **options: Any
    ) -> InteractionHandle:
        """Autocomplete request for option ``focused`` (its current text is ``options[focused]``)."""
        options.setdefault(focused, "")
        return self.interactions.command(actor, channel, command, options, focused=focused)

    async def run_context_menu(
        self, actor: Actor, channel: Channel, name: str, target: Member | User | Message
    ) -> InteractionHandle:
        """Invoke a user or message context-menu command."""
        return self.interactions.context_menu(actor, channel, name, target)

    async def click(
        self,
        actor: Actor,
        message: MessageRef,
        custom_id: str,
        values: Any = None,
        *,
        force: bool = False,
        component_type: int | None = None,
    ) -> InteractionHandle:
        """Click a button / choose select ``values`` on a message; emits a MESSAGE_COMPONENT interaction.

        The component is found anywhere in the tree (rows, sections, containers).  Select values:
        strings, or ``Member``/``User``/``Role``/``Channel`` for user/role/mentionable/channel selects.
        ``force=True`` sends the press even if the message has no such component (or it is disabled):
        a forged or stale press; ``component_type`` then says what was "pressed" (default button).
        """
        return self.interactions.component(
            actor,
            self._message(None, message),
            custom_id,
            values,
            force=force,
            component_type=component_type,
        )

    async def forge_click(
        self,
        actor: Actor,
        where: Channel | Message | None,
        custom_id: str,
        *,
        values: Any = None,
        component_type: int | None = None,
    ) -> InteractionHandle:
        """A MESSAGE_COMPONENT press with any ``custom_id`` from any guild channel, thread or DM.

        ``where``: a message (it need not carry ``custom_id``), a channel (an ephemeral bot message
        carrying the component is made there, never dispatched) or None for the actor's DM.
        """
        if isinstance(where, Message):
            message = self._message(None, where)
        else:
            channel = where if where is not None else self.dm_channel(actor)
            kind = component_type or (2 if values is None else 3)
            message = self.interactions.forged_message(channel, custom_id, kind)
        return self.interactions.component(
            actor, message, custom_id, values, force=True, component_type=component_type
        )

    async def forge_modal_submit(
        self,
        actor: Actor,
        where: Channel | Message | None,
        custom_id: str,
        fields: dict[str, Any] | None = None,
    ) -> InteractionHandle:
        """A MODAL_SUBMIT for a modal the bot never opened (any ``custom_id``), from a channel, a
        message's channel (carried as ``message``) or the actor's DM (None).  ``fields`` map a field
        custom_id to ``str`` (text input), list (string select), ``bool`` (checkbox) or None
        (unanswered radio group)."""
        message = self._message(None, where) if isinstance(where, Message) else None
        if message is not None:
            channel = self.world.channels[message.channel_id]
        else:
            channel = where if isinstance(where, Channel) else self.dm_channel(actor)
        return self.interactions.forged_modal_submit(
            actor, channel, custom_id, fields or {}, message
        )

    async def submit_modal(
        self,
        actor: Actor,
        source: InteractionHandle | str,
        values: dict[str, Any],
        timeout: float = 2.0,
    ) -> InteractionHandle:
        """Submit a modal the bot opened: ``source`` is the interaction it answered with the modal, or the
        modal's custom_id.  ``values`` are keyed by field custom_id or label (unset fields keep defaults).
        """
        if isinstance(source, str):
            custom_id = source
            source = await wait_until(
                lambda: self._modal_source(custom_id),
                timeout,
                f"the bot to open modal {custom_id!r}",
            )
        else:
            await source.modal(timeout)
        return self.interactions.modal_submit(actor, source, values)

    def _modal_source(self, custom_id: str) -> InteractionHandle | None:
        try:
            return self.interactions.find_modal_source(custom_id)
        except LookupError:
            return None

    # -- reading back -----------------------------------------------------------------------
    def message(self, message: MessageRef) -> Message:
        """The current stored state of a message (records are updated in place on edits)."""
        return self._message(None, message)

    def attachment_bytes(self, attachment: JSON | Upload) -> bytes:
        """The uploaded bytes behind an attachment object (e.g. ``fake.message(m).attachments[0]``)."""
        if isinstance(attachment, Upload):
            return attachment.data
        return self.world.attachment_data[int(attachment["id"])]

    def attachments_of(self, message: MessageRef) -> list[Upload]:
        """The files on a message now (bytes, filename, content_type, description, url), in order."""
        msg = self._message(None, message)
        return [msg.uploads[int(a["id"])] for a in msg.attachments if int(a["id"]) in msg.uploads]

    def upload(self, attachment: JSON | int | str) -> Upload:
        """The stored upload behind an attachment object or id (any message, reply or option)."""
        att_id = int(attachment["id"] if isinstance(attachment, dict) else attachment)
        return self.world.uploads[att_id]

    @staticmethod
    def components(message: Message) -> list[JSON]:
        """Every component of a message, nested ones included (depth-first)."""
        return list(walk_components(message.components))

    def find_component(self, message: MessageRef, custom_id: str) -> JSON | None:
        """The component with ``custom_id`` anywhere in a message's tree (None if absent)."""
        return self._message(None, message).find_component(custom_id)

    def message_text(self, message: MessageRef) -> str:
        """All text of a message: content, embeds, text displays (see ``Message.texts``)."""
        return self._message(None, message).text

    # -- edit accounting --------------------------------------------------------------------
    def edits(
        self,
        channel: Channel,
        *,
        author: Actor | None = None,
        everyone: bool = False,
        via: Iterable[str] | None = None,
    ) -> list[EditRecord]:
        """Message edits in ``channel`` (oldest first): by default the bot's, through any route.

        ``author`` picks another editor, ``everyone=True`` all editors; ``via`` filters the route:
        ``"channel"`` (PATCH /channels/{c}/messages/{m}), ``"interaction"`` (update/webhook edits),
        ``"member"`` (test members' edits).
        """
        author_id = self._user(author).id if author else self.bot_user.id
        kinds = set(via) if via is not None else None
        return [
            e
            for e in self.world.edit_log.get(channel.id, [])
            if (everyone or e.author_id == author_id) and (kinds is None or e.via in kinds)
        ]

    def max_edits_in_window(
        self,
        channel: Channel,
        window: float = 5.0,
        *,
        author: Actor | None = None,
        everyone: bool = False,
        via: Iterable[str] | None = None,
    ) -> int:
        """The largest number of edits (filtered as in :meth:`edits`) in ``channel`` within any
        ``window`` seconds, e.g. ``assert fake.max_edits_in_window(ch, 5.0) <= 5``."""
        times = sorted(
            e.time for e in self.edits(channel, author=author, everyone=everyone, via=via)
        )
        best, start = 0, 0
        for end, t in enumerate(times):
            while t - times[start] >= window:
                start += 1
            best = max(best, end - start + 1)
        return best

    # -- interaction deadline ---------------------------------------------------------------
    @property
    def enforce_interaction_deadline(self) -> bool:
        """If True, an initial callback later than :attr:`interaction_deadline` gets 404 / 10062."""
        return self.interactions.enforce_deadline

    @enforce_interaction_deadline.setter
    def enforce_interaction_deadline(self, value: bool) -> None:
        self.interactions.enforce_deadline = value

    @property
    def interaction_deadline(self) -> float:
        """Seconds the bot has for the initial callback (Discord: 3)."""
        return self.interactions.deadline

    @interaction_deadline.setter
    def interaction_deadline(self, seconds: float) -> None:
        self.interactions.deadline = seconds

    @property
    def interaction_handles(self) -> list[InteractionHandle]:
        """Every interaction sent so far, oldest first."""
        return list(self.interactions.handles.values())

    def ack_latencies(self) -> dict[int, float | None]:
        """``{interaction id: seconds to the accepted initial callback (None: not acknowledged)}``."""
        return {h.id: h.ack_latency for h in self.interactions.handles.values()}

    def messages(self, channel: Channel, *, include_ephemeral: bool = False) -> list[Message]:
        """Messages in a channel or thread, oldest first."""
        return [
            m for m in self.world.channel_messages(channel) if include_ephemeral or not m.ephemeral
        ]

    def bot_messages(self, channel: Channel) -> list[Message]:
        """Messages the bot posted in ``channel``."""
        return [m for m in self.messages(channel) if m.author_id == self.bot_user.id]

    def dm_channel(self, actor: Actor) -> Channel:
        """The DM channel between the bot and ``actor``."""
        return self.world.dm_channel(self._user(actor))

    def dms(self, actor: Actor) -> list[Message]:
        """Messages in the bot <-> ``actor`` DM."""
        return self.messages(self.dm_channel(actor))

    def member_roles(self, member: Member) -> list[Role]:
        """The member's current roles (without @everyone)."""
        guild = self.world.guilds[member.guild_id]
        return [guild.roles[r] for r in member.role_ids if r in guild.roles]

    def scheduled_events(self, guild: Guild) -> list[ScheduledEvent]:
        """Scheduled events of ``guild``."""
        return list(guild.events.values())

    def threads(self, parent: Channel) -> list[Channel]:
        """Threads (and forum posts) under ``parent``."""
        return [c for c in self.world.channels.values() if c.is_thread and c.parent_id == parent.id]

    def reactions(self, message: Message) -> dict[str, list[int]]:
        """``{emoji_key: [user ids]}`` for a message (custom emojis as ``name:id``)."""
        return {k: list(v) for k, v in self._message(None, message).reactions.items()}

    def commands(self, guild: Guild | None = None) -> list[JSON]:
        """The command schema the bot synced (global, or for ``guild``)."""
        return self.world.commands.get(guild.id if guild else None, [])

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every REST request received, in order."""
        return self.rest.requests

    def requests_matching(self, method: str, path: str) -> list[RecordedRequest]:
        """Recorded requests with ``method`` (or ``*``) whose path fully matches the regex ``path``."""
        pattern = re.compile(path)
        return [
            r for r in self.rest.requests if method in ("*", r.method) and pattern.fullmatch(r.path)
        ]

    def mark(self) -> int:
        """A bookmark in the request log, for :meth:`requests_since` / :meth:`count_requests`."""
        return len(self.rest.requests)

    def requests_since(self, mark: int = 0) -> list[RecordedRequest]:
        """REST requests received after ``mark`` (see :meth:`mark`); unlike :attr:`requests` without
        gateway websocket upgrades and attachment downloads."""
        return [r for r in self.rest.requests[mark:] if r.is_rest]

    def count_requests(self, method: str = "*", route: str = "*", *, since: int = 0) -> int:
        """How many REST requests since ``since`` had ``method`` (or ``*``) and ``route``: a route
        template (``/channels/{channel_id}/messages``; placeholder names don't matter), a concrete
        path (``/channels/123/messages``) or ``*``.  Faulted (e.g. 429) attempts count too."""
        key = _template_key(route)
        return sum(
            1
            for r in self.requests_since(since)
            if method in ("*", r.method)
            and (route == "*" or _template_key(r.template) == key or r.path == route)
        )

    def request_counts(self, since: int = 0) -> Counter[tuple[str, str]]:
        """``Counter({(method, route template): n})`` of REST requests since ``since``."""
        return Counter((r.method, r.template) for r in self.requests_since(since))

    @property
    def rest_latency(self) -> float:
        """Seconds the server waits before answering each REST request (default 0)."""
        return self.rest.latency

    @rest_latency.setter
    def rest_latency(self, seconds: float) -> None:
        self.rest.latency = seconds

    @property
    def unknown_routes(self) -> list[str]:
        """``"METHOD /path"`` of requests the emulator does not implement."""
        return self.rest.unknown_routes

    # -- faults and connection control ------------------------------------------------------
    def inject_fault(
        self,
        method: str,
        path: str,
        status: int = 429,
        *,
        times: int = 1,
        retry_after: float = 0.05,
        body: JSON | None = None,
        is_global: bool = False,
    ) -> Fault:
        """Answer the next ``times`` requests matching ``method`` and path regex ``path`` with ``status``.

        429s carry ``Via`` + ``retry_after`` (discord.py sleeps and retries); note discord.py waits
        1 s + 2 s per try before retrying a 500/502/504.
        """
        fault = Fault(method, re.compile(path), status, times, retry_after, body, is_global)
        self.rest.faults.append(fault)
        return fault

    async def drop_connection(self, code: int = 4000, *, abrupt: bool = False) -> None:
        """Close the bot's gateway socket (resumable code); the client should RESUME and get missed events."""
        await self.gateway.drop_connections(code, abrupt)

    async def disconnect_bot(self, code: int = 4000) -> None:
        """Kick the bot and forget its session: the next connection must IDENTIFY (READY + fresh GUILD_CREATEs)."""
        await self.gateway.invalidate_sessions(code)

    # -- waiting ----------------------------------------------------------------------------
    async def wait_until(
        self, check: Callable[[], Any], timeout: float = 2.0, what: str = "condition"
    ) -> Any:
        """Poll ``check`` until truthy (returns its value) or raise ``TimeoutError``."""
        return await wait_until(check, timeout, what)

    async def wait_for_connection(self, timeout: float = 5.0) -> None:
        """Wait until the bot has a live, identified gateway connection."""
        await wait_until(
            lambda: self.gateway.connected, timeout, "the bot to connect to the gateway"
        )

    async def wait_for_message(
        self,
        channel: Channel,
        *,
        after: MessageRef | None = None,
        check: Callable[[Message], bool] | None = None,
        author: Actor | None = None,
        include_ephemeral: bool = False,
        timeout: float = 2.0,
    ) -> Message:
        """First message in ``channel`` newer than ``after`` (default: bot-authored) matching ``check``.

        Ephemeral interaction replies are skipped unless ``include_ephemeral`` (use the handle for those).
        """
        after_id = after.id if isinstance(after, Message) else int(after or 0)
        author_id = self._user(author).id if author else self.bot_user.id

        def find() -> Message | None:
            return next(
                (
                    m
                    for m in self.messages(channel, include_ephemeral=include_ephemeral)
                    if m.id > after_id and m.author_id == author_id and (check is None or check(m))
                ),
                None,
            )

        return await wait_until(
            find,
            timeout,
            lambda: (
                f"a message in #{channel.name or channel.id} "
                f"(have: {[m.content[:40] for m in self.messages(channel)]})"
            ),
        )

    async def wait_for_request(
        self, method: str, path: str, *, count: int = 1, timeout: float = 2.0
    ) -> RecordedRequest:
        """Wait until ``count`` requests matched ``method`` + path regex; returns the last."""
        return await wait_until(
            lambda: (self.requests_matching(method, path)[count - 1 :] or [None])[-1],
            timeout,
            f"{count}x {method} {path}",
        )


__all__ = ["ChannelType", "FakeDiscord"]
