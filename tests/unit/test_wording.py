"""Organisers' own wording: stored per server, validated, used in real sends, audited."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from bot.client import CoproBot
from bot.clock import FakeClock
from bot.domain.calls.service import CallService
from bot.domain.calls.texts import CALL_SIGNUP_DM
from bot.domain.errors import InvalidInput, NotFound
from bot.domain.wording.service import WordingService
from bot.domain.wording.templates import all_templates, get_template, template
from bot.scheduling import JobScheduler
from bot.settings import load_settings
from db import Database

GUILD = 1000
OTHER_GUILD = 2000
ORGANISER = 7


async def test_custom_template_is_used_in_a_real_send(
    db: Database, clock: FakeClock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An organiser's text for the sign-up DM is what the member receives, values filled in."""
    settings = load_settings({"DISCORD_TOKEN": "t", "DATABASE_PATH": str(tmp_path / "x.db")})
    bot = CoproBot(settings=settings, db=db, jobs=JobScheduler(db, clock), clock=clock)
    await bot.load_extension("cogs.calls")
    custom = "Thanks for connecting with people! Call {number}: {title}, as {category}."
    await bot.services.wording.set(GUILD, "call.signup_dm", custom, ORGANISER)

    details = await bot.services.calls.create(
        guild_id=GUILD,
        channel_id=10,
        author_id=ORGANISER,
        title="LinkedIn session",
        categories="🧭 Experienced; 🌱 New",
        tz="Europe/London",
    )
    sent: list[tuple[int, str]] = []

    async def fake_send_dm(client: Any, user_id: int, content: str | None = None, **_: Any) -> None:
        sent.append((user_id, content or ""))

    monkeypatch.setattr(sys.modules["bot.notify"], "send_dm", fake_send_dm)
    cog = bot.get_cog("Calls")
    category = details.categories[1]
    await bot.services.calls.attach_post(details.call.id, 10, 555)
    result = await bot.services.calls.react(555, 42, category.key, added=True)
    assert result.outcome == "joined"
    await cog._confirm(GUILD, 42, result)  # type: ignore[union-attr]
    await bot.dm_queue.join()

    expected = custom.format(
        number=details.call.number,
        title="LinkedIn session",
        category=f"{category.emoji} {category.label}",
    )
    assert sent == [(42, expected)]
    # Another server still gets the default.
    default = await bot.services.wording.render(
        OTHER_GUILD, CALL_SIGNUP_DM, number=1, title="x", category="y"
    )
    assert default != await bot.services.wording.render(
        GUILD, CALL_SIGNUP_DM, number=1, title="x", category="y"
    )
    await bot.close()


async def test_placeholder_typo_is_refused_and_nothing_changes(
    db: Database, clock: FakeClock
) -> None:
    wording = WordingService(db, clock)
    before = await wording.render(GUILD, CALL_SIGNUP_DM, number=3, title="T", category="C")
    with pytest.raises(InvalidInput) as refused:
        await wording.set(GUILD, "call.signup_dm", "You joined {titel}!", ORGANISER)
    assert "{title}" in str(refused.value)  # the message suggests the right name
    assert await db.fetchval("SELECT COUNT(*) FROM wording_overrides") == 0
    assert await wording.render(GUILD, CALL_SIGNUP_DM, number=3, title="T", category="C") == before


@pytest.mark.parametrize(
    "text", ["Broken {title", "Broken title}", "Index {0}", "Spec {title:>10}", "   ", "x" * 5000]
)
async def test_malformed_text_is_refused(db: Database, clock: FakeClock, text: str) -> None:
    wording = WordingService(db, clock)
    with pytest.raises(InvalidInput):
        await wording.set(GUILD, "call.signup_dm", text, ORGANISER)


async def test_unknown_key_is_refused_with_a_suggestion(db: Database, clock: FakeClock) -> None:
    wording = WordingService(db, clock)
    with pytest.raises(NotFound) as missing:
        await wording.set(GUILD, "call.signup_dn", "Hello", ORGANISER)
    assert "call.signup_dm" in str(missing.value)


async def test_set_reset_cache_and_audit(db: Database, clock: FakeClock) -> None:
    wording = WordingService(db, clock)
    tpl = get_template("call.closed_note")
    assert await wording.render(GUILD, tpl) == tpl.default
    saved = await wording.set(GUILD, tpl.key, "  Closed now.\\nThank you all.  ", ORGANISER)
    assert saved == "Closed now.\nThank you all."  # typed \n becomes a new line, trimmed
    assert await wording.render(GUILD, tpl) == saved
    views = {v.template.key: v for v in await wording.views(GUILD)}
    assert views[tpl.key].customised and not views["call.signup_dm"].customised
    assert await wording.reset(GUILD, tpl.key, ORGANISER) is True
    assert await wording.reset(GUILD, tpl.key, ORGANISER) is False
    assert await wording.render(GUILD, tpl) == tpl.default
    actions = [r[0] for r in await db.fetchall("SELECT action FROM audit_log ORDER BY seq")]
    assert actions == ["wording.set", "wording.reset"]  # the no-op reset is not recorded


async def test_stale_override_falls_back_to_default(db: Database, clock: FakeClock) -> None:
    """A stored text using a placeholder a later version renamed still produces a message."""
    wording = WordingService(db, clock)
    await db.execute(
        "INSERT INTO wording_overrides (guild_id, key, text, updated_by, updated_at) "
        "VALUES (?, 'call.closes', 'Ends {old_name}.', 1, 0)",
        (GUILD,),
    )
    text = await wording.render(GUILD, get_template("call.closes"), when="soon")
    assert "soon" in text


async def test_missing_values_render_empty_and_preview_marks_placeholders(
    db: Database, clock: FakeClock
) -> None:
    wording = WordingService(db, clock)
    tpl = template("test.preview", "Hello {name}, see you at {when}.", "Test only")
    assert "{" not in await wording.render(GUILD, tpl, name="Sam")
    preview = wording.preview(tpl, "Hi {name}!")
    assert "[name]" in preview
    assert [t.key for t in wording.search("preview")] == ["test.preview"]


def test_every_declared_default_is_valid_and_described(db: Database, clock: FakeClock) -> None:
    """Defaults must pass the same checks as organisers' texts, and be listed with a description."""
    wording = WordingService(db, clock)
    templates = all_templates()
    assert len(templates) >= 5
    for tpl in templates:
        assert tpl.description
        assert wording.validate(tpl, tpl.default) == tpl.default.strip()


async def test_call_service_creates_without_wording(db: Database, clock: FakeClock) -> None:
    """The call service needs no wording service (cogs render the templates)."""
    service = CallService(db, clock)
    details = await service.create(
        guild_id=GUILD, channel_id=1, author_id=1, title="T", categories="🧭 A", tz="Europe/London"
    )
    assert details.call.number == 1
