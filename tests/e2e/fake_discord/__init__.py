"""In-process fake Discord server (REST v10 + gateway v10) for end-to-end tests of the bot.

See README.md in this directory for what is and is not emulated.
"""

from .fake import FakeDiscord
from .interactions import InteractionHandle, Reply
from .rest import Fault, RecordedRequest
from .state import (
    ALL_PERMISSIONS,
    DEFAULT_BOT_PERMISSIONS,
    DEFAULT_EVERYONE_PERMISSIONS,
    Channel,
    ChannelType,
    DiscordError,
    Emoji,
    Guild,
    Member,
    Message,
    Perm,
    Role,
    ScheduledEvent,
    User,
)

__all__ = [
    "ALL_PERMISSIONS",
    "DEFAULT_BOT_PERMISSIONS",
    "DEFAULT_EVERYONE_PERMISSIONS",
    "Channel",
    "ChannelType",
    "DiscordError",
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
    "User",
]
