"""The bot builds, loads every cog, and its command tree serialises (what sync sends)."""

from __future__ import annotations

from pathlib import Path

from bot.client import EXTENSIONS, CoproBot
from bot.clock import FakeClock
from bot.scheduling import JobScheduler
from bot.settings import load_settings
from db import Database


async def test_all_cogs_load_and_commands_serialise(
    db: Database, clock: FakeClock, tmp_path: Path
) -> None:
    settings = load_settings({"DISCORD_TOKEN": "t", "DATABASE_PATH": str(tmp_path / "x.db")})
    jobs = JobScheduler(db, clock)
    bot = CoproBot(settings=settings, db=db, jobs=jobs, clock=clock)
    for extension in EXTENSIONS:
        await bot.load_extension(extension)
    payload = [c.to_dict(bot.tree) for c in bot.tree.get_commands()]
    names = {c["name"] for c in payload}
    assert {"call", "settings"} <= names
    organiser_groups = {
        "call",
        "settings",
        "draw",
        "feedback",
        "meeting",
        "session",
        "wording",
        "audit",
    }
    for command in payload:
        assert command["description"], command["name"]
        if command["name"] in organiser_groups:
            # Hidden from members in Discord's UI by default (the runtime check is tested e2e).
            assert command.get("default_member_permissions") not in (None, "0"), command["name"]
        for sub in command.get("options", []):
            assert sub["description"] and len(sub["description"]) <= 100
    await bot.close()
