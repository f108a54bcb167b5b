"""A scheduled job as the scheduler and the features' job handlers see it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Job:
    id: int
    key: str
    kind: str
    guild_id: int | None
    run_at: float
    payload: dict[str, Any]
    status: str
    attempts: int
