"""mydata."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bot.domain.audit.models import AuditEntry, AuditFor
from bot.domain.mydata.models import (
    DEFAULT_RETENTION_DAYS,
    DeletionReport,
    RemovedSignup,
    RetainedCount,
    RetentionReport,
    Section,
)
from db.database import Database, Row, Tx
from db.repositories.audit import append_entries, execute_audited, forget_member
from db.repositories.draws import withdraw_sync

DAY = 86400.0


@dataclass(frozen=True, slots=True)
class _Query:
    section: str
    tables: tuple[str, ...]
    sql: str  # parameters: (guild_id, user_id)


# What /mydata show collects. Each query is scoped to one server and one member.
_COLLECT: tuple[_Query, ...] = (
    _Query(
        "call sign-ups",
        ("calls", "call_signups", "call_categories"),
        "SELECT c.number AS call, c.title, c.status AS call_status, cc.label AS category, "
        "s.joined_at, s.source FROM call_signups s JOIN calls c ON c.id = s.call_id "
        "JOIN call_categories cc ON cc.id = s.category_id "
        "WHERE c.guild_id = ? AND s.user_id = ? ORDER BY c.number",
    ),
    _Query(
        "draws",
        ("calls", "draw_entries", "call_categories"),
        "SELECT c.number AS call, c.title, cc.label AS category, e.ref AS reference, e.rank, "
        "e.status, e.confirmation, e.promoted_at, e.left_at, e.left_reason FROM draw_entries e "
        "JOIN calls c ON c.id = e.call_id JOIN call_categories cc ON cc.id = e.category_id "
        "WHERE c.guild_id = ? AND e.user_id = ? ORDER BY c.number",
    ),
    _Query(
        "frozen lists of volunteers",
        ("calls", "frozen_entries", "call_categories"),
        "SELECT c.number AS call, c.title, cc.label AS category, f.ref AS reference "
        "FROM frozen_entries f JOIN calls c ON c.id = f.call_id "
        "JOIN call_categories cc ON cc.id = f.category_id "
        "WHERE c.guild_id = ? AND f.user_id = ? ORDER BY c.number",
    ),
    _Query(
        "reviews",
        ("calls", "call_reviewers"),
        "SELECT c.number AS call, c.title, r.status, r.invited_at, r.answered_at "
        "FROM call_reviewers r JOIN calls c ON c.id = r.call_id "
        "WHERE c.guild_id = ? AND r.user_id = ? ORDER BY c.number",
    ),
    _Query(
        "feedback rounds you were asked to",
        ("feedback_rounds", "feedback_audience"),
        "SELECT f.number AS round, f.title FROM feedback_audience a "
        "JOIN feedback_rounds f ON f.id = a.round_id "
        "WHERE f.guild_id = ? AND a.user_id = ? ORDER BY f.number",
    ),
    _Query(
        "feedback",
        ("feedback_rounds", "feedback_responses"),
        "SELECT f.number AS round, f.title, r.first_at, r.last_at, r.first_via, "
        "r.response_count, r.late, r.works_well, r.would_change, r.missing "
        "FROM feedback_responses r JOIN feedback_rounds f ON f.id = r.round_id "
        "WHERE f.guild_id = ? AND r.user_id = ? ORDER BY f.number",
    ),
    _Query(
        "feedback messages",
        ("feedback_rounds", "feedback_messages"),
        "SELECT f.number AS round, m.content, m.at, m.late FROM feedback_messages m "
        "JOIN feedback_rounds f ON f.id = m.round_id "
        "WHERE f.guild_id = ? AND m.user_id = ? ORDER BY m.at",
    ),
    _Query(
        "meetings",
        ("meetings", "meeting_audience"),
        "SELECT m.number AS meeting, m.title, m.starts_at, m.status FROM meeting_audience a "
        "JOIN meetings m ON m.id = a.meeting_id "
        "WHERE m.guild_id = ? AND a.user_id = ? ORDER BY m.number",
    ),
    _Query(
        "messages the bot keeps track of (reminders, notices, invitations)",
        ("deliveries",),
        "SELECT owner_kind AS about, owner_id, part AS message, state, via, updated_at "
        "FROM deliveries WHERE user_id = ?2 AND ("
        "(owner_kind = 'session' AND owner_id IN (SELECT id FROM sessions WHERE guild_id = ?1)) OR "
        "(owner_kind = 'feedback' AND owner_id IN "
        "(SELECT id FROM feedback_rounds WHERE guild_id = ?1)) OR "
        "(owner_kind = 'meeting' AND owner_id IN (SELECT id FROM meetings WHERE guild_id = ?1)) OR "
        "(owner_kind = 'draw' AND owner_id IN (SELECT id FROM calls WHERE guild_id = ?1)))",
    ),
    _Query(
        "meeting reminders by DM",
        ("member_meeting_dms",),
        "SELECT updated_at FROM member_meeting_dms WHERE guild_id = ? AND user_id = ?",
    ),
    _Query(
        "your time zone",
        ("member_timezones",),
        "SELECT timezone FROM member_timezones WHERE guild_id = ? AND user_id = ?",
    ),
    _Query(
        "bookings",
        ("sessions", "session_bookings"),
        "SELECT s.number AS session, s.title, s.starts_at, b.status, b.booked_at, "
        "b.promoted_at, b.cancelled_at FROM session_bookings b "
        "JOIN sessions s ON s.id = b.session_id "
        "WHERE s.guild_id = ? AND b.user_id = ? ORDER BY s.number",
    ),
    _Query(
        "survey answers",
        ("sessions", "session_answers"),
        "SELECT s.number AS session, a.question, a.answer FROM session_answers a "
        "JOIN sessions s ON s.id = a.session_id "
        "WHERE s.guild_id = ? AND a.user_id = ? ORDER BY s.number, a.position",
    ),
    _Query(
        "evaluations",
        ("sessions", "session_evaluations"),
        "SELECT s.number AS session, e.rating, e.useful, e.better, e.submitted_at "
        "FROM session_evaluations e JOIN sessions s ON s.id = e.session_id "
        "WHERE s.guild_id = ? AND e.user_id = ? ORDER BY s.number",
    ),
    _Query(
        "first-to-hear lists for repeats",
        ("sessions", "session_priority"),
        "SELECT s.number AS session, s.title FROM session_priority p "
        "JOIN sessions s ON s.id = p.session_id "
        "WHERE s.guild_id = ? AND p.user_id = ? ORDER BY s.number",
    ),
    _Query(
        "attendance",
        ("attendance_marks",),
        "SELECT event_kind AS kind, event_id, present, minutes, source, marked_at "
        "FROM attendance_marks WHERE guild_id = ? AND user_id = ? ORDER BY marked_at",
    ),
    _Query(
        "voice time",
        ("voice_spans",),
        "SELECT channel_id, joined_at, left_at FROM voice_spans "
        "WHERE guild_id = ? AND user_id = ? ORDER BY joined_at",
    ),
    _Query(
        "payment preference",
        ("involvement_preferences",),
        "SELECT method, updated_at FROM involvement_preferences WHERE guild_id = ? AND user_id = ?",
    ),
    _Query(
        "involvement ledger",
        ("ledger_entries",),
        "SELECT id AS entry, activity, title, occurred_at, minutes, amount, currency, method, "
        "description, state FROM ledger_entries WHERE guild_id = ? AND user_id = ? "
        "ORDER BY occurred_at, id",
    ),
)


# What /mydata delete removes, in order. Draw entries are kept without the member's id: a
# published draw names volunteers by entry reference (ref), so it keeps verifying. The audit log
# is kept and made unlinkable instead.
_DELETE: tuple[_Query, ...] = (
    _Query(
        "call sign-ups",
        ("calls", "call_signups"),
        "DELETE FROM call_signups WHERE user_id = ?2 AND call_id IN "
        "(SELECT id FROM calls WHERE guild_id = ?1)",
    ),
    _Query(
        "your id in draw results (your anonymous reference stays)",
        ("calls", "draw_entries"),
        "UPDATE draw_entries SET user_id = NULL WHERE user_id = ?2 AND call_id IN "
        "(SELECT id FROM calls WHERE guild_id = ?1)",
    ),
    _Query(
        "your id in frozen lists of volunteers (your anonymous reference stays)",
        ("calls", "frozen_entries"),
        "UPDATE frozen_entries SET user_id = NULL WHERE user_id = ?2 AND call_id IN "
        "(SELECT id FROM calls WHERE guild_id = ?1)",
    ),
    _Query(
        "review invitations",
        ("calls", "call_reviewers"),
        "DELETE FROM call_reviewers WHERE user_id = ?2 AND call_id IN "
        "(SELECT id FROM calls WHERE guild_id = ?1)",
    ),
    _Query(
        "feedback messages",
        ("feedback_rounds", "feedback_messages"),
        "DELETE FROM feedback_messages WHERE user_id = ?2 AND round_id IN "
        "(SELECT id FROM feedback_rounds WHERE guild_id = ?1)",
    ),
    _Query(
        "feedback",
        ("feedback_rounds", "feedback_responses"),
        "DELETE FROM feedback_responses WHERE user_id = ?2 AND round_id IN "
        "(SELECT id FROM feedback_rounds WHERE guild_id = ?1)",
    ),
    _Query(
        "feedback rounds you were asked to",
        ("feedback_rounds", "feedback_audience"),
        "DELETE FROM feedback_audience WHERE user_id = ?2 AND round_id IN "
        "(SELECT id FROM feedback_rounds WHERE guild_id = ?1)",
    ),
    _Query(
        "meetings",
        ("meetings", "meeting_audience"),
        "DELETE FROM meeting_audience WHERE user_id = ?2 AND meeting_id IN "
        "(SELECT id FROM meetings WHERE guild_id = ?1)",
    ),
    _Query(
        "messages the bot keeps track of (reminders, notices, invitations)",
        ("deliveries",),
        "DELETE FROM deliveries WHERE user_id = ?2 AND ("
        "(owner_kind = 'session' AND owner_id IN (SELECT id FROM sessions WHERE guild_id = ?1)) OR "
        "(owner_kind = 'feedback' AND owner_id IN "
        "(SELECT id FROM feedback_rounds WHERE guild_id = ?1)) OR "
        "(owner_kind = 'meeting' AND owner_id IN (SELECT id FROM meetings WHERE guild_id = ?1)) OR "
        "(owner_kind = 'draw' AND owner_id IN (SELECT id FROM calls WHERE guild_id = ?1)))",
    ),
    _Query(
        "meeting reminders by DM",
        ("member_meeting_dms",),
        "DELETE FROM member_meeting_dms WHERE guild_id = ?1 AND user_id = ?2",
    ),
    _Query(
        "your time zone",
        ("member_timezones",),
        "DELETE FROM member_timezones WHERE guild_id = ?1 AND user_id = ?2",
    ),
    _Query(
        "survey answers",
        ("sessions", "session_answers"),
        "DELETE FROM session_answers WHERE user_id = ?2 AND session_id IN "
        "(SELECT id FROM sessions WHERE guild_id = ?1)",
    ),
    _Query(
        "evaluations",
        ("sessions", "session_evaluations"),
        "DELETE FROM session_evaluations WHERE user_id = ?2 AND session_id IN "
        "(SELECT id FROM sessions WHERE guild_id = ?1)",
    ),
    _Query(
        "bookings",
        ("sessions", "session_bookings"),
        "DELETE FROM session_bookings WHERE user_id = ?2 AND session_id IN "
        "(SELECT id FROM sessions WHERE guild_id = ?1)",
    ),
    _Query(
        "first-to-hear lists for repeats",
        ("sessions", "session_priority"),
        "DELETE FROM session_priority WHERE user_id = ?2 AND session_id IN "
        "(SELECT id FROM sessions WHERE guild_id = ?1)",
    ),
    _Query(
        "attendance",
        ("attendance_marks",),
        "DELETE FROM attendance_marks WHERE guild_id = ?1 AND user_id = ?2",
    ),
    _Query(
        "voice time",
        ("voice_spans",),
        "DELETE FROM voice_spans WHERE guild_id = ?1 AND user_id = ?2",
    ),
    _Query(
        "payment preference",
        ("involvement_preferences",),
        "DELETE FROM involvement_preferences WHERE guild_id = ?1 AND user_id = ?2",
    ),
    # Accounting must keep what was paid or owed: the entries stay without the member's id,
    # receipt or description, until the server's ledger retention ends (default 6 years).
    _Query(
        "your name on involvement ledger entries (kept anonymously for accounting)",
        ("ledger_entries",),
        "UPDATE ledger_entries SET user_id = NULL, receipt = NULL, description = '' "
        "WHERE guild_id = ?1 AND user_id = ?2",
    ),
)

# Ledger entries past their server's retention (default 6 years = 2192 days), per server.
_DUE_LEDGER = (
    "SELECT l.guild_id, COUNT(*) FROM ledger_entries l "
    "LEFT JOIN involvement_settings s ON s.guild_id = l.guild_id "
    "WHERE l.occurred_at + COALESCE(s.retention_days, 2192) * 86400.0 <= ? "
    "GROUP BY l.guild_id ORDER BY l.guild_id"
)


# Sessions past their retention period that still hold answers or comments.
_DUE_SESSIONS = (
    "SELECT s.id, s.guild_id, s.number FROM sessions s "
    "LEFT JOIN guild_settings g ON g.guild_id = s.guild_id "
    "WHERE s.ends_at + COALESCE(g.retention_days, ?1) * 86400.0 <= ?2 AND ("
    " EXISTS (SELECT 1 FROM session_answers a WHERE a.session_id = s.id) OR"
    " EXISTS (SELECT 1 FROM session_evaluations e WHERE e.session_id = s.id"
    "         AND (e.useful != '' OR e.better != '')))"
    " ORDER BY s.id"
)


def _as_dicts(rows: Sequence[Row]) -> list[dict[str, Any]]:
    return [{k: row[k] for k in row.keys()} for row in rows]


async def _retain_session(tx: Tx, session_id: int) -> tuple[int, int]:
    """Keep the counts, delete the answers and the comments of one session."""
    await tx.execute(
        "INSERT INTO survey_answer_counts (session_id, key, question, answer, count) "
        "SELECT a.session_id, a.key, MAX(a.question), "
        "       CASE WHEN COALESCE(q.kind, 'text') IN ('choice', 'multi', 'scale') THEN a.answer ELSE '' END, COUNT(*) "
        "FROM session_answers a "
        "LEFT JOIN session_questions q ON q.session_id = a.session_id AND q.key = a.key "
        "WHERE a.session_id = ? AND a.answer != '' "
        "GROUP BY a.session_id, a.key, 4 "
        "ON CONFLICT (session_id, key, answer) DO UPDATE SET count = survey_answer_counts.count + excluded.count",
        (session_id,),
    )
    await tx.execute(
        "INSERT INTO survey_answer_counts (session_id, key, question, answer, count) "
        "SELECT ?1, '', '', '', COUNT(DISTINCT user_id) FROM session_answers WHERE session_id = ?1 "
        "ON CONFLICT (session_id, key, answer) DO UPDATE SET count = survey_answer_counts.count + excluded.count",
        (session_id,),
    )
    answers = await tx.execute("DELETE FROM session_answers WHERE session_id = ?", (session_id,))
    comments = await tx.execute(
        "UPDATE session_evaluations SET useful = '', better = '' "
        "WHERE session_id = ? AND (useful != '' OR better != '')",
        (session_id,),
    )
    return answers, comments


async def _leave_draws(
    tx: Tx, guild_id: int, user_id: int, now: float
) -> list[tuple[int, str, str | None]]:
    """Before the member's id is removed from draw entries (same transaction).

    The draw service has normally withdrawn them already; any entry still active (a draw run in
    between) is withdrawn here, promoting the next reserve. Returns the places in a group given
    up here, ``(call_id, left ref, promoted ref)``, to be announced and offered once this
    transaction has committed. Then the draws' reference salts are forgotten, so nobody holding
    the database can re-link the member's ref by hashing candidate user ids.
    """
    departures: list[tuple[int, str, str | None]] = []
    active = await tx.fetchall(
        "SELECT e.call_id, c.number FROM draw_entries e JOIN calls c ON c.id = e.call_id "
        "WHERE c.guild_id = ? AND e.user_id = ? AND e.status IN ('selected', 'reserve') "
        "ORDER BY e.call_id",
        (guild_id, user_id),
    )
    for call_id, number in active:
        row = await withdraw_sync(tx, call_id, user_id, now=now)
        if row is not None:
            await append_entries(
                tx,
                AuditEntry(
                    guild_id,
                    now,
                    user_id,
                    "draw.withdrawn",
                    f"call:{number}",
                    {
                        "left_user_id": user_id,
                        "was_in_group": row.was_selected,
                        "promoted_user_id": row.promoted_user_id,
                        "place_open": row.was_selected and row.promoted_user_id is None,
                    },
                ),
            )
            if row.was_selected:
                departures.append((int(call_id), row.left_ref, row.promoted_ref))
    await tx.execute(
        "UPDATE draws SET ref_salt = NULL WHERE ref_salt IS NOT NULL AND call_id IN "
        "(SELECT e.call_id FROM draw_entries e JOIN calls c ON c.id = e.call_id "
        "WHERE c.guild_id = ? AND e.user_id = ?)",
        (guild_id, user_id),
    )
    return departures


def _without_member(value: Any, user_id: int) -> Any:
    """``value`` (a job's JSON payload) with every mention of ``user_id`` taken out: removed from
    lists, ``None`` as a single value, and cut out of text."""
    if isinstance(value, dict):
        return {k: _without_member(v, user_id) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_member(v, user_id) for v in value if v != user_id and v != str(user_id)]
    if isinstance(value, str):
        return value.replace(str(user_id), "") if str(user_id) in value else value
    if value == user_id and not isinstance(value, bool):
        return None
    return value


async def _scrub_jobs(tx: Tx, guild_id: int, user_id: int) -> int:
    """Take the member's id out of this server's scheduled jobs (payloads and errors), whatever
    their state: a pending notice to several members still goes to the others; a finished job
    keeps its record without the id. Returns how many jobs mentioned them."""
    needle = f"%{user_id}%"
    rows = await tx.fetchall(
        "SELECT id, payload, last_error FROM scheduled_jobs "
        "WHERE (guild_id = ? OR guild_id IS NULL) AND (payload LIKE ? OR last_error LIKE ?)",
        (guild_id, needle, needle),
    )
    for job_id, payload, last_error in rows:
        cleaned = json.dumps(_without_member(json.loads(payload), user_id), sort_keys=True)
        error = last_error.replace(str(user_id), "a member") if last_error else last_error
        await tx.execute(
            "UPDATE scheduled_jobs SET payload = ?, last_error = ? WHERE id = ?",
            (cleaned, error, job_id),
        )
    return len(rows)


class MyDataRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    # -- retention setting ----------------------------------------------------------------------

    async def retention_days(self, guild_id: int) -> int:
        value = await self.db.fetchval(
            "SELECT retention_days FROM guild_settings WHERE guild_id = ?", (guild_id,)
        )
        return int(value) if value is not None else DEFAULT_RETENTION_DAYS

    async def set_retention_days(
        self, guild_id: int, days: int, now: float, *, audit: AuditFor[int] = None
    ) -> None:
        """One statement, with its audit row (if given) in the same transaction."""
        await execute_audited(
            self.db,
            "INSERT INTO guild_settings (guild_id, retention_days, updated_at) VALUES (?, ?, ?) "
            "ON CONFLICT (guild_id) DO UPDATE SET retention_days = excluded.retention_days, "
            "updated_at = excluded.updated_at",
            (guild_id, days, now),
            audit,
        )

    # -- retention sweep ------------------------------------------------------------------------

    async def sweep(self, now: float, job_days: int) -> RetentionReport:
        """Delete survey answers and evaluation comments past each server's retention period,
        keeping the counts, with one audit row per session, and finished jobs older than
        ``job_days``, in one transaction. Idempotent."""

        async def work(tx: Tx) -> RetentionReport:
            report = RetentionReport()
            report.jobs = await tx.execute(
                "DELETE FROM scheduled_jobs WHERE status IN ('done', 'cancelled', 'failed') "
                "AND COALESCE(finished_at, created_at) < ?",
                (now - job_days * DAY,),
            )
            for session_id, guild_id, number in await tx.fetchall(
                _DUE_SESSIONS, (DEFAULT_RETENTION_DAYS, now)
            ):
                answers, comments = await _retain_session(tx, session_id)
                report.sessions += 1
                report.answers += answers
                report.comments += comments
                await append_entries(
                    tx,
                    AuditEntry(
                        guild_id,
                        now,
                        None,
                        "data.retention",
                        f"session:{number}",
                        {"answers_deleted": answers, "comments_deleted": comments},
                    ),
                )
            for guild_id, _count in await tx.fetchall(_DUE_LEDGER, (now,)):
                deleted = await tx.execute(
                    "DELETE FROM ledger_entries WHERE guild_id = ? AND occurred_at + COALESCE("
                    "(SELECT retention_days FROM involvement_settings WHERE guild_id = ?), 2192) "
                    "* 86400.0 <= ?",
                    (guild_id, guild_id, now),
                )
                report.ledger_entries += deleted
                await append_entries(
                    tx,
                    AuditEntry(
                        guild_id,
                        now,
                        None,
                        "data.retention",
                        "ledger",
                        {"entries_deleted": deleted},
                    ),
                )
            return report

        return await self.db.transaction(work)

    async def retained_counts(self, session_id: int) -> list[RetainedCount]:
        rows = await self.db.fetchall(
            "SELECT session_id, key, question, answer, count FROM survey_answer_counts "
            "WHERE session_id = ? ORDER BY key, answer",
            (session_id,),
        )
        return [RetainedCount(*r) for r in rows]

    # -- a member's data ------------------------------------------------------------------------

    async def collect(self, guild_id: int, user_id: int) -> list[Section]:
        async def work(tx: Tx) -> list[Section]:
            sections = []
            for query in _COLLECT:
                rows = _as_dicts(await tx.fetchall(query.sql, (guild_id, user_id)))
                if rows:
                    sections.append(Section(query.section, rows))
            return sections

        return await self.db.transaction(work)

    async def draw_roles(self, guild_id: int, user_id: int) -> set[int]:
        """Roles the bot gave this member for draws: the group role of draws where they hold a
        place, and the reviewer role of calls where they agreed to review."""
        rows = await self.db.fetchall(
            "SELECT d.group_role_id FROM draw_entries e JOIN draws d ON d.call_id = e.call_id "
            "JOIN calls c ON c.id = e.call_id WHERE c.guild_id = ? AND e.user_id = ? "
            "AND e.status = 'selected' AND d.group_role_id IS NOT NULL "
            "UNION SELECT d.reviewer_role_id FROM call_reviewers r "
            "JOIN draws d ON d.call_id = r.call_id JOIN calls c ON c.id = r.call_id "
            "WHERE c.guild_id = ? AND r.user_id = ? AND r.status = 'accepted' "
            "AND d.reviewer_role_id IS NOT NULL",
            (guild_id, user_id, guild_id, user_id),
        )
        return {int(r[0]) for r in rows}

    async def active_bookings(self, guild_id: int, user_id: int, now: float) -> list[int]:
        """Ids of sessions not yet started where the member has a place or is waiting."""

        rows = await self.db.fetchall(
            "SELECT s.id FROM session_bookings b JOIN sessions s ON s.id = b.session_id "
            "WHERE s.guild_id = ? AND b.user_id = ? AND b.status IN ('confirmed', 'waiting') "
            "AND s.starts_at > ? ORDER BY s.starts_at, s.id",
            (guild_id, user_id, now),
        )
        return [r[0] for r in rows]

    async def delete(self, guild_id: int, user_id: int, now: float) -> DeletionReport:
        """Delete the member's rows in this server, record it, and make their audit rows
        unlinkable, in one transaction."""

        async def work(tx: Tx) -> DeletionReport:
            report = DeletionReport()
            report.open_signups = [
                RemovedSignup(*r)
                for r in await tx.fetchall(
                    "SELECT c.id, c.channel_id, c.message_id, cc.emoji FROM call_signups s "
                    "JOIN calls c ON c.id = s.call_id JOIN call_categories cc ON cc.id = s.category_id "
                    "WHERE c.guild_id = ? AND s.user_id = ? AND c.status = 'open' ORDER BY c.id",
                    (guild_id, user_id),
                )
            ]
            report.departures = await _leave_draws(tx, guild_id, user_id, now)
            for query in _DELETE:
                count = await tx.execute(query.sql, (guild_id, user_id))
                if count:
                    report.removed[query.section] = report.removed.get(query.section, 0) + count
            scrubbed = await _scrub_jobs(tx, guild_id, user_id)
            if scrubbed:
                report.removed["your id in scheduled messages (reminders, notices)"] = scrubbed
            await append_entries(
                tx,
                AuditEntry(
                    guild_id,
                    now,
                    user_id,
                    "member.data_deleted",
                    "member",
                    {"removed": json.loads(json.dumps(report.removed))},
                ),
            )
            await forget_member(tx, guild_id, user_id)
            return report

        return await self.db.transaction(work)
