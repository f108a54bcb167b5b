"""Every member-facing text is a named template with a default and the placeholders it may use."""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass

from bot.domain.errors import InvalidInput, NotFound
from bot.domain.wording.models import WordingOverride

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
    """Every template of every feature (each feature declares its own in ``texts.py``)."""
    _load_features()
    return sorted(_REGISTRY.values(), key=lambda t: t.key)


def _load_features() -> None:
    import importlib
    import importlib.util
    import pkgutil

    import bot.domain

    for feature in pkgutil.iter_modules(bot.domain.__path__):
        if feature.ispkg and importlib.util.find_spec(f"bot.domain.{feature.name}.texts"):
            importlib.import_module(f"bot.domain.{feature.name}.texts")


def get_template(key: str) -> Template:
    _load_features()
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


def _fill(text: str, tpl: Template, values: Mapping[str, object]) -> str:
    missing = {name: "" for name in tpl.placeholders if name not in values}
    return text.format_map({**missing, **values})
