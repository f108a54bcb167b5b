"""The volunteer-call service: what organisers and reactions can do to a call."""

from __future__ import annotations

import asyncio
from collections.abc import Collection
from datetime import datetime

from bot.clock import Clock, from_unix
from bot.domain.audit.service import AuditService
from bot.domain.calls.models import (
    Call,
    CallDetails,
    Category,
    CategorySpec,
    ReactionEvent,
    ReactionResult,
    ReconcilePlan,
    RosterEntry,
)
from bot.domain.calls.rules import (
    new_seed,
    parse_categories,
    parse_places,
    plan_reconcile,
    seed_commitment,
    validate_description,
    validate_title,
)
from bot.domain.errors import Conflict, InvalidInput, NotFound
from bot.scheduling import JobScheduler
from bot.timeparse import parse_when
from db import Database
from db.batching import BatchWriter
from db.repositories.calls import CallRepository

CLOSE_JOB = "call.close"


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
            guild_id=guild_id,
            channel_id=channel_id,
            title=clean_title,
            description=clean_description,
            closes_at=closes_at.timestamp() if closes_at else None,
            created_by=author_id,
            created_at=now.timestamp(),
            seed=seed,
            seed_commitment=seed_commitment(seed),
            categories=[(c.emoji, c.key, c.label, c.places) for c in specs],
        )
        # Recorded once the post exists (attach_post): a call whose post fails leaves no trace.
        self.audit.hold(
            f"call:{call.id}",
            self.audit.entry(
                guild_id,
                author_id,
                "call.created",
                f"call:{call.number}",
                title=clean_title,
                categories={c.label: c.places for c in specs},
                closes_at=closes_at.timestamp() if closes_at else None,
            ),
        )
        if closes_at is not None:
            await self._schedule_close(call, closes_at)
        return await self.details(call.id)

    async def attach_post(self, call_id: int, channel_id: int, message_id: int) -> None:
        """The post exists: remember it, and record the creation with it."""
        await self.repo.set_message(
            call_id,
            channel_id,
            message_id,
            posted_at=self.clock.now().timestamp(),
            audit=self.audit.held(f"call:{call_id}"),
        )
        self.audit.drop(f"call:{call_id}")
        if self._post_ids is not None:
            self._post_ids.add(message_id)

    async def reposted(
        self, call_id: int, channel_id: int, message_id: int, *, actor_id: int
    ) -> None:
        """A new post replaces one that was deleted (``/call repost``); recorded with it. Who
        signed up stays signed up (see :meth:`reconcile`)."""
        call = (await self.details(call_id)).call
        await self.repo.set_message(
            call_id,
            channel_id,
            message_id,
            posted_at=self.clock.now().timestamp(),
            audit=self.audit.entry(
                call.guild_id,
                actor_id,
                "call.reposted",
                f"call:{call.number}",
                channel_id=channel_id,
            ),
        )
        if self._post_ids is not None:
            self._post_ids.add(message_id)

    async def discard(self, call_id: int) -> None:
        """Undo a call whose post could not be made (nobody could have signed up): its row, its
        job and its (held, never written) audit row are gone, as if it was never created."""
        if self.jobs is not None:
            await self.jobs.discard_prefix(close_job_key(call_id))
        self.audit.drop(f"call:{call_id}")
        await self.repo.delete(call_id)

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
        return CallDetails(
            call, await self.repo.categories(call_id), await self.repo.counts(call_id)
        )

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
            raise InvalidInput(
                "Tell me what to change: a title, description, places or closing time."
            )
        new_title = validate_title(title) if title is not None else call.title
        new_description = (
            validate_description(description) if description is not None else call.description
        )
        categories = await self.repo.categories(call.id)
        new_places = await self._new_places(call, categories, places)
        closes_at = self._new_closing(call, closes, tz)
        changes: dict[str, object] = {}
        if new_title != call.title:
            changes["title"] = new_title
        if new_description != call.description:
            changes["description_changed"] = True
        changed_places = {
            c.label: new_places[c.id]
            for c in categories
            if c.id in new_places and new_places[c.id] != c.places
        }
        if changed_places:
            changes["places"] = changed_places
        if closes is not None:
            changes["closes_at"] = closes_at.timestamp() if closes_at else None
        # The write holds only if what the checks above read still holds (a close or a draw
        # made meanwhile makes it change nothing, audit row included).
        applied = await self.repo.update(
            call.id,
            title=new_title,
            description=new_description,
            closes_at=closes_at.timestamp() if closes_at else None,
            places=new_places,
            expect_status=call.status,
            audit=self.audit.entry(
                guild_id, actor_id, "call.edited", f"call:{call.number}", **changes
            ),
        )
        if not applied:
            raise Conflict(
                f"Call #{number} was closed or drawn while you were editing it; nothing was "
                f"changed. Look at it again and retry."
            )
        if closes is not None:
            if closes_at is None:
                await self._cancel_close(call.id)
            else:
                await self._schedule_close(call, closes_at)
        return await self.details(call.id)

    async def _new_places(
        self, call: Call, categories: list[Category], places: str | None
    ) -> dict[int, int]:
        """Places per category id after the edit (empty when places aren't changed)."""
        if places is None:
            return {}
        if await self.repo.is_drawn(call.id):
            raise Conflict(
                f"Call #{call.number} has been drawn, so its places can't change. To draw more "
                f"people, use `/draw replace`, or start a new call."
            )
        if await self.repo.freeze_state(call.id) is not None:
            raise Conflict(
                f"The places of call #{call.number} were fixed when its list of volunteers was "
                "frozen, and everyone can see them on the call post. To change them, re-open "
                f"the call (`/call reopen call:{call.number}`): closing it again makes a new freeze."
            )
        specs = parse_places(
            places, [CategorySpec(c.emoji, c.key, c.label, c.places) for c in categories]
        )
        return {cat.id: spec.places for cat, spec in zip(categories, specs, strict=True)}

    def _new_closing(self, call: Call, closes: str | None, tz: str) -> datetime | None:
        """The closing time after the edit ("never" clears it)."""
        current = from_unix(call.closes_at) if call.closes_at else None
        if closes is None:
            return current
        if closes.strip().lower() in ("", "never", "none"):
            return None
        if not call.is_open:
            raise Conflict("This call is closed. Reopen it with `/call reopen` first.")
        return parse_when(closes, tz=tz, now=self.clock.now())

    async def close(
        self, call_id: int, reason: str = "organiser", actor_id: int | None = None
    ) -> bool:
        """Close the call; True if this call closed it (False if it was closed already)."""
        closed = await self.repo.close(
            call_id,
            self.clock.now().timestamp(),
            reason,
            audit=lambda row: self.audit.entry(
                int(row[0]), actor_id, "call.closed", f"call:{row[1]}", reason=reason
            ),
        )
        if closed and reason != "schedule":
            await self._cancel_close(call_id)
        return closed

    async def close_by_number(
        self, guild_id: int, number: int, actor_id: int | None = None
    ) -> Call:
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
        frozen = await self.repo.freeze_state(call.id)
        if frozen is not None:
            due_at, posted_at = frozen
            if due_at <= now.timestamp() and posted_at is not None and posted_at < due_at:
                raise Conflict(
                    f"The public randomness for call #{number}'s draw is already out, so the draw "
                    "is decided and the call can't be re-opened. Run "
                    f"`/draw run call:{number}` to make it."
                )
        audit = self.audit.entry(
            guild_id,
            actor_id,
            "call.reopened",
            f"call:{number}",
            closes_at=closes_at.timestamp() if closes_at else None,
        )
        if not await self.repo.reopen(
            call.id, closes_at.timestamp() if closes_at else None, now.timestamp(), audit=audit
        ):
            raise Conflict(f"Call #{number} is already open.")
        if self.jobs is not None:  # the draw's job of the dropped freeze (draws.reveal_job_key)
            await self.jobs.cancel(f"draw:{call.id}:reveal")
        if closes_at is not None:
            await self._schedule_close(call, closes_at)
        return call

    async def overview(self, guild_id: int) -> list[CallDetails]:
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

    async def react(
        self, message_id: int, user_id: int, key: str, *, added: bool
    ) -> ReactionResult:
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
        # Sign-ups older than the current post (it was re-posted after a deletion) have no
        # reaction on it to remove: their absence there is not a withdrawal.
        posted_at = await self.repo.posted_at(call_id)
        if posted_at is not None:
            plan.withdrawals = [u for u in plan.withdrawals if rows[u].joined_at >= posted_at]
        by_key = {c.key: c.id for c in categories}
        await self.repo.apply_reconcile(
            call_id,
            categories,
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
                close_job_key(call.id),
                CLOSE_JOB,
                when,
                {"call_id": call.id},
                guild_id=call.guild_id,
            )

    async def _cancel_close(self, call_id: int) -> None:
        if self.jobs is not None:
            await self.jobs.cancel(close_job_key(call_id))
