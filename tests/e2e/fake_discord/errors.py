"""Discord-style REST errors (status + ``{"code", "message"[, "errors"]}`` body)."""

from __future__ import annotations

from typing import Any

JSON = dict[str, Any]


class DiscordError(Exception):
    """An error answered the way Discord answers it: status + JSON body."""

    def __init__(self, status: int, code: int, message: str, errors: JSON | None = None) -> None:
        super().__init__(f"{status} {code} {message}")
        self.status, self.code, self.message, self.errors = status, code, message, errors

    def body(self) -> JSON:
        """The JSON body Discord would send for this error."""
        body: JSON = {"message": self.message, "code": self.code}
        if self.errors:
            body["errors"] = self.errors
        return body


def unknown(what: str, code: int) -> DiscordError:
    """A 404 such as ``{"code": 10008, "message": "Unknown Message"}``."""
    return DiscordError(404, code, f"Unknown {what}")


def missing_permissions() -> DiscordError:
    """Discord's 403 for a permission or hierarchy problem."""
    return DiscordError(403, 50013, "Missing Permissions")


def invalid_form(path: str, code: str, message: str) -> DiscordError:
    """Discord's 400 ``Invalid Form Body`` with a nested ``errors`` object for ``path`` (dotted)."""
    errors: JSON = {"_errors": [{"code": code, "message": message}]}
    for part in reversed(path.split(".")):
        errors = {part: errors}
    return DiscordError(400, 50035, "Invalid Form Body", errors)


def too_large() -> DiscordError:
    """Discord's 413 for an upload over the size limit (code 40005)."""
    return DiscordError(413, 40005, "Request entity too large")
