"""A tiny bar chart as a PNG, in pure Python (zlib + struct; no matplotlib).

The chart is an extra: every message that carries one also gives the same counts in text, so
nobody depends on seeing the picture. Bars are dark on white (high contrast), each with its count
above it and a short label below, drawn with a built-in 3x5 pixel font.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Sequence

__all__ = ["bar_chart_png"]

Colour = tuple[int, int, int]

WHITE: Colour = (255, 255, 255)
INK: Colour = (33, 37, 41)
BAR: Colour = (37, 76, 150)
GRID: Colour = (206, 212, 218)

# 3x5 glyphs, rows top to bottom, "#" = ink.
_FONT: dict[str, tuple[str, ...]] = {
    "0": ("###", "#.#", "#.#", "#.#", "###"),
    "1": (".#.", "##.", ".#.", ".#.", "###"),
    "2": ("###", "..#", "###", "#..", "###"),
    "3": ("###", "..#", ".##", "..#", "###"),
    "4": ("#.#", "#.#", "###", "..#", "..#"),
    "5": ("###", "#..", "###", "..#", "###"),
    "6": ("###", "#..", "###", "#.#", "###"),
    "7": ("###", "..#", ".#.", ".#.", ".#."),
    "8": ("###", "#.#", "###", "#.#", "###"),
    "9": ("###", "#.#", "###", "..#", "###"),
    "A": (".#.", "#.#", "###", "#.#", "#.#"),
    "B": ("##.", "#.#", "##.", "#.#", "##."),
    "C": (".##", "#..", "#..", "#..", ".##"),
    "D": ("##.", "#.#", "#.#", "#.#", "##."),
    "E": ("###", "#..", "##.", "#..", "###"),
    "F": ("###", "#..", "##.", "#..", "#.."),
    "G": (".##", "#..", "#.#", "#.#", ".##"),
    "H": ("#.#", "#.#", "###", "#.#", "#.#"),
    "I": ("###", ".#.", ".#.", ".#.", "###"),
    "J": ("..#", "..#", "..#", "#.#", ".#."),
    "K": ("#.#", "#.#", "##.", "#.#", "#.#"),
    "L": ("#..", "#..", "#..", "#..", "###"),
    "M": ("#.#", "###", "###", "#.#", "#.#"),
    "N": ("##.", "#.#", "#.#", "#.#", "#.#"),
    "O": (".#.", "#.#", "#.#", "#.#", ".#."),
    "P": ("##.", "#.#", "##.", "#..", "#.."),
    "Q": (".#.", "#.#", "#.#", "##.", ".##"),
    "R": ("##.", "#.#", "##.", "#.#", "#.#"),
    "S": (".##", "#..", ".#.", "..#", "##."),
    "T": ("###", ".#.", ".#.", ".#.", ".#."),
    "U": ("#.#", "#.#", "#.#", "#.#", "###"),
    "V": ("#.#", "#.#", "#.#", "#.#", ".#."),
    "W": ("#.#", "#.#", "###", "###", "#.#"),
    "X": ("#.#", "#.#", ".#.", "#.#", "#.#"),
    "Y": ("#.#", "#.#", ".#.", ".#.", ".#."),
    "Z": ("###", "..#", ".#.", "#..", "###"),
    " ": ("...", "...", "...", "...", "..."),
    "-": ("...", "...", "###", "...", "..."),
    ".": ("...", "...", "...", "...", ".#."),
    "?": ("##.", "..#", ".#.", "...", ".#."),
}


class _Canvas:
    def __init__(self, width: int, height: int) -> None:
        self.width = width
        self.height = height
        self.pixels = bytearray(bytes(WHITE) * (width * height))

    def rect(self, x0: int, y0: int, x1: int, y1: int, colour: Colour) -> None:
        x0, x1 = max(0, x0), min(self.width, x1)
        y0, y1 = max(0, y0), min(self.height, y1)
        if x0 >= x1:
            return
        row = bytes(colour) * (x1 - x0)
        for y in range(y0, y1):
            start = (y * self.width + x0) * 3
            self.pixels[start : start + len(row)] = row

    def text(self, x: int, y: int, text: str, scale: int, colour: Colour) -> None:
        for i, ch in enumerate(text.upper()):
            glyph = _FONT.get(ch, _FONT["?"])
            gx = x + i * 4 * scale
            for row, line in enumerate(glyph):
                for col, bit in enumerate(line):
                    if bit == "#":
                        self.rect(
                            gx + col * scale,
                            y + row * scale,
                            gx + (col + 1) * scale,
                            y + (row + 1) * scale,
                            colour,
                        )

    def png(self) -> bytes:
        raw = bytearray()
        stride = self.width * 3
        for y in range(self.height):
            raw.append(0)  # filter: none
            raw += self.pixels[y * stride : (y + 1) * stride]
        header = struct.pack(">IIBBBBB", self.width, self.height, 8, 2, 0, 0, 0)
        return (
            b"\x89PNG\r\n\x1a\n"
            + _chunk(b"IHDR", header)
            + _chunk(b"IDAT", zlib.compress(bytes(raw), 9))
            + _chunk(b"IEND", b"")
        )


def _chunk(kind: bytes, data: bytes) -> bytes:
    return (
        struct.pack(">I", len(data))
        + kind
        + data
        + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    )


def _text_width(text: str, scale: int) -> int:
    return max(0, len(text) * 4 * scale - scale)


def _wrap(text: str, width: int, max_lines: int) -> list[str]:
    """Split at spaces into at most ``max_lines`` lines of ``width`` characters."""
    lines: list[str] = []
    current = ""
    for word in text.split():
        while len(word) > width:
            if current:
                lines.append(current)
                current = ""
            lines.append(word[:width])
            word = word[width:]
        if not current:
            current = word
        elif len(current) + 1 + len(word) <= width:
            current += " " + word
        else:
            lines.append(current)
            current = word
    if current:
        lines.append(current)
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        lines[-1] = lines[-1][: max(0, width - 1)] + "."
    return lines


def bar_chart_png(bars: Sequence[tuple[str, int]], *, slot: int = 130, height: int = 260) -> bytes:
    """A PNG bar chart of ``(label, count)`` pairs, in the given order."""
    margin = 20
    width = max(240, margin * 2 + slot * max(1, len(bars)))
    canvas = _Canvas(width, height)
    label_scale, count_scale = 2, 3
    base = height - margin - 5 * label_scale * 2 - 12  # room for two label lines
    top = margin + 5 * count_scale + 8
    biggest = max((c for _, c in bars), default=0)
    canvas.rect(margin, base, width - margin, base + 2, INK)
    canvas.rect(margin, top, width - margin, top + 1, GRID)
    per_line = max(1, (slot - 8) // (4 * label_scale))
    for i, (label, count) in enumerate(bars):
        x = margin + i * slot
        bar_height = 0 if biggest == 0 else round((base - top) * count / biggest)
        canvas.rect(x + 15, base - bar_height, x + slot - 15, base, BAR)
        number = str(count)
        nx = x + (slot - _text_width(number, count_scale)) // 2
        canvas.text(nx, base - bar_height - 5 * count_scale - 6, number, count_scale, INK)
        for j, line in enumerate(_wrap(label.upper(), per_line, 2)):
            lx = x + (slot - _text_width(line, label_scale)) // 2
            canvas.text(lx, base + 8 + j * (5 * label_scale + 4), line, label_scale, INK)
    return canvas.png()
