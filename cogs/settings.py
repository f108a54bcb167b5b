"""Per-server settings: organiser role, time zone, DM confirmations (Manage Server only)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import discord
from discord import app_commands
from discord.ext import commands

from bot.checks import ensure_manage_server
from bot.domain.errors import InvalidInput
from bot.timeparse import zone_names

if TYPE_CHECKING:
    from bot.client import CoproBot


@app_commands.guild_only()
@app_commands.default_permissions(manage_guild=True)
class SettingsCog(
    commands.GroupCog, group_name="settings", group_description="The bot's settings for this server"
):
    """Server settings."""

    def __init__(self, bot: CoproBot) -> None:
        self.bot = bot
        self.settings = bot.services.settings

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        return await ensure_manage_server(interaction)

    @app_commands.command(name="show")
    async def show(self, interaction: discord.Interaction) -> None:
        """Show this server's settings."""
        assert interaction.guild_id is not None
        current = await self.settings.get(interaction.guild_id)
        role = f"<@&{current.organiser_role_id}>" if current.organiser_role_id else "not set"
        tz = current.timezone or f"{self.settings.default_timezone} (the bot's default)"
        dms = "on" if current.dm_confirmations else "off"
        await interaction.response.send_message(
            f"**Organiser role:** {role} (people with Manage Server or Manage Events are organisers too)\n"
            f"**Time zone:** {tz}\n**DM confirmations:** {dms}",
            ephemeral=True,
            allowed_mentions=discord.AllowedMentions.none(),
        )

    @app_commands.command(name="organiser-role")
    @app_commands.describe(
        role="Members with this role can run organiser commands (leave empty to clear)"
    )
    async def organiser_role(
        self, interaction: discord.Interaction, role: discord.Role | None = None
    ) -> None:
        """Choose the role whose members are organisers."""
        assert interaction.guild_id is not None
        if role is not None and (role.is_default() or role.managed):
            raise InvalidInput(
                "Please choose a role you give to organisers yourself, not @everyone or a bot's "
                "own role: organisers can see private survey answers."
            )
        await self.settings.set_organiser_role(
            interaction.guild_id, role.id if role else None, interaction.user.id
        )
        text = (
            f"Members with {role.mention} are now organisers."
            if role
            else "The organiser role is cleared."
        )
        await interaction.response.send_message(
            text, ephemeral=True, allowed_mentions=discord.AllowedMentions.none()
        )

    @app_commands.command(name="finance-role")
    @app_commands.describe(
        role="Members with this role see and handle payments (leave empty to clear)"
    )
    async def finance_role(
        self, interaction: discord.Interaction, role: discord.Role | None = None
    ) -> None:
        """Choose the role whose members handle payments (the involvement ledger)."""
        assert interaction.guild_id is not None
        if role is not None and (role.is_default() or role.managed):
            raise InvalidInput(
                "Please choose a role you give to the people who handle payments yourself, not "
                "@everyone or a bot's own role: they see what members are paid."
            )
        await self.bot.services.involvement.set_finance_role(
            interaction.guild_id, role.id if role else None, interaction.user.id
        )
        text = (
            f"Members with {role.mention} now handle payments (with Manage Server)."
            if role
            else "The finance role is cleared: only Manage Server handles payments."
        )
        await interaction.response.send_message(
            text, ephemeral=True, allowed_mentions=discord.AllowedMentions.none()
        )

    @app_commands.command(name="timezone")
    @app_commands.describe(name="An IANA time zone such as Europe/London")
    async def timezone(self, interaction: discord.Interaction, name: str) -> None:
        """Set the time zone used to read times typed in this server."""
        assert interaction.guild_id is not None
        zone = await self.settings.set_timezone(interaction.guild_id, name, interaction.user.id)
        await interaction.response.send_message(
            f"Times typed in this server are now read as {zone} time.", ephemeral=True
        )

    @timezone.autocomplete("name")
    async def timezone_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        needle = current.lower().replace(" ", "_")
        names = [n for n in zone_names() if needle in n.lower()]
        return [app_commands.Choice(name=n, value=n) for n in names[:25]]

    @app_commands.command(name="dm-confirmations")
    @app_commands.describe(state="Send members a short DM when they sign up")
    async def dm_confirmations(
        self, interaction: discord.Interaction, state: Literal["on", "off"]
    ) -> None:
        """Turn sign-up confirmation DMs on or off."""
        assert interaction.guild_id is not None
        await self.settings.set_dm_confirmations(
            interaction.guild_id, state == "on", interaction.user.id
        )
        await interaction.response.send_message(f"Sign-up DMs are now {state}.", ephemeral=True)

    @app_commands.command(name="retention")
    @app_commands.describe(
        days="Days after a session ends to keep survey answers and comments (default 90)"
    )
    async def retention(
        self, interaction: discord.Interaction, days: app_commands.Range[int, 1, 3650]
    ) -> None:
        """How long survey answers and evaluation comments are kept after a session."""
        assert interaction.guild_id is not None
        kept = await self.bot.services.mydata.set_retention_days(
            interaction.guild_id, days, interaction.user.id
        )
        await interaction.response.send_message(
            f"Survey answers and evaluation comments will be deleted {kept} day"
            f"{'s' if kept != 1 else ''} after their session ends. The counts in the summaries "
            "and the ratings stay.",
            ephemeral=True,
        )


async def setup(bot: CoproBot) -> None:
    await bot.add_cog(SettingsCog(bot))
