"""The community's own words: organisers replace any member-facing message (Manage Server)."""

from __future__ import annotations

import io
import logging
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.checks import ensure_manage_server
from bot.components import GuardedModal, Target
from bot.domain.wording.templates import MAX_TEMPLATE, Template, TemplateView
from bot.notify import NO_MENTIONS
from bot.render import clip

if TYPE_CHECKING:
    from bot.client import CoproBot
    from bot.domain.wording.service import WordingService

log = logging.getLogger(__name__)


def placeholder_line(tpl: Template) -> str:
    if not tpl.placeholders:
        return "This message has no placeholders."
    names = ", ".join(f"`{{{p}}}`" for p in tpl.placeholders)
    return f"Placeholders you can use: {names}. Write `\\n` for a new line."


def preview_embed(service: WordingService, tpl: Template, text: str, title: str) -> discord.Embed:
    embed = discord.Embed(
        title=clip(title, 256), description=clip(service.preview(tpl, text), 4000)
    )
    embed.set_footer(text="Placeholders are shown as [name]; members see the real values.")
    return embed


class WordingModal(GuardedModal):
    """A multi-line editor for one message (random custom id, as discord.py 2.7 needs), for the
    organiser who opened it, in their server."""

    where = "wording modal"

    def __init__(
        self, cog: WordingCog, tpl: Template, current: str, *, guild_id: int, member_id: int
    ) -> None:
        super().__init__(
            title=clip(f"Wording: {tpl.key}", 45),
            target=Target(guild_id, member_id=member_id),
        )
        self.cog = cog
        self.tpl = tpl
        self.text: discord.ui.TextInput[WordingModal] = discord.ui.TextInput(
            label="Text",
            style=discord.TextStyle.paragraph,
            default=current,
            max_length=MAX_TEMPLATE,
            required=True,
        )
        self.add_item(self.text)

    async def submitted(self, interaction: discord.Interaction) -> None:
        await self.cog.save(interaction, self.tpl.key, self.text.value)


@app_commands.guild_only()
@app_commands.default_permissions(manage_guild=True)
class WordingCog(
    commands.GroupCog, group_name="wording", group_description="The words the bot uses with members"
):
    """List, show, change and reset member-facing messages."""

    def __init__(self, bot: CoproBot) -> None:
        self.bot = bot
        self.wording = bot.services.wording

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        return await ensure_manage_server(interaction)

    async def key_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        return [
            app_commands.Choice(name=clip(f"{t.key}: {t.description}", 100), value=t.key)
            for t in self.wording.search(current)
        ]

    @app_commands.command(name="list")
    async def list_templates(self, interaction: discord.Interaction) -> None:
        """Every message the bot sends to members, and which ones this server has changed."""
        assert interaction.guild_id is not None
        views = await self.wording.views(interaction.guild_id)
        lines = [
            f"`{v.template.key}`{' (changed here)' if v.customised else ''}: {v.template.description}"
            for v in views
        ]
        changed = sum(1 for v in views if v.customised)
        intro = (
            f"{len(views)} messages, {changed} changed in this server. "
            "See one with `/wording show`, change it with `/wording set`."
        )
        body = "\n".join(lines)
        if len(body) <= 4000:
            await interaction.response.send_message(
                intro,
                embed=discord.Embed(title="Messages", description=body or "None yet."),
                ephemeral=True,
                allowed_mentions=NO_MENTIONS,
            )
            return
        file = discord.File(io.BytesIO(body.encode("utf-8")), filename="wording.txt")
        await interaction.response.send_message(
            intro + " The full list is in the file.",
            file=file,
            ephemeral=True,
            allowed_mentions=NO_MENTIONS,
        )

    @app_commands.command(name="show")
    @app_commands.describe(key="The message's name (start typing to search)")
    @app_commands.autocomplete(key=key_autocomplete)
    async def show(self, interaction: discord.Interaction, key: str) -> None:
        """Show a message's current text, its default, and the placeholders it can use."""
        assert interaction.guild_id is not None
        view: TemplateView = await self.wording.view(interaction.guild_id, key)
        tpl = view.template
        embeds = [preview_embed(self.wording, tpl, view.text, "What members see now")]
        if view.customised:
            embeds.append(discord.Embed(title="The default", description=clip(tpl.default, 4000)))
        status = "changed in this server" if view.customised else "the default"
        await interaction.response.send_message(
            f"**`{tpl.key}`**: {tpl.description} (currently {status}).\n"
            f"Its text as written:\n```\n{clip(view.text.replace('```', '`‍``'), 1000)}\n```\n"
            f"{placeholder_line(tpl)}",
            embeds=embeds,
            ephemeral=True,
            allowed_mentions=NO_MENTIONS,
        )

    @app_commands.command(name="set")
    @app_commands.describe(
        key="The message's name (start typing to search)",
        text="The new text, with placeholders like {title}; leave empty to edit in a larger box",
    )
    @app_commands.autocomplete(key=key_autocomplete)
    async def set_text(
        self, interaction: discord.Interaction, key: str, text: str | None = None
    ) -> None:
        """Change a message; you'll see a preview and the placeholders it may use."""
        assert interaction.guild_id is not None
        if text is None:
            view = await self.wording.view(interaction.guild_id, key)
            await interaction.response.send_modal(
                WordingModal(
                    self,
                    view.template,
                    view.text,
                    guild_id=interaction.guild_id,
                    member_id=interaction.user.id,
                )
            )
            return
        await self.save(interaction, key, text)

    async def save(self, interaction: discord.Interaction, key: str, text: str) -> None:
        assert interaction.guild_id is not None
        view = await self.wording.view(interaction.guild_id, key)
        saved = await self.wording.set(
            interaction.guild_id, view.template.key, text, interaction.user.id
        )
        await interaction.response.send_message(
            f"Saved: `{view.template.key}` now uses your words. {placeholder_line(view.template)}\n"
            f"To go back to the default: `/wording reset key:{view.template.key}`.",
            embed=preview_embed(self.wording, view.template, saved, "Preview"),
            ephemeral=True,
            allowed_mentions=NO_MENTIONS,
        )

    @app_commands.command(name="reset")
    @app_commands.describe(key="The message's name (start typing to search)")
    @app_commands.autocomplete(key=key_autocomplete)
    async def reset(self, interaction: discord.Interaction, key: str) -> None:
        """Go back to the default text of a message."""
        assert interaction.guild_id is not None
        view = await self.wording.view(interaction.guild_id, key)
        changed = await self.wording.reset(
            interaction.guild_id, view.template.key, interaction.user.id
        )
        text = (
            f"`{view.template.key}` is back to its default text."
            if changed
            else f"`{view.template.key}` already uses its default text."
        )
        await interaction.response.send_message(
            text,
            embed=preview_embed(self.wording, view.template, view.template.default, "Preview"),
            ephemeral=True,
            allowed_mentions=NO_MENTIONS,
        )


async def setup(bot: CoproBot) -> None:
    await bot.add_cog(WordingCog(bot))
