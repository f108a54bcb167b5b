"""Feedback rounds, responses and what the service returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Protocol


@dataclass(frozen=True, slots=True)
class FeedbackRound:
    id: int
    guild_id: int
    number: int
    title: str
    plan: str
    version: int
    call_id: int | None
    role_id: int | None
    channel_id: int
    thread_id: int | None
    message_channel_id: int | None
    message_id: int | None
    status: str
    closes_at: float
    reminders: tuple[int, ...]
    created_by: int
    created_at: float
    closed_at: float | None

    @property
    def is_open(self) -> bool:
        return self.status == "open"


@dataclass(frozen=True, slots=True)
class FeedbackResponse:
    user_id: int
    first_at: float
    last_at: float
    first_via: str
    late: bool
    works_well: str | None
    would_change: str | None
    missing: str | None
    form_at: float | None
    form_late: bool


@dataclass(frozen=True, slots=True)
class FeedbackMessage:
    message_id: int
    user_id: int
    content: str
    at: float
    late: bool


@dataclass(frozen=True, slots=True)
class Recorded:
    """What one response did: ``new`` is True the first time this member responded."""

    new: bool
    late: bool


@dataclass(frozen=True, slots=True)
class Revised:
    version: int
    respondents: list[int]


@dataclass(frozen=True, slots=True)
class Delivery:
    offset_seconds: int
    user_id: int
    state: str  # see bot/domain/delivery.py
    via: str  # 'dm' or 'channel' (a mention in the thread)
    at: float


@dataclass(frozen=True, slots=True)
class Question:
    key: str  # the column it is stored in
    label: str  # at most 45 characters (a Discord modal label)
    placeholder: str


QUESTIONS: tuple[Question, ...] = (
    Question("works_well", "What works well?", "What you like, what feels right"),
    Question("would_change", "What would you change?", "Words, order, timing, anything"),
    Question("missing", "Is anything missing?", "What would help you or others"),
)


class FeedbackNotifier(Protocol):
    """How nudges reach members (the cog implements it with Discord). Every send carries the
    delivery's deterministic Discord ``nonce`` (bot/domain/delivery.py)."""

    async def nudge_dm(self, round: FeedbackRound, user_id: int, *, nonce: str) -> bool:
        """DM one member; False if their DMs are closed. Raise RetryLater to retry later."""
        ...

    async def nudge_in_thread(
        self, round: FeedbackRound, user_ids: list[int], *, nonce: str
    ) -> bool:
        """Mention these members once in the round's thread; False if that can't be done."""
        ...


@dataclass(frozen=True, slots=True)
class OpenedRound:
    round: FeedbackRound
    audience: list[int]
    reminders: list[timedelta]


@dataclass(frozen=True, slots=True)
class RoundStatus:
    round: FeedbackRound
    audience: list[int]
    responded: list[FeedbackResponse]  # in audience order
    waiting: list[int]

    @property
    def late(self) -> list[int]:
        return [r.user_id for r in self.responded if r.late]


@dataclass(frozen=True, slots=True)
class Revision:
    round: FeedbackRound
    version: int
    changes: list[str]
    respondents: list[int]


@dataclass(slots=True)
class ReminderOutcome:
    dm: list[int] = field(default_factory=list)
    thread: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    unknown: list[int] = field(default_factory=list)  # maybe sent before a crash: not re-sent
