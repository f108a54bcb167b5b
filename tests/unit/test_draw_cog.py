"""The draw cog's Discord side against a tiny fake client: posting the recorded result once,
one message per member (also after a crash or a second run), closed DMs, replacements, roles."""

from __future__ import annotations

import asyncio
import itertools
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import discord
import pytest

from bot.clock import FakeClock
from bot.domain.delivery.models import nonce_for
from bot.domain.draws.service import (
    FINISH_CHECK,
    FINISH_JOB,
    MEMBER_LEFT_JOB,
    finish_job_key,
)
from bot.domain.draws.texts import PROMOTED_DM, SELECTED_DM
from bot.notify import RateLimiter
from bot.scheduling import JobScheduler
from bot.services import Services, build_services
from cogs.draws.cog import Draws, leave_nonce
from cogs.draws.render import result_link
from cogs.draws.views import ANYONE, DeclineCheckButton, DrawButton
from db import Database
from tests.fakes.beacon import LocalBeacon, chain_args, draw_now

GUILD = 1000
CHANNEL = 10
EXPERIENCED = list(range(101, 111))
NEW = list(range(201, 208))
_ids = itertools.count(90_000)


def forbidden(code: int = 50013) -> discord.Forbidden:
    return discord.Forbidden(
        SimpleNamespace(status=403, reason="Forbidden"), {"code": code, "message": "no"}
    )


class FakeChannel:
    def __init__(self, bot: FakeBot, channel_id: int) -> None:
        self.bot = bot
        self.id = channel_id

    async def send(self, content: str | None = None, **kwargs: Any) -> Any:
        if self.bot.channel_error is not None:
            raise self.bot.channel_error
        message = SimpleNamespace(id=next(_ids), content=content, kwargs=kwargs)
        self.bot.posts.append(message)
        return message

    def get_partial_message(self, message_id: int) -> Any:
        bot, channel_id = self.bot, self.id

        async def edit(**kwargs: Any) -> None:
            bot.edits.append((channel_id, message_id, kwargs))

        return SimpleNamespace(id=message_id, edit=edit)


class FakeDM:
    def __init__(self, bot: FakeBot, user_id: int) -> None:
        self.bot = bot
        self.user_id = user_id

    async def send(self, content: str | None = None, **kwargs: Any) -> Any:
        if self.user_id in self.bot.closed_dms:
            raise forbidden(50007)
        if self.user_id in self.bot.dm_errors:
            raise self.bot.dm_errors.pop(self.user_id)
        message = SimpleNamespace(id=next(_ids), content=content, kwargs=kwargs)
        self.bot.dms.append((self.user_id, message))
        return message


class FakeBot:
    def __init__(self, services: Services) -> None:
        self.services = services
        self.posts: list[Any] = []
        self.dms: list[tuple[int, Any]] = []
        self.closed_dms: set[int] = set()
        self.dm_errors: dict[int, BaseException] = {}  # raised once by the next DM to the user
        self.channel_error: Exception | None = None
        self.edits: list[tuple[int, int, dict[str, Any]]] = []  # (channel, message, changes)
        self.cog: Any = None
        self.guilds = [SimpleNamespace(id=GUILD)]
        self.guild: Any = None
        self._dm_limiter = RateLimiter(rate=1e9, burst=10**6)  # no real-time pacing in tests

    def get_partial_messageable(
        self, channel_id: int, *, guild_id: int | None = None
    ) -> FakeChannel:
        return FakeChannel(self, channel_id)

    async def create_dm(self, user: discord.abc.Snowflake) -> FakeDM:
        return FakeDM(self, user.id)

    def get_guild(self, guild_id: int) -> Any:
        return self.guild

    async def guild_anywhere(self, guild_id: int) -> Any:  # one process: the cache only
        return self.guild

    def get_cog(self, name: str) -> Any:
        return self.cog if name == "Draws" else None

    def add_dynamic_items(self, *items: Any) -> None:
        pass


@pytest.fixture
async def setup(
    db: Database, clock: FakeClock, jobs: JobScheduler
) -> tuple[FakeBot, Draws, Services]:
    return fresh_bot(db, clock, jobs)


def fresh_bot(
    db: Database, clock: FakeClock, jobs: JobScheduler
) -> tuple[FakeBot, Draws, Services]:
    """A new bot process on the same database (as after a restart)."""
    services = build_services(db, clock, jobs, "Europe/London", beacon=LocalBeacon(clock))
    bot = FakeBot(services)
    bot.cog = Draws(bot)  # type: ignore[arg-type]
    return bot, bot.cog, services


async def story(services: Services, clock: FakeClock, *, record: bool = True) -> int:
    details = await services.calls.create(
        guild_id=GUILD,
        channel_id=CHANNEL,
        author_id=1,
        title="LinkedIn session",
        categories="🧭 Experienced; 🌱 New",
        places="🧭=3, 🌱=3",
        tz="Europe/London",
    )
    await services.calls.attach_post(details.call.id, CHANNEL, 5000)
    for users, key in ((EXPERIENCED, "🧭"), (NEW, "🌱")):
        for user in users:
            await services.calls.react(5000, user, key, added=True)
            clock.advance(timedelta(seconds=1))
    if record:
        await draw_now(services.draws, clock, guild_id=GUILD, number=1, actor_id=1)
    return details.call.id


def post_text(post: Any) -> str:
    """A post's text: its content, or the text of its layout (the draw result)."""
    view = post.kwargs.get("view")
    if isinstance(view, discord.ui.LayoutView):
        return "".join(
            i.content for i in view.walk_children() if isinstance(i, discord.ui.TextDisplay)
        )
    return str(post.content or "")


async def test_result_posted_once_and_everyone_told_once(setup: Any, clock: FakeClock) -> None:
    bot, cog, services = setup
    call_id = await story(services, clock)
    report = await cog.finish(call_id)
    assert report.posted_now and report.dms == 17 and not report.problems
    [post] = bot.posts
    assert post.kwargs["reference"].message_id == 5000  # a reply to the call post
    assert post.kwargs["nonce"] == f"draw-{call_id}"  # Discord drops a repeat after a crash
    assert post.kwargs["file"].filename == "call-1-draw.json"
    view = await services.draws.view(call_id)
    assert {u.id for u in post.kwargs["allowed_mentions"].users} == set(view.drawn)
    assert (
        post.kwargs["allowed_mentions"].everyone is False
        and post.kwargs["allowed_mentions"].roles is False
    )
    assert view.draw.result_message_id == post.id and view.draw.seed in post_text(post)
    told = [u for u, _ in bot.dms]
    assert sorted(told) == sorted(EXPERIENCED + NEW)
    refs = {e.user_id: e.ref for c in view.categories for e in c.entries}
    for user, message in bot.dms:
        # Each volunteer is told their own entry code (the start of their reference), never the
        # 32-character reference itself (a screen reader reads every character) nor another's.
        assert refs[user][:8] in message.content and refs[user] not in message.content
        assert not any(ref[:8] in message.content for u, ref in refs.items() if u != user)
        labels = [item.item.label for item in message.kwargs["view"].children]
        if user in view.drawn:
            assert labels == ["Confirm my place", "I can't take part"]
        else:
            assert labels == ["Yes, I'd like to review", "No, thanks"]
    # Running again (or a restart) sends nothing new.
    again = await cog.finish(call_id)
    assert not again.posted_now and again.dms == 0
    await cog.finish_all()
    assert len(bot.posts) == 1 and len(bot.dms) == 17
    assert await services.draws.unfinished() == []


async def test_crash_after_recording_posts_the_recorded_result_at_start(
    setup: Any, clock: FakeClock
) -> None:
    bot, cog, services = setup
    call_id = await story(services, clock)  # recorded; "crashed" before posting
    recorded = await services.draws.view(call_id)
    assert not recorded.posted and bot.posts == []
    await cog.finish_all()  # what on_ready does
    [post] = bot.posts
    after = await services.draws.view(call_id)
    assert [c.order for c in after.categories] == [c.order for c in recorded.categories]
    assert after.draw.drawn_at == recorded.draw.drawn_at
    for user in recorded.drawn:
        assert f"<@{user}>" in post_text(post)
    again = await services.draws.run(guild_id=GUILD, number=1, actor_id=1)
    assert not again.created


async def test_cannot_post_then_fixed(setup: Any, clock: FakeClock) -> None:
    bot, cog, services = setup
    call_id = await story(services, clock)
    bot.channel_error = forbidden()
    report = await cog.finish(call_id)
    assert not report.posted_now and report.problems and "Send Messages" in report.problems[0]
    assert bot.dms == []  # nobody is pointed to a result that isn't there
    bot.channel_error = None
    assert (await cog.finish(call_id)).posted_now and len(bot.dms) == 17


async def test_closed_dms_are_mentioned_in_the_channel_once(setup: Any, clock: FakeClock) -> None:
    bot, cog, services = setup
    call_id = await story(services, clock)
    view = await services.draws.view(call_id)
    drawn, reserve = view.drawn[0], view.categories[0].reserve_order[0]
    bot.closed_dms = {drawn, reserve}
    report = await cog.finish(call_id)
    assert report.dms == 15 and sorted(report.in_channel) == sorted([drawn, reserve])
    result, place, review = bot.posts
    assert f"<@{drawn}>" in place.content and [
        u.id for u in place.kwargs["allowed_mentions"].users
    ] == [drawn]
    assert f"<@{reserve}>" in review.content
    assert place.kwargs["reference"].message_id == result.id
    ids = [item.custom_id for item in place.kwargs["view"].children]
    assert ids == [f"draw:confirm:{call_id}:{ANYONE}", f"draw:decline:{call_id}:{ANYONE}"]
    row = await told(services, call_id, drawn)
    assert row is not None and (row.state, row.via) == ("sent", "channel")
    await cog.finish(call_id)
    assert len(bot.posts) == 3


async def test_decline_announces_and_offers_the_place_to_the_next_reserve(
    setup: Any, clock: FakeClock
) -> None:
    bot, cog, services = setup
    call_id = await story(services, clock)
    await cog.finish(call_id)
    view = await services.draws.view(call_id)
    leaving, next_up = view.categories[1].drawn[0], view.categories[1].reserve_order[0]
    outcome = await services.draws.decline(call_id, leaving)
    problems = await cog.after_replace(outcome)
    assert problems == []
    announcement = bot.posts[-1]
    # The member who stepped back is never named in public; only the promoted reserve is.
    assert str(leaving) not in announcement.content and f"<@{next_up}>" in announcement.content
    assert [u.id for u in announcement.kwargs["allowed_mentions"].users] == [next_up]
    left_ref = view.categories[1].entries[0].ref
    assert announcement.kwargs["nonce"] == leave_nonce(call_id, left_ref)
    assert len(announcement.kwargs["nonce"]) <= 25
    user, dm = bot.dms[-1]
    promoted_text = await services.wording.render(
        GUILD,
        PROMOTED_DM,
        number=1,
        title="LinkedIn session",
        category="🌱 New",
        link=result_link(view),
    )
    assert user == next_up and dm.content.startswith(promoted_text)
    assert result_link(view) and result_link(view) in dm.content  # a named link to the result
    assert view.entry(next_up).ref[:8] in dm.content  # type: ignore[union-attr]
    assert not dm.content.startswith(await services.wording.render(GUILD, SELECTED_DM))
    # The same departure is never announced twice (e.g. the pass runs again after a crash).
    posts = len(bot.posts)
    await cog.after_replace(outcome)
    assert len(bot.posts) == posts


async def test_a_drawn_member_deleting_their_data_is_announced_and_replaced_once(
    setup: Any, clock: FakeClock, db: Database, jobs: JobScheduler
) -> None:
    bot, cog, services = setup
    jobs.register(MEMBER_LEFT_JOB, cog.on_member_left)
    call_id = await story(services, clock)
    await cog.finish(call_id)
    view = await services.draws.view(call_id)
    leaving, next_up = view.categories[0].drawn[0], view.categories[0].reserve_order[0]
    posts, dms = len(bot.posts), len(bot.dms)

    await services.mydata.delete(GUILD, leaving)  # what /mydata delete does
    assert await jobs.run_due() == 1

    [announcement] = bot.posts[posts:]
    assert f"<@{next_up}>" in announcement.content and f"<@{leaving}>" not in announcement.content
    assert [u.id for u in announcement.kwargs["allowed_mentions"].users] == [next_up]
    assert announcement.kwargs["reference"].message_id == view.draw.result_message_id
    [(user, dm)] = bot.dms[dms:]
    assert user == next_up and [item.item.label for item in dm.kwargs["view"].children] == [
        "Confirm my place",
        "I can't take part",
    ]
    # A re-run (the job after a crash, or a restart) sends nothing more.
    await cog.on_member_left(
        await jobs.repo.get_by_key(f"draw:{call_id}:left:{view.categories[0].entries[0].ref}")
    )  # type: ignore[arg-type]
    await cog.finish_all()
    assert len(bot.posts) == posts + 1 and len(bot.dms) == dms + 1
    assert (await services.draws.verify(GUILD, 1)).ok
    assert await db.fetchval("SELECT COUNT(*) FROM draw_entries WHERE user_id = ?", (leaving,)) == 0


async def test_role_problem_is_explained_and_the_draw_stays(
    setup: Any, clock: FakeClock, db: Database
) -> None:
    bot, cog, services = setup
    details = await services.calls.create(
        guild_id=GUILD,
        channel_id=CHANNEL,
        author_id=1,
        title="t",
        categories="🧭 A",
        places="1",
        tz="Europe/London",
    )
    await services.calls.attach_post(details.call.id, CHANNEL, 5001)
    await services.calls.react(5001, 7, "🧭", added=True)
    await draw_now(services.draws, clock, guild_id=GUILD, number=1, actor_id=1, group_role_id=555)

    class Member:
        id = 1
        guild = SimpleNamespace(owner_id=1)  # the organiser who chose the role owns the server

        async def add_roles(self, *roles: Any, reason: str | None = None) -> None:
            raise forbidden()

    role = SimpleNamespace(
        id=555,
        mention="<@&555>",
        name="Group",
        managed=False,
        permissions=discord.Permissions.none(),
        is_default=lambda: False,
    )
    bot.guild = SimpleNamespace(
        get_member=lambda uid: Member(),
        get_role=lambda rid: role,
        me=SimpleNamespace(
            guild_permissions=discord.Permissions.none(), top_role=SimpleNamespace(name="Bot")
        ),
    )
    report = await cog.finish(details.call.id)
    assert report.posted_now and any("Manage Roles" in p for p in report.problems)
    assert await db.fetchval("SELECT COUNT(*) FROM draws") == 1
    assert (await services.draws.deliveries(details.call.id)).roles == (7,)  # retried next run


async def test_buttons_answer_only_their_member(setup: Any, clock: FakeClock) -> None:
    bot, cog, services = setup
    call_id = await story(services, clock)
    view = await services.draws.view(call_id)
    member = view.drawn[0]
    sent: list[tuple[str, dict[str, Any]]] = []

    class Response:
        def is_done(self) -> bool:
            return False

        async def send_message(self, content: str | None = None, **kwargs: Any) -> None:
            sent.append((content or "", kwargs))

    def interaction(user_id: int) -> Any:
        return SimpleNamespace(user=SimpleNamespace(id=user_id), response=Response(), guild_id=None)

    other = await click(bot, f"draw:confirm:{call_id}:{member}", 4242)  # the guard refuses
    assert other.response.sent and other.response.sent[0][1]["ephemeral"]
    assert (await services.draws.view(call_id)).entry(member).confirmation == "pending"  # type: ignore[union-attr]
    await cog.on_button(interaction(member), "confirm", call_id, member)
    assert (await services.draws.view(call_id)).entry(member).confirmation == "confirmed"  # type: ignore[union-attr]
    # "I can't take part" asks once more before giving the place away.
    await cog.on_button(interaction(member), "decline", call_id, member)
    assert (
        "view" in sent[-1][1]
        and (await services.draws.view(call_id)).entry(member).status == "selected"
    )  # type: ignore[union-attr]
    button = DrawButton("review", call_id, 77)
    assert button.custom_id == f"draw:review:{call_id}:77"
    assert DrawButton.__discord_ui_compiled_template__.fullmatch(button.custom_id)


async def test_non_organisers_are_refused_before_anything_happens(
    setup: Any, clock: FakeClock, db: Database
) -> None:
    from bot.errors import NotOrganiser

    bot, cog, services = setup
    await story(services, clock, record=False)
    member = SimpleNamespace(id=4242, roles=[])  # not a discord.Member with Manage Events
    interaction = SimpleNamespace(guild=SimpleNamespace(id=GUILD), user=member, client=bot)
    with pytest.raises(NotOrganiser):
        await cog.interaction_check(interaction)
    assert await db.fetchval("SELECT COUNT(*) FROM draws") == 0


async def test_draw_commands_and_options(setup: Any) -> None:
    _, cog, _ = setup
    group = cog.app_command
    assert group is not None and group.name == "draw"
    commands = {c.name: c for c in group.commands}
    assert set(commands) == {"run", "show", "replace", "verify"}
    assert [p.display_name for p in commands["run"].parameters][:4] == [
        "call",
        "places",
        "group-role",
        "reviewer-role",
    ]
    assert [p.name for p in commands["replace"].parameters] == ["call", "member"]


class HardCrash(BaseException):
    """The process dies: nothing after it runs (tests re-raise it past every handler)."""


def nonces_to(bot: FakeBot, user: int) -> list[Any]:
    return [m.kwargs.get("nonce") for u, m in bot.dms if u == user]


async def told(services: Services, call_id: int, user: int, part: str = "notice") -> Any:
    """The member's delivery row for ``part`` (the one delivery engine's record), or None."""
    return (await services.draws.view(call_id)).told(part, user)


async def forgotten(services: Services, call_id: int, user: int) -> bool:
    """Nothing was sent: no row, or a pending row with no claim (a later pass simply sends)."""
    row = await told(services, call_id, user)
    return row is None or (row.state == "pending" and row.claimed_at is None)


async def maybe_sent(services: Services, call_id: int, user: int) -> bool:
    """An attempt that may have reached Discord: pending, keeping its first claim time."""
    row = await told(services, call_id, user)
    return row is not None and row.state == "pending" and row.claimed_at is not None


def engine_nonce(call_id: int, user: int) -> str:
    return nonce_for(f"draw:{call_id}:notice:dm:{user}")


def unavailable(status: int = 503) -> discord.HTTPException:
    return discord.HTTPException(SimpleNamespace(status=status, reason="x"), "unavailable")


async def test_a_stop_or_network_error_during_a_dm_keeps_the_claim_and_resends_with_its_nonce(
    setup: Any, clock: FakeClock
) -> None:
    bot, cog, services = setup
    call_id = await story(services, clock)
    view = await services.draws.view(call_id)
    first, second, third = (e.user_id for e in view.categories[0].current)
    bot.closed_dms = {first}  # waiting for the closed-DM post when the stop comes
    bot.dm_errors = {second: asyncio.CancelledError()}  # the request may have reached Discord
    with pytest.raises(asyncio.CancelledError):
        await cog.finish(call_id)
    first_row = await told(services, call_id, first)  # waits for the closed-DM post
    assert first_row is not None and first_row.claimed_at is None and first_row.via == "channel"
    assert await maybe_sent(services, call_id, second)
    assert (call_id, GUILD) in await services.draws.unfinished()
    # A network error (after discord.py's retries) may have reached Discord too: the claim
    # keeps its time, the pass goes on, and a retry is asked for.
    bot.closed_dms = set()
    bot.dm_errors = {third: OSError("connection reset")}
    report = await cog.finish(call_id)
    assert report.failed == 1 and report.retry
    assert await maybe_sent(services, call_id, third)
    clock.advance(timedelta(minutes=2))  # within Discord's nonce memory: sent again
    for _ in range(3):  # each pass stops at the first send that fails; a later one goes on
        await cog.finish(call_id)
    for user in (second, third):
        row = await told(services, call_id, user)
        assert row is not None and (row.state, row.via) == ("sent", "dm")
        assert set(nonces_to(bot, user)) == {engine_nonce(call_id, user)}  # the same nonce
    row = await told(services, call_id, first)
    assert row is not None and (row.state, row.via) == ("sent", "channel")
    assert sorted({u for u, _ in bot.dms}) == sorted(set(EXPERIENCED + NEW) - {first})
    assert await services.draws.unfinished() == []


@pytest.mark.parametrize("error", ["cancel", "network"])
async def test_a_dm_that_may_have_gone_out_is_never_sent_again_after_5_minutes(
    setup: Any, clock: FakeClock, db: Database, jobs: JobScheduler, error: str
) -> None:
    bot, cog, services = setup
    call_id = await story(services, clock)
    member = (await services.draws.view(call_id)).categories[0].current[0].user_id
    assert member is not None
    bot.dm_errors = {member: asyncio.CancelledError() if error == "cancel" else TimeoutError()}
    if error == "cancel":
        with pytest.raises(asyncio.CancelledError):
            await cog.finish(call_id)
    else:
        assert (await cog.finish(call_id)).retry
    clock.advance(timedelta(minutes=10))
    bot2, cog2, services2 = fresh_bot(db, clock, jobs)  # also after a restart
    for c in (cog, cog2):
        await c.finish(call_id)
    assert nonces_to(bot, member) == [] and nonces_to(bot2, member) == []
    row = await told(services2, call_id, member)
    assert row is not None and row.state == "unknown"  # shown to organisers
    assert await services2.draws.unfinished() == []


@pytest.mark.parametrize(("status", "retry"), [(503, True), (429, True), (400, False)])
async def test_a_dm_discord_refused_is_released_and_sent_by_a_later_pass(
    setup: Any, clock: FakeClock, status: int, retry: bool
) -> None:
    bot, cog, services = setup
    call_id = await story(services, clock)
    member = (await services.draws.view(call_id)).categories[0].current[0].user_id
    assert member is not None
    bot.dm_errors = {member: unavailable(status)}
    report = await cog.finish(call_id)
    if retry:  # Discord is busy or failing: nothing was made, the claim is forgotten
        assert report.failed == 1 and report.retry
        assert await forgotten(services, call_id, member)
        clock.advance(timedelta(minutes=10))  # any time later
        await cog.finish(call_id)
        row = await told(services, call_id, member)
        assert row is not None and (row.state, row.via) == ("sent", "dm")
        assert len(nonces_to(bot, member)) == 1
    else:  # Discord refuses this DM for good: the member is mentioned in the channel instead
        assert not report.retry and member in report.in_channel
        row = await told(services, call_id, member)
        assert row is not None and (row.state, row.via) == ("sent", "channel")


async def test_a_refusal_after_a_dm_that_may_have_gone_out_keeps_the_first_claim(
    setup: Any, clock: FakeClock
) -> None:
    bot, cog, services = setup
    call_id = await story(services, clock)
    member = (await services.draws.view(call_id)).categories[0].current[0].user_id
    assert member is not None
    bot.dm_errors = {member: OSError("reset")}
    await cog.finish(call_id)
    claimed_at = (await told(services, call_id, member)).claimed_at
    clock.advance(timedelta(minutes=1))
    bot.dm_errors = {member: unavailable()}
    await cog.finish(call_id)
    assert (await told(services, call_id, member)).claimed_at == claimed_at
    clock.advance(timedelta(minutes=10))
    await cog.finish(call_id)
    assert nonces_to(bot, member) == []  # the first attempt may have gone out
    assert (await told(services, call_id, member)).state == "unknown"


async def test_a_member_left_job_retries_a_promoted_reserves_dm_after_a_503(
    setup: Any, clock: FakeClock, db: Database, jobs: JobScheduler
) -> None:
    bot, cog, services = setup
    jobs.register(MEMBER_LEFT_JOB, cog.on_member_left)
    call_id = await story(services, clock)
    await cog.finish(call_id)
    view = await services.draws.view(call_id)
    leaving, next_up = view.categories[0].drawn[0], view.categories[0].reserve_order[0]
    dms, posts = len(bot.dms), len(bot.posts)
    bot.dm_errors[next_up] = unavailable()  # type: ignore[index]
    await services.mydata.delete(GUILD, leaving)  # type: ignore[arg-type]
    assert await jobs.run_due() == 1
    [job] = [
        j
        for j in await db.fetchall(
            "SELECT key, status FROM scheduled_jobs WHERE kind = ?", (MEMBER_LEFT_JOB,)
        )
    ]
    assert job["status"] == "pending"  # RetryLater: not done while the offer is untold
    assert bot.dms[dms:] == [] and len(bot.posts) == posts + 1  # announced once already
    clock.advance(timedelta(minutes=1))
    assert await jobs.run_due() == 1
    assert [u for u, _ in bot.dms[dms:]] == [next_up] and len(bot.posts) == posts + 1
    job = await jobs.repo.get_by_key(job["key"])
    assert job is not None and job.status == "done"


@pytest.mark.parametrize("path", ["decline", "organiser"])
async def test_a_replacement_offer_hit_by_a_503_is_retried_by_the_finish_job(
    setup: Any, clock: FakeClock, jobs: JobScheduler, path: str
) -> None:
    bot, cog, services = setup
    jobs.register(FINISH_JOB, cog.on_finish_job)
    call_id = await story(services, clock)
    await cog.finish(call_id)
    view = await services.draws.view(call_id)
    leaving, next_up = view.categories[1].drawn[0], view.categories[1].reserve_order[0]
    assert leaving is not None and next_up is not None
    if path == "decline":
        outcome = await services.draws.decline(call_id, leaving)
    else:
        outcome = await services.draws.replace(GUILD, 1, leaving, 1)
    dms = len(bot.dms)
    bot.dm_errors = {next_up: unavailable()}
    await cog.after_replace(outcome)
    assert bot.dms[dms:] == []
    job = await jobs.repo.get_by_key(finish_job_key(call_id))
    assert job is not None and job.kind == FINISH_JOB and job.status == "pending"
    bot.dm_errors = {next_up: unavailable()}  # still failing at the first retry
    clock.advance(FINISH_CHECK)
    assert await jobs.run_due() == 1
    job = await jobs.repo.get_by_key(finish_job_key(call_id))
    assert job is not None and job.status == "pending" and bot.dms[dms:] == []
    clock.advance(timedelta(minutes=1))
    assert await jobs.run_due() == 1
    assert [u for u, _ in bot.dms[dms:]] == [next_up]
    job = await jobs.repo.get_by_key(finish_job_key(call_id))
    assert job is not None and job.status == "done"
    clock.advance(timedelta(hours=1))
    assert await jobs.run_due() == 0 and [u for u, _ in bot.dms[dms:]] == [next_up]


async def test_a_replacement_that_went_through_leaves_a_finish_job_with_nothing_to_do(
    setup: Any, clock: FakeClock, jobs: JobScheduler
) -> None:
    bot, cog, services = setup
    jobs.register(FINISH_JOB, cog.on_finish_job)
    call_id = await story(services, clock)
    await cog.finish(call_id)
    view = await services.draws.view(call_id)
    outcome = await services.draws.decline(call_id, view.categories[1].drawn[0])  # type: ignore[arg-type]
    await cog.after_replace(outcome)
    dms, posts = len(bot.dms), len(bot.posts)
    clock.advance(FINISH_CHECK)
    assert await jobs.run_due() == 1
    assert (len(bot.dms), len(bot.posts)) == (dms, posts)
    assert (await jobs.repo.get_by_key(finish_job_key(call_id))).status == "done"  # type: ignore[union-attr]


async def test_deleting_data_in_two_draws_never_names_the_member(
    setup: Any, clock: FakeClock, db: Database, jobs: JobScheduler
) -> None:
    bot, cog, services = setup
    jobs.register(MEMBER_LEFT_JOB, cog.on_member_left)
    call_ids = []
    for number, message_id in ((1, 5000), (2, 5001)):
        details = await services.calls.create(
            guild_id=GUILD,
            channel_id=CHANNEL,
            author_id=1,
            title=f"call {number}",
            categories="🧭 Experienced; 🌱 New",
            places="🧭=10, 🌱=7",
            tz="Europe/London",
        )
        await services.calls.attach_post(details.call.id, CHANNEL, message_id)
        for users, key in ((EXPERIENCED, "🧭"), (NEW, "🌱")):
            for user in users:
                await services.calls.react(message_id, user, key, added=True)
        await draw_now(services.draws, clock, guild_id=GUILD, number=number, actor_id=1)
        await cog.finish(details.call.id)
        call_ids.append(details.call.id)
    leaving = EXPERIENCED[0]  # in both groups
    posts = len(bot.posts)
    real_delete = services.mydata.repo.delete
    jobs_before_delete: list[int] = []

    async def delete(guild_id: int, user_id: int, now: float) -> Any:
        jobs_before_delete.append(
            await db.fetchval(
                "SELECT COUNT(*) FROM scheduled_jobs WHERE kind = ?", (MEMBER_LEFT_JOB,)
            )
        )
        return await real_delete(guild_id, user_id, now)

    services.mydata.repo.delete = delete  # type: ignore[method-assign]
    report = await services.mydata.delete(GUILD, leaving)
    assert jobs_before_delete == [0]  # nothing can announce before the id is gone
    assert report.removed["places in a draw's group (passed to the next reserve)"] == 2
    assert await jobs.run_due() == 2
    texts = [p.content for p in bot.posts[posts:]]
    assert len(texts) == 2 and not any(str(leaving) in t for t in texts)


async def test_a_departure_by_data_deletion_is_anonymous_even_before_the_id_is_removed(
    setup: Any, clock: FakeClock
) -> None:
    bot, cog, services = setup
    call_id = await story(services, clock)
    await cog.finish(call_id)
    leaving = (await services.draws.view(call_id)).categories[0].drawn[0]
    assert leaving is not None
    [freed] = await services.draws.withdraw_member(GUILD, leaving)
    outcome = await services.draws.left_outcome(call_id, freed.left_ref, freed.promoted_ref)
    assert outcome is not None and outcome.left_user_id is None
    posts = len(bot.posts)
    await cog.on_member_left(
        SimpleNamespace(
            payload={  # type: ignore[arg-type]
                "call_id": call_id,
                "ref": freed.left_ref,
                "promoted_ref": freed.promoted_ref,
            }
        )
    )
    [post] = bot.posts[posts:]
    assert str(leaving) not in post.content and f"<@{freed.promoted_user_id}>" in post.content


async def test_a_stopped_closed_dm_post_gives_the_claims_back(setup: Any, clock: FakeClock) -> None:
    bot, cog, services = setup
    call_id = await story(services, clock)
    await cog.finish(call_id)  # posts the result; everyone told
    view = await services.draws.view(call_id)
    leaving, next_up = view.categories[0].drawn[0], view.categories[0].reserve_order[0]
    outcome = await services.draws.decline(call_id, leaving)
    bot.closed_dms = {next_up}
    bot.channel_error = asyncio.CancelledError()  # type: ignore[assignment]
    with pytest.raises(asyncio.CancelledError):
        await cog.after_replace(outcome)
    assert await forgotten(services, call_id, next_up)  # stopped before their message
    bot.channel_error = None
    await cog.finish(call_id)
    row = await told(services, call_id, next_up)
    assert row is not None and (row.state, row.via) == ("sent", "channel")
    assert bot.posts[-1].kwargs["nonce"] and len(bot.posts[-1].kwargs["nonce"]) <= 25


async def crash_after_sending(
    db: Database, clock: FakeClock, jobs: JobScheduler, monkeypatch: pytest.MonkeyPatch
) -> tuple[FakeBot, Services, int, int]:
    """A first process posts the result and DMs the first drawn member, then dies before it
    records that the DM went out. Returns (its bot, its services, call id, that member)."""
    bot, cog, services = fresh_bot(db, clock, jobs)
    call_id = await story(services, clock)

    store = services.draws.deliveries_log
    move = store.move

    async def die_after_sending(*args: Any, **kwargs: Any) -> list[int]:
        if kwargs.get("src") == "sending" and kwargs.get("dst") == "sent":
            raise HardCrash  # the DM went out; the record of it never happens
        return await move(*args, **kwargs)

    monkeypatch.setattr(store, "move", die_after_sending)
    with pytest.raises(HardCrash):
        await cog.finish(call_id)
    [(member, dm)] = bot.dms
    assert dm.kwargs["nonce"]
    row = await told(services, call_id, member)
    assert row is not None and row.state == "sending" and row.claimed_at is not None
    return bot, services, call_id, member


async def test_a_crash_left_dm_is_sent_again_with_the_same_nonce_within_5_minutes(
    db: Database, clock: FakeClock, jobs: JobScheduler, monkeypatch: pytest.MonkeyPatch
) -> None:
    old_bot, _, call_id, member = await crash_after_sending(db, clock, jobs, monkeypatch)
    first_nonce = old_bot.dms[0][1].kwargs["nonce"]
    clock.advance(timedelta(minutes=4))
    bot, cog, services = fresh_bot(db, clock, jobs)  # the restart
    await cog.finish_all()
    # Sent again with the same nonce: Discord returns the first message, no second one.
    assert nonces_to(bot, member) == [first_nonce]
    assert sorted(u for u, _ in bot.dms) == sorted(EXPERIENCED + NEW)
    row = await told(services, call_id, member)
    assert row is not None and (row.state, row.via) == ("sent", "dm")
    assert await services.draws.unfinished() == []
    await cog.finish_all()
    assert len(bot.dms) == 17


async def test_a_crash_left_dm_older_than_5_minutes_is_never_sent_again(
    db: Database, clock: FakeClock, jobs: JobScheduler, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, _, call_id, member = await crash_after_sending(db, clock, jobs, monkeypatch)
    clock.advance(timedelta(minutes=6))
    bot, cog, services = fresh_bot(db, clock, jobs)
    await cog.finish_all()
    assert nonces_to(bot, member) == []  # it may have gone out: never a second message
    assert sorted(u for u, _ in bot.dms) == sorted(set(EXPERIENCED + NEW) - {member})
    row = await told(services, call_id, member)
    assert row is not None and row.state == "unknown"
    assert await services.draws.unfinished() == []


class Response:
    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, Any]]] = []
        self.edited: list[dict[str, Any]] = []

    def is_done(self) -> bool:
        return bool(self.sent or self.edited)

    async def send_message(self, content: str | None = None, **kwargs: Any) -> None:
        self.sent.append((content or "", kwargs))

    async def edit_message(self, **kwargs: Any) -> None:
        self.edited.append(kwargs)


def press(bot: FakeBot, user_id: int, message: Any = None, channel_id: int | None = None) -> Any:
    """A button press; ``message`` (with ``channel_id``): the message the button is on, e.g. the
    member's direct message (without it: a press whose message the cog doesn't use)."""
    followups: list[Any] = []

    async def followup_send(content: str | None = None, **kwargs: Any) -> None:
        followups.append((content, kwargs))

    extra = {} if message is None else {"message": message, "channel_id": channel_id}
    in_server = channel_id is not None and channel_id != DM_CHANNEL
    return SimpleNamespace(
        user=SimpleNamespace(id=user_id),
        client=bot,
        response=Response(),
        followup=SimpleNamespace(send=followup_send),
        guild_id=GUILD if in_server else None,
        followups=followups,
        **extra,
    )


async def click(
    bot: FakeBot, custom_id: str, user_id: int, message: Any = None, channel_id: int | None = None
) -> Any:
    """What discord.py does for a press on a persistent button: rebuild it from its custom_id."""
    interaction = press(bot, user_id, message, channel_id)
    for cls in (DrawButton, DeclineCheckButton):
        match = cls.__discord_ui_compiled_template__.fullmatch(custom_id)
        if match:
            item = await cls.from_custom_id(interaction, None, match)  # type: ignore[arg-type]
            await item.callback(interaction)
            return interaction
    raise AssertionError(f"no persistent button handles {custom_id}")


async def test_decline_check_buttons_work_after_a_restart_and_only_for_their_member(
    db: Database, clock: FakeClock, jobs: JobScheduler
) -> None:
    bot, cog, services = fresh_bot(db, clock, jobs)
    call_id = await story(services, clock)
    await cog.finish(call_id)
    view = await services.draws.view(call_id)
    member, keeper = view.categories[1].drawn[0], view.categories[1].drawn[1]
    next_up = view.categories[1].reserve_order[0]

    asked = await click(bot, f"draw:decline:{call_id}:{member}", member)
    ((_, kwargs),) = asked.response.sent
    ids = [item.custom_id for item in kwargs["view"].children]
    assert ids == [f"draw:decline-yes:{call_id}:{member}", f"draw:decline-no:{call_id}:{member}"]
    assert kwargs["view"].timeout is None
    assert all(not DrawButton.__discord_ui_compiled_template__.fullmatch(i) for i in ids)

    bot, cog, services = fresh_bot(db, clock, jobs)  # the bot restarted; the buttons still work
    dms = len(bot.dms)
    other = await click(bot, ids[0], keeper)  # someone else presses it
    assert other.response.sent and other.response.sent[0][1]["ephemeral"]
    assert not other.response.edited
    assert (await services.draws.view(call_id)).entry(member).status == "selected"  # type: ignore[union-attr]

    yes = await click(bot, ids[0], member)
    assert yes.response.edited and yes.response.edited[0]["view"] is None
    after = await services.draws.view(call_id)
    assert after.entry(member).status == "replaced"  # type: ignore[union-attr]
    assert after.entry(next_up).status == "selected"  # type: ignore[union-attr]
    assert [u for u, _ in bot.dms[dms:]] == [next_up]  # the place is offered once
    posts, dms = len(bot.posts), len(bot.dms)

    again = await click(bot, ids[0], member)  # pressed twice (or from a second device)
    assert again.response.sent and again.response.sent[0][1]["ephemeral"]
    again_view = await services.draws.view(call_id)
    assert sum(1 for e in again_view.categories[1].entries if e.status == "replaced") == 1
    assert [e.user_id for e in again_view.categories[1].current] == [
        e.user_id for e in after.categories[1].current
    ]
    assert (len(bot.posts), len(bot.dms)) == (posts, dms)

    # "No, keep my place" keeps it (and also answers only its member).
    keep = await click(bot, f"draw:decline-no:{call_id}:{keeper}", keeper)
    assert keep.response.edited and keep.response.edited[0]["view"] is None
    assert (await services.draws.view(call_id)).entry(keeper).status == "selected"  # type: ignore[union-attr]
    late = await click(bot, f"draw:decline-no:{call_id}:{member}", member)  # already gave it up
    assert late.response.sent and not late.response.edited


async def test_a_result_post_hit_by_a_503_is_posted_by_the_finish_job(
    setup: Any, clock: FakeClock, jobs: JobScheduler
) -> None:
    bot, cog, services = setup
    jobs.register(FINISH_JOB, cog.on_finish_job)
    call_id = await story(services, clock)
    bot.channel_error = unavailable()
    report = await cog.finish(call_id)
    assert report.retry and report.problems and not bot.posts and not bot.dms
    await services.draws.finish_later(call_id, GUILD)  # what /draw run does then
    assert await jobs.run_due() == 1  # still failing: RetryLater
    assert (await jobs.repo.get_by_key(finish_job_key(call_id))).status == "pending"  # type: ignore[union-attr]
    bot.channel_error = None
    clock.advance(timedelta(minutes=1))
    assert await jobs.run_due() == 1
    assert len(bot.posts) == 1 and len(bot.dms) == 17
    assert (await jobs.repo.get_by_key(finish_job_key(call_id))).status == "done"  # type: ignore[union-attr]


# -- UX review: privacy of who left, DMs that record the answer, compact verification ----------


DM_CHANNEL = 55_555  # the member's DM channel (ids in these tests are arbitrary)


def buttons_of(view: Any) -> list[tuple[str, str]]:
    return [] if view is None else [(item.custom_id, item.item.label) for item in view.children]


async def test_who_left_is_never_named_in_public_with_or_without_a_reserve(
    setup: Any, clock: FakeClock
) -> None:
    bot, cog, services = setup
    call_id = await story(services, clock)
    await cog.finish(call_id)
    view = await services.draws.view(call_id)
    new = view.categories[1]  # 7 volunteers for 3 places: 4 reserves
    # An organiser replaces each drawn member in turn until nobody is left on the reserve list.
    leavers: list[int] = []
    for _ in range(5):
        current = (await services.draws.view(call_id)).categories[1].current
        leaving = current[0].user_id
        assert leaving is not None
        leavers.append(leaving)
        outcome = await services.draws.replace(GUILD, 1, leaving, actor_id=1)
        posts = len(bot.posts)
        assert await cog.after_replace(outcome) == []
        [announcement] = bot.posts[posts:]
        for left in leavers:  # neither this leaver nor any earlier one
            assert str(left) not in announcement.content
        allowed = announcement.kwargs["allowed_mentions"].users or []
        assert not {u.id for u in allowed} & set(leavers)
        if outcome.promoted_user_id is not None:
            assert [u.id for u in allowed] == [outcome.promoted_user_id]
        else:
            assert allowed == []  # the place is reported open, nobody is mentioned
    after = await services.draws.view(call_id)
    assert after.categories[1].open_places == 1 and not after.categories[1].waiting
    assert len(new.entries) == 7


async def test_confirming_from_the_dm_edits_it_and_works_from_a_fresh_bot(
    db: Database, clock: FakeClock, jobs: JobScheduler
) -> None:
    bot, cog, services = fresh_bot(db, clock, jobs)
    call_id = await story(services, clock)
    await cog.finish(call_id)
    view = await services.draws.view(call_id)
    member, next_up = view.categories[0].drawn[0], view.categories[0].reserve_order[0]
    assert isinstance(member, int)
    [dm] = [m for u, m in bot.dms if u == member]

    bot, cog, services = fresh_bot(db, clock, jobs)  # a restart between the DM and the press
    confirmed = await click(bot, f"draw:confirm:{call_id}:{member}", member, dm, DM_CHANNEL)
    assert not confirmed.response.sent  # no ephemeral reply: the DM itself records the answer
    [edit] = confirmed.response.edited
    assert buttons_of(edit["view"]) == [
        (f"draw:decline:{call_id}:{member}", "I can't take part after all")
    ]
    assert edit["view"].timeout is None
    entry = (await services.draws.view(call_id)).entry(member)
    assert entry is not None and entry.confirmation == "confirmed" and entry.status == "selected"
    assert entry.ref[:8] in edit["content"] and entry.ref not in edit["content"]
    assert f"<t:{int(clock.now().timestamp())}:D>" in edit["content"]  # the date, as a timestamp

    # "I can't take part after all" on the edited DM, after another restart: asked once more,
    # and the question carries the DM so that it can be updated after the answer.
    bot, cog, services = fresh_bot(db, clock, jobs)
    asked = await click(bot, f"draw:decline:{call_id}:{member}", member, dm, DM_CHANNEL)
    [(_, kwargs)] = asked.response.sent
    assert kwargs["ephemeral"]
    ids = [cid for cid, _ in buttons_of(kwargs["view"])]
    assert ids == [
        f"draw:decline-yes:{call_id}:{member}:{dm.id}",
        f"draw:decline-no:{call_id}:{member}:{dm.id}",
    ]
    assert all(DeclineCheckButton.__discord_ui_compiled_template__.fullmatch(i) for i in ids)

    bot, cog, services = fresh_bot(db, clock, jobs)
    other = await click(bot, ids[0], next_up)  # someone else: nothing changes, nothing edited
    assert other.response.sent and not other.response.edited and not bot.edits
    question = SimpleNamespace(id=next(_ids))  # the ephemeral question, shown in the DM channel
    yes = await click(bot, ids[0], member, question, DM_CHANNEL)
    assert yes.response.edited and yes.response.edited[0]["view"] is None
    after = await services.draws.view(call_id)
    assert after.entry(member).status == "replaced"  # type: ignore[union-attr]
    assert after.entry(next_up).status == "selected"  # type: ignore[union-attr]
    # The DM itself now records that the place was given up, with no buttons left.
    [(channel_id, message_id, changes)] = [e for e in bot.edits if e[0] == DM_CHANNEL]
    assert (channel_id, message_id) == (DM_CHANNEL, dm.id)
    assert changes["view"] is None and after.entry(member).ref[:8] in changes["content"]  # type: ignore[union-attr]


async def test_a_question_without_its_dm_still_works(setup: Any, clock: FakeClock) -> None:
    """Questions asked before the DM id was added to the buttons (old custom ids) still work."""
    bot, cog, services = setup
    call_id = await story(services, clock)
    await cog.finish(call_id)
    member = (await services.draws.view(call_id)).categories[0].drawn[0]
    assert isinstance(member, int)
    yes = await click(bot, f"draw:decline-yes:{call_id}:{member}", member)
    assert yes.response.edited and not [e for e in bot.edits if e[0] == DM_CHANNEL]
    assert (await services.draws.view(call_id)).entry(member).status == "replaced"  # type: ignore[union-attr]


async def test_review_answers_from_the_dm_edit_it_with_the_other_choice(
    db: Database, clock: FakeClock, jobs: JobScheduler
) -> None:
    bot, cog, services = fresh_bot(db, clock, jobs)
    call_id = await story(services, clock)
    await cog.finish(call_id)
    view = await services.draws.view(call_id)
    reserve = view.categories[0].reserve_order[1]  # number 2 on the reserve list
    assert isinstance(reserve, int)
    [dm] = [m for u, m in bot.dms if u == reserve]

    bot, cog, services = fresh_bot(db, clock, jobs)
    yes = await click(bot, f"draw:review:{call_id}:{reserve}", reserve, dm, DM_CHANNEL)
    [edit] = yes.response.edited
    assert not yes.response.sent
    assert buttons_of(edit["view"]) == [(f"draw:noreview:{call_id}:{reserve}", "No, thanks")]
    assert (await services.draws.view(call_id)).reviewer(reserve).status == "accepted"  # type: ignore[union-attr]

    clock.advance(timedelta(days=1))
    bot, cog, services = fresh_bot(db, clock, jobs)
    no = await click(bot, f"draw:noreview:{call_id}:{reserve}", reserve, dm, DM_CHANNEL)
    [edit] = no.response.edited
    assert buttons_of(edit["view"]) == [
        (f"draw:review:{call_id}:{reserve}", "Yes, I'd like to review")
    ]
    after = await services.draws.view(call_id)
    reviewer = after.reviewer(reserve)
    assert reviewer is not None and reviewer.status == "declined"
    assert (
        reviewer.answered_at is not None and f"<t:{int(reviewer.answered_at)}:D>" in edit["content"]
    )
    # Still on the reserve list, at the same place, and told so.
    assert after.reserve_position(reserve) == 2 and after.entry(reserve).status == "reserve"  # type: ignore[union-attr]


async def test_answers_on_the_shared_closed_dm_post_stay_ephemeral(
    setup: Any, clock: FakeClock
) -> None:
    """The closed-DM post in the channel is for several members: it is never edited for one."""
    bot, _cog, services = setup
    call_id = await story(services, clock)
    view = await services.draws.view(call_id)
    reserve = view.categories[0].reserve_order[0]
    assert isinstance(reserve, int)
    post = SimpleNamespace(id=424242)
    no = await click(bot, f"draw:noreview:{call_id}:{ANYONE}", reserve, post, CHANNEL)
    assert no.response.sent and no.response.sent[0][1]["ephemeral"] and not no.response.edited
    assert (await services.draws.view(call_id)).reviewer(reserve).status == "declined"  # type: ignore[union-attr]
    assert (await services.draws.view(call_id)).reserve_position(reserve) == 1


async def test_closed_dm_posts_mention_members_at_the_end(setup: Any, clock: FakeClock) -> None:
    bot, cog, services = setup
    call_id = await story(services, clock)
    view = await services.draws.view(call_id)
    drawn, reserve = view.categories[0].drawn[0], view.categories[0].reserve_order[0]
    bot.closed_dms |= {drawn, reserve}  # type: ignore[arg-type]
    await cog.finish(call_id)
    fallbacks = [p for p in bot.posts[1:]]
    assert len(fallbacks) == 2
    for post, who in zip(fallbacks, (drawn, reserve), strict=True):
        assert post.content.rstrip().endswith(f"<@{who}>")
        assert [u.id for u in post.kwargs["allowed_mentions"].users] == [who]


async def test_the_result_post_keeps_the_verification_data_and_the_export_still_verifies(
    setup: Any, clock: FakeClock, tmp_path: Any
) -> None:
    import json
    import sys

    bot, cog, services = setup
    call_id = await story(services, clock)
    await cog.finish(call_id)
    [post] = bot.posts
    view = await services.draws.view(call_id)
    file = post.kwargs["file"]
    file.fp.seek(0)
    data = file.fp.read()
    export = json.loads(data)
    # The published values are unchanged and appear, once each, in the last section of the post.
    assert (
        export["seed"] == view.draw.seed and export["roster_fingerprint"] == view.draw.roster_hash
    )
    assert export["seed_commitment"] == view.call.seed_commitment
    text = post_text(post)
    section = text[text.index(view.draw.seed) - 200 :]
    assert view.freeze is not None and export["freeze"]["fingerprint"] == view.freeze.freeze_hash
    assert view.freeze.freeze_hash in section and text.count(view.draw.seed) == 1
    assert "Reserve order" not in text
    # No full entry reference in the post (they are in the file).
    assert not any(e.ref in text for c in view.categories for e in c.entries)
    path = tmp_path / "call-1-draw.json"
    path.write_bytes(data)
    # Exactly what a member would run on the downloaded file.
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.verify_draw",
        "--json",
        str(path),
        *chain_args(services.draws),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, out.decode()
    assert (await services.draws.verify(GUILD, 1)).ok


async def test_the_reviewer_role_is_checked_again_just_before_it_is_given(
    setup: Any, clock: FakeClock
) -> None:
    """Issue 11 item 1: a role is re-checked before every grant (it may have been edited)."""
    bot, cog, services = setup
    call_id = await story(services, clock)
    await services.draws.repo.set_roles(call_id, None, 777, 1)
    given: list[Any] = []

    class Member:
        id = 1
        guild = SimpleNamespace(owner_id=1)  # the organiser who chose the role owns the server

        async def add_roles(self, *roles: Any, reason: str | None = None) -> None:
            given.append(roles)

    role = SimpleNamespace(
        id=777,
        name="Reviewers",
        mention="<@&777>",
        managed=False,
        permissions=discord.Permissions(administrator=True),  # made an admin role since
        is_default=lambda: False,
    )
    bot.guild = SimpleNamespace(get_member=lambda uid: Member(), get_role=lambda rid: role)
    await cog._reviewer_role(GUILD, call_id, 1, NEW[0], 777, give=True)
    assert given == []
    assert (await services.draws.repo.reviewer(call_id, NEW[0])) is None or (
        (await services.draws.repo.reviewer(call_id, NEW[0])).role_at is None  # type: ignore[union-attr]
    )
    role.permissions = discord.Permissions.none()
    await cog._reviewer_role(GUILD, call_id, 1, NEW[0], 777, give=True)
    assert len(given) == 1
