"""Errors whose message is safe, kind, and meant to be shown to the person who caused them."""

from __future__ import annotations

from collections.abc import Callable

from bot.domain.values import plain

__all__ = [
    "Conflict",
    "DomainError",
    "InvalidInput",
    "NotAllowed",
    "NotFound",
]


class DomainError(Exception):
    """Base class: shown to the user as an ephemeral reply. ``values`` fill ``{name}`` fields of
    the message and may be :mod:`bot.domain.values` (a time, a link) that the Discord side draws;
    ``str(error)`` draws them as plain text."""

    def __init__(self, message: str, **values: object) -> None:
        super().__init__(message)
        self.message = message
        self.values = values

    def render(self, formatter: Callable[[object], str] = plain) -> str:
        if not self.values:
            return self.message
        return self.message.format_map({k: formatter(v) for k, v in self.values.items()})

    def __str__(self) -> str:
        return self.render()


class InvalidInput(DomainError):
    """The user typed something the bot cannot use; the message says what works instead."""


class NotFound(DomainError):
    """The thing asked for does not exist (in this server)."""


class NotAllowed(DomainError):
    """The user may not do this."""


class Conflict(DomainError):
    """The request clashes with the current state (already closed, already drawn, ...)."""
