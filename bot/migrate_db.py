"""Copy a community's data from SQLite to PostgreSQL:
``python -m bot.migrate_db --from sqlite:///data/bot.sqlite3 --to postgresql://user@host/db``.

* The source is opened as the bot opens it (so it is brought to the current schema first), the
  target is migrated to the same schema, and must be EMPTY: a target with any row in any of the
  bot's tables is refused, nothing written.
* Every table is copied in one PostgreSQL transaction (parents before children, each in the
  order SQLite stored its rows), with ``COPY``; the identity sequences then continue after the
  highest copied id. If anything fails, the transaction is rolled back: the target stays empty.
* Then it verifies: the same row count in every table on both sides, and each server's audit
  chain intact on the target and identical to the source's (same rows, same hashes).

Stop the bot before copying (a write made during the copy would be missing from the target).
Prints one line per table and a verdict; exit code 0 only when everything verified.
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bot.domain.audit.chain import verify_chain
from bot.domain.audit.models import AuditRow

__all__ = ["CopyError", "copy_database", "main"]


class CopyError(Exception):
    """The copy was refused or did not verify; the message is one line for the operator."""


_AUDIT = (
    "SELECT id, guild_id, seq, at, actor_ref, action, subject, details, prev_hash, hash "
    "FROM audit_log ORDER BY guild_id, seq"
)


def _sqlite_path(url: str) -> Path:
    if url.startswith("sqlite:///"):
        return Path(url.removeprefix("sqlite:///"))
    if "://" in url:
        raise CopyError(
            f"--from must be sqlite:///path/to/bot.sqlite3, not {url.split('://')[0]}://"
        )
    return Path(url)


async def _target_tables(conn: Any) -> dict[str, dict[str, str]]:
    """The bot's tables on the target: name -> {column: type}."""
    rows = await conn.fetch(
        "SELECT c.table_name, c.column_name, c.data_type FROM information_schema.columns c "
        "JOIN information_schema.tables t ON t.table_name = c.table_name "
        "AND t.table_schema = c.table_schema "
        "WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE' "
        "AND c.table_name <> 'schema_migrations' ORDER BY c.table_name, c.ordinal_position"
    )
    tables: dict[str, dict[str, str]] = {}
    for r in rows:
        tables.setdefault(r["table_name"], {})[r["column_name"]] = r["data_type"]
    return tables


async def _parents_first(conn: Any, names: Sequence[str]) -> list[str]:
    """Tables ordered so that every table comes after the tables its foreign keys point to."""
    edges = await conn.fetch(
        "SELECT DISTINCT tc.relname AS child, tp.relname AS parent FROM pg_constraint k "
        "JOIN pg_class tc ON tc.oid = k.conrelid JOIN pg_class tp ON tp.oid = k.confrelid "
        "JOIN pg_namespace n ON n.oid = tc.relnamespace "
        "WHERE k.contype = 'f' AND n.nspname = 'public'"
    )
    needs: dict[str, set[str]] = {n: set() for n in names}
    for e in edges:
        if e["child"] in needs and e["parent"] in needs and e["child"] != e["parent"]:
            needs[e["child"]].add(e["parent"])
    ordered: list[str] = []
    while needs:
        ready = sorted(n for n, parents in needs.items() if not parents - set(ordered))
        if not ready:
            raise CopyError(f"circular foreign keys between {sorted(needs)}")
        for n in ready:
            ordered.append(n)
            del needs[n]
    return ordered


def _converter(kind: str) -> Any:
    if kind in ("bigint", "integer", "smallint"):
        return lambda v: None if v is None else int(v)
    if kind in ("double precision", "real", "numeric"):
        return lambda v: None if v is None else float(v)
    if kind == "bytea":
        return lambda v: None if v is None else bytes(v)
    return lambda v: None if v is None else str(v)


async def copy_database(source: str, target: str, *, log: Any = print) -> dict[str, int]:
    """Copy ``source`` (SQLite) into the empty ``target`` (PostgreSQL) and verify the copy;
    the rows copied per table. Raises :class:`CopyError` when refused or not verified."""
    import asyncpg

    from db import open_database
    from db.postgres import open_postgres

    path = _sqlite_path(source)
    if not path.is_file():
        raise CopyError(f"no SQLite database at {path}")
    conn = await asyncpg.connect(target)
    try:  # refused before anything is written, schema included
        for name in await conn.fetch(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' "
            "AND table_type = 'BASE TABLE' AND table_name <> 'schema_migrations'"
        ):
            if await conn.fetchval(f'SELECT EXISTS (SELECT 1 FROM "{name[0]}")'):
                raise CopyError(
                    f"the target is not empty (table {name[0]} has rows); nothing copied"
                )
    finally:
        await conn.close()
    async with open_database(path) as db:  # brought to the current schema, like the bot does
        version = await db.schema_version()
    async with open_postgres(target, max_size=1) as pg:
        if await pg.schema_version() != version:
            raise CopyError(
                f"schema versions differ (SQLite {version}, PostgreSQL "
                f"{await pg.schema_version()}): run the same release on both"
            )
    src = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    conn = await asyncpg.connect(target)
    counts: dict[str, int] = {}
    try:
        tables = await _target_tables(conn)
        order = await _parents_first(conn, list(tables))
        async with conn.transaction():
            for name in order:
                source_columns = [r[1] for r in src.execute(f'PRAGMA table_info("{name}")')]
                if not source_columns:
                    raise CopyError(f"table {name} is missing from the SQLite database")
                columns = [c for c in tables[name] if c in source_columns]
                convert = [_converter(tables[name][c]) for c in columns]
                listed = ", ".join(f'"{c}"' for c in columns)
                # Insertion order (rowid); a WITHOUT ROWID table in its primary key's order.
                (sql,) = src.execute(
                    "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)
                ).fetchone()
                order_by = "" if "WITHOUT ROWID" in sql.upper() else " ORDER BY rowid"
                cursor = src.execute(f'SELECT {listed} FROM "{name}"{order_by}')
                total = 0
                while batch := cursor.fetchmany(5000):
                    records = [
                        tuple(f(v) for f, v in zip(convert, row, strict=True)) for row in batch
                    ]
                    await conn.copy_records_to_table(name, records=records, columns=columns)
                    total += len(records)
                counts[name] = total
                log(f"{name}: {total} rows")
            for name, column in await conn.fetch(
                "SELECT table_name, column_name FROM information_schema.columns "
                "WHERE table_schema = 'public' AND is_identity = 'YES'"
            ):
                await conn.execute(
                    f"SELECT setval(pg_get_serial_sequence('\"{name}\"', '{column}'), "
                    f'COALESCE((SELECT MAX("{column}") FROM "{name}"), 0) + 1, false)'
                )
        _verify(
            src,
            conn_counts=await _counts(conn, counts),
            counts=counts,
            src_audit=_audit_rows(src),
            target_audit=[AuditRow(*r) for r in await conn.fetch(_AUDIT)],
        )
    finally:
        src.close()
        await conn.close()
    return counts


async def _counts(conn: Any, tables: dict[str, int]) -> dict[str, int]:
    return {name: int(await conn.fetchval(f'SELECT COUNT(*) FROM "{name}"')) for name in tables}


def _audit_rows(src: sqlite3.Connection) -> list[AuditRow]:
    return [AuditRow(*r) for r in src.execute(_AUDIT)]


def _verify(
    src: sqlite3.Connection,
    *,
    conn_counts: dict[str, int],
    counts: dict[str, int],
    src_audit: list[AuditRow],
    target_audit: list[AuditRow],
) -> None:
    for name, copied in counts.items():
        (stored,) = src.execute(f'SELECT COUNT(*) FROM "{name}"').fetchone()
        if stored != copied or conn_counts[name] != copied:
            raise CopyError(
                f"row counts differ for {name}: SQLite {stored}, PostgreSQL {conn_counts[name]}"
            )
    report = verify_chain(target_audit)
    if not report.ok:
        raise CopyError(f"the audit chain on the target does not verify: {report.verdict()}")
    if [r.hash for r in target_audit] != [r.hash for r in src_audit]:
        raise CopyError("the audit chain on the target differs from the source's")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bot.migrate_db",
        description="Copy the bot's data from SQLite to an empty PostgreSQL database.",
    )
    parser.add_argument(
        "--from", dest="source", required=True, help="sqlite:///path/to/bot.sqlite3"
    )
    parser.add_argument("--to", dest="target", required=True, help="postgresql://user@host/db")
    args = parser.parse_args(argv)
    if not args.target.startswith(("postgresql://", "postgres://")):
        parser.error("--to must be a postgresql:// URL")
    try:
        counts = asyncio.run(copy_database(args.source, args.target))
    except CopyError as exc:
        print(f"FAILED: {exc}")
        return 1
    except OSError as exc:
        print(f"FAILED: cannot reach the database ({exc})")
        return 1
    print(f"OK: {sum(counts.values())} rows in {len(counts)} tables copied and verified")
    return 0


if __name__ == "__main__":
    sys.exit(main())
