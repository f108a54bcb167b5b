"""Small pure rules about draws."""

from __future__ import annotations


def entry_code(ref: str) -> str:
    """A member's *entry code*: the first 8 characters of their entry reference, enough to find
    themselves in the published file (the full reference is in /mydata show and the file)."""
    return ref[:8]
