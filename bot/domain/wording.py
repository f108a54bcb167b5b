"""Member-facing messages come from named templates with plain, kind defaults.

Each feature declares its templates where it uses them::

    CONFIRMED = template("booking.confirmed", "You have a place at {title} on {when}.",
                         "Sent when a booking is confirmed")

and renders them with ``await services.wording.render(guild_id, CONFIRMED, title=..., when=...)``.
Organisers can replace any template per server (``/wording set``); an override may only use the
template's placeholders.
"""

from __future__ import annotations

import logging
import string
from dataclasses import dataclass

from bot.clock import Clock
from bot.domain.audit import AuditService
from bot.domain.cache import SharedCache
from bot.domain.errors import InvalidInput, NotFound
from db import Database
from db.repositories.wording import WordingOverride, WordingRepository

__all__ = [
    "MAX_TEMPLATE",
    "Template",
    "TemplateView",
    "WordingService",
    "all_templates",
    "get_template",
    "placeholders_of",
    "template",
]

log = logging.getLogger(__name__)

_REGISTRY: dict[str, Template] = {}
MAX_TEMPLATE = 1800


@dataclass(frozen=True, slots=True)
class Template:
    key: str
    default: str
    description: str
    placeholders: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class TemplateView:
    """A template as one server sees it: the default, and its own text if it has one."""

    template: Template
    override: WordingOverride | None

    @property
    def text(self) -> str:
        return self.override.text if self.override else self.template.default

    @property
    def customised(self) -> bool:
        return self.override is not None


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
            raise InvalidInput(
                f"`{{{field}}}` is not a placeholder I can fill. Placeholders are a name in braces, "
                "like `{title}`; use `{{` or `}}` for a literal brace."
            )
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
    found = _REGISTRY.get(key.strip())
    if found is None:
        import difflib  # only when suggesting (it costs ~20 ms at start-up)

        close = difflib.get_close_matches(key.strip(), list(_REGISTRY), n=1)
        hint = f" Did you mean `{close[0]}`?" if close else ""
        raise NotFound(f"There is no message called `{key}`.{hint} `/wording list` shows them all.")
    return found


def sample_values(tpl: Template) -> dict[str, str]:
    """Stand-ins for a preview: each placeholder shown as ``[name]``."""
    return {name: f"[{name}]" for name in tpl.placeholders}


def _fill(text: str, tpl: Template, values: dict[str, object]) -> str:
    missing = {name: "" for name in tpl.placeholders if name not in values}
    return text.format_map({**missing, **values})


class WordingService:
    def __init__(self, db: Database, clock: Clock, audit: AuditService | None = None) -> None:
        self.repo = WordingRepository(db)
        self.clock = clock
        self.audit = audit or AuditService(db, clock)
        # One query per server loads all its overrides; concurrent first sends share it.
        self._cache: SharedCache[int, dict[str, str]] = SharedCache()

    async def text_for(self, guild_id: int | None, tpl: Template) -> str:
        if guild_id is None:
            return tpl.default
        overrides = await self._cache.get(guild_id, lambda: self._load(guild_id))
        return overrides.get(tpl.key) or tpl.default

    async def _load(self, guild_id: int) -> dict[str, str]:
        return {o.key: o.text for o in await self.repo.for_guild(guild_id)}

    async def render(self, guild_id: int | None, tpl: Template, **values: object) -> str:
        """The server's text for ``tpl`` with ``values`` filled in.

        A stored text that no longer fits the template (a placeholder was renamed in a later
        version) falls back to the default, so a member always gets a message.
        """
        text = await self.text_for(guild_id, tpl)
        try:
            return _fill(text, tpl, values)
        except (KeyError, IndexError, ValueError):
            log.warning("custom text for %s in guild %s no longer fits; using the default",
                        tpl.key, guild_id)
            return _fill(tpl.default, tpl, values)

    def validate(self, tpl: Template, text: str) -> str:
        text = text.replace("\\n", "\n").strip()
        if not text:
            raise InvalidInput("The text can't be empty. Use `/wording reset` to go back to the default.")
        if len(text) > MAX_TEMPLATE:
            raise InvalidInput(f"That text is too long ({len(text)} characters; at most {MAX_TEMPLATE}).")
        unknown = [n for n in placeholders_of(text) if n not in tpl.placeholders]
        if unknown:
            allowed = ", ".join(f"`{{{p}}}`" for p in tpl.placeholders) or "none"
            import difflib

            close = difflib.get_close_matches(unknown[0], tpl.placeholders, n=1)
            hint = f" Did you mean `{{{close[0]}}}`?" if close else ""
            raise InvalidInput(
                f"`{{{unknown[0]}}}` is not a placeholder of this message.{hint} "
                f"You can use: {allowed}."
            )
        return text

    def preview(self, tpl: Template, text: str | None = None) -> str:
        """``text`` (validated) or the default, with each placeholder shown as ``[name]``."""
        clean = self.validate(tpl, text) if text is not None else tpl.default
        return _fill(clean, tpl, sample_values(tpl))

    async def view(self, guild_id: int, key: str) -> TemplateView:
        tpl = get_template(key)
        return TemplateView(tpl, await self.repo.get(guild_id, tpl.key))

    async def views(self, guild_id: int) -> list[TemplateView]:
        overrides = {o.key: o for o in await self.repo.for_guild(guild_id)}
        return [TemplateView(t, overrides.get(t.key)) for t in all_templates()]

    def search(self, text: str, limit: int = 25) -> list[Template]:
        """Templates whose key or description contains ``text`` (for autocomplete)."""
        needle = text.strip().lower()
        found = [t for t in all_templates()
                 if needle in t.key.lower() or needle in t.description.lower()]
        return found[:limit]

    async def set(self, guild_id: int, key: str, text: str, actor_id: int) -> str:
        tpl = get_template(key)
        clean = self.validate(tpl, text)
        await self.repo.upsert(
            guild_id, tpl.key, clean, actor_id, self.clock.now().timestamp(),
            audit=self.audit.entry(guild_id, actor_id, "wording.set", f"wording:{tpl.key}",
                                   text=clean),
        )
        self._cache.invalidate(guild_id)
        return clean

    async def reset(self, guild_id: int, key: str, actor_id: int | None = None) -> bool:
        tpl = get_template(key)
        changed = await self.repo.delete(
            guild_id, tpl.key,
            audit=self.audit.entry(guild_id, actor_id, "wording.reset", f"wording:{tpl.key}"),
        )
        self._cache.invalidate(guild_id)
        return changed
