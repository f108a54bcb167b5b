"""Bar charts drawn with matplotlib: PNG output, phone-friendly size, alt text, any script."""

from __future__ import annotations

import asyncio
import gc
import logging
import struct
import subprocess
import sys
import tracemalloc
import warnings

import pytest

from bot.chart import ALT_TEXT_LIMIT, Chart, _drawable, _fonts, bar_chart, describe_bars

SURVEY = [("Never used it", 7), ("A little", 10), ("Comfortable", 5)]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_size(png: bytes) -> tuple[int, int]:
    """Width and height from the IHDR chunk, which always comes first."""
    assert png.startswith(PNG_SIGNATURE)
    assert png[12:16] == b"IHDR"
    width, height = struct.unpack(">II", png[16:24])
    return width, height


def png_chunk_types(png: bytes) -> list[bytes]:
    kinds, at = [], len(PNG_SIGNATURE)
    while at < len(png):
        (length,) = struct.unpack(">I", png[at : at + 4])
        kinds.append(png[at + 4 : at + 8])
        at += 12 + length
    return kinds


def assert_phone_friendly(chart: Chart) -> tuple[int, int]:
    width, height = png_size(chart.png)
    assert 600 <= width <= 1200  # shown ~400 px wide on a phone: 2x for sharp text
    assert 120 <= height <= 2400
    return width, height


@pytest.fixture
def no_glyph_warnings(caplog: pytest.LogCaptureFixture):
    """Fail on any Python warning or matplotlib log warning (missing glyph, unknown font)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with caplog.at_level(logging.WARNING, logger="matplotlib"):
            yield
    assert [str(w.message) for w in caught] == []
    assert [r.getMessage() for r in caplog.records if r.name.startswith("matplotlib")] == []


def test_importing_the_module_does_not_import_matplotlib() -> None:
    code = "import sys, bot.chart; assert 'matplotlib' not in sys.modules, 'matplotlib imported'"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_story_survey_chart(no_glyph_warnings: None) -> None:
    chart = bar_chart("How experienced are you?", SURVEY, total=22)
    assert chart.png.startswith(PNG_SIGNATURE)
    width, height = assert_phone_friendly(chart)
    assert height <= width  # three short bars: a landscape picture, shown whole in the chat
    assert chart.alt_text == (
        "Bar chart: How experienced are you? 22 answers. "
        "Never used it: 7; A little: 10; Comfortable: 5."
    )
    assert chart.filename == "how-experienced-are-you.png"


def test_output_is_deterministic_and_carries_no_metadata() -> None:
    first = bar_chart("How experienced are you?", SURVEY, total=22)
    second = bar_chart("How experienced are you?", SURVEY, total=22)
    assert first == second
    assert png_chunk_types(first.png) == [b"IHDR", b"pHYs", b"IDAT", b"IEND"]


@pytest.mark.parametrize(
    "bars",
    [
        [("Dim o gwbl", 3), ("Ychydig bach ŵ ŷ", 8), ("Gweddol hyderus", 12)],
        [("Très à l'aise", 4), ("Ærøskøbing naïve café", 2), ("Łódź Ğ Ş", 1)],
        [("Уверенно", 2), ("Немного", 5), ("Ελληνικά", 3), ("العربية", 1), ("עברית", 1)],
        [
            ("Ready 👍", 6),
            ("🎉🎉", 2),
            ("❤️ love it", 3),
            ("👩\u200d💻 coding", 1),
            ("東京 Tokyo", 1),
        ],
    ],
    ids=["welsh", "accents", "other-alphabets", "emoji-and-cjk"],
)
def test_labels_in_any_script_render_without_glyph_warnings(
    bars: list[tuple[str, int]], no_glyph_warnings: None
) -> None:
    chart = bar_chart("Pa mor hyderus wyt ti? Ŵ ŷ é 👍", bars, subtitle="Sesiwn 3 · Caerdydd")
    assert_phone_friendly(chart)
    for label, value in bars:
        assert f"{label}: {value}" in chart.alt_text  # emoji stay in the words
    assert "Pa mor hyderus wyt ti? Ŵ ŷ é 👍" in chart.alt_text


def test_characters_no_font_can_draw_are_left_out_of_the_picture() -> None:
    _, covered = _fonts("normal")
    assert {ord(ch) for ch in "ŵŷŴŶâéñøЖλשب"} <= covered  # shipped with matplotlib
    for label in ["Ready 👍 🎉", "❤️ love it", "👩\u200d💻 coding", "東京 Tokyo", "plain"]:
        drawn = _drawable(label, covered)
        assert drawn
        assert all(ord(ch) in covered or ch == " " for ch in drawn), drawn
    if 0x1F44D not in covered:  # no colour-emoji font: the symbol's name stands in
        assert _drawable("👍", covered) == "thumbs up sign"
        assert _drawable("Ready 👍", covered) == "Ready"


def test_many_bars_render_and_alt_text_stays_within_discords_limit() -> None:
    bars = [(f"Option number {n} with a fairly long description of it", n % 7) for n in range(40)]
    chart = bar_chart("Which of these would you come to?", bars, total=40)
    assert_phone_friendly(chart)
    assert len(chart.alt_text) <= ALT_TEXT_LIMIT
    assert chart.alt_text.startswith("Bar chart: Which of these would you come to? 40 answers. ")
    assert "Option number 0 with a fairly long description of it: 0" in chart.alt_text
    assert chart.alt_text.endswith(" more bars.")


def test_alt_text_lists_every_bar_when_they_fit() -> None:
    bars = [(f"Session {n}", n) for n in range(1, 16)]
    text = describe_bars("Which sessions?", bars, subtitle="Spring term")
    assert text.startswith("Bar chart: Which sessions? Spring term. Session 1: 1; ")
    for label, value in bars:
        assert f"{label}: {value}" in text
    assert text.endswith("Session 15: 15.")


def test_alt_text_cut_counts_what_is_left_out() -> None:
    bars = [(f"Bar {n}", n) for n in range(10)]
    text = describe_bars("Title", bars, limit=80)
    assert len(text) <= 80
    assert text.startswith("Bar chart: Title. Bar 0: 0; ")
    shown = text.count(": ") - 1
    assert text.endswith(f"and {10 - shown} more bars.")


def test_zero_values_and_a_zero_total() -> None:
    chart = bar_chart("How experienced are you?", [(label, 0) for label, _ in SURVEY], total=0)
    assert_phone_friendly(chart)
    assert chart.alt_text.endswith("0 answers. Never used it: 0; A little: 0; Comfortable: 0.")
    some = bar_chart("Rate the session", [("1", 0), ("2", 0), ("3", 4), ("4", 9), ("5", 6)])
    assert "1: 0; 2: 0; 3: 4; 4: 9; 5: 6." in some.alt_text


def test_long_labels_and_a_long_title_wrap() -> None:
    bars = [
        ("I have never used it and I am not sure what it is for", 3),
        ("I use it now and then, mostly with help from family or friends", 9),
        ("Supercalifragilisticexpialidociouslylongwordwithoutanyspacesatall", 1),
    ]
    title = "A question that goes on for a long time, longer than one line on a phone " * 3
    chart = bar_chart(title, bars, total=13)
    assert_phone_friendly(chart)
    assert all(f"{label}: {value}" in chart.alt_text for label, value in bars)


@pytest.mark.parametrize("horizontal", [True, False])
def test_orientation_can_be_forced(horizontal: bool) -> None:
    chart = bar_chart("How experienced are you?", SURVEY, horizontal=horizontal)
    assert_phone_friendly(chart)


def test_dollar_signs_are_text_not_maths(no_glyph_warnings: None) -> None:
    chart = bar_chart("Budget $5 to $10", [("$5 – $10", 2), ("$x^2$", 1), ("50%", 3)])
    assert "$5 – $10: 2" in chart.alt_text


def test_no_bars_and_bad_values() -> None:
    empty = bar_chart("Nothing yet", [])
    assert_phone_friendly(empty)
    assert empty.alt_text == "Bar chart: Nothing yet. No bars."
    with pytest.raises(ValueError):
        bar_chart("Bad", [("a", -1)])
    with pytest.raises(ValueError):
        bar_chart("Bad", [("a", 1)], total=-3)


def test_filename_is_a_plain_ascii_slug() -> None:
    assert bar_chart("Pa mor hyderus wyt ti? Ŵŷ", [("a", 1)]).filename == (
        "pa-mor-hyderus-wyt-ti-wy.png"
    )
    assert bar_chart("東京 👍", [("a", 1)]).filename == "chart.png"


def test_rendering_many_charts_does_not_leak_memory() -> None:
    for _ in range(5):  # warm caches (fonts, glyphs) first
        bar_chart("How experienced are you?", SURVEY, total=22)
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for n in range(40):
            bar_chart(f"How experienced are you? ({n})", SURVEY, total=22)
        gc.collect()
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    # One leaked figure holds its ~2 MB pixel buffer; 40 of them would be ~80 MB.
    assert grown < 4_000_000


async def test_runs_in_a_worker_thread() -> None:
    chart = await asyncio.to_thread(bar_chart, "How experienced are you?", SURVEY, total=22)
    assert chart.png.startswith(PNG_SIGNATURE)
