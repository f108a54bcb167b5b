"""An organiser's own wording for a template."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class WordingOverride:
    guild_id: int
    key: str
    text: str
    updated_by: int
    updated_at: float
