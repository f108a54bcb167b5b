"""The /call commands and the reaction listeners."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.checks import ensure_invoker_can_post, ensure_organiser
from bot.clock import from_unix
from bot.domain.calls.models import Call, ReactionResult
from bot.domain.calls.notices import SignupConfirmations
from bot.domain.calls.service import CLOSE_JOB
from bot.domain.calls.texts import (
    CALL_CLOSED_DM,
    NOTICE_TEMPLATES,
)
from bot.domain.errors import Conflict, InvalidInput
from bot.domain.jobs import Job
from bot.exports import csv_file
from bot.notify import (
    NO_MENTIONS,
    emoji_key_of,
    reaction_emoji,
    remove_reaction,
    send_dm,
    transient,
)
from bot.options import NumberTransformer
from bot.post_updates import PostState, edit_live_post, refresh_now
from bot.render import clip, fit_list, mention, ts
from bot.scheduling import RetryLater
from cogs.calls.render import STATUS_WORDS, call_instructions, post_link, render_call

if TYPE_CHECKING:
    from bot.client import CoproBot

log = logging.getLogger(__name__)

# REST requests in flight at once for start-up reconciliation (pages of reaction users, posts).
RECONCILE_REQUESTS = 8


CallOption = app_commands.Transform[
    int,
    NumberTransformer(
        lambda bot, guild_id, text: bot.services.calls.search(guild_id, text),
        lambda bot, c: f"#{c.number} {c.title} ({STATUS_WORDS[c.status].lower()})",
    ),
]


"""A call chosen by number, with autocomplete of this server's calls."""


@app_commands.guild_only()
@app_commands.default_permissions(manage_events=True)
class Calls(commands.GroupCog, group_name="call", group_description="Calls for volunteers"):
    """Organiser commands for calls, and the reaction sign-ups."""

    def __init__(self, bot: CoproBot) -> None:
        self.bot = bot
        self.calls = bot.services.calls
        self.confirmations = SignupConfirmations(self.calls)
        self._reconciling: asyncio.Task[None] | None = None

    async def cog_load(self) -> None:
        self.bot.jobs.register(CLOSE_JOB, self.run_close_job)

    async def cog_unload(self) -> None:
        if self._reconciling is not None:
            self._reconciling.cancel()

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        return await ensure_organiser(interaction)

    async def _tz(self, interaction: discord.Interaction) -> str:
        return await self.bot.services.settings.timezone(interaction.guild_id)

    # -- posts ---------------------------------------------------------------------------------

    async def render_post(self, call_id: int) -> None:
        """Edit the call post now to show the current roster counts and status."""
        details = await self.calls.details(call_id)
        call = details.call
        if call.message_id is None:
            return
        message = self.bot.get_partial_messageable(call.channel_id).get_partial_message(
            call.message_id
        )
        how = await call_instructions(self.bot, call)
        freeze = await self.bot.services.draws.freeze_of(call_id)
        post = render_call(details, how, freeze=freeze, docs_url=self.bot.settings.docs_url)
        await edit_live_post(self.bot.edit_pacer, call.channel_id, message, post)

    def refresh_post(self, call_id: int) -> None:
        """Edit the call post soon (coalesced: at most one edit per post every few seconds)."""
        self.bot.posts.request(("call", call_id), lambda: self.render_post(call_id))

    # -- commands ------------------------------------------------------------------------------

    @app_commands.command(name="create")
    @app_commands.describe(
        title="What the call is for, e.g. 'Co-produce the LinkedIn introduction session'",
        categories="Emoji + label, separated by ';' e.g. '🧭 Experienced with LinkedIn; 🌱 New to LinkedIn'",
        description="More about the call (optional)",
        places="People needed per category: '1' for all, or '🧭=3, 🌱=3' (default 1)",
        closes="When the call closes, e.g. '2026-12-03 17:00' or 'in 2 days' (optional)",
        channel="Where to post the call (default: here)",
    )
    async def create(
        self,
        interaction: discord.Interaction,
        title: str,
        categories: str,
        description: str | None = None,
        places: str | None = None,
        closes: str | None = None,
        channel: discord.TextChannel | None = None,
    ) -> None:
        """Post a call for volunteers, with one reaction per category."""
        assert interaction.guild is not None
        target = channel or interaction.channel
        if not isinstance(target, discord.TextChannel | discord.Thread):
            raise InvalidInput("Please pick a text channel for the call.")
        ensure_invoker_can_post(interaction, target)
        details = await self.calls.create(
            guild_id=interaction.guild.id,
            channel_id=target.id,
            author_id=interaction.user.id,
            title=title,
            categories=categories,
            description=description,
            places=places,
            closes=closes,
            tz=await self._tz(interaction),
        )
        await interaction.response.defer(ephemeral=True, thinking=True)
        try:
            how = await call_instructions(self.bot, details.call)
            message = await target.send(
                view=render_call(details, how, docs_url=self.bot.settings.docs_url),
                allowed_mentions=NO_MENTIONS,
            )
        except discord.Forbidden:
            await self.calls.discard(details.call.id)
            raise InvalidInput(
                f"I can't post in {target.mention}. Please give me View Channel, Send Messages, "
                "Embed Links and Add Reactions there, or choose another channel."
            ) from None
        except BaseException:
            # Any other failure (Discord 4xx/5xx after retries, a stop): no post, so no call.
            await self.calls.discard(details.call.id)
            raise
        await self.calls.attach_post(details.call.id, target.id, message.id)
        missing = []
        for cat in details.categories:
            try:
                await message.add_reaction(reaction_emoji(cat.emoji))
            except discord.HTTPException as exc:
                log.warning(
                    "could not add reaction %s to call %s: %s", cat.emoji, details.call.id, exc
                )
                missing.append(cat.emoji)
        text = f"Call #{details.call.number} is posted: {message.jump_url}"
        if missing:
            text += (
                f"\nI couldn't add the reaction(s) {' '.join(missing)}: members can still add them "
                "themselves. If it's a custom emoji, it must be from this server; otherwise "
                "please give me Add Reactions and Read Message History."
            )
        await interaction.followup.send(text, ephemeral=True)

    @app_commands.command(name="edit")
    @app_commands.describe(
        call="The call's number",
        title="New title",
        description="New description",
        places="New places: '1' for all, or '🧭=3, 🌱=3'",
        closes="New closing time, or 'never'",
    )
    async def edit(
        self,
        interaction: discord.Interaction,
        call: CallOption,
        title: str | None = None,
        description: str | None = None,
        places: str | None = None,
        closes: str | None = None,
    ) -> None:
        """Change a call's title, description, places or closing time."""
        assert interaction.guild_id is not None
        details = await self.calls.edit(
            interaction.guild_id,
            call,
            title=title,
            description=description,
            places=places,
            closes=closes,
            tz=await self._tz(interaction),
            actor_id=interaction.user.id,
        )
        await interaction.response.defer(ephemeral=True, thinking=True)
        number = details.call.number
        state = await refresh_now(lambda: self.render_post(details.call.id), f"call {number}")
        text = f"Call #{number} is updated."
        if state is PostState.GONE:
            text += (
                f"\nIts post is gone (it was deleted, or its channel was), so members can't see "
                f"the change. Post it again with `/call repost call:{number}` (sign-ups are "
                f"kept), or close it with `/call close call:{number}`."
            )
        elif state is PostState.UNREACHABLE:
            text += "\nI couldn't update its post; please check my permissions in its channel."
        await interaction.followup.send(text, ephemeral=True)

    @app_commands.command(name="repost")
    @app_commands.describe(
        call="The call's number",
        channel="Where to post it (default: here)",
    )
    async def repost(
        self,
        interaction: discord.Interaction,
        call: CallOption,
        channel: discord.TextChannel | None = None,
    ) -> None:
        """Post an open call again after its post (or channel) was deleted; sign-ups are kept."""
        assert interaction.guild_id is not None
        found = await self.calls.get(interaction.guild_id, call)
        if found.status != "open":
            raise InvalidInput(
                f"Call #{found.number} is closed, so there is nothing to sign up to. Reopen it "
                f"first with `/call reopen call:{found.number}` if you need to."
            )
        target = channel or interaction.channel
        if not isinstance(target, discord.TextChannel | discord.Thread):
            raise InvalidInput("Please pick a text channel for the call.")
        ensure_invoker_can_post(interaction, target)
        await interaction.response.defer(ephemeral=True, thinking=True)
        if found.message_id is not None and await self._post_exists(found):
            await interaction.followup.send(
                f"Call #{found.number} still has its post: {post_link(found)}. Nothing was changed.",
                ephemeral=True,
            )
            return
        details = await self.calls.details(found.id)
        try:
            how = await call_instructions(self.bot, details.call)
            message = await target.send(
                view=render_call(details, how), allowed_mentions=NO_MENTIONS
            )
        except discord.Forbidden:
            raise InvalidInput(
                f"I can't post in {target.mention}. Please give me View Channel, Send Messages, "
                "Embed Links and Add Reactions there, or choose another channel."
            ) from None
        await self.calls.reposted(found.id, target.id, message.id, actor_id=interaction.user.id)
        for cat in details.categories:
            try:
                await message.add_reaction(reaction_emoji(cat.emoji))
            except discord.HTTPException as exc:
                log.warning("could not add reaction %s to call %s: %s", cat.emoji, found.id, exc)
        await interaction.followup.send(
            f"Call #{found.number} is posted again: {message.jump_url}\nEveryone who had signed "
            "up is still signed up.",
            ephemeral=True,
        )

    async def _post_exists(self, call: Call) -> bool:
        """Whether the call's post is still there (an unreachable one counts as there)."""
        assert call.message_id is not None
        try:
            channel = self.bot.get_partial_messageable(call.channel_id)
            await channel.fetch_message(call.message_id)
        except discord.NotFound:
            return False
        except discord.HTTPException:
            return True
        return True

    @app_commands.command(name="close")
    @app_commands.describe(call="The call's number")
    async def close(self, interaction: discord.Interaction, call: CallOption) -> None:
        """Close a call: new reactions no longer sign people up."""
        assert interaction.guild_id is not None
        found = await self.calls.get(interaction.guild_id, call)
        if not found.is_open:
            raise Conflict(f"Call #{call} is already closed.")
        await interaction.response.defer(ephemeral=True, thinking=True)
        made = await self.bot.services.draws.freeze_for_close(
            found.id, actor_id=interaction.user.id, reason="organiser"
        )
        self.refresh_post(found.id)
        problems = await self._publish_freeze(found.id) if made.freeze is not None else []
        text = f"Call #{call} is closed."
        if made.freeze is not None:
            text += (
                " Its list of volunteers is frozen and published on the call post, with the "
                f"public randomness the draw will use ({ts(made.freeze.beacon_due_at, 'f')}). "
                f"Run `/draw run call:{call}` when you're ready."
            )
        await interaction.followup.send(clip("\n".join([text, *problems]), 2000), ephemeral=True)

    async def _publish_freeze(self, call_id: int) -> list[str]:
        """The draws cog publishes a frozen roster on the call post (reply with its file)."""
        draws_cog = self.bot.get_cog("Draws")
        publish = getattr(draws_cog, "publish_freeze", None)
        if publish is None:
            return []
        problems: list[str] = await publish(call_id)
        return problems

    @app_commands.command(name="reopen")
    @app_commands.describe(call="The call's number", closes="New closing time (optional)")
    async def reopen(
        self, interaction: discord.Interaction, call: CallOption, closes: str | None = None
    ) -> None:
        """Reopen a closed call that has not been drawn."""
        assert interaction.guild_id is not None
        reopened = await self.calls.reopen(
            interaction.guild_id, call, closes, await self._tz(interaction), interaction.user.id
        )
        self.refresh_post(reopened.id)
        await interaction.response.send_message(
            f"Call #{reopened.number} is open again.", ephemeral=True
        )

    @app_commands.command(name="list")
    async def list_calls(self, interaction: discord.Interaction) -> None:
        """Open and recent calls in this server."""
        assert interaction.guild_id is not None
        items = await self.calls.overview(interaction.guild_id)
        if not items:
            await interaction.response.send_message(
                "There are no calls yet. Start one with `/call create`.", ephemeral=True
            )
            return
        lines = []
        for d in items:
            link = (
                f"https://discord.com/channels/{d.call.guild_id}/{d.call.channel_id}/{d.call.message_id}"
                if d.call.message_id
                else "not posted"
            )
            lines.append(
                f"**#{d.call.number}** {clip(d.call.title, 80)}: {STATUS_WORDS[d.call.status].lower()}, "
                f"{d.total} volunteer{'s' if d.total != 1 else ''} ({link})"
            )
        await interaction.response.send_message(clip("\n".join(lines), 2000), ephemeral=True)

    @app_commands.command(name="volunteers")
    @app_commands.describe(call="The call's number")
    async def volunteers(self, interaction: discord.Interaction, call: CallOption) -> None:
        """Who volunteered, by category in sign-up order, with a CSV file."""
        assert interaction.guild is not None
        await interaction.response.defer(ephemeral=True, thinking=True)  # before any DB work
        found = await self.calls.get(interaction.guild.id, call)
        roster = await self.calls.roster(found.id)
        lines: list[tuple[str, bool]] = [
            (f"**Call #{found.number}: {clip(found.title, 80)}**", False)
        ]
        rows: list[list[str]] = [
            ["category", "position", "user_id", "display_name", "joined_at_utc"]
        ]
        for entry in roster:
            lines.append(
                (
                    f"\n{entry.category.emoji} **{entry.category.label}** ({len(entry.signups)})",
                    False,
                )
            )
            for i, s in enumerate(entry.signups, start=1):
                lines.append((f"{i}. {mention(s.user_id)} joined {ts(s.joined_at, 'f')}", True))
                member = interaction.guild.get_member(s.user_id)
                rows.append(
                    [
                        entry.category.label,
                        str(i),
                        str(s.user_id),
                        member.display_name if member else "",
                        from_unix(s.joined_at).isoformat(timespec="seconds"),
                    ]
                )
            if not entry.signups:
                lines.append(("Nobody yet.", False))
        file = await asyncio.to_thread(csv_file, rows, f"call-{found.number}-volunteers.csv")
        text = fit_list(
            lines, lambda n: f"…and {n} more not shown here; the attached CSV lists everyone."
        )
        await interaction.followup.send(
            text, file=file, ephemeral=True, allowed_mentions=NO_MENTIONS
        )

    # -- reactions -----------------------------------------------------------------------------

    @commands.Cog.listener()
    async def on_raw_reaction_add(self, payload: discord.RawReactionActionEvent) -> None:
        if payload.guild_id is None or self.bot.user is None or payload.user_id == self.bot.user.id:
            return
        if payload.member is not None and payload.member.bot:
            return
        result = await self.calls.react(
            payload.message_id, payload.user_id, emoji_key_of(payload.emoji), added=True
        )
        if result.outcome == "closed":
            await self._refuse_closed(payload)
        elif result.outcome in ("joined", "switched") and result.call_id is not None:
            self.refresh_post(result.call_id)
            if result.previous_emoji is not None:
                await remove_reaction(
                    self.bot,
                    payload.channel_id,
                    payload.message_id,
                    result.previous_emoji,
                    payload.user_id,
                )
            await self._confirm(payload.guild_id, payload.user_id, result)

    @commands.Cog.listener()
    async def on_raw_reaction_remove(self, payload: discord.RawReactionActionEvent) -> None:
        if payload.guild_id is None or self.bot.user is None or payload.user_id == self.bot.user.id:
            return
        result = await self.calls.react(
            payload.message_id, payload.user_id, emoji_key_of(payload.emoji), added=False
        )
        if result.outcome == "withdrawn" and result.call_id is not None:
            self.refresh_post(result.call_id)
            await self._confirm(payload.guild_id, payload.user_id, result)

    async def _refuse_closed(self, payload: discord.RawReactionActionEvent) -> None:
        call = await self.calls.by_message(payload.message_id)
        if call is None:
            return
        await remove_reaction(
            self.bot, payload.channel_id, payload.message_id, str(payload.emoji), payload.user_id
        )
        try:
            text = await self.bot.services.wording.render(
                call.guild_id,
                CALL_CLOSED_DM,
                number=call.number,
                title=clip(call.title, 80),
                link=post_link(call),
            )
            await send_dm(self.bot, payload.user_id, text)
        except discord.HTTPException:
            log.info("could not tell %s that call %s is closed", payload.user_id, call.id)

    async def _confirm(self, guild_id: int, user_id: int, result: ReactionResult) -> None:
        """Queue a courtesy DM about a join, switch or withdrawal (with DM confirmations on).

        The DM is paced, so its words are decided when it is sent, from the roster then (see
        SignupConfirmations): a stale one is dropped, a switch says "moved", and several queued
        for one member on one call coalesce into the latest state.
        """
        if result.call_id is None:
            return
        settings = await self.bot.services.settings.get(guild_id)
        if not settings.dm_confirmations:
            return
        call_id = result.call_id

        async def render() -> str | None:
            notice = await self.confirmations.due(call_id, user_id)
            if notice is None:
                return None
            category = notice.category
            return await self.bot.services.wording.render(
                guild_id,
                NOTICE_TEMPLATES[notice.kind],
                number=notice.call.number,
                title=clip(notice.call.title, 80),
                link=post_link(notice.call),
                category=f"{category.emoji} {category.label}" if category else "",
            )

        # Paced by one worker; the handler returns now.
        self.bot.dm_queue.put(user_id, render, key=("call", call_id, user_id))

    # -- timed and start-up work ---------------------------------------------------------------

    async def run_close_job(self, job: Job) -> None:
        call_id = int(job.payload["call_id"])
        try:
            made = await self.bot.services.draws.freeze_for_close(
                call_id, actor_id=None, reason="schedule"
            )
        except Conflict as exc:  # the beacon's chain can't be read yet: close a little later
            raise RetryLater(str(exc), timedelta(minutes=1)) from exc
        if made.closed_call:
            log.info("call %s closed on schedule", call_id)
        if made.freeze is not None:
            for problem in await self._publish_freeze(call_id):
                log.warning("call %s: %s", call_id, problem)
        # The job is done only once the post says "closed" (edited here, not queued).
        try:
            await self.render_post(call_id)
        except discord.NotFound:
            log.warning("call %s closed, but its post is gone", call_id)
        except discord.HTTPException as exc:
            if transient(exc):
                raise RetryLater(f"Discord {exc.status} while editing the call post") from exc
            log.warning("call %s closed, but its post could not be edited: %s", call_id, exc)

    @commands.Cog.listener()
    async def on_ready(self) -> None:
        # Behind readiness: commands and live reactions are answered while this runs.
        if self._reconciling is None or self._reconciling.done():
            self._reconciling = asyncio.create_task(self.reconcile_all(), name="reconcile-calls")

    async def reconcile_all(self) -> None:
        """Apply reactions added or removed while the bot was offline.

        Open calls are checked concurrently, within a budget of REST requests in flight
        (``RECONCILE_REQUESTS``; discord.py's rate limiter paces them further).
        """
        guild_ids = {g.id for g in self.bot.guilds}
        budget = asyncio.Semaphore(RECONCILE_REQUESTS)

        async def one(call: Call) -> None:
            try:
                await self.reconcile(call, budget)
            except Exception:
                log.exception("could not reconcile call %s", call.id)

        await asyncio.gather(
            *(
                one(call)
                for call in await self.calls.open_calls()
                if call.guild_id in guild_ids and call.message_id is not None
            )
        )

    async def reconcile(self, call: Call, budget: asyncio.Semaphore | None = None) -> None:
        """Make one call's roster match its post's reactions, doing only what changed.

        ``GET message`` carries each reaction's count: a category whose count (less the bot's
        own reaction) equals its stored sign-ups is taken as unchanged and its users are not
        paged; only the categories whose count differs are paged. (Two offline changes that
        cancel out in one category, one member leaving and another joining, keep the count and
        are not seen; the next live reaction by either member puts it right.)
        """
        assert call.message_id is not None
        budget = budget or asyncio.Semaphore(RECONCILE_REQUESTS)
        self.calls.begin_reconcile(call.message_id)
        try:
            try:
                channel = self.bot.get_channel(call.channel_id)
                async with budget:
                    if channel is None:
                        channel = await self.bot.fetch_channel(call.channel_id)
                    assert isinstance(channel, discord.abc.Messageable)
                    message = await channel.fetch_message(call.message_id)
            except discord.NotFound:
                try:  # closing freezes the roster (the draw can still be made and checked)
                    await self.bot.services.draws.freeze_for_close(
                        call.id, actor_id=None, reason="post deleted"
                    )
                except Conflict:
                    await self.calls.close(call.id, reason="post deleted")
                log.warning(
                    "call %s (#%s in %s): its post was deleted, so it is now closed",
                    call.id,
                    call.number,
                    call.guild_id,
                )
                return
            except discord.Forbidden:
                log.warning(
                    "call %s: no access to its post in channel %s", call.id, call.channel_id
                )
                return
            # Counts first (one GROUP BY): an unchanged call costs no roster read at all.
            details = await self.calls.details(call.id)
            by_key = {c.key: c for c in details.categories}
            stored_counts = {c.key: details.counts.get(c.id, 0) for c in details.categories}
            reactions: dict[str, discord.Reaction] = {}
            for reaction in message.reactions:
                key = emoji_key_of(discord.PartialEmoji.from_str(str(reaction.emoji)))
                if key in by_key:
                    reactions[key] = reaction
            changed: dict[str, discord.Reaction | None] = {}
            for key, count in stored_counts.items():
                found = reactions.get(key)
                people = 0 if found is None else found.count - (1 if found.me else 0)
                if people != count:
                    changed[key] = found  # None: nobody reacts with it any more
            if not changed:
                return
            roster = await self.calls.roster(call.id)
            stored = {e.category.key: [s.user_id for s in e.signups] for e in roster}
            # Unchanged categories are taken as stored (not paged).
            observed = {k: list(users) for k, users in stored.items() if k not in changed}

            async def page(key: str, reaction: discord.Reaction | None) -> None:
                assert budget is not None
                if reaction is None:
                    observed[key] = []
                    return
                async with budget:
                    observed[key] = [u.id async for u in reaction.users(limit=None) if not u.bot]

            await asyncio.gather(*(page(k, r) for k, r in changed.items()))
            plan = await self.calls.reconcile(
                call.id, observed, touched=self.calls.touched_during_reconcile(call.message_id)
            )
        finally:
            self.calls.end_reconcile(call.message_id)
        for user_id, key in plan.reactions_to_remove:
            async with budget:
                await remove_reaction(
                    self.bot, call.channel_id, call.message_id, by_key[key].emoji, user_id
                )
        if plan.joins or plan.switches or plan.withdrawals:
            log.info(
                "call %s reconciled: %d joined, %d switched, %d withdrew",
                call.id,
                len(plan.joins),
                len(plan.switches),
                len(plan.withdrawals),
            )
            self.refresh_post(call.id)
