"""Member-facing messages come from named templates with plain, kind defaults.

Each feature declares its templates where it uses them::

    CONFIRMED = template("booking.confirmed", "You have a place at {title} on {when}.",
                         "Sent when a booking is confirmed")

and renders them with ``await services.wording.render(guild_id, CONFIRMED, title=..., when=...)``.
Organisers can replace any template per server (``/wording set``); an override may only use the
template's placeholders.
"""

from __future__ import annotations

import string
from dataclasses import dataclass

from bot.clock import Clock
from bot.domain.errors import InvalidInput, NotFound
from db.connection import Database

__all__ = ["Template", "WordingService", "all_templates", "placeholders_of", "template"]

_REGISTRY: dict[str, Template] = {}
MAX_TEMPLATE = 1800


@dataclass(frozen=True, slots=True)
class Template:
    key: str
    default: str
    description: str
    placeholders: tuple[str, ...]


def placeholders_of(text: str) -> list[str]:
    """The ``{names}`` used in ``text``; raises InvalidInput for broken braces."""
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError:
        raise InvalidInput(
            "The text has an unmatched `{` or `}`. Use `{{` or `}}` for a literal brace."
        ) from None
    names = []
    for _, field, spec, conversion in parsed:
        if field is None:
            continue
        if not field.isidentifier() or spec or conversion:
            raise InvalidInput(f"`{{{field}}}` is not a placeholder I can fill.")
        names.append(field)
    return names


def template(key: str, default: str, description: str) -> Template:
    """Declare (or fetch) a template; its placeholders are those used in ``default``."""
    existing = _REGISTRY.get(key)
    if existing is not None:
        return existing
    made = Template(key, default, description, tuple(dict.fromkeys(placeholders_of(default))))
    _REGISTRY[key] = made
    return made


def all_templates() -> list[Template]:
    return sorted(_REGISTRY.values(), key=lambda t: t.key)


def get_template(key: str) -> Template:
    found = _REGISTRY.get(key)
    if found is None:
        raise NotFound(f"There is no message called `{key}`. `/wording list` shows them all.")
    return found


class WordingService:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock
        self._cache: dict[tuple[int, str], str | None] = {}

    async def text_for(self, guild_id: int | None, tpl: Template) -> str:
        if guild_id is None:
            return tpl.default
        cache_key = (guild_id, tpl.key)
        if cache_key not in self._cache:
            row = await self.db.fetchone(
                "SELECT text FROM wording_overrides WHERE guild_id = ? AND key = ?",
                (guild_id, tpl.key),
            )
            self._cache[cache_key] = row[0] if row else None
        return self._cache[cache_key] or tpl.default

    async def render(self, guild_id: int | None, tpl: Template, **values: object) -> str:
        """The server's text for ``tpl`` with ``values`` filled in."""
        text = await self.text_for(guild_id, tpl)
        missing = {name: "" for name in tpl.placeholders if name not in values}
        return text.format_map({**missing, **values})

    def validate(self, tpl: Template, text: str) -> str:
        text = text.replace("\\n", "\n").strip()
        if not text:
            raise InvalidInput("The text can't be empty. Use `/wording reset` to go back to the default.")
        if len(text) > MAX_TEMPLATE:
            raise InvalidInput(f"That text is too long ({len(text)} characters; at most {MAX_TEMPLATE}).")
        unknown = [n for n in placeholders_of(text) if n not in tpl.placeholders]
        if unknown:
            allowed = ", ".join(f"`{{{p}}}`" for p in tpl.placeholders) or "none"
            raise InvalidInput(
                f"`{{{unknown[0]}}}` is not a placeholder of this message. You can use: {allowed}."
            )
        return text

    async def set(self, guild_id: int, key: str, text: str, actor_id: int) -> str:
        tpl = get_template(key)
        clean = self.validate(tpl, text)
        await self.db.execute(
            "INSERT INTO wording_overrides (guild_id, key, text, updated_by, updated_at) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (guild_id, key) DO UPDATE SET text = excluded.text, "
            "updated_by = excluded.updated_by, updated_at = excluded.updated_at",
            (guild_id, key, clean, actor_id, self.clock.now().timestamp()),
        )
        self._cache.pop((guild_id, key), None)
        return clean

    async def reset(self, guild_id: int, key: str) -> bool:
        get_template(key)
        changed = await self.db.execute(
            "DELETE FROM wording_overrides WHERE guild_id = ? AND key = ?", (guild_id, key)
        )
        self._cache.pop((guild_id, key), None)
        return changed > 0
