"""The cog's mention helper: everyone is pinged exactly once, and only them."""

from __future__ import annotations

from typing import Any

from cogs.feedback.cog import mention_groups, send_mentioning


class FakeChannel:
    def __init__(self) -> None:
        self.sent: list[tuple[str, Any]] = []

    async def send(self, content: str, **kwargs: Any) -> str:
        self.sent.append((content, kwargs["allowed_mentions"]))
        return content


async def test_large_audience_is_split_and_each_message_allows_only_its_mentions() -> None:
    users = list(range(10**17, 10**17 + 250))
    channel = FakeChannel()

    async def render(mentions: str) -> str:
        return f"{mentions}\nPlease give feedback."

    await send_mentioning(channel, render, users)  # type: ignore[arg-type]
    pinged: list[int] = []
    for content, allowed in channel.sent:
        assert len(content) <= 2000
        allowed_ids = [o.id for o in allowed.users] if allowed.users else []
        assert len(allowed_ids) <= 100
        in_text = [u for u in users if f"<@{u}>" in content]
        assert allowed_ids == in_text
        assert allowed.everyone is False and allowed.roles is False
        pinged += in_text
    assert pinged == users


def test_mention_groups_small() -> None:
    assert mention_groups([1, 2, 3]) == [[1, 2, 3]]
    assert mention_groups([]) == []
