"""The per-channel edit pacer never exceeds its budget under a burst over many posts
(issue 14 item 5). Time is a fake clock that the pacer's sleeps advance: no timing in the test."""

from __future__ import annotations

import asyncio

from bot.post_updates import ChannelPacer, PostUpdater


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += max(seconds, 0.0)
        await asyncio.sleep(0)


def max_in_window(times: list[float], window: float) -> int:
    times = sorted(times)
    return max(
        (sum(1 for t in times[i:] if t - start < window) for i, start in enumerate(times)),
        default=0,
    )


async def test_a_burst_over_many_posts_stays_within_five_edits_per_five_seconds() -> None:
    clock = Clock()
    pacer = ChannelPacer(5, 5.0, clock=clock, sleep=clock.sleep)
    edits: dict[int, list[float]] = {}

    async def edit(channel: int) -> None:
        async with pacer.slot(channel):
            edits.setdefault(channel, []).append(clock.now)
            await clock.sleep(0.3)  # the edit takes a while

    # 50 posts in channel 1, 7 in channel 2, all refreshed at once (e.g. after reconciliation).
    await asyncio.gather(*[edit(1) for _ in range(50)], *[edit(2) for _ in range(7)])
    assert len(edits[1]) == 50 and len(edits[2]) == 7
    assert max_in_window(edits[1], 5.0) == 5
    assert max_in_window(edits[2], 5.0) == 5


async def test_coalescing_stays_per_post_behind_the_pacer() -> None:
    clock = Clock()
    pacer = ChannelPacer(5, 5.0, clock=clock, sleep=clock.sleep)
    updater = PostUpdater(min_interval=0.0)
    renders: list[int] = []

    def render_for(post: int) -> object:
        async def render() -> None:
            async with pacer.slot(1):
                renders.append(post)

        return render

    for _ in range(20):  # 20 requests for each of 8 posts: each post is drawn at most twice
        for post in range(8):
            updater.request(post, render_for(post))  # type: ignore[arg-type]
    await updater.flush()
    assert sorted(set(renders)) == list(range(8))
    assert all(renders.count(p) <= 2 for p in range(8))
