"""The measured process of the start-up benchmark (run by bench/startup.py, not by hand).

Builds the bot exactly as ``python -m bot`` does, logs in through a recording REST layer (no
network: ``static_login``, ``application_info``), lets ``setup_hook`` run (cogs, persistent
items, scheduler re-arm; ``tree.sync`` answered without a request), then feeds a ``READY``
dispatch through the real gateway parser and waits for the bot's ``on_ready``. Prints one JSON
line: the wall-clock time at ready, RSS and peak RSS.
"""

import gc

gc.disable()  # exactly as ``python -m bot`` does before its imports (bot/__main__.py)

import asyncio  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402


async def _main(db_path: str) -> dict[str, float]:
    from bench.fakes import BOT_USER_ID, RecordingHTTP, attach_gateway, rss_mb, user_json
    from bot.__main__ import build_bot
    from bot.settings import load_settings

    imported = time.time()
    settings = load_settings({"DISCORD_TOKEN": "bench", "DATABASE_PATH": db_path}, dotenv_path=None)
    async with build_bot(settings, guild_ready_timeout=0.0) as bot:
        http = RecordingHTTP(bot)

        async def no_sync(*args: object, **kwargs: object) -> list[object]:
            return []

        bot.tree.sync = no_sync  # type: ignore[method-assign]
        built = time.time()
        await bot.login("bench")
        logged_in = time.time()
        ws = attach_gateway(bot)
        await ws.received_message(
            json.dumps(
                {
                    "op": 0,
                    "t": "READY",
                    "s": 1,
                    "d": {
                        "v": 10,
                        "user": user_json(BOT_USER_ID, bot=True),
                        "guilds": [],
                        "session_id": "bench",
                        "resume_gateway_url": "wss://gateway.invalid",
                        "application": {"id": str(BOT_USER_ID), "flags": 0},
                    },
                }
            )
        )
        await asyncio.wait_for(bot.started.wait(), 60)
        ready = time.time()
        return {
            "imported": imported,
            "built": built,
            "logged_in": logged_in,
            "ready": ready,
            "rss_mb": rss_mb(),
            "requests": len(http.requests),
        }


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[2] == "--profile":
        import cProfile
        import pstats

        profile = cProfile.Profile()
        result = profile.runcall(asyncio.run, _main(sys.argv[1]))
        pstats.Stats(profile, stream=sys.stderr).sort_stats("cumulative").print_stats(40)
    else:
        result = asyncio.run(_main(sys.argv[1]))
    with open("/proc/self/status", encoding="utf-8") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                result["peak_rss_mb"] = int(line.split()[1]) / 1024
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
