"""Interactions sent to the bot (commands, autocomplete, components, modals) and the bot's replies.

:class:`Interactions` builds INTERACTION_CREATE payloads the way Discord does
(typed options from the synced command schema, ``resolved`` data, member with
permissions, ``app_permissions`` ...).  Each one gets an
:class:`InteractionHandle` that collects the bot's :class:`Reply` objects
(callback, followups, @original edits) for the test to await.
"""

# Waiting helpers take an explicit `timeout` on purpose: every await in a test must fail fast.
# ruff: noqa: ASYNC109

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from .components import CT, find_component, walk_components, with_ids
from .state import (
    DEFAULT_UPLOAD_LIMIT,
    EPHEMERAL,
    JSON,
    Channel,
    Member,
    Message,
    Role,
    User,
    World,
    next_token,
)

__all__ = ["InteractionHandle", "Interactions", "Reply", "walk_components"]

log = logging.getLogger(__name__)
T = TypeVar("T")

APPLICATION_COMMAND, COMPONENT, AUTOCOMPLETE, MODAL_SUBMIT = 2, 3, 4, 5
DEFER_TYPES = (5, 6)


def _int(comp: JSON, key: str, default: int) -> int:
    """``comp[key]`` as int, or ``default`` when absent or null (discord.py sends nulls)."""
    value = comp.get(key)
    return default if value is None else int(value)


async def wait_until(
    check: Callable[[], T | None], timeout: float, what: str | Callable[[], str]
) -> T:
    """Poll ``check`` (every 5 ms) until it returns something truthy; raise ``TimeoutError`` naming ``what``."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() >= deadline:
            raise TimeoutError(
                f"timed out after {timeout}s waiting for {what() if callable(what) else what}"
            )
        await asyncio.sleep(0.005)


@dataclass
class Reply:
    """One thing the bot did in answer to an interaction.

    ``kind`` is ``"callback"`` (``type`` = callback type: 4 message, 5 deferred, 6 deferred update,
    7 update message, 8 autocomplete, 9 modal), ``"followup"``, ``"edit"`` (of @original or a followup)
    or ``"delete"``.  ``data`` is the body as the bot sent it; ``message`` the stored message it created
    or edited (None for modals, autocomplete and deferred updates).
    """

    kind: str
    type: int | None
    data: JSON
    message: Message | None = None

    @property
    def content(self) -> str:
        """Message content (from the stored message when there is one)."""
        return self.message.content if self.message else self.data.get("content") or ""

    @property
    def embeds(self) -> list[JSON]:
        """Embeds as stored."""
        return self.message.embeds if self.message else self.data.get("embeds") or []

    @property
    def components(self) -> list[JSON]:
        """Components (message components or modal components)."""
        return self.message.components if self.message else self.data.get("components") or []

    @property
    def flags(self) -> int:
        """Message flags (64 = ephemeral)."""
        return self.message.flags if self.message else int(self.data.get("flags") or 0)

    @property
    def ephemeral(self) -> bool:
        """Whether the reply is only visible to the invoking user."""
        return bool(self.flags & EPHEMERAL)

    @property
    def custom_id(self) -> str | None:
        """Modal custom_id (type 9)."""
        return self.data.get("custom_id")

    @property
    def title(self) -> str | None:
        """Modal title (type 9)."""
        return self.data.get("title")

    @property
    def choices(self) -> list[JSON]:
        """Autocomplete choices (type 8)."""
        return self.data.get("choices") or []


@dataclass
class InteractionHandle:
    """An interaction the test sent; await the bot's answer with :meth:`wait` or :meth:`callback`."""

    id: int
    token: str
    type: int
    payload: JSON
    channel: Channel
    user: User
    component_message_id: int | None = None
    replies: list[Reply] = field(default_factory=list)
    original_id: int | None = None
    followup_ids: list[int] = field(default_factory=list)
    modal_submitted: bool = False
    created_at: float = field(default_factory=time.monotonic)  # when INTERACTION_CREATE was sent
    acked_at: float | None = None  # when the initial callback was accepted
    late_acks: list[float] = field(default_factory=list)  # refused callbacks (deadline enforced)

    @property
    def responded(self) -> bool:
        """Whether the initial callback was made."""
        return any(r.kind == "callback" for r in self.replies)

    @property
    def ack_latency(self) -> float | None:
        """Seconds from INTERACTION_CREATE to the accepted initial callback (None: not yet)."""
        return None if self.acked_at is None else self.acked_at - self.created_at

    def describe(self) -> str:
        """Human-readable description for timeout errors."""
        name = self.payload.get("data", {}).get("name") or self.payload.get("data", {}).get(
            "custom_id"
        )
        kinds = [f"{r.kind}:{r.type}" for r in self.replies]
        return (
            f"reply to interaction {self.id} (type {self.type}, {name!r}); replies so far: {kinds}"
        )

    async def wait_for(self, check: Callable[[Reply], bool], timeout: float = 2.0) -> Reply:
        """First reply (in order) matching ``check``."""
        return await wait_until(
            lambda: next((r for r in self.replies if check(r)), None), timeout, self.describe
        )

    async def callback(self, timeout: float = 2.0) -> Reply:
        """The initial interaction callback (any type)."""
        return await self.wait_for(lambda r: r.kind == "callback", timeout)

    async def wait(self, timeout: float = 2.0) -> Reply:
        """First reply with something to show: skips deferrals (types 5/6) and waits for the edit/followup."""
        return await self.wait_for(
            lambda r: r.kind != "delete" and r.type not in DEFER_TYPES, timeout
        )

    async def followup(self, index: int = 0, timeout: float = 2.0) -> Reply:
        """The ``index``-th followup message."""
        return await wait_until(
            lambda: ([r for r in self.replies if r.kind == "followup"][index:] or [None])[0],
            timeout,
            self.describe,
        )

    async def modal(self, timeout: float = 2.0) -> Reply:
        """The modal the bot opened (callback type 9)."""
        return await self.wait_for(lambda r: r.type == 9, timeout)


class Interactions:
    """Builds interactions from the stored command schema and tracks their handles."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.handles: dict[int, InteractionHandle] = {}
        self.by_token: dict[str, InteractionHandle] = {}
        self.enforce_deadline = False  # refuse initial callbacks later than `deadline` (10062)
        self.deadline = 3.0
        self._invoker: User | None = None

    # -- common -----------------------------------------------------------------------------
    def _create(
        self,
        type_: int,
        actor: Member | User,
        channel: Channel,
        data: JSON,
        message: Message | None = None,
    ) -> InteractionHandle:
        world = self.world
        user = actor.user if isinstance(actor, Member) else actor
        ch_payload = world.channel_payload(channel)
        payload: JSON = {
            "id": str(world.ids.next()),
            "application_id": str(world.application_id),
            "type": type_,
            "data": data,
            "channel_id": str(channel.id),
            "token": next_token(),
            "version": 1,
            "locale": "en-US",
            "entitlements": [],
            "attachment_size_limit": DEFAULT_UPLOAD_LIMIT,
        }
        if channel.guild_id is not None:
            guild = world.guilds[channel.guild_id]
            member = world.member(guild, user.id)
            ch_payload["permissions"] = str(world.permissions_in(member, channel))
            payload.update(
                attachment_size_limit=guild.upload_limit,
                guild_id=str(guild.id),
                guild_locale="en-US",
                context=0,
                guild={"id": str(guild.id), "locale": "en-US", "features": []},
                member=world.member_payload(member, channel=channel),
                app_permissions=str(world.permissions_in(world.bot_member(guild), channel)),
                authorizing_integration_owners={"0": str(guild.id)},
            )
        else:
            payload.update(
                user=world.user_payload(user),
                context=1,
                app_permissions=str((1 << 51) - 1),
                authorizing_integration_owners={"0": "0"},
            )
        payload["channel"] = ch_payload
        if message is not None:
            payload["message"] = world.message_payload(message)
        handle = InteractionHandle(
            int(payload["id"]),
            payload["token"],
            type_,
            payload,
            channel,
            user,
            component_message_id=message.id if message else None,
        )
        self.handles[handle.id] = handle
        self.by_token[handle.token] = handle
        world.emit("INTERACTION_CREATE", payload)
        return handle

    # -- application commands ---------------------------------------------------------------
    def find_command(self, channel: Channel, name: str, type_: int = 1) -> JSON:
        """The synced command called ``name`` (guild commands first, then global)."""
        scopes = ([channel.guild_id] if channel.guild_id else []) + [None]
        for scope in scopes:
            for cmd in self.world.commands.get(scope, []):
                if cmd["name"] == name and cmd.get("type", 1) == type_:
                    return cmd
        synced = {str(k): [c["name"] for c in v] for k, v in self.world.commands.items()}
        raise LookupError(
            f"no synced command {name!r} (type {type_}); synced so far: {synced} - did the bot sync?"
        )

    def command(
        self,
        actor: Member | User,
        channel: Channel,
        path: str,
        values: JSON,
        focused: str | None = None,
    ) -> InteractionHandle:
        """APPLICATION_COMMAND (or AUTOCOMPLETE when ``focused`` is set) for ``"name [group] [sub]"``."""
        top, *subpath = path.split()
        cmd = self.find_command(channel, top)
        resolved: JSON = {}
        self._invoker = actor.user if isinstance(actor, Member) else actor
        options = self._options(
            cmd.get("options") or [], subpath, dict(values), resolved, channel, focused
        )
        data: JSON = {"id": cmd["id"], "name": cmd["name"], "type": 1, "options": options}
        if cmd.get("guild_id"):
            data["guild_id"] = cmd["guild_id"]
        if resolved:
            data["resolved"] = resolved
        return self._create(AUTOCOMPLETE if focused else APPLICATION_COMMAND, actor, channel, data)

    def context_menu(
        self, actor: Member | User, channel: Channel, name: str, target: Member | User | Message
    ) -> InteractionHandle:
        """User (type 2) or message (type 3) context-menu command."""
        is_message = isinstance(target, Message)
        cmd = self.find_command(channel, name, 3 if is_message else 2)
        resolved: JSON = {}
        if isinstance(target, Message):
            resolved["messages"] = {str(target.id): self.world.message_payload(target)}
        else:
            self._resolve_user(target, resolved, channel)
        data = {
            "id": cmd["id"],
            "name": name,
            "type": cmd["type"],
            "target_id": str(target.id),
            "resolved": resolved,
        }
        return self._create(APPLICATION_COMMAND, actor, channel, data)

    def _options(
        self,
        schema: list[JSON],
        subpath: list[str],
        values: JSON,
        resolved: JSON,
        channel: Channel,
        focused: str | None,
    ) -> list[JSON]:
        if subpath:
            sub = next((o for o in schema if o["name"] == subpath[0] and o["type"] in (1, 2)), None)
            if sub is None:
                raise LookupError(
                    f"no subcommand {subpath[0]!r}; have {[o['name'] for o in schema]}"
                )
            inner = self._options(
                sub.get("options") or [], subpath[1:], values, resolved, channel, focused
            )
            return [{"type": sub["type"], "name": sub["name"], "options": inner}]
        out: list[JSON] = []
        by_name = {o["name"].replace("-", "_"): o for o in schema}
        for key, value in values.items():
            opt = by_name.get(key.replace("-", "_"))
            if opt is None:
                raise LookupError(
                    f"command has no option {key!r}; options: {[o['name'] for o in schema]}"
                )
            entry: JSON = {"type": opt["type"], "name": opt["name"]}
            if key == focused:
                entry.update(value=str(value), focused=True)
            else:
                entry["value"] = self._option_value(opt, value, resolved, channel)
            out.append(entry)
        given = {o["name"] for o in out}
        missing = [o["name"] for o in schema if o.get("required") and o["name"] not in given]
        if missing and focused is None:
            raise ValueError(
                f"required options missing: {missing} (Discord's client would not send this)"
            )
        return out

    def _option_value(self, opt: JSON, value: Any, resolved: JSON, channel: Channel) -> Any:
        kind = opt["type"]
        if kind == 3:
            value = str(value)
        elif kind == 4:
            value = int(value)
        elif kind == 10:
            value = float(value)
        elif kind == 5:
            value = bool(value)
        elif kind in (6, 9) and isinstance(value, (Member, User)):
            return self._resolve_user(value, resolved, channel)
        elif kind in (8, 9) and isinstance(value, Role):
            resolved.setdefault("roles", {})[str(value.id)] = self.world.role_payload(value)
            return str(value.id)
        elif kind == 7 and isinstance(value, Channel):
            data = {
                k: v
                for k, v in self.world.channel_payload(value).items()
                if k in ("id", "name", "type", "parent_id", "thread_metadata", "guild_id")
            }
            # Discord: the invoking user's computed permissions in that channel (overwrites included)
            invoker = self._invoker or self.world.bot_user
            data["permissions"] = str(self.world.user_permissions_in(invoker, value))
            resolved.setdefault("channels", {})[str(value.id)] = data
            return str(value.id)
        elif kind == 11:
            return self._resolve_attachment(value, resolved, channel)
        else:
            raise TypeError(f"option {opt['name']!r} (type {kind}) can't take {value!r}")
        choices = opt.get("choices")
        if choices and value not in [c["value"] for c in choices]:
            raise ValueError(f"{value!r} is not one of the choices of {opt['name']!r}: {choices}")
        return value

    def _resolve_user(self, target: Member | User, resolved: JSON, channel: Channel) -> str:
        user = target.user if isinstance(target, Member) else target
        resolved.setdefault("users", {})[str(user.id)] = self.world.user_payload(user)
        guild = self.world.guilds.get(channel.guild_id or 0)
        member = guild.members.get(user.id) if guild else None
        if member is not None:
            resolved.setdefault("members", {})[str(user.id)] = self.world.member_payload(
                member, user=False, channel=channel
            )
        return str(user.id)

    def _resolve_attachment(self, value: Any, resolved: JSON, channel: Channel) -> str:
        """``value``: ``(filename, bytes)``, ``(filename, bytes, content_type)`` or a filename."""
        if isinstance(value, str):
            value = (value, b"")
        filename, data, *rest = value
        att = self.world.new_attachment(
            channel.id, filename, data, rest[0] if rest else None, ephemeral=True
        )
        resolved.setdefault("attachments", {})[att["id"]] = att
        return att["id"]

    # -- components and modals --------------------------------------------------------------
    def _select_values(
        self, comp: JSON, kind: int, values: Any, channel: Channel, resolved: JSON, strict: bool
    ) -> list[str]:
        """Select values as Discord sends them; user/role/channel selects add ``resolved`` data.

        ``values``: one value or a list; for user/role/mentionable/channel selects ``Member``/``User``
        /``Role``/``Channel`` objects (or raw ids).  ``strict`` checks what Discord's client enforces.
        """
        picked = list(values) if isinstance(values, (list, tuple)) else [values]
        out: list[str] = []
        for value in picked:
            if kind == CT.STRING_SELECT or not isinstance(value, (Member, User, Role, Channel)):
                out.append(str(value))
            elif isinstance(value, (Member, User)) and kind in (
                CT.USER_SELECT,
                CT.MENTIONABLE_SELECT,
            ):
                out.append(self._resolve_user(value, resolved, channel))
            elif isinstance(value, Role) and kind in (CT.ROLE_SELECT, CT.MENTIONABLE_SELECT):
                resolved.setdefault("roles", {})[str(value.id)] = self.world.role_payload(value)
                out.append(str(value.id))
            elif isinstance(value, Channel) and kind == CT.CHANNEL_SELECT:
                out.append(
                    self._option_value({"type": 7, "name": "channel"}, value, resolved, channel)
                )
            else:
                raise TypeError(f"a type {kind} select can't take {value!r}")
        if strict:
            cid = comp.get("custom_id")
            if kind == CT.STRING_SELECT:
                options = [str(o.get("value")) for o in comp.get("options") or []]
                unknown_values = [v for v in out if v not in options]
                if unknown_values:
                    raise ValueError(
                        f"select {cid!r} has no options {unknown_values}; it has {options}"
                    )
            low = _int(comp, "min_values", 1)
            high = _int(comp, "max_values", 1)
            if comp.get("required") is False and not out:
                low = 0
            if not low <= len(out) <= high:
                raise ValueError(
                    f"select {cid!r} takes {low}..{high} values, got {out} "
                    "(Discord's client would not send this)"
                )
        return out

    def component(
        self,
        actor: Member | User,
        message: Message,
        custom_id: str,
        values: Any = None,
        *,
        force: bool = False,
        component_type: int | None = None,
    ) -> InteractionHandle:
        """MESSAGE_COMPONENT interaction for the component ``custom_id`` on ``message`` (found
        anywhere in the tree: rows, sections, containers).

        ``force``: send it even if the message has no such component or it is disabled (a forged
        or stale press); the type is then ``component_type`` (default: button, or string select
        when ``values`` are given).
        """
        comp = find_component(message.components, custom_id)
        if comp is None and not force:
            raise LookupError(
                f"message {message.id} has no component {custom_id!r}; it has {message.custom_ids}"
            )
        if comp is not None and comp.get("disabled") and not force:
            raise ValueError(
                f"component {custom_id!r} is disabled; Discord's client would not send a click"
            )
        default_type = CT.BUTTON if values is None else CT.STRING_SELECT
        kind = int(component_type or (comp or {}).get("type") or default_type)
        channel = self.world.channels.get(message.channel_id)
        if channel is None:
            raise LookupError(f"the channel of message {message.id} was deleted")
        data: JSON = {"custom_id": custom_id, "component_type": kind}
        if comp is not None and comp.get("id") is not None:
            data["id"] = comp["id"]
        if kind != CT.BUTTON:
            resolved: JSON = {}
            data["values"] = self._select_values(
                comp or {},
                kind,
                [] if values is None else values,
                channel,
                resolved,
                strict=comp is not None and not force,
            )
            if resolved:
                data["resolved"] = resolved
        return self._create(COMPONENT, actor, channel, data, message)

    def forged_message(
        self, channel: Channel, custom_id: str, component_type: int, author: User | None = None
    ) -> Message:
        """An ephemeral message (stored, never dispatched) carrying one component ``custom_id``:
        the kind of old or foreign message whose press the bot did not expect."""
        if component_type == CT.BUTTON:
            comp: JSON = {"type": 2, "style": 2, "label": "press", "custom_id": custom_id}
        else:
            comp = {"type": component_type, "custom_id": custom_id}
            if component_type == CT.STRING_SELECT:
                comp["options"] = [{"label": "x", "value": "x"}]
        return self.world.create_message(
            channel,
            author or self.world.bot_user,
            components=with_ids([{"type": 1, "components": [comp]}]),
            flags=EPHEMERAL,
            webhook_id=self.world.application_id,
            application_id=self.world.application_id,
        )

    def find_modal_source(self, custom_id: str) -> InteractionHandle:
        """The latest interaction the bot answered with a modal called ``custom_id`` not yet submitted."""
        for handle in reversed(list(self.handles.values())):
            if not handle.modal_submitted and any(
                r.type == 9 and r.data.get("custom_id") == custom_id for r in handle.replies
            ):
                return handle
        raise LookupError(f"the bot has not opened a modal with custom_id {custom_id!r}")

    def modal_submit(
        self, actor: Member | User, source: InteractionHandle, values: dict[str, Any]
    ) -> InteractionHandle:
        """MODAL_SUBMIT for the modal the bot opened on ``source``; fields keyed by custom_id or label.

        Values: text input ``str``; string select ``str`` or list; user/role/mentionable/channel
        select objects or ids; file upload ``[(filename, bytes[, content_type])]``; radio group
        ``str`` (or None); checkbox group list; checkbox ``bool``.  Fields left out keep their
        defaults (text ``value``, options marked ``default``, checkbox ``default``).  What Discord's
        client enforces (required fields, lengths, option values, min/max) raises ``ValueError``.
        """
        modal = next((r.data for r in source.replies if r.type == 9), None)
        if modal is None:
            raise LookupError(
                f"interaction {source.id} did not open a modal; replies: {source.describe()}"
            )
        remaining = dict(values)
        resolved: JSON = {}
        components: list[JSON] = []
        for comp in with_ids(modal.get("components") or []):
            kind = comp.get("type")
            if kind == CT.ACTION_ROW:
                rows = [
                    self._fill(child, child.get("label"), remaining, source.channel, resolved)
                    for child in comp.get("components", [])
                ]
                components.append(
                    {"type": 1, "id": comp["id"], "components": [r for r in rows if r]}
                )
            elif kind == CT.LABEL:
                filled = self._fill(
                    comp["component"], comp.get("label"), remaining, source.channel, resolved
                )
                if filled:
                    components.append({"type": 18, "id": comp["id"], "component": filled})
            elif kind == CT.TEXT_DISPLAY:
                components.append({"type": 10, "id": comp["id"]})
        if remaining:
            raise LookupError(f"modal {modal.get('custom_id')!r} has no fields {list(remaining)}")
        message = self.world.messages.get(source.component_message_id or 0)
        data: JSON = {"custom_id": modal["custom_id"], "components": components}
        if resolved:
            data["resolved"] = resolved
        source.modal_submitted = True
        return self._create(MODAL_SUBMIT, actor, source.channel, data, message)

    def forged_modal_submit(
        self,
        actor: Member | User,
        channel: Channel,
        custom_id: str,
        fields: dict[str, Any],
        message: Message | None = None,
    ) -> InteractionHandle:
        """A MODAL_SUBMIT for a modal the bot never opened: each field becomes a Label holding a
        text input (``str``), string select (list), checkbox (``bool``) or radio group (None)."""
        components: list[JSON] = []
        for i, (field_id, value) in enumerate(fields.items()):
            if isinstance(value, bool):
                inner: JSON = {"type": 23, "custom_id": field_id, "value": value}
            elif isinstance(value, (list, tuple)):
                inner = {"type": 3, "custom_id": field_id, "values": [str(v) for v in value]}
            elif value is None:
                inner = {"type": 21, "custom_id": field_id, "value": None}
            else:
                inner = {"type": 4, "custom_id": field_id, "value": str(value)}
            inner["id"] = 2 * i + 2
            components.append({"type": 18, "id": 2 * i + 1, "component": inner})
        data = {"custom_id": custom_id, "components": components}
        return self._create(MODAL_SUBMIT, actor, channel, data, message)

    def _fill(
        self,
        comp: JSON,
        label: str | None,
        remaining: dict[str, Any],
        channel: Channel,
        resolved: JSON,
    ) -> JSON | None:
        custom_id = comp.get("custom_id")
        if custom_id is None:
            return None
        key = custom_id if custom_id in remaining else label if label in remaining else None
        given = key is not None
        value = remaining.pop(key) if key is not None else None
        kind = int(comp["type"])
        name = label or custom_id
        required = kind != CT.CHECKBOX if comp.get("required") is None else comp["required"]
        out: JSON = {"type": kind, "id": comp.get("id"), "custom_id": custom_id}
        if kind == CT.TEXT_INPUT:
            text = str(value) if value is not None else str(comp.get("value") or "")
            if required and not text:
                raise ValueError(f"modal field {name!r} is required")
            low, high = comp.get("min_length"), comp.get("max_length")
            if text and (low is not None and len(text) < int(low)):
                raise ValueError(f"modal field {name!r} needs at least {low} characters")
            if high is not None and len(text) > int(high):
                raise ValueError(f"modal field {name!r} takes at most {high} characters")
            out["value"] = text
        elif kind in (CT.RADIO_GROUP, CT.CHECKBOX_GROUP, CT.STRING_SELECT):
            options = [str(o.get("value")) for o in comp.get("options") or []]
            defaults = [str(o["value"]) for o in comp.get("options") or [] if o.get("default")]
            if not given:
                picked = defaults
            elif value is None:
                picked = []
            else:
                picked = [str(v) for v in (value if isinstance(value, (list, tuple)) else [value])]
            bad = [v for v in picked if v not in options]
            if bad:
                raise ValueError(f"modal field {name!r} has no options {bad}; it has {options}")
            if required and not picked:
                raise ValueError(f"modal field {name!r} is required")
            if kind == CT.RADIO_GROUP:
                if len(picked) > 1:
                    raise ValueError(f"radio group {name!r} takes one value, got {picked}")
                out["value"] = picked[0] if picked else None
            else:
                low = _int(comp, "min_values", 1) if required else 0
                high = _int(comp, "max_values", len(options) if kind == CT.CHECKBOX_GROUP else 1)
                if picked and not low <= len(picked) <= high:
                    raise ValueError(
                        f"modal field {name!r} takes {low}..{high} values, got {picked}"
                    )
                out["values"] = picked
        elif kind == CT.CHECKBOX:
            out["value"] = bool(comp.get("default", False) if value is None else value)
        elif kind == CT.FILE_UPLOAD:
            files = [] if value is None else list(value) if isinstance(value, list) else [value]
            if required and not files:
                raise ValueError(f"modal field {name!r} is required")
            out["values"] = [self._resolve_attachment(f, resolved, channel) for f in files]
        else:  # user / role / mentionable / channel select
            picked_values = [] if value is None else value
            out["values"] = self._select_values(
                comp, kind, picked_values, channel, resolved, strict=False
            )
            if required and not out["values"]:
                raise ValueError(f"modal field {name!r} is required")
        return out
