"""Files organisers download: CSV exports that stream, compress and fit the upload limit.

An export is read in chunks (``db.stream`` on the reader connection, or a list already in
memory for small ones), each chunk turned into CSV text and compressed in a worker thread, so
the event loop only hands chunks over. The output goes to temporary files (in memory up to a
few MB, then on disk), so memory stays bounded however long the history is.

A CSV up to ``PLAIN_LIMIT`` bytes is sent as it is (``name.csv``). A larger one is compressed
with gzip and split into parts (``name.part1.csv.gz``, ...), each a complete CSV with the header,
cut between rows, and each under the server's upload limit. Concatenated parts (``cat *.gz``) are
one valid gzip stream: ``python -m bot.verify_audit`` checks the parts given one by one or their
concatenation.

Every cell goes through :func:`bot.csvcells.safe_cell` (no spreadsheet formulas).
"""

from __future__ import annotations

import asyncio
import csv
import io
import time
import zlib
from collections.abc import AsyncIterable, Callable, Iterable, Sequence
from dataclasses import dataclass
from tempfile import SpooledTemporaryFile
from typing import IO, TypeVar

import discord

from bot.csvcells import safe_cell
from bot.notify import NO_MENTIONS

__all__ = ["PLAIN_LIMIT", "CsvParts", "Part", "csv_file", "send_export"]

T = TypeVar("T")

PLAIN_LIMIT = 1 << 20  # a CSV up to 1 MiB is sent uncompressed, as one file
_BLOCK = 64 * 1024  # rows are compressed in blocks of about this many bytes
_SPOOL = 4 << 20  # a part stays in memory up to 4 MiB, then goes to a temporary file
_FINISH = 64  # the gzip trailer and final empty block, with room to spare
PROGRESS_EVERY = 3.0  # seconds between progress edits of the deferred reply


def _lines(rows: Iterable[Sequence[object]]) -> Iterable[bytes]:
    """Each row as its CSV text in UTF-8 (a row may hold newlines inside quoted cells)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for row in rows:
        writer.writerow([safe_cell(v) for v in row])
        yield buffer.getvalue().encode("utf-8")
        buffer.seek(0)
        buffer.truncate(0)


def _encode(rows: Iterable[Sequence[object]]) -> bytes:
    return b"".join(_lines(rows))


@dataclass(slots=True)
class Part:
    """One file of an export: its name, its bytes (positioned at the start) and size."""

    filename: str
    file: IO[bytes]
    size: int
    rows: int

    def discord_file(self) -> discord.File:
        return discord.File(self.file, filename=self.filename)  # type: ignore[arg-type]


class CsvParts:
    """Rows in, CSV parts out, each at most ``limit`` bytes (the methods block: call them from
    a worker thread for big exports)."""

    def __init__(
        self,
        stem: str,
        header: Sequence[str],
        limit: int,
        *,
        plain_limit: int = PLAIN_LIMIT,
    ) -> None:
        self.stem = stem
        self.header = _encode([header])
        self.limit = limit
        self.plain_limit = min(plain_limit, limit)
        self.block = max(1024, min(_BLOCK, limit // 8))
        if len(self.header) + self.block + _FINISH + self.block // 100 + 64 > limit:
            raise ValueError(f"an upload limit of {limit} bytes is too small for an export")
        self.rows = 0
        self.parts: list[Part] = []
        self._plain: list[bytes] | None = []  # rows, until the CSV outgrows plain_limit
        self._plain_size = len(self.header)
        self._pending = bytearray()  # whole rows not yet compressed
        self._pending_rows = 0
        self._file: IO[bytes] | None = None
        self._zip: zlib._Compress | None = None
        self._size = 0
        self._part_rows = 0

    def add(self, rows: Iterable[Sequence[object]]) -> int:
        """Write rows; returns how many were written."""
        count = 0
        for line in _lines(rows):
            count += 1
            if self._plain is not None:
                if self._plain_size + len(line) <= self.plain_limit:
                    self._plain.append(line)
                    self._plain_size += len(line)
                    continue
                # Too big to send plain: compress from here on, the rows so far first.
                earlier, self._plain = self._plain, None
                for row in earlier:
                    self._queue(row)
            self._queue(line)
        self.rows += count
        return count

    def _queue(self, line: bytes) -> None:
        self._pending += line
        self._pending_rows += 1
        if len(self._pending) >= self.block:
            self._compress_pending()

    def _compress_pending(self) -> None:
        if not self._pending:
            return
        data = bytes(self._pending)
        worst = len(data) + len(data) // 100 + 64  # deflate never grows data by more
        if self._zip is None or (self._part_rows and self._size + worst + _FINISH > self.limit):
            self._close_part()
            self._open_part()
        assert self._zip is not None and self._file is not None
        out = self._zip.compress(data) + self._zip.flush(zlib.Z_SYNC_FLUSH)
        self._file.write(out)
        self._size += len(out)
        self._part_rows += self._pending_rows
        self._pending = bytearray()
        self._pending_rows = 0

    def _open_part(self) -> None:
        self._file = SpooledTemporaryFile(max_size=_SPOOL)
        self._zip = zlib.compressobj(6, zlib.DEFLATED, 31)  # gzip framing
        out = self._zip.compress(self.header) + self._zip.flush(zlib.Z_SYNC_FLUSH)
        self._file.write(out)
        self._size = len(out)
        self._part_rows = 0

    def _close_part(self) -> None:
        if self._zip is None or self._file is None:
            return
        out = self._zip.flush(zlib.Z_FINISH)
        self._file.write(out)
        self._size += len(out)
        self._file.seek(0)
        self.parts.append(Part("", self._file, self._size, self._part_rows))
        self._zip = None
        self._file = None

    def finish(self) -> list[Part]:
        """The parts, named; call once after the last :meth:`add`."""
        if self._plain is not None:
            data = self.header + b"".join(self._plain)
            return [Part(f"{self.stem}.csv", io.BytesIO(data), len(data), self.rows)]
        self._compress_pending()
        self._close_part()
        for i, part in enumerate(self.parts, start=1):
            part.filename = (
                f"{self.stem}.csv.gz"
                if len(self.parts) == 1
                else f"{self.stem}.part{i}of{len(self.parts)}.csv.gz"
            )
        return self.parts


def csv_file(rows: Iterable[Sequence[object]], filename: str) -> discord.File:
    """Small rows as one UTF-8 CSV attachment (cells made safe for spreadsheets)."""
    data = _encode(rows)
    return discord.File(io.BytesIO(data), filename=filename)


def upload_limit(interaction: discord.Interaction) -> int:
    """The largest file this interaction's reply may carry."""
    limit = getattr(interaction, "filesize_limit", 0) or 0
    if not limit and interaction.guild is not None:
        limit = interaction.guild.filesize_limit
    return int(limit or 10 * 1024 * 1024)


async def send_export(
    interaction: discord.Interaction,
    *,
    stem: str,
    header: Sequence[str],
    chunks: AsyncIterable[Sequence[T]],
    convert: Callable[[Sequence[T]], Iterable[Sequence[object]]],
    total: int | None,
    message: Callable[[int, int], str],
) -> list[Part]:
    """Stream an export to the organiser after :meth:`InteractionResponse.defer`.

    ``chunks`` are read one at a time; ``convert`` turns a chunk into CSV rows in a worker thread.
    Every few seconds the deferred reply shows how far it got (``total`` rows expected). Then
    the reply says ``message(rows, parts)`` and carries the first part; each further part follows
    in a message of its own (one file per message, each under the upload limit).
    """
    parts = CsvParts(stem, header, upload_limit(interaction))
    done = 0
    shown = time.monotonic()
    async for chunk in chunks:
        done += await asyncio.to_thread(lambda c=chunk: parts.add(convert(c)))  # type: ignore[misc]
        if total and time.monotonic() - shown >= PROGRESS_EVERY:
            shown = time.monotonic()
            try:
                await interaction.edit_original_response(
                    content=f"Preparing the file: {done:,} of {total:,} rows…"
                )
            except discord.HTTPException:
                pass  # progress is a courtesy
    files = await asyncio.to_thread(parts.finish)
    text = message(done, len(files))
    if len(files) > 1:
        text += (
            f"\nThe file is in {len(files)} compressed parts (each a complete CSV with the "
            "header), one per message."
        )
    elif files and files[0].filename.endswith(".gz"):
        text += "\nThe file is compressed (gzip)."
    try:
        await interaction.edit_original_response(
            content=text, attachments=[files[0].discord_file()], allowed_mentions=NO_MENTIONS
        )
        for i, part in enumerate(files[1:], start=2):
            await interaction.followup.send(
                f"Part {i} of {len(files)}.",
                file=part.discord_file(),
                ephemeral=True,
                allowed_mentions=NO_MENTIONS,
            )
    finally:
        for part in files:
            part.file.close()
    return files
