"""The figures of an impact report (counts only, never who)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class CategoryFigures:
    label: str
    volunteers: int
    drawn: int
    reserves: int
    replaced: int
    promoted: int


@dataclass(frozen=True, slots=True)
class CallFigures:
    number: int
    title: str
    categories: tuple[CategoryFigures, ...]
    reviewers_invited: int
    reviewers_accepted: int
    reviewers_declined: int

    @property
    def volunteers(self) -> int:
        return sum(c.volunteers for c in self.categories)

    @property
    def drawn(self) -> int:
        return sum(c.drawn for c in self.categories)


@dataclass(frozen=True, slots=True)
class RoundFigures:
    number: int
    title: str
    asked: int
    replied: int
    versions: int
    changes: tuple[str, ...]  # "you said, we did"


@dataclass(frozen=True, slots=True)
class SessionFigures:
    number: int
    title: str
    places: int
    booked: int
    waiting: int
    cancelled: int
    promoted: int
    attended: int | None  # None: attendance not known
    no_shows: int | None
    evaluations: int
    ratings: tuple[int, int, int, int, int]  # how many gave 1..5
    useful_answers: int
    better_answers: int

    @property
    def average_tenths(self) -> int | None:
        """The average rating in tenths (42 = 4.2), integers only."""
        count = sum(self.ratings)
        if not count:
            return None
        total = sum((i + 1) * n for i, n in enumerate(self.ratings))
        return (total * 10 * 2 + count) // (2 * count)


@dataclass(frozen=True, slots=True)
class MeetingFigures:
    number: int
    title: str
    invited: int
    attended: int | None


@dataclass(frozen=True, slots=True)
class MoneyFigures:
    currency: str
    minutes: int
    people: int
    entries: int
    owed: int
    approved: int
    paid: int
    declined_entries: int
    expenses: int


@dataclass(frozen=True, slots=True)
class ImpactReport:
    guild_id: int
    since: float | None
    until: float | None
    calls: list[CallFigures] = field(default_factory=list)
    rounds: list[RoundFigures] = field(default_factory=list)
    sessions: list[SessionFigures] = field(default_factory=list)
    meetings: list[MeetingFigures] = field(default_factory=list)
    money: MoneyFigures | None = None

    @property
    def volunteers(self) -> int:
        return sum(c.volunteers for c in self.calls)

    @property
    def drawn(self) -> int:
        return sum(c.drawn for c in self.calls)

    @property
    def reviewers_invited(self) -> int:
        return sum(c.reviewers_invited for c in self.calls)

    @property
    def asked(self) -> int:
        return sum(r.asked for r in self.rounds)

    @property
    def replied(self) -> int:
        return sum(r.replied for r in self.rounds)

    @property
    def places(self) -> int:
        return sum(s.places for s in self.sessions)

    @property
    def booked(self) -> int:
        return sum(s.booked for s in self.sessions)

    @property
    def attended(self) -> int:
        return sum(s.attended or 0 for s in self.sessions)
