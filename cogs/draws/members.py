"""Members' answers to a draw, from their DM buttons: confirm, decline, review."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import discord

from bot.domain.draws.rules import entry_code
from bot.domain.draws.texts import (
    ALREADY_CONFIRMED,
    ANSWER_CONFIRMED,
    ANSWER_DECLINED,
    ANSWER_REVIEW_NO,
    ANSWER_REVIEW_YES,
    CONFIRMED,
    DECLINE_CHECK,
    DECLINED,
    PLACE_KEPT,
    REVIEW_NO,
    REVIEW_NO_PLAIN,
    REVIEW_YES,
    STILL_RESERVE,
    YOUR_REF,
)
from bot.errors import reply
from bot.render import clip, ts
from cogs.draws.render import (
    result_link,
)
from cogs.draws.views import (
    ANYONE,
    Answer,
    answered_buttons,
    decline_check_buttons,
)

if TYPE_CHECKING:
    pass

from cogs.draws.base import DrawsParts

log = logging.getLogger(__name__)


class MemberAnswers(DrawsParts):
    """Part of the Draws cog: members' buttons."""

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
