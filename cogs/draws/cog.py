"""The /draw commands and the draw's deliveries."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.checks import ensure_organiser, role_grant_refusal
from bot.domain.draws.algorithm import ALGORITHM_ID
from bot.domain.draws.models import (
    BeaconChoice,
    RunOutcome,
)
from bot.domain.draws.service import (
    FINISH_JOB,
    MEMBER_LEFT_JOB,
    REVEAL_JOB,
)
from bot.domain.errors import InvalidInput
from bot.notify import NO_MENTIONS
from bot.render import clip, mention, ts
from bot.timeparse import parse_when
from cogs.calls.cog import CallOption
from cogs.draws.render import (
    beacon_words,
    result_link,
    status_text,
    verification_text,
)
from cogs.draws.views import (
    DeclineCheckButton,
    DrawButton,
)

if TYPE_CHECKING:
    from bot.client import CoproBot

from cogs.draws.base import FinishReport, leave_nonce, result_nonce
from cogs.draws.finishing import DrawFinishing
from cogs.draws.freezing import FreezePosts
from cogs.draws.members import MemberAnswers

log = logging.getLogger(__name__)

__all__ = ["Draws", "FinishReport", "leave_nonce", "result_nonce"]


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
    FreezePosts,
    DrawFinishing,
    MemberAnswers,
    commands.GroupCog,
    group_name="draw",
    group_description="Fair, verifiable draws for calls",
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
