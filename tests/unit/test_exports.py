"""Export building blocks: parts under the limit, cut between rows; cells safe for spreadsheets
(issue 11 item 6); long lists say how many are not shown (issue 11 item 17)."""

from __future__ import annotations

import csv
import gzip
import io

from bot.csvcells import original_cell, safe_cell
from bot.exports import CsvParts
from bot.render import fit_list


def test_formula_cells_are_neutralised_and_recoverable() -> None:
    for text in ["=1+1", "+SUM(A1)", "-cmd", "@A1", "\tx", "\rx", "'quoted", '=HYPERLINK("x")']:
        assert safe_cell(text).startswith("'")
        assert original_cell(safe_cell(text)) == text
    for plain in ["-3", "+1.5", "1790000000.0", "-2e5", "hello", "", "🌱", "a=b"]:
        assert safe_cell(plain) == plain
    assert safe_cell(None) == "" and safe_cell(12) == "12"


def test_a_large_csv_is_split_into_gzip_parts_under_the_limit() -> None:
    limit = 50_000
    parts = CsvParts("x", ["n", "text"], limit)
    rows = [[i, f"line one\nline two {i} " + "y" * (i % 97)] for i in range(20000)]
    for i in range(0, len(rows), 1000):
        parts.add(rows[i : i + 1000])
    files = parts.finish()
    assert len(files) > 2
    back: list[list[str]] = []
    for i, part in enumerate(files, start=1):
        assert part.filename == f"x.part{i}of{len(files)}.csv.gz"
        data = part.file.read()
        assert len(data) == part.size <= limit
        got = list(csv.reader(io.StringIO(gzip.decompress(data).decode("utf-8"))))
        assert got[0] == ["n", "text"]
        assert len(got) - 1 == part.rows
        back += got[1:]
    assert back == [[str(n), t] for n, t in rows]


def test_a_small_csv_is_one_plain_file() -> None:
    parts = CsvParts("x", ["a"], 10 << 20)
    parts.add([["=1"], ["2"]])
    (part,) = parts.finish()
    assert part.filename == "x.csv"
    assert part.file.read().decode() == "a\r\n'=1\r\n2\r\n"


def test_a_long_list_says_how_many_are_not_shown() -> None:
    lines = [("**Heading**", False)] + [(f"{i}. <@{10**17 + i}>", True) for i in range(178)]
    text = fit_list(lines, lambda n: f"…and {n} more (see the CSV)")
    assert len(text) <= 2000
    shown = sum(1 for line in text.splitlines() if ". <@" in line)
    assert 0 < shown < 178
    assert text.endswith(f"…and {178 - shown} more (see the CSV)")
    short = [("a", False), ("1. b", True)]
    assert fit_list(short, lambda n: "never") == "a\n1. b"


def test_parts_stay_under_the_limit_when_the_data_hardly_compresses() -> None:
    import base64
    import random

    rng = random.Random(7)
    limit = 40_000
    parts = CsvParts("x", ["blob"], limit)
    parts.add([[base64.b85encode(rng.randbytes(300)).decode()] for _ in range(1500)])
    files = parts.finish()
    assert len(files) > 5
    assert all(part.size <= limit and len(part.file.read()) == part.size for part in files)
    assert sum(part.rows for part in files) == 1500
