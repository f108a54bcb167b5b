"""Organisers' own words for templates, cached per server."""

from __future__ import annotations

import logging
from collections.abc import Callable

from bot.clock import Clock
from bot.domain.audit.service import AuditService
from bot.domain.cache import SharedCache
from bot.domain.errors import InvalidInput
from bot.domain.values import plain
from bot.domain.wording.templates import (
    MAX_TEMPLATE,
    Template,
    TemplateView,
    _fill,
    all_templates,
    get_template,
    placeholders_of,
    sample_values,
)
from db import Database
from db.repositories.wording import WordingRepository

log = logging.getLogger(__name__)


class WordingService:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        audit: AuditService | None = None,
        *,
        formatter: Callable[[object], str] = plain,
    ) -> None:
        """``formatter`` draws the values of a message (:mod:`bot.domain.values`); the bot
        passes Discord's (``bot.render.discord_value``)."""
        self.formatter = formatter
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
        values = {k: self.formatter(v) for k, v in values.items()}
        try:
            return _fill(text, tpl, values)
        except (KeyError, IndexError, ValueError):
            log.warning(
                "custom text for %s in guild %s no longer fits; using the default",
                tpl.key,
                guild_id,
            )
            return _fill(tpl.default, tpl, values)

    def validate(self, tpl: Template, text: str) -> str:
        text = text.replace("\\n", "\n").strip()
        if not text:
            raise InvalidInput(
                "The text can't be empty. Use `/wording reset` to go back to the default."
            )
        if len(text) > MAX_TEMPLATE:
            raise InvalidInput(
                f"That text is too long ({len(text)} characters; at most {MAX_TEMPLATE})."
            )
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
        found = [
            t for t in all_templates() if needle in t.key.lower() or needle in t.description.lower()
        ]
        return found[:limit]

    async def set(self, guild_id: int, key: str, text: str, actor_id: int) -> str:
        tpl = get_template(key)
        clean = self.validate(tpl, text)
        await self.repo.upsert(
            guild_id,
            tpl.key,
            clean,
            actor_id,
            self.clock.now().timestamp(),
            audit=self.audit.entry(
                guild_id, actor_id, "wording.set", f"wording:{tpl.key}", text=clean
            ),
        )
        self._cache.invalidate(guild_id)
        return clean

    async def reset(self, guild_id: int, key: str, actor_id: int | None = None) -> bool:
        tpl = get_template(key)
        changed = await self.repo.delete(
            guild_id,
            tpl.key,
            audit=self.audit.entry(guild_id, actor_id, "wording.reset", f"wording:{tpl.key}"),
        )
        self._cache.invalidate(guild_id)
        return changed
