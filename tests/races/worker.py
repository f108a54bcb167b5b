"""One bot process in a race test: ``python -m tests.races.worker MODE URL PROCESS ARGS_JSON``.

It opens two event loops (two threads), each with ONE PostgreSQL connection of its own, builds
the real services on them, prints ``ready`` and waits for ``go`` on stdin (so every process
starts the burst together), then runs its share of the burst and prints ``done``.

Modes (``PROCESS`` is 0 or 1; with two loops each there are four connections in all):

* ``book``: members ``args.members[i]`` with ``i % 4 == 2 * PROCESS + loop`` book session
  ``args.session``, all submitted at once, in that order, per loop;
* ``react``: every member of ``args.members`` reacts with ``args.emojis[PROCESS]`` on the call
  post ``args.message`` (the other process reacts with the other category: switches race);
* ``jobs``: the loop runs due jobs until none is left; each run is a row in ``job_runs``.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import threading
from typing import Any

from bot.clock import FakeClock
from bot.domain.calls.service import CallService
from bot.domain.jobs import Job
from bot.domain.sessions.service import SessionService
from bot.scheduling import JobScheduler
from db.postgres import open_postgres
from tests.conftest import STORY_START

LOOPS = 2


async def _loop(
    mode: str,
    url: str,
    process: int,
    loop: int,
    args: dict[str, Any],
    go: threading.Event,
    ready: threading.Barrier,
) -> None:
    clock = FakeClock(STORY_START)
    async with open_postgres(url, migrate=False, min_size=1, max_size=1) as db:
        jobs = JobScheduler(db, clock)
        if mode == "book":
            service = SessionService(db, clock, jobs)
            mine = [m for i, m in enumerate(args["members"]) if i % 4 == 2 * process + loop]
            await service.member_status(args["session"], -1)  # warm up the connection
        elif mode == "react":
            calls = CallService(db, clock, jobs)
            mine = [m for i, m in enumerate(args["members"]) if i % LOOPS == loop]
            await calls.is_call_post(args["message"])
        else:

            async def run(job: Job) -> None:
                await db.execute(
                    "INSERT INTO job_runs (job_id, process, loop) VALUES (?, ?, ?)",
                    (job.id, process, loop),
                )

            jobs.register("race", run)
            mine = []
        await asyncio.to_thread(ready.wait)
        await asyncio.to_thread(go.wait)
        if mode == "book":
            await asyncio.gather(*(service.book(args["session"], m, args["answers"]) for m in mine))
            await service.close_writer()
        elif mode == "react":
            emoji = args["emojis"][process]
            await asyncio.gather(
                *(calls.react(args["message"], m, emoji, added=True) for m in mine)
            )
        else:
            while await jobs.run_due():
                pass
        await jobs.shutdown()


def main() -> int:
    mode, url, process, raw = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    args = json.loads(raw)
    go = threading.Event()
    ready = threading.Barrier(LOOPS + 1)
    errors: list[BaseException] = []

    def thread(loop: int) -> None:
        try:
            asyncio.run(_loop(mode, url, process, loop, args, go, ready))
        except BaseException as exc:  # reported to the test through the exit code
            errors.append(exc)
            ready.abort()

    threads = [threading.Thread(target=thread, args=(n,)) for n in range(LOOPS)]
    for t in threads:
        t.start()
    try:
        ready.wait()
    except threading.BrokenBarrierError:
        pass
    print("ready", flush=True)
    sys.stdin.readline()  # "go"
    go.set()
    for t in threads:
        t.join()
    if errors:
        print(f"error: {errors[0]!r}", file=sys.stderr, flush=True)
        return 1
    print("done", os.getpid(), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
