"""Storage: one aiosqlite connection, numbered migrations, repositories returning dataclasses."""

from db.connection import Database

__all__ = ["Database"]
