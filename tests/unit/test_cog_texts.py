"""What organisers and members read, checked for what it carries (not its exact words): times in
the server's own time zone, the real retention period, plain names for stored data, no
symbol-separated numbers, and the fairness code on the call post."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import discord
import pytest

from bot.client import CoproBot
from bot.clock import FakeClock
from bot.domain.mydata.models import MemberData, Section
from bot.scheduling import JobScheduler
from bot.settings import load_settings
from cogs.calls.render import FAIRNESS_FIELD, render_call
from cogs.meetings.cog import search_meetings
from cogs.mydata import PLAIN_NAMES, summary_text
from db import Database

GUILD = 1000
ORGANISER = 7


@pytest.fixture
async def bot(db: Database, clock: FakeClock, tmp_path: Path) -> AsyncIterator[CoproBot]:
    settings = load_settings({"DISCORD_TOKEN": "t", "DATABASE_PATH": str(tmp_path / "x.db")})
    made = CoproBot(settings=settings, db=db, jobs=JobScheduler(db, clock), clock=clock)
    yield made
    await made.close()


async def test_meeting_autocomplete_shows_the_server_time_zone(bot: CoproBot) -> None:
    await bot.services.settings.set_timezone(GUILD, "America/New_York", ORGANISER)
    await bot.services.meetings.create(
        guild_id=GUILD,
        author_id=ORGANISER,
        title="Group meeting 1",
        starts="2026-12-03 14:00",
        channel_id=20,
        tz="America/New_York",
        role_id=5,
        role_member_ids=[101, 102],
    )
    [choice] = await search_meetings(bot, GUILD, "")
    assert choice.number == 1
    assert "14:00" in choice.label and "America/New_York" in choice.label
    assert "UTC" not in choice.label


async def test_call_post_has_no_dot_separators_and_shows_the_fairness_code(bot: CoproBot) -> None:
    details = await bot.services.calls.create(
        guild_id=GUILD,
        channel_id=10,
        author_id=ORGANISER,
        title="T",
        categories="🧭 Experienced; 🌱 New",
        places="3",
        tz="Europe/London",
    )
    post = render_call(details)
    texts = [i.content for i in post.walk_children() if isinstance(i, discord.ui.TextDisplay)]
    assert "·" not in "".join(texts)
    fairness = [t for t in texts if t.startswith(f"### {FAIRNESS_FIELD}")]
    assert [t.splitlines()[-1] for t in fairness] == [details.call.seed_commitment]
    status = next(t for t in texts if t.startswith("### Open"))
    assert "Experienced" in status and "New" in status  # each emoji explained in words


def test_mydata_summary_gives_the_retention_days_and_plain_names() -> None:
    data = MemberData(
        guild_id=GUILD,
        user_id=42,
        generated_at=datetime(2026, 11, 26, tzinfo=UTC),
        sections=[
            Section("survey answers", [{"answer": "x"}]),
            Section("first-to-hear lists for repeats", [{"session": 1}]),
        ],
        audit=[],
    )
    text = summary_text(data, 30)
    assert "30 days" in text
    for jargon in ("first-to-hear lists for repeats", "survey answers"):
        assert jargon not in text and PLAIN_NAMES[jargon] in text
