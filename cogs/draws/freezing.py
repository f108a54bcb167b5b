"""The freeze's public post and the reveal job: the roster published before its public value,
the draw made when that value is out."""

from __future__ import annotations

import io
import logging
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import discord

from bot.domain.draws.models import (
    FreezeRecord,
)
from bot.domain.draws.texts import (
    BEACON_WAITING,
    FREEZE_POST,
)
from bot.domain.jobs import Job
from bot.notify import NO_MENTIONS
from bot.render import clip, ts
from bot.scheduling import RetryLater
from cogs.draws.render import (
    beacon_words,
    docs_link,
    freeze_check_text,
)

if TYPE_CHECKING:
    pass

from cogs.draws.base import DrawsParts

log = logging.getLogger(__name__)


class FreezePosts(DrawsParts):
    """Part of the Draws cog: publishing freezes and revealing draws."""

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
