"""report: counts for the impact report (never who)."""

from __future__ import annotations

import json

from bot.domain.report.models import (
    CallFigures,
    CategoryFigures,
    MeetingFigures,
    RoundFigures,
    SessionFigures,
)
from db.database import Database

_FAR = 1e18


class ReportRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def calls(
        self, guild_id: int, since: float | None, until: float | None
    ) -> list[CallFigures]:
        rows = await self.db.fetchall(
            "SELECT id, number, title FROM calls WHERE guild_id = ? AND created_at BETWEEN ? AND ? "
            "ORDER BY number",
            (guild_id, since or 0.0, until or _FAR),
        )
        found: list[CallFigures] = []
        for call_id, number, title in rows:
            drawn = await self.db.fetchval(
                "SELECT COUNT(*) FROM draws WHERE call_id = ?", (call_id,)
            )
            categories = []
            for cat_id, label in await self.db.fetchall(
                "SELECT id, label FROM call_categories WHERE call_id = ? ORDER BY position",
                (call_id,),
            ):
                if drawn:
                    counts = await self.db.fetchone(
                        "SELECT COUNT(*), "
                        "COALESCE(SUM(CASE WHEN promoted_at IS NULL AND status IN ('selected', 'replaced') THEN 1 ELSE 0 END), 0), "
                        "COALESCE(SUM(CASE WHEN status = 'replaced' THEN 1 ELSE 0 END), 0), "
                        "COALESCE(SUM(CASE WHEN promoted_at IS NOT NULL THEN 1 ELSE 0 END), 0) "
                        "FROM draw_entries WHERE call_id = ? AND category_id = ?",
                        (call_id, cat_id),
                    )
                    assert counts is not None
                    total, first, replaced, promoted = (int(x) for x in counts)
                    categories.append(
                        CategoryFigures(label, total, first, total - first, replaced, promoted)
                    )
                else:
                    total = await self.db.fetchval(
                        "SELECT COUNT(*) FROM call_signups WHERE call_id = ? AND category_id = ?",
                        (call_id, cat_id),
                    )
                    categories.append(CategoryFigures(label, int(total), 0, 0, 0, 0))
            reviewers = await self.db.fetchone(
                "SELECT COUNT(*), COALESCE(SUM(CASE WHEN status = 'accepted' THEN 1 ELSE 0 END), 0), "
                "COALESCE(SUM(CASE WHEN status = 'declined' THEN 1 ELSE 0 END), 0) FROM call_reviewers WHERE call_id = ?",
                (call_id,),
            )
            assert reviewers is not None
            found.append(
                CallFigures(number, title, tuple(categories), *(int(x) for x in reviewers))
            )
        return found

    async def rounds(
        self, guild_id: int, since: float | None, until: float | None
    ) -> list[RoundFigures]:
        rows = await self.db.fetchall(
            "SELECT f.id, f.number, f.title, "
            "(SELECT COUNT(*) FROM feedback_audience a WHERE a.round_id = f.id), "
            "(SELECT COUNT(*) FROM feedback_responses r WHERE r.round_id = f.id), "
            "(SELECT COUNT(*) FROM feedback_versions v WHERE v.round_id = f.id) "
            "FROM feedback_rounds f WHERE f.guild_id = ? AND f.created_at BETWEEN ? AND ? "
            "ORDER BY f.number",
            (guild_id, since or 0.0, until or _FAR),
        )
        found = []
        for round_id, number, title, asked, replied, versions in rows:
            changes: list[str] = []
            for (text,) in await self.db.fetchall(
                "SELECT changes FROM feedback_versions WHERE round_id = ? ORDER BY version",
                (round_id,),
            ):
                changes.extend(str(c) for c in json.loads(text))
            found.append(
                RoundFigures(
                    number, title, int(asked), int(replied), max(int(versions), 1), tuple(changes)
                )
            )
        return found

    async def sessions(
        self, guild_id: int, since: float | None, until: float | None
    ) -> list[tuple[int, SessionFigures]]:
        """(session id, figures without attendance) for sessions starting in the period."""
        rows = await self.db.fetchall(
            "SELECT s.id, s.number, s.title, s.capacity, "
            "(SELECT COUNT(*) FROM session_bookings b WHERE b.session_id = s.id AND b.status = 'confirmed'), "
            "(SELECT COUNT(*) FROM session_bookings b WHERE b.session_id = s.id AND b.status = 'waiting'), "
            "(SELECT COUNT(*) FROM session_bookings b WHERE b.session_id = s.id AND b.status = 'cancelled'), "
            "(SELECT COUNT(*) FROM session_bookings b WHERE b.session_id = s.id "
            "AND b.promoted_at IS NOT NULL) "
            "FROM sessions s WHERE s.guild_id = ? AND s.status = 'open' "
            "AND s.starts_at BETWEEN ? AND ? ORDER BY s.starts_at",
            (guild_id, since or 0.0, until or _FAR),
        )
        found = []
        for sid, number, title, places, booked, waiting, cancelled, promoted in rows:
            ratings = [0, 0, 0, 0, 0]
            for rating, count in await self.db.fetchall(
                "SELECT rating, COUNT(*) FROM session_evaluations WHERE session_id = ? "
                "GROUP BY rating",
                (sid,),
            ):
                ratings[int(rating) - 1] = int(count)
            comments = await self.db.fetchone(
                "SELECT COALESCE(SUM(CASE WHEN useful <> '' THEN 1 ELSE 0 END), 0), COALESCE(SUM(CASE WHEN better <> '' THEN 1 ELSE 0 END), 0) "
                "FROM session_evaluations WHERE session_id = ?",
                (sid,),
            )
            assert comments is not None
            found.append(
                (
                    int(sid),
                    SessionFigures(
                        number,
                        title,
                        int(places),
                        int(booked),
                        int(waiting),
                        int(cancelled),
                        int(promoted),
                        None,
                        None,
                        sum(ratings),
                        (ratings[0], ratings[1], ratings[2], ratings[3], ratings[4]),
                        int(comments[0]),
                        int(comments[1]),
                    ),
                )
            )
        return found

    async def meetings(
        self, guild_id: int, since: float | None, until: float | None
    ) -> list[tuple[int, MeetingFigures]]:
        rows = await self.db.fetchall(
            "SELECT m.id, m.number, m.title, "
            "(SELECT COUNT(*) FROM meeting_audience a WHERE a.meeting_id = m.id) "
            "FROM meetings m WHERE m.guild_id = ? AND m.status = 'scheduled' "
            "AND m.starts_at BETWEEN ? AND ? ORDER BY m.starts_at",
            (guild_id, since or 0.0, until or _FAR),
        )
        return [(int(r[0]), MeetingFigures(r[1], r[2], int(r[3]), None)) for r in rows]
