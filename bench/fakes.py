"""Discord without the network: a recording REST layer, a gateway websocket fed JSON text
without a socket, and the payloads of the bench server.

Kept free of heavy imports: the start-up benchmark's measured process imports this module.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import discord
from discord.gateway import DiscordWebSocket

__all__ = [
    "BOT_USER_ID",
    "CHANNEL_ID",
    "GUILD_ID",
    "ORGANISER_ID",
    "POST_ID",
    "RecordingHTTP",
    "attach_gateway",
    "max_in_window",
    "prepare_client",
    "reaction_payload",
    "rss_mb",
    "snowflake",
    "user_json",
]

# Snowflakes used across the suite (any distinct 64-bit ids will do).
GUILD_ID = 1_100_000_000_000_000_001
CHANNEL_ID = 1_100_000_000_000_000_002
POST_ID = 1_100_000_000_000_000_003
ORGANISER_ID = 1_100_000_000_000_000_004
BOT_USER_ID = 1_100_000_000_000_000_005
FIRST_MEMBER_ID = 1_200_000_000_000_000_000


def snowflake(n: int) -> int:
    return FIRST_MEMBER_ID + n


def rss_mb() -> float:
    """Resident set size of this process in MiB (Linux ``/proc``; 0 elsewhere)."""
    try:
        with open("/proc/self/status", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def max_in_window(times: Iterable[float], window: float) -> int:
    """The largest number of timestamps inside any half-open window of ``window`` seconds."""
    ordered = sorted(times)
    best = start = 0
    for end, t in enumerate(ordered):
        while ordered[start] <= t - window:
            start += 1
        best = max(best, end - start + 1)
    return best


# -- a recording REST layer ---------------------------------------------------------------------


def user_json(user_id: int, *, bot: bool = False) -> dict[str, Any]:
    return {
        "id": str(user_id),
        "username": f"user{user_id % 100000}",
        "discriminator": "0",
        "global_name": None,
        "avatar": None,
        "bot": bot,
    }


def message_json(
    message_id: int,
    channel_id: int,
    *,
    author_id: int = BOT_USER_ID,
    content: str = "",
    embeds: list[Any] | None = None,
) -> dict[str, Any]:
    return {
        "id": str(message_id),
        "channel_id": str(channel_id),
        "author": user_json(author_id, bot=True),
        "content": content or "",
        "timestamp": "2026-11-26T10:00:00+00:00",
        "edited_timestamp": None,
        "tts": False,
        "mention_everyone": False,
        "mentions": [],
        "mention_roles": [],
        "attachments": [],
        "embeds": embeds or [],
        "pinned": False,
        "type": 0,
        "flags": 0,
        "components": [],
    }


@dataclass(frozen=True, slots=True)
class Request:
    at: float  # time.perf_counter()
    method: str
    path: str  # the route template, e.g. /channels/{channel_id}/messages/{message_id}
    url: str


class RecordingHTTP:
    """Replaces ``client.http.request``: records every REST call and answers plausibly."""

    def __init__(self, client: discord.Client, *, latency: float = 0.0) -> None:
        self.requests: list[Request] = []
        self.latency = latency
        self._next_id = 1_300_000_000_000_000_000
        client.http.request = self.request  # type: ignore[method-assign]

    def _id(self) -> int:
        self._next_id += 1
        return self._next_id

    async def request(
        self, route: discord.http.Route, *, files: Any = None, form: Any = None, **kwargs: Any
    ) -> Any:
        self.requests.append(Request(time.perf_counter(), route.method, route.path, route.url))
        if self.latency:
            await asyncio.sleep(self.latency)
        body = kwargs.get("json") or {}
        params = {k: v for k, v in vars(route).items() if k.endswith("_id")}
        method, path = route.method, route.path
        if method == "POST" and path == "/users/@me/channels":
            recipient = int(body.get("recipient_id", 0))
            return {
                "id": str(self._id()),
                "type": 1,
                "last_message_id": None,
                "recipients": [user_json(recipient)],
            }
        if method == "POST" and path == "/channels/{channel_id}/messages":
            return message_json(
                self._id(), int(params.get("channel_id") or 0), content=body.get("content") or ""
            )
        if method == "PATCH" and path == "/channels/{channel_id}/messages/{message_id}":
            return message_json(
                int(params.get("message_id") or 0),
                int(params.get("channel_id") or 0),
                embeds=body.get("embeds") or [],
            )
        if method == "GET" and path == "/users/@me":
            return user_json(BOT_USER_ID, bot=True)
        if method == "GET" and path == "/oauth2/applications/@me":
            return {
                "id": str(BOT_USER_ID),
                "name": "Bench bot",
                "description": "",
                "icon": None,
                "bot_public": False,
                "bot_require_code_grant": False,
                "verify_key": "0" * 64,
                "owner": user_json(ORGANISER_ID),
                "team": None,
                "flags": 0,
                "interactions_endpoint_url": None,
            }
        if method == "GET" and path.endswith("/commands"):
            return []
        return None

    # -- summaries ------------------------------------------------------------------------------

    def by_pattern(self) -> Counter[str]:
        return Counter(f"{r.method} {r.path}" for r in self.requests)

    def max_per_second(self) -> int:
        return max_in_window((r.at for r in self.requests), 1.0)

    def edits_per_post(self, window: float) -> int:
        """The most edits any one message got inside any ``window`` seconds."""
        per_post: dict[str, list[float]] = defaultdict(list)
        for r in self.requests:
            if r.method == "PATCH" and r.path == "/channels/{channel_id}/messages/{message_id}":
                per_post[r.url].append(r.at)
        return max((max_in_window(ts, window) for ts in per_post.values()), default=0)


# -- a gateway without a socket -----------------------------------------------------------------


class _NoSocket:
    """Stands in for the aiohttp websocket: already closed, so nothing is ever sent."""

    closed = True

    async def close(self, *args: Any, **kwargs: Any) -> bool:
        return False


def attach_gateway(client: discord.Client) -> DiscordWebSocket:
    """A ``DiscordWebSocket`` wired to ``client`` as ``from_client`` does, minus the socket.

    ``await ws.received_message(json_text)`` then parses and dispatches exactly as a live
    connection would (JSON decode, sequence tracking, the state's parser, listeners).
    """
    loop = asyncio.get_running_loop()
    ws = DiscordWebSocket(_NoSocket(), loop=loop)  # type: ignore[arg-type]
    state = client._connection
    ws.token = "bench"  # type: ignore[attr-defined]
    ws._connection = state  # type: ignore[attr-defined]
    ws._discord_parsers = state.parsers
    ws._dispatch = client.dispatch
    ws.gateway = DiscordWebSocket.DEFAULT_GATEWAY  # type: ignore[attr-defined]
    ws.call_hooks = state.call_hooks  # type: ignore[attr-defined]
    ws._initial_identify = False  # type: ignore[attr-defined]
    ws.shard_id = None
    ws.shard_count = None  # type: ignore[attr-defined]
    ws.session_id = "bench"
    ws.sequence = 0
    ws._max_heartbeat_timeout = state.heartbeat_timeout  # type: ignore[attr-defined]
    client.ws = ws
    state._update_references(ws)
    return ws


def guild_json(member_ids: Iterable[int] = ()) -> dict[str, Any]:
    return {
        "id": str(GUILD_ID),
        "name": "Bench community",
        "icon": None,
        "owner_id": str(ORGANISER_ID),
        "afk_channel_id": None,
        "afk_timeout": 300,
        "verification_level": 0,
        "default_message_notifications": 0,
        "explicit_content_filter": 0,
        "mfa_level": 0,
        "features": [],
        "system_channel_id": None,
        "system_channel_flags": 0,
        "rules_channel_id": None,
        "vanity_url_code": None,
        "description": None,
        "banner": None,
        "premium_tier": 0,
        "preferred_locale": "en-GB",
        "public_updates_channel_id": None,
        "nsfw_level": 0,
        "premium_progress_bar_enabled": False,
        "member_count": 1,
        "roles": [
            {
                "id": str(GUILD_ID),
                "name": "@everyone",
                "permissions": "1024",
                "position": 0,
                "color": 0,
                "hoist": False,
                "managed": False,
                "mentionable": False,
            }
        ],
        "emojis": [],
        "stickers": [],
        "members": [],
        "presences": [],
        "threads": [],
        "channels": [
            {
                "id": str(CHANNEL_ID),
                "type": 0,
                "name": "calls",
                "position": 0,
                "permission_overwrites": [],
                "nsfw": False,
                "parent_id": None,
            }
        ],
        "voice_states": [],
        "unavailable": False,
        "large": False,
    }


def prepare_client(client: discord.Client) -> DiscordWebSocket:
    """Give a logged-out client a user, the bench server and a socket-less gateway."""
    state = client._connection
    state.user = discord.ClientUser(state=state, data=user_json(BOT_USER_ID, bot=True))  # type: ignore[arg-type]
    state._add_guild_from_data(guild_json())  # type: ignore[arg-type]
    return attach_gateway(client)


def reaction_payload(seq: int, user_id: int, emoji: str, *, message_id: int = POST_ID) -> str:
    """One ``MESSAGE_REACTION_ADD`` dispatch as the gateway sends it (JSON text)."""
    return json.dumps(
        {
            "op": 0,
            "t": "MESSAGE_REACTION_ADD",
            "s": seq,
            "d": {
                "user_id": str(user_id),
                "type": 0,
                "channel_id": str(CHANNEL_ID),
                "message_id": str(message_id),
                "guild_id": str(GUILD_ID),
                "emoji": {"id": None, "name": emoji},
                "burst": False,
                "burst_colors": [],
                "message_author_id": str(BOT_USER_ID),
                "member": {
                    "user": user_json(user_id),
                    "roles": [],
                    "joined_at": "2025-01-01T00:00:00+00:00",
                    "deaf": False,
                    "mute": False,
                    "flags": 0,
                    "nick": None,
                    "avatar": None,
                    "premium_since": None,
                    "pending": False,
                },
            },
        },
        ensure_ascii=False,
    )
