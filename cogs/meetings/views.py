"""The meeting post's button."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Self

import discord

from bot.components import GuardedButton, Target
from bot.domain.attendance.models import EventKind
from bot.domain.meetings.models import Meeting
from bot.domain.meetings.texts import DMS_OFF, DMS_ON, NOT_AUDIENCE
from bot.errors import reply
from cogs.attendance.views import HereButton

if TYPE_CHECKING:
    from bot.client import CoproBot


def where_text(meeting: Meeting) -> str:
    if meeting.voice_channel_id is not None:
        return f"<#{meeting.voice_channel_id}>"
    return meeting.location or "to be confirmed"


def post_link(meeting: Meeting) -> str:
    """The meeting post's address (its channel's, if the post is not known)."""
    tail = f"/{meeting.message_id}" if meeting.message_id is not None else ""
    return f"https://discord.com/channels/{meeting.guild_id}/{meeting.channel_id}{tail}"


def _bot(interaction: discord.Interaction[Any]) -> CoproBot:
    bot: CoproBot = interaction.client
    return bot


class MeetingDmButton(GuardedButton, template=r"meeting:dms:(?P<meeting_id>\d+)"):
    """Turns meeting reminder DMs on or off for the member who presses it (if in the meeting)."""

    where = "meeting DM button"

    def __init__(self, meeting_id: int) -> None:
        super().__init__(
            discord.ui.Button(
                label="DM me reminders",
                style=discord.ButtonStyle.secondary,
                custom_id=f"meeting:dms:{meeting_id}",
            )
        )
        self.meeting_id = meeting_id

    @classmethod
    def from_match(cls, match: re.Match[str]) -> Self:
        return cls(int(match["meeting_id"]))

    async def target(self, interaction: discord.Interaction[Any]) -> Target:
        found = await _bot(interaction).services.meetings.get_by_id(self.meeting_id)
        return Target(found.guild_id if found else None)

    async def act(self, interaction: discord.Interaction[Any]) -> None:
        bot = _bot(interaction)
        service = bot.services.meetings
        found = await service.get_by_id(self.meeting_id)
        assert found is not None  # checked by the guard just now
        if interaction.user.id not in await service.audience(found.id):
            await reply(
                interaction, await bot.services.wording.render(found.guild_id, NOT_AUDIENCE)
            )
            return
        on = await service.toggle_dms(found.id, interaction.user.id)
        await reply(
            interaction,
            await bot.services.wording.render(found.guild_id, DMS_ON if on else DMS_OFF),
        )


def meeting_view(meeting_id: int, *, here: bool = False) -> discord.ui.View:
    """The post's buttons; ``here``: the meeting is not in a voice channel, so members say they
    came with I'm here."""
    view = discord.ui.View(timeout=None)
    view.add_item(MeetingDmButton(meeting_id))
    if here:
        view.add_item(HereButton(EventKind.MEETING, meeting_id))
    return view


class PickTimeButton(GuardedButton, template=r"meeting:pick:(?P<poll_id>\d+):(?P<index>\d+)"):
    """Beside each time of a closed poll, for the organiser who made the poll: makes the meeting
    at that time (once)."""

    where = "meeting poll button"

    def __init__(self, poll_id: int, index: int) -> None:
        super().__init__(
            discord.ui.Button(
                label="Make the meeting",
                style=discord.ButtonStyle.success,
                custom_id=f"meeting:pick:{poll_id}:{index}",
            )
        )
        self.poll_id = poll_id
        self.index = index

    @classmethod
    def from_match(cls, match: re.Match[str]) -> Self:
        return cls(int(match["poll_id"]), int(match["index"]))

    async def target(self, interaction: discord.Interaction[Any]) -> Target:
        found = await _bot(interaction).services.meeting_polls.get(self.poll_id)
        if found is None:
            return Target(None)
        return Target(found.guild_id, member_id=found.created_by, in_dms=True)

    async def act(self, interaction: discord.Interaction[Any]) -> None:
        cog = interaction.client.get_cog("MeetingsCog")
        assert cog is not None
        await cog.pick_time(interaction, self.poll_id, self.index)
