"""Who counts as an organiser (one rule for commands, buttons, autocomplete and the digest)."""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["counts_as_organiser"]


def counts_as_organiser(
    *,
    administrator: bool,
    manage_guild: bool,
    manage_events: bool,
    role_ids: Iterable[int],
    organiser_role_id: int | None,
) -> bool:
    """Manage Server, Manage Events (or Administrator), or the server's organiser role."""
    if administrator or manage_guild or manage_events:
        return True
    return organiser_role_id is not None and organiser_role_id in set(role_ids)
