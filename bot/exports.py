"""Files organisers download."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

import discord


def csv_file(rows: Iterable[Sequence[object]], filename: str) -> discord.File:
    """Rows as a UTF-8 CSV attachment."""
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return discord.File(io.BytesIO(buffer.getvalue().encode("utf-8")), filename=filename)
