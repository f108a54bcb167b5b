"""A round's first message asks for feedback only while it takes feedback on time: once closed,
or past its deadline, it thanks people instead (late comments are still kept); a job refreshes
it at the deadline. Organisers' summary shows the deadline in the server's time zone."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import discord
import pytest

from bot.client import CoproBot
from bot.clock import FakeClock
from bot.domain.feedback.models import FeedbackRound
from bot.domain.feedback.rules import local_time_text, takes_feedback_on_time
from bot.domain.feedback.service import DEADLINE_JOB
from bot.scheduling import JobScheduler
from bot.settings import load_settings
from db import Database

GUILD = 1000
ORGANISER = 7
MEMBERS = [101, 102, 103]


@pytest.fixture
async def bot(db: Database, clock: FakeClock, tmp_path: Path) -> AsyncIterator[CoproBot]:
    settings = load_settings({"DISCORD_TOKEN": "t", "DATABASE_PATH": str(tmp_path / "x.db")})
    made = CoproBot(settings=settings, db=db, jobs=JobScheduler(db, clock), clock=clock)
    await made.load_extension("cogs.feedback")
    # Short custom words, so the test sees which text is used without relying on wording.
    await made.services.wording.set(GUILD, "feedback.intro", "ASKING", ORGANISER)
    await made.services.wording.set(GUILD, "feedback.intro_closed", "THANKS", ORGANISER)
    yield made
    await made.close()


async def open_round(bot: CoproBot) -> FeedbackRound:
    opened = await bot.services.feedback.open(
        guild_id=GUILD,
        author_id=ORGANISER,
        title="Plan",
        plan="https://docs.example/plan",
        channel_id=20,
        tz="Europe/London",
        role_id=5,
        role_member_ids=MEMBERS,
        closes="in 3 days",
        reminders="24h",
    )
    thread = 7000 + opened.round.id
    await bot.services.feedback.attach_thread(opened.round.id, thread, 20, thread)
    await bot.services.feedback.schedule_deadline_refresh(opened.round)
    return opened.round


async def intro(bot: CoproBot, round_id: int) -> str:
    cog = bot.get_cog("FeedbackCog")
    found = await bot.services.feedback.get_by_id(round_id)
    assert cog is not None and found is not None
    post = await cog.render_round(found)  # type: ignore[attr-defined]
    texts = [i.content for i in post.walk_children() if isinstance(i, discord.ui.TextDisplay)]
    return str(texts[1]).split("\n")[0]  # after the heading


async def test_open_round_asks_and_a_closed_one_thanks(bot: CoproBot) -> None:
    found = await open_round(bot)
    assert await intro(bot, found.id) == "ASKING"
    await bot.services.feedback.close(GUILD, found.number, ORGANISER)
    assert await intro(bot, found.id) == "THANKS"


async def test_past_the_deadline_it_thanks_and_a_job_refreshes_it_then(
    bot: CoproBot, clock: FakeClock
) -> None:
    found = await open_round(bot)
    job = await bot.jobs.repo.get_by_key(f"feedback:{found.id}:deadline")
    assert job is not None and job.kind == DEADLINE_JOB and job.run_at == found.closes_at
    clock.advance(timedelta(days=3, minutes=1))
    assert (await bot.services.feedback.get_by_id(found.id)).is_open  # type: ignore[union-attr]
    assert await intro(bot, found.id) == "THANKS"
    # Closing the round early cancels the refresh with the reminders.
    other = await open_round(bot)
    await bot.services.feedback.close(GUILD, other.number, ORGANISER)
    cancelled = await bot.jobs.repo.get_by_key(f"feedback:{other.id}:deadline")
    assert cancelled is not None and cancelled.status == "cancelled"


def test_takes_feedback_on_time(clock: FakeClock) -> None:
    now = clock.now()
    later = now.timestamp() + 60
    assert takes_feedback_on_time(True, later, now)
    assert not takes_feedback_on_time(False, later, now)
    assert not takes_feedback_on_time(True, now.timestamp(), now)


async def test_summary_deadline_in_the_server_time_zone(bot: CoproBot) -> None:
    found = await open_round(bot)
    _, text = await bot.services.feedback.summary(GUILD, found.number, tz="America/New_York")
    assert local_time_text(found.closes_at, "America/New_York") in text
    assert "America/New_York" in local_time_text(found.closes_at, "America/New_York")
    assert "UTC" not in text
