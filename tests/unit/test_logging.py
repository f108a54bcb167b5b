"""configure_logging: LOG_LEVEL=DEBUG must not write discord.py's payloads (members' text) to the log."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from bot.settings import configure_logging, load_settings

SECRET = "my survey answer: the facilitator was unkind"
DISCORD_LOGGERS = (
    "discord",
    "discord.client",
    "discord.gateway",
    "discord.http",
    "discord.state",
    "discord.webhook",
    "discord.webhook.async_",
    "discord.ext.tasks",
)
TOUCHED = (*DISCORD_LOGGERS, "apscheduler", "bot", "bot.feedback")


@contextmanager
def _clean_logging() -> Iterator[None]:
    """Run with no handlers on the root logger (as in production, where nothing configured
    logging before ``configure_logging``); put everything back afterwards. Used inside the test
    body, because pytest adds its own capture handler to the root logger for the call phase."""
    root = logging.getLogger()
    saved_root = (root.level, root.handlers[:])
    saved = {
        name: (logging.getLogger(name).level, logging.getLogger(name).filters[:])
        for name in TOUCHED
    }
    for handler in saved_root[1]:
        root.removeHandler(handler)
    try:
        yield
    finally:
        for handler in root.handlers[:]:
            root.removeHandler(handler)
            handler.close()
        root.setLevel(saved_root[0])
        for handler in saved_root[1]:
            root.addHandler(handler)
        for name, (level, filters) in saved.items():
            logger = logging.getLogger(name)
            logger.setLevel(level)
            logger.filters[:] = filters


def _configure_from_env(level: str) -> None:
    settings = load_settings({"DISCORD_TOKEN": "x", "LOG_LEVEL": level}, dotenv_path=None)
    configure_logging(settings.log_level)


def _gateway_payload() -> dict[str, object]:
    return {
        "op": 0,
        "t": "INTERACTION_CREATE",
        "d": {"type": 5, "data": {"components": [{"components": [{"value": SECRET}]}]}},
    }


def test_debug_level_does_not_log_discord_payloads(capsys: pytest.CaptureFixture[str]) -> None:
    with _clean_logging():
        _configure_from_env("DEBUG")
        logging.getLogger("discord.gateway").debug(
            "For Shard ID %s: WebSocket Event: %s", None, _gateway_payload()
        )
        logging.getLogger("discord.http").debug("POST /interactions with %s returned 204", SECRET)
        logging.getLogger("discord.client").debug("Dispatching event %s", SECRET)
        logging.getLogger("discord.state").debug("INTERACTION_CREATE: %s", SECRET)
        logging.getLogger("bot.feedback").debug("bot's own debug line %d", 42)
        logging.getLogger("discord.gateway").info("Shard ID %s has connected to Gateway", None)

    err = capsys.readouterr().err
    assert SECRET not in err
    assert "bot's own debug line 42" in err
    assert "has connected to Gateway" in err  # discord's INFO lines still show


def test_discord_loggers_stay_at_info_or_above() -> None:
    with _clean_logging():
        _configure_from_env("DEBUG")
        assert logging.getLogger("bot.feedback").getEffectiveLevel() == logging.DEBUG
        for name in DISCORD_LOGGERS:
            assert logging.getLogger(name).getEffectiveLevel() >= logging.INFO, name
        assert logging.getLogger("discord.http").getEffectiveLevel() >= logging.WARNING

        _configure_from_env("ERROR")
        for name in DISCORD_LOGGERS:
            assert logging.getLogger(name).getEffectiveLevel() >= logging.ERROR, name


def test_payload_dropped_even_if_a_discord_logger_is_lowered_later(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with _clean_logging():
        _configure_from_env("DEBUG")
        for name in DISCORD_LOGGERS:
            logging.getLogger(name).setLevel(logging.DEBUG)  # e.g. someone debugging by hand
            logging.getLogger(name).debug("payload %s", SECRET)
        logging.getLogger("bot").debug("still here")

    err = capsys.readouterr().err
    assert SECRET not in err
    assert "still here" in err


def test_configuring_twice_does_not_duplicate_lines(capsys: pytest.CaptureFixture[str]) -> None:
    with _clean_logging():
        _configure_from_env("INFO")
        _configure_from_env("INFO")
        logging.getLogger("bot").info("once")
    assert capsys.readouterr().err.count("once") == 1
