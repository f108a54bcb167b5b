"""/involvement: rates (Manage Server), the finance list and export (finance organisers), and
each member's own preferences, expense claims and record (only ever their own)."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Literal

import discord
from discord import app_commands
from discord.ext import commands

from bot.checks import ensure_manage_server
from bot.clock import from_unix
from bot.domain.involvement.models import Activity, Entry, EntryState, MemberTotals, Method, Rates
from bot.domain.involvement.rules import hours, money
from bot.domain.involvement.texts import BENEFITS_NOTE, PREFERENCE_NAMES, PREFERENCE_SAVED
from bot.exports import csv_file
from bot.notify import NO_MENTIONS
from bot.render import clip, fit_message
from cogs.involvement.views import LedgerButton, ensure_finance, owed_view

if TYPE_CHECKING:
    from bot.client import CoproBot

_CHOICES = {"paid": Method.PAID, "voucher": Method.VOUCHER, "don't pay me": Method.DECLINE}


def _day(at: float) -> str:
    return from_unix(at).strftime("%Y-%m-%d")


def rates_text(rates: Rates) -> str:
    if not rates.payments:
        return "No payments (volunteer-only): the ledger counts hours only."
    c = rates.currency

    def per_hour(rate: int | None) -> str:
        return "not paid" if rate is None else f"{money(rate, c)} per hour"

    return (
        f"Group meetings: {per_hour(rates.meeting_rate)}\n"
        f"Sessions: {per_hour(rates.session_rate)}\n"
        f"Reviewing a plan: {per_hour(rates.review_rate)}; per submitted review: "
        f"{'nothing' if rates.review_fixed is None else money(rates.review_fixed, c)}\n"
        f"Minutes rounded up to: {rates.rounding_minutes}"
    )


EXPORT_HEADER: list[object] = [
    "entry",
    "date",
    "member_id",
    "member",
    "activity",
    "title",
    "minutes",
    "hours",
    "amount",
    "currency",
    "method",
    "state",
    "description",
]


def export_rows(
    entries: list[Entry], totals: list[MemberTotals], names: dict[int, str], currency: str
) -> list[list[object]]:
    """One row per entry, then a blank row, then totals per member (minutes, amounts by state)."""

    def who(user_id: int | None) -> tuple[str, str]:
        if user_id is None:
            return "", "(deleted member)"
        return str(user_id), names.get(user_id, "")

    rows: list[list[object]] = [list(EXPORT_HEADER)]
    for e in entries:
        member_id, name = who(e.user_id)
        rows.append(
            [
                e.id,
                _day(e.occurred_at),
                member_id,
                name,
                e.activity.value,
                e.title,
                e.minutes,
                hours(e.minutes),
                "" if e.amount is None else money(e.amount),
                e.currency,
                e.method or "",
                e.state.value,
                e.description,
            ]
        )
    rows.append([])
    rows.append(
        [
            "totals",
            "member_id",
            "member",
            "minutes",
            "hours",
            "owed",
            "approved",
            "paid",
            "total",
            "currency",
        ]
    )
    for t in totals:
        member_id, name = who(t.user_id)
        rows.append(
            [
                "member",
                member_id,
                name,
                t.minutes,
                hours(t.minutes),
                money(t.owed),
                money(t.approved),
                money(t.paid),
                money(t.total),
                currency,
            ]
        )
    rows.append(
        [
            "all",
            "",
            "",
            sum(t.minutes for t in totals),
            hours(sum(t.minutes for t in totals)),
            money(sum(t.owed for t in totals)),
            money(sum(t.approved for t in totals)),
            money(sum(t.paid for t in totals)),
            money(sum(t.total for t in totals)),
            currency,
        ]
    )
    return rows


@app_commands.guild_only()
class InvolvementCog(
    commands.GroupCog,
    group_name="involvement",
    group_description="Time given, and what members are owed and paid",
):
    """Members see only their own record; payments are for finance organisers."""

    def __init__(self, bot: CoproBot) -> None:
        self.bot = bot
        self.service = bot.services.involvement

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(LedgerButton)

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(LedgerButton)

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        if interaction.guild is None:
            raise app_commands.NoPrivateMessage()
        return True

    # -- Manage Server --------------------------------------------------------------------------

    @app_commands.command(name="rates")
    @app_commands.describe(
        currency="A three-letter code, e.g. GBP",
        payments="'on' to pay members, 'off' for a volunteer-only community (hours only)",
        meeting="Per hour of a group meeting, e.g. 30.00 ('none': not paid)",
        session="Per hour of a session, e.g. 30.00 ('none': not paid)",
        review_hourly="Per hour of reviewing a plan ('none': not paid)",
        review_fixed="A fixed amount per submitted review, e.g. 15.00 ('none': nothing)",
        rounding="Round attended minutes up to a multiple of this (1-60; 1: exact)",
    )
    async def rates(
        self,
        interaction: discord.Interaction,
        currency: str | None = None,
        payments: Literal["on", "off"] | None = None,
        meeting: str | None = None,
        session: str | None = None,
        review_hourly: str | None = None,
        review_fixed: str | None = None,
        rounding: app_commands.Range[int, 1, 60] | None = None,
    ) -> None:
        """Set the currency and the rates per activity (Manage Server); shows them."""
        await ensure_manage_server(interaction)
        assert interaction.guild_id is not None
        changed = any(
            v is not None
            for v in (currency, payments, meeting, session, review_hourly, review_fixed, rounding)
        )
        if changed:
            rates = await self.service.set_rates(
                interaction.guild_id,
                interaction.user.id,
                currency=currency,
                payments=None if payments is None else payments == "on",
                meeting=meeting,
                session=session,
                review_hourly=review_hourly,
                review_fixed=review_fixed,
                rounding_minutes=rounding,
            )
        else:
            rates = await self.service.rates(interaction.guild_id)
        await interaction.response.send_message(
            ("Saved.\n" if changed else "") + rates_text(rates), ephemeral=True
        )

    @app_commands.command(name="retention")
    @app_commands.describe(years="Years to keep ledger entries for accounting (default 6)")
    async def retention(
        self, interaction: discord.Interaction, years: app_commands.Range[int, 1, 20]
    ) -> None:
        """How long ledger entries are kept for accounting (Manage Server)."""
        await ensure_manage_server(interaction)
        assert interaction.guild_id is not None
        await self.service.set_retention_years(interaction.guild_id, years, interaction.user.id)
        await interaction.response.send_message(
            f"Ledger entries are now kept {years} year{'s' if years != 1 else ''} after the "
            "activity, then deleted.",
            ephemeral=True,
        )

    # -- finance --------------------------------------------------------------------------------

    @app_commands.command(name="owed")
    async def owed(self, interaction: discord.Interaction) -> None:
        """What is owed and approved, per activity, with Approve / Mark paid (finance)."""
        await ensure_finance(interaction)
        assert interaction.guild_id is not None
        await interaction.response.defer(ephemeral=True, thinking=True)
        activities = await self.service.owed(interaction.guild_id)
        if not activities:
            await interaction.followup.send(
                "Nothing is owed or waiting to be paid.", ephemeral=True
            )
            return
        lines = []
        for i, a in enumerate(activities, start=1):
            label = f"**{i}.**" if i <= 5 else "-"
            lines.append(
                f"{label} {clip(a.title, 60)} ({a.source_kind}, {_day(a.occurred_at)}): "
                f"{a.owed} owed ({money(a.owed_amount, a.currency)}), "
                f"{a.approved} approved ({money(a.approved_amount, a.currency)})"
            )
        if len(activities) > 5:
            lines.append("Buttons are shown for the first five; approve those to see the rest.")
        text, _ = fit_message("\n".join(lines), "(more not shown)")
        await interaction.followup.send(
            text, view=owed_view(activities), ephemeral=True, allowed_mentions=NO_MENTIONS
        )

    @app_commands.command(name="export")
    @app_commands.describe(
        from_="Start date, e.g. 2026-11-01 (default: everything)",
        to="End date, e.g. 2026-11-30 (default: now)",
    )
    @app_commands.rename(from_="from")
    async def export(
        self, interaction: discord.Interaction, from_: str | None = None, to: str | None = None
    ) -> None:
        """The ledger as CSV for finance: one row per entry, totals per member (finance)."""
        await ensure_finance(interaction)
        guild = interaction.guild
        assert guild is not None
        tz = await self.bot.services.settings.timezone(guild.id)
        since, until = self.bot.services.audit.parse_period(from_, to, tz)
        await interaction.response.defer(ephemeral=True, thinking=True)
        entries, totals, rates = await self.service.export(guild.id, since, until)
        names = {}
        for t in totals:
            if t.user_id is not None:
                member = guild.get_member(t.user_id)
                names[t.user_id] = member.display_name if member else ""
        rows = export_rows(entries, totals, names, rates.currency)
        await interaction.followup.send(
            f"{len(entries)} entries for {len(totals)} members.",
            file=csv_file(rows, "involvement.csv"),
            ephemeral=True,
        )

    # -- members (their own) --------------------------------------------------------------------

    @app_commands.command(name="preferences")
    @app_commands.describe(choice="How you would like to be paid for your time")
    async def preferences(
        self, interaction: discord.Interaction, choice: Literal["paid", "voucher", "don't pay me"]
    ) -> None:
        """Choose privately: paid, voucher, or don't pay me."""
        assert interaction.guild_id is not None
        method = _CHOICES[choice]
        await interaction.response.defer(ephemeral=True, thinking=True)
        await self.service.set_preference(interaction.guild_id, interaction.user.id, method)
        wording = self.bot.services.wording
        note = await wording.render(interaction.guild_id, BENEFITS_NOTE)
        await interaction.followup.send(
            await wording.render(
                interaction.guild_id,
                PREFERENCE_SAVED,
                choice=PREFERENCE_NAMES[method.value],
                note=note,
            ),
            ephemeral=True,
        )

    @app_commands.command(name="expense")
    @app_commands.describe(
        activity="The activity you attended",
        amount="What you spent, e.g. 4.50",
        description="What it was for, e.g. 'bus fare'",
        receipt="A photo or file of the receipt (optional)",
    )
    async def expense(
        self,
        interaction: discord.Interaction,
        activity: int,
        amount: str,
        description: str,
        receipt: discord.Attachment | None = None,
    ) -> None:
        """Claim an expense for an activity you attended."""
        assert interaction.guild_id is not None
        await interaction.response.defer(ephemeral=True, thinking=True)
        made = await self.service.claim_expense(
            interaction.guild_id,
            interaction.user.id,
            activity,
            amount,
            description,
            receipt.url if receipt else None,
        )
        await interaction.followup.send(
            f"Your claim of {money(made.amount, made.currency)} for {clip(made.title, 80)} is "
            "recorded; the people who handle payments will approve it.",
            ephemeral=True,
        )

    @expense.autocomplete("activity")
    async def expense_activity(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[int]]:
        assert interaction.guild_id is not None
        mine = await self.service.own_activities(interaction.guild_id, interaction.user.id)
        needle = current.strip().lower()
        return [
            app_commands.Choice(name=clip(f"{e.title} ({_day(e.occurred_at)})", 100), value=e.id)
            for e in reversed(mine)
            if needle in e.title.lower()
        ][:25]

    @app_commands.command(name="mine")
    async def mine(self, interaction: discord.Interaction) -> None:
        """Your hours and payments: what is owed and what is paid (only you see this)."""
        assert interaction.guild_id is not None
        await interaction.response.defer(ephemeral=True, thinking=True)
        entries, totals = await self.service.mine(interaction.guild_id, interaction.user.id)
        if totals is None:
            await interaction.followup.send("Nothing is recorded for you yet.", ephemeral=True)
            return
        currency = entries[0].currency
        lines = [
            f"**Your involvement:** {hours(totals.minutes)} hours.",
            f"Owed {money(totals.owed, currency)}, approved {money(totals.approved, currency)}, "
            f"paid {money(totals.paid, currency)}.",
        ]
        for e in entries:
            amount = "no payment" if e.amount is None else money(e.amount, e.currency)
            what = (
                "expense: " + e.description if e.activity is Activity.EXPENSE else e.activity.value
            )
            state = "not paid, as you chose" if e.state is EntryState.DECLINED else e.state.value
            lines.append(
                f"- {_day(e.occurred_at)} {clip(e.title, 60)} ({what}): {e.minutes} min, "
                f"{amount}, {state}"
            )
        text, long = fit_message("\n".join(lines), "(the full list is attached)")
        if long:
            await interaction.followup.send(
                text,
                file=discord.File(io.BytesIO("\n".join(lines).encode()), "involvement.txt"),
                ephemeral=True,
            )
        else:
            await interaction.followup.send(text, ephemeral=True)
