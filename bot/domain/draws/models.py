"""Draws, their entries and reviewers, and what the service returns."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Literal

from bot.domain.calls.models import Call, Category
from bot.domain.delivery.models import DeliveryRow
from bot.domain.draws.algorithm import beacon_name


@dataclass(frozen=True, slots=True)
class DrawRecord:
    call_id: int
    algorithm: str
    seed: str
    roster_hash: str
    roster_json: str
    places_json: str
    group_role_id: int | None
    reviewer_role_id: int | None
    drawn_by: int
    drawn_at: float
    result_message_id: int | None
    posted_at: float | None
    roles_by: int | None = None  # who chose the roles (re-checked before every grant)

    @property
    def roster(self) -> list[tuple[str, str]]:
        """The published roster ``[(entrant, category_key), ...]``: v2 refs sorted by ref,
        v1 user ids (as text) in sign-up order."""
        return [(str(u), str(k)) for u, k in json.loads(self.roster_json)]

    @property
    def places(self) -> dict[str, int]:
        return {str(k): int(v) for k, v in json.loads(self.places_json).items()}

    @property
    def version(self) -> int:
        """The algorithm's version number (0 if the name has none)."""
        _, _, version = self.algorithm.rpartition("/v")
        return int(version) if version.isdigit() else 0


@dataclass(frozen=True, slots=True)
class DrawEntry:
    call_id: int
    ref: str  # the published entry reference
    user_id: int | None  # None once the member deleted their data
    category_id: int
    rank: int
    status: str  # selected | reserve | replaced | withdrawn
    confirmation: str  # pending | confirmed | declined
    promoted_at: float | None
    left_at: float | None
    left_reason: str | None  # organiser | declined | data_deleted
    role_at: float | None
    announced_at: float | None


@dataclass(frozen=True, slots=True)
class Reviewer:
    call_id: int
    user_id: int
    status: str  # invited | accepted | declined
    invited_at: float
    answered_at: float | None
    role_at: float | None


# The members' messages of a draw (the delivery engine's ``part``): "notice" tells a member they
# have a place in the group (drawn or promoted), "invite" asks a volunteer not drawn to review.
DrawPart = Literal["notice", "invite"]


@dataclass(frozen=True, slots=True)
class RecordOutcome:
    kind: Literal["created", "existing", "empty", "missing"]
    draw: DrawRecord | None = None
    closed_call: bool = False  # the draw closed a call that was still open


@dataclass(frozen=True, slots=True)
class ReplaceRow:
    """Someone left: their entry, and who (if anyone) was promoted to the freed place."""

    category_id: int
    left_ref: str
    was_selected: bool  # False: a reserve withdrew, no place was freed
    promoted_user_id: int | None
    promoted_ref: str | None


DELETED = "data_deleted"  # left_reason of an entry whose member deleted their data


@dataclass(frozen=True, slots=True)
class CategoryView:
    category: Category
    places: int
    entries: tuple[DrawEntry, ...]  # rank order

    @property
    def volunteers(self) -> int:
        return len(self.entries)

    @property
    def drawn(self) -> tuple[int | None, ...]:
        """Who the draw itself chose (never changes after the draw); None: data deleted."""
        return tuple(e.user_id for e in self.entries if e.rank <= self.places)

    @property
    def reserve_order(self) -> tuple[int | None, ...]:
        """The draw's reserve list (never changes after the draw); None: data deleted."""
        return tuple(e.user_id for e in self.entries if e.rank > self.places)

    @property
    def order(self) -> tuple[int | None, ...]:
        return tuple(e.user_id for e in self.entries)

    @property
    def refs(self) -> tuple[str, ...]:
        """The draw order as published: entry references, drawn first, then the reserve list."""
        return tuple(e.ref for e in self.entries)

    @property
    def drawn_refs(self) -> tuple[str, ...]:
        return tuple(e.ref for e in self.entries if e.rank <= self.places)

    @property
    def reserve_refs(self) -> tuple[str, ...]:
        return tuple(e.ref for e in self.entries if e.rank > self.places)

    @property
    def current(self) -> tuple[DrawEntry, ...]:
        """Who is in the group now (drawn, or promoted from the reserve list)."""
        return tuple(e for e in self.entries if e.status == "selected")

    @property
    def waiting(self) -> tuple[DrawEntry, ...]:
        """Reserves still waiting, in order."""
        return tuple(e for e in self.entries if e.status == "reserve")

    @property
    def left(self) -> tuple[DrawEntry, ...]:
        """Who left the group, or withdrew from the reserve list."""
        return tuple(e for e in self.entries if e.status in ("replaced", "withdrawn"))

    @property
    def open_places(self) -> int:
        return max(0, self.places - len(self.current))

    @property
    def name(self) -> str:
        return f"{self.category.emoji} {self.category.label}"


@dataclass(frozen=True, slots=True)
class DrawView:
    call: Call
    draw: DrawRecord
    categories: tuple[CategoryView, ...]
    reviewers: tuple[Reviewer, ...]
    deliveries: tuple[DeliveryRow, ...] = ()  # the members' messages (bot/domain/delivery)
    freeze: FreezeRecord | None = None  # version 3: the frozen roster and the beacon value
    changes: tuple[DrawChange, ...] = ()  # the public history after the draw

    @property
    def volunteers(self) -> int:
        return sum(c.volunteers for c in self.categories)

    @property
    def drawn(self) -> tuple[int, ...]:
        """The members the draw chose who still have an id (for mentions)."""
        return tuple(u for c in self.categories for u in c.drawn if u is not None)

    @property
    def group(self) -> tuple[DrawEntry, ...]:
        return tuple(e for c in self.categories for e in c.current)

    @property
    def posted(self) -> bool:
        return self.draw.result_message_id is not None

    def category_of(self, user_id: int) -> CategoryView | None:
        for cat in self.categories:
            if any(e.user_id == user_id for e in cat.entries):
                return cat
        return None

    def entry(self, user_id: int) -> DrawEntry | None:
        for cat in self.categories:
            for e in cat.entries:
                if e.user_id == user_id:
                    return e
        return None

    def reserve_position(self, user_id: int) -> int | None:
        """The member's place on their category's reserve list now (1 = next to be offered a
        place), or None if they are not waiting on it."""
        cat = self.category_of(user_id)
        if cat is None:
            return None
        for position, e in enumerate(cat.waiting, start=1):
            if e.user_id == user_id:
                return position
        return None

    def reviewer(self, user_id: int) -> Reviewer | None:
        return next((r for r in self.reviewers if r.user_id == user_id), None)

    def told(self, part: str, user_id: int | None) -> DeliveryRow | None:
        """How the member's ``part`` message ("notice": their place; "invite": to review) went."""
        return next((d for d in self.deliveries if d.part == part and d.user_id == user_id), None)


@dataclass(frozen=True, slots=True)
class RunOutcome:
    view: DrawView | None  # None: frozen, the draw is waiting for its public value
    created: bool  # False: the call had been drawn already and this is that draw
    closed_call: bool = False
    ignored: tuple[str, ...] = ()  # options given on a re-run that could not change anything
    freeze: FreezeRecord | None = None  # the frozen roster the draw is (or will be) made from
    froze_now: bool = False  # this run froze the roster
    waiting: RevealOutcome | None = None  # why the draw isn't made yet (view is None)


@dataclass(frozen=True, slots=True)
class ReplaceOutcome:
    call: Call
    category: Category
    left_user_id: int | None  # None: the member deleted their data
    promoted_user_id: int | None
    group_role_id: int | None
    result_message_id: int | None
    left_ref: str = ""
    promoted_ref: str | None = None


@dataclass(frozen=True, slots=True)
class ConfirmOutcome:
    call: Call
    changed: bool  # False: already confirmed


@dataclass(frozen=True, slots=True)
class ReviewOutcome:
    call: Call
    accepted: bool
    changed: bool  # False: the same answer was given before
    reviewer_role_id: int | None


@dataclass(frozen=True, slots=True)
class Deliveries:
    """Who still has to be told: drawn or promoted members, and volunteers to invite."""

    notices: tuple[DrawEntry, ...] = ()
    invites: tuple[DrawEntry, ...] = ()
    roles: tuple[int, ...] = ()  # group members still without the group role
    reviewer_roles: tuple[int, ...] = ()  # accepted reviewers still without the reviewer role


@dataclass(frozen=True, slots=True)
class FreezeRecord:
    """A call's frozen roster (docs/draw.md, "Freeze, then reveal"), published before the
    public value it names exists."""

    call_id: int
    frozen_at: float
    frozen_by: int | None
    reason: str
    roster_json: str
    roster_hash: str
    freeze_hash: str
    places_json: str
    beacon_kind: str  # drand | public
    beacon_chain: str | None
    beacon_round: int | None
    beacon_due_at: float
    beacon_source: str | None
    beacon_value: str | None
    beacon_signature: str | None
    beacon_at: float | None
    message_id: int | None
    posted_at: float | None
    waiting_notice_at: float | None
    group_role_id: int | None
    reviewer_role_id: int | None
    roles_by: int | None

    @property
    def roster(self) -> list[tuple[str, str]]:
        return [(str(u), str(k)) for u, k in json.loads(self.roster_json)]

    @property
    def places(self) -> dict[str, int]:
        return {str(k): int(v) for k, v in json.loads(self.places_json).items()}

    @property
    def beacon_name(self) -> str:
        return beacon_name(
            self.beacon_kind,
            chain_hash=self.beacon_chain or "",
            round_number=self.beacon_round or 0,
            source=self.beacon_source or "",
        )

    @property
    def revealed(self) -> bool:
        return self.beacon_value is not None


@dataclass(frozen=True, slots=True)
class DrawChange:
    """One public change after the draw (the ``changes`` list of the draw file)."""

    call_id: int
    seq: int
    category_key: str
    left_ref: str
    joined_ref: str | None
    at: float
    reason: str  # declined | replaced | withdrew


@dataclass(frozen=True, slots=True)
class BeaconChoice:
    """The public value a freeze names: by default a drand round after the freeze; or a value
    an organiser names (``source``: what, where and when), published at ``due_at``."""

    kind: Literal["drand", "public"] = "drand"
    source: str = ""
    due_at: float | None = None


@dataclass(frozen=True, slots=True)
class FreezeOutcome:
    kind: Literal["created", "existing", "empty", "missing", "drawn"]
    freeze: FreezeRecord | None = None
    closed_call: bool = False


@dataclass(frozen=True, slots=True)
class RevealOutcome:
    """What asking for the draw of a frozen call gave: drawn (now or before), or why not yet."""

    kind: Literal["drawn", "existing", "not_due", "waiting", "need_value", "not_published"]
    freeze: FreezeRecord
    detail: str = ""
