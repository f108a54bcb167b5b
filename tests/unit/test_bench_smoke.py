"""The benchmark suite works: each benchmark in a tiny configuration, checking correctness only
(every event committed once, 22 confirmed, jobs run once); never timings."""

from __future__ import annotations

from pathlib import Path

from bench import booking, reactions, reminders, startup
from bench.common import Figure, Section
from bench.report import render
from db import open_database


async def test_reaction_burst_commits_every_event_exactly_once(tmp_path: Path) -> None:
    cfg = reactions.Config.tiny()
    bot = await reactions.bot_burst(cfg, tmp_path, dm=True)
    assert bot.exactly_once, bot
    assert bot.outcomes == {"joined": cfg.events}
    assert bot.errors == 0, bot.error_summary
    assert bot.http is not None
    patterns = bot.http.by_pattern()
    # One DM confirmation per sign-up (open the DM channel, then send), nothing else but edits.
    assert patterns["POST /users/@me/channels"] == cfg.events
    assert patterns["POST /channels/{channel_id}/messages"] == cfg.events
    assert set(patterns) <= {
        "POST /users/@me/channels",
        "POST /channels/{channel_id}/messages",
        "PATCH /channels/{channel_id}/messages/{message_id}",
    }

    quiet = await reactions.bot_burst(cfg, tmp_path, dm=False)
    assert quiet.exactly_once and quiet.errors == 0
    assert quiet.http is not None
    assert "POST /users/@me/channels" not in quiet.http.by_pattern()

    raw = await reactions.baseline_burst(cfg, tmp_path)
    assert raw.exactly_once and raw.errors == 0


async def test_booking_burst_confirms_capacity_and_queues_the_rest_in_order(tmp_path: Path) -> None:
    cfg = booking.Config.tiny()
    assert booking.available()
    bot = await booking.bot_burst(cfg, tmp_path)
    assert bot.counts_ok(), (bot.statuses, bot.errors[:3])
    assert bot.statuses == {"confirmed": 22, "waiting": cfg.attempts - 22}
    assert bot.order_ok() == (True, "")
    assert bot.answers_stored == cfg.attempts

    raw = await booking.baseline_burst(cfg, tmp_path)
    assert raw.counts_ok() and raw.order_ok() == (True, "")


async def test_reminders_rearm_fire_once_and_survive_an_outage(tmp_path: Path) -> None:
    cfg = reminders.Config.tiny()
    async with open_database(tmp_path / "r.sqlite3") as db:
        await reminders.fill(db, cfg)
        _, armed, _ = await reminders.rearm_run(db)
        _, due = await reminders.raw_rearm(db)
        assert armed == due > 0
        late, fired, done = await reminders.lateness_run(db, cfg, 0)
        assert len(late) == cfg.due_together
        assert len(fired) == cfg.due_together and set(fired.values()) == {1}
        assert done == cfg.due_together
    fired, done, n, _, errors = await reminders.outage_run(cfg, tmp_path)
    assert len(fired) == n and set(fired.values()) == {1}
    assert done == n
    assert errors == ""


async def test_startup_reaches_ready_without_network(tmp_path: Path) -> None:
    cfg = startup.Config.tiny()
    db_path = tmp_path / "s.sqlite3"
    await startup.prepare_db(db_path, cfg.signups)
    result = startup.bot_start(db_path, cfg.timeout)
    assert result["seconds"] > 0 and result["rss_mb"] > 0
    assert result["requests"] <= 2  # the stubbed login and application info only


def test_report_names_machine_versions_and_targets() -> None:
    fig = Figure(
        "Demo",
        "events/s",
        "ev/s",
        bot=[2.0, 3.0, 4.0],
        baseline=[2.0, 2.0, 2.0],
        baseline_name="raw",
        target="≥ 1.0× baseline",
        meets=lambda med, ratio: ratio is not None and ratio >= 1.0,
    )
    section = Section("Demo", figures=[fig])
    section.check("every event once", True)
    text = render([section], mode="test", runs_note="", seconds=1.0, command="python -m bench")
    for needed in (
        "CPU",
        "cores",
        "RAM",
        "Python",
        "discord.py",
        "aiosqlite",
        "APScheduler",
        "SQLite",
        "3.0 (2.0–4.0) ev/s",
        "1.50×",
        "met",
        "every event once",
    ):
        assert needed in text, needed


async def test_raw_group_commit_baseline_commits_every_event_once(tmp_path: Path) -> None:
    cfg = reactions.Config.tiny()
    grouped = await reactions.baseline_burst(cfg, tmp_path, group=True)
    assert grouped.exactly_once and grouped.errors == 0


async def test_growth_bench_exports_and_verifies_the_generated_log() -> None:
    from bench import growth

    section = await growth.run(growth.Config.tiny())
    assert section.checks and all(c.ok for c in section.checks), section.checks
    names = [f.name for f in section.figures]
    assert any("export time" in n for n in names) and any("verify_audit" in n for n in names)


async def test_reconcile_bench_makes_the_minimal_requests() -> None:
    from bench import reconcile

    section = await reconcile.run(reconcile.Config.tiny())
    assert section.checks and all(c.ok for c in section.checks), section.checks
    assert all(f.met in (None, True) for f in section.figures), [
        (f.name, f.bot) for f in section.figures if f.met is False
    ]
