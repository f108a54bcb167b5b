"""What /mydata shows and what deletion and retention report."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.clock import from_unix
from bot.domain.audit.models import AuditRow

DEFAULT_RETENTION_DAYS = 90

# Finished scheduled jobs (done, cancelled, failed) are kept this long for diagnosis, then
# deleted by the daily sweep: their payloads name sessions, rounds and sometimes members.
JOB_RETENTION_DAYS = 30


@dataclass(frozen=True, slots=True)
class Section:
    """One kind of record about a member, e.g. their call sign-ups."""

    name: str
    rows: list[dict[str, Any]]


@dataclass(frozen=True, slots=True)
class RetainedCount:
    session_id: int
    key: str
    question: str
    answer: str
    count: int


@dataclass(slots=True)
class RetentionReport:
    sessions: int = 0
    answers: int = 0
    comments: int = 0
    ledger_entries: int = 0  # involvement ledger entries past the ledger retention
    jobs: int = 0  # finished scheduled jobs older than JOB_RETENTION_DAYS, deleted


@dataclass(frozen=True, slots=True)
class RemovedSignup:
    """A sign-up on an open call that was deleted (its post needs a refresh)."""

    call_id: int
    channel_id: int
    message_id: int | None
    emoji: str


@dataclass(slots=True)
class DeletionReport:
    removed: dict[str, int] = field(default_factory=dict)
    open_signups: list[RemovedSignup] = field(default_factory=list)
    # Places in a draw's group the deletion itself gave up: (call_id, left ref, promoted ref).
    departures: list[tuple[int, str, str | None]] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.removed.values())


@dataclass(frozen=True, slots=True)
class MemberData:
    guild_id: int
    user_id: int
    generated_at: datetime
    sections: list[Section]
    audit: list[AuditRow]

    @property
    def empty(self) -> bool:
        return not self.sections and not self.audit

    def counts(self) -> dict[str, int]:
        found = {s.name: len(s.rows) for s in self.sections}
        if self.audit:
            found["audit trail entries"] = len(self.audit)
        return found

    def as_json(self) -> dict[str, Any]:
        """Everything, with times as ISO 8601 UTC, for the member's JSON file."""

        def clean(row: dict[str, Any]) -> dict[str, Any]:
            return {
                k: (
                    from_unix(v).isoformat(timespec="seconds")
                    if k.endswith("_at") and isinstance(v, int | float)
                    else v
                )
                for k, v in row.items()
            }

        return {
            "server_id": str(self.guild_id),
            "member_id": str(self.user_id),
            "generated_at": self.generated_at.isoformat(timespec="seconds"),
            "data": {s.name: [clean(r) for r in s.rows] for s in self.sections},
            "audit_trail": [
                {
                    "seq": a.seq,
                    "at": from_unix(a.at).isoformat(timespec="seconds"),
                    "action": a.action,
                    "subject": a.subject,
                    "by_you": a.actor_ref is not None,
                }
                for a in self.audit
            ],
            "notes": [
                "Audit trail entries name members by a salted reference, never by their id.",
                "Published draw results list volunteers by an entry reference, not by user id; "
                "yours is the 'reference' under 'draws'. Deleting your data removes your id from "
                "the draw and keeps the reference, so the draw can still be verified.",
                "The audit trail is kept too, and can then no longer be linked to you.",
            ],
        }
