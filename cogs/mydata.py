"""Members' own data: see everything stored about you, or delete it (member commands)."""

from __future__ import annotations

import inspect
import io
import json
import logging
import re
from typing import TYPE_CHECKING, Any, ClassVar, Self

import discord
from discord import app_commands
from discord.ext import commands

from bot.components import GuardedButton, Target, cog_of
from bot.domain.jobs import Job
from bot.domain.mydata.models import DeletionReport, MemberData
from bot.domain.mydata.service import RETENTION_JOB
from bot.notify import NO_MENTIONS, remove_reaction
from bot.render import clip

if TYPE_CHECKING:
    from bot.client import CoproBot

log = logging.getLogger(__name__)


# What each kind of stored data is, in plain words (the store's names are for the JSON file).
# A name missing here is shown as it is.
PLAIN_NAMES = {
    "call sign-ups": "calls for volunteers you signed up to",
    "draws": "draws you were in",
    "reviews": "invitations to review a plan",
    "review invitations": "invitations to review a plan",
    "feedback rounds you were asked to": "feedback rounds you were asked to",
    "feedback": "feedback you gave with the Give feedback button",
    "feedback messages": "messages you wrote in feedback threads",
    "feedback reminders": "feedback reminders I sent you",
    "meetings": "meetings you were invited to",
    "meeting reminders": "meeting reminders I sent you",
    "meeting reminders by DM": "your choice to get meeting reminders by DM",
    "your time zone": "the time zone you set with /my-timezone",
    "bookings": "session bookings (including waiting lists)",
    "survey answers": "answers you gave on booking forms",
    "evaluations": "evaluation answers after a session",
    "first-to-hear lists for repeats": "lists to hear first when a session is repeated",
    "session messages": "messages I sent you about sessions",
    "attendance": "attendance marked for you (I'm here, or by an organiser)",
    "voice time": "when you were in a meeting's voice channel",
    "payment preference": "how you chose to be paid for your time",
    "involvement ledger": "your time and payments in the involvement ledger",
    "your name on involvement ledger entries (kept anonymously for accounting)": "your name on "
    "involvement ledger entries (the entries stay, without your name, as long as accounting must "
    "keep them)",
    "audit trail entries": "records of your choices, like signing up or booking (kept without "
    "your name if you delete your data)",
    "your id in draw results (your anonymous reference stays)": "the link between you and "
    "draw results (the anonymous reference stays, so the draw can still be checked)",
}


def plain_name(name: str) -> str:
    return PLAIN_NAMES.get(name, name)


def summary_text(data: MemberData, retention_days: int | None = None) -> str:
    if data.empty:
        return "I don't store anything about you in this server."
    lines = ["Here is what I store about you in this server (the file has every detail):"]
    lines += [f"- {plain_name(name)}: {count}" for name, count in data.counts().items()]
    after = (
        f"{retention_days} days after each session"
        if retention_days is not None
        else "some time after each session"
    )
    lines.append(
        "Only you can see this. To delete it, use `/mydata delete`. Answers on booking forms and "
        f"evaluation comments are also deleted automatically {after}."
    )
    return "\n".join(lines)


def deletion_text(report: DeletionReport) -> str:
    if not report.removed:
        return (
            "Done. There was nothing about you to delete here. The records of your choices can "
            "no longer be linked to you."
        )
    lines = ["Done. I deleted:"]
    lines += [f"- {plain_name(name)}: {count}" for name, count in report.removed.items()]
    lines.append(
        "The records of decisions are kept, but they can no longer be linked to you. "
        "Published draw results stay as they were, so anyone can still check they were fair. "
        "If you react to a call or book again, that is stored as new."
    )
    return "\n".join(lines)


class MyDataButton(
    GuardedButton,
    template=r"mydata:(?P<action>delete|keep):(?P<user_id>\d+)(?::(?P<guild_id>\d+))?",
):
    """The confirmation under ``/mydata delete``: only the member who asked may press it, and
    only in the server whose data it deletes (buttons made before the server was written into
    the custom_id act on the server they are pressed in)."""

    where = "mydata button"

    LABELS: ClassVar[dict[str, tuple[str, discord.ButtonStyle]]] = {
        "delete": ("Yes, delete my data", discord.ButtonStyle.danger),
        "keep": ("No, keep my data", discord.ButtonStyle.secondary),
    }

    def __init__(self, action: str, user_id: int, guild_id: int | None) -> None:
        label, style = self.LABELS[action]
        custom_id = f"mydata:{action}:{user_id}" + (f":{guild_id}" if guild_id else "")
        super().__init__(discord.ui.Button(label=label, style=style, custom_id=custom_id))
        self.action = action
        self.user_id = user_id
        self.guild_id = guild_id

    @classmethod
    def from_match(cls, match: re.Match[str]) -> Self:
        guild = match["guild_id"]
        return cls(match["action"], int(match["user_id"]), int(guild) if guild else None)

    async def target(self, interaction: discord.Interaction[Any]) -> Target:
        return Target(self.guild_id or interaction.guild_id, member_id=self.user_id)

    async def act(self, interaction: discord.Interaction[Any]) -> None:
        if self.action == "keep":
            await interaction.response.edit_message(
                content="Nothing was deleted. Your data is kept.", view=None
            )
            return
        cog: MyData = cog_of(interaction, "MyData")
        await cog.confirm_delete(interaction)


@app_commands.guild_only()
class MyData(
    commands.GroupCog,
    group_name="mydata",
    group_description="See or delete what the bot stores about you",
):
    """Member commands for their own data, and the daily retention sweep."""

    def __init__(self, bot: CoproBot) -> None:
        self.bot = bot
        self.mydata = bot.services.mydata

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(MyDataButton)
        self.bot.jobs.register(RETENTION_JOB, self.run_retention)
        await self.mydata.ensure_daily(self.bot.jobs)

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(MyDataButton)

    async def run_retention(self, job: Job) -> None:
        await self.mydata.run_daily(self.bot.jobs, job)

    @app_commands.command(name="show")
    async def show(self, interaction: discord.Interaction) -> None:
        """Everything the bot stores about you in this server, with a JSON file."""
        assert interaction.guild_id is not None
        await interaction.response.defer(ephemeral=True, thinking=True)  # before any DB work
        data = await self.mydata.collect(interaction.guild_id, interaction.user.id)
        if data.empty:
            await interaction.followup.send(summary_text(data), ephemeral=True)
            return
        days = await self.mydata.retention_days(interaction.guild_id)
        body = json.dumps(data.as_json(), indent=2, ensure_ascii=False)
        file = discord.File(
            io.BytesIO(body.encode("utf-8")), filename=f"my-data-{interaction.guild_id}.json"
        )
        await interaction.followup.send(
            clip(summary_text(data, days), 2000),
            file=file,
            ephemeral=True,
            allowed_mentions=NO_MENTIONS,
        )

    @app_commands.command(name="delete")
    async def delete(self, interaction: discord.Interaction) -> None:
        """Delete what the bot stores about you in this server (you'll be asked to confirm)."""
        view = discord.ui.View(timeout=None)
        view.add_item(MyDataButton("delete", interaction.user.id, interaction.guild_id))
        view.add_item(MyDataButton("keep", interaction.user.id, interaction.guild_id))
        await interaction.response.send_message(
            "This will:\n"
            "- withdraw you from open calls for volunteers,\n"
            "- cancel your upcoming bookings (your place goes to the next person waiting),\n"
            "- delete your survey answers, feedback, evaluations and review invitations,\n"
            "- make the records of your choices (kept so decisions can be checked) impossible to "
            "link to you.\n"
            "Published draw results stay, so everyone can still check they were fair. "
            "This can't be undone. Delete your data?",
            view=view,
            ephemeral=True,
        )

    async def confirm_delete(self, interaction: discord.Interaction) -> None:
        assert interaction.guild_id is not None
        await interaction.response.edit_message(content="Deleting your data…", view=None)
        sessions = getattr(self.bot.services, "sessions", None)
        roles = await self.mydata.draw_roles(interaction.guild_id, interaction.user.id)
        report = await self.mydata.delete(
            interaction.guild_id,
            interaction.user.id,
            cancel_booking=getattr(sessions, "cancel_booking", None),
        )
        await self._tidy_calls(interaction.user.id, report)
        await self._remove_draw_roles(interaction, roles)
        await interaction.edit_original_response(content=clip(deletion_text(report), 2000))

    async def _remove_draw_roles(self, interaction: discord.Interaction, roles: set[int]) -> None:
        """The group and reviewer roles the bot gave for draws go with the member's data."""
        member = interaction.user
        if not roles or not isinstance(member, discord.Member):
            return
        held = [r for r in member.roles if r.id in roles]
        if not held:
            return
        try:
            await member.remove_roles(
                *held, reason="The member deleted their data (/mydata delete)"
            )
        except discord.HTTPException as exc:
            log.warning("could not remove draw roles from a member who deleted their data: %s", exc)

    async def _tidy_calls(self, user_id: int, report: DeletionReport) -> None:
        """Remove the member's reaction (so a restart does not sign them up again) and refresh
        the counters on the call posts."""
        calls_cog = self.bot.get_cog("Calls")
        for signup in report.open_signups:
            if signup.message_id is not None:
                await remove_reaction(
                    self.bot, signup.channel_id, signup.message_id, signup.emoji, user_id
                )
            refresh = getattr(calls_cog, "refresh_post", None)
            if refresh is not None:
                result = refresh(signup.call_id)
                if inspect.isawaitable(result):
                    await result


async def setup(bot: CoproBot) -> None:
    await bot.add_cog(MyData(bot))
