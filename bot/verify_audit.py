"""Check the audit trail's hash chain: ``python -m bot.verify_audit [--db PATH | FILE.csv]``.

Reads the bot's database (read-only; a SQLite file or a ``postgresql://`` URL; default
``DATABASE_URL`` or ``DATABASE_PATH`` from the environment or ``.env``, else ``data/bot.sqlite3``) or a CSV from ``/audit export``, and prints one line: ``OK: ...`` (exit
code 0) or ``FAILED: ...`` naming the first row that was edited, removed or reordered (exit 1).

``--expect HASH`` (repeatable) also checks that a hash you kept earlier (e.g. the last ``hash`` of a
previous export) is still in the chain, which catches a log rewritten from some row onwards.
"""

from __future__ import annotations

import argparse
import csv
import os
import sqlite3
import sys
from collections.abc import Sequence
from pathlib import Path

from bot.domain.audit.chain import ChainReport, verify_chain
from bot.domain.audit.export import CSV_COLUMNS
from bot.domain.audit.models import AuditRow

__all__ = ["CSV_COLUMNS", "main", "read_csv", "read_db", "verify_csv", "verify_db"]

_NEEDED = {
    "guild_id",
    "seq",
    "at_unix",
    "actor_ref",
    "action",
    "subject",
    "details",
    "prev_hash",
    "hash",
}


class ReadError(Exception):
    """The input could not be read as an audit log."""


_SELECT = (
    "SELECT id, guild_id, seq, at, actor_ref, action, subject, details, prev_hash, hash "
    "FROM audit_log ORDER BY guild_id, seq, id"
)


def _read_postgres(url: str) -> list[AuditRow]:
    """The audit rows of a PostgreSQL database, read in a read-only transaction (on a thread of
    its own, so this works whether or not the caller runs an event loop)."""
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    import asyncpg

    async def read() -> list[AuditRow]:
        conn = await asyncpg.connect(url, timeout=10)
        try:
            async with conn.transaction(readonly=True):
                return [AuditRow(*r) for r in await conn.fetch(_SELECT)]
        finally:
            await conn.close()

    try:
        with ThreadPoolExecutor(max_workers=1) as pool:
            return pool.submit(asyncio.run, read()).result()
    except (OSError, asyncpg.PostgresError) as exc:
        raise ReadError(f"the PostgreSQL database has no readable audit log ({exc})") from None


def read_db(target: Path | str) -> list[AuditRow]:
    """The audit rows of a SQLite file (a path or ``sqlite:///path``) or a PostgreSQL database
    (``postgresql://...``)."""
    text = str(target)
    if text.startswith(("postgresql://", "postgres://")):
        return _read_postgres(text)
    path = Path(text.removeprefix("sqlite:///"))
    if not path.exists():
        raise ReadError(f"no database at {path}")
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        rows = conn.execute(_SELECT).fetchall()
    except sqlite3.DatabaseError as exc:
        raise ReadError(f"{path} has no readable audit log ({exc})") from None
    finally:
        conn.close()
    return [AuditRow(*r) for r in rows]


def read_csv(path: Path) -> list[AuditRow]:
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            missing = _NEEDED - set(reader.fieldnames or [])
            if missing:
                raise ReadError(
                    f"{path} is not an audit export (missing {', '.join(sorted(missing))})"
                )
            rows = []
            for line, rec in enumerate(reader, start=2):
                try:
                    rows.append(
                        AuditRow(
                            0,
                            int(rec["guild_id"]),
                            int(rec["seq"]),
                            float(rec["at_unix"]),
                            rec["actor_ref"] or None,
                            rec["action"],
                            rec["subject"],
                            rec["details"],
                            rec["prev_hash"],
                            rec["hash"],
                        )
                    )
                except (TypeError, ValueError):
                    raise ReadError(f"{path} line {line} is damaged") from None
    except OSError as exc:
        raise ReadError(f"cannot read {path} ({exc.strerror})") from None
    return rows


def _check_expected(report: ChainReport, rows: Sequence[AuditRow], expected: Sequence[str]) -> None:
    present = {r.hash for r in rows}
    for digest in expected:
        if digest.strip().lower() not in present:
            report.problems.append(
                f"the kept hash {digest[:16]} is no longer in the chain (rewritten)"
            )


def verify_db(path: Path | str, expected: Sequence[str] = ()) -> ChainReport:
    rows = read_db(path)
    report = verify_chain(rows)
    _check_expected(report, rows, expected)
    return report


def verify_csv(path: Path, expected: Sequence[str] = ()) -> ChainReport:
    """A CSV is checked in file order; a date-ranged export may start mid-chain."""
    rows = read_csv(path)
    report = verify_chain(rows, allow_partial=True)
    _check_expected(report, rows, expected)
    return report


def _default_db() -> str:
    """DATABASE_URL, else DATABASE_PATH (environment first, then ``.env``), else the default."""
    values: dict[str, str | None] = {}
    if Path(".env").exists():
        from dotenv import dotenv_values

        values = dict(dotenv_values(".env"))
    for name in ("DATABASE_URL", "DATABASE_PATH"):
        value = os.environ.get(name) or values.get(name)
        if value:
            return value
    return "data/bot.sqlite3"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bot.verify_audit",
        description="Check that the audit trail's hash chain is intact.",
    )
    parser.add_argument("csv", nargs="?", type=Path, help="a CSV from /audit export")
    parser.add_argument(
        "--db",
        help="the bot's database: a SQLite file, sqlite:///path or postgresql://user@host/db "
        "(default: DATABASE_URL, else DATABASE_PATH)",
    )
    parser.add_argument(
        "--expect",
        action="append",
        default=[],
        metavar="HASH",
        help="a hash kept from an earlier export that must still be in the chain",
    )
    args = parser.parse_args(argv)
    if args.csv is not None and args.db is not None:
        parser.error("give either --db or a CSV file, not both")
    try:
        if args.csv is not None:
            report = verify_csv(args.csv, args.expect)
        else:
            report = verify_db(args.db or _default_db(), args.expect)
    except ReadError as exc:
        print(f"FAILED: {exc}")
        return 1
    print(report.verdict())
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
