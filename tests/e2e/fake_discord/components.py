"""Message and modal components: walking the tree, Discord's automatic ``id``s, and Discord's limits.

Legacy messages hold up to five action rows.  Messages flagged ``IS_COMPONENTS_V2`` (``1 << 15``) are
built from layout components (containers, sections, text displays ...) and may not carry
``content``/``embeds``/``poll``/``sticker_ids``.  Modals hold one to five top-level items
(labels, text displays, or legacy action rows with one text input).
"""

from __future__ import annotations

import copy
import enum
from collections.abc import Iterator
from typing import Any

from .errors import JSON, DiscordError, invalid_form

IS_COMPONENTS_V2 = 1 << 15
MAX_V2_COMPONENTS = 40
MAX_TEXT_DISPLAY_CHARS = 4000
MAX_MODAL_ITEMS = 5


class ComponentType(enum.IntEnum):
    """Discord component types (``discord.ComponentType`` numbers)."""

    ACTION_ROW = 1
    BUTTON = 2
    STRING_SELECT = 3
    TEXT_INPUT = 4
    USER_SELECT = 5
    ROLE_SELECT = 6
    MENTIONABLE_SELECT = 7
    CHANNEL_SELECT = 8
    SECTION = 9
    TEXT_DISPLAY = 10
    THUMBNAIL = 11
    MEDIA_GALLERY = 12
    FILE = 13
    SEPARATOR = 14
    CONTAINER = 17
    LABEL = 18
    FILE_UPLOAD = 19
    RADIO_GROUP = 21
    CHECKBOX_GROUP = 22
    CHECKBOX = 23


CT = ComponentType
SELECT_TYPES = frozenset(
    {CT.STRING_SELECT, CT.USER_SELECT, CT.ROLE_SELECT, CT.MENTIONABLE_SELECT, CT.CHANNEL_SELECT}
)
V2_TOP_LEVEL = frozenset(
    {
        CT.ACTION_ROW,
        CT.SECTION,
        CT.TEXT_DISPLAY,
        CT.MEDIA_GALLERY,
        CT.FILE,
        CT.SEPARATOR,
        CT.CONTAINER,
    }
)
CONTAINER_CHILDREN = V2_TOP_LEVEL - {CT.CONTAINER}
SECTION_ACCESSORIES = frozenset({CT.BUTTON, CT.THUMBNAIL})
MODAL_TOP_LEVEL = frozenset({CT.ACTION_ROW, CT.TEXT_DISPLAY, CT.LABEL})
LABEL_CHILDREN = SELECT_TYPES | {
    CT.TEXT_INPUT,
    CT.FILE_UPLOAD,
    CT.RADIO_GROUP,
    CT.CHECKBOX_GROUP,
    CT.CHECKBOX,
}


def walk_components(components: list[JSON]) -> Iterator[JSON]:
    """Yield every component depth-first: rows, sections (then their accessory), containers, labels."""
    for comp in components:
        yield comp
        yield from walk_components(comp.get("components") or [])
        for key in ("component", "accessory"):
            if isinstance(comp.get(key), dict):
                yield from walk_components([comp[key]])


def find_component(components: list[JSON], custom_id: str) -> JSON | None:
    """The component with ``custom_id`` anywhere in the tree, or None."""
    return next((c for c in walk_components(components) if c.get("custom_id") == custom_id), None)


def text_displays(components: list[JSON]) -> list[str]:
    """The ``content`` of every TextDisplay in the tree, in order."""
    return [str(c.get("content") or "") for c in walk_components(components) if c.get("type") == 10]


def with_ids(components: list[JSON]) -> list[JSON]:
    """A deep copy where components without an ``id`` (or ``id`` 0) get one, as Discord assigns them:
    sequentially in tree order, skipping ids the sender already used."""
    out = copy.deepcopy(components)
    used = {int(c["id"]) for c in walk_components(out) if c.get("id")}
    next_id = 1
    for comp in walk_components(out):
        if not comp.get("id"):
            while next_id in used:
                next_id += 1
            comp["id"] = next_id
            used.add(next_id)
    return out


def _err(path: str, code: str, message: str) -> DiscordError:
    return invalid_form(path, code, message)


def _check_custom_ids(components: list[JSON], path: str) -> None:
    seen: set[str] = set()
    for comp in walk_components(components):
        cid = comp.get("custom_id")
        if cid is None:
            continue
        if not 1 <= len(str(cid)) <= 100:
            raise _err(
                f"{path}.custom_id", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length."
            )
        if cid in seen:
            raise _err(
                path, "COMPONENT_CUSTOM_ID_DUPLICATED", "Component custom id cannot be duplicated"
            )
        seen.add(cid)


def _check_button(comp: JSON, path: str) -> None:
    style = int(comp.get("style") or 0)
    if style == 5:
        if not comp.get("url") or comp.get("custom_id"):
            raise _err(
                f"{path}.url",
                "BUTTON_COMPONENT_URL_REQUIRED",
                "A link button needs a url and no custom_id",
            )
    elif style != 6 and not comp.get("custom_id"):
        raise _err(
            f"{path}.custom_id", "BUTTON_COMPONENT_CUSTOM_ID_REQUIRED", "A custom id is required"
        )


def _check_row(row: JSON, path: str) -> None:
    children = row.get("components") or []
    types = [int(c.get("type", 0)) for c in children]
    if not children:
        raise _err(
            f"{path}.components", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 5 in length."
        )
    if any(t in SELECT_TYPES for t in types):
        if len(children) != 1:
            raise _err(
                f"{path}.components",
                "COMPONENT_LAYOUT_WIDTH_EXCEEDED",
                "The specified component exceeds the maximum width",
            )
    elif any(t != CT.BUTTON for t in types):
        raise _err(
            f"{path}.components",
            "COMPONENT_TYPE_INVALID",
            "Invalid component type in an action row",
        )
    elif len(children) > 5:
        raise _err(
            f"{path}.components", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 5 in length."
        )
    for i, child in enumerate(children):
        if int(child.get("type", 0)) == CT.BUTTON:
            _check_button(child, f"{path}.components.{i}")


def _check_v2_item(comp: JSON, path: str, allowed: frozenset[int]) -> None:
    kind = int(comp.get("type", 0))
    if kind not in allowed:
        raise _err(
            f"{path}.type",
            "UNION_TYPE_CHOICES",
            f'Value of field "type" must be one of {tuple(sorted(int(a) for a in allowed))}.',
        )
    if kind == CT.ACTION_ROW:
        _check_row(comp, path)
    elif kind == CT.CONTAINER:
        children = comp.get("components") or []
        if not children:
            raise _err(f"{path}.components", "BASE_TYPE_REQUIRED", "This field is required")
        for i, child in enumerate(children):
            _check_v2_item(child, f"{path}.components.{i}", CONTAINER_CHILDREN)
    elif kind == CT.SECTION:
        texts = comp.get("components") or []
        if not 1 <= len(texts) <= 3:
            raise _err(
                f"{path}.components", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 3 in length."
            )
        for i, child in enumerate(texts):
            _check_v2_item(child, f"{path}.components.{i}", frozenset({CT.TEXT_DISPLAY}))
        accessory = comp.get("accessory")
        if not isinstance(accessory, dict):
            raise _err(f"{path}.accessory", "BASE_TYPE_REQUIRED", "This field is required")
        _check_v2_item(accessory, f"{path}.accessory", SECTION_ACCESSORIES)
    elif kind == CT.BUTTON:
        _check_button(comp, path)
    elif kind == CT.TEXT_DISPLAY:
        if not str(comp.get("content") or ""):
            raise _err(f"{path}.content", "BASE_TYPE_REQUIRED", "This field is required")
    elif kind == CT.THUMBNAIL:
        if not (comp.get("media") or {}).get("url"):
            raise _err(f"{path}.media.url", "BASE_TYPE_REQUIRED", "This field is required")
    elif kind == CT.MEDIA_GALLERY:
        items = comp.get("items") or []
        if not 1 <= len(items) <= 10:
            raise _err(
                f"{path}.items", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 10 in length."
            )
    elif kind == CT.FILE:
        if not str((comp.get("file") or {}).get("url") or "").startswith("attachment://"):
            raise _err(
                f"{path}.file.url",
                "UNFURLED_MEDIA_ITEM_ATTACHMENT_ONLY",
                "A file component only supports attachment:// urls",
            )


def validate_components(payload: JSON, *, v2: bool) -> None:
    """Discord's component rules for a message body (legacy rows, or a Components V2 layout)."""
    components = payload.get("components") or []
    if not v2:
        if len(components) > 5:
            raise _err("components", "BASE_TYPE_MAX_LENGTH", "Must be 5 or fewer in length.")
        for i, row in enumerate(components):
            if int(row.get("type", 0)) != CT.ACTION_ROW:
                raise _err(
                    f"components.{i}.type",
                    "COMPONENT_LAYOUT_V2_REQUIRED",
                    "This component type requires the IS_COMPONENTS_V2 message flag",
                )
            _check_row(row, f"components.{i}")
        _check_custom_ids(components, "components")
        return
    for key in ("content", "embeds", "poll", "sticker_ids"):
        if payload.get(key):
            raise _err(
                key,
                "MESSAGE_CANNOT_USE_LEGACY_FIELDS_WITH_COMPONENTS_V2",
                f"The '{key}' field cannot be used when using MessageFlags.IS_COMPONENTS_V2",
            )
    total = sum(1 for _ in walk_components(components))
    if total > MAX_V2_COMPONENTS:
        raise _err(
            "components",
            "BASE_TYPE_MAX_LENGTH",
            f"Must be {MAX_V2_COMPONENTS} or fewer in length (all nested components count); got {total}.",
        )
    for i, comp in enumerate(components):
        _check_v2_item(comp, f"components.{i}", V2_TOP_LEVEL)
    chars = sum(len(t) for t in text_displays(components))
    if chars > MAX_TEXT_DISPLAY_CHARS:
        raise _err(
            "components",
            "COMPONENT_MAX_TEXT_DISPLAY_LENGTH_EXCEEDED",
            f"Text displays may hold at most {MAX_TEXT_DISPLAY_CHARS} characters in total; got {chars}.",
        )
    _check_custom_ids(components, "components")


def _check_options(comp: JSON, path: str, low: int, high: int) -> None:
    options = comp.get("options") or []
    if not low <= len(options) <= high:
        raise _err(
            f"{path}.options",
            "BASE_TYPE_BAD_LENGTH",
            f"Must be between {low} and {high} in length.",
        )
    values = [str(o.get("value")) for o in options]
    if len(set(values)) != len(values):
        raise _err(
            f"{path}.options",
            "SELECT_COMPONENT_OPTION_VALUE_DUPLICATED",
            "Option values must be unique",
        )


def _check_modal_input(comp: JSON, path: str) -> None:
    kind = int(comp.get("type", 0))
    if kind not in LABEL_CHILDREN:
        raise _err(
            f"{path}.type",
            "UNION_TYPE_CHOICES",
            f'Value of field "type" must be one of {tuple(sorted(int(a) for a in LABEL_CHILDREN))}.',
        )
    if not comp.get("custom_id"):
        raise _err(f"{path}.custom_id", "BASE_TYPE_REQUIRED", "This field is required")
    if kind == CT.STRING_SELECT:
        _check_options(comp, path, 1, 25)
    elif kind == CT.RADIO_GROUP:
        _check_options(comp, path, 2, 10)
    elif kind == CT.CHECKBOX_GROUP:
        _check_options(comp, path, 1, 10)
        low, high = comp.get("min_values"), comp.get("max_values")
        if (low is not None and not 0 <= int(low) <= 10) or (
            high is not None and not 1 <= int(high) <= 10
        ):
            raise _err(
                f"{path}.min_values", "BASE_TYPE_BAD_INT", "min_values 0-10, max_values 1-10"
            )
        if comp.get("required") is not False and low is not None and int(low) < 1:
            raise _err(
                f"{path}.min_values",
                "BASE_TYPE_MIN_VALUE",
                "min_values must be at least 1 when the group is required",
            )
    elif kind == CT.TEXT_INPUT:
        value = comp.get("value")
        if value is not None and len(str(value)) > 4000:
            raise _err(f"{path}.value", "BASE_TYPE_MAX_LENGTH", "Must be 4000 or fewer in length.")


def validate_modal(data: JSON) -> None:
    """Discord's rules for a modal (callback type 9): title, custom_id, 1-5 top-level items."""
    title = data.get("title")
    if not title or len(str(title)) > 45:
        raise _err("data.title", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 45 in length.")
    if not data.get("custom_id") or len(str(data["custom_id"])) > 100:
        raise _err("data.custom_id", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length.")
    components = data.get("components") or []
    if not 1 <= len(components) <= MAX_MODAL_ITEMS:
        raise _err(
            "data.components",
            "BASE_TYPE_BAD_LENGTH",
            f"Must be between 1 and {MAX_MODAL_ITEMS} in length.",
        )
    for i, comp in enumerate(components):
        path = f"data.components.{i}"
        kind = int(comp.get("type", 0))
        if kind not in MODAL_TOP_LEVEL:
            raise _err(
                f"{path}.type",
                "UNION_TYPE_CHOICES",
                'Value of field "type" must be one of (1, 10, 18).',
            )
        if kind == CT.ACTION_ROW:
            children = comp.get("components") or []
            if len(children) != 1 or int(children[0].get("type", 0)) != CT.TEXT_INPUT:
                raise _err(
                    f"{path}.components",
                    "BASE_TYPE_BAD_LENGTH",
                    "A modal action row holds exactly one text input",
                )
            _check_modal_input(children[0], f"{path}.components.0")
        elif kind == CT.LABEL:
            label = comp.get("label")
            if not label or len(str(label)) > 45:
                raise _err(
                    f"{path}.label", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 45 in length."
                )
            if comp.get("description") is not None and len(str(comp["description"])) > 100:
                raise _err(
                    f"{path}.description", "BASE_TYPE_MAX_LENGTH", "Must be 100 or fewer in length."
                )
            child = comp.get("component")
            if not isinstance(child, dict):
                raise _err(f"{path}.component", "BASE_TYPE_REQUIRED", "This field is required")
            _check_modal_input(child, f"{path}.component")
        elif not str(comp.get("content") or ""):
            raise _err(f"{path}.content", "BASE_TYPE_REQUIRED", "This field is required")
    _check_custom_ids(components, "data.components")


def component_summary(components: list[JSON]) -> list[Any]:
    """``[(type, custom_id or None)]`` for every component, for error messages."""
    return [(c.get("type"), c.get("custom_id")) for c in walk_components(components)]
