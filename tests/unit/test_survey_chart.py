"""The survey summary's charts: drawn by matplotlib (bot/chart.py), one per counted question,
each a PNG sized for phones with alt text (the attachment's description) saying what it shows."""

from __future__ import annotations

import struct

from bot.domain.sessions.survey import (
    EXPERIENCE_LEVELS,
    default_questions,
    parse_question,
    summarise_survey,
)
from cogs.sessions.render import survey_charts

# The story's 22 bookings (an illustrative spread of experience).
STORY_SPREAD = {
    "New to it": 9,
    "A little experience": 7,
    "Quite experienced": 4,
    "Very experienced": 2,
}


def story_answers() -> list[dict[str, str]]:
    answers: list[dict[str, str]] = []
    for level, n in STORY_SPREAD.items():
        answers += [{"experience": level, "access": "Captions"} for _ in range(n)]
    return answers


def png_size(png: bytes) -> tuple[int, int]:
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert png[12:16] == b"IHDR"
    width, height = struct.unpack(">II", png[16:24])
    return width, height


async def test_the_story_survey_chart_is_a_phone_sized_png_with_alt_text() -> None:
    summary = summarise_survey(default_questions("LinkedIn"), story_answers())
    assert summary.responses == 22
    files = await survey_charts(summary, 1)
    assert len(files) == 1  # experience only: access needs are never charted
    [chart] = files
    data = chart.fp.read()
    width, height = png_size(data)
    assert width == 800 and 300 <= height <= 1600
    alt = chart.description or ""
    assert "How much have you used LinkedIn before?" in alt and "22 answers" in alt
    for level in EXPERIENCE_LEVELS:
        assert f"{level}: {STORY_SPREAD[level]}" in alt
    assert len(alt) <= 1024


async def test_every_counted_question_gets_a_chart_with_accents_in_its_labels() -> None:
    questions = [
        parse_question(
            "Pa mor hyderus ydych chi? [Dim o gwbl; Ychydig; Yn hyderus iawn]", 1, required=True
        ),
        parse_question("multi: Beth hoffech chi? [Swydd; Ffrindiau; Newyddion]", 2, required=False),
        parse_question("scale: Sut ŵyr chi?", 3, required=False),
        parse_question("Why?", 4, required=False),
    ]
    answers = [
        {"q1": "Ychydig", "q2": "Swydd; Newyddion", "q3": "4"},
        {"q1": "Yn hyderus iawn", "q2": "Newyddion"},
        {"q1": "Ychydig", "q4": "Because"},
    ]
    files = await survey_charts(summarise_survey(questions, answers), 2)
    assert len(files) == 3
    multi = files[1].description or ""
    assert "Newyddion: 2" in multi and "more than one" in multi
    assert "Sut ŵyr chi?" in (files[2].description or "")
    assert all(png_size(f.fp.read())[0] == 800 for f in files)


async def test_no_chart_before_anyone_answers() -> None:
    assert await survey_charts(summarise_survey(default_questions(None), []), 3) == []
