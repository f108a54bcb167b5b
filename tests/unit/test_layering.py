"""The domain and the database layers never import discord."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_domain_and_db_never_import_discord() -> None:
    offenders = []
    for folder in ("bot/domain", "db"):
        for path in (ROOT / folder).rglob("*.py"):
            if "discord" in _imports(path) or "cogs" in _imports(path):
                offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []


def test_no_sql_built_from_user_input_in_cogs() -> None:
    """SQL lives in db/: cogs never call execute themselves."""
    for path in (ROOT / "cogs").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert ".execute(" not in text, path


# --- per feature package -------------------------------------------------------------------

PURE = {"models", "rules", "algorithm", "chain", "texts", "templates", "survey", "summary"}
"""Modules of a feature package that hold data and pure decisions: no I/O layer at all."""

# What the domain may use from outside itself: the clock, time parsing, the job scheduler, and
# the public randomness beacon (its BLS maths and its HTTP client: a port like a repository).
DOMAIN_MAY_USE = {"bot.clock", "bot.timeparse", "bot.scheduling", "bot.textclean", "bot.beacon"}

FEATURES = sorted(
    p.name
    for p in (ROOT / "bot" / "domain").iterdir()
    if p.is_dir() and (p / "__init__.py").exists()
)


def _modules(path: Path) -> set[str]:
    """Every module ``path`` imports, full dotted names (``TYPE_CHECKING`` imports included)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def _under(name: str, *prefixes: str) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def test_every_feature_is_a_package_in_each_layer_it_has() -> None:
    assert {"calls", "draws", "sessions", "feedback", "meetings"} <= set(FEATURES)
    for feature in ("calls", "draws", "sessions", "feedback", "meetings"):
        assert (ROOT / "cogs" / feature / "cog.py").exists(), feature
        assert (ROOT / "bot" / "domain" / feature / "models.py").exists(), feature


import pytest  # noqa: E402  (kept beside the tests that use it)


@pytest.mark.parametrize("feature", FEATURES)
def test_feature_package_layering(feature: str) -> None:
    """In ``bot/domain/<feature>``: nothing imports discord, cogs or the Discord-side helpers;
    the pure modules (models, rules, algorithm…) import no db either and only other pure
    domain modules; a service may use db repositories."""
    offenders: list[str] = []
    for path in (ROOT / "bot" / "domain" / feature).glob("*.py"):
        where = f"{feature}/{path.name}"
        for name in _modules(path):
            if _under(name, "discord", "cogs"):
                offenders.append(f"{where} imports {name}")
            elif _under(name, "bot") and not _under(name, "bot.domain", *DOMAIN_MAY_USE):
                offenders.append(f"{where} imports {name} (Discord-side)")
            elif path.stem in PURE and _under(name, "db", "bot.scheduling", "aiosqlite"):
                offenders.append(f"{where} is pure but imports {name}")
            elif path.stem in PURE and _under(name, "bot.domain"):
                leaf = name.rsplit(".", 1)[-1]
                if leaf.endswith("service") or leaf in {"engine", "booking", "lifecycle"}:
                    offenders.append(f"{where} is pure but imports {name}")
    assert offenders == []


def test_db_imports_only_the_domain_s_data_and_rules() -> None:
    """db never imports a service, a cog or Discord: only models, pure rules and the chain."""
    offenders: list[str] = []
    for path in (ROOT / "db").rglob("*.py"):
        for name in _modules(path):
            if _under(name, "discord", "cogs"):
                offenders.append(f"{path.name} imports {name}")
            elif _under(name, "bot") and not (
                _under(name, "bot.domain") and name.rsplit(".", 1)[-1] in PURE | {"jobs"}
            ):
                offenders.append(f"{path.name} imports {name}")
    assert offenders == []
