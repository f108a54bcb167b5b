"""Bar charts as PNG images, drawn with matplotlib's Agg renderer, sized for phones.

Discord shows an attached image about 400 px wide on a phone, so every chart is drawn 800 px wide
(twice that, for sharp text on high-density screens) with large type: the title, the category
labels and the value of every bar are readable without zooming. Up to six short labels get
upright bars; otherwise bars run sideways, with short labels beside them and long labels (wrapped)
above them. From 13 bars on the rows get thinner and past 25 the rest are counted in a note
rather than drawn. One colour-blind-safe blue is used for all bars (colour carries no meaning
here), each bar's value is written next to it, and there are no grid lines, ticks, legends or
frames.

Every chart comes with ``alt_text``, a plain-words description of the same numbers that fits in a
Discord attachment description, so nobody depends on seeing the picture.

Fonts: DejaVu Sans, then STIXGeneral, both installed with matplotlib, then any of a few common
system fonts (Noto) that happen to be present. Out of the box that draws Latin with any accent
(Welsh ŵ ŷ included), Greek, Cyrillic, Hebrew, Arabic and many symbols. A character none of them
can draw (colour emoji; Chinese or Japanese without a Noto CJK font) is left out of the picture,
never drawn as a box, and stays in the alt text; a label of nothing but emoji is drawn as the
emoji's Unicode name ("thumbs up sign").

matplotlib is imported inside :func:`bar_chart`, never when this module is imported, so the bot's
start-up does not pay for it. The first chart in a process pays the import (about 0.3-0.6 s) and
loading the fonts (60-90 ms); after that a chart takes about 40-60 ms (three bars) to 200-300 ms
(15 long labels) on one core, most of it in matplotlib's text layout and PNG compression.
Rendering is synchronous and CPU-bound: from async code run it in a worker thread,
``chart = await asyncio.to_thread(bar_chart, title, bars, total=n)`` (matplotlib's C code holds
the GIL, so the event loop runs slower, not stopped, meanwhile). Calls are serialised by a lock,
so concurrent threads are safe. The PNG carries no metadata, so the same
input always gives the same bytes.
"""

from __future__ import annotations

import io
import math
import re
import threading
import unicodedata
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.font_manager import FontProperties

__all__ = ["ALT_TEXT_LIMIT", "Chart", "bar_chart", "describe_bars"]

ALT_TEXT_LIMIT = 1024
"""Discord's limit on an attachment description, in characters."""

# Geometry, in output pixels. The image is WIDTH px wide and shown at about half that on a phone.
_DPI = 200
_WIDTH = 800
_PAD = 28
_TITLE_PX = 36
_SUBTITLE_PX = 27
_LABEL_PX = 28
_VALUE_PX = 28
_PERCENT_PX = 24
_LINE = 1.22  # line height as a multiple of the font size
_MAX_TITLE_LINES = 3
_MAX_LABEL_LINES = 3
_VERTICAL_MAX_BARS = 6
_VERTICAL_BAR_AREA = 330  # height of the tallest upright bar
_ROW_BAR_PX = 36  # thickness of a sideways bar
_ROW_GAP = 22
_COMPACT_FROM = 13  # bars; from here on, thinner one-line rows
_MAX_DRAWN = 25  # bars; beyond this the rest are counted in a note instead of drawn

# Colours: Okabe-Ito blue for the bars (distinct for every kind of colour vision, 5:1 on white),
# near-black text, a grey (7:1 on white) for the subtitle and percentages, a lighter grey axis.
_BAR = "#0072B2"
_INK = "#1B1B1B"
_MUTED = "#555555"
_AXIS = "#8A8A8A"

# Tried in order for every character; only those installed are used. DejaVu Sans and STIXGeneral
# ship with matplotlib, so a machine with nothing else still gets Latin (with every accent and
# Welsh's ŵ ŷ), Greek, Cyrillic, Hebrew, Arabic and many symbols.
_FAMILIES = (
    "DejaVu Sans",
    "Noto Sans",
    "Noto Sans CJK JP",
    "Noto Sans Symbols",
    "Noto Sans Symbols 2",
    "STIXGeneral",
)

_RENDER_LOCK = threading.Lock()


@dataclass(frozen=True)
class Chart:
    """A rendered chart: the PNG bytes, a plain-words description and a file name for upload."""

    png: bytes
    alt_text: str
    filename: str


def bar_chart(
    title: str,
    bars: Sequence[tuple[str, int]],
    *,
    subtitle: str | None = None,
    horizontal: bool | None = None,
    total: int | None = None,
) -> Chart:
    """Draw ``bars`` (label, value) in the given order as a bar chart under ``title``.

    ``total`` is how many people answered, when the bars count answers: it is shown under the
    title ("22 answers") and each bar also shows its share of it. ``subtitle`` is an extra line
    under the title. ``horizontal`` forces sideways (True) or upright (False) bars; by default
    upright bars are used for up to six short labels and sideways bars otherwise.

    Synchronous and CPU-bound (tens of milliseconds); run it with ``asyncio.to_thread``.
    Raises ``ValueError`` for a negative value or total.
    """
    if any(value < 0 for _, value in bars):
        raise ValueError("bar values must not be negative")
    if total is not None and total < 0:
        raise ValueError("total must not be negative")
    header = _header_line(subtitle, total)
    with _RENDER_LOCK:
        png = _render(title, bars, header, horizontal, total)
    return Chart(
        png=png,
        alt_text=describe_bars(title, bars, subtitle=subtitle, total=total),
        filename=_filename(title),
    )


def describe_bars(
    title: str,
    bars: Sequence[tuple[str, int]],
    *,
    subtitle: str | None = None,
    total: int | None = None,
    limit: int = ALT_TEXT_LIMIT,
) -> str:
    """A plain-words description of a bar chart, at most ``limit`` characters.

    For example: ``Bar chart: How experienced are you? 22 answers. Never used it: 7; A little: 10;
    Comfortable: 5.`` When the bars do not all fit, as many as fit are listed in order and the
    rest are counted ("...; Film night: 8; and 5 more bars.").
    """
    head = f"Bar chart: {_sentence(_one_line(title) or 'untitled')}"
    if subtitle and subtitle.strip():
        head += f" {_sentence(_one_line(subtitle))}"
    if total is not None:
        head += f" {_answers(total)}."
    if not bars:
        return _clip(f"{head} No bars.", limit)
    items = [f"{_clip(_one_line(label) or '(no label)', 80)}: {value}" for label, value in bars]
    full = f"{head} {'; '.join(items)}."
    if len(full) <= limit:
        return full
    shown: list[str] = []
    for item in items:
        rest = len(items) - len(shown) - 1
        tail = f"; and {_more(rest)}." if rest else "."
        if len(f"{head} {'; '.join([*shown, item])}{tail}") > limit:
            break
        shown.append(item)
    if not shown:
        return _clip(f"{head} {len(items)} bars, too many to list.", limit)
    return f"{head} {'; '.join(shown)}; and {_more(len(items) - len(shown))}."


def _more(rest: int) -> str:
    return "1 more bar" if rest == 1 else f"{rest} more bars"


# --- words -------------------------------------------------------------------------------------


def _header_line(subtitle: str | None, total: int | None) -> str:
    parts = []
    if subtitle and subtitle.strip():
        parts.append(_one_line(subtitle))
    if total is not None:
        parts.append(_answers(total))
    return " · ".join(parts)


def _answers(total: int) -> str:
    return f"{total} answer" if total == 1 else f"{total} answers"


def _one_line(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).split())


def _sentence(text: str) -> str:
    return text if text.endswith((".", "?", "!", ":", "…")) else text + "."


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: max(0, limit - 1)].rstrip() + "…"


def _filename(title: str) -> str:
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_title.lower()).strip("-")[:60].rstrip("-")
    return f"{slug or 'chart'}.png"


def _value_text(value: int, total: int | None) -> tuple[str, str]:
    """The count, and its share of ``total`` as a percentage (empty without a total)."""
    if not total:
        return str(value), ""
    return str(value), f"{math.floor(100 * value / total + 0.5)}%"


# --- glyph coverage ----------------------------------------------------------------------------


_EMOJI_GLUE = dict.fromkeys([0x200D, 0xFE0E, 0xFE0F])


@cache
def _fonts(weight: str) -> tuple[tuple[str, ...], frozenset[int]]:
    """The installed families of ``_FAMILIES`` and the code points they can draw together."""
    from matplotlib import font_manager
    from matplotlib.ft2font import FT2Font

    families: list[str] = []
    covered: set[int] = set()
    for family in _FAMILIES:
        prop = font_manager.FontProperties(family=family, weight=weight)
        try:
            found = font_manager.fontManager.findfont(prop, fallback_to_default=False)
        except ValueError:
            continue
        families.append(family)
        covered.update(FT2Font(found.path, face_index=found.face_index).get_charmap())
    return tuple(families), frozenset(covered)


def _drawable(text: str, covered: frozenset[int]) -> str:
    """``text`` on one line without the characters no installed font can draw.

    When nothing drawable is left but some symbols (emoji) were dropped, their Unicode names
    stand in for them, so a label of just "👍" is drawn as "thumbs up sign".
    """
    # Emoji joiners and presentation selectors mean nothing once the emoji are gone.
    text = _one_line(text.translate(_EMOJI_GLUE))
    kept = " ".join("".join(ch for ch in text if ord(ch) in covered or ch == " ").split())
    dropped = [
        unicodedata.name(ch, "").lower()
        for ch in text
        if unicodedata.category(ch) == "So" and ord(ch) not in covered
    ]
    if any(ch.isalnum() for ch in kept) or not dropped:
        return kept
    return " ".join(part for part in (kept, *dropped) if part)


# --- layout ------------------------------------------------------------------------------------


def _wrap(
    text: str, width: float, max_lines: int, measure: Callable[[str], float]
) -> tuple[list[str], bool]:
    """Break ``text`` into lines no wider than ``width`` px, at most ``max_lines`` of them.

    Returns the lines and whether a word had to be split or the text cut short.
    """
    words: list[str] = []
    for word in text.split():
        # Keep a lone dash or other punctuation with the word before it, not at a line's start.
        if words and not any(ch.isalnum() for ch in word):
            words[-1] += " " + word
        else:
            words.append(word)
    if not words:
        return [""], False
    lines: list[str] = []
    current = ""
    forced = False
    for word in words:
        candidate = f"{current} {word}" if current else word
        if measure(candidate) <= width:
            current = candidate
            continue
        if current:
            lines.append(current)
        current = word
        while len(current) > 1 and measure(current) > width:
            forced = True
            # The longest head of the word that fits (at least one character), by bisection.
            low, high = 1, len(current) - 1
            while low < high:
                middle = (low + high + 1) // 2
                if measure(current[:middle]) <= width:
                    low = middle
                else:
                    high = middle - 1
            lines.append(current[:low])
            current = current[low:]
    lines.append(current)
    if len(lines) > max_lines:
        forced = True
        lines = lines[:max_lines]
        last = lines[-1]
        while last and measure(last + "…") > width:
            last = last[:-1]
        lines[-1] = last.rstrip() + "…"
    return lines, forced


@dataclass(frozen=True)
class _Text:
    x: float
    y: float
    text: str
    px: float
    bold: bool = False
    colour: str = _INK
    ha: str = "left"
    va: str = "top"


@dataclass(frozen=True)
class _Box:
    x: float
    y: float
    w: float
    h: float
    colour: str = _BAR


_Op = _Text | _Box


@dataclass(frozen=True)
class _Fonts:
    """Font families and measuring functions for one rendering, all in output pixels."""

    regular: tuple[str, ...]
    bold: tuple[str, ...]
    covered: frozenset[int]
    bold_covered: frozenset[int]
    measure: Callable[[str, float, bool], float]

    def width(self, px: float, *, bold: bool = False) -> Callable[[str], float]:
        """A function giving the drawn width of a string at ``px`` pixels."""
        return lambda text: self.measure(text, px, bold)


@dataclass(frozen=True)
class _Bar:
    label: str  # as drawn: only characters the fonts can draw
    value: int
    count: str
    share: str  # "45%", or "" without a total


def _plan(
    title: str, bars: list[_Bar], header: str, horizontal: bool | None, fonts: _Fonts
) -> tuple[float, list[_Op]]:
    """Lay the chart out: the image height and what to draw where (pixels, y growing down)."""
    inner = _WIDTH - 2 * _PAD
    # Leave a little slack when wrapping: measuring and drawing can differ by a pixel or two.
    title_lines, _ = _wrap(
        _drawable(title, fonts.bold_covered) or "Chart",
        inner * 0.98,
        _MAX_TITLE_LINES,
        fonts.width(_TITLE_PX, bold=True),
    )
    header_lines = (
        _wrap(_drawable(header, fonts.covered), inner * 0.98, 2, fonts.width(_SUBTITLE_PX))[0]
        if header
        else []
    )
    ops: list[_Op] = []
    y = float(_PAD)
    for line in title_lines:
        ops.append(_Text(_PAD, y, line, _TITLE_PX, bold=True))
        y += _TITLE_PX * _LINE
    for line in header_lines:
        ops.append(_Text(_PAD, y, line, _SUBTITLE_PX, colour=_MUTED))
        y += _SUBTITLE_PX * _LINE
    y += 22
    if not bars:
        ops.append(_Text(_PAD, y, "Nothing to show yet.", _LABEL_PX, colour=_MUTED))
        return y + _LABEL_PX * _LINE + _PAD, ops
    if horizontal is not True:
        upright = _plan_upright(bars, y, fonts, force=horizontal is False)
        if upright is not None:
            bottom, more = upright
            return bottom + _PAD, ops + more
    bottom, more = _plan_sideways(bars, y, fonts)
    return bottom + _PAD, ops + more


def _plan_upright(
    bars: list[_Bar], top: float, fonts: _Fonts, *, force: bool
) -> tuple[float, list[_Op]] | None:
    """Upright bars with labels underneath, or None when the labels or values do not fit."""
    if len(bars) > _VERTICAL_MAX_BARS and not force:
        return None
    label_width = fonts.width(_LABEL_PX)
    count_width = fonts.width(_VALUE_PX, bold=True)
    share_width = fonts.width(_PERCENT_PX)
    column = (_WIDTH - 2 * _PAD) / len(bars)
    wrapped = [_wrap(bar.label, column - 12, 2, label_width) for bar in bars]
    fits = not any(forced for _, forced in wrapped) and all(
        max(count_width(b.count), share_width(b.share)) <= column - 8 for b in bars
    )
    if not (fits or force):
        return None
    biggest = max(bar.value for bar in bars)
    with_share = any(bar.share for bar in bars)
    area = _VERTICAL_BAR_AREA if biggest else 0
    base = top + _VALUE_PX * _LINE + (_PERCENT_PX * _LINE if with_share else 0) + area
    bar_width = min(column * 0.62, 150)
    label_step = _LABEL_PX * _LINE
    ops: list[_Op] = [_Box(_PAD, base, _WIDTH - 2 * _PAD, 2, _AXIS)]
    for index, (bar, (lines, _)) in enumerate(zip(bars, wrapped, strict=True)):
        centre = _PAD + column * (index + 0.5)
        length = area * bar.value / biggest if biggest else 0.0
        if length:
            ops.append(_Box(centre - bar_width / 2, base - length, bar_width, length))
        above = base - length - 6
        if bar.share:
            ops.append(
                _Text(
                    centre, above, bar.share, _PERCENT_PX, colour=_MUTED, ha="center", va="bottom"
                )
            )
            above -= _PERCENT_PX * _LINE
        ops.append(_Text(centre, above, bar.count, _VALUE_PX, bold=True, ha="center", va="bottom"))
        for number, line in enumerate(lines):
            ops.append(_Text(centre, base + 14 + number * label_step, line, _LABEL_PX, ha="center"))
    bottom = base + 14 + label_step * max(len(lines) for lines, _ in wrapped)
    return bottom, ops


def _plan_sideways(bars: list[_Bar], top: float, fonts: _Fonts) -> tuple[float, list[_Op]]:
    """Sideways bars, labels beside them when short, above them when long.

    From ``_COMPACT_FROM`` bars on the rows get thinner and a long label keeps to one line above
    its bar (cut short with "…" if need be); past ``_MAX_DRAWN`` bars the rest are not drawn but
    counted in a closing note, so the picture stays a size a phone can show.
    """
    inner = _WIDTH - 2 * _PAD
    label_width = fonts.width(_LABEL_PX)
    count_width = fonts.width(_VALUE_PX, bold=True)
    share_width = fonts.width(_PERCENT_PX)
    hidden = max(0, len(bars) - _MAX_DRAWN)
    if hidden:
        bars = bars[: _MAX_DRAWN - 1]
        hidden += 1
    compact = len(bars) >= _COMPACT_FROM
    thickness = _ROW_BAR_PX * 0.75 if compact else _ROW_BAR_PX
    gap = _ROW_GAP * 0.75 if compact else _ROW_GAP
    value_room = max(
        count_width(bar.count) + (share_width(bar.share) + 8 if bar.share else 0) for bar in bars
    )
    natural = max(label_width(bar.label) for bar in bars)
    beside = natural <= inner * 0.4
    label_step = _LABEL_PX * _LINE
    # Centre the glyphs rather than the line boxes: a line's leading lies below its glyphs.
    leading = (label_step - _LABEL_PX) / 2
    bar_left = _PAD + (natural + 16 if beside else 0)
    span = max(_WIDTH - _PAD - value_room - 12 - bar_left, 60)
    biggest = max(bar.value for bar in bars)
    ops: list[_Op] = []
    y = top
    for bar in bars:
        if beside:
            row = max(label_step, thickness)
            middle = y + row / 2
            label_top = middle - label_step / 2 + leading
            ops.append(_Text(bar_left - 16, label_top, bar.label, _LABEL_PX, ha="right"))
        else:
            lines, _ = _wrap(bar.label, inner, 1 if compact else _MAX_LABEL_LINES, label_width)
            for number, line in enumerate(lines):
                ops.append(_Text(_PAD, y + number * label_step, line, _LABEL_PX))
            middle = y + len(lines) * label_step + 2 + thickness / 2
            row = middle + thickness / 2 - y
        length = span * bar.value / biggest if biggest else 0.0
        ops.append(_Box(bar_left - 2, middle - thickness / 2, 2, thickness, _AXIS))
        if length:
            ops.append(_Box(bar_left, middle - thickness / 2, length, thickness))
        value_x = bar_left + length + 10
        ops.append(_Text(value_x, middle, bar.count, _VALUE_PX, bold=True, va="center_baseline"))
        if bar.share:
            share_x = value_x + count_width(bar.count) + 8
            ops.append(
                _Text(share_x, middle, bar.share, _PERCENT_PX, colour=_MUTED, va="center_baseline")
            )
        y += row + gap
    if hidden:
        note = f"… and {hidden} more, not drawn"
        ops.append(_Text(bar_left, y + 4, note, _SUBTITLE_PX, colour=_MUTED))
        y += _SUBTITLE_PX * _LINE + 4 + gap
    return y - gap, ops


def _render(
    title: str,
    bars: Sequence[tuple[str, int]],
    header: str,
    horizontal: bool | None,
    total: int | None,
) -> bytes:
    """Lay out and draw the chart; return the PNG bytes. Imports matplotlib on first use."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg, RendererAgg
    from matplotlib.figure import Figure
    from matplotlib.font_manager import FontProperties
    from matplotlib.patches import Rectangle

    regular, covered = _fonts("normal")
    bold, bold_covered = _fonts("bold")
    # matplotlib's backend_agg module has no type annotations (no stub file), hence the ignores.
    measurer = RendererAgg(_WIDTH, 100, _DPI)  # type: ignore[no-untyped-call]  # matplotlib untyped

    def properties(px: float, is_bold: bool) -> FontProperties:
        return FontProperties(
            family=list(bold if is_bold else regular),
            weight="bold" if is_bold else "normal",
            size=px * 72 / _DPI,
        )

    @cache
    def measure(text: str, px: float, is_bold: bool) -> float:
        prop = properties(px, is_bold)
        size = measurer.get_text_width_height_descent(text, prop, ismath=False)  # type: ignore[no-untyped-call]  # matplotlib untyped
        return float(size[0])

    fonts = _Fonts(regular, bold, covered, bold_covered, measure)
    drawn = [
        _Bar(_drawable(label, covered) or f"Bar {number}", value, *_value_text(value, total))
        for number, (label, value) in enumerate(bars, start=1)
    ]
    bottom, ops = _plan(title, drawn, header, horizontal, fonts)
    height = round(bottom)

    fig = Figure(figsize=(_WIDTH / _DPI, height / _DPI), dpi=_DPI, facecolor="white")
    FigureCanvasAgg(fig)  # draw with Agg whatever backend the process has chosen elsewhere
    ax = fig.add_axes((0.0, 0.0, 1.0, 1.0))
    ax.set_xlim(0, _WIDTH)
    ax.set_ylim(height, 0)
    ax.set_axis_off()
    for op in ops:
        if isinstance(op, _Box):
            ax.add_patch(Rectangle((op.x, op.y), op.w, op.h, facecolor=op.colour, edgecolor="none"))
        else:
            ax.text(
                op.x,
                op.y,
                op.text,
                fontproperties=properties(op.px, op.bold),
                color=op.colour,
                ha=op.ha,
                va=op.va,
                parse_math=False,
            )
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        # Characters without a glyph were already removed (see _drawable), so this only keeps a
        # corner case (a font listing a glyph it then cannot load) out of the logs. The filter
        # is process-wide while it lasts, and matches nothing but this one warning.
        warnings.filterwarnings(
            "ignore", message=r"Glyph .* missing from font", category=UserWarning
        )
        fig.savefig(buffer, format="png", dpi=_DPI, metadata={"Software": None})
    fig.clear()
    return buffer.getvalue()
