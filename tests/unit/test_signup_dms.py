"""Sign-up DMs are paced, so they are decided when sent: stale ones are dropped, a switch says
"moved", a withdrawal after a confirmed join is acknowledged, and queued DMs for one member on
one call coalesce into the latest state."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.client import CoproBot
from bot.clock import FakeClock
from bot.domain.calls.notices import SignupConfirmations
from bot.domain.calls.rules import choices_text, signup_notice
from bot.domain.calls.service import CallService
from bot.notify import DmQueue
from bot.scheduling import JobScheduler
from bot.settings import load_settings
from db import Database

GUILD = 1000
ORGANISER = 7
MESSAGE = 555
STORY = "🧭 Experienced with LinkedIn; 🌱 New to LinkedIn"


# -- the pure rule ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("told", "current", "expected"),
    [
        (None, 1, "joined"),
        (1, 2, "moved"),
        (1, None, "withdrawn"),
        (None, None, None),  # joined and withdrew before the DM went out: nothing to say
        (1, 1, None),  # nothing changed since the last DM
    ],
)
def test_signup_notice(told: int | None, current: int | None, expected: str | None) -> None:
    assert signup_notice(told, current) == expected


# -- the queue ----------------------------------------------------------------------------------


class Recorder:
    """Stands in for bot.notify.send_dm. With ``gate`` set, every send waits for it: the paced
    worker is then busy, as under a real burst, while more events arrive."""

    def __init__(self) -> None:
        self.sent: list[tuple[int, str]] = []
        self.gate: asyncio.Event | None = None

    async def send_dm(
        self, client: Any, user_id: int, content: str | None = None, **_: Any
    ) -> None:
        if self.gate is not None:
            await self.gate.wait()
        self.sent.append((user_id, content or ""))


@pytest.fixture
def recorder(monkeypatch: pytest.MonkeyPatch) -> Recorder:
    found = Recorder()
    monkeypatch.setattr(sys.modules["bot.notify"], "send_dm", found.send_dm)
    return found


async def test_queue_coalesces_by_key_and_drops_what_is_no_longer_needed(
    recorder: Recorder,
) -> None:
    queue = DmQueue(None)  # type: ignore[arg-type]

    async def nothing() -> str | None:
        return None

    async def later() -> str | None:
        return "decided when sent"

    # All put before the worker runs (it starts at the next await).
    queue.put(1, "first for 1", key="a")
    queue.put(2, "only for 2")
    queue.put(1, "second for 1", key="a")  # replaces the waiting one, keeps its place
    queue.put(3, nothing, key="b")  # nothing to say any more: dropped
    queue.put(4, later, key="c")
    queue.put(1, "third for 1", key="a")
    assert len(queue) == 4
    await queue.join()
    assert recorder.sent == [(1, "third for 1"), (2, "only for 2"), (4, "decided when sent")]
    await queue.close()


async def test_a_failing_render_is_logged_and_the_queue_goes_on(recorder: Recorder) -> None:
    queue = DmQueue(None)  # type: ignore[arg-type]

    async def broken() -> str | None:
        raise RuntimeError("boom")

    queue.put(1, broken)
    queue.put(2, "still sent")
    await queue.join()
    assert recorder.sent == [(2, "still sent")]


# -- the service on a real database -------------------------------------------------------------


async def test_confirmations_follow_the_roster_when_sent(db: Database, clock: FakeClock) -> None:
    calls = CallService(db, clock)
    details = await calls.create(
        guild_id=GUILD,
        channel_id=10,
        author_id=ORGANISER,
        title="T",
        categories=STORY,
        tz="Europe/London",
    )
    call_id = details.call.id
    compass, seedling = details.categories
    await calls.attach_post(call_id, 10, MESSAGE)
    notices = SignupConfirmations(calls)

    # Joined, then withdrew before the DM was sent: nothing is said.
    await calls.react(MESSAGE, 1, "🧭", added=True)
    await calls.react(MESSAGE, 1, "🧭", added=False)
    assert await notices.due(call_id, 1) is None

    # Joined and told; then switched: "moved" to the new group.
    await calls.react(MESSAGE, 2, "🧭", added=True)
    first = await notices.due(call_id, 2)
    assert first is not None and first.kind == "joined" and first.category == compass
    assert await notices.due(call_id, 2) is None  # nothing new to say
    await calls.react(MESSAGE, 2, "🌱", added=True)
    moved = await notices.due(call_id, 2)
    assert moved is not None and moved.kind == "moved" and moved.category == seedling

    # Switched before the first DM went out: one plain "joined", in the group they are in now.
    await calls.react(MESSAGE, 3, "🧭", added=True)
    await calls.react(MESSAGE, 3, "🌱", added=True)
    joined = await notices.due(call_id, 3)
    assert joined is not None and joined.kind == "joined" and joined.category == seedling

    # Withdrew after being told: acknowledged once.
    await calls.react(MESSAGE, 2, "🌱", added=False)
    gone = await notices.due(call_id, 2)
    assert gone is not None and gone.kind == "withdrawn" and gone.category is None
    assert await notices.due(call_id, 2) is None
    assert notices.told(call_id, 2) is None


def test_choices_name_every_group_in_words() -> None:
    from bot.domain.calls.models import Category

    cats = [
        Category(1, 1, 0, "🧭", "🧭", "Experienced", 3),
        Category(2, 1, 1, "🌱", "🌱", "New", 3),
    ]
    text = choices_text(cats)
    assert "Experienced" in text and "New" in text and "🧭" in text and "🌱" in text


# -- through the cog ----------------------------------------------------------------------------


@pytest.fixture
async def bot(db: Database, clock: FakeClock, tmp_path: Path) -> AsyncIterator[CoproBot]:
    settings = load_settings({"DISCORD_TOKEN": "t", "DATABASE_PATH": str(tmp_path / "x.db")})
    made = CoproBot(settings=settings, db=db, jobs=JobScheduler(db, clock), clock=clock)
    await made.load_extension("cogs.calls")
    # Short custom words, so the test sees which message was sent without relying on wording.
    for key, text in (
        ("call.signup_dm", "JOINED {category}"),
        ("call.moved_dm", "MOVED {category}"),
        ("call.withdrawn_dm", "WITHDRAWN #{number}"),
    ):
        await made.services.wording.set(GUILD, key, text, ORGANISER)
    yield made
    await made.close()


async def react(bot: CoproBot, user_id: int, key: str, *, added: bool) -> None:
    """What the cog's raw reaction listeners do for one event (without the reaction clean-up)."""
    cog = bot.get_cog("Calls")
    result = await bot.services.calls.react(MESSAGE, user_id, key, added=added)
    if result.outcome in ("joined", "switched", "withdrawn"):
        await cog._confirm(GUILD, user_id, result)  # type: ignore[union-attr]


async def test_burst_sends_only_the_latest_state_per_member(
    bot: CoproBot, recorder: Recorder
) -> None:
    details = await bot.services.calls.create(
        guild_id=GUILD,
        channel_id=10,
        author_id=ORGANISER,
        title="T",
        categories=STORY,
        tz="Europe/London",
    )
    await bot.services.calls.attach_post(details.call.id, 10, MESSAGE)
    compass, seedling = (f"{c.emoji} {c.label}" for c in details.categories)

    # A burst: the paced worker is busy (its first send waits) while the events arrive.
    recorder.gate = asyncio.Event()
    await react(bot, 1, "🧭", added=True)  # stays
    await react(bot, 2, "🧭", added=True)  # withdraws before the DM goes out
    await react(bot, 2, "🧭", added=False)
    await react(bot, 3, "🌱", added=True)  # switches before the DM goes out
    await react(bot, 3, "🧭", added=True)
    recorder.gate.set()
    await bot.dm_queue.join()
    assert sorted(recorder.sent) == [(1, f"JOINED {compass}"), (3, f"JOINED {compass}")]

    # Later, after their confirmation: a switch says "moved", a withdrawal is acknowledged.
    recorder.sent.clear()
    await react(bot, 1, "🌱", added=True)
    await bot.dm_queue.join()
    await react(bot, 3, "🧭", added=False)
    await bot.dm_queue.join()
    assert recorder.sent == [(1, f"MOVED {seedling}"), (3, f"WITHDRAWN #{details.call.number}")]


async def test_no_dms_at_all_with_confirmations_off(bot: CoproBot, recorder: Recorder) -> None:
    details = await bot.services.calls.create(
        guild_id=GUILD,
        channel_id=10,
        author_id=ORGANISER,
        title="T",
        categories=STORY,
        tz="Europe/London",
    )
    await bot.services.calls.attach_post(details.call.id, 10, MESSAGE)
    await bot.services.settings.set_dm_confirmations(GUILD, False, ORGANISER)
    await react(bot, 1, "🧭", added=True)
    await react(bot, 1, "🧭", added=False)
    await bot.dm_queue.join()
    assert recorder.sent == []
