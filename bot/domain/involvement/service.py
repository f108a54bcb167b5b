"""The involvement ledger: entries from attendance and feedback, rates, preferences, claims,
approvals and payments. Every state change is audited in the same transaction."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime

from bot.clock import Clock
from bot.domain.attendance.models import Attendance, EventKind, Source
from bot.domain.attendance.service import AttendanceService
from bot.domain.audit.models import AuditEntry
from bot.domain.audit.service import AuditService
from bot.domain.errors import Conflict, InvalidInput, NotAllowed, NotFound
from bot.domain.involvement.models import (
    Activity,
    ActivityTotals,
    Entry,
    EntryState,
    MemberTotals,
    Method,
    Rates,
    Sync,
    Wanted,
)
from bot.domain.involvement.rules import member_totals, parse_currency, parse_money, terms
from bot.textclean import clean_line
from db import Database
from db.repositories.involvement import EntryAudit, InvolvementRepository

_KIND_ACTIVITY = {EventKind.MEETING: Activity.MEETING, EventKind.SESSION: Activity.SESSION}

MIN_RETENTION_YEARS = 1
MAX_RETENTION_YEARS = 20


def counts_as_finance(
    *, administrator: bool, manage_guild: bool, role_ids: Iterable[int], finance_role_id: int | None
) -> bool:
    """Finance organisers: Manage Server, or the finance role set with /settings finance-role."""
    if administrator or manage_guild:
        return True
    return finance_role_id is not None and finance_role_id in set(role_ids)


class InvolvementService:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        attendance: AttendanceService | None = None,
        audit: AuditService | None = None,
    ) -> None:
        self.repo = InvolvementRepository(db)
        self.clock = clock
        self.audit = audit or AuditService(db, clock)
        self.attendance = attendance or AttendanceService(db, clock, self.audit)

    def _now(self) -> float:
        return self.clock.now().timestamp()

    def _entry_audit(self, actor_id: int | None) -> EntryAudit:
        def make(action: str, entry: Entry, extra: dict[str, object]) -> AuditEntry:
            return self.audit.entry(
                entry.guild_id,
                actor_id,
                action,
                f"ledger:{entry.id}",
                user_id=entry.user_id,
                activity=entry.activity.value,
                source=f"{entry.source_kind}:{entry.source_id}",
                minutes=entry.minutes,
                amount=entry.amount,
                state=entry.state.value,
                **extra,
            )

        return make

    # -- settings -------------------------------------------------------------------------------

    async def rates(self, guild_id: int) -> Rates:
        return await self.repo.rates(guild_id)

    async def set_rates(
        self,
        guild_id: int,
        actor_id: int,
        *,
        currency: str | None = None,
        payments: bool | None = None,
        meeting: str | None = None,
        session: str | None = None,
        review_hourly: str | None = None,
        review_fixed: str | None = None,
        rounding_minutes: int | None = None,
    ) -> Rates:
        """Change what is given; leaves the rest. A rate given as ``none`` stops paying it."""
        current = await self.repo.rates(guild_id)

        def rate(text: str | None, old: int | None, what: str) -> int | None:
            if text is None:
                return old
            if text.strip().lower() in ("none", "no", "0", "-"):
                return None
            return parse_money(text, what)

        if rounding_minutes is not None and not 1 <= rounding_minutes <= 60:
            raise InvalidInput("Please round to between 1 and 60 minutes.")
        new = replace(
            current,
            currency=parse_currency(currency) if currency else current.currency,
            payments=current.payments if payments is None else payments,
            meeting_rate=rate(meeting, current.meeting_rate, "The meeting rate"),
            session_rate=rate(session, current.session_rate, "The session rate"),
            review_rate=rate(review_hourly, current.review_rate, "The reviewing rate"),
            review_fixed=rate(review_fixed, current.review_fixed, "The amount per review"),
            rounding_minutes=rounding_minutes or current.rounding_minutes,
        )
        await self._save(new, actor_id, "involvement.rates")
        return new

    async def _save(self, rates: Rates, actor_id: int | None, action: str) -> None:
        await self.repo.save_rates(
            rates,
            self._now(),
            audit=self.audit.entry(
                rates.guild_id,
                actor_id,
                action,
                "involvement:settings",
                currency=rates.currency,
                payments=rates.payments,
                meeting_rate=rates.meeting_rate,
                session_rate=rates.session_rate,
                review_rate=rates.review_rate,
                review_fixed=rates.review_fixed,
                rounding_minutes=rates.rounding_minutes,
                finance_role_id=rates.finance_role_id,
                retention_days=rates.retention_days,
            ),
        )

    async def set_finance_role(self, guild_id: int, role_id: int | None, actor_id: int) -> None:
        current = await self.repo.rates(guild_id)
        await self._save(replace(current, finance_role_id=role_id), actor_id, "settings.changed")

    async def set_retention_years(self, guild_id: int, years: int, actor_id: int) -> int:
        if not MIN_RETENTION_YEARS <= years <= MAX_RETENTION_YEARS:
            raise InvalidInput(
                f"Please choose between {MIN_RETENTION_YEARS} and {MAX_RETENTION_YEARS} years "
                "(the default is 6)."
            )
        days = years * 365 + years // 4
        current = await self.repo.rates(guild_id)
        await self._save(replace(current, retention_days=days), actor_id, "settings.changed")
        return days

    # -- members --------------------------------------------------------------------------------

    async def preference(self, guild_id: int, user_id: int) -> Method | None:
        return await self.repo.preference(guild_id, user_id)

    async def set_preference(self, guild_id: int, user_id: int, method: Method) -> None:
        await self.repo.set_preference(
            guild_id,
            user_id,
            method,
            self._now(),
            audit=self.audit.entry(
                guild_id, user_id, "involvement.preference", "member", user_id=user_id
            ),
        )
        await self.sync(guild_id)  # unpaid entries follow the new choice

    async def mine(self, guild_id: int, user_id: int) -> tuple[list[Entry], MemberTotals | None]:
        await self.sync(guild_id)
        entries = await self.repo.entries(guild_id, user_id=user_id)
        totals = member_totals(entries)
        return entries, (totals[0] if totals else None)

    async def claim_expense(
        self,
        guild_id: int,
        user_id: int,
        entry_id: int,
        amount: str,
        description: str,
        receipt: str | None = None,
    ) -> Entry:
        """A member's expense claim on an activity they attended (one of their own entries)."""
        await self.sync(guild_id)
        parent = await self.repo.entry(entry_id)
        if parent is None or parent.guild_id != guild_id or parent.user_id != user_id:
            raise NotFound(
                "I can't find that activity among yours. `/involvement mine` lists them."
            )
        if parent.activity is Activity.EXPENSE:
            raise InvalidInput("Please choose the activity the expense was for.")
        value = parse_money(amount, "The expense")
        if not value:
            raise InvalidInput("Please give the amount you spent, like `4.50`.")
        text = clean_line(description or "", name="description", max_length=200)
        return await self.repo.add_expense(
            parent, value, text, receipt, self._now(), self._entry_audit(user_id)
        )

    async def own_activities(self, guild_id: int, user_id: int) -> list[Entry]:
        """The member's activity entries (for choosing one to claim an expense on)."""
        return [
            e
            for e in await self.repo.entries(guild_id, user_id=user_id)
            if e.activity is not Activity.EXPENSE
        ]

    # -- finance --------------------------------------------------------------------------------

    async def owed(self, guild_id: int) -> list[ActivityTotals]:
        await self.sync(guild_id)
        return await self.repo.activities(guild_id)

    async def approve(
        self, guild_id: int, source_kind: str, source_id: int, actor_id: int
    ) -> list[Entry]:
        moved = await self.repo.move(
            guild_id,
            source_kind,
            source_id,
            EntryState.OWED,
            EntryState.APPROVED,
            self._now(),
            self._entry_audit(actor_id),
        )
        if not moved:
            raise Conflict("Nothing is waiting for approval for this activity.")
        return moved

    async def mark_paid(
        self, guild_id: int, source_kind: str, source_id: int, actor_id: int
    ) -> list[Entry]:
        moved = await self.repo.move(
            guild_id,
            source_kind,
            source_id,
            EntryState.APPROVED,
            EntryState.PAID,
            self._now(),
            self._entry_audit(actor_id),
        )
        if not moved:
            raise Conflict("Nothing approved is waiting to be paid for this activity.")
        return moved

    async def export(
        self, guild_id: int, since: datetime | None, until: datetime | None
    ) -> tuple[list[Entry], list[MemberTotals], Rates]:
        if since is not None and until is not None and until < since:
            raise InvalidInput("The end of the period is before its start. Swap `from` and `to`.")
        await self.sync(guild_id)
        entries = await self.repo.entries(
            guild_id,
            since=since.timestamp() if since else None,
            until=until.timestamp() if until else None,
        )
        return entries, member_totals(entries), await self.repo.rates(guild_id)

    async def entries(self, guild_id: int) -> list[Entry]:
        return await self.repo.entries(guild_id)

    async def source_guild(self, source_kind: str, source_id: int) -> int | None:
        return await self.repo.source_guild(source_kind, source_id)

    # -- from the sources to the ledger ---------------------------------------------------------

    async def sync(self, guild_id: int) -> Sync:
        """Bring the ledger up to date with attendance of ended meetings and sessions and with
        feedback responses (idempotent; unpaid entries follow later attendance edits)."""
        rates = await self.repo.rates(guild_id)
        prefs = await self.repo.preferences(guild_id)
        wanted: list[Wanted] = []
        covered: list[tuple[str, int]] = []
        for result in await self.attendance.ended(guild_id):
            covered.append((result.event.kind.value, result.event.id))
            wanted.extend(self._from_attendance(result, rates, prefs))
        covered.extend(("feedback", r) for r in await self.repo.review_rounds(guild_id))
        for round_id, title, user_id, at in await self.repo.reviews(guild_id):
            method = prefs.get(user_id)
            minutes, amount, state = terms(rates, Activity.REVIEW, 0, method)
            wanted.append(
                Wanted(
                    user_id,
                    Activity.REVIEW,
                    "feedback",
                    round_id,
                    title,
                    at,
                    minutes,
                    amount,
                    rates.currency,
                    method.value if method else None,
                    state,
                )
            )
        return await self.repo.sync(guild_id, wanted, covered, self._now(), self._entry_audit(None))

    @staticmethod
    def _from_attendance(
        result: Attendance, rates: Rates, prefs: dict[int, Method]
    ) -> list[Wanted]:
        event = result.event
        activity = _KIND_ACTIVITY[event.kind]
        made = []
        for line in result.attended:
            if not line.expected and line.source is not Source.ORGANISER:
                continue  # came uninvited (staff, guests): an organiser can add them by hand
            method = prefs.get(line.user_id)
            minutes, amount, state = terms(rates, activity, line.minutes, method)
            made.append(
                Wanted(
                    line.user_id,
                    activity,
                    event.kind.value,
                    event.id,
                    event.title,
                    event.starts_at,
                    minutes,
                    amount,
                    rates.currency,
                    method.value if method else None,
                    state,
                )
            )
        return made


def require_finance(allowed: bool) -> None:
    if not allowed:
        raise NotAllowed(
            "Only people with Manage Server or the finance role can see and change payments."
        )
