"""Typed settings read from the environment (and a ``.env`` file) inside ``main()``.

Nothing here runs at import time, so tests never need a token.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = ["Settings", "SettingsError", "load_settings"]

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")

# The League of Entropy's quicknet chain (bot.beacon.drand.QUICKNET), by its hash.
QUICKNET_HASH = "52db9ba70e0cc0f6eaf7803dd07447a1f5477735fd3f661792ba94600c84e971"

# Where members read the docs (a page they can open, not a path in the checkout).
DEFAULT_DOCS_URL = "https://github.com/coprobot/coprobot/blob/main/docs"


class SettingsError(Exception):
    """A setting is missing or invalid; the message is one line meant for the person running the bot."""


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything the bot reads from its environment."""

    discord_token: str
    database_path: Path = Path("data/bot.sqlite3")
    # sqlite:///<path> (the embedded default, from DATABASE_PATH) or postgresql://user@host/db
    database_url: str = "sqlite:///data/bot.sqlite3"
    dev_guild_id: int | None = None
    default_timezone: str = "Europe/London"
    log_level: str = "INFO"
    # Draws (docs/draw.md): the drand endpoint and the chain trusted (its hash pins its public
    # key), how long after a freeze the named round falls due (time to publish the freeze
    # first), and where members can read the docs.
    draw_beacon_url: str = "https://api.drand.sh"
    draw_beacon_chain: str = QUICKNET_HASH
    draw_beacon_delay: int = 60
    docs_url: str = DEFAULT_DOCS_URL
    # Test-only: point discord.py at a fake Discord server. Unset in production.
    discord_api_base: str | None = None
    discord_gateway_url: str | None = None
    # Sharding: None = one shard, one process (the default); "auto" = Discord's recommended count,
    # all in this process; a number N with ``shard_ids`` = the shards of N this process runs.
    shard_count: int | None = None
    shard_auto: bool = False
    shard_ids: tuple[int, ...] | None = None

    @property
    def owned_shards(self) -> tuple[int, frozenset[int]] | None:
        """(shard count, shard ids) when this process runs only some shards, else None (it owns
        every guild)."""
        if self.shard_count is None or self.shard_ids is None:
            return None
        if set(self.shard_ids) == set(range(self.shard_count)):
            return None
        return self.shard_count, frozenset(self.shard_ids)

    def owns(self, guild_id: int | None) -> bool:
        """Is ``guild_id`` on one of this process's shards (Discord's rule:
        ``(guild_id >> 22) % shard_count``)? Work of no guild belongs to shard 0."""
        owned = self.owned_shards
        if owned is None:
            return True
        count, ids = owned
        return (0 if guild_id is None else (guild_id >> 22) % count) in ids


def _optional_int(env: Mapping[str, str], name: str) -> int | None:
    raw = env.get(name, "").strip()
    if not raw:
        return None
    if not raw.isdigit():
        raise SettingsError(f"{name} must be a server id made of digits, not {raw!r}.")
    return int(raw)


def load_settings(
    env: Mapping[str, str] | None = None, *, dotenv_path: str | None = ".env"
) -> Settings:
    """Build settings from ``env`` (default: ``os.environ`` plus ``.env`` if present).

    Raises ``SettingsError`` with a one-line explanation when something is wrong.
    """
    if env is None:
        if dotenv_path and Path(dotenv_path).is_file():
            from dotenv import load_dotenv

            load_dotenv(dotenv_path, override=False)
        env = os.environ

    token = env.get("DISCORD_TOKEN", "").strip()
    if not token:
        raise SettingsError(
            "DISCORD_TOKEN is not set: copy .env.example to .env and put your bot token after "
            "DISCORD_TOKEN= (see README.md, 'Create the Discord application')."
        )

    tz = env.get("DEFAULT_TIMEZONE", "").strip() or "Europe/London"
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise SettingsError(
            f"DEFAULT_TIMEZONE {tz!r} is not an IANA time zone name; try Europe/London."
        ) from None

    level = (env.get("LOG_LEVEL", "").strip() or "INFO").upper()
    if level not in LOG_LEVELS:
        raise SettingsError(f"LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}, not {level!r}.")

    db_path = Path(env.get("DATABASE_PATH", "").strip() or "data/bot.sqlite3")
    url = env.get("DATABASE_URL", "").strip() or f"sqlite:///{db_path}"
    if url.startswith("sqlite:///"):
        db_path = Path(url.removeprefix("sqlite:///"))
        if not str(db_path):
            raise SettingsError(
                "DATABASE_URL sqlite:/// needs a file path, e.g. sqlite:///data/bot.sqlite3."
            )
    elif not url.startswith(("postgresql://", "postgres://")):
        raise SettingsError(
            "DATABASE_URL must be sqlite:///path/to/file.sqlite3 or postgresql://user@host/db, "
            f"not {url.split('://')[0]!r}."
        )

    shard_count, shard_auto, shard_ids = _shards(env)

    beacon_url = env.get("DRAW_BEACON_URL", "").strip() or "https://api.drand.sh"
    if not beacon_url.startswith(("https://", "http://")):
        raise SettingsError(f"DRAW_BEACON_URL must be an http(s) address, not {beacon_url!r}.")
    chain = (env.get("DRAW_BEACON_CHAIN", "").strip() or QUICKNET_HASH).lower()
    if len(chain) != 64 or any(c not in "0123456789abcdef" for c in chain):
        raise SettingsError("DRAW_BEACON_CHAIN must be a drand chain hash (64 hex characters).")
    delay_text = env.get("DRAW_BEACON_DELAY", "").strip() or "60"
    if not delay_text.isdigit() or not 0 <= int(delay_text) <= 86400:
        raise SettingsError("DRAW_BEACON_DELAY must be a number of seconds from 0 to 86400.")
    docs_url = (env.get("DOCS_URL", "").strip() or DEFAULT_DOCS_URL).rstrip("/")
    if not docs_url.startswith(("https://", "http://")):
        raise SettingsError(f"DOCS_URL must be an http(s) address, not {docs_url!r}.")

    return Settings(
        discord_token=token,
        database_path=db_path,
        database_url=url,
        dev_guild_id=_optional_int(env, "DEV_GUILD_ID"),
        default_timezone=tz,
        log_level=level,
        draw_beacon_url=beacon_url,
        draw_beacon_chain=chain,
        draw_beacon_delay=int(delay_text),
        docs_url=docs_url,
        discord_api_base=env.get("DISCORD_API_BASE", "").strip() or None,
        discord_gateway_url=env.get("DISCORD_GATEWAY_URL", "").strip() or None,
        shard_count=shard_count,
        shard_auto=shard_auto,
        shard_ids=shard_ids,
    )


def _shards(env: Mapping[str, str]) -> tuple[int | None, bool, tuple[int, ...] | None]:
    """SHARD_COUNT (empty, ``auto`` or a number) and SHARD_IDS (``0,1`` or ``0-3``)."""
    raw_count = env.get("SHARD_COUNT", "").strip().lower()
    raw_ids = env.get("SHARD_IDS", "").strip()
    if not raw_count:
        if raw_ids:
            raise SettingsError("SHARD_IDS needs SHARD_COUNT (the total number of shards).")
        return None, False, None
    if raw_count == "auto":
        if raw_ids:
            raise SettingsError("SHARD_IDS needs a number in SHARD_COUNT, not 'auto'.")
        return None, True, None
    if not raw_count.isdigit() or int(raw_count) < 1:
        raise SettingsError(f"SHARD_COUNT must be a number of shards or 'auto', not {raw_count!r}.")
    count = int(raw_count)
    if not raw_ids:
        return count, False, tuple(range(count))
    ids: set[int] = set()
    for part in raw_ids.split(","):
        low, _, high = part.strip().partition("-")
        if not low.isdigit() or (high and not high.isdigit()):
            raise SettingsError(f"SHARD_IDS must look like 0,1 or 0-3, not {raw_ids!r}.")
        ids.update(range(int(low), int(high or low) + 1))
    if not ids or max(ids) >= count:
        raise SettingsError(f"SHARD_IDS must be shard numbers from 0 to {count - 1}.")
    return count, False, tuple(sorted(ids))


def configure_logging(level: str) -> logging.Handler:
    """Plain, timestamped logs on stderr; returns the handler it installed.

    discord.py writes whole gateway payloads and HTTP bodies (survey answers, feedback text) at
    DEBUG. So whatever ``level`` says, the ``discord`` loggers stay at INFO or above
    (``discord.http`` at WARNING), and a filter on the handler, and on those loggers, drops
    every record below INFO from ``discord`` or ``discord.*`` even if a logger's level is
    lowered later. The bot's own loggers follow ``level``. Calling this again replaces the
    handler installed before instead of adding a second one.
    """
    numeric = logging.getLevelNamesMapping().get(level.strip().upper(), logging.INFO)

    def drop_discord_debug(record: logging.LogRecord) -> bool:
        """False for a record below INFO from discord.py: it may carry a member's text."""
        from_discord = record.name == "discord" or record.name.startswith("discord.")
        return not (from_discord and record.levelno < logging.INFO)

    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == "coprobot"]:
        root.removeHandler(old)
        old.close()
    handler = logging.StreamHandler()
    handler.set_name("coprobot")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s"))
    handler.addFilter(drop_discord_debug)
    root.addHandler(handler)
    root.setLevel(numeric)

    for name in (
        "discord",
        "discord.client",
        "discord.gateway",
        "discord.http",
        "discord.shard",
        "discord.state",
        "discord.webhook",
        "discord.webhook.async_",
        "discord.webhook.sync",
    ):
        logger = logging.getLogger(name)
        floor = logging.WARNING if name == "discord.http" else logging.INFO
        logger.setLevel(max(floor, numeric))
        # The same safeguard for any other handler these records reach (one filter each).
        logger.filters[:] = [
            f for f in logger.filters if getattr(f, "__name__", "") != drop_discord_debug.__name__
        ]
        logger.addFilter(drop_discord_debug)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    return handler
