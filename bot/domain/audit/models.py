"""Audit rows, and the entries a decision hands to its repository to append."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar, Union

from bot.domain.audit.chain import ChainRow

# One audit row, as stored and as a checker reads it: the chain's own row type (a plain tuple,
# cheap to make a million of), so the bot and the checkers hash exactly the same thing.
AuditRow = ChainRow


R = TypeVar("R")


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One audit row to append inside the transaction of the decision it records.

    A repository method that makes a decision takes an optional ``audit`` argument (an entry, or
    a function of the decision's result giving the entry or entries) and appends the row(s)
    with :func:`append_entries` in its own ``db.transaction``, only when the decision changed
    something. The decision and its audit row then commit (or roll back) together: a crash or
    an error in between can never keep one without the other.
    """

    guild_id: int
    at: float
    actor_id: int | None
    action: str
    subject: str = ""
    details: Mapping[str, Any] = field(default_factory=dict)


# What a decision's repository method accepts as ``audit``: nothing, an entry, or a function of
# the decision's result (called inside the transaction, only when the decision changed
# something) returning an entry, several entries, or None (nothing to record).
AuditMade = Union[AuditEntry, Iterable[AuditEntry], None]  # noqa: UP007


AuditFor = Union[AuditEntry, Callable[[R], AuditMade], None]  # noqa: UP007
