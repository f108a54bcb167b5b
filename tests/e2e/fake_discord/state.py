"""In-memory world of the fake Discord server: data model, permissions, payloads.

Everything here is plain Python; the REST and gateway layers translate HTTP and
websocket traffic into calls on :class:`World`.  Mutating operations on the
world emit gateway events through :attr:`World.listeners`, so a change made by
the bot over REST and a change made by the test (acting as a member) both
reach the bot the same way they would on Discord.
"""

from __future__ import annotations

import datetime as dt
import enum
import itertools
import logging
import mimetypes
import re
import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from .components import IS_COMPONENTS_V2, find_component, text_displays, walk_components
from .errors import DiscordError as DiscordError
from .errors import invalid_form as invalid_form
from .errors import missing_permissions as missing_permissions
from .errors import unknown
from .polls import POLL_RESULT_TYPE, poll_expiry, poll_payload, result_embed

log = logging.getLogger(__name__)

DISCORD_EPOCH_MS = 1420070400000
JSON = dict[str, Any]
Listener = Callable[[str, JSON], None]


class Perm(enum.IntFlag):
    """Discord permission bits used by the emulator (subset)."""

    CREATE_INSTANT_INVITE = 1 << 0
    KICK_MEMBERS = 1 << 1
    BAN_MEMBERS = 1 << 2
    ADMINISTRATOR = 1 << 3
    MANAGE_CHANNELS = 1 << 4
    MANAGE_GUILD = 1 << 5
    ADD_REACTIONS = 1 << 6
    VIEW_AUDIT_LOG = 1 << 7
    PRIORITY_SPEAKER = 1 << 8
    STREAM = 1 << 9
    VIEW_CHANNEL = 1 << 10
    SEND_MESSAGES = 1 << 11
    SEND_TTS_MESSAGES = 1 << 12
    MANAGE_MESSAGES = 1 << 13
    EMBED_LINKS = 1 << 14
    ATTACH_FILES = 1 << 15
    READ_MESSAGE_HISTORY = 1 << 16
    MENTION_EVERYONE = 1 << 17
    USE_EXTERNAL_EMOJIS = 1 << 18
    VIEW_GUILD_INSIGHTS = 1 << 19
    CONNECT = 1 << 20
    SPEAK = 1 << 21
    MUTE_MEMBERS = 1 << 22
    DEAFEN_MEMBERS = 1 << 23
    MOVE_MEMBERS = 1 << 24
    USE_VAD = 1 << 25
    CHANGE_NICKNAME = 1 << 26
    MANAGE_NICKNAMES = 1 << 27
    MANAGE_ROLES = 1 << 28
    MANAGE_WEBHOOKS = 1 << 29
    MANAGE_GUILD_EXPRESSIONS = 1 << 30
    USE_APPLICATION_COMMANDS = 1 << 31
    REQUEST_TO_SPEAK = 1 << 32
    MANAGE_EVENTS = 1 << 33
    MANAGE_THREADS = 1 << 34
    CREATE_PUBLIC_THREADS = 1 << 35
    CREATE_PRIVATE_THREADS = 1 << 36
    USE_EXTERNAL_STICKERS = 1 << 37
    SEND_MESSAGES_IN_THREADS = 1 << 38
    USE_EMBEDDED_ACTIVITIES = 1 << 39
    MODERATE_MEMBERS = 1 << 40
    CREATE_EVENTS = 1 << 44
    SEND_POLLS = 1 << 49


ALL_PERMISSIONS = (1 << 51) - 1
DEFAULT_EVERYONE_PERMISSIONS = int(
    Perm.VIEW_CHANNEL
    | Perm.SEND_MESSAGES
    | Perm.READ_MESSAGE_HISTORY
    | Perm.ADD_REACTIONS
    | Perm.EMBED_LINKS
    | Perm.ATTACH_FILES
    | Perm.USE_APPLICATION_COMMANDS
    | Perm.SEND_MESSAGES_IN_THREADS
    | Perm.CREATE_PUBLIC_THREADS
    | Perm.CONNECT
    | Perm.SPEAK
    | Perm.CHANGE_NICKNAME
    | Perm.USE_EXTERNAL_EMOJIS
    | Perm.CREATE_INSTANT_INVITE
    | Perm.SEND_POLLS
)
DEFAULT_BOT_PERMISSIONS = DEFAULT_EVERYONE_PERMISSIONS | int(
    Perm.MANAGE_ROLES
    | Perm.MANAGE_EVENTS
    | Perm.MANAGE_MESSAGES
    | Perm.MANAGE_THREADS
    | Perm.CREATE_PRIVATE_THREADS
)


class ChannelType(enum.IntEnum):
    """Discord channel types the emulator knows."""

    TEXT = 0
    DM = 1
    VOICE = 2
    CATEGORY = 4
    NEWS = 5
    NEWS_THREAD = 10
    PUBLIC_THREAD = 11
    PRIVATE_THREAD = 12
    STAGE_VOICE = 13
    FORUM = 15

    @property
    def is_voice(self) -> bool:
        """Whether members can join this channel's voice (voice and stage channels)."""
        return self in (ChannelType.VOICE, ChannelType.STAGE_VOICE)

    @property
    def is_thread(self) -> bool:
        """Whether this type is one of the thread types."""
        return self in (
            ChannelType.NEWS_THREAD,
            ChannelType.PUBLIC_THREAD,
            ChannelType.PRIVATE_THREAD,
        )


CHANNEL_TYPE_NAMES = {
    "text": ChannelType.TEXT,
    "voice": ChannelType.VOICE,
    "stage": ChannelType.STAGE_VOICE,
    "category": ChannelType.CATEGORY,
    "news": ChannelType.NEWS,
    "forum": ChannelType.FORUM,
}

EPHEMERAL = 1 << 6
LOADING = 1 << 7
HAS_THREAD = 1 << 5
DEFAULT_UPLOAD_LIMIT = 10 * 1024 * 1024  # bytes per file, Discord's default (no boosts)


def iso(ts: dt.datetime | None = None) -> str:
    """ISO-8601 timestamp as Discord formats it."""
    return (ts or dt.datetime.now(dt.UTC)).isoformat()


class Snowflakes:
    """Generates realistic, strictly increasing, time-based snowflake ids."""

    def __init__(self) -> None:
        self._last = 0

    def next(self) -> int:
        """Return a new snowflake for the current time."""
        value = (int(time.time() * 1000) - DISCORD_EPOCH_MS) << 22 | (1 << 17) | (1 << 12)
        self._last = max(value, self._last + 1)
        return self._last

    def next_on_shard(self, shard_id: int, shard_count: int) -> int:
        """A new snowflake with ``(id >> 22) % shard_count == shard_id`` (a guild id for that shard).

        The timestamp part is moved up to at most ``shard_count - 1`` ms into the future, so later
        ids stay increasing.
        """
        if not 0 <= shard_id < shard_count:
            raise ValueError(f"shard_id {shard_id} is not in range(0, {shard_count})")
        value = self.next()
        ms = value >> 22
        target = ms + (shard_id - ms) % shard_count
        if target != ms:
            value = target << 22 | (1 << 17) | (1 << 12)
        self._last = max(self._last, value)
        return value


def shard_of(guild_id: int, shard_count: int) -> int:
    """The shard that receives a guild's events: ``(guild_id >> 22) % shard_count``."""
    return (guild_id >> 22) % shard_count if shard_count > 0 else 0


@dataclass
class User:
    """A Discord user (members, the bot)."""

    id: int
    name: str
    bot: bool = False
    dms_closed: bool = False
    global_name: str | None = None

    @property
    def mention(self) -> str:
        """``<@id>``."""
        return f"<@{self.id}>"


@dataclass(eq=False)
class Role:
    """A guild role."""

    id: int
    guild_id: int
    name: str
    permissions: int = 0
    position: int = 0
    managed: bool = False
    mentionable: bool = False
    color: int = 0
    bot_id: int | None = None

    @property
    def mention(self) -> str:
        """``<@&id>``."""
        return f"<@&{self.id}>"


@dataclass
class Emoji:
    """A custom guild emoji."""

    id: int
    name: str
    animated: bool = False

    def __str__(self) -> str:
        return f"{self.name}:{self.id}"


@dataclass
class Channel:
    """Any channel: guild text/voice/forum/category, thread or DM."""

    id: int
    type: ChannelType
    name: str = ""
    guild_id: int | None = None
    parent_id: int | None = None
    position: int = 0
    topic: str | None = None
    overwrites: list[JSON] = field(default_factory=list)
    recipient_id: int | None = None
    owner_id: int | None = None
    archived: bool = False
    locked: bool = False
    auto_archive_duration: int = 1440
    available_tags: list[JSON] = field(default_factory=list)
    applied_tags: list[int] = field(default_factory=list)
    thread_members: set[int] = field(default_factory=set)
    last_message_id: int | None = None
    message_count: int = 0

    @property
    def is_thread(self) -> bool:
        """Whether this channel is a thread."""
        return self.type.is_thread

    @property
    def accepts_messages(self) -> bool:
        """Whether messages can be posted directly in this channel (not categories or forums)."""
        return self.type not in (ChannelType.CATEGORY, ChannelType.FORUM)

    @property
    def mention(self) -> str:
        """``<#id>``."""
        return f"<#{self.id}>"


@dataclass(eq=False)
class Member:
    """A user's membership in one guild."""

    user: User
    guild_id: int
    role_ids: list[int] = field(default_factory=list)
    nick: str | None = None
    joined_at: str = field(default_factory=iso)

    @property
    def id(self) -> int:
        """The user id."""
        return self.user.id

    @property
    def name(self) -> str:
        """The user name."""
        return self.user.name

    @property
    def mention(self) -> str:
        """``<@id>``."""
        return self.user.mention


@dataclass
class Message:
    """A stored message; ``reactions`` maps emoji key -> user ids in reaction order."""

    id: int
    channel_id: int
    guild_id: int | None
    author_id: int
    content: str = ""
    embeds: list[JSON] = field(default_factory=list)
    components: list[JSON] = field(default_factory=list)
    attachments: list[JSON] = field(default_factory=list)
    reactions: dict[str, list[int]] = field(default_factory=dict)
    message_reference: JSON | None = None
    allowed_mentions: JSON | None = None
    flags: int = 0
    type: int = 0
    tts: bool = False
    timestamp: str = field(default_factory=iso)
    edited_timestamp: str | None = None
    mention_everyone: bool = False
    mentions: list[int] = field(default_factory=list)
    mention_roles: list[int] = field(default_factory=list)
    interaction_metadata: JSON | None = None
    webhook_id: int | None = None
    application_id: int | None = None
    nonce: str | int | None = None
    thread_id: int | None = None
    poll: JSON | None = None
    # answer_id -> voter ids in vote order (polls only)
    poll_votes: dict[int, list[int]] = field(default_factory=dict)
    poll_finalized: bool = False
    # attachment id -> the stored upload (bytes, filename, content type, description)
    uploads: dict[int, Upload] = field(default_factory=dict, repr=False)

    @property
    def ephemeral(self) -> bool:
        """Whether the message has the EPHEMERAL flag (64)."""
        return bool(self.flags & EPHEMERAL)

    @property
    def is_components_v2(self) -> bool:
        """Whether the message has the IS_COMPONENTS_V2 flag (``1 << 15``)."""
        return bool(self.flags & IS_COMPONENTS_V2)

    def walk_components(self) -> list[JSON]:
        """Every component of the message, nested ones included (depth-first)."""
        return list(walk_components(self.components))

    def find_component(self, custom_id: str) -> JSON | None:
        """The component (button, select ...) with ``custom_id`` anywhere in the tree, or None."""
        return find_component(self.components, custom_id)

    @property
    def custom_ids(self) -> list[str]:
        """Every ``custom_id`` in the component tree, in order."""
        return [str(c["custom_id"]) for c in walk_components(self.components) if "custom_id" in c]

    @property
    def texts(self) -> list[str]:
        """Every piece of text a reader sees: content, embed title/description/fields/footer/author,
        text displays (Components V2), in display order; empty pieces left out."""
        out = [self.content]
        for embed in self.embeds:
            out += [(embed.get("author") or {}).get("name"), embed.get("title")]
            out.append(embed.get("description"))
            for fld in embed.get("fields") or []:
                out += [fld.get("name"), fld.get("value")]
            out.append((embed.get("footer") or {}).get("text"))
        out += text_displays(self.components)
        return [str(t) for t in out if t]

    @property
    def text(self) -> str:
        """:attr:`texts` joined with newlines (handy for ``"x" in message.text``)."""
        return "\n".join(self.texts)

    def attachment(self, filename: str) -> Upload:
        """The upload behind the current attachment called ``filename``."""
        for att in self.attachments:
            if att.get("filename") == filename and int(att["id"]) in self.uploads:
                return self.uploads[int(att["id"])]
        names = [a.get("filename") for a in self.attachments]
        raise LookupError(f"message {self.id} has no attachment {filename!r}; it has {names}")

    def attachment_bytes(self, filename: str) -> bytes:
        """The bytes of the current attachment called ``filename``."""
        return self.attachment(filename).data


@dataclass(frozen=True)
class EditRecord:
    """One message edit: when (``time.monotonic()``), which message, by whom, through what."""

    time: float
    message_id: int
    author_id: int
    via: str


@dataclass
class Upload:
    """A file uploaded to the fake (message attachment, interaction response, command option)."""

    id: int
    channel_id: int
    filename: str
    data: bytes = field(repr=False)
    content_type: str
    description: str | None = None
    url: str = ""

    @property
    def size(self) -> int:
        """Size in bytes."""
        return len(self.data)

    @property
    def text(self) -> str:
        """The bytes decoded as UTF-8 (handy for CSV/text exports)."""
        return self.data.decode("utf-8")


@dataclass
class VoiceState:
    """A member's voice connection (``channel_id`` None = not connected)."""

    user_id: int
    guild_id: int
    channel_id: int | None
    session_id: str = field(default_factory=lambda: secrets.token_hex(16))
    self_mute: bool = False
    self_deaf: bool = False
    mute: bool = False
    deaf: bool = False
    self_video: bool = False
    self_stream: bool = False
    suppress: bool = False
    request_to_speak_timestamp: str | None = None


@dataclass
class ScheduledEvent:
    """A guild scheduled event; ``data`` holds the Discord fields as last set."""

    id: int
    guild_id: int
    creator_id: int
    data: JSON

    def __getattr__(self, name: str) -> Any:
        try:
            return self.__dict__["data"][name]
        except KeyError:
            raise AttributeError(name) from None


@dataclass
class Guild:
    """A guild with its roles, channels, members, emojis and events (ids in insertion order)."""

    id: int
    name: str
    owner_id: int
    roles: dict[int, Role] = field(default_factory=dict)
    channels: list[int] = field(default_factory=list)
    members: dict[int, Member] = field(default_factory=dict)
    emojis: dict[int, Emoji] = field(default_factory=dict)
    events: dict[int, ScheduledEvent] = field(default_factory=dict)
    bot_role_id: int = 0
    upload_limit: int = DEFAULT_UPLOAD_LIMIT
    voice_states: dict[int, VoiceState] = field(default_factory=dict)

    @property
    def everyone_role(self) -> Role:
        """The @everyone role (id == guild id)."""
        return self.roles[self.id]


def _opt_id(value: int | None) -> str | None:
    return None if value is None else str(value)


def _mention_ids(pattern: str, content: str) -> list[int]:
    return list(dict.fromkeys(int(x) for x in re.findall(pattern, content)))


NONCE_WINDOW = 300.0  # seconds Discord remembers an enforced nonce ("a few minutes")


class World:
    """All server-side state plus the operations that change it and emit events."""

    def __init__(self, *, bot_name: str = "FakeBot") -> None:
        self.ids = Snowflakes()
        self.users: dict[int, User] = {}
        self.guilds: dict[int, Guild] = {}
        self.channels: dict[int, Channel] = {}
        self.messages: dict[int, Message] = {}
        self.listeners: list[Listener] = []
        self.bot_user = self.add_user(bot_name, bot=True)
        self.application_id = self.bot_user.id
        self.bot_token = f"fake.{self.bot_user.id}.{secrets.token_hex(8)}"
        self.app_owner = self.add_user("app-owner")
        self.attachment_data: dict[int, bytes] = {}
        self.uploads: dict[int, Upload] = {}
        self.commands: dict[int | None, list[JSON]] = {}
        self.base_url = ""
        # channel id -> every message edit in it, oldest first
        self.edit_log: dict[int, list[EditRecord]] = {}
        # added to the real time for poll expiry (see FakeDiscord.advance_clock)
        self.clock_offset = dt.timedelta()
        self.open_polls: set[int] = set()
        # (channel, author, nonce) -> (message id, time.monotonic() when made), for enforce_nonce
        self.nonces: dict[tuple[int, int, str], tuple[int, float]] = {}

    # -- events -----------------------------------------------------------------------------
    def emit(self, event: str, data: JSON) -> None:
        """Send a gateway dispatch ``event`` to every listener (gateway sessions, test waiters)."""
        log.debug("emit %s", event)
        for listener in list(self.listeners):
            listener(event, data)

    # -- lookups ----------------------------------------------------------------------------
    def user(self, user_id: int | str) -> User:
        """Look a user up or raise Discord's 10013."""
        try:
            return self.users[int(user_id)]
        except (KeyError, ValueError):
            raise unknown("User", 10013) from None

    def guild(self, guild_id: int | str) -> Guild:
        """Look a guild up or raise Discord's 10004."""
        try:
            return self.guilds[int(guild_id)]
        except (KeyError, ValueError):
            raise unknown("Guild", 10004) from None

    def channel(self, channel_id: int | str) -> Channel:
        """Look a channel up or raise Discord's 10003."""
        try:
            return self.channels[int(channel_id)]
        except (KeyError, ValueError):
            raise unknown("Channel", 10003) from None

    def now(self) -> dt.datetime:
        """The fake's clock: real UTC time plus :attr:`clock_offset` (drives poll expiry)."""
        return dt.datetime.now(dt.UTC) + self.clock_offset

    def message(self, channel_id: int | str, message_id: int | str) -> Message:
        """Look a message in a channel up or raise Discord's 10003 (no channel) / 10008."""
        self.channel(channel_id)
        msg = self.messages.get(int(message_id)) if str(message_id).isdigit() else None
        if msg is None or msg.channel_id != int(channel_id):
            raise unknown("Message", 10008)
        return msg

    def member(self, guild: Guild, user_id: int | str) -> Member:
        """Look a member up or raise Discord's 10007."""
        try:
            return guild.members[int(user_id)]
        except (KeyError, ValueError):
            raise unknown("Member", 10007) from None

    def bot_member(self, guild: Guild) -> Member:
        """The bot's own member in ``guild``."""
        return guild.members[self.bot_user.id]

    def channel_messages(self, channel: Channel) -> list[Message]:
        """Messages in ``channel``, oldest first."""
        return sorted(
            (m for m in self.messages.values() if m.channel_id == channel.id), key=lambda m: m.id
        )

    # -- world building ---------------------------------------------------------------------
    def add_user(self, name: str, *, bot: bool = False, dms_closed: bool = False) -> User:
        """Create a user that is not yet in any guild."""
        user = User(self.ids.next(), name, bot=bot, dms_closed=dms_closed, global_name=name)
        self.users[user.id] = user
        return user

    def add_guild(
        self,
        name: str,
        owner: User,
        bot_permissions: int,
        bot_role_position: int,
        *,
        guild_id: int | None = None,
    ) -> Guild:
        """Create a guild with @everyone, a managed bot role and the bot as member."""
        guild = Guild(guild_id or self.ids.next(), name, owner.id)
        guild.roles[guild.id] = Role(
            guild.id, guild.id, "@everyone", DEFAULT_EVERYONE_PERMISSIONS, 0
        )
        bot_role = Role(
            self.ids.next(),
            guild.id,
            self.bot_user.name,
            bot_permissions,
            bot_role_position,
            managed=True,
            bot_id=self.bot_user.id,
        )
        guild.roles[bot_role.id] = bot_role
        guild.bot_role_id = bot_role.id
        self.guilds[guild.id] = guild
        for user in (owner, self.bot_user):
            guild.members[user.id] = Member(
                user, guild.id, [bot_role.id] if user is self.bot_user else []
            )
        return guild

    def top_role_position(self, member: Member) -> int:
        """Position of the member's highest role (0 = only @everyone)."""
        guild = self.guilds[member.guild_id]
        return max(
            (guild.roles[r].position for r in member.role_ids if r in guild.roles), default=0
        )

    # -- permissions ------------------------------------------------------------------------
    def base_permissions(self, member: Member) -> int:
        """Guild-level permissions: owner/admin get everything, else the OR of all roles."""
        guild = self.guilds[member.guild_id]
        if member.id == guild.owner_id:
            return ALL_PERMISSIONS
        perms = guild.everyone_role.permissions
        for role_id in member.role_ids:
            if role_id in guild.roles:
                perms |= guild.roles[role_id].permissions
        return ALL_PERMISSIONS if perms & Perm.ADMINISTRATOR else perms

    def permissions_in(self, member: Member, channel: Channel | None) -> int:
        """Channel permissions following Discord's overwrite algorithm (threads use the parent)."""
        perms = self.base_permissions(member)
        if perms == ALL_PERMISSIONS or channel is None:
            return perms
        if channel.is_thread and channel.parent_id:
            channel = self.channels[channel.parent_id]
        by_id = {int(o["id"]): o for o in channel.overwrites}

        def apply(allow: int, deny: int) -> None:
            nonlocal perms
            perms = (perms & ~deny) | allow

        if everyone := by_id.get(member.guild_id):
            apply(int(everyone["allow"]), int(everyone["deny"]))
        role_ows = [by_id[r] for r in member.role_ids if r in by_id]
        apply(sum_bits(o["allow"] for o in role_ows), sum_bits(o["deny"] for o in role_ows))
        if own := by_id.get(member.id):
            apply(int(own["allow"]), int(own["deny"]))
        return perms if perms & Perm.VIEW_CHANNEL else 0

    def user_permissions_in(self, user: User, channel: Channel) -> int:
        """Permissions of ``user`` in ``channel``; everything in DMs."""
        if channel.guild_id is None:
            return ALL_PERMISSIONS
        member = self.guilds[channel.guild_id].members.get(user.id)
        return self.permissions_in(member, channel) if member else 0

    # -- payloads ---------------------------------------------------------------------------
    def user_payload(self, user: User) -> JSON:
        """Discord user object."""
        return {
            "id": str(user.id),
            "username": user.name,
            "global_name": None if user.bot else user.global_name,
            "discriminator": "0",
            "avatar": None,
            "bot": user.bot,
            "system": False,
            "public_flags": 0,
            "flags": 0,
        }

    def member_payload(
        self, member: Member, *, user: bool = True, channel: Channel | None = None
    ) -> JSON:
        """Discord guild member; ``channel`` adds the ``permissions`` string used in interactions."""
        data: JSON = {
            "roles": [str(r) for r in member.role_ids],
            "nick": member.nick,
            "avatar": None,
            "banner": None,
            "joined_at": member.joined_at,
            "premium_since": None,
            "deaf": False,
            "mute": False,
            "flags": 0,
            "pending": False,
            "communication_disabled_until": None,
        }
        if user:
            data["user"] = self.user_payload(member.user)
        if channel is not None:
            data["permissions"] = str(self.permissions_in(member, channel))
        return data

    def role_payload(self, role: Role) -> JSON:
        """Discord role object."""
        data: JSON = {
            "id": str(role.id),
            "name": role.name,
            "color": role.color,
            "hoist": False,
            "icon": None,
            "unicode_emoji": None,
            "position": role.position,
            "permissions": str(role.permissions),
            "managed": role.managed,
            "mentionable": role.mentionable,
            "flags": 0,
            "colors": {
                "primary_color": role.color,
                "secondary_color": None,
                "tertiary_color": None,
            },
        }
        if role.bot_id:
            data["tags"] = {"bot_id": str(role.bot_id)}
        return data

    def emoji_payload(self, emoji: Emoji) -> JSON:
        """Discord custom emoji object."""
        return {
            "id": str(emoji.id),
            "name": emoji.name,
            "animated": emoji.animated,
            "roles": [],
            "require_colons": True,
            "managed": False,
            "available": True,
        }

    def channel_payload(self, ch: Channel) -> JSON:
        """Discord channel object for any channel type."""
        data: JSON = {
            "id": str(ch.id),
            "type": int(ch.type),
            "flags": 0,
            "last_message_id": _opt_id(ch.last_message_id),
        }
        if ch.type == ChannelType.DM:
            data["recipients"] = [self.user_payload(self.users[ch.recipient_id or 0])]
            return data
        data.update(
            guild_id=str(ch.guild_id),
            name=ch.name,
            parent_id=_opt_id(ch.parent_id),
            nsfw=False,
            rate_limit_per_user=0,
        )
        if ch.is_thread:
            data.update(
                owner_id=_opt_id(ch.owner_id),
                message_count=ch.message_count,
                total_message_sent=ch.message_count,
                member_count=len(ch.thread_members),
                applied_tags=[str(t) for t in ch.applied_tags],
                thread_metadata={
                    "archived": ch.archived,
                    "locked": ch.locked,
                    "archive_timestamp": iso(),
                    "auto_archive_duration": ch.auto_archive_duration,
                    "invitable": True,
                    "create_timestamp": iso(),
                },
            )
            if self.bot_user.id in ch.thread_members:
                data["member"] = {
                    "id": str(ch.id),
                    "user_id": str(self.bot_user.id),
                    "join_timestamp": iso(),
                    "flags": 0,
                }
            return data
        data.update(
            position=ch.position,
            permission_overwrites=ch.overwrites,
            topic=ch.topic,
            default_auto_archive_duration=1440,
        )
        if ch.type.is_voice:
            data.update(bitrate=64000, user_limit=0, rtc_region=None, video_quality_mode=1)
        if ch.type == ChannelType.FORUM:
            data.update(
                available_tags=ch.available_tags,
                default_reaction_emoji=None,
                default_sort_order=None,
                default_forum_layout=0,
                default_thread_rate_limit_per_user=0,
            )
        return data

    def event_payload(self, event: ScheduledEvent) -> JSON:
        """Discord guild scheduled event object."""
        return {
            "id": str(event.id),
            "guild_id": str(event.guild_id),
            "creator_id": str(event.creator_id),
            "creator": self.user_payload(self.users[event.creator_id]),
            **event.data,
        }

    def voice_state_payload(self, state: VoiceState, *, guild_id: bool = True) -> JSON:
        """Discord voice state object (GUILD_CREATE leaves out ``guild_id`` and ``member``)."""
        data: JSON = {
            "channel_id": _opt_id(state.channel_id),
            "user_id": str(state.user_id),
            "session_id": state.session_id,
            "deaf": state.deaf,
            "mute": state.mute,
            "self_deaf": state.self_deaf,
            "self_mute": state.self_mute,
            "self_video": state.self_video,
            "self_stream": state.self_stream,
            "suppress": state.suppress,
            "request_to_speak_timestamp": state.request_to_speak_timestamp,
        }
        if guild_id:
            data["guild_id"] = str(state.guild_id)
            member = self.guilds[state.guild_id].members.get(state.user_id)
            if member is not None:
                data["member"] = self.member_payload(member)
        return data

    def guild_payload(
        self, guild: Guild, *, full: bool = False, members: bool = True, voice: bool = True
    ) -> JSON:
        """Discord guild object; ``full`` adds the GUILD_CREATE extras (channels, threads, members...).

        Without the members intent (``members=False``) only the bot and members in voice are listed,
        like Discord; ``voice=False`` (no GUILD_VOICE_STATES intent) leaves ``voice_states`` empty.
        """
        data: JSON = {
            "id": str(guild.id),
            "name": guild.name,
            "icon": None,
            "splash": None,
            "discovery_splash": None,
            "banner": None,
            "description": None,
            "owner_id": str(guild.owner_id),
            "afk_channel_id": None,
            "afk_timeout": 300,
            "verification_level": 0,
            "default_message_notifications": 0,
            "explicit_content_filter": 0,
            "mfa_level": 0,
            "nsfw_level": 0,
            "premium_tier": 0,
            "premium_subscription_count": 0,
            "preferred_locale": "en-US",
            "features": [],
            "roles": [self.role_payload(r) for r in guild.roles.values()],
            "emojis": [self.emoji_payload(e) for e in guild.emojis.values()],
            "stickers": [],
            "system_channel_id": None,
            "system_channel_flags": 0,
            "rules_channel_id": None,
            "public_updates_channel_id": None,
            "safety_alerts_channel_id": None,
            "vanity_url_code": None,
            "application_id": None,
            "max_members": 500000,
            "premium_progress_bar_enabled": False,
        }
        if full:
            chans = [self.channels[c] for c in guild.channels]
            states = [s for s in guild.voice_states.values() if s.channel_id] if voice else []
            in_voice = {s.user_id for s in states}
            shown = [
                m
                for m in guild.members.values()
                if members or m.id == self.bot_user.id or m.id in in_voice
            ]
            data.update(
                joined_at=self.bot_member(guild).joined_at,
                large=False,
                unavailable=False,
                member_count=len(guild.members),
                voice_states=[self.voice_state_payload(s, guild_id=False) for s in states],
                presences=[],
                stage_instances=[],
                soundboard_sounds=[],
                members=[self.member_payload(m) for m in shown],
                channels=[self.channel_payload(c) for c in chans if not c.is_thread],
                threads=[self.channel_payload(c) for c in chans if c.is_thread and not c.archived],
                guild_scheduled_events=[self.event_payload(e) for e in guild.events.values()],
            )
        return data

    def emoji_key_payload(self, key: str) -> JSON:
        """Partial emoji for a reaction key (``"👍"`` or ``"name:id"``)."""
        name, _, emoji_id = key.partition(":")
        if not emoji_id:
            return {"id": None, "name": key}
        animated = any(
            int(emoji_id) in g.emojis and g.emojis[int(emoji_id)].animated
            for g in self.guilds.values()
        )
        return {"id": emoji_id, "name": name, "animated": animated}

    def message_payload(self, msg: Message) -> JSON:
        """Discord message object (with ``member`` and ``referenced_message`` where Discord sends them)."""
        author = self.users[msg.author_id]
        channel = self.channels[msg.channel_id]
        data: JSON = {
            "id": str(msg.id),
            "channel_id": str(msg.channel_id),
            "author": self.user_payload(author),
            "content": msg.content,
            "timestamp": msg.timestamp,
            "edited_timestamp": msg.edited_timestamp,
            "tts": msg.tts,
            "mention_everyone": msg.mention_everyone,
            "mentions": [self.user_payload(self.users[u]) for u in msg.mentions if u in self.users],
            "mention_roles": [str(r) for r in msg.mention_roles],
            "attachments": msg.attachments,
            "embeds": msg.embeds,
            "components": msg.components,
            "pinned": False,
            "type": msg.type,
            "flags": msg.flags,
            "position": 0,
            "reactions": [
                {
                    "emoji": self.emoji_key_payload(k),
                    "count": len(us),
                    "me": self.bot_user.id in us,
                    "me_burst": False,
                    "burst_colors": [],
                    "count_details": {"burst": 0, "normal": len(us)},
                }
                for k, us in msg.reactions.items()
                if us
            ],
        }
        if msg.guild_id is not None:
            data["guild_id"] = str(msg.guild_id)
            if author.id in self.guilds[msg.guild_id].members and msg.webhook_id is None:
                data["member"] = self.member_payload(
                    self.guilds[msg.guild_id].members[author.id], user=False
                )
        for key in ("webhook_id", "application_id"):
            if getattr(msg, key) is not None:
                data[key] = str(getattr(msg, key))
        if msg.nonce is not None:
            data["nonce"] = msg.nonce
        if msg.interaction_metadata is not None:
            data["interaction_metadata"] = msg.interaction_metadata
        if msg.poll is not None:
            data["poll"] = poll_payload(msg, self.bot_user.id)
        if msg.message_reference is not None:
            data["message_reference"] = msg.message_reference
            ref = self.messages.get(int(msg.message_reference.get("message_id") or 0))
            data["referenced_message"] = (
                self.message_payload(ref) if ref and ref.id != msg.id else None
            )
        if msg.thread_id and msg.thread_id in self.channels and channel.type != ChannelType.FORUM:
            data["thread"] = self.channel_payload(self.channels[msg.thread_id])
        return data

    # -- operations (mutate + emit) -----------------------------------------------------------
    def compute_mentions(self, msg: Message, author: User) -> None:
        """Fill ``mentions``/``mention_roles``/``mention_everyone`` honouring ``allowed_mentions`` like Discord."""
        am = msg.allowed_mentions
        parse = set(am.get("parse", [])) if am is not None else {"users", "roles", "everyone"}
        allowed_users = {int(u) for u in (am or {}).get("users", [])}
        allowed_roles = {int(r) for r in (am or {}).get("roles", [])}
        can_everyone = bool(
            self.user_permissions_in(author, self.channels[msg.channel_id]) & Perm.MENTION_EVERYONE
        )
        text = "\n".join([msg.content, *text_displays(msg.components)])  # V2 text pings too
        msg.mention_everyone = (
            ("@everyone" in text or "@here" in text) and "everyone" in parse and can_everyone
        )
        msg.mentions = [
            u
            for u in _mention_ids(r"<@!?(\d+)>", text)
            if u in self.users and ("users" in parse or u in allowed_users)
        ]
        guild = self.guilds.get(msg.guild_id or 0)
        msg.mention_roles = [
            r
            for r in _mention_ids(r"<@&(\d+)>", text)
            if guild
            and r in guild.roles
            and ("roles" in parse or r in allowed_roles)
            and (guild.roles[r].mentionable or can_everyone)
        ]
        ref = self.messages.get(int((msg.message_reference or {}).get("message_id") or 0))
        if (
            ref
            and (am is None or am.get("replied_user", False))
            and ref.author_id not in msg.mentions
        ):
            msg.mentions.append(ref.author_id)

    def create_message(self, channel: Channel, author: User, **fields: Any) -> Message:
        """Store a new message and emit MESSAGE_CREATE (not for ephemeral ones)."""
        msg = Message(
            id=fields.pop("id", None) or self.ids.next(),
            channel_id=channel.id,
            guild_id=channel.guild_id,
            author_id=author.id,
            **fields,
        )
        if msg.message_reference and msg.type == 0:
            msg.type = 19
        self.compute_mentions(msg, author)
        self._bind_uploads(msg)
        self.messages[msg.id] = msg
        if msg.poll is not None:
            self.open_polls.add(msg.id)
        if msg.nonce is not None:
            self.nonces[(channel.id, author.id, str(msg.nonce))] = (msg.id, time.monotonic())
        if not msg.ephemeral:
            channel.last_message_id = msg.id
            channel.message_count += 1 if channel.is_thread else 0
            if (
                channel.is_thread
                and channel.parent_id
                and self.channels[channel.parent_id].type == ChannelType.FORUM
            ):
                self.channels[channel.parent_id].last_message_id = channel.id
            self.emit("MESSAGE_CREATE", self.message_payload(msg))
        return msg

    def message_by_nonce(self, channel: Channel, author: User, nonce: str | int) -> Message | None:
        """The message ``author`` made with ``nonce`` in ``channel`` within NONCE_WINDOW
        seconds (Discord's ``enforce_nonce``: a re-send returns it instead of a new one)."""
        found = self.nonces.get((channel.id, author.id, str(nonce)))
        if found is None or time.monotonic() - found[1] > NONCE_WINDOW:
            return None
        return self.messages.get(found[0])

    def edit_message(
        self, msg: Message, author: User, fields: JSON, *, via: str = "channel"
    ) -> Message:
        """Apply an edit and emit MESSAGE_UPDATE (full message, as Discord does).

        ``via`` is logged in :attr:`edit_log`: ``"channel"`` (PATCH /channels/{c}/messages/{m}),
        ``"interaction"`` (callback 7, webhook edits) or ``"member"`` (a test member's edit).
        """
        for key in ("content", "embeds", "components", "attachments", "allowed_mentions", "flags"):
            if key in fields and fields[key] is not None:
                setattr(msg, key, fields[key])
        if "content" in fields and fields["content"] is None:
            msg.content = ""
        msg.edited_timestamp = iso()
        self.compute_mentions(msg, author)
        self._bind_uploads(msg)
        self.edit_log.setdefault(msg.channel_id, []).append(
            EditRecord(time.monotonic(), msg.id, author.id, via)
        )
        if not msg.ephemeral:
            self.emit("MESSAGE_UPDATE", self.message_payload(msg))
        return msg

    def _bind_uploads(self, msg: Message) -> None:
        msg.uploads = {
            int(a["id"]): self.uploads[int(a["id"])]
            for a in msg.attachments
            if int(a["id"]) in self.uploads
        }

    def delete_message(self, msg: Message) -> None:
        """Remove a message and emit MESSAGE_DELETE."""
        self.messages.pop(msg.id, None)
        self.open_polls.discard(msg.id)
        if not msg.ephemeral:
            data: JSON = {"id": str(msg.id), "channel_id": str(msg.channel_id)}
            if msg.guild_id:
                data["guild_id"] = str(msg.guild_id)
            self.emit("MESSAGE_DELETE", data)

    def bulk_delete(self, channel: Channel, messages: list[Message]) -> None:
        """Remove several messages of one channel and emit one MESSAGE_DELETE_BULK."""
        for msg in messages:
            self.messages.pop(msg.id, None)
            self.open_polls.discard(msg.id)
        data: JSON = {
            "ids": [str(m.id) for m in messages if not m.ephemeral],
            "channel_id": str(channel.id),
        }
        if channel.guild_id:
            data["guild_id"] = str(channel.guild_id)
        self.emit("MESSAGE_DELETE_BULK", data)

    def delete_channel(self, channel: Channel) -> JSON:
        """Remove a channel (its messages, its threads and their messages, the voice states in it,
        its scheduled events) and emit CHANNEL_DELETE (THREAD_DELETE for a thread).  Children of a
        deleted category become uncategorised (CHANNEL_UPDATE).  Returns the deleted channel."""
        payload = self.channel_payload(channel)
        doomed = [channel] + [
            c for c in self.channels.values() if c.is_thread and c.parent_id == channel.id
        ]
        for gone in doomed:
            self.channels.pop(gone.id, None)
            for msg in self.channel_messages(gone):
                del self.messages[msg.id]
                self.open_polls.discard(msg.id)
            if gone.guild_id and gone.id in self.guilds[gone.guild_id].channels:
                self.guilds[gone.guild_id].channels.remove(gone.id)
        guild = self.guilds.get(channel.guild_id or 0)
        if guild is not None:
            for state in list(guild.voice_states.values()):
                if state.channel_id == channel.id:
                    del guild.voice_states[state.user_id]
            for event in list(guild.events.values()):
                if str(event.data.get("channel_id")) == str(channel.id):
                    del guild.events[event.id]
        self.emit("THREAD_DELETE" if channel.is_thread else "CHANNEL_DELETE", payload)
        if channel.type == ChannelType.CATEGORY:
            for child in self.channels.values():
                if child.parent_id == channel.id and not child.is_thread:
                    child.parent_id = None
                    self.update_channel(child)
        return payload

    # -- voice ------------------------------------------------------------------------------------
    def set_voice_state(self, member: Member, channel: Channel | None, **flags: Any) -> VoiceState:
        """Connect ``member`` to ``channel`` (None = disconnect) and/or change mute/deaf flags;
        emits VOICE_STATE_UPDATE."""
        guild = self.guilds[member.guild_id]
        if channel is not None and (channel.guild_id != guild.id or not channel.type.is_voice):
            raise ValueError(f"#{channel.name} is not a voice or stage channel of {guild.name}")
        state = guild.voice_states.get(member.id)
        if state is None:
            if channel is None:
                raise ValueError(f"{member.name} is not in a voice channel")
            state = VoiceState(member.id, guild.id, channel.id)
        if channel is not None:
            state.channel_id = channel.id
            if channel.type == ChannelType.STAGE_VOICE and "suppress" not in flags:
                state.suppress = True  # stage audience until invited to speak
        else:
            state.channel_id = None
        for key, value in flags.items():
            if not hasattr(state, key) or key in ("user_id", "guild_id", "channel_id"):
                raise TypeError(f"unknown voice state field {key!r}")
            setattr(state, key, value)
        if state.channel_id is None:
            guild.voice_states.pop(member.id, None)
        else:
            guild.voice_states[member.id] = state
        self.emit("VOICE_STATE_UPDATE", self.voice_state_payload(state))
        return state

    # -- polls ------------------------------------------------------------------------------------
    def poll_message(self, msg: Message) -> Message:
        """``msg`` if it is a stored poll message (else ValueError)."""
        if msg.poll is None:
            raise ValueError(f"message {msg.id} has no poll")
        return msg

    def poll_is_open(self, msg: Message) -> bool:
        """Whether the poll still takes votes (not expired on the fake's clock, not ended)."""
        self.expire_due_polls()
        return msg.id in self.open_polls

    def poll_vote(self, msg: Message, user: User, answer_id: int, *, add: bool) -> bool:
        """Add or remove ``user``'s vote; emits MESSAGE_POLL_VOTE_ADD/REMOVE when it changed."""
        voters = msg.poll_votes.setdefault(answer_id, [])
        if (user.id in voters) == add:
            return False
        if add:
            voters.append(user.id)
        else:
            voters.remove(user.id)
        data: JSON = {
            "user_id": str(user.id),
            "channel_id": str(msg.channel_id),
            "message_id": str(msg.id),
            "answer_id": answer_id,
        }
        if msg.guild_id:
            data["guild_id"] = str(msg.guild_id)
        self.emit("MESSAGE_POLL_VOTE_ADD" if add else "MESSAGE_POLL_VOTE_REMOVE", data)
        return True

    def end_poll(self, msg: Message) -> Message:
        """End the poll now: expiry = now, results finalised, MESSAGE_UPDATE, then Discord's
        poll-result message (type 46, replying to the poll, mentioning its author).  Returns it."""
        assert msg.poll is not None
        self.open_polls.discard(msg.id)
        now = self.now()
        if poll_expiry(msg) > now:
            msg.poll["expiry"] = now.isoformat()
        msg.poll_finalized = True
        self.emit("MESSAGE_UPDATE", self.message_payload(msg))
        channel = self.channels[msg.channel_id]
        ref: JSON = {"type": 0, "message_id": str(msg.id), "channel_id": str(msg.channel_id)}
        if msg.guild_id:
            ref["guild_id"] = str(msg.guild_id)
        return self.create_message(
            channel,
            self.users[msg.author_id],
            type=POLL_RESULT_TYPE,
            embeds=[result_embed(msg)],
            message_reference=ref,
        )

    def expire_due_polls(self) -> list[Message]:
        """End every open poll whose expiry passed on the fake's clock; returns the result messages."""
        now = self.now()
        due = [
            self.messages[m]
            for m in sorted(self.open_polls)
            if m in self.messages and poll_expiry(self.messages[m]) <= now
        ]
        return [self.end_poll(m) for m in due]

    def reaction_event(self, msg: Message, user: User, key: str) -> JSON:
        """Payload shared by MESSAGE_REACTION_ADD / _REMOVE."""
        data: JSON = {
            "user_id": str(user.id),
            "channel_id": str(msg.channel_id),
            "message_id": str(msg.id),
            "emoji": self.emoji_key_payload(key),
            "burst": False,
            "type": 0,
        }
        if msg.guild_id:
            data["guild_id"] = str(msg.guild_id)
        return data

    def add_reaction(self, msg: Message, user: User, key: str) -> bool:
        """Add ``user``'s reaction; emits MESSAGE_REACTION_ADD unless it already existed."""
        users = msg.reactions.setdefault(key, [])
        if user.id in users:
            return False
        users.append(user.id)
        data = self.reaction_event(msg, user, key)
        data.update(message_author_id=str(msg.author_id), burst_colors=[])
        if msg.guild_id and user.id in self.guilds[msg.guild_id].members:
            data["member"] = self.member_payload(self.guilds[msg.guild_id].members[user.id])
        self.emit("MESSAGE_REACTION_ADD", data)
        return True

    def remove_reaction(self, msg: Message, user: User, key: str) -> bool:
        """Remove ``user``'s reaction; emits MESSAGE_REACTION_REMOVE if it existed."""
        users = msg.reactions.get(key, [])
        if user.id not in users:
            return False
        users.remove(user.id)
        if not users:
            del msg.reactions[key]
        self.emit("MESSAGE_REACTION_REMOVE", self.reaction_event(msg, user, key))
        return True

    def create_thread(
        self,
        parent: Channel,
        name: str,
        owner: User,
        *,
        thread_id: int | None = None,
        type_: int = ChannelType.PUBLIC_THREAD,
        auto_archive_duration: int = 1440,
        applied_tags: Iterable[int] = (),
    ) -> Channel:
        """Create a thread under ``parent`` (thread id = starter message id when given) and emit THREAD_CREATE."""
        if parent.type == ChannelType.NEWS:
            type_ = ChannelType.NEWS_THREAD
        thread = Channel(
            thread_id or self.ids.next(),
            ChannelType(type_),
            name=name,
            guild_id=parent.guild_id,
            parent_id=parent.id,
            owner_id=owner.id,
            auto_archive_duration=auto_archive_duration,
            applied_tags=[int(t) for t in applied_tags],
            thread_members={owner.id},
        )
        self.channels[thread.id] = thread
        self.guilds[parent.guild_id or 0].channels.append(thread.id)
        self.emit("THREAD_CREATE", {**self.channel_payload(thread), "newly_created": True})
        return thread

    def update_channel(self, channel: Channel) -> None:
        """Emit THREAD_UPDATE / CHANNEL_UPDATE for ``channel``."""
        self.emit(
            "THREAD_UPDATE" if channel.is_thread else "CHANNEL_UPDATE",
            self.channel_payload(channel),
        )

    def delete_role(self, role: Role) -> None:
        """Remove a role (members lose it) and emit GUILD_ROLE_DELETE."""
        guild = self.guilds[role.guild_id]
        guild.roles.pop(role.id, None)
        for member in guild.members.values():
            if role.id in member.role_ids:
                member.role_ids.remove(role.id)
        self.emit("GUILD_ROLE_DELETE", {"guild_id": str(guild.id), "role_id": str(role.id)})

    def member_updated(self, member: Member) -> None:
        """Emit GUILD_MEMBER_UPDATE for ``member``."""
        self.emit(
            "GUILD_MEMBER_UPDATE", {"guild_id": str(member.guild_id), **self.member_payload(member)}
        )

    def dm_channel(self, user: User) -> Channel:
        """The (single) DM channel between the bot and ``user``, created on demand."""
        for ch in self.channels.values():
            if ch.type == ChannelType.DM and ch.recipient_id == user.id:
                return ch
        ch = Channel(self.ids.next(), ChannelType.DM, recipient_id=user.id)
        self.channels[ch.id] = ch
        return ch

    def new_attachment(
        self,
        channel_id: int,
        filename: str,
        data: bytes,
        content_type: str | None,
        description: str | None = None,
        ephemeral: bool = False,
    ) -> JSON:
        """Store uploaded bytes and return the attachment object (served under ``/attachments/``).

        Like Discord, the content type comes from the file name unless given explicitly (clients
        such as discord.py label every part ``application/octet-stream``).
        """
        att_id = self.ids.next()
        self.attachment_data[att_id] = data
        url = f"{self.base_url}/attachments/{channel_id}/{att_id}/{filename}"
        if not content_type or content_type == "application/octet-stream":
            content_type = mimetypes.guess_type(filename)[0] or "application/octet-stream"
        if content_type.startswith("text/"):
            content_type += "; charset=utf-8"
        self.uploads[att_id] = Upload(
            att_id, channel_id, filename, data, content_type, description, url
        )
        att: JSON = {
            "id": str(att_id),
            "filename": filename,
            "size": len(data),
            "url": url,
            "proxy_url": url,
            "content_type": content_type,
        }
        if description:
            att["description"] = description
        if ephemeral:
            att["ephemeral"] = True
        return att


def sum_bits(values: Iterable[Any]) -> int:
    """OR together permission values given as ints or strings."""
    out = 0
    for value in values:
        out |= int(value)
    return out


_counter = itertools.count(1)


def next_token() -> str:
    """An interaction token (opaque string)."""
    return f"itoken{next(_counter)}{secrets.token_hex(12)}"
