"""Sending to members: DMs, posts that mention people, reaction clean-up."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Hashable, Iterable
from typing import Any

import discord

from bot.domain.delivery.models import nonce_for
from bot.render import clip, mention, mentions_text
from bot.scheduling import RetryLater

log = logging.getLogger(__name__)

# Text from organisers and members is never allowed to ping @everyone, @here or roles.
NO_MENTIONS = discord.AllowedMentions.none()
USER_MENTIONS = discord.AllowedMentions(everyone=False, roles=False, users=True, replied_user=False)


def mentions_for(
    user_ids: Iterable[int] = (), role_ids: Iterable[int] = ()
) -> discord.AllowedMentions:
    """Allow exactly these users and roles to be pinged, nothing else."""
    users = [discord.Object(u) for u in user_ids]
    roles = [discord.Object(r) for r in role_ids]
    return discord.AllowedMentions(
        everyone=False, users=users or False, roles=roles or False, replied_user=False
    )


class RateLimiter:
    """A token bucket: at most ``rate`` acquisitions per second, in arrival order.

    Discord allows about 50 requests/s per bot overall; discord.py only reacts to a global 429.
    DMs come in bursts (500 sign-ups in a minute means 1000 requests: open DM + send), so they
    go through this bucket and stay well below the limit, leaving room for interactions.
    """

    def __init__(self, rate: float = 20.0, burst: int = 4) -> None:
        self.rate = rate
        self.burst = burst
        self._tokens = float(burst)
        self._updated = time.monotonic()
        self._lock = asyncio.Lock()

    async def acquire(self) -> None:
        async with self._lock:
            while True:
                now = time.monotonic()
                self._tokens = min(self.burst, self._tokens + (now - self._updated) * self.rate)
                self._updated = now
                if self._tokens >= 1:
                    self._tokens -= 1
                    return
                await asyncio.sleep((1 - self._tokens) / self.rate)


def dm_limiter(client: discord.Client) -> RateLimiter:
    """The DM bucket of this client. A DM is up to two requests (open the DM, send), so 20 DMs/s
    with a burst of 4 stays at or under 48 requests in any second."""
    limiter: RateLimiter | None = getattr(client, "_dm_limiter", None)
    if limiter is None:
        limiter = RateLimiter()
        client._dm_limiter = limiter  # type: ignore[attr-defined]  # one limiter per client, kept on it
    return limiter


async def send_dm(
    client: discord.Client, user_id: int, content: str | None = None, **kwargs: Any
) -> discord.Message | None:
    """DM a member. Returns the message, or ``None`` if their DMs are closed (not an error).

    Other HTTP errors (after discord.py's own retries of 429 and 5xx) propagate, so a job can
    retry later.
    """
    kwargs.setdefault("allowed_mentions", discord.AllowedMentions.none())
    if content is not None and len(content) > 2000:  # organisers' wording can grow past the limit
        content = content[:1999] + "…"
    await dm_limiter(client).acquire()
    try:
        channel = await client.create_dm(discord.Object(user_id))
        return await channel.send(content, **kwargs)
    except discord.Forbidden as exc:
        log.info("DMs closed for %s (code %s)", user_id, exc.code)
        return None
    except discord.NotFound:
        log.info("user %s not found for a DM", user_id)
        return None


def reaction_emoji(stored: str) -> discord.PartialEmoji:
    """The stored emoji text (``🧭`` or ``<:name:id>``) as something discord.py can react with."""
    return discord.PartialEmoji.from_str(stored)


def emoji_key_of(emoji: discord.PartialEmoji) -> str:
    """The key the domain uses: a custom emoji's id, or the unicode text without U+FE0F."""
    if emoji.id:
        return str(emoji.id)
    return (emoji.name or "").replace("\ufe0f", "")


async def remove_reaction(
    client: discord.Client, channel_id: int, message_id: int, emoji: str, user_id: int
) -> bool:
    """Remove ``user_id``'s reaction; False (logged) if the bot may not."""
    message = client.get_partial_messageable(channel_id).get_partial_message(message_id)
    try:
        await message.remove_reaction(reaction_emoji(emoji), discord.Object(user_id))
        return True
    except discord.NotFound:
        return True
    except discord.Forbidden:
        log.warning("missing Manage Messages to remove a reaction in channel %s", channel_id)
        return False


DmRender = Callable[[], Awaitable[str | None]]


"""Text decided just before sending; ``None`` means there is nothing to say any more."""


class DmQueue:
    """Courtesy DMs (sign-up confirmations) sent by one paced worker, in order.

    A burst of 500 sign-ups would otherwise leave 500 handlers waiting on the DM bucket; here
    each handler only enqueues, and the worker drains the queue at the bucket's pace. These DMs
    are a courtesy: one that fails (closed DMs, Discord error) is logged and dropped, and any
    still queued at shutdown are not sent (the sign-up itself is already committed).

    Under a burst a DM can wait a while, and the member may change their mind meanwhile. So a
    DM's text can be an async function called just before sending (it reads the state then, and
    returns ``None`` if there is nothing left to say), and DMs put with the same ``key`` (one
    member on one call) coalesce: a newer one replaces the one still waiting, keeping its place
    in the queue, so only the latest state is sent.
    """

    def __init__(self, client: discord.Client) -> None:
        self.client = client
        self._order: deque[Hashable] = deque()
        self._items: dict[Hashable, tuple[int, str | DmRender]] = {}
        self._task: asyncio.Task[None] | None = None

    def put(self, user_id: int, content: str | DmRender, *, key: Hashable | None = None) -> None:
        """Queue a DM: its text, or an async function giving the text when it is sent."""
        slot: Hashable = object() if key is None else ("key", key)
        if slot not in self._items:
            self._order.append(slot)
        self._items[slot] = (user_id, content)  # a waiting DM with this key is replaced
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="dm-queue")

    def __len__(self) -> int:
        return len(self._order)

    async def _run(self) -> None:
        while self._order:
            slot = self._order.popleft()
            user_id, content = self._items.pop(slot)
            try:
                text = content if isinstance(content, str) else await content()
                if text is None:
                    log.debug("courtesy DM to %s no longer needed", user_id)
                    continue
                await send_dm(self.client, user_id, text)
            except discord.HTTPException as exc:
                log.info("could not send a courtesy DM to %s: %s", user_id, exc)
            except Exception:
                log.exception("courtesy DM to %s failed", user_id)

    async def join(self) -> None:
        """Wait until everything queued has been tried (tests)."""
        while self._task is not None and not self._task.done():
            await asyncio.shield(self._task)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)


MAX_MESSAGE = 2000


def transient(exc: discord.HTTPException) -> bool:
    """A 429 or 5xx that is still failing after discord.py's own retries: worth a later retry."""
    return exc.status >= 500 or exc.status == 429


async def delivered(send: Awaitable[object], what: str) -> bool:
    """Await one send of a delivery (bot/domain/delivery.py). True once Discord has it; False if
    it can't be delivered (closed DMs, where the send gives None, or a refusal such as missing
    permissions). A 429 or 5xx becomes RetryLater, so the delivery goes back to pending and the
    job is retried."""
    try:
        return await send is not None
    except discord.HTTPException as exc:
        if transient(exc):
            raise RetryLater(f"Discord said {exc.status} to {what}") from exc
        log.warning("could not send %s (Discord said %s): %s", what, exc.status, exc)
        return False


def mention_groups(user_ids: list[int], room: int = 1500, most: int = 100) -> list[list[int]]:
    """Members split into groups whose mentions fit in a message (Discord allows at most 100
    users in one message's allowed mentions)."""
    groups: list[list[int]] = []
    current: list[int] = []
    length = 0
    for user in user_ids:
        size = len(mention(user)) + 1
        if current and (length + size > room or len(current) >= most):
            groups.append(current)
            current, length = [], 0
        current.append(user)
        length += size
    if current:
        groups.append(current)
    return groups


async def send_mentioning(
    target: discord.abc.Messageable,
    render: Callable[[str], Awaitable[str]],
    user_ids: list[int],
    *,
    nonce: str | None = None,
    **kwargs: Any,
) -> discord.Message:
    """Send ``await render(mentions)``, pinging exactly ``user_ids`` once each (the mentions go
    on in follow-up messages if they don't fit). Returns the first message.

    ``nonce`` (a delivery's nonce, bot/domain/delivery.py) makes a re-send after a crash return
    the messages Discord already made; follow-ups get nonces derived from it."""
    groups = mention_groups(user_ids)
    first_group = groups[0] if groups else []
    first_text = await render(mentions_text(first_group))
    if len(first_text) > MAX_MESSAGE:
        first_text, first_group = await render(""), []
    else:
        groups = groups[1:]
    if nonce is not None:
        kwargs["nonce"] = nonce
    first = await target.send(
        clip(first_text, MAX_MESSAGE), allowed_mentions=mentions_for(first_group), **kwargs
    )
    for i, group in enumerate(groups, start=1):
        extra: dict[str, Any] = {"nonce": nonce_for(f"{nonce}:{i}")} if nonce is not None else {}
        await target.send(mentions_text(group), allowed_mentions=mentions_for(group), **extra)
    return first
