"""Calls, their categories and sign-ups."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal


@dataclass(frozen=True, slots=True)
class Category:
    id: int
    call_id: int
    position: int
    emoji: str
    key: str
    label: str
    places: int


@dataclass(frozen=True, slots=True)
class Call:
    id: int
    guild_id: int
    number: int
    channel_id: int
    message_id: int | None
    title: str
    description: str
    status: str
    closes_at: float | None
    created_by: int
    created_at: float
    closed_at: float | None
    seed: str
    seed_commitment: str

    @property
    def is_open(self) -> bool:
        return self.status == "open"


@dataclass(frozen=True, slots=True)
class Signup:
    call_id: int
    user_id: int
    category_id: int
    joined_at: float
    source: str


@dataclass(frozen=True, slots=True)
class ReactionEvent:
    """One reaction add or remove on a call post."""

    added: bool
    message_id: int
    user_id: int
    key: str
    at: float
    source: str = "reaction"


Outcome = Literal["ignored", "closed", "joined", "switched", "already", "withdrawn", "noop"]


@dataclass(frozen=True, slots=True)
class ReactionResult:
    """What a reaction did, with everything the cog needs to answer (no further reads)."""

    outcome: Outcome
    call_id: int | None = None
    category_id: int | None = None
    previous_key: str | None = None
    guild_id: int | None = None
    call_number: int | None = None
    call_title: str | None = None
    emoji: str | None = None
    label: str | None = None
    previous_emoji: str | None = None
    previous_label: str | None = None


@dataclass(frozen=True, slots=True)
class CategorySpec:
    """One category as typed by an organiser."""

    emoji: str  # as shown: "🧭" or "<:name:id>"
    key: str  # how reactions are matched: unicode without VS16, or the custom emoji id
    label: str
    places: int = 1


@dataclass(slots=True)
class ReconcilePlan:
    """What to change so the stored roster matches the reactions on the post."""

    joins: list[tuple[int, str]] = field(default_factory=list)  # (user, category key)
    switches: list[tuple[int, str]] = field(default_factory=list)
    withdrawals: list[int] = field(default_factory=list)
    reactions_to_remove: list[tuple[int, str]] = field(default_factory=list)


NoticeKind = Literal["joined", "moved", "withdrawn"]


@dataclass(frozen=True, slots=True)
class SignupNotice:
    kind: NoticeKind
    call: Call
    category: Category | None  # the group joined or moved to; None for a withdrawal


@dataclass(frozen=True, slots=True)
class CallDetails:
    call: Call
    categories: list[Category]
    counts: dict[int, int]

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass(frozen=True, slots=True)
class RosterEntry:
    category: Category
    signups: list[Signup]
