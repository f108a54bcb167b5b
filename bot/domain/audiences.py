"""Who a round or a meeting is for (the drawn group, accepted reviewers, a role), and
per-item reminder jobs."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.domain.errors import InvalidInput, NotFound
from bot.domain.jobs import Job
from bot.scheduling import JobScheduler
from db import Database
from db.repositories.calls import CallRepository


def merge_audience(*groups: Sequence[int]) -> list[int]:
    """Members of all groups, first appearance first, no duplicates."""
    seen: dict[int, None] = {}
    for group in groups:
        for user in group:
            seen.setdefault(int(user), None)
    return list(seen)


async def resolve_audience(
    calls: CallRepository,
    *,
    guild_id: int,
    call_number: int | None,
    role_id: int | None,
    role_member_ids: Sequence[int],
    people_of_call: Callable[[Database, int], Awaitable[list[int]]],
    choose: str,
    nobody: str,
) -> tuple[int | None, list[int]]:
    """(the call's id or None, the audience): ``people_of_call`` of the call with this number
    and/or the role's members, first appearance first.

    Refuses with ``choose`` when neither a call nor a role is given, with NotFound for an
    unknown call, and with ``nobody`` when nobody would be in the audience."""
    if call_number is None and role_id is None:
        raise InvalidInput(choose)
    call_id: int | None = None
    from_call: list[int] = []
    if call_number is not None:
        call = await calls.by_number(guild_id, call_number)
        if call is None:
            raise NotFound(
                f"There is no call #{call_number} in this server. `/call list` shows them."
            )
        call_id = call.id
        from_call = await people_of_call(calls.db, call.id)
    audience = merge_audience(from_call, role_member_ids if role_id is not None else ())
    if not audience:
        raise InvalidInput(nobody)
    return call_id, audience


@dataclass(frozen=True, slots=True)
class ReminderJobs:
    """The reminder jobs of one kind of item: keys ``<prefix>:<id>:remind:<offset seconds>``,
    payload ``{<id_field>: id, "offset": seconds}``, each due ``offset`` before a moment."""

    kind: str  # the job kind, e.g. "feedback.remind"
    prefix: str  # e.g. "feedback"
    id_field: str  # e.g. "round_id"

    def job_prefix(self, item_id: int) -> str:
        return f"{self.prefix}:{item_id}:"

    def key(self, item_id: int, offset_seconds: int) -> str:
        return f"{self.job_prefix(item_id)}remind:{offset_seconds}"

    async def schedule(
        self,
        jobs: JobScheduler | None,
        item_id: int,
        before: datetime,
        offsets: Sequence[int],
        *,
        guild_id: int,
    ) -> None:
        """Arm one job per offset (seconds before ``before``)."""
        if jobs is None:
            return
        for offset in offsets:
            await jobs.schedule(
                self.key(item_id, offset),
                self.kind,
                before - timedelta(seconds=offset),
                {self.id_field: item_id, "offset": offset},
                guild_id=guild_id,
            )

    async def discard(self, jobs: JobScheduler | None, item_id: int) -> None:
        """Delete every reminder of an item whose creation was undone."""
        if jobs is not None:
            await jobs.discard_prefix(self.job_prefix(item_id))

    async def cancel(self, jobs: JobScheduler | None, item_id: int) -> None:
        """Cancel every reminder of the item that has not run."""
        if jobs is not None:
            await jobs.cancel_prefix(self.job_prefix(item_id))

    def payload(self, job: Job) -> tuple[int, int]:
        """(item id, offset seconds) of one of these jobs."""
        return int(job.payload[self.id_field]), int(job.payload["offset"])
