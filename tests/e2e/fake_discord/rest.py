"""REST API v10 emulation (the subset a bot like ours uses), with request recording and fault injection.

Handlers return JSON-able data (or ``None`` for 204) and raise
:class:`~.state.DiscordError` for Discord-style errors; the middleware turns
both into responses, records every request, applies queued faults and adds
rate-limit headers.  Unknown routes are answered with Discord's 404 body and
logged at WARNING so gaps in the emulation are visible.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import json
import logging
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from .components import (
    IS_COMPONENTS_V2,
    validate_components,
    validate_modal,
    walk_components,
    with_ids,
)
from .errors import DiscordError, invalid_form, missing_permissions, too_large, unknown
from .gateway import Gateway
from .interactions import InteractionHandle, Interactions, Reply
from .polls import check_answer, normalize_poll
from .state import (
    DEFAULT_UPLOAD_LIMIT,
    EPHEMERAL,
    HAS_THREAD,
    JSON,
    LOADING,
    Channel,
    ChannelType,
    Message,
    Perm,
    Role,
    ScheduledEvent,
    World,
    iso,
)

log = logging.getLogger(__name__)

API = "/api/v10"
Handler = Callable[[web.Request], Awaitable[Any]]
ALLOWED_MESSAGE_FLAGS = (
    4 | EPHEMERAL | 4096 | IS_COMPONENTS_V2
)  # suppress embeds, ephemeral, silent, components v2
BULK_DELETE_MAX_AGE = dt.timedelta(days=14)
NO_AUTH_PREFIXES = ("/webhooks/", "/interactions/", "/attachments/", "/gateway")
Files = list[tuple[str, str, bytes]]
# interaction type -> callback types Discord accepts (1 PONG is only for HTTP interactions)
CALLBACK_TYPES_FOR = {2: (4, 5, 9), 3: (4, 5, 6, 7, 9), 4: (8,), 5: (4, 5, 6, 7)}
BODY = web.RequestKey("fake_discord_body", object)
FILES = web.RequestKey("fake_discord_files", list)


@dataclass
class RecordedRequest:
    """One REST request as the server saw it (``path`` without the ``/api/v10`` prefix)."""

    method: str
    path: str
    query: dict[str, str]
    json: Any
    files: list[tuple[str, str, bytes]]
    time: float
    status: int = 0
    response: Any = None
    route: str = ""

    @property
    def template(self) -> str:
        """The route template without ``/api/v10``, e.g. ``/channels/{channel_id}/messages``."""
        return self.route.removeprefix(API)

    @property
    def is_rest(self) -> bool:
        """False for the gateway websocket upgrade and CDN (``/attachments/``) downloads."""
        return not self.path.startswith(("/gateway-ws", "/attachments/"))


@dataclass
class Fault:
    """Answer the next ``times`` requests matching ``method`` + ``path`` (regex, fullmatch) with an error."""

    method: str
    path: re.Pattern[str]
    status: int
    times: int = 1
    retry_after: float = 0.05
    body: JSON | None = None
    is_global: bool = False
    hits: int = field(default=0)

    def matches(self, method: str, path: str) -> bool:
        """Whether this fault applies to the request (and has uses left)."""
        return (
            self.hits < self.times
            and self.method in ("*", method)
            and bool(self.path.fullmatch(path))
        )


def json_response(
    data: Any, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    """JSON response with Content-Type exactly ``application/json`` (discord.py checks for equality)."""
    return web.Response(
        body=json.dumps(data).encode(),
        status=status,
        headers={"Content-Type": "application/json", **(headers or {})},
    )


def ratelimit_headers(bucket: str, remaining: int = 49, reset_after: float = 1.0) -> dict[str, str]:
    """The X-RateLimit-* headers Discord sends."""
    return {
        "X-RateLimit-Limit": "50",
        "X-RateLimit-Remaining": str(remaining),
        "X-RateLimit-Reset": f"{time.time() + reset_after:.3f}",
        "X-RateLimit-Reset-After": f"{reset_after:.3f}",
        "X-RateLimit-Bucket": hashlib.md5(bucket.encode()).hexdigest()[:16],
    }


def fault_response(fault: Fault, bucket: str) -> web.Response:
    """Build the response for a triggered fault (429s carry Via + retry_after so discord.py retries)."""
    if fault.status == 429:
        body = fault.body or {
            "message": "You are being rate limited.",
            "retry_after": fault.retry_after,
            "global": fault.is_global,
            "code": 0,
        }
        headers = {
            **ratelimit_headers(bucket, 0, fault.retry_after),
            "Via": "1.1 google",
            "Retry-After": str(max(1, round(fault.retry_after))),
            "X-RateLimit-Scope": "global" if fault.is_global else "user",
        }
        if fault.is_global:
            headers["X-RateLimit-Global"] = "true"
        return json_response(body, 429, headers)
    body = fault.body or {"message": f"{fault.status}: {web.HTTPException.__name__}", "code": 0}
    return json_response(body, fault.status, ratelimit_headers(bucket))


def _check_len(value: Any, limit: int, path: str) -> None:
    if value is not None and len(str(value)) > limit:
        raise invalid_form(path, "BASE_TYPE_MAX_LENGTH", f"Must be {limit} or fewer in length.")


def validate_message(
    payload: JSON, n_files: int, *, edit: bool = False, v2: bool | None = None
) -> None:
    """Discord's main message limits (content, embeds, components, empty messages).

    ``v2``: whether the message is (or becomes) a Components V2 message; default: from ``flags``.
    """
    content = payload.get("content")
    _check_len(content, 2000, "content")
    embeds = payload.get("embeds") or []
    if len(embeds) > 10:
        raise invalid_form("embeds", "BASE_TYPE_MAX_LENGTH", "Must be 10 or fewer in length.")
    total = 0
    for i, embed in enumerate(embeds):
        for key, limit in (("title", 256), ("description", 4096)):
            _check_len(embed.get(key), limit, f"embeds.{i}.{key}")
            total += len(str(embed.get(key) or ""))
        _check_len((embed.get("footer") or {}).get("text"), 2048, f"embeds.{i}.footer.text")
        _check_len((embed.get("author") or {}).get("name"), 256, f"embeds.{i}.author.name")
        fields = embed.get("fields") or []
        if len(fields) > 25:
            raise invalid_form(
                f"embeds.{i}.fields", "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length."
            )
        for j, fld in enumerate(fields):
            for key, limit in (("name", 256), ("value", 1024)):
                if not str(fld.get(key) or "").strip():
                    raise invalid_form(
                        f"embeds.{i}.fields.{j}.{key}",
                        "BASE_TYPE_REQUIRED",
                        "This field is required",
                    )
                _check_len(fld.get(key), limit, f"embeds.{i}.fields.{j}.{key}")
                total += len(str(fld[key]))
    if total > 6000:
        raise invalid_form(
            "embeds", "MAX_EMBED_SIZE_EXCEEDED", "Embed size exceeds maximum size of 6000"
        )
    components = payload.get("components") or []
    flags = int(payload.get("flags") or 0)
    validate_components(payload, v2=bool(flags & IS_COMPONENTS_V2) if v2 is None else v2)
    if not edit and not (
        content
        or embeds
        or n_files
        or components
        or payload.get("sticker_ids")
        or payload.get("poll")
    ):
        raise DiscordError(400, 50006, "Cannot send an empty message")


def resolve_media(components: list[JSON], attachments: list[JSON]) -> list[JSON]:
    """Point ``attachment://name`` media (thumbnail, media gallery, file) at the uploaded attachment,
    filling ``proxy_url``/``content_type``/``attachment_id`` (and ``name``/``size`` of a file) like
    Discord's stored message does; an unknown name is a 400."""
    by_name = {a.get("filename"): a for a in attachments}

    def resolve(media: JSON, path: str) -> JSON | None:
        url = str(media.get("url") or "")
        if not url.startswith("attachment://"):
            return None
        att = by_name.get(url.removeprefix("attachment://"))
        if att is None:
            raise invalid_form(
                path, "UNFURLED_MEDIA_ITEM_ATTACHMENT_NOT_FOUND", f"No attachment for {url}"
            )
        media.update(
            url=att["url"],
            proxy_url=att["proxy_url"],
            content_type=att.get("content_type"),
            attachment_id=att["id"],
            loading_state=2,
            flags=0,
            placeholder=None,
            width=None,
            height=None,
        )
        return att

    for comp in walk_components(components):
        kind = comp.get("type")
        if kind == 11 and isinstance(comp.get("media"), dict):
            resolve(comp["media"], "components.media.url")
        elif kind == 12:
            for item in comp.get("items") or []:
                if isinstance(item.get("media"), dict):
                    resolve(item["media"], "components.items.media.url")
        elif kind == 13 and isinstance(comp.get("file"), dict):
            att = resolve(comp["file"], "components.file.url")
            if att is not None:
                comp.setdefault("name", att["filename"])
                comp.setdefault("size", att["size"])
    return components


def emoji_key(world: World, raw: str) -> str:
    """Normalise a reaction emoji from a URL (``👍``, ``name:id``, ``a:name:id``); unknown custom -> 10014."""
    parts = raw.split(":")
    if len(parts) == 1:
        return raw
    emoji_id = int(parts[-1]) if parts[-1].isdigit() else -1
    for guild in world.guilds.values():
        if emoji_id in guild.emojis:
            return str(guild.emojis[emoji_id])
    raise DiscordError(400, 10014, "Unknown Emoji")


class RestApi:
    """The REST routes; see :meth:`setup` for the full list."""

    def __init__(self, world: World, gateway: Gateway, interactions: Interactions) -> None:
        self.world, self.gateway, self.interactions = world, gateway, interactions
        self.requests: list[RecordedRequest] = []
        self.faults: list[Fault] = []
        self.unknown_routes: list[str] = []
        self.latency = 0.0  # seconds added to every REST request (FakeDiscord.rest_latency)
        self.recommended_shards = 1  # "shards" of GET /gateway/bot

    # -- plumbing ---------------------------------------------------------------------------
    def setup(self, app: web.Application) -> None:
        """Register routes and the middleware on ``app``."""
        app.middlewares.append(self.middleware)
        routes: list[tuple[str, str, Handler]] = [
            ("GET", "/gateway", self.get_gateway),
            ("GET", "/gateway/bot", self.get_gateway),
            ("GET", "/users/@me", self.get_me),
            ("POST", "/users/@me/channels", self.create_dm),
            ("GET", "/users/{user_id}", self.get_user),
            ("GET", "/oauth2/applications/@me", self.get_application),
            ("GET", "/applications/@me", self.get_application),
            ("GET", "/applications/{app_id}/commands", self.get_commands),
            ("PUT", "/applications/{app_id}/commands", self.put_commands),
            ("POST", "/applications/{app_id}/commands", self.post_command),
            ("DELETE", "/applications/{app_id}/commands/{command_id}", self.delete_command),
            ("GET", "/applications/{app_id}/guilds/{guild_id}/commands", self.get_commands),
            ("PUT", "/applications/{app_id}/guilds/{guild_id}/commands", self.put_commands),
            ("POST", "/applications/{app_id}/guilds/{guild_id}/commands", self.post_command),
            (
                "DELETE",
                "/applications/{app_id}/guilds/{guild_id}/commands/{command_id}",
                self.delete_command,
            ),
            ("GET", "/channels/{channel_id}", self.get_channel),
            ("PATCH", "/channels/{channel_id}", self.patch_channel),
            ("DELETE", "/channels/{channel_id}", self.delete_channel),
            ("POST", "/channels/{channel_id}/typing", self.typing),
            ("GET", "/channels/{channel_id}/messages", self.list_messages),
            ("POST", "/channels/{channel_id}/messages", self.post_message),
            ("POST", "/channels/{channel_id}/messages/bulk-delete", self.bulk_delete),
            (
                "GET",
                "/channels/{channel_id}/polls/{message_id}/answers/{answer_id}",
                self.poll_voters,
            ),
            ("POST", "/channels/{channel_id}/polls/{message_id}/expire", self.expire_poll),
            ("GET", "/channels/{channel_id}/messages/{message_id}", self.get_message),
            ("PATCH", "/channels/{channel_id}/messages/{message_id}", self.patch_message),
            ("DELETE", "/channels/{channel_id}/messages/{message_id}", self.delete_message),
            (
                "DELETE",
                "/channels/{channel_id}/messages/{message_id}/reactions",
                self.clear_reactions,
            ),
            (
                "PUT",
                "/channels/{channel_id}/messages/{message_id}/reactions/{emoji}/@me",
                self.add_reaction,
            ),
            (
                "DELETE",
                "/channels/{channel_id}/messages/{message_id}/reactions/{emoji}/@me",
                self.remove_reaction,
            ),
            (
                "DELETE",
                "/channels/{channel_id}/messages/{message_id}/reactions/{emoji}/{user_id}",
                self.remove_reaction,
            ),
            (
                "DELETE",
                "/channels/{channel_id}/messages/{message_id}/reactions/{emoji}",
                self.clear_reactions,
            ),
            (
                "GET",
                "/channels/{channel_id}/messages/{message_id}/reactions/{emoji}",
                self.reaction_users,
            ),
            (
                "POST",
                "/channels/{channel_id}/messages/{message_id}/threads",
                self.thread_from_message,
            ),
            ("POST", "/channels/{channel_id}/threads", self.create_thread),
            ("PUT", "/channels/{channel_id}/thread-members/{user_id}", self.join_thread),
            ("DELETE", "/channels/{channel_id}/thread-members/{user_id}", self.leave_thread),
            ("GET", "/guilds/{guild_id}", self.get_guild),
            ("GET", "/guilds/{guild_id}/channels", self.get_guild_channels),
            ("GET", "/guilds/{guild_id}/roles", self.get_roles),
            ("POST", "/guilds/{guild_id}/roles", self.create_role),
            ("PATCH", "/guilds/{guild_id}/roles/{role_id}", self.edit_role),
            ("DELETE", "/guilds/{guild_id}/roles/{role_id}", self.delete_role),
            ("GET", "/guilds/{guild_id}/voice-states/{user_id}", self.get_voice_state),
            ("GET", "/guilds/{guild_id}/members", self.list_members),
            ("GET", "/guilds/{guild_id}/members/{user_id}", self.get_member),
            ("PATCH", "/guilds/{guild_id}/members/{user_id}", self.patch_member),
            ("PUT", "/guilds/{guild_id}/members/{user_id}/roles/{role_id}", self.add_role),
            ("DELETE", "/guilds/{guild_id}/members/{user_id}/roles/{role_id}", self.remove_role),
            ("GET", "/guilds/{guild_id}/scheduled-events", self.list_events),
            ("POST", "/guilds/{guild_id}/scheduled-events", self.create_event),
            ("GET", "/guilds/{guild_id}/scheduled-events/{event_id}", self.get_event),
            ("PATCH", "/guilds/{guild_id}/scheduled-events/{event_id}", self.patch_event),
            ("DELETE", "/guilds/{guild_id}/scheduled-events/{event_id}", self.delete_event),
            ("POST", "/interactions/{interaction_id}/{token}/callback", self.interaction_callback),
            ("POST", "/webhooks/{app_id}/{token}", self.create_followup),
            ("GET", "/webhooks/{app_id}/{token}/messages/{message_id}", self.get_webhook_message),
            (
                "PATCH",
                "/webhooks/{app_id}/{token}/messages/{message_id}",
                self.patch_webhook_message,
            ),
            (
                "DELETE",
                "/webhooks/{app_id}/{token}/messages/{message_id}",
                self.delete_webhook_message,
            ),
        ]
        for method, path, handler in routes:
            app.router.add_route(method, API + path, handler)
        app.router.add_route(
            "GET", "/attachments/{channel_id}/{attachment_id}/{filename}", self.get_attachment
        )

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Record, inject faults, authenticate, run the handler, render errors Discord-style."""
        path = request.path.removeprefix(API)
        body, files = await self._parse_body(request)
        route = (
            request.match_info.route.resource.canonical
            if request.match_info.route.resource
            else path
        )
        rec = RecordedRequest(
            request.method, path, dict(request.query), body, files, time.time(), route=route
        )
        self.requests.append(rec)
        request[BODY], request[FILES] = body, files
        if self.latency > 0 and rec.is_rest:
            await asyncio.sleep(self.latency)
        if self.world.open_polls:
            self.world.expire_due_polls()
        fault = next((f for f in self.faults if f.matches(request.method, path)), None)
        try:
            if fault is not None:
                fault.hits += 1
                log.info("fault injected: %s %s -> %s", request.method, path, fault.status)
                response = fault_response(fault, route)
            else:
                if not path.startswith(NO_AUTH_PREFIXES) and request.headers.get(
                    "Authorization"
                ) != (f"Bot {self.world.bot_token}"):
                    raise DiscordError(401, 0, "401: Unauthorized")
                result = await handler(request)
                if isinstance(result, web.StreamResponse):
                    response = result
                elif result is None:
                    response = web.Response(status=204, headers=ratelimit_headers(route))
                else:
                    response = json_response(result, 200, ratelimit_headers(route))
        except web.HTTPNotFound:
            self.unknown_routes.append(f"{request.method} {path}")
            log.warning(
                "FAKE DISCORD: UNKNOWN ROUTE %s %s (not emulated) body=%s",
                request.method,
                path,
                body,
            )
            response = json_response({"message": "404: Not Found", "code": 0}, 404)
        except web.HTTPMethodNotAllowed:
            self.unknown_routes.append(f"{request.method} {path}")
            log.warning("FAKE DISCORD: METHOD NOT EMULATED %s %s", request.method, path)
            response = json_response({"message": "405: Method Not Allowed", "code": 0}, 405)
        except DiscordError as exc:
            log.info("%s %s -> %s %s", request.method, path, exc.status, exc.body())
            response = json_response(exc.body(), exc.status, ratelimit_headers(route))
        rec.status = response.status
        if isinstance(response, web.Response) and response.content_type == "application/json":
            rec.response = json.loads(response.body)  # type: ignore[arg-type]
        return response

    @staticmethod
    async def _parse_body(request: web.Request) -> tuple[Any, list[tuple[str, str, bytes]]]:
        """JSON body, or ``payload_json`` + ``files[n]`` from multipart/form-data."""
        files: list[tuple[str, str, bytes]] = []
        if request.content_type == "multipart/form-data":
            form = await request.post()
            body = None
            for name, value in form.items():
                if isinstance(value, web.FileField):
                    files.append((name, value.filename, value.file.read()))
                elif name == "payload_json":
                    body = json.loads(value)
            return body, files
        raw = await request.read()
        if not raw:
            return None, files
        try:
            return json.loads(raw), files
        except ValueError:
            raise DiscordError(400, 50109, "The request body contains invalid JSON.") from None

    def _json(self, request: web.Request) -> JSON:
        body = request[BODY]
        return body if isinstance(body, dict) else {}

    def _bot_perms(self, channel: Channel) -> int:
        return self.world.user_permissions_in(self.world.bot_user, channel)

    def _require(self, channel: Channel, *perms: Perm) -> None:
        have = self._bot_perms(channel)
        if any(not have & p for p in perms):
            if not have & Perm.VIEW_CHANNEL:
                raise DiscordError(403, 50001, "Missing Access")
            raise missing_permissions()

    def _guild_perms(self, guild_id: int, *perms: Perm) -> None:
        member = self.world.bot_member(self.world.guild(guild_id))
        have = self.world.base_permissions(member)
        if any(not have & p for p in perms):
            raise missing_permissions()

    def _attachments(
        self, request: web.Request, payload: JSON, channel: Channel, ephemeral: bool
    ) -> list[JSON]:
        """Turn ``files[n]`` uploads (described by ``payload.attachments``) into stored attachments."""
        described = {str(a.get("id")): a for a in payload.get("attachments") or []}
        guild = self.world.guilds.get(channel.guild_id or 0)
        limit = guild.upload_limit if guild is not None else DEFAULT_UPLOAD_LIMIT
        if any(len(data) > limit for _, _, data in request[FILES]):
            raise too_large()
        out = []
        for name, filename, data in request[FILES]:
            index = name[name.find("[") + 1 : -1] if "[" in name else name
            meta = described.get(index, {})
            out.append(
                self.world.new_attachment(
                    channel.id,
                    meta.get("filename") or filename,
                    data,
                    None,
                    meta.get("description"),
                    ephemeral,
                )
            )
        return out

    def _message_fields(
        self,
        request: web.Request,
        payload: JSON,
        channel: Channel,
        *,
        allow_ephemeral: bool = False,
    ) -> JSON:
        """Validate a message body and turn it into ``World.create_message`` keyword arguments."""
        validate_message(payload, len(request[FILES]))
        flags = int(payload.get("flags") or 0) & ALLOWED_MESSAGE_FLAGS
        if not allow_ephemeral:
            flags &= ~EPHEMERAL
        poll = None
        if payload.get("poll") is not None:
            if not allow_ephemeral:  # interaction replies are webhooks: no channel permission
                self._require(channel, Perm.SEND_POLLS)
            poll = normalize_poll(payload["poll"], self.world.now())
        attachments = self._attachments(request, payload, channel, bool(flags & EPHEMERAL))
        fields: JSON = {
            "content": payload.get("content") or "",
            "tts": bool(payload.get("tts")),
            "flags": flags,
            "embeds": [{"type": "rich", **e} for e in payload.get("embeds") or []],
            "components": resolve_media(with_ids(payload.get("components") or []), attachments),
            "allowed_mentions": payload.get("allowed_mentions"),
            "nonce": payload.get("nonce"),
            "poll": poll,
            "attachments": attachments,
        }
        ref = payload.get("message_reference")
        if ref:
            target = self.world.messages.get(int(ref.get("message_id") or 0))
            if target is None and ref.get("fail_if_not_exists", True):
                raise invalid_form(
                    "message_reference", "MESSAGE_REFERENCE_UNKNOWN_MESSAGE", "Unknown message"
                )
            if target is not None:
                fields["message_reference"] = {
                    "type": ref.get("type", 0),
                    "message_id": str(target.id),
                    "channel_id": str(target.channel_id),
                    **({"guild_id": str(target.guild_id)} if target.guild_id else {}),
                }
        return fields

    def _edit_fields(self, request: web.Request, payload: JSON, msg: Message) -> JSON:
        """Validate an edit body and turn it into ``World.edit_message`` fields.

        The IS_COMPONENTS_V2 flag can be set by an edit (content/embeds must then be emptied in the
        same edit) but never removed; SUPPRESS_EMBEDS can be toggled.
        """
        new_flags = int(payload.get("flags") or 0) if "flags" in payload else None
        if msg.is_components_v2 and new_flags is not None and not new_flags & IS_COMPONENTS_V2:
            raise invalid_form(
                "flags",
                "MESSAGE_CANNOT_REMOVE_COMPONENTS_V2_FLAG",
                "The IS_COMPONENTS_V2 flag cannot be removed from a message",
            )
        v2 = msg.is_components_v2 or bool((new_flags or 0) & IS_COMPONENTS_V2)
        if payload.get("poll") is not None:
            raise DiscordError(400, 520003, "Cannot edit a poll message")
        validate_message(payload, len(request[FILES]), edit=True, v2=v2)
        if v2:
            for key, current in (("content", msg.content), ("embeds", msg.embeds)):
                if (payload[key] if key in payload else current) and not payload.get(key):
                    raise invalid_form(
                        key,
                        "MESSAGE_CANNOT_USE_LEGACY_FIELDS_WITH_COMPONENTS_V2",
                        f"The '{key}' field must be emptied (null/[]) to use IS_COMPONENTS_V2",
                    )
        fields = dict(payload)
        if "embeds" in payload:
            fields["embeds"] = [{"type": "rich", **e} for e in payload["embeds"] or []]
        channel = self.world.channels[msg.channel_id]
        new = self._attachments(request, payload, channel, msg.ephemeral)
        if "attachments" in payload or new:
            keep = {str(a.get("id")) for a in payload.get("attachments") or []}
            fields["attachments"] = [a for a in msg.attachments if a["id"] in keep] + new
        if "components" in payload:
            fields["components"] = resolve_media(
                with_ids(payload["components"] or []), fields.get("attachments", msg.attachments)
            )
        if new_flags is not None:
            kept = 4 | IS_COMPONENTS_V2
            fields["flags"] = (msg.flags & ~kept) | (new_flags & kept)
        return fields

    # -- misc -------------------------------------------------------------------------------
    async def get_gateway(self, request: web.Request) -> JSON:
        """GET /gateway and /gateway/bot."""
        return {
            "url": self.gateway.ws_url,
            "shards": self.recommended_shards,
            "session_start_limit": {
                "total": 1000,
                "remaining": 999,
                "reset_after": 14400000,
                "max_concurrency": 1,
            },
        }

    async def get_me(self, request: web.Request) -> JSON:
        """GET /users/@me (login)."""
        return {
            **self.world.user_payload(self.world.bot_user),
            "verified": True,
            "mfa_enabled": False,
            "email": None,
            "locale": "en-US",
        }

    async def get_user(self, request: web.Request) -> JSON:
        """GET /users/{id}."""
        return self.world.user_payload(self.world.user(request.match_info["user_id"]))

    async def get_application(self, request: web.Request) -> JSON:
        """GET /oauth2/applications/@me (``Client.application_info``)."""
        world = self.world
        return {
            "id": str(world.application_id),
            "name": world.bot_user.name,
            "icon": None,
            "description": "",
            "rpc_origins": [],
            "bot_public": True,
            "bot_require_code_grant": False,
            "verify_key": "0" * 64,
            "owner": world.user_payload(world.app_owner),
            "team": None,
            "flags": 0,
            "summary": "",
            "bot": world.user_payload(world.bot_user),
            "tags": [],
            "install_params": {"scopes": ["bot", "applications.commands"], "permissions": "0"},
        }

    async def get_attachment(self, request: web.Request) -> web.Response:
        """CDN stand-in: GET /attachments/{channel}/{id}/{filename}."""
        att_id = request.match_info["attachment_id"]
        upload = self.world.uploads.get(int(att_id)) if att_id.isdigit() else None
        if upload is None:
            raise web.HTTPNotFound()
        return web.Response(
            body=upload.data,
            headers={"Content-Type": upload.content_type, "Content-Length": str(upload.size)},
        )

    async def typing(self, request: web.Request) -> None:
        """POST /channels/{id}/typing."""
        self.world.channel(request.match_info["channel_id"])

    # -- application commands ---------------------------------------------------------------
    def _scope(self, request: web.Request) -> int | None:
        if int(request.match_info["app_id"]) != self.world.application_id:
            raise unknown("Application", 10002)
        guild_id = request.match_info.get("guild_id")
        return self.world.guild(guild_id).id if guild_id else None

    def _store_command(self, scope: int | None, cmd: JSON, previous: list[JSON]) -> JSON:
        name, type_ = cmd.get("name", ""), int(cmd.get("type", 1))
        if (type_ == 1 and not re.fullmatch(r"[-_\w]{1,32}", name)) or (
            name != name.lower() and type_ == 1
        ):
            raise invalid_form(
                "name", "APPLICATION_COMMAND_INVALID_NAME", f"Command name is invalid: {name!r}"
            )
        if type_ == 1 and not 1 <= len(cmd.get("description") or "") <= 100:
            raise invalid_form(
                "description", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length."
            )
        self._validate_options(cmd.get("options") or [], "options")
        old = next((c for c in previous if c["name"] == name and c.get("type", 1) == type_), None)
        stored = {
            "default_member_permissions": None,
            "dm_permission": True,
            "nsfw": False,
            "contexts": None,
            "integration_types": [0],
            "options": [],
            "description": "",
            **cmd,
            "type": type_,
            "id": old["id"] if old else str(self.world.ids.next()),
            "application_id": str(self.world.application_id),
            "version": str(self.world.ids.next()),
        }
        if scope is not None:
            stored["guild_id"] = str(scope)
        return stored

    def _validate_options(self, options: list[JSON], path: str) -> None:
        if len(options) > 25:
            raise invalid_form(path, "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length.")
        names = [o.get("name") for o in options]
        if len(set(names)) != len(names):
            raise invalid_form(
                path,
                "APPLICATION_COMMAND_OPTIONS_NAME_ALREADY_EXISTS",
                "Option names must be unique",
            )
        optional_seen = False
        for i, opt in enumerate(options):
            if (
                not re.fullmatch(r"[-_\w]{1,32}", str(opt.get("name")))
                or opt["name"] != opt["name"].lower()
            ):
                raise invalid_form(
                    f"{path}.{i}.name", "APPLICATION_COMMAND_INVALID_NAME", "Invalid option name"
                )
            if not 1 <= len(opt.get("description") or "") <= 100:
                raise invalid_form(
                    f"{path}.{i}.description",
                    "BASE_TYPE_BAD_LENGTH",
                    "Must be between 1 and 100 in length.",
                )
            if len(opt.get("choices") or []) > 25:
                raise invalid_form(
                    f"{path}.{i}.choices", "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length."
                )
            if opt.get("type") in (1, 2):
                self._validate_options(opt.get("options") or [], f"{path}.{i}.options")
            elif opt.get("required"):
                if optional_seen:
                    raise invalid_form(
                        f"{path}.{i}",
                        "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID",
                        "Required options must be placed before non-required options",
                    )
            else:
                optional_seen = True

    async def get_commands(self, request: web.Request) -> list[JSON]:
        """GET /applications/{app}[/guilds/{g}]/commands."""
        return self.world.commands.get(self._scope(request), [])

    async def put_commands(self, request: web.Request) -> list[JSON]:
        """PUT (bulk overwrite) - what ``tree.sync()`` does."""
        scope = self._scope(request)
        body = request[BODY] if isinstance(request[BODY], list) else []
        if len(body) > 100:
            raise invalid_form("_", "BASE_TYPE_MAX_LENGTH", "Must be 100 or fewer in length.")
        previous = self.world.commands.get(scope, [])
        self.world.commands[scope] = [self._store_command(scope, c, previous) for c in body]
        log.info(
            "commands synced (scope=%s): %s", scope, [c["name"] for c in self.world.commands[scope]]
        )
        return self.world.commands[scope]

    async def post_command(self, request: web.Request) -> JSON:
        """POST (upsert one)."""
        scope = self._scope(request)
        current = self.world.commands.setdefault(scope, [])
        stored = self._store_command(scope, self._json(request), current)
        current[:] = [c for c in current if c["id"] != stored["id"]] + [stored]
        return stored

    async def delete_command(self, request: web.Request) -> None:
        """DELETE one command."""
        current = self.world.commands.get(self._scope(request), [])
        if not any(c["id"] == request.match_info["command_id"] for c in current):
            raise unknown("application command", 10063)
        current[:] = [c for c in current if c["id"] != request.match_info["command_id"]]

    # -- channels ---------------------------------------------------------------------------
    async def get_channel(self, request: web.Request) -> JSON:
        """GET /channels/{id}."""
        channel = self.world.channel(request.match_info["channel_id"])
        self._require(channel, Perm.VIEW_CHANNEL)
        return self.world.channel_payload(channel)

    async def patch_channel(self, request: web.Request) -> JSON:
        """PATCH /channels/{id}: name/topic, and archived/locked/applied_tags for threads."""
        channel = self.world.channel(request.match_info["channel_id"])
        body = self._json(request)
        if channel.is_thread:
            if channel.owner_id != self.world.bot_user.id or "locked" in body:
                self._require(channel, Perm.MANAGE_THREADS)
        else:
            self._require(channel, Perm.MANAGE_CHANNELS)
        for key in ("name", "topic", "archived", "locked", "auto_archive_duration"):
            if key in body:
                setattr(channel, key, body[key])
        if "applied_tags" in body:
            channel.applied_tags = [int(t) for t in body["applied_tags"]]
        self.world.update_channel(channel)
        return self.world.channel_payload(channel)

    async def delete_channel(self, request: web.Request) -> JSON:
        """DELETE /channels/{id} (threads need manage_threads unless owned... Discord requires it anyway)."""
        channel = self.world.channel(request.match_info["channel_id"])
        self._require(channel, Perm.MANAGE_THREADS if channel.is_thread else Perm.MANAGE_CHANNELS)
        return self.world.delete_channel(channel)

    # -- messages ---------------------------------------------------------------------------
    async def list_messages(self, request: web.Request) -> list[JSON]:
        """GET /channels/{id}/messages with limit/before/after/around (newest first)."""
        channel = self.world.channel(request.match_info["channel_id"])
        self._require(channel, Perm.VIEW_CHANNEL, Perm.READ_MESSAGE_HISTORY)
        q = request.query
        limit = max(1, min(100, int(q.get("limit", 50))))
        msgs = [m for m in self.world.channel_messages(channel) if not m.ephemeral]
        if "before" in q:
            msgs = [m for m in msgs if m.id < int(q["before"])][-limit:]
        elif "after" in q:
            msgs = [m for m in msgs if m.id > int(q["after"])][:limit]
        elif "around" in q:
            older = [m for m in msgs if m.id <= int(q["around"])]
            newer = [m for m in msgs if m.id > int(q["around"])]
            msgs = older[-(limit - limit // 2) :] + newer[: limit // 2]
        else:
            msgs = msgs[-limit:]
        return [self.world.message_payload(m) for m in reversed(msgs)]

    def _check_can_post(self, channel: Channel) -> None:
        if channel.type == ChannelType.DM:
            recipient = self.world.users[channel.recipient_id or 0]
            if recipient.dms_closed:
                raise DiscordError(403, 50007, "Cannot send messages to this user")
            return
        if not channel.accepts_messages:
            raise DiscordError(400, 50008, "Cannot send messages in a non-text channel")
        self._require(
            channel,
            Perm.VIEW_CHANNEL,
            Perm.SEND_MESSAGES_IN_THREADS if channel.is_thread else Perm.SEND_MESSAGES,
        )
        if channel.is_thread and channel.archived:
            if channel.locked:
                self._require(channel, Perm.MANAGE_THREADS)
            channel.archived = False
            self.world.update_channel(channel)

    async def post_message(self, request: web.Request) -> JSON:
        """POST /channels/{id}/messages (JSON or multipart with files)."""
        channel = self.world.channel(request.match_info["channel_id"])
        self._check_can_post(channel)
        payload = self._json(request)
        if request[FILES] and channel.guild_id:
            self._require(channel, Perm.ATTACH_FILES)
        if payload.get("nonce") is not None and payload.get("enforce_nonce"):
            earlier = self.world.message_by_nonce(channel, self.world.bot_user, payload["nonce"])
            if earlier is not None:  # Discord returns the message it already made
                return self.world.message_payload(earlier)
        msg = self.world.create_message(
            channel, self.world.bot_user, **self._message_fields(request, payload, channel)
        )
        return self.world.message_payload(msg)

    async def get_message(self, request: web.Request) -> JSON:
        """GET /channels/{c}/messages/{m}."""
        channel = self.world.channel(request.match_info["channel_id"])
        self._require(channel, Perm.VIEW_CHANNEL, Perm.READ_MESSAGE_HISTORY)
        return self.world.message_payload(
            self.world.message(channel.id, request.match_info["message_id"])
        )

    async def patch_message(self, request: web.Request) -> JSON:
        """PATCH /channels/{c}/messages/{m} (only the bot's own messages, like Discord)."""
        msg = self.world.message(request.match_info["channel_id"], request.match_info["message_id"])
        if msg.author_id != self.world.bot_user.id:
            raise DiscordError(403, 50005, "Cannot edit a message authored by another user")
        fields = self._edit_fields(request, self._json(request), msg)
        return self.world.message_payload(self.world.edit_message(msg, self.world.bot_user, fields))

    async def delete_message(self, request: web.Request) -> None:
        """DELETE /channels/{c}/messages/{m} (others' messages need manage_messages)."""
        msg = self.world.message(request.match_info["channel_id"], request.match_info["message_id"])
        if msg.author_id != self.world.bot_user.id:
            self._require(self.world.channels[msg.channel_id], Perm.MANAGE_MESSAGES)
        self.world.delete_message(msg)

    async def bulk_delete(self, request: web.Request) -> None:
        """POST /channels/{c}/messages/bulk-delete {messages: [ids]} (manage_messages, 2-100 ids,
        none older than 14 days) -> one MESSAGE_DELETE_BULK; unknown ids are skipped."""
        channel = self.world.channel(request.match_info["channel_id"])
        self._require(channel, Perm.VIEW_CHANNEL, Perm.MANAGE_MESSAGES)
        raw = self._json(request).get("messages")
        ids = list(dict.fromkeys(str(i) for i in raw)) if isinstance(raw, list) else []
        if not 2 <= len(ids) <= 100:
            raise DiscordError(
                400,
                50016,
                "Provided too few or too many messages to delete. Must provide at least 2 and "
                "fewer than 100 messages to delete.",
            )
        oldest = (
            int((time.time() - BULK_DELETE_MAX_AGE.total_seconds()) * 1000) - 1420070400000
        ) << 22
        if any(not i.isdigit() or int(i) < oldest for i in ids):
            raise DiscordError(
                400, 50034, "You can only bulk delete messages that are under 14 days old."
            )
        found = [
            m
            for i in ids
            if (m := self.world.messages.get(int(i))) is not None and m.channel_id == channel.id
        ]
        self.world.bulk_delete(channel, found)

    def _poll_message(self, request: web.Request) -> Message:
        channel = self.world.channel(request.match_info["channel_id"])
        self._require(channel, Perm.VIEW_CHANNEL, Perm.READ_MESSAGE_HISTORY)
        msg = self.world.message(channel.id, request.match_info["message_id"])
        if msg.poll is None:
            raise DiscordError(400, 520006, "Cannot expire a non-poll message")
        return msg

    async def poll_voters(self, request: web.Request) -> JSON:
        """GET /channels/{c}/polls/{m}/answers/{a}?after=&limit= -> {users} sorted by id."""
        msg = self._poll_message(request)
        answer = check_answer(msg, request.match_info["answer_id"])
        limit = max(1, min(100, int(request.query.get("limit", 25))))
        after = int(request.query.get("after", 0))
        ids = sorted(u for u in msg.poll_votes.get(answer, []) if u > after)[:limit]
        return {"users": [self.world.user_payload(self.world.users[u]) for u in ids]}

    async def expire_poll(self, request: web.Request) -> JSON:
        """POST /channels/{c}/polls/{m}/expire: end the bot's own poll now (MESSAGE_UPDATE + the
        poll-result message); returns the poll message."""
        msg = self._poll_message(request)
        if msg.author_id != self.world.bot_user.id:
            raise missing_permissions()
        if msg.id not in self.world.open_polls:
            raise DiscordError(400, 520001, "Poll expired")
        self.world.end_poll(msg)
        return self.world.message_payload(msg)

    # -- reactions --------------------------------------------------------------------------
    def _reaction_target(self, request: web.Request) -> tuple[Message, str]:
        msg = self.world.message(request.match_info["channel_id"], request.match_info["message_id"])
        return msg, emoji_key(self.world, request.match_info["emoji"])

    async def add_reaction(self, request: web.Request) -> None:
        """PUT .../reactions/{emoji}/@me."""
        msg, key = self._reaction_target(request)
        channel = self.world.channels[msg.channel_id]
        self._require(channel, Perm.VIEW_CHANNEL, Perm.READ_MESSAGE_HISTORY)
        if key not in msg.reactions:
            self._require(channel, Perm.ADD_REACTIONS)
            if len(msg.reactions) >= 20:
                raise DiscordError(400, 30010, "Maximum number of reactions reached (20)")
        self.world.add_reaction(msg, self.world.bot_user, key)

    async def remove_reaction(self, request: web.Request) -> None:
        """DELETE .../reactions/{emoji}/@me or /{user_id} (others need manage_messages)."""
        msg, key = self._reaction_target(request)
        user_id = request.match_info.get("user_id", "@me")
        user = self.world.bot_user if user_id == "@me" else self.world.user(user_id)
        if user is not self.world.bot_user:
            self._require(self.world.channels[msg.channel_id], Perm.MANAGE_MESSAGES)
        self.world.remove_reaction(msg, user, key)

    async def clear_reactions(self, request: web.Request) -> None:
        """DELETE .../reactions[/{emoji}] (manage_messages)."""
        msg = self.world.message(request.match_info["channel_id"], request.match_info["message_id"])
        self._require(self.world.channels[msg.channel_id], Perm.MANAGE_MESSAGES)
        event: JSON = {"channel_id": str(msg.channel_id), "message_id": str(msg.id)}
        if msg.guild_id:
            event["guild_id"] = str(msg.guild_id)
        if "emoji" in request.match_info:
            key = emoji_key(self.world, request.match_info["emoji"])
            msg.reactions.pop(key, None)
            self.world.emit(
                "MESSAGE_REACTION_REMOVE_EMOJI",
                {**event, "emoji": self.world.emoji_key_payload(key)},
            )
        else:
            msg.reactions.clear()
            self.world.emit("MESSAGE_REACTION_REMOVE_ALL", event)

    async def reaction_users(self, request: web.Request) -> list[JSON]:
        """GET .../reactions/{emoji}?after=&limit= (users sorted by id, like Discord)."""
        msg, key = self._reaction_target(request)
        limit = max(1, min(100, int(request.query.get("limit", 25))))
        after = int(request.query.get("after", 0))
        ids = sorted(u for u in msg.reactions.get(key, []) if u > after)[:limit]
        return [self.world.user_payload(self.world.users[u]) for u in ids]

    # -- threads ----------------------------------------------------------------------------
    async def thread_from_message(self, request: web.Request) -> JSON:
        """POST /channels/{c}/messages/{m}/threads (thread id = message id)."""
        channel = self.world.channel(request.match_info["channel_id"])
        msg = self.world.message(channel.id, request.match_info["message_id"])
        self._require(channel, Perm.VIEW_CHANNEL, Perm.CREATE_PUBLIC_THREADS)
        if msg.thread_id:
            raise DiscordError(400, 160004, "A thread has already been created for this message")
        body = self._json(request)
        _check_len(body.get("name"), 100, "name")
        thread = self.world.create_thread(
            channel,
            body.get("name") or "thread",
            self.world.bot_user,
            thread_id=msg.id,
            auto_archive_duration=body.get("auto_archive_duration") or 1440,
        )
        msg.thread_id, msg.flags = thread.id, msg.flags | HAS_THREAD
        return self.world.channel_payload(thread)

    async def create_thread(self, request: web.Request) -> JSON:
        """POST /channels/{c}/threads: thread without message, or forum post with its first message."""
        channel = self.world.channel(request.match_info["channel_id"])
        body = self._json(request)
        _check_len(body.get("name"), 100, "name")
        if not body.get("name"):
            raise invalid_form("name", "BASE_TYPE_REQUIRED", "This field is required")
        world = self.world
        if channel.type == ChannelType.FORUM:
            self._require(channel, Perm.VIEW_CHANNEL, Perm.SEND_MESSAGES)
            first = body.get("message") or {}
            fields = self._message_fields(request, first, channel)
            tags = {int(t["id"]) for t in channel.available_tags}
            if any(int(t) not in tags for t in body.get("applied_tags") or []):
                raise invalid_form("applied_tags", "FORUM_TAG_UNKNOWN", "Unknown tag")
            thread = world.create_thread(
                channel,
                body["name"],
                world.bot_user,
                auto_archive_duration=body.get("auto_archive_duration") or 1440,
                applied_tags=body.get("applied_tags") or [],
            )
            msg = world.create_message(thread, world.bot_user, id=thread.id, **fields)
            return {**world.channel_payload(thread), "message": world.message_payload(msg)}
        if channel.type not in (ChannelType.TEXT, ChannelType.NEWS):
            raise DiscordError(400, 50024, "Cannot execute action on this channel type")
        type_ = int(body.get("type") or ChannelType.PRIVATE_THREAD)
        self._require(
            channel,
            Perm.VIEW_CHANNEL,
            Perm.CREATE_PRIVATE_THREADS
            if type_ == ChannelType.PRIVATE_THREAD
            else Perm.CREATE_PUBLIC_THREADS,
        )
        thread = world.create_thread(
            channel,
            body["name"],
            world.bot_user,
            type_=type_,
            auto_archive_duration=body.get("auto_archive_duration") or 1440,
        )
        return world.channel_payload(thread)

    async def join_thread(self, request: web.Request) -> None:
        """PUT /channels/{thread}/thread-members/{@me|user}."""
        thread = self.world.channel(request.match_info["channel_id"])
        uid = request.match_info["user_id"]
        thread.thread_members.add(
            self.world.bot_user.id if uid == "@me" else self.world.user(uid).id
        )

    async def leave_thread(self, request: web.Request) -> None:
        """DELETE /channels/{thread}/thread-members/{@me|user}."""
        thread = self.world.channel(request.match_info["channel_id"])
        uid = request.match_info["user_id"]
        thread.thread_members.discard(self.world.bot_user.id if uid == "@me" else int(uid))

    async def create_dm(self, request: web.Request) -> JSON:
        """POST /users/@me/channels {recipient_id} -> the DM channel."""
        user = self.world.user(self._json(request).get("recipient_id", 0))
        return self.world.channel_payload(self.world.dm_channel(user))

    # -- guilds, members, roles -------------------------------------------------------------
    async def get_guild(self, request: web.Request) -> JSON:
        """GET /guilds/{id}."""
        guild = self.world.guild(request.match_info["guild_id"])
        return {
            **self.world.guild_payload(guild),
            "approximate_member_count": len(guild.members),
            "approximate_presence_count": 0,
        }

    async def get_guild_channels(self, request: web.Request) -> list[JSON]:
        """GET /guilds/{id}/channels (no threads)."""
        guild = self.world.guild(request.match_info["guild_id"])
        return [
            self.world.channel_payload(self.world.channels[c])
            for c in guild.channels
            if not self.world.channels[c].is_thread
        ]

    async def get_roles(self, request: web.Request) -> list[JSON]:
        """GET /guilds/{id}/roles."""
        guild = self.world.guild(request.match_info["guild_id"])
        return [self.world.role_payload(r) for r in guild.roles.values()]

    async def list_members(self, request: web.Request) -> list[JSON]:
        """GET /guilds/{id}/members?limit=&after= (sorted by user id)."""
        guild = self.world.guild(request.match_info["guild_id"])
        limit = max(1, min(1000, int(request.query.get("limit", 1))))
        after = int(request.query.get("after", 0))
        ids = sorted(u for u in guild.members if u > after)[:limit]
        return [self.world.member_payload(guild.members[u]) for u in ids]

    async def get_member(self, request: web.Request) -> JSON:
        """GET /guilds/{g}/members/{u}."""
        guild = self.world.guild(request.match_info["guild_id"])
        return self.world.member_payload(self.world.member(guild, request.match_info["user_id"]))

    def _check_role_editable(self, guild_id: int, role_id: int | str) -> int:
        guild = self.world.guild(guild_id)
        role = guild.roles.get(int(role_id)) if str(role_id).isdigit() else None
        if role is None:
            raise unknown("Role", 10011)
        self._guild_perms(guild.id, Perm.MANAGE_ROLES)
        bot = self.world.bot_member(guild)
        if (
            role.managed
            or role.id == guild.id
            or (bot.id != guild.owner_id and role.position >= self.world.top_role_position(bot))
        ):
            raise missing_permissions()
        return role.id

    async def patch_member(self, request: web.Request) -> JSON:
        """PATCH /guilds/{g}/members/{u}: ``nick`` and ``roles``."""
        guild = self.world.guild(request.match_info["guild_id"])
        member = self.world.member(guild, request.match_info["user_id"])
        body = self._json(request)
        if "roles" in body:
            new = [int(r) for r in body["roles"] or []]
            for role_id in set(new) ^ set(member.role_ids):
                self._check_role_editable(guild.id, role_id)
            member.role_ids = new
        if "nick" in body:
            self._guild_perms(
                guild.id,
                Perm.CHANGE_NICKNAME if member.id == self.world.bot_user.id else Perm(1 << 27),
            )
            member.nick = body["nick"]
        self.world.member_updated(member)
        return self.world.member_payload(member)

    async def add_role(self, request: web.Request) -> None:
        """PUT /guilds/{g}/members/{u}/roles/{r} (manage_roles + hierarchy, else 403 50013)."""
        guild = self.world.guild(request.match_info["guild_id"])
        member = self.world.member(guild, request.match_info["user_id"])
        role_id = self._check_role_editable(guild.id, request.match_info["role_id"])
        if role_id not in member.role_ids:
            member.role_ids.append(role_id)
            self.world.member_updated(member)

    async def remove_role(self, request: web.Request) -> None:
        """DELETE /guilds/{g}/members/{u}/roles/{r}."""
        guild = self.world.guild(request.match_info["guild_id"])
        member = self.world.member(guild, request.match_info["user_id"])
        role_id = self._check_role_editable(guild.id, request.match_info["role_id"])
        if role_id in member.role_ids:
            member.role_ids.remove(role_id)
            self.world.member_updated(member)

    def _check_role_manageable(self, guild_id: int, role: Role, permissions: int = 0) -> None:
        """manage_roles, role strictly below the bot's top role, and no permission the bot lacks."""
        guild = self.world.guild(guild_id)
        self._guild_perms(guild.id, Perm.MANAGE_ROLES)
        bot = self.world.bot_member(guild)
        if bot.id == guild.owner_id:
            return
        if role.id != guild.id and role.position >= self.world.top_role_position(bot):
            raise missing_permissions()
        have = self.world.base_permissions(bot)
        if permissions & ~have and not have & Perm.ADMINISTRATOR:
            raise missing_permissions()

    def _role(self, request: web.Request) -> Role:
        guild = self.world.guild(request.match_info["guild_id"])
        role_id = request.match_info["role_id"]
        role = guild.roles.get(int(role_id)) if role_id.isdigit() else None
        if role is None:
            raise unknown("Role", 10011)
        return role

    async def create_role(self, request: web.Request) -> JSON:
        """POST /guilds/{g}/roles (manage_roles; only permissions the bot has) -> GUILD_ROLE_CREATE.
        The new role goes to position 1, just above @everyone."""
        guild = self.world.guild(request.match_info["guild_id"])
        body = self._json(request)
        _check_len(body.get("name"), 100, "name")
        perms = int(body.get("permissions") or 0)
        role = Role(
            self.world.ids.next(),
            guild.id,
            body.get("name") or "new role",
            perms,
            1,
            mentionable=bool(body.get("mentionable")),
            color=int(body.get("color") or 0),
        )
        self._check_role_manageable(guild.id, role, perms)
        for other in guild.roles.values():
            if other.id != guild.id and other.position >= 1:
                other.position += 1
        guild.roles[role.id] = role
        self.world.emit(
            "GUILD_ROLE_CREATE", {"guild_id": str(guild.id), "role": self.world.role_payload(role)}
        )
        return self.world.role_payload(role)

    async def edit_role(self, request: web.Request) -> JSON:
        """PATCH /guilds/{g}/roles/{r} (manage_roles, role below the bot's top role) ->
        GUILD_ROLE_UPDATE."""
        role = self._role(request)
        body = self._json(request)
        perms = int(body["permissions"]) if body.get("permissions") is not None else 0
        self._check_role_manageable(role.guild_id, role, perms & ~role.permissions)
        if role.managed and body.keys() - {"position"}:
            raise missing_permissions()
        _check_len(body.get("name"), 100, "name")
        for key in ("name", "mentionable", "color"):
            if body.get(key) is not None:
                setattr(role, key, body[key])
        if body.get("permissions") is not None:
            role.permissions = perms
        self.world.emit(
            "GUILD_ROLE_UPDATE",
            {"guild_id": str(role.guild_id), "role": self.world.role_payload(role)},
        )
        return self.world.role_payload(role)

    async def delete_role(self, request: web.Request) -> None:
        """DELETE /guilds/{g}/roles/{r} (manage_roles, below the bot's top role, not managed or
        @everyone) -> GUILD_ROLE_DELETE; members lose the role."""
        role = self._role(request)
        guild = self.world.guilds[role.guild_id]
        if role.managed or role.id == guild.id:
            raise DiscordError(400, 50028, "Invalid Role")
        self._check_role_manageable(guild.id, role)
        self.world.delete_role(role)

    async def get_voice_state(self, request: web.Request) -> JSON:
        """GET /guilds/{g}/voice-states/{user|@me} (10065 if not connected)."""
        guild = self.world.guild(request.match_info["guild_id"])
        uid = request.match_info["user_id"]
        user_id = self.world.bot_user.id if uid == "@me" else int(uid) if uid.isdigit() else 0
        state = guild.voice_states.get(user_id)
        if state is None:
            raise unknown("Voice State", 10065)
        return self.world.voice_state_payload(state)

    # -- scheduled events -------------------------------------------------------------------
    def _event(self, request: web.Request) -> ScheduledEvent:
        guild = self.world.guild(request.match_info["guild_id"])
        event = (
            guild.events.get(int(request.match_info["event_id"]))
            if request.match_info["event_id"].isdigit()
            else None
        )
        if event is None:
            raise unknown("Guild Scheduled Event", 10070)
        return event

    def _validate_event(self, guild_id: int, data: JSON) -> None:
        _check_len(data.get("name"), 100, "name")
        _check_len(data.get("description"), 1000, "description")
        if not data.get("name"):
            raise invalid_form("name", "BASE_TYPE_REQUIRED", "This field is required")
        start = data.get("scheduled_start_time")
        if not start:
            raise invalid_form(
                "scheduled_start_time", "BASE_TYPE_REQUIRED", "This field is required"
            )
        if str(start) < iso():
            raise invalid_form(
                "scheduled_start_time",
                "GUILD_SCHEDULED_EVENT_SCHEDULE_PAST",
                "Cannot schedule event in the past.",
            )
        end = data.get("scheduled_end_time")
        if end and str(end) <= str(start):
            raise invalid_form(
                "scheduled_end_time",
                "GUILD_SCHEDULED_EVENT_END_BEFORE_START",
                "Cannot schedule event to end before starting.",
            )
        if data.get("entity_type") == 3:
            if not (data.get("entity_metadata") or {}).get("location"):
                raise invalid_form(
                    "entity_metadata.location", "BASE_TYPE_REQUIRED", "This field is required"
                )
            if not end:
                raise invalid_form(
                    "scheduled_end_time", "BASE_TYPE_REQUIRED", "This field is required"
                )
        elif data.get("entity_type") in (1, 2):
            channel = self.world.channels.get(int(data.get("channel_id") or 0))
            if channel is None or channel.guild_id != guild_id:
                raise invalid_form("channel_id", "BASE_TYPE_REQUIRED", "This field is required")
        else:
            raise invalid_form(
                "entity_type", "BASE_TYPE_CHOICES", "Value must be one of (1, 2, 3)."
            )

    async def list_events(self, request: web.Request) -> list[JSON]:
        """GET /guilds/{g}/scheduled-events."""
        guild = self.world.guild(request.match_info["guild_id"])
        return [self.world.event_payload(e) for e in guild.events.values()]

    async def get_event(self, request: web.Request) -> JSON:
        """GET /guilds/{g}/scheduled-events/{e}."""
        return self.world.event_payload(self._event(request))

    async def create_event(self, request: web.Request) -> JSON:
        """POST /guilds/{g}/scheduled-events (manage_events or create_events)."""
        guild = self.world.guild(request.match_info["guild_id"])
        perms = self.world.base_permissions(self.world.bot_member(guild))
        if not perms & (Perm.MANAGE_EVENTS | Perm.CREATE_EVENTS):
            raise missing_permissions()
        body = self._json(request)
        self._validate_event(guild.id, body)
        data = {
            "name": body["name"],
            "description": body.get("description"),
            "channel_id": body.get("channel_id"),
            "scheduled_start_time": body["scheduled_start_time"],
            "scheduled_end_time": body.get("scheduled_end_time"),
            "privacy_level": body.get("privacy_level", 2),
            "status": 1,
            "entity_type": body["entity_type"],
            "entity_id": None,
            "entity_metadata": body.get("entity_metadata"),
            "user_count": 0,
            "image": None,
            "recurrence_rule": body.get("recurrence_rule"),
        }
        event = ScheduledEvent(self.world.ids.next(), guild.id, self.world.bot_user.id, data)
        guild.events[event.id] = event
        self.world.emit("GUILD_SCHEDULED_EVENT_CREATE", self.world.event_payload(event))
        return self.world.event_payload(event)

    def _check_event_manage(self, event: ScheduledEvent) -> None:
        perms = self.world.base_permissions(
            self.world.bot_member(self.world.guilds[event.guild_id])
        )
        own = event.creator_id == self.world.bot_user.id and perms & Perm.CREATE_EVENTS
        if not (perms & Perm.MANAGE_EVENTS or own):
            raise missing_permissions()

    async def patch_event(self, request: web.Request) -> JSON:
        """PATCH /guilds/{g}/scheduled-events/{e}."""
        event = self._event(request)
        self._check_event_manage(event)
        merged = {**event.data, **self._json(request)}
        if self._json(request).keys() - {"status"}:
            self._validate_event(event.guild_id, merged)
        event.data = merged
        self.world.emit("GUILD_SCHEDULED_EVENT_UPDATE", self.world.event_payload(event))
        return self.world.event_payload(event)

    async def delete_event(self, request: web.Request) -> None:
        """DELETE /guilds/{g}/scheduled-events/{e}."""
        event = self._event(request)
        self._check_event_manage(event)
        del self.world.guilds[event.guild_id].events[event.id]
        self.world.emit("GUILD_SCHEDULED_EVENT_DELETE", self.world.event_payload(event))

    # -- interactions -----------------------------------------------------------------------
    def _respond_message(
        self, handle: InteractionHandle, request: web.Request, payload: JSON, loading: bool = False
    ) -> Message:
        """Create the message an interaction response/followup produces."""
        world = self.world
        channel = world.channel(handle.channel.id)  # 10003 once the channel was deleted
        if channel.type == ChannelType.DM:
            channel = world.dm_channel(handle.user)
        if loading:
            fields: JSON = {"flags": LOADING | (int(payload.get("flags") or 0) & EPHEMERAL)}
        else:
            fields = self._message_fields(request, payload, channel, allow_ephemeral=True)
        data = handle.payload.get("data") or {}
        meta: JSON = {
            "id": str(handle.id),
            "type": handle.type,
            "user": world.user_payload(handle.user),
            "authorizing_integration_owners": handle.payload.get(
                "authorizing_integration_owners", {}
            ),
        }
        if handle.type == 2:
            meta.update(name=data.get("name"), command_type=data.get("type", 1))
        if handle.component_message_id:
            meta["interacted_message_id"] = str(handle.component_message_id)
        msg_type = 20 if handle.type == 2 and handle.original_id is None else 0
        return world.create_message(
            channel,
            world.bot_user,
            webhook_id=world.application_id,
            application_id=world.application_id,
            interaction_metadata=meta,
            type=msg_type,
            **fields,
        )

    def _handle(self, token: str, interaction_id: str | None = None) -> InteractionHandle:
        handle = self.interactions.by_token.get(token)
        if handle is None or (interaction_id is not None and str(handle.id) != interaction_id):
            raise unknown("interaction", 10062)
        return handle

    async def interaction_callback(self, request: web.Request) -> JSON | None:
        """POST /interactions/{id}/{token}/callback (types 1, 4, 5, 6, 7, 8, 9)."""
        handle = self._handle(request.match_info["token"], request.match_info["interaction_id"])
        if handle.responded:
            raise DiscordError(400, 40060, "Interaction has already been acknowledged.")
        elapsed = time.monotonic() - handle.created_at
        if self.interactions.enforce_deadline and elapsed > self.interactions.deadline:
            handle.late_acks.append(elapsed)
            log.warning("interaction %s acknowledged after %.3fs: 10062", handle.id, elapsed)
            raise unknown("interaction", 10062)
        body = self._json(request)
        cb_type, data = int(body.get("type", 0)), body.get("data") or {}
        message: Message | None = None
        if cb_type not in CALLBACK_TYPES_FOR.get(handle.type, ()):
            raise invalid_form(
                "type",
                "INTERACTION_RESPONSE_TYPE_INVALID",
                f"Callback type {cb_type} is not valid for interaction type {handle.type}",
            )
        if cb_type in (6, 7) and not handle.component_message_id:
            raise invalid_form("type", "INTERACTION_RESPONSE_TYPE_INVALID", "No message to update")
        if cb_type in (4, 5):
            message = self._respond_message(handle, request, data, loading=cb_type == 5)
            handle.original_id = message.id
        elif cb_type in (6, 7):
            handle.original_id = handle.component_message_id
            message = self.world.messages.get(handle.original_id or 0)
            if cb_type == 7 and message is not None:
                self.world.edit_message(
                    message,
                    self.world.bot_user,
                    self._edit_fields(request, data, message),
                    via="interaction",
                )
        elif cb_type == 9:
            validate_modal(data)
        handle.acked_at = time.monotonic()
        handle.replies.append(Reply("callback", cb_type, data, message))
        log.debug("interaction %s callback type %s", handle.id, cb_type)
        if request.query.get("with_response") not in ("1", "true", "True"):
            return None
        response: JSON = {
            "interaction": {
                "id": str(handle.id),
                "type": handle.type,
                "response_message_id": str(message.id) if message else None,
                "response_message_loading": cb_type == 5,
                "response_message_ephemeral": bool(message and message.ephemeral),
            },
            "resource": {"type": cb_type},
        }
        if message is not None and cb_type != 6:
            response["resource"]["message"] = self.world.message_payload(message)
        return response

    async def create_followup(self, request: web.Request) -> JSON | None:
        """POST /webhooks/{app}/{token}[?wait=true] - interaction followup."""
        if request.match_info["app_id"] != str(self.world.application_id):
            raise unknown("Webhook", 10015)
        handle = self._handle(request.match_info["token"])
        if not handle.responded:
            raise unknown("Webhook", 10015)
        payload = self._json(request)
        message = self._respond_message(handle, request, payload)
        handle.followup_ids.append(message.id)
        handle.replies.append(Reply("followup", None, payload, message))
        return (
            self.world.message_payload(message)
            if request.query.get("wait") in ("true", "1", "True")
            else None
        )

    def _webhook_message(self, request: web.Request) -> tuple[InteractionHandle, Message]:
        if request.match_info["app_id"] != str(self.world.application_id):
            raise unknown("Webhook", 10015)
        handle = self._handle(request.match_info["token"])
        mid = request.match_info["message_id"]
        message_id = (
            handle.original_id if mid == "@original" else int(mid) if mid.isdigit() else None
        )
        if message_id is None or (
            mid != "@original"
            and message_id not in handle.followup_ids
            and message_id != handle.original_id
        ):
            raise unknown("Message", 10008)
        message = self.world.messages.get(message_id)
        if message is None:
            raise unknown("Message", 10008)
        return handle, message

    async def get_webhook_message(self, request: web.Request) -> JSON:
        """GET /webhooks/{app}/{token}/messages/{@original|id}."""
        return self.world.message_payload(self._webhook_message(request)[1])

    async def patch_webhook_message(self, request: web.Request) -> JSON:
        """PATCH /webhooks/{app}/{token}/messages/{@original|id} - edits (also fills a deferred reply)."""
        handle, message = self._webhook_message(request)
        payload = self._json(request)
        fields = self._edit_fields(request, payload, message)
        if message.flags & LOADING:
            fields["flags"] = fields.get("flags", message.flags) & ~LOADING
            message.flags = fields["flags"]
        self.world.edit_message(message, self.world.bot_user, fields, via="interaction")
        handle.replies.append(Reply("edit", None, payload, message))
        return self.world.message_payload(message)

    async def delete_webhook_message(self, request: web.Request) -> None:
        """DELETE /webhooks/{app}/{token}/messages/{@original|id}."""
        handle, message = self._webhook_message(request)
        self.world.delete_message(message)
        handle.replies.append(Reply("delete", None, {}, message))
