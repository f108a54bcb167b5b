"""feedback."""

from __future__ import annotations

import json
from collections.abc import Sequence

from bot.domain.audit.models import AuditFor
from bot.domain.delivery.models import OwnerKind
from bot.domain.feedback.models import (
    Delivery,
    FeedbackMessage,
    FeedbackResponse,
    FeedbackRound,
    Recorded,
    Revised,
)
from db.database import Database, Row, Tx
from db.repositories.audit import append_entries, execute_audited, fetchone_audited
from db.repositories.deliveries import DeliveryLog

_ROUND_COLUMNS = (
    "id, guild_id, number, title, plan, version, call_id, role_id, channel_id, thread_id, "
    "message_channel_id, message_id, status, closes_at, reminders, created_by, created_at, closed_at"
)


_RESPONSE_COLUMNS = "user_id, first_at, last_at, first_via, late, works_well, would_change, missing, form_at, form_late"


def _round(row: Row) -> FeedbackRound:
    values = {k: row[k] for k in row.keys()}
    values["reminders"] = tuple(int(x) for x in json.loads(values["reminders"]))
    return FeedbackRound(**values)


def _response(row: Row) -> FeedbackResponse:
    return FeedbackResponse(
        user_id=row["user_id"],
        first_at=row["first_at"],
        last_at=row["last_at"],
        first_via=row["first_via"],
        late=bool(row["late"]),
        works_well=row["works_well"],
        would_change=row["would_change"],
        missing=row["missing"],
        form_at=row["form_at"],
        form_late=bool(row["form_late"]),
    )


# The member must be in the round's frozen audience; late = after the deadline or once closed.
async def _upsert_response(
    tx: Tx,
    round_id: int,
    user_id: int,
    at: float,
    via: str,
    answers: tuple[str | None, str | None, str | None] | None,
) -> Recorded | None:
    """One statement: create or bump the member's response row (form answers replace old ones)."""
    if answers is None:
        sql = (
            "INSERT INTO feedback_responses (round_id, user_id, first_at, last_at, first_via, late) "
            "SELECT r.id, a.user_id, ?, ?, ?, CASE WHEN ? > r.closes_at OR r.status = 'closed' THEN 1 ELSE 0 END "
            "FROM feedback_rounds r JOIN feedback_audience a ON a.round_id = r.id "
            "WHERE r.id = ? AND a.user_id = ? "
            "ON CONFLICT (round_id, user_id) DO UPDATE SET last_at = excluded.last_at, "
            "response_count = feedback_responses.response_count + 1 "
            "RETURNING response_count, late"
        )
        params: tuple[object, ...] = (at, at, via, at, round_id, user_id)
    else:
        sql = (
            "INSERT INTO feedback_responses (round_id, user_id, first_at, last_at, first_via, late, "
            "works_well, would_change, missing, form_at, form_late) "
            "SELECT r.id, a.user_id, ?, ?, ?, CASE WHEN ? > r.closes_at OR r.status = 'closed' THEN 1 ELSE 0 END, ?, ?, ?, ?, "
            "CASE WHEN ? > r.closes_at OR r.status = 'closed' THEN 1 ELSE 0 END "
            "FROM feedback_rounds r JOIN feedback_audience a ON a.round_id = r.id "
            "WHERE r.id = ? AND a.user_id = ? "
            "ON CONFLICT (round_id, user_id) DO UPDATE SET last_at = excluded.last_at, "
            "response_count = feedback_responses.response_count + 1, works_well = excluded.works_well, "
            "would_change = excluded.would_change, missing = excluded.missing, "
            "form_at = excluded.form_at, form_late = excluded.form_late "
            "RETURNING response_count, late"
        )
        params = (at, at, via, at, *answers, at, at, round_id, user_id)
    row = await tx.fetchone(sql, params)
    if row is None:
        return None
    return Recorded(new=row[0] == 1, late=bool(row[1]))


class FeedbackRepository:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.deliveries_log = DeliveryLog(db, OwnerKind.FEEDBACK)

    # -- rounds ---------------------------------------------------------------------------------

    async def create(
        self,
        *,
        guild_id: int,
        title: str,
        plan: str,
        call_id: int | None,
        role_id: int | None,
        channel_id: int,
        closes_at: float,
        reminders: Sequence[int],
        created_by: int,
        created_at: float,
        audience: Sequence[int],
        audit: AuditFor[FeedbackRound] = None,
    ) -> FeedbackRound:
        """The round (next per-server number), its frozen audience, version 1 and its audit row
        (``audit(round)``), in one transaction."""

        async def work(tx: Tx) -> FeedbackRound:
            await tx.lock("number", "feedback_rounds", guild_id)  # the next number, one at a time
            row = await tx.fetchone(
                f"""
                INSERT INTO feedback_rounds (guild_id, number, title, plan, call_id, role_id,
                                             channel_id, closes_at, reminders, created_by, created_at)
                SELECT ?, COALESCE(MAX(number), 0) + 1, ?, ?, ?, ?, ?, ?, ?, ?, ?
                FROM feedback_rounds WHERE guild_id = ?
                RETURNING {_ROUND_COLUMNS}
                """,
                (
                    guild_id,
                    title,
                    plan,
                    call_id,
                    role_id,
                    channel_id,
                    closes_at,
                    json.dumps(list(reminders)),
                    created_by,
                    created_at,
                    guild_id,
                ),
            )
            assert row is not None  # INSERT/UPDATE ... RETURNING of a row that exists
            made = _round(row)
            await tx.executemany(
                "INSERT INTO feedback_audience (round_id, user_id, position) VALUES (?, ?, ?) "
                "ON CONFLICT DO NOTHING",
                [(made.id, user, i) for i, user in enumerate(audience)],
            )
            await tx.execute(
                "INSERT INTO feedback_versions (round_id, version, plan, changes, created_by, "
                "created_at) VALUES (?, 1, ?, '[]', ?, ?)",
                (made.id, plan, created_by, created_at),
            )
            await append_entries(tx, audit, made)
            return made

        return await self.db.transaction(work)

    async def delete(self, round_id: int) -> None:
        await self.db.execute("DELETE FROM feedback_rounds WHERE id = ?", (round_id,))

    async def set_thread(
        self,
        round_id: int,
        thread_id: int,
        message_channel_id: int,
        message_id: int,
        *,
        audit: AuditFor[int] = None,
    ) -> None:
        """Remember the thread; ``audit`` (the opening's row, once the thread exists) is
        appended in the same transaction."""
        await execute_audited(
            self.db,
            "UPDATE feedback_rounds SET thread_id = ?, message_channel_id = ?, message_id = ? "
            "WHERE id = ?",
            (thread_id, message_channel_id, message_id, round_id),
            audit,
        )

    async def get(self, round_id: int) -> FeedbackRound | None:
        row = await self.db.fetchone(
            f"SELECT {_ROUND_COLUMNS} FROM feedback_rounds WHERE id = ?", (round_id,)
        )
        return _round(row) if row else None

    async def by_number(self, guild_id: int, number: int) -> FeedbackRound | None:
        row = await self.db.fetchone(
            f"SELECT {_ROUND_COLUMNS} FROM feedback_rounds WHERE guild_id = ? AND number = ?",
            (guild_id, number),
        )
        return _round(row) if row else None

    async def by_thread(self, thread_id: int) -> FeedbackRound | None:
        row = await self.db.fetchone(
            f"SELECT {_ROUND_COLUMNS} FROM feedback_rounds WHERE thread_id = ?", (thread_id,)
        )
        return _round(row) if row else None

    async def thread_ids(self) -> set[int]:
        rows = await self.db.fetchall(
            "SELECT thread_id FROM feedback_rounds WHERE thread_id IS NOT NULL"
        )
        return {r[0] for r in rows}

    async def search(self, guild_id: int, text: str, limit: int = 25) -> list[FeedbackRound]:
        rows = await self.db.fetchall(
            f"SELECT {_ROUND_COLUMNS} FROM feedback_rounds WHERE guild_id = ? "
            "AND (CAST(number AS TEXT) LIKE ? OR title LIKE ?) "
            "ORDER BY status = 'open' DESC, number DESC LIMIT ?",
            (guild_id, f"{text}%", f"%{text}%", limit),
        )
        return [_round(r) for r in rows]

    async def close(
        self, round_id: int, now: float, reason: str, *, audit: AuditFor[Row] = None
    ) -> FeedbackRound | None:
        """Close an open round (one atomic statement, with its audit row in the same
        transaction); ``None`` if it was closed already (then no audit row)."""
        row = await fetchone_audited(
            self.db,
            f"UPDATE feedback_rounds SET status = 'closed', closed_at = ?, close_reason = ? "
            f"WHERE id = ? AND status = 'open' RETURNING {_ROUND_COLUMNS}",
            (now, reason, round_id),
            audit,
        )
        return _round(row) if row else None

    async def revise(
        self,
        round_id: int,
        plan: str,
        changes: Sequence[str],
        by: int,
        at: float,
        *,
        audit: AuditFor[Revised] = None,
    ) -> Revised:
        """Next version of the plan and who had responded by then, with its audit row
        (``audit(revised)``), in one transaction."""

        async def work(tx: Tx) -> Revised:
            row = await tx.fetchone(
                "UPDATE feedback_rounds SET version = version + 1, plan = ? WHERE id = ? "
                "RETURNING version",
                (plan, round_id),
            )
            assert row is not None  # INSERT/UPDATE ... RETURNING of a row that exists
            version = int(row[0])
            await tx.execute(
                "INSERT INTO feedback_versions (round_id, version, plan, changes, created_by, "
                "created_at) VALUES (?, ?, ?, ?, ?, ?)",
                (round_id, version, plan, json.dumps(list(changes)), by, at),
            )
            users = await tx.fetchall(
                "SELECT r.user_id FROM feedback_responses r JOIN feedback_audience a "
                "ON a.round_id = r.round_id AND a.user_id = r.user_id "
                "WHERE r.round_id = ? ORDER BY a.position",
                (round_id,),
            )
            revised = Revised(version, [u[0] for u in users])
            await append_entries(tx, audit, revised)
            return revised

        return await self.db.transaction(work)

    async def versions(self, round_id: int) -> list[tuple[int, str, list[str]]]:
        rows = await self.db.fetchall(
            "SELECT version, plan, changes FROM feedback_versions WHERE round_id = ? ORDER BY version",
            (round_id,),
        )
        return [(r[0], r[1], list(json.loads(r[2]))) for r in rows]

    # -- audience and responses -----------------------------------------------------------------

    async def audience(self, round_id: int) -> list[int]:
        rows = await self.db.fetchall(
            "SELECT user_id FROM feedback_audience WHERE round_id = ? ORDER BY position",
            (round_id,),
        )
        return [r[0] for r in rows]

    async def in_audience(self, round_id: int, user_id: int) -> bool:
        row = await self.db.fetchone(
            "SELECT 1 FROM feedback_audience WHERE round_id = ? AND user_id = ?",
            (round_id, user_id),
        )
        return row is not None

    async def counts(self, round_id: int) -> tuple[int, int]:
        """(members who responded, audience size)."""
        row = await self.db.fetchone(
            "SELECT (SELECT COUNT(*) FROM feedback_responses WHERE round_id = ?), "
            "(SELECT COUNT(*) FROM feedback_audience WHERE round_id = ?)",
            (round_id, round_id),
        )
        assert row is not None
        return int(row[0]), int(row[1])

    async def record_form(
        self,
        round_id: int,
        user_id: int,
        answers: tuple[str | None, str | None, str | None],
        at: float,
        *,
        audit: AuditFor[Recorded] = None,
    ) -> Recorded | None:
        """Save the member's form answers (replacing earlier ones), with the audit row
        (``audit(recorded)``) in the same transaction; ``None`` if not in the audience."""

        async def work(tx: Tx) -> Recorded | None:
            result = await _upsert_response(tx, round_id, user_id, at, "button", answers)
            if result is not None:
                await append_entries(tx, audit, result)
            return result

        return await self.db.transaction(work)

    async def record_message(
        self,
        round_id: int,
        user_id: int,
        message_id: int,
        content: str,
        at: float,
        *,
        audit: AuditFor[Recorded] = None,
    ) -> Recorded | None:
        """Count the member once and keep the message, with the audit row (``audit(recorded)``)
        in the same transaction; ``None`` if not in the audience."""

        async def work(tx: Tx) -> Recorded | None:
            result = await _upsert_response(tx, round_id, user_id, at, "message", None)
            if result is None:
                return None
            await append_entries(tx, audit, result)
            await tx.execute(
                "INSERT INTO feedback_messages (round_id, message_id, user_id, content, at, late) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (round_id, message_id) DO UPDATE SET "
                "content = excluded.content",
                (round_id, message_id, user_id, content, at, int(result.late)),
            )
            return result

        return await self.db.transaction(work)

    async def edit_message(self, round_id: int, message_id: int, content: str) -> bool:
        """The member edited a kept message: the latest text counts. False if not kept."""
        changed = await self.db.execute(
            "UPDATE feedback_messages SET content = ? WHERE round_id = ? AND message_id = ?",
            (content, round_id, message_id),
        )
        return changed > 0

    async def forget_messages(self, round_id: int, message_ids: Sequence[int]) -> int:
        """The member deleted messages: they are gone from the round. A member left with no
        message and no form answers no longer counts as having responded. Returns how many
        kept messages were deleted."""

        async def work(tx: Tx) -> int:
            removed = 0
            for message_id in message_ids:
                row = await tx.fetchone(
                    "DELETE FROM feedback_messages WHERE round_id = ? AND message_id = ? "
                    "RETURNING user_id",
                    (round_id, message_id),
                )
                if row is None:
                    continue
                removed += 1
                await tx.execute(
                    "DELETE FROM feedback_responses WHERE round_id = ?1 AND user_id = ?2 "
                    "AND form_at IS NULL AND NOT EXISTS (SELECT 1 FROM feedback_messages m "
                    "WHERE m.round_id = ?1 AND m.user_id = ?2)",
                    (round_id, row[0]),
                )
            return removed

        return await self.db.transaction(work)

    async def response(self, round_id: int, user_id: int) -> FeedbackResponse | None:
        row = await self.db.fetchone(
            f"SELECT {_RESPONSE_COLUMNS} FROM feedback_responses WHERE round_id = ? AND user_id = ?",
            (round_id, user_id),
        )
        return _response(row) if row else None

    async def responses(self, round_id: int) -> list[FeedbackResponse]:
        rows = await self.db.fetchall(
            f"SELECT {_RESPONSE_COLUMNS} FROM feedback_responses r WHERE round_id = ? "
            "ORDER BY first_at, user_id",
            (round_id,),
        )
        return [_response(r) for r in rows]

    async def messages(self, round_id: int) -> list[FeedbackMessage]:
        rows = await self.db.fetchall(
            "SELECT message_id, user_id, content, at, late FROM feedback_messages "
            "WHERE round_id = ? ORDER BY at, message_id",
            (round_id,),
        )
        return [FeedbackMessage(r[0], r[1], r[2], r[3], bool(r[4])) for r in rows]

    # -- reminder deliveries --------------------------------------------------------------------

    async def not_responded(self, round_id: int) -> list[int]:
        """Audience members of an open round who have not responded, in audience order."""
        rows = await self.db.fetchall(
            "SELECT a.user_id FROM feedback_audience a "
            "JOIN feedback_rounds r ON r.id = a.round_id "
            "WHERE a.round_id = ? AND r.status = 'open' AND NOT EXISTS ("
            "  SELECT 1 FROM feedback_responses x WHERE x.round_id = a.round_id "
            "  AND x.user_id = a.user_id) "
            "ORDER BY a.position",
            (round_id,),
        )
        return [int(r[0]) for r in rows]

    async def open_rounds(self) -> list[FeedbackRound]:
        """Every open round (to refresh their first messages at start-up)."""
        rows = await self.db.fetchall(
            f"SELECT {_ROUND_COLUMNS} FROM feedback_rounds WHERE status = 'open' ORDER BY id"
        )
        return [_round(r) for r in rows]

    async def deliveries(self, round_id: int) -> list[Delivery]:
        rows = await self.deliveries_log.rows(round_id)
        return [Delivery(int(r.part), r.user_id, r.state, r.via, r.updated_at) for r in rows]
