"""The /draw commands and the draw's deliveries."""

from __future__ import annotations

import asyncio
import io
import logging
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.checks import dangerous_permissions, ensure_organiser, role_grant_refusal
from bot.domain.delivery.models import DM
from bot.domain.draws.algorithm import ALGORITHM_ID
from bot.domain.draws.models import (
    BeaconChoice,
    DrawEntry,
    DrawPart,
    DrawView,
    FreezeRecord,
    ReplaceOutcome,
    RunOutcome,
)
from bot.domain.draws.rules import entry_code
from bot.domain.draws.service import (
    FINISH_CHECK,
    FINISH_JOB,
    MEMBER_LEFT_JOB,
    REVEAL_JOB,
)
from bot.domain.draws.texts import (
    ALREADY_CONFIRMED,
    ANSWER_CONFIRMED,
    ANSWER_DECLINED,
    ANSWER_REVIEW_NO,
    ANSWER_REVIEW_YES,
    BEACON_WAITING,
    CONFIRMED,
    DECLINE_CHECK,
    DECLINED,
    FREEZE_POST,
    PLACE_KEPT,
    PLACE_OPEN,
    PROMOTED_DM,
    REPLACED,
    RESULT_CHANGES,
    RESULT_CHECK,
    RESULT_INTRO,
    RESULT_REVIEWERS,
    REVIEW_FALLBACK,
    REVIEW_INVITE_DM,
    REVIEW_NO,
    REVIEW_NO_PLAIN,
    REVIEW_YES,
    SELECTED_DM,
    SELECTED_FALLBACK,
    STILL_RESERVE,
    WITHDRAWN_OPEN,
    WITHDRAWN_REPLACED,
    YOUR_REF,
)
from bot.domain.errors import InvalidInput
from bot.domain.jobs import Job
from bot.errors import reply
from bot.notify import NO_MENTIONS, delivered, mentions_for, send_dm, transient
from bot.render import clip, mention, mentions_text, ts
from bot.scheduling import RetryLater
from bot.timeparse import parse_when
from cogs._layout import MAX_TEXT
from cogs.calls.cog import CallOption
from cogs.draws.render import (
    beacon_words,
    docs_link,
    freeze_check_text,
    result_layout,
    result_link,
    result_post_text,
    status_text,
    verification_text,
)
from cogs.draws.views import (
    ANYONE,
    Answer,
    DeclineCheckButton,
    DrawButton,
    answer_buttons,
    answered_buttons,
    decline_check_buttons,
)

if TYPE_CHECKING:
    from bot.client import CoproBot

log = logging.getLogger(__name__)


def result_nonce(call_id: int) -> str:
    """Discord de-duplicates a second send with the same nonce (enforce_nonce) for a few
    minutes: a crash right after posting does not post the result twice."""
    return f"draw-{call_id}"


def leave_nonce(call_id: int, ref: str) -> str:
    """One "has left the group" post per entry (<= 25 characters, as Discord requires)."""
    head = f"dl{call_id}-"
    return head + ref[: max(4, 25 - len(head))]


@dataclass(slots=True)
class FinishReport:
    posted_now: bool = False
    dms: int = 0
    in_channel: list[int] = field(default_factory=list)
    failed: int = 0
    retry: bool = False  # something failed that may work soon (Discord 429/5xx, network, stop)
    problems: list[str] = field(default_factory=list)
    refused_roles: list[tuple[int, str]] = field(default_factory=list)  # (role id, why)


def _role_ok(interaction: discord.Interaction, role: discord.Role | None, what: str) -> None:
    """Refuse a role the bot must not give on the invoker's behalf (bot.checks)."""
    if role is None:
        return
    chooser = interaction.user if isinstance(interaction.user, discord.Member) else None
    refusal = role_grant_refusal(chooser, role)
    if refusal is not None:
        raise InvalidInput(f"I can't use {role.mention} for the {what}: {refusal}")


@app_commands.guild_only()
@app_commands.default_permissions(manage_events=True)
class Draws(
    commands.GroupCog, group_name="draw", group_description="Fair, verifiable draws for calls"
):
    """Organiser commands for draws, and the members' answer buttons."""

    def __init__(self, bot: CoproBot) -> None:
        self.bot = bot
        self.draws = bot.services.draws
        self._locks: dict[int, asyncio.Lock] = {}
        self._told_refusals: set[tuple[int, int]] = set()  # (call id, role id), this process

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(DrawButton, DeclineCheckButton)
        self.bot.jobs.register(MEMBER_LEFT_JOB, self.on_member_left)
        self.bot.jobs.register(FINISH_JOB, self.on_finish_job)
        self.bot.jobs.register(REVEAL_JOB, self.on_reveal_job)

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(DrawButton, DeclineCheckButton)

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        return await ensure_organiser(interaction)

    async def words(self, guild_id: int | None, tpl: Any, **values: object) -> str:
        return await self.bot.services.wording.render(guild_id, tpl, **values)

    # -- commands ------------------------------------------------------------------------------

    @app_commands.command(name="run")
    @app_commands.describe(
        call="The call's number",
        places="Override the call's places: '3' for all, or '🧭=3, 🌱=3' (fixed at the freeze)",
        group_role="Role for the members drawn (optional)",
        reviewer_role="Role for volunteers who agree to review (optional)",
        public_value="Instead of drand: a public value to come, e.g. 'UK Lotto numbers of 12 Dec'",
        public_value_at="When that public value is published, e.g. '2026-12-12 21:00'",
        value="The public value itself, once it is out (only for a draw that named one)",
    )
    @app_commands.rename(
        group_role="group-role",
        reviewer_role="reviewer-role",
        public_value="public-value",
        public_value_at="public-value-at",
    )
    async def run(
        self,
        interaction: discord.Interaction,
        call: CallOption,
        places: str | None = None,
        group_role: discord.Role | None = None,
        reviewer_role: discord.Role | None = None,
        public_value: str | None = None,
        public_value_at: str | None = None,
        value: str | None = None,
    ) -> None:
        """Close the call, freeze who volunteered, and draw once public randomness is out."""
        assert interaction.guild is not None
        _role_ok(interaction, group_role, "group")
        _role_ok(interaction, reviewer_role, "reviewers")
        choice: BeaconChoice | None = None
        if public_value is not None and public_value.strip():
            if not public_value_at:
                raise InvalidInput(
                    "Please say when the public value comes out (`public-value-at`), e.g. "
                    "'2026-12-12 21:00'."
                )
            tz = await self.bot.services.settings.timezone(interaction.guild.id)
            at = parse_when(public_value_at, tz=tz, now=self.draws.clock.now())
            choice = BeaconChoice("public", public_value, at.timestamp())
        await interaction.response.defer(ephemeral=True, thinking=True)
        outcome = await self.draws.run(
            guild_id=interaction.guild.id,
            number=call,
            actor_id=interaction.user.id,
            places=places,
            group_role_id=group_role.id if group_role else None,
            reviewer_role_id=reviewer_role.id if reviewer_role else None,
            choice=choice,
            value=value,
        )
        lines: list[str] = []
        if outcome.freeze is not None and (outcome.froze_now or outcome.closed_call):
            self._refresh_call_post(outcome.freeze.call_id)
        if outcome.freeze is not None and outcome.freeze.message_id is None:
            lines.extend(await self.publish_freeze(outcome.freeze.call_id))
        if outcome.view is None:
            assert outcome.waiting is not None
            lines.insert(0, await self._waiting_words(call, outcome))
            await interaction.followup.send(clip("\n".join(lines), 2000), ephemeral=True)
            return
        call_id = outcome.view.call.id
        report = await self.finish(call_id)
        if report.retry:
            await self.draws.finish_later(call_id, interaction.guild.id)
        view = await self.draws.view(call_id)
        if outcome.created:
            self._refresh_call_post(call_id)
            lines.append(f"Call #{call} is drawn.")
        else:
            lines.append(
                f"Call #{call} was drawn already (a call is drawn only once), so nothing "
                "was drawn again. Here is its result."
            )
            if outcome.ignored:
                lines.append(
                    f"The option(s) {', '.join(outcome.ignored)} can't change an existing "
                    "draw and were ignored."
                )
        if result_link(view):
            lines.append(f"Result: {result_link(view)}")
        lines.append(self._report_words(report))
        lines.extend(report.problems)
        await interaction.followup.send(
            clip("\n".join(x for x in lines if x), 2000), ephemeral=True
        )

    async def _waiting_words(self, number: int, outcome: RunOutcome) -> str:
        """What the organiser is told while the draw waits for its public value (and the job
        that will make it, when it can be made by the bot alone)."""
        waiting = outcome.waiting
        assert waiting is not None
        freeze = waiting.freeze
        call = await self.draws.call_of(freeze.call_id)
        first = (
            f"Call #{number} is closed and its list of volunteers is frozen and published on the "
            "call post. "
            if outcome.froze_now
            else ""
        )
        if waiting.kind == "not_due":
            await self.draws.reveal_later(freeze.call_id, call.guild_id, freeze.beacon_due_at + 1)
            return first + (
                f"The draw uses {beacon_words(freeze)}, which comes out {ts(freeze.beacon_due_at, 'R')}"
                f" ({ts(freeze.beacon_due_at, 'f')}). I'll make the draw then and post the result."
            )
        if waiting.kind == "waiting":
            await self.draws.reveal_later(
                freeze.call_id, call.guild_id, self.draws.clock.now().timestamp() + 30
            )
            return first + (
                f"I can't reach the public randomness ({beacon_words(freeze)}) right now. I'll keep "
                "trying and make the draw as soon as I can check the value; nothing is drawn "
                "until then."
            )
        if waiting.kind == "need_value":
            return first + (
                f"The draw uses {beacon_words(freeze)}. Once it is out, run "
                f"`/draw run call:{number} value:<the value exactly as published>`."
            )
        return first + (
            "The frozen list wasn't published on the call post before the public randomness came "
            "out, so I can't make a draw anyone could trust from it. Please re-open the call "
            f"(`/call reopen call:{number}`) and close it again: that makes a new freeze."
        )

    @app_commands.command(name="show")
    @app_commands.describe(call="The call's number")
    async def show(self, interaction: discord.Interaction, call: CallOption) -> None:
        """The draw's result and who has confirmed, only for you, with the data to verify it."""
        assert interaction.guild_id is not None
        view = await self.draws.show(interaction.guild_id, call)
        text = status_text(view, limit=1990 - 700)
        text += "\n\n" + verification_text(view, docs_url=self.draws.docs_url)
        await interaction.response.send_message(
            clip(text, 2000),
            file=self._export_file(view),
            ephemeral=True,
            allowed_mentions=NO_MENTIONS,
        )

    @app_commands.command(name="replace")
    @app_commands.describe(call="The call's number", member="Who leaves the group")
    async def replace(
        self, interaction: discord.Interaction, call: CallOption, member: discord.User
    ) -> None:
        """Take a member out of the group; the next reserve in their category is offered the place."""
        assert interaction.guild_id is not None
        outcome = await self.draws.replace(
            interaction.guild_id, call, member.id, interaction.user.id
        )
        await interaction.response.defer(ephemeral=True, thinking=True)
        problems = await self.after_replace(outcome)
        if outcome.promoted_user_id is not None:
            text = (
                f"{member.mention} has left the group for call #{call}. "
                f"{mention(outcome.promoted_user_id)} was next on the reserve list for "
                f"{outcome.category.emoji} {outcome.category.label} and has been offered the place."
            )
        else:
            text = (
                f"{member.mention} has left the group for call #{call}. Nobody is left on the "
                f"reserve list for {outcome.category.emoji} {outcome.category.label}, so the place "
                "is open."
            )
        await interaction.followup.send(
            clip("\n".join([text, *problems]), 2000), ephemeral=True, allowed_mentions=NO_MENTIONS
        )

    @app_commands.command(name="verify")
    @app_commands.describe(
        call="The call's number", public="Post the check in this channel for everyone"
    )
    async def verify(
        self, interaction: discord.Interaction, call: CallOption, public: bool = False
    ) -> None:
        """Re-run the draw from its published data and say whether it matches."""
        assert interaction.guild_id is not None
        report = await self.draws.verify(interaction.guild_id, call)

        def yes(flag: bool | None) -> str:
            return "yes" if flag else "NO"

        algorithm = report.computed.algorithm if report.computed is not None else ALGORITHM_ID
        lines = [
            f"**Checking the draw for call #{call}** ({algorithm})",
            f"The revealed seed matches the commitment on the call post: {yes(report.commitment_ok)}",
            f"The roster matches its published fingerprint: {yes(report.fingerprint_ok)}",
            f"Re-running the draw gives exactly the published result: {yes(report.order_ok)}",
        ]
        if report.freeze_ok is not None:
            lines.insert(
                2,
                "The roster, places and public value are those frozen and published before the "
                f"draw: {yes(report.freeze_ok)}",
            )
        if report.beacon_ok is not None:
            lines.insert(
                3,
                f"The public randomness is genuine (its signature checks out): {yes(report.beacon_ok)}",
            )
        if report.changes_ok is not None:
            lines.append(
                f"Every change since the draw followed the reserve list: {yes(report.changes_ok)}"
            )
        if report.ok:
            lines.append(
                "Everything matches: this draw is what the published seed and roster give."
            )
        else:
            lines.append("Something does not match. Please tell the server's admins.")
            lines.extend(report.problems)
        await interaction.response.send_message(
            "\n".join(lines), ephemeral=not public, allowed_mentions=NO_MENTIONS
        )

    # -- freeze, then reveal -------------------------------------------------------------------

    async def publish_freeze(self, call_id: int) -> list[str]:
        """Post the frozen roster (text and ``call-N-roster.json``) as a reply to the call post,
        once, before the public value it names exists. Problems, for the organiser."""
        freeze = await self.draws.freeze_of(call_id)
        if freeze is None or freeze.message_id is not None:
            return []
        call = await self.draws.call_of(call_id)
        categories = await self.draws.categories_of(call_id)
        places = ", ".join(
            f"{c.emoji} {c.label} {freeze.places.get(c.key, c.places)}" for c in categories
        )
        text = await self.words(
            call.guild_id,
            FREEZE_POST,
            number=call.number,
            title=call.title,
            volunteers=len(freeze.roster),
            places=places,
            beacon=beacon_words(freeze),
            due=ts(freeze.beacon_due_at, "f"),
            docs=f"<{docs_link(self.draws.docs_url)}>",
        )
        text = clip(text, 2000 - 400) + "\n\n" + freeze_check_text(freeze)
        data = self.draws.freeze_json(call, categories, freeze).encode("utf-8")
        channel = self.bot.get_partial_messageable(call.channel_id, guild_id=call.guild_id)
        kwargs: dict[str, Any] = {}
        if call.message_id:
            kwargs["reference"] = discord.MessageReference(
                message_id=call.message_id, channel_id=call.channel_id, fail_if_not_exists=False
            )
        try:
            message = await channel.send(
                clip(text, 2000),
                file=discord.File(io.BytesIO(data), filename=f"call-{call.number}-roster.json"),
                allowed_mentions=NO_MENTIONS,
                nonce=f"freeze-{call.id}",
                **kwargs,
            )
        except discord.HTTPException as exc:
            log.warning("could not publish the frozen roster of call %s: %s", call.id, exc)
            return [
                f"I couldn't post the frozen list in <#{call.channel_id}> ({exc.status}). The draw "
                "can only be made once it is public before its random value comes out: please "
                f"give me Send Messages and Attach Files there and run `/draw run call:{call.number}` "
                "again soon."
            ]
        await self.draws.mark_freeze_posted(call.id, message.id)
        return []

    async def on_reveal_job(self, job: Job) -> None:
        """Job :data:`REVEAL_JOB`: make the draw of a frozen call once its public value is out
        (fetched and verified); while the beacon can't be reached, say so once in the call's
        channel and try again."""
        call_id = int(job.payload["call_id"])
        freeze = await self.draws.freeze_of(call_id)
        if freeze is None:
            return  # re-opened or deleted since
        if freeze.message_id is None:
            for problem in await self.publish_freeze(call_id):
                log.warning("draw for call %s: %s", call_id, problem)
        outcome = await self.draws.reveal(call_id, freeze.frozen_by)
        if outcome.kind == "not_due":
            delay = max(1.0, outcome.freeze.beacon_due_at - self.draws.clock.now().timestamp())
            raise RetryLater("the public value is not out yet", timedelta(seconds=delay + 1))
        if outcome.kind == "waiting":
            await self._tell_waiting(call_id, outcome.freeze)
            raise RetryLater(f"waiting for the beacon: {outcome.detail}", timedelta(seconds=30))
        if outcome.kind in ("need_value", "not_published"):
            log.warning("draw for call %s can't be made by itself: %s", call_id, outcome.kind)
            return
        self._refresh_call_post(call_id)
        report = await self.finish(call_id)
        for problem in report.problems:
            log.warning("draw for call %s: %s", call_id, problem)
        await self.tell_refused_roles(call_id, report)
        if report.retry:
            await self.draws.finish_later(call_id, (await self.draws.call_of(call_id)).guild_id)

    async def tell_refused_roles(self, call_id: int, report: FinishReport) -> None:
        """Outside an interaction (a job), a refused role grant is told to the organiser who
        chose the role, by DM, once per role (and logged)."""
        if not report.refused_roles:
            return
        view = await self.draws.view(call_id)
        chooser = view.draw.roles_by
        for role_id, why in report.refused_roles:
            log.warning("draw for call %s: role %s not given: %s", call_id, role_id, why)
            if chooser is None or (call_id, role_id) in self._told_refusals:
                continue
            self._told_refusals.add((call_id, role_id))
            text = (
                f"I didn't give the role <@&{role_id}> to the people of call #{view.call.number}, "
                f"{view.call.title}: {why} Once that is fixed, run "
                f"`/draw run call:{view.call.number}` again and I'll give it."
            )
            try:
                await send_dm(self.bot, chooser, clip(text, 2000))
            except discord.HTTPException:
                log.warning("could not tell organiser %s about a refused role", chooser)

    async def _tell_waiting(self, call_id: int, freeze: FreezeRecord) -> None:
        """Once per freeze: say in the call's channel that the draw waits for its beacon."""
        if not await self.draws.claim_waiting_notice(call_id):
            return
        call = await self.draws.call_of(call_id)
        text = await self.words(
            call.guild_id,
            BEACON_WAITING,
            number=call.number,
            title=call.title,
            beacon=beacon_words(freeze),
        )
        channel = self.bot.get_partial_messageable(call.channel_id, guild_id=call.guild_id)
        try:
            await channel.send(clip(text, 2000), allowed_mentions=NO_MENTIONS)
        except discord.HTTPException:
            log.warning("could not tell call %s's channel that the draw waits", call_id)

    # -- the Discord side of a draw (idempotent, crash-safe) -----------------------------------

    async def finish(self, call_id: int) -> FinishReport:
        """Post the recorded result if it isn't yet, give roles, and tell each member once."""
        lock = self._locks.setdefault(call_id, asyncio.Lock())
        async with lock:
            report = FinishReport()
            view = await self.draws.view(call_id)
            if not view.posted:
                await self._post_result(view, report)
                view = await self.draws.view(call_id)
            if not view.posted:
                return report  # members are told only once the result they are pointed to exists
            await self._give_roles(view, report)
            await self._notify(view, report)
            return report

    async def _post_result(self, view: DrawView, report: FinishReport) -> None:
        call = view.call
        text = await self._result_text(view)
        export = self._export_file(view)
        channel = self.bot.get_partial_messageable(call.channel_id, guild_id=call.guild_id)
        reference = (
            discord.MessageReference(
                message_id=call.message_id, channel_id=call.channel_id, fail_if_not_exists=False
            )
            if call.message_id
            else None
        )
        kwargs: dict[str, Any] = {"reference": reference} if reference else {}
        try:
            message = await channel.send(
                view=result_layout(text, export.filename),
                file=export,
                allowed_mentions=mentions_for(view.drawn[:100]),
                nonce=result_nonce(call.id),
                **kwargs,
            )
        except discord.Forbidden:
            report.problems.append(
                f"I couldn't post the result in <#{call.channel_id}>. The draw is recorded and won't "
                "change. Please give me View Channel, Send Messages, Attach Files and Read Message "
                f"History there, then run `/draw run call:{call.number}` again to post it."
            )
            return
        except discord.NotFound:
            report.problems.append(
                f"The call's channel no longer exists, so I couldn't post the result. The draw is "
                f"recorded: `/draw show call:{call.number}` shows it."
            )
            return
        except discord.HTTPException as exc:  # Discord answered: nothing was posted
            log.warning("could not post the draw result for call %s", call.id, exc_info=True)
            report.retry = report.retry or transient(exc)
            again = (
                "I'll try again in a few minutes."
                if transient(exc)
                else f"Running `/draw run call:{call.number}` again posts it."
            )
            report.problems.append(
                f"Discord didn't take the result post just now (it said {exc.status}). The draw is "
                f"recorded and won't change. {again}"
            )
            return
        await self.draws.mark_posted(call.id, message.id)
        report.posted_now = True

    async def _result_text(self, view: DrawView) -> str:
        call = view.call
        intro = await self.words(
            call.guild_id,
            RESULT_INTRO,
            number=call.number,
            title=call.title,
            volunteers=view.volunteers,
        )
        closing = await self.words(call.guild_id, RESULT_REVIEWERS)
        check = await self.words(call.guild_id, RESULT_CHECK)
        heading = await self.words(call.guild_id, RESULT_CHANGES)
        return result_post_text(
            view,
            intro,
            closing,
            limit=MAX_TEXT,
            check=check,
            docs_url=self.draws.docs_url,
            changes_heading=heading,
        )

    async def update_result(self, call_id: int) -> list[str]:
        """Edit the posted result after a change (a replacement, a decline, a withdrawal, a
        member deleting their data): the changes list grows, the file gains the change, and a
        member who deleted their data is no longer mentioned."""
        view = await self.draws.view(call_id)
        if view.draw.result_message_id is None:
            return []
        message = self.bot.get_partial_messageable(
            view.call.channel_id, guild_id=view.call.guild_id
        ).get_partial_message(view.draw.result_message_id)
        try:
            export = self._export_file(view)
            await message.edit(
                view=result_layout(await self._result_text(view), export.filename),
                attachments=[export],
                allowed_mentions=NO_MENTIONS,
            )
        except discord.HTTPException as exc:
            log.warning("could not update the result post of call %s: %s", call_id, exc)
            return [f"I couldn't update the result post with this change ({exc.status})."]
        return []

    def _export_file(self, view: DrawView) -> discord.File:
        data = self.draws.export_json(view).encode("utf-8")
        return discord.File(io.BytesIO(data), filename=f"call-{view.call.number}-draw.json")

    async def _member(self, guild: discord.Guild, user_id: int) -> discord.Member | None:
        member = guild.get_member(user_id)
        if member is not None:
            return member
        try:
            return await guild.fetch_member(user_id)
        except discord.NotFound:
            return None

    def _role_problem(self, guild: discord.Guild | None, role_id: int, number: int) -> str:
        again = f"then run `/draw run call:{number}` again to give the roles."
        if guild is None:
            return f"I couldn't give the role <@&{role_id}>: I can't see the server right now."
        role = guild.get_role(role_id)
        me = guild.me
        if role is None:
            return f"The role I was asked to give (id {role_id}) no longer exists."
        if me is not None and not me.guild_permissions.manage_roles:
            return (
                f"I couldn't give {role.mention}: I need the **Manage Roles** permission. "
                f"In Server Settings → Roles, turn on Manage Roles for my role, {again}"
            )
        if me is not None and role >= me.top_role:
            return (
                f"I couldn't give {role.mention}: it is above my highest role "
                f"({me.top_role.name}). In Server Settings → Roles, drag my role above "
                f"{role.name}, {again}"
            )
        return f"Discord didn't let me give {role.mention}. Please check my permissions, {again}"

    async def _give_roles(self, view: DrawView, report: FinishReport) -> None:
        todo = await self.draws.deliveries(view.call.id)
        guild = await self.bot.guild_anywhere(view.call.guild_id)
        for role_id, users, mark in (
            (view.draw.group_role_id, todo.roles, self.draws.role_given),
            (view.draw.reviewer_role_id, todo.reviewer_roles, self.draws.reviewer_role_given),
        ):
            if not role_id or not users:
                continue
            if guild is None:
                report.problems.append(self._role_problem(None, role_id, view.call.number))
                continue
            refusal = await self._grant_refusal(guild, role_id, view.draw.roles_by)
            if refusal is not None:  # re-checked before every grant: roles change
                report.problems.append(
                    f"I didn't give <@&{role_id}> for call #{view.call.number}: {refusal}"
                )
                report.refused_roles.append((role_id, refusal))
                log.warning("draw for call %s: role %s refused: %s", view.call.id, role_id, refusal)
                continue
            for user_id in users:
                try:
                    member = await self._member(guild, user_id)
                    if member is None:
                        continue  # left the server
                    await member.add_roles(
                        discord.Object(role_id), reason=f"Draw for call #{view.call.number}"
                    )
                except discord.Forbidden:
                    report.problems.append(self._role_problem(guild, role_id, view.call.number))
                    break
                except discord.HTTPException as exc:
                    log.warning("could not give role %s to %s", role_id, user_id, exc_info=True)
                    report.retry = report.retry or transient(exc)
                    continue
                await mark(view.call.id, user_id)

    async def _grant_refusal(
        self, guild: discord.Guild, role_id: int, chooser_id: int | None
    ) -> str | None:
        """The role rule (bot.checks.role_grant_refusal), checked again now: the role may have
        gained a dangerous permission, or its chooser lost Manage Roles, since it was chosen."""
        role = guild.get_role(role_id)
        if chooser_id is None:  # chosen before choosers were recorded: the role itself only
            if role is None:
                return "That role no longer exists."
            bad = dangerous_permissions(role)
            return None if not bad else role_grant_refusal(None, role)
        try:
            chooser = await self._member(guild, chooser_id)
        except discord.HTTPException:
            chooser = None
        return role_grant_refusal(chooser, role)

    async def _notify(self, view: DrawView, report: FinishReport) -> None:
        """Tell each member once, through the one delivery engine (bot/domain/delivery): a DM
        each, or, for members whose DMs are closed, one message in the call's channel that
        mentions them. Every message is claimed before it is sent and carries a nonce of its
        own, so a pass repeated after a crash neither loses nor doubles a message."""
        todo = await self.draws.deliveries(view.call.id)
        parts: tuple[tuple[DrawPart, tuple[DrawEntry, ...]], ...] = (
            ("notice", todo.notices),
            ("invite", todo.invites),
        )
        for part, entries in parts:
            if entries:
                await self._deliver(view, part, entries, report)

    async def _deliver(
        self,
        view: DrawView,
        part: DrawPart,
        entries: tuple[DrawEntry, ...],
        report: FinishReport,
    ) -> None:
        call = view.call
        run = self.draws.delivery_run(call.id, part)
        by_user = {e.user_id: e for e in entries if e.user_id is not None}
        users = list(by_user)
        unknown = await run.start([(u, DM) for u in users])
        await self.draws.record_unknown(call, part, unknown)

        async def dm(user_id: int, nonce: str) -> bool:
            text, buttons = await self._member_message(view, part, by_user[user_id])
            return await delivered(
                send_dm(self.bot, user_id, text, view=buttons, nonce=nonce),
                f"the draw {part} to {user_id}",
            )

        async def in_channel(user_ids: list[int], nonce: str) -> bool:
            return await self._closed_dm_post(view, part, user_ids, nonce)

        try:
            result = await run.each(users, dm, reroute=True)
            report.dms += len(result.sent)
            # Everyone now waiting for a channel mention: closed DMs found just now, or by a
            # pass that was stopped before it could post.
            posted = await run.group(users, in_channel)
            report.in_channel.extend(posted.sent)
            report.failed += len(posted.failed)
        except RetryLater as exc:  # Discord refused or may not have taken it: next pass
            log.warning("draw for call %s: %s", call.id, exc)
            report.failed += 1
            report.retry = True

    async def _member_message(
        self, view: DrawView, part: DrawPart, entry: DrawEntry
    ) -> tuple[str, discord.ui.View]:
        """A member's DM: their place (drawn or promoted) or the invitation to review, their
        entry code, and the answer buttons."""
        call = view.call
        assert entry.user_id is not None
        cat = view.category_of(entry.user_id)
        assert cat is not None
        if part == "notice":
            tpl = PROMOTED_DM if entry.promoted_at is not None else SELECTED_DM
            text = await self.words(
                call.guild_id,
                tpl,
                number=call.number,
                title=call.title,
                category=cat.name,
                link=result_link(view) or "",
            )
            buttons = answer_buttons("place", call.id, entry.user_id)
        else:
            text = await self.words(
                call.guild_id,
                REVIEW_INVITE_DM,
                number=call.number,
                title=call.title,
                category=cat.name,
                position=entry.rank - cat.places,
            )
            buttons = answer_buttons("review", call.id, entry.user_id)
        text += "\n\n" + await self.words(call.guild_id, YOUR_REF, code=entry_code(entry.ref))
        return text, buttons

    async def _closed_dm_post(
        self, view: DrawView, part: DrawPart, user_ids: list[int], nonce: str
    ) -> bool:
        """Members with closed DMs: one message in the call's channel that mentions them, with
        answer buttons any of them can press (the cog checks who presses)."""
        call = view.call
        tpl = SELECTED_FALLBACK if part == "notice" else REVIEW_FALLBACK
        text = await self.words(
            call.guild_id,
            tpl,
            mentions=mentions_text(user_ids),
            number=call.number,
            title=call.title,
        )
        channel = self.bot.get_partial_messageable(call.channel_id, guild_id=call.guild_id)
        kwargs: dict[str, Any] = {}
        if view.draw.result_message_id:
            kwargs["reference"] = discord.MessageReference(
                message_id=view.draw.result_message_id,
                channel_id=call.channel_id,
                fail_if_not_exists=False,
            )
        return await delivered(
            channel.send(
                clip(text, 2000),
                view=answer_buttons("place" if part == "notice" else "review", call.id, ANYONE),
                allowed_mentions=mentions_for(user_ids[:100]),
                nonce=nonce,
                **kwargs,
            ),
            f"the closed-DM post for call {call.id}",
        )

    @staticmethod
    def _report_words(report: FinishReport) -> str:
        parts = []
        if report.dms:
            parts.append(f"I sent {report.dms} direct message{'s' if report.dms != 1 else ''}.")
        if report.in_channel:
            n = len(report.in_channel)
            parts.append(
                f"{n} member{'s have' if n != 1 else ' has'} closed DMs, so I mentioned "
                "them in the call's channel instead."
            )
        if report.failed:
            later = (
                "I'll try again in a few minutes."
                if report.retry
                else "Running the command again (or a restart) tries them again."
            )
            parts.append(f"{report.failed} message(s) couldn't be sent just now. {later}")
        return " ".join(parts)

    async def after_replace(self, outcome: ReplaceOutcome) -> list[str]:
        """Announce a replacement, move the group role, and offer the place to the next reserve.

        The offer goes out at once, and the call's persisted :data:`FINISH_JOB` is written first
        as a safety net: it runs the same idempotent pass a little later (and again while Discord
        fails transiently, or after a restart), finding nothing to do if the offer went out."""
        call = outcome.call
        await self.draws.finish_later(call.id, call.guild_id, FINISH_CHECK)
        problems: list[str] = []
        guild = await self.bot.guild_anywhere(call.guild_id)
        if outcome.group_role_id and outcome.left_user_id is not None and guild is not None:
            try:
                member = await self._member(guild, outcome.left_user_id)
                if member is not None:
                    await member.remove_roles(
                        discord.Object(outcome.group_role_id),
                        reason=f"Left the group for call #{call.number}",
                    )
                await self.draws.role_given(call.id, outcome.left_user_id, given=False)
            except discord.Forbidden:
                problems.append(self._role_problem(guild, outcome.group_role_id, call.number))
            except discord.HTTPException:
                log.warning(
                    "could not remove the group role from %s", outcome.left_user_id, exc_info=True
                )
        problems.extend(await self._announce_leave(outcome))
        problems.extend(await self.update_result(call.id))
        report = await self.finish(call.id)
        problems.extend(report.problems)
        return problems

    async def _announce_leave(self, outcome: ReplaceOutcome, *, retry: bool = False) -> list[str]:
        """The one post in the call's channel saying a place opened up and who is offered it.
        It never names the member who left (stepping back may be for health or other private
        reasons); only the promoted member is mentioned.

        Claimed per entry before posting (a re-run never posts twice) and given back if Discord
        refused. ``retry``: raise RetryLater on a transient failure (when run as a job).
        """
        call = outcome.call
        if outcome.left_ref and not await self.draws.claim_announcement(call.id, outcome.left_ref):
            return []
        category = f"{outcome.category.emoji} {outcome.category.label}"
        promoted = [outcome.promoted_user_id] if outcome.promoted_user_id else []
        values: dict[str, object] = {"number": call.number, "category": category}
        if outcome.promoted_user_id is not None:
            values["promoted"] = mention(outcome.promoted_user_id)
        if outcome.left_user_id is None:  # deleted their data
            tpl = WITHDRAWN_REPLACED if promoted else WITHDRAWN_OPEN
        else:
            tpl = REPLACED if promoted else PLACE_OPEN
        text = await self.words(call.guild_id, tpl, **values)
        channel = self.bot.get_partial_messageable(call.channel_id, guild_id=call.guild_id)
        kwargs: dict[str, Any] = {}
        if outcome.result_message_id:
            kwargs["reference"] = discord.MessageReference(
                message_id=outcome.result_message_id,
                channel_id=call.channel_id,
                fail_if_not_exists=False,
            )
        if outcome.left_ref:
            kwargs["nonce"] = leave_nonce(call.id, outcome.left_ref)
        try:
            await channel.send(clip(text, 2000), allowed_mentions=mentions_for(promoted), **kwargs)
        except BaseException as exc:
            if outcome.left_ref:  # not posted (or unknown): a later run posts it, same nonce
                await self.draws.release_announcement(call.id, outcome.left_ref)
            if not isinstance(exc, Exception):
                raise
            transient = (
                not isinstance(exc, discord.HTTPException) or exc.status >= 500 or exc.status == 429
            )
            if retry and transient:
                raise RetryLater(f"Discord could not take the announcement ({exc!r})") from exc
            log.warning("could not announce a replacement in call %s", call.id, exc_info=True)
            return [f"I couldn't post the change in <#{call.channel_id}>."]
        return []

    async def on_member_left(self, job: Job) -> None:
        """Job :data:`MEMBER_LEFT_JOB`: a group member deleted their data (``/mydata delete``).
        Announce it, then offer the place to the promoted reserve (DM, role), once each."""
        payload = job.payload
        outcome = await self.draws.left_outcome(
            int(payload["call_id"]), str(payload["ref"]), payload.get("promoted_ref")
        )
        if outcome is None:
            return  # the call or its draw was deleted since
        problems = await self._announce_leave(outcome, retry=True)
        problems += await self.update_result(outcome.call.id)
        report = await self.finish(outcome.call.id)
        for problem in [*problems, *report.problems]:
            log.warning("draw for call %s: %s", outcome.call.id, problem)
        if report.retry:  # e.g. the promoted member's DM hit a 503: the job runs again soon
            raise RetryLater(
                f"draw for call {outcome.call.id}: {report.failed} message(s) to retry"
            )

    async def on_finish_job(self, job: Job) -> None:
        """Job :data:`FINISH_JOB`: finish the call's draw (post, roles, one message per member);
        RetryLater while something failed that may work soon."""
        call_id = int(job.payload["call_id"])
        if await self.draws.view_if_drawn(call_id) is None:
            return  # the call or its draw was deleted since
        report = await self.finish(call_id)
        for problem in report.problems:
            log.warning("draw for call %s: %s", call_id, problem)
        await self.tell_refused_roles(call_id, report)
        if report.retry:
            raise RetryLater(f"draw for call {call_id}: {report.failed} message(s) to retry")

    def _refresh_call_post(self, call_id: int) -> None:
        calls_cog = self.bot.get_cog("Calls")
        refresh = getattr(calls_cog, "refresh_post", None)
        if refresh is not None:
            refresh(call_id)

    # -- members' buttons ----------------------------------------------------------------------

    @staticmethod
    def _dm_message_id(interaction: discord.Interaction, user_id: int) -> int:
        """The id of the member's own direct message the press came from (0: none, e.g. the
        shared closed-DM post in the call's channel, which is never edited for one member)."""
        message = getattr(interaction, "message", None)
        if user_id == ANYONE or message is None:
            return 0
        return int(message.id)

    async def answered_dm(
        self, call_id: int, user_id: int, answer: Answer, at: float
    ) -> tuple[str, discord.ui.View | None]:
        """What a member's direct message becomes once they answered: their answer and its
        date in plain words, their entry code, and only the choice still open to them."""
        view = await self.draws.view(call_id)
        call, gid = view.call, view.call.guild_id
        values: dict[str, object] = {
            "number": call.number,
            "title": call.title,
            "date": ts(at, "D"),
            "link": result_link(view) or "",
        }
        tpl = {
            "confirmed": ANSWER_CONFIRMED,
            "declined": ANSWER_DECLINED,
            "review_yes": ANSWER_REVIEW_YES,
            "review_no": ANSWER_REVIEW_NO,
        }[answer]
        text = await self.words(gid, tpl, **values)
        position = view.reserve_position(user_id)
        cat = view.category_of(user_id)
        if answer in ("review_yes", "review_no") and position is not None and cat is not None:
            text += "\n" + await self.words(
                gid, STILL_RESERVE, position=position, category=cat.name
            )
        entry = view.entry(user_id)
        if entry is not None:
            text += "\n\n" + await self.words(gid, YOUR_REF, code=entry_code(entry.ref))
        return clip(text, 2000), answered_buttons(answer, call_id, user_id)

    async def on_button(
        self, interaction: discord.Interaction, action: str, call_id: int, user_id: int
    ) -> None:
        """A member's answer. Pressed on their own direct message, that message is edited to
        record the answer (it stays visible after a reload, unlike an ephemeral reply) and keeps
        only the other choice; pressed on the shared closed-DM post, the answer is ephemeral."""
        dm_message = self._dm_message_id(interaction, user_id)
        if action == "confirm":
            await self._confirm(interaction, call_id, dm_message)
        elif action == "decline":
            await self._decline(interaction, call_id, dm_message)
        else:
            await self._review(interaction, call_id, dm_message, accept=action == "review")

    async def _confirm(self, interaction: discord.Interaction, call_id: int, dm: int) -> None:
        me = interaction.user.id  # the guard (bot.components) checked it is their button
        outcome = await self.draws.confirm(call_id, me)
        if dm:
            now = self.draws.clock.now().timestamp()
            text, buttons = await self.answered_dm(call_id, me, "confirmed", now)
            await interaction.response.edit_message(content=text, view=buttons)
            return
        text = await self.words(
            outcome.call.guild_id,
            CONFIRMED if outcome.changed else ALREADY_CONFIRMED,
            number=outcome.call.number,
            title=outcome.call.title,
        )
        await reply(interaction, text)

    async def _decline(self, interaction: discord.Interaction, call_id: int, dm: int) -> None:
        """ "I can't take part" asks once more before a place is given away."""
        me = interaction.user.id
        view = await self.draws.view_if_drawn(call_id)
        entry = view.entry(me) if view else None
        if view is None or entry is None or entry.status != "selected":
            # The service refuses with the right kind answer and changes nothing.
            outcome = await self.draws.decline(call_id, me)
            text = await self.words(
                outcome.call.guild_id,
                DECLINED,
                number=outcome.call.number,
                title=outcome.call.title,
            )
            await reply(interaction, text)
            await self.after_replace(outcome)
            return
        text = await self.words(
            view.call.guild_id, DECLINE_CHECK, number=view.call.number, title=view.call.title
        )
        await reply(interaction, text, view=decline_check_buttons(call_id, me, dm))

    async def _review(
        self, interaction: discord.Interaction, call_id: int, dm: int, *, accept: bool
    ) -> None:
        me = interaction.user.id
        outcome = await self.draws.answer_review(call_id, me, accept=accept)
        call = outcome.call
        if dm:
            answered = (await self.draws.view(call_id)).reviewer(me)
            now = self.draws.clock.now().timestamp()
            at = answered.answered_at if answered and answered.answered_at else now
            text, buttons = await self.answered_dm(
                call_id, me, "review_yes" if accept else "review_no", at
            )
            await interaction.response.edit_message(content=text, view=buttons)
        elif accept:
            text = await self.words(call.guild_id, REVIEW_YES, number=call.number, title=call.title)
            await reply(interaction, text)
        else:
            view = await self.draws.view(call_id)
            position, cat = view.reserve_position(me), view.category_of(me)
            if position is not None and cat is not None:
                text = await self.words(
                    call.guild_id,
                    REVIEW_NO,
                    number=call.number,
                    title=call.title,
                    position=position,
                    category=cat.name,
                )
            else:
                text = await self.words(call.guild_id, REVIEW_NO_PLAIN)
            await reply(interaction, text)
        if outcome.changed and outcome.reviewer_role_id:
            await self._reviewer_role(
                call.guild_id, call.id, call.number, me, outcome.reviewer_role_id, give=accept
            )

    async def on_decline_check(
        self,
        interaction: discord.Interaction,
        give_up: bool,
        call_id: int,
        user_id: int,
        dm_message: int = 0,
    ) -> None:
        """The answer to "are you sure you can't take part?". Idempotent: the place is given up
        by one atomic update, so a second "yes" changes nothing and is answered kindly.
        ``dm_message``: the member's direct message the question came from; after a "yes" it is
        edited to record the answer, without buttons."""
        if not give_up:
            call = await self.draws.keep_place(call_id, user_id)
            text = await self.words(call.guild_id, PLACE_KEPT, number=call.number, title=call.title)
            await interaction.response.edit_message(content=text, view=None)
            return
        outcome = await self.draws.decline(call_id, user_id)
        text = await self.words(
            outcome.call.guild_id, DECLINED, number=outcome.call.number, title=outcome.call.title
        )
        await interaction.response.edit_message(content=text, view=None)
        if dm_message and interaction.channel_id is not None:
            await self._record_in_dm(interaction.channel_id, dm_message, call_id, user_id)
        await self.after_replace(outcome)

    async def _record_in_dm(
        self, channel_id: int, message_id: int, call_id: int, user_id: int
    ) -> None:
        """Edit the member's direct message (the bot's own) to say they gave up their place,
        without buttons. Best effort: the answer is recorded and confirmed either way."""
        entry = (await self.draws.view(call_id)).entry(user_id)
        at = (
            entry.left_at
            if entry is not None and entry.left_at
            else self.draws.clock.now().timestamp()
        )
        text, _ = await self.answered_dm(call_id, user_id, "declined", at)
        try:
            message = self.bot.get_partial_messageable(channel_id).get_partial_message(message_id)
            await message.edit(content=text, view=None)
        except discord.HTTPException:
            log.warning(
                "could not update the direct message %s after a decline in call %s",
                message_id,
                call_id,
                exc_info=True,
            )

    async def _reviewer_role(
        self, guild_id: int, call_id: int, number: int, user_id: int, role_id: int, *, give: bool
    ) -> None:
        guild = await self.bot.guild_anywhere(guild_id)
        if guild is None:
            return
        try:
            member = await self._member(guild, user_id)
            if member is None:
                return
            if give:
                draw = (await self.draws.view(call_id)).draw
                refusal = await self._grant_refusal(guild, role_id, draw.roles_by)
                if refusal is not None:  # re-checked before every grant
                    log.warning(
                        "reviewer role %s for call %s refused: %s", role_id, call_id, refusal
                    )
                    return
                await member.add_roles(
                    discord.Object(role_id), reason=f"Reviewer for call #{number}"
                )
            else:
                await member.remove_roles(
                    discord.Object(role_id), reason=f"Not reviewing call #{number}"
                )
            await self.draws.reviewer_role_given(call_id, user_id, given=give)
        except discord.HTTPException:
            log.warning(
                "could not change reviewer role for %s in call %s: %s",
                user_id,
                call_id,
                self._role_problem(guild, role_id, number),
            )

    # -- start-up ------------------------------------------------------------------------------

    @commands.Cog.listener()
    async def on_ready(self) -> None:
        await self.finish_all()

    async def finish_all(self) -> None:
        """Publish frozen rosters a stop left unposted, post recorded-but-unposted results and
        send messages a crash left unsent."""
        guild_ids = {g.id for g in self.bot.guilds}
        for call_id, guild_id in await self.draws.unposted_freezes():
            if guild_id in guild_ids:
                try:
                    for problem in await self.publish_freeze(call_id):
                        log.warning("freeze of call %s: %s", call_id, problem)
                except Exception:
                    log.exception("could not publish the freeze of call %s", call_id)
        for call_id, guild_id in await self.draws.unfinished():
            if guild_id not in guild_ids:
                continue
            try:
                report = await self.finish(call_id)
                for problem in report.problems:
                    log.warning("draw for call %s: %s", call_id, problem)
            except Exception:
                log.exception("could not finish the draw for call %s", call_id)
