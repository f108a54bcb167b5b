"""The draw service: run a call's draw once (freeze, then reveal), show and verify it, replace
members, record answers. Its parts, one concern each:

* :mod:`.base` — settings, constants and the lookups every part uses;
* :mod:`.freeze` — the freeze, the public value, the reveal;
* :mod:`.changes` — members' answers, replacements, withdrawals, departures;
* :mod:`.publication` — verification, the published file, notices and roles.
"""

from __future__ import annotations

from bot.domain.draws.base import (
    DOCS,
    EXPORT_FORMAT,
    EXPORT_VERSION,
    FINISH_CHECK,
    FINISH_JOB,
    FREEZE_FORMAT,
    MEMBER_LEFT_JOB,
    REVEAL_JOB,
    DrawBeacon,
    delivery_nonce,
    fallback_nonce,
    finish_job_key,
    reveal_job_key,
)
from bot.domain.draws.changes import DrawChanges
from bot.domain.draws.freeze import DrawFreezing
from bot.domain.draws.publication import DrawPublication

__all__ = [
    "DOCS",
    "EXPORT_FORMAT",
    "EXPORT_VERSION",
    "FINISH_CHECK",
    "FINISH_JOB",
    "FREEZE_FORMAT",
    "MEMBER_LEFT_JOB",
    "REVEAL_JOB",
    "DrawBeacon",
    "DrawService",
    "delivery_nonce",
    "fallback_nonce",
    "finish_job_key",
    "reveal_job_key",
]


class DrawService(DrawFreezing, DrawChanges, DrawPublication):
    """Every draw use case, joined from its parts."""
