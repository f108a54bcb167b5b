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
