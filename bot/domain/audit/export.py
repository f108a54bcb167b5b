"""The audit log as organisers export it."""

from __future__ import annotations

from collections.abc import Callable
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
        out = [list(CSV_COLUMNS)]
        for row in self.rows:
            user_id = self.known.get(row.actor_ref or "")
            actor = ""
            if user_id is not None:
                name = name_of(user_id)
                actor = f"{name} ({user_id})" if name else str(user_id)
            out.append(
                [
                    str(row.guild_id),
                    str(row.seq),
                    from_unix(row.at).isoformat(timespec="seconds"),
                    repr(float(row.at)),
                    row.actor_ref or "",
                    actor,
                    row.action,
                    row.subject,
                    row.details,
                    row.prev_hash,
                    row.hash,
                ]
            )
        return out
