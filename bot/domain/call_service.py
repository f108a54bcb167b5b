"""The volunteer-call service: what organisers and reactions can do to a call."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from bot.clock import Clock, from_unix
from bot.domain.audit import AuditService
from bot.domain.calls import (
    CategorySpec,
    ReconcilePlan,
    new_seed,
    parse_categories,
    parse_places,
    plan_reconcile,
    seed_commitment,
    validate_description,
    validate_title,
)
from bot.domain.errors import Conflict, InvalidInput, NotFound
from bot.domain.wording import template
from bot.scheduling import JobScheduler
from bot.timeparse import parse_when
from db import Database
from db.batching import BatchWriter
from db.repositories.calls import (
    Call,
    CallRepository,
    Category,
    ReactionEvent,
    ReactionResult,
    Signup,
)

__all__ = [
    "CALL_CLOSED_DM",
    "CALL_CLOSED_NOTE",
    "CALL_CLOSES",
    "CALL_INSTRUCTIONS",
    "CALL_MOVED_DM",
    "CALL_SIGNUP_DM",
    "CALL_WITHDRAWN_DM",
    "CLOSE_JOB",
    "NOTICE_TEMPLATES",
    "CallDetails",
    "CallService",
    "RosterEntry",
    "SignupConfirmations",
    "SignupNotice",
    "choices_text",
    "signup_notice",
]

log = logging.getLogger(__name__)

CLOSE_JOB = "call.close"

# Member-facing words (organisers can change them with /wording set). Plain words for people new
# to Discord: what to click and where, each emoji with its meaning in words, and "call for
# volunteers" in full (a "call" alone can read as a phone call).
CALL_INSTRUCTIONS = template(
    "call.instructions",
    "To volunteer, click the emoji of your group in the reactions under this post: {choices}. "
    "To change your mind, click your emoji again to remove it. Not sure how? Ask an organiser "
    "and they'll help you.",
    "On an open call post: how to volunteer and withdraw ({choices} lists each emoji and its group)",
)
CALL_CLOSES = template(
    "call.closes", "Closes {when}.", "On an open call post with a closing time",
)
CALL_CLOSED_NOTE = template(
    "call.closed_note",
    "This call is closed. Thank you to everyone who volunteered.",
    "On a closed call post",
)
CALL_SIGNUP_DM = template(
    "call.signup_dm",
    "Thank you for volunteering! You're signed up for call for volunteers #{number} ({title}) "
    "as {category}. If you change your mind, click your emoji under [the call post]({link}) "
    "again to remove it.",
    "DM to a member who volunteered on a call",
)
CALL_MOVED_DM = template(
    "call.moved_dm",
    "You've moved to {category} on call for volunteers #{number} ({title}), so you're no "
    "longer in your other group. To withdraw, click your emoji under [the call post]({link}) "
    "again.",
    "DM to a volunteer who switched to another group on a call",
)
CALL_WITHDRAWN_DM = template(
    "call.withdrawn_dm",
    "You've withdrawn from call for volunteers #{number} ({title}). Thank you for letting us "
    "know. If you change your mind while it is open, click your group's emoji under "
    "[the call post]({link}) again.",
    "DM to a volunteer who withdrew from a call (only after they were told they signed up)",
)
CALL_CLOSED_DM = template(
    "call.closed_dm",
    "Thank you for wanting to take part! Call for volunteers #{number} ({title}) has closed, "
    "so your reaction doesn't sign you up. Keep an eye out for the next one.",
    "DM to a member who reacted after a call closed",
)

NoticeKind = Literal["joined", "moved", "withdrawn"]
NOTICE_TEMPLATES = {"joined": CALL_SIGNUP_DM, "moved": CALL_MOVED_DM,
                    "withdrawn": CALL_WITHDRAWN_DM}


def choices_text(categories: Sequence[Category]) -> str:
    """Each category's emoji with its group in words: ``🧭 for Experienced, or 🌱 for New``."""
    parts = [f"{c.emoji} for {c.label}" for c in categories]
    if len(parts) < 2:
        return "".join(parts)
    return ", ".join(parts[:-1]) + ", or " + parts[-1]


def signup_notice(told: int | None, current: int | None) -> NoticeKind | None:
    """What a member should hear now about their sign-up, given the category they were last
    told about (``told``) and the one they are in now (``current``; ``None``: not signed up).
    ``None``: nothing (no change since the last DM, or a join withdrawn before it was told)."""
    if current == told:
        return None
    if current is None:
        return "withdrawn"
    return "joined" if told is None else "moved"


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


def close_job_key(call_id: int) -> str:
    return f"call:{call_id}:close"


class CallService:
    def __init__(self, db: Database, clock: Clock, jobs: JobScheduler | None = None) -> None:
        self.db = db
        self.repo = CallRepository(db)
        self.clock = clock
        self.jobs = jobs
        self.audit = AuditService(db, clock)
        self._writer: BatchWriter[ReactionEvent, ReactionResult] = BatchWriter(
            self.repo.apply_reactions
        )
        self._post_ids: set[int] | None = None
        self._reconciling: dict[int, set[int]] = {}
        self._post_ids_lock = asyncio.Lock()

    # -- organisers ----------------------------------------------------------------------------

    async def create(
        self,
        *,
        guild_id: int,
        channel_id: int,
        author_id: int,
        title: str,
        categories: str,
        description: str | None = None,
        places: str | None = None,
        closes: str | None = None,
        tz: str,
    ) -> CallDetails:
        now = self.clock.now()
        clean_title = validate_title(title)
        specs = parse_places(places, parse_categories(categories))
        clean_description = validate_description(description)
        closes_at = parse_when(closes, tz=tz, now=now) if closes and closes.strip() else None
        seed = new_seed()
        call = await self.repo.create(
            guild_id=guild_id, channel_id=channel_id, title=clean_title,
            description=clean_description,
            closes_at=closes_at.timestamp() if closes_at else None, created_by=author_id,
            created_at=now.timestamp(), seed=seed, seed_commitment=seed_commitment(seed),
            categories=[(c.emoji, c.key, c.label, c.places) for c in specs],
            audit=lambda made: self.audit.entry(
                guild_id, author_id, "call.created", f"call:{made.number}", title=clean_title,
                categories={c.label: c.places for c in specs},
                closes_at=closes_at.timestamp() if closes_at else None,
            ),
        )
        if closes_at is not None:
            await self._schedule_close(call, closes_at)
        return await self.details(call.id)

    async def attach_post(self, call_id: int, channel_id: int, message_id: int) -> None:
        await self.repo.set_message(call_id, channel_id, message_id)
        if self._post_ids is not None:
            self._post_ids.add(message_id)

    async def discard(self, call_id: int) -> None:
        """Remove a call whose post could not be made (nobody could have signed up)."""
        if self.jobs is not None:
            await self.jobs.cancel(close_job_key(call_id))
        await self.repo.delete(call_id, audit=lambda row: self.audit.entry(
            int(row[0]), None, "call.discarded", f"call:{row[1]}",
            reason="the post could not be made",
        ))

    async def get(self, guild_id: int, number: int) -> Call:
        call = await self.repo.by_number(guild_id, number)
        if call is None:
            raise NotFound(
                f"There is no call #{number} in this server. `/call list` shows the calls there are."
            )
        return call

    async def get_by_id(self, call_id: int) -> Call | None:
        return await self.repo.get(call_id)

    async def by_message(self, message_id: int) -> Call | None:
        return await self.repo.by_message(message_id)

    async def details(self, call_id: int) -> CallDetails:
        call = await self.repo.get(call_id)
        if call is None:
            raise NotFound("That call no longer exists.")
        return CallDetails(call, await self.repo.categories(call_id), await self.repo.counts(call_id))

    async def categories(self, call_id: int) -> list[Category]:
        return await self.repo.categories(call_id)

    async def edit(
        self,
        guild_id: int,
        number: int,
        *,
        title: str | None = None,
        description: str | None = None,
        places: str | None = None,
        closes: str | None = None,
        tz: str,
        actor_id: int | None = None,
    ) -> CallDetails:
        call = await self.get(guild_id, number)
        if all(v is None for v in (title, description, places, closes)):
            raise InvalidInput("Tell me what to change: a title, description, places or closing time.")
        now = self.clock.now()
        new_title = validate_title(title) if title is not None else call.title
        new_description = (
            validate_description(description) if description is not None else call.description
        )
        categories = await self.repo.categories(call.id)
        new_places: dict[int, int] = {}
        if places is not None:
            if await self.repo.is_drawn(call.id):
                raise Conflict(
                    f"Call #{number} has been drawn, so its places can't change. To draw more "
                    f"people, use `/draw replace`, or start a new call."
                )
            specs = parse_places(
                places, [CategorySpec(c.emoji, c.key, c.label, c.places) for c in categories]
            )
            new_places = {cat.id: spec.places for cat, spec in zip(categories, specs, strict=True)}
        closes_at: datetime | None = from_unix(call.closes_at) if call.closes_at else None
        if closes is not None:
            if closes.strip().lower() in ("", "never", "none"):
                closes_at = None
            else:
                if not call.is_open:
                    raise Conflict("This call is closed. Reopen it with `/call reopen` first.")
                closes_at = parse_when(closes, tz=tz, now=now)
        changes: dict[str, object] = {}
        if new_title != call.title:
            changes["title"] = new_title
        if new_description != call.description:
            changes["description_changed"] = True
        changed_places = {c.label: new_places[c.id] for c in categories
                          if c.id in new_places and new_places[c.id] != c.places}
        if changed_places:
            changes["places"] = changed_places
        if closes is not None:
            changes["closes_at"] = closes_at.timestamp() if closes_at else None
        await self.repo.update(
            call.id, title=new_title, description=new_description,
            closes_at=closes_at.timestamp() if closes_at else None, places=new_places,
            audit=self.audit.entry(guild_id, actor_id, "call.edited", f"call:{call.number}",
                                   **changes),
        )
        if closes is not None:
            if closes_at is None:
                await self._cancel_close(call.id)
            else:
                await self._schedule_close(call, closes_at)
        return await self.details(call.id)

    async def close(
        self, call_id: int, reason: str = "organiser", actor_id: int | None = None
    ) -> bool:
        """Close the call; True if this call closed it (False if it was closed already)."""
        closed = await self.repo.close(
            call_id, self.clock.now().timestamp(), reason,
            audit=lambda row: self.audit.entry(int(row[0]), actor_id, "call.closed",
                                               f"call:{row[1]}", reason=reason),
        )
        if closed and reason != "schedule":
            await self._cancel_close(call_id)
        return closed

    async def close_by_number(self, guild_id: int, number: int, actor_id: int | None = None) -> Call:
        call = await self.get(guild_id, number)
        if not await self.close(call.id, actor_id=actor_id):
            raise Conflict(f"Call #{number} is already closed.")
        return call

    async def reopen(
        self, guild_id: int, number: int, closes: str | None, tz: str, actor_id: int | None = None
    ) -> Call:
        call = await self.get(guild_id, number)
        now = self.clock.now()
        closes_at = parse_when(closes, tz=tz, now=now) if closes and closes.strip() else None
        if await self.repo.is_drawn(call.id):
            raise Conflict(f"Call #{number} has been drawn, so it can't be reopened.")
        audit = self.audit.entry(guild_id, actor_id, "call.reopened", f"call:{number}",
                                 closes_at=closes_at.timestamp() if closes_at else None)
        if not await self.repo.reopen(call.id, closes_at.timestamp() if closes_at else None,
                                      audit=audit):
            raise Conflict(f"Call #{number} is already open.")
        if closes_at is not None:
            await self._schedule_close(call, closes_at)
        return call

    async def list(self, guild_id: int) -> list[CallDetails]:
        calls = await self.repo.list_for_guild(guild_id)
        return [
            CallDetails(c, await self.repo.categories(c.id), await self.repo.counts(c.id))
            for c in calls
        ]

    async def search(self, guild_id: int, text: str) -> list[Call]:
        return await self.repo.search_numbers(guild_id, text.strip().lstrip("#"))

    async def roster(self, call_id: int) -> list[RosterEntry]:
        categories = await self.repo.categories(call_id)
        signups = await self.repo.signups(call_id)
        return [
            RosterEntry(cat, [s for s in signups if s.category_id == cat.id]) for cat in categories
        ]

    async def open_calls(self) -> list[Call]:
        return await self.repo.open_calls()

    async def current_category(self, call_id: int, user_id: int) -> int | None:
        """The category a member is signed up in on a call now (``None``: not signed up)."""
        return await self.repo.current_category(call_id, user_id)

    # -- members -------------------------------------------------------------------------------

    async def is_call_post(self, message_id: int) -> bool:
        """Cheap filter for reaction events (a cached set of call post ids)."""
        if self._post_ids is None:
            async with self._post_ids_lock:  # concurrent first events share one load
                if self._post_ids is None:
                    self._post_ids = await self.repo.message_ids()
        return message_id in self._post_ids

    async def react(self, message_id: int, user_id: int, key: str, *, added: bool) -> ReactionResult:
        """Apply a reaction add/remove. Batched with other events; returns after the commit."""
        if not await self.is_call_post(message_id):
            return ReactionResult("ignored")
        watchers = self._reconciling.get(message_id)
        if watchers is not None:
            watchers.add(user_id)
        event = ReactionEvent(added, message_id, user_id, key, self.clock.now().timestamp())
        return await self._writer.submit(event)

    def begin_reconcile(self, message_id: int) -> None:
        """Start watching live reactions on a post while its reactions are being fetched."""
        self._reconciling[message_id] = set()

    def end_reconcile(self, message_id: int) -> None:
        self._reconciling.pop(message_id, None)

    def touched_during_reconcile(self, message_id: int) -> set[int]:
        """Members who reacted live since :meth:`begin_reconcile`: their live events win."""
        return set(self._reconciling.get(message_id, ()))

    async def reconcile(
        self, call_id: int, observed: dict[str, list[int]], *, touched: Collection[int] = ()
    ) -> ReconcilePlan:
        """Make the roster match the reactions on the post (changes made while offline).

        Fetching a post's reactions takes many awaits while live reaction events keep being
        applied. Two guards keep live events in charge: members who reacted live since
        :meth:`begin_reconcile` (``touched``, re-read after the roster) are left alone, and
        every change is applied only if that member's row is still exactly as it was read.
        """
        call = await self.repo.get(call_id)
        categories = await self.repo.categories(call_id)
        by_id = {c.id: c.key for c in categories}
        rows = {s.user_id: s for s in await self.repo.signups(call_id)}
        skip = set(touched)
        if call is not None and call.message_id is not None:
            skip |= self.touched_during_reconcile(call.message_id)
        stored = {u: by_id[s.category_id] for u, s in rows.items() if u not in skip}
        observed = {k: [u for u in users if u not in skip] for k, users in observed.items()}
        plan = plan_reconcile(stored, observed, [c.key for c in categories])
        by_key = {c.key: c.id for c in categories}
        await self.repo.apply_reconcile(
            call_id, categories,
            joins=[(user, by_key[key]) for user, key in plan.joins],
            switches=[(rows[user], by_key[key]) for user, key in plan.switches],
            withdrawals=[rows[user] for user in plan.withdrawals],
            now=self.clock.now().timestamp(),
        )
        return plan

    async def close_writer(self) -> None:
        await self._writer.close()

    # -- internals -----------------------------------------------------------------------------

    async def _schedule_close(self, call: Call, when: datetime) -> None:
        if self.jobs is not None:
            await self.jobs.schedule(
                close_job_key(call.id), CLOSE_JOB, when, {"call_id": call.id},
                guild_id=call.guild_id,
            )

    async def _cancel_close(self, call_id: int) -> None:
        if self.jobs is not None:
            await self.jobs.cancel(close_job_key(call_id))


class SignupConfirmations:
    """Decides what a queued sign-up DM says at the moment it is sent, from the roster then.

    Sign-up DMs are paced (bot.notify.DmQueue), so under a burst one is sent a while after the
    reaction that asked for it; by then the member may have withdrawn or switched. Each member
    is told only the change since what they were last told: a join withdrawn before its DM went
    out says nothing, a switch after a confirmed join says "moved", a withdrawal after a
    confirmed join is acknowledged. What each member was told is kept in memory only (these DMs
    are a courtesy; after a restart a withdrawal is simply not acknowledged), bounded in size.
    """

    def __init__(self, calls: CallService, limit: int = 50_000) -> None:
        self.calls = calls
        self.limit = limit
        self._told: dict[tuple[int, int], int] = {}  # (call id, user id) -> category id

    def told(self, call_id: int, user_id: int) -> int | None:
        return self._told.get((call_id, user_id))

    async def due(self, call_id: int, user_id: int) -> SignupNotice | None:
        """The notice to send now, or ``None``; remembers it as told."""
        call = await self.calls.get_by_id(call_id)
        if call is None:
            return None
        told = self._told.get((call_id, user_id))
        current = await self.calls.current_category(call_id, user_id)
        kind = signup_notice(told, current)
        if kind is None:
            return None
        self._remember(call_id, user_id, current)
        category = None
        if current is not None:
            category = next((c for c in await self.calls.categories(call_id) if c.id == current),
                            None)
            if category is None:
                return None
        return SignupNotice(kind, call, category)

    def _remember(self, call_id: int, user_id: int, category_id: int | None) -> None:
        key = (call_id, user_id)
        self._told.pop(key, None)
        if category_id is None:
            return
        self._told[key] = category_id
        while len(self._told) > self.limit:
            self._told.pop(next(iter(self._told)))
