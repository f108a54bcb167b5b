"""The Discord side of a draw (idempotent, crash-safe): the result post, the roles, each member
told once, and the public record kept up to date after changes."""

from __future__ import annotations

import asyncio
import io
import logging
from typing import TYPE_CHECKING, Any

import discord

from bot.domain.delivery.models import DM
from bot.domain.draws.models import (
    DrawEntry,
    DrawPart,
    DrawView,
    ReplaceOutcome,
)
from bot.domain.draws.rules import entry_code
from bot.domain.draws.service import (
    FINISH_CHECK,
)
from bot.domain.draws.texts import (
    PLACE_OPEN,
    PROMOTED_DM,
    REPLACED,
    RESULT_CHANGES,
    RESULT_CHECK,
    RESULT_INTRO,
    RESULT_REVIEWERS,
    REVIEW_FALLBACK,
    REVIEW_INVITE_DM,
    SELECTED_DM,
    SELECTED_FALLBACK,
    WITHDRAWN_OPEN,
    WITHDRAWN_REPLACED,
    YOUR_REF,
)
from bot.domain.jobs import Job
from bot.notify import NO_MENTIONS, delivered, mentions_for, send_dm, transient
from bot.render import clip, mention, mentions_text
from bot.scheduling import RetryLater
from cogs._layout import MAX_TEXT
from cogs.draws.render import (
    result_layout,
    result_link,
    result_post_text,
)
from cogs.draws.views import (
    ANYONE,
    answer_buttons,
)

if TYPE_CHECKING:
    pass

from cogs.draws.base import DrawsParts, FinishReport, leave_nonce, result_nonce

log = logging.getLogger(__name__)


class DrawFinishing(DrawsParts):
    """Part of the Draws cog: posting results, giving roles, telling members."""

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
