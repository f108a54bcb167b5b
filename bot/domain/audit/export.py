"""The audit log as organisers export it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from bot.clock import from_unix
from bot.domain.audit.models import AuditRow

# The columns of /audit export. ``at_unix`` is hashed exactly as written; ``actor`` (a name, while
# the member keeps their data here) is a convenience for organisers and not part of the hash.
CSV_COLUMNS = [
    "guild_id",
    "seq",
    "at_utc",
    "at_unix",
    "actor_ref",
    "actor",
    "action",
    "subject",
    "details",
    "prev_hash",
    "hash",
]


@dataclass(frozen=True, slots=True)
class AuditExport:
    rows: list[AuditRow]
    # Reference -> user id, for members who have not deleted their data (not stored in the log).
    known: dict[str, int]

    def csv_rows(self, name_of: Callable[[int], str | None] = lambda _: None) -> list[list[str]]:
        """Header and rows for the CSV; ``name_of(user_id)`` may give a display name."""
        labels = actor_labels(self.known, name_of)
        return [list(CSV_COLUMNS), *(csv_row(row, labels) for row in self.rows)]


def actor_labels(known: Mapping[str, int], name_of: Callable[[int], str | None]) -> dict[str, str]:
    """Reference -> what the ``actor`` column shows (``name (id)``, or the id alone)."""
    labels = {}
    for ref, user_id in known.items():
        name = name_of(user_id)
        labels[ref] = f"{name} ({user_id})" if name else str(user_id)
    return labels


def csv_row(row: AuditRow, labels: Mapping[str, str]) -> list[str]:
    """One audit row as the export's cells (``labels`` from :func:`actor_labels`)."""
    return [
        str(row.guild_id),
        str(row.seq),
        from_unix(row.at).isoformat(timespec="seconds"),
        repr(float(row.at)),
        row.actor_ref or "",
        labels.get(row.actor_ref or "", ""),
        row.action,
        row.subject,
        row.details,
        row.prev_hash,
        row.hash,
    ]
