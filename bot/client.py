"""The Bot class: loads cogs, registers persistent buttons, re-arms jobs, syncs commands."""

from __future__ import annotations

import asyncio
import gc
import logging
import pkgutil
from typing import Any

import discord
from discord.ext import commands

import cogs
from bot.beacon.source import BeaconSource
from bot.clock import Clock, SystemClock
from bot.errors import on_tree_error
from bot.notify import DmQueue
from bot.post_updates import ChannelPacer, PostUpdater
from bot.render import clip
from bot.scheduling import JobScheduler
from bot.services import Services, build_services
from bot.settings import Settings
from bot.timeparse import collect_time_notes, time_notes
from db import Database

__all__ = ["EXTENSIONS", "CoproBot", "ShardedCoproBot", "bot_class", "intents"]

log = logging.getLogger(__name__)

EXTENSIONS = tuple(
    f"cogs.{m.name}" for m in pkgutil.iter_modules(cogs.__path__) if not m.name.startswith("_")
)


def intents() -> discord.Intents:
    """Only what the bot uses. ``members`` and ``message_content`` are privileged: enable them in
    the Developer Portal (README)."""
    chosen = discord.Intents.none()
    chosen.guilds = True
    chosen.members = True  # role audiences, display names in exports
    chosen.guild_reactions = True  # raw reaction sign-ups
    chosen.guild_messages = True  # feedback written in threads
    chosen.message_content = True  # ... and what it says
    chosen.guild_scheduled_events = True
    chosen.voice_states = True  # attendance of meetings in voice channels
    return chosen


class CoproBot(commands.Bot):
    """The co-production bot. Resources are created by ``bot.__main__`` and passed in.
    One gateway connection; :class:`ShardedCoproBot` when ``SHARD_COUNT`` is set."""

    def __init__(
        self,
        *,
        settings: Settings,
        db: Database,
        jobs: JobScheduler,
        clock: Clock | None = None,
        post_interval: float = 2.5,
        edits_per_channel: tuple[int, float] = (5, 5.0),
        **kwargs: Any,
    ) -> None:
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=kwargs.pop("intents", intents()),
            # Only raw events are needed: the default message cache costs ~5x per reaction.
            max_messages=None,
            allowed_mentions=discord.AllowedMentions(
                everyone=False, roles=False, users=True, replied_user=False
            ),
            help_command=None,
            **kwargs,
        )
        self.settings = settings
        self.db = db
        self.jobs = jobs
        self.clock: Clock = clock or SystemClock()
        clock_now = self.clock
        self.beacon = BeaconSource(
            settings.draw_beacon_url,
            settings.draw_beacon_chain,
            clock=lambda: clock_now.now().timestamp(),
        )
        self.services: Services = build_services(
            db,
            self.clock,
            jobs,
            settings.default_timezone,
            beacon=self.beacon,
            beacon_delay=settings.draw_beacon_delay,
            docs_url=settings.docs_url,
        )
        self.posts = PostUpdater(post_interval)
        self.edit_pacer = ChannelPacer(*edits_per_channel)
        self.dm_queue = DmQueue(self)
        self.started = asyncio.Event()

    async def setup_hook(self) -> None:
        self.tree.error(on_tree_error)
        self.tree.interaction_check = self._before_command  # type: ignore[method-assign]  # discord.py's documented hook
        for extension in EXTENSIONS:
            await self.load_extension(extension)
        self.jobs.set_gate(self.wait_until_ready)
        armed = await self.jobs.start()
        log.info("scheduler armed %d job(s) due within %s", armed, self.jobs.horizon)
        await self.sync_commands()

    async def _before_command(self, interaction: discord.Interaction[Any]) -> bool:
        """Runs in each command's own task before it: collect notes about typed times."""
        collect_time_notes()
        return True

    async def on_app_command_completion(
        self, interaction: discord.Interaction[Any], command: object
    ) -> None:
        """A typed local time that happens twice (clocks going back) was read as its first
        occurrence: the command's reply is followed by both, so nobody is surprised by an hour.
        (This event's task copies the command's context, so it sees the command's notes.)"""
        notes = time_notes()
        if not notes or not interaction.response.is_done():
            return
        try:
            await interaction.followup.send(
                clip("\n".join(dict.fromkeys(notes)), 2000),
                ephemeral=True,
                allowed_mentions=discord.AllowedMentions.none(),
            )
        except discord.HTTPException as exc:
            log.warning("could not send the time note: Discord said %s", exc.status)

    async def sync_commands(self) -> None:
        guild_id = self.settings.dev_guild_id
        if guild_id:
            guild = discord.Object(guild_id)
            self.tree.copy_global_to(guild=guild)
            synced = await self.tree.sync(guild=guild)
            log.info("synced %d commands to server %s", len(synced), guild_id)
        else:
            synced = await self.tree.sync()
            log.info("synced %d global commands (may take a while to appear)", len(synced))

    async def on_ready(self) -> None:
        if not gc.isenabled():  # disabled during start-up by bot.__main__
            gc.freeze()
            gc.enable()
        log.info(
            "ready as %s (%s) in %d server(s)",
            self.user,
            getattr(self.user, "id", "?"),
            len(self.guilds),
        )
        self.started.set()

    async def guild_anywhere(self, guild_id: int) -> discord.Guild | None:
        """The server from this process's cache or, when another process's shard holds it,
        fetched over REST (a press in a DM reaches shard 0's process whatever the server; roles
        and members are then changed through REST, which needs no cache). ``None`` if the bot
        is not in the server."""
        guild = self.get_guild(guild_id)
        if guild is not None or self.settings.owns(guild_id):
            return guild  # our own shard's server: the cache is the truth
        try:
            return await self.fetch_guild(guild_id)
        except discord.HTTPException:
            return None

    async def close(self) -> None:
        await self.posts.close()
        await self.dm_queue.close()
        await self.services.calls.close_writer()
        await self.services.sessions.close_writer()
        await self.jobs.shutdown()
        await super().close()


class ShardedCoproBot(CoproBot, commands.AutoShardedBot):
    """The bot on discord.py's ``AutoShardedBot``: Discord's recommended shard count with
    ``SHARD_COUNT=auto``, or the ``SHARD_IDS`` of ``SHARD_COUNT`` in this process. A process then
    receives only its shards' guilds (their gateway events and interactions), so its start-up
    reconciliation (over ``self.guilds``) covers only them, and its scheduler arms, claims and
    releases only their jobs (``JobScheduler(shards=settings.owned_shards)``)."""

    def __init__(self, *, settings: Settings, **kwargs: Any) -> None:
        if settings.shard_count is not None:
            kwargs.setdefault("shard_count", settings.shard_count)
            kwargs.setdefault("shard_ids", list(settings.shard_ids or ()) or None)
        super().__init__(settings=settings, **kwargs)


def bot_class(settings: Settings) -> type[CoproBot]:
    """:class:`ShardedCoproBot` when sharding is configured, else :class:`CoproBot`."""
    sharded = settings.shard_count is not None or settings.shard_auto
    return ShardedCoproBot if sharded else CoproBot
