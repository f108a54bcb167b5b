"""Who a call's follow-up work is for: the drawn group and the reviewers who accepted."""

from __future__ import annotations

from db.database import Database

__all__ = ["accepted_reviewers", "call_audience", "drawn_group"]


async def drawn_group(db: Database, call_id: int) -> list[int]:
    """Members currently in the drawn group (selected and not replaced), in draw order.
    An entry whose member deleted their data has no user id and is never listed."""
    rows = await db.fetchall(
        "SELECT e.user_id FROM draw_entries e JOIN call_categories c ON c.id = e.category_id "
        "WHERE e.call_id = ? AND e.status = 'selected' AND e.user_id IS NOT NULL "
        "ORDER BY c.position, e.rank",
        (call_id,),
    )
    return [r[0] for r in rows]


async def accepted_reviewers(db: Database, call_id: int) -> list[int]:
    rows = await db.fetchall(
        "SELECT user_id FROM call_reviewers WHERE call_id = ? AND status = 'accepted' "
        "ORDER BY answered_at, user_id",
        (call_id,),
    )
    return [r[0] for r in rows]


async def call_audience(db: Database, call_id: int) -> list[int]:
    """The drawn group followed by the accepted reviewers (no duplicates)."""
    seen: dict[int, None] = {}
    for user in await drawn_group(db, call_id) + await accepted_reviewers(db, call_id):
        seen.setdefault(user, None)
    return list(seen)
