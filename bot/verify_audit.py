"""Check the audit trail's hash chain: ``python -m bot.verify_audit [--db PATH | FILE ...]``.

Reads the bot's database (read-only; a SQLite file or a ``postgresql://`` URL; default
``DATABASE_URL`` or ``DATABASE_PATH`` from the environment or ``.env``, else
``data/bot.sqlite3``) or the file(s) of an ``/audit export``: a ``.csv``, a ``.csv.gz``, every
part of an export in parts (in order), or those parts concatenated. Rows are read and checked one
batch at a time, so memory stays flat however long the log. Prints one line: ``OK: ...`` (exit
code 0) or ``FAILED: ...`` naming the first row that was edited, removed or reordered (exit 1).

``--expect HASH`` (repeatable) also checks that a hash you kept earlier (e.g. the last ``hash`` of a
previous export) is still in the chain, which catches a log rewritten from some row onwards.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import os
import sqlite3
import sys
import zlib
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import IO

from bot.csvcells import original_cell
from bot.domain.audit.chain import ChainReport, ChainRow, verify_chain
from bot.domain.audit.export import CSV_COLUMNS

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


_BATCH = 2000


class ReadError(Exception):
    """The input could not be read as an audit log."""


_SELECT = (
    "SELECT id, guild_id, seq, at, actor_ref, action, subject, details, prev_hash, hash "
    "FROM audit_log ORDER BY guild_id, seq, id"
)


def _read_postgres(url: str) -> Iterator[ChainRow]:
    """The audit rows of a PostgreSQL database, read in one read-only transaction through a
    server-side cursor, a batch at a time (on a thread of its own, so this works whether or
    not the caller runs an event loop)."""
    import asyncio
    import queue
    import threading

    import asyncpg

    batches: queue.Queue[list[ChainRow] | BaseException | None] = queue.Queue(maxsize=4)

    async def read() -> None:
        conn = await asyncpg.connect(url, timeout=10)
        try:
            async with conn.transaction(readonly=True, isolation="repeatable_read"):
                cursor = await conn.cursor(_SELECT)
                while batch := await cursor.fetch(_BATCH):
                    batches.put([ChainRow(*r) for r in batch])
        finally:
            await conn.close()

    def run() -> None:
        try:
            asyncio.run(read())
            batches.put(None)
        except BaseException as exc:  # handed to the reading side
            batches.put(exc)

    threading.Thread(target=run, name="verify-audit-pg", daemon=True).start()
    while (item := batches.get()) is not None:
        if isinstance(item, BaseException):
            if isinstance(item, OSError | asyncpg.PostgresError):
                raise ReadError(f"the PostgreSQL database has no readable audit log ({item})")
            raise item
        yield from item


def read_db(target: Path | str) -> Iterator[ChainRow]:
    """The audit rows in chain order, a batch at a time (constant memory), from a SQLite file
    (a path or ``sqlite:///path``) or a PostgreSQL database (``postgresql://...``)."""
    text = str(target)
    if text.startswith(("postgresql://", "postgres://")):
        yield from _read_postgres(text)
        return
    path = Path(text.removeprefix("sqlite:///"))
    if not path.exists():
        raise ReadError(f"no database at {path}")
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        try:
            cursor = conn.execute(_SELECT)
        except sqlite3.DatabaseError as exc:
            raise ReadError(f"{path} has no readable audit log ({exc})") from None
        make = ChainRow._make
        while batch := cursor.fetchmany(_BATCH):
            yield from map(make, batch)
    finally:
        conn.close()


def _open_text(path: Path) -> IO[str]:
    """A CSV part as text; a gzip file (``.gz``, or starting with gzip's magic bytes) is
    decompressed on the fly, several gzip members one after the other (``cat`` of parts)."""
    with path.open("rb") as probe:
        magic = probe.read(2)
    if magic == b"\x1f\x8b":
        return gzip.open(path, "rt", encoding="utf-8", newline="")
    return path.open(newline="", encoding="utf-8")


def read_csv(*paths: Path) -> Iterator[ChainRow]:
    """The rows of one or more CSV exports (plain or gzip; whole files, parts in order, or
    parts concatenated), one at a time. A repeated header line (the start of the next part)
    is skipped. Cells are read back as hashed (see :mod:`bot.csvcells`)."""
    for path in paths:
        try:
            with _open_text(path) as handle:
                reader = csv.reader(handle)
                header = next(reader, None)
                missing = _NEEDED - set(header or [])
                if header is None or missing:
                    raise ReadError(
                        f"{path} is not an audit export (missing "
                        f"{', '.join(sorted(missing or _NEEDED))})"
                    )
                col = {name: i for i, name in enumerate(header)}
                for record in reader:
                    if record == header:  # the next part of a concatenation
                        continue
                    try:
                        rec = {k: original_cell(record[i]) for k, i in col.items()}
                        yield ChainRow(
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
                    except (IndexError, TypeError, ValueError):
                        raise ReadError(f"{path} line {reader.line_num} is damaged") from None
        except (OSError, EOFError, zlib.error) as exc:
            reason = getattr(exc, "strerror", None) or str(exc)
            raise ReadError(f"cannot read {path} ({reason})") from None


def _checked(
    rows: Iterable[ChainRow], expected: Sequence[str], report: ChainReport
) -> Iterator[ChainRow]:
    """Pass rows through, noting which kept hashes were seen (only those are held)."""
    wanted = {d.strip().lower(): d for d in expected}
    for row in rows:
        wanted.pop(row.hash, None)
        yield row
    for digest in wanted.values():
        report.problems.append(f"the kept hash {digest[:16]} is no longer in the chain (rewritten)")


def _verify(rows: Iterable[ChainRow], expected: Sequence[str], *, partial: bool) -> ChainReport:
    seen = ChainReport()
    report = verify_chain(_checked(rows, expected, seen), allow_partial=partial)
    report.problems.extend(seen.problems)
    return report


def verify_db(path: Path | str, expected: Sequence[str] = ()) -> ChainReport:
    return _verify(read_db(path), expected, partial=False)


def verify_csv(path: Path | Sequence[Path], expected: Sequence[str] = ()) -> ChainReport:
    """A CSV (or its parts, in order) is checked in file order; a date-ranged export may start
    mid-chain."""
    paths = [path] if isinstance(path, Path) else list(path)
    return _verify(read_csv(*paths), expected, partial=True)


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
    parser.add_argument(
        "csv",
        nargs="*",
        type=Path,
        help="a file from /audit export (.csv or .csv.gz); for an export in parts, every part "
        "in order (or the parts concatenated into one file)",
    )
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
    if args.csv and args.db is not None:
        parser.error("give either --db or a CSV file, not both")
    try:
        if args.csv:
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
