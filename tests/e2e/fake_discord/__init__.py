"""In-process fake Discord server (REST v10 + gateway v10) for end-to-end tests of the bot.

See README.md in this directory for what is and is not emulated.
"""

from .components import IS_COMPONENTS_V2, ComponentType, find_component, walk_components
from .errors import DiscordError
from .fake import FakeDiscord
from .interactions import InteractionHandle, Reply
from .rest import Fault, RecordedRequest
from .state import (
    ALL_PERMISSIONS,
    DEFAULT_BOT_PERMISSIONS,
    DEFAULT_EVERYONE_PERMISSIONS,
    DEFAULT_UPLOAD_LIMIT,
    Channel,
    ChannelType,
    EditRecord,
    Emoji,
    Guild,
    Member,
    Message,
    Perm,
    Role,
    ScheduledEvent,
    Upload,
    User,
    VoiceState,
    shard_of,
)

__all__ = [
    "ALL_PERMISSIONS",
    "DEFAULT_BOT_PERMISSIONS",
    "DEFAULT_EVERYONE_PERMISSIONS",
    "DEFAULT_UPLOAD_LIMIT",
    "IS_COMPONENTS_V2",
    "Channel",
    "ChannelType",
    "ComponentType",
    "DiscordError",
    "EditRecord",
    "Emoji",
    "FakeDiscord",
    "Fault",
    "Guild",
    "InteractionHandle",
    "Member",
    "Message",
    "Perm",
    "RecordedRequest",
    "Reply",
    "Role",
    "ScheduledEvent",
    "Upload",
    "User",
    "VoiceState",
    "find_component",
    "shard_of",
    "walk_components",
]
