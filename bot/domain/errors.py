"""Errors whose message is safe, kind, and meant to be shown to the person who caused them."""

from __future__ import annotations

__all__ = [
    "Conflict",
    "DomainError",
    "InvalidInput",
    "NotAllowed",
    "NotFound",
]


class DomainError(Exception):
    """Base class: ``str(error)`` is shown to the user as an ephemeral reply."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class InvalidInput(DomainError):
    """The user typed something the bot cannot use; the message says what works instead."""


class NotFound(DomainError):
    """The thing asked for does not exist (in this server)."""


class NotAllowed(DomainError):
    """The user may not do this."""


class Conflict(DomainError):
    """The request clashes with the current state (already closed, already drawn, ...)."""
