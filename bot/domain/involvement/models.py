"""Rates, preferences and ledger entries. Amounts are integers in minor units (pence, cents)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

DEFAULT_LEDGER_RETENTION_DAYS = 2192  # 6 years (with leap days)


class Activity(StrEnum):
    MEETING = "meeting"  # a group meeting
    SESSION = "session"  # a session (facilitating or taking part)
    REVIEW = "review"  # a feedback response on a plan
    EXPENSE = "expense"  # a member's expense claim


class EntryState(StrEnum):
    OWED = "owed"
    APPROVED = "approved"
    PAID = "paid"
    DECLINED = "declined"  # the member chose "don't pay me": hours only
    RECORDED = "recorded"  # payments are off for the server: hours only


class Method(StrEnum):
    PAID = "paid"
    VOUCHER = "voucher"
    DECLINE = "decline"


@dataclass(frozen=True, slots=True)
class Rates:
    """A server's involvement settings. A rate None: that activity is not paid."""

    guild_id: int
    currency: str = "GBP"
    payments: bool = True
    meeting_rate: int | None = None  # per hour
    session_rate: int | None = None  # per hour
    review_rate: int | None = None  # per hour of reviewing, when minutes are known
    review_fixed: int | None = None  # per submitted review
    rounding_minutes: int = 1
    finance_role_id: int | None = None
    retention_days: int = DEFAULT_LEDGER_RETENTION_DAYS


@dataclass(frozen=True, slots=True)
class Wanted:
    """A ledger entry as the sources (attendance, feedback) say it should be."""

    user_id: int
    activity: Activity
    source_kind: str
    source_id: int
    title: str
    occurred_at: float
    minutes: int
    amount: int | None
    currency: str
    method: str | None
    state: EntryState

    @property
    def key(self) -> tuple[str, int, int, str]:
        return (self.source_kind, self.source_id, self.user_id, self.activity.value)


@dataclass(frozen=True, slots=True)
class Entry:
    id: int
    guild_id: int
    user_id: int | None  # None: anonymised
    activity: Activity
    source_kind: str
    source_id: int
    title: str
    occurred_at: float
    minutes: int
    amount: int | None
    currency: str
    method: str | None
    description: str
    receipt: str | None
    state: EntryState
    created_at: float
    updated_at: float

    @property
    def key(self) -> tuple[str, int, int | None, str]:
        return (self.source_kind, self.source_id, self.user_id, self.activity.value)


@dataclass(frozen=True, slots=True)
class ActivityTotals:
    """One activity (a meeting, a session, a feedback round) in the finance list."""

    source_kind: str
    source_id: int
    title: str
    occurred_at: float
    owed: int  # entries
    owed_amount: int
    approved: int
    approved_amount: int
    currency: str


@dataclass(frozen=True, slots=True)
class MemberTotals:
    user_id: int | None
    minutes: int
    owed: int
    approved: int
    paid: int
    declined_entries: int

    @property
    def total(self) -> int:
        return self.owed + self.approved + self.paid


@dataclass(frozen=True, slots=True)
class Sync:
    created: int = 0
    updated: int = 0
    removed: int = 0
