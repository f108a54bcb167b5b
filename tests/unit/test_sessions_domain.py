"""Pure session rules: capacity, times, survey questions and answers, summaries, the chart."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.domain.errors import InvalidInput
from bot.domain.sessions.evaluation import parse_rating, summarise_evaluations
from bot.domain.sessions.rules import (
    MAX_LABEL,
    MAX_QUESTION,
    book_button,
    capacity_line,
    digest_time,
    parse_capacity,
    parse_reminders,
    parse_session_duration,
    reminder_runs,
    unbook_enabled,
    validate_session_times,
)
from bot.domain.sessions.survey import (
    EXPERIENCE_LEVELS,
    MAX_TOPIC,
    access_groups,
    build_questions,
    default_questions,
    group_answers,
    parse_question,
    summarise_survey,
    survey_summary_text,
    validate_answers,
)
from bot.domain.sessions.texts import BUTTON_BOOK, BUTTON_JOIN_WAITING, POST_WAITING
from bot.render import fit_message
from cogs.sessions.render import public_post_fields, public_post_lines

NOW = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize("value", ["0", "-3", "many", "", "2.5", 0, -1, "1001", "22 places"])
def test_bad_capacity_is_refused_kindly(value: object) -> None:
    with pytest.raises(InvalidInput) as info:
        parse_capacity(value)  # type: ignore[arg-type]
    assert "place" in str(info.value)


@pytest.mark.parametrize(("value", "expected"), [("22", 22), (22, 22), (" 1 ", 1), ("+5", 5)])
def test_capacity(value: object, expected: int) -> None:
    assert parse_capacity(value) == expected  # type: ignore[arg-type]


def test_duration() -> None:
    assert parse_session_duration(None) == timedelta(hours=1)
    assert parse_session_duration("90m") == timedelta(minutes=90)
    assert parse_session_duration("1h30m") == timedelta(minutes=90)
    for bad in ("forever", "8d", "1m", "soon"):
        with pytest.raises(InvalidInput):
            parse_session_duration(bad)


def test_reminders() -> None:
    assert parse_reminders(None) == [timedelta(hours=24), timedelta(hours=1)]
    assert parse_reminders("1h, 48h") == [timedelta(hours=48), timedelta(hours=1)]
    assert parse_reminders("none") == []
    for bad in ("soon", "1h,2h,3h,4h,5h,6h", "40d"):
        with pytest.raises(InvalidInput):
            parse_reminders(bad)
    starts = NOW.timestamp() + 2 * 3600
    assert reminder_runs(starts, [86400, 3600], NOW.timestamp()) == [(3600, starts - 3600)]
    assert digest_time(starts, [86400, 3600], NOW.timestamp()) is None  # would be now: skipped
    later = NOW.timestamp() + 3 * 86400
    assert digest_time(later, [86400, 3600], NOW.timestamp()) == later - 86400 - 3600


def test_session_times() -> None:
    starts = NOW + timedelta(days=3)
    assert validate_session_times(starts=starts, closes=None, now=NOW) == starts
    assert (
        validate_session_times(starts=starts, closes=starts - timedelta(days=1), now=NOW) < starts
    )
    with pytest.raises(InvalidInput, match="past"):
        validate_session_times(starts=NOW - timedelta(minutes=1), closes=None, now=NOW)
    with pytest.raises(InvalidInput, match="after the session starts"):
        validate_session_times(starts=starts, closes=starts + timedelta(minutes=1), now=NOW)
    with pytest.raises(InvalidInput, match="past"):
        validate_session_times(starts=starts, closes=NOW - timedelta(hours=1), now=NOW)


def test_default_questions_fit_discord_limits() -> None:
    for topic in ("LinkedIn", None, "  ", "x" * MAX_TOPIC):
        questions = default_questions(topic)
        assert [q.key for q in questions] == [
            "experience",
            "aims",
            "barriers",
            "access",
            "access_other",
        ]
        assert all(len(q.label) <= MAX_LABEL and len(q.text) <= MAX_QUESTION for q in questions)
        assert questions[0].options == EXPERIENCE_LEVELS and questions[0].required
        assert not questions[1].required
        assert not questions[2].required  # nobody has to disclose a barrier
        assert questions[3].kind == "multi" and not questions[3].required
        assert not questions[4].required and all(q.is_access for q in questions[3:])


def test_default_questions_use_the_topic_not_the_title() -> None:
    linkedin = default_questions("LinkedIn")
    assert "LinkedIn" in linkedin[0].text and "LinkedIn" in linkedin[1].text
    plain = default_questions(None)
    assert plain[0].text != linkedin[0].text and plain[1].text != linkedin[1].text
    assert default_questions("  LinkedIn? ")[0].text == linkedin[0].text
    with pytest.raises(InvalidInput):
        default_questions("x" * (MAX_TOPIC + 1))


def test_book_button_says_waiting_list_when_full_and_greys_out_when_closed() -> None:
    open_free = book_button("booking open", confirmed=21, capacity=22, waiting=0)
    assert open_free.label is BUTTON_BOOK and open_free.enabled
    full = book_button("booking open", confirmed=22, capacity=22, waiting=0)
    assert full.label is BUTTON_JOIN_WAITING and full.enabled
    # Capacity lowered below the bookings, or people already waiting: a new booking waits.
    assert (
        book_button("booking open", confirmed=25, capacity=22, waiting=0).label
        is BUTTON_JOIN_WAITING
    )
    assert (
        book_button("booking open", confirmed=3, capacity=22, waiting=2).label
        is BUTTON_JOIN_WAITING
    )
    for state in ("booking closed", "happening now", "finished", "cancelled"):
        closed = book_button(state, confirmed=22, capacity=22, waiting=5)
        assert not closed.enabled and closed.label not in (BUTTON_BOOK, BUTTON_JOIN_WAITING)
    assert unbook_enabled("booking open") and unbook_enabled("booking closed")
    assert not any(unbook_enabled(s) for s in ("happening now", "finished", "cancelled"))


def test_identical_answers_are_grouped_with_their_count() -> None:
    answers = ["Connecting with people"] * 26 + ["connecting  with people.", "Jobs"]
    assert group_answers(answers) == [("Connecting with people", 27), ("Jobs", 1)]
    questions = default_questions("LinkedIn")
    summary = summarise_survey(questions, [{"experience": "New to it", "aims": a} for a in answers])
    text = survey_summary_text(summary)
    assert text.count("onnecting with people") == 1 and "27" in text
    assert summary.questions[1].grouped == [("Connecting with people", 27), ("Jobs", 1)]
    assert len(summary.questions[1].answers) == 28  # the answers themselves are all kept
    evaluation = summarise_evaluations([(5, "The demo", "")] * 4, attendees=22)
    assert evaluation.text().count("The demo") == 1


def test_fit_message_cuts_whole_lines_and_says_so() -> None:
    short, cut = fit_message("one\ntwo", "NOTE")
    assert (short, cut) == ("one\ntwo", False)
    text = "\n".join(f"- answer number {i}" for i in range(500))
    shown, cut = fit_message(text, "NOTE")
    assert cut and len(shown) <= 2000 and shown.endswith("NOTE")
    kept = shown.removesuffix("NOTE").strip().splitlines()
    assert kept == text.splitlines()[: len(kept)]  # whole lines only


def test_parse_question() -> None:
    q = parse_question("How often? [Never; Monthly, Weekly]", 2, required=False)
    assert (q.key, q.text, q.kind, q.options, q.required) == (
        "q2",
        "How often?",
        "choice",
        ("Never", "Monthly", "Weekly"),
        False,
    )
    long = parse_question("W" * 60 + "?", 1, required=True)
    assert long.label == "Question 1" and long.kind == "text"
    for bad in ("[a; b]", "Pick [one]", "Same [a; A]", "x" * 101):
        with pytest.raises(InvalidInput):
            parse_question(bad, 1, required=True)
    built = build_questions(["A?", None, "B? [x; y]"], optional="2", access=False)
    assert [(q.key, q.required) for q in built] == [("q1", True), ("q2", False)]
    with_access = build_questions(["A?"], optional=None)
    assert [q.key for q in with_access] == ["q1", "access", "access_other"]


def test_question_kinds() -> None:
    multi = parse_question("multi: What for? [Jobs; Friends, News]", 1, required=False)
    assert (multi.kind, multi.options) == ("multi", ("Jobs", "Friends", "News"))
    scale = parse_question("Scale: How confident are you?", 2, required=True)
    assert (scale.kind, scale.choices) == ("scale", ("1", "2", "3", "4", "5"))
    assert parse_question("text: Why? [not choices]", 3, required=True).kind == "text"
    with pytest.raises(InvalidInput):
        parse_question("multi: What for?", 1, required=True)  # no options
    answers = validate_answers([multi, scale], {"q1": ["news", "Jobs"], "q2": "4"})
    assert answers == {"q1": "Jobs; News", "q2": "4"}  # in the question's order
    with pytest.raises(InvalidInput):
        validate_answers([multi, scale], {"q1": ["Cats"], "q2": "4"})
    with pytest.raises(InvalidInput):
        validate_answers([multi, scale], {"q2": "6"})
    summary = summarise_survey(
        [multi, scale], [{"q1": "Jobs; News", "q2": "4"}, {"q1": "News", "q2": "5"}, {}]
    )
    assert [(c.option, c.count) for c in summary.questions[0].counts] == [
        ("Jobs", 1),
        ("Friends", 0),
        ("News", 2),
    ]
    assert [c.count for c in summary.questions[1].counts] == [0, 0, 0, 1, 1]
    assert summary.questions[0].unanswered == 1


def test_access_needs_are_grouped_by_need() -> None:
    questions = default_questions("LinkedIn")
    groups = access_groups(
        questions,
        {
            1: {"access": "Captions; Breaks"},
            2: {"access": "Captions", "access_other": "A quiet room"},
            3: {"experience": "New to it"},
        },
    )
    assert groups == [("Captions", [1, 2]), ("Breaks", [1]), ("A quiet room", [2])]
    assert access_groups(questions[:3], {1: {"experience": "New to it"}}) == []


def test_validate_answers() -> None:
    questions = default_questions("LinkedIn")
    assert validate_answers(
        questions, {"experience": "new to it", "aims": "  ", "barriers": "x"}
    ) == {"experience": "New to it", "barriers": "x"}
    by_text = validate_answers(questions, {questions[0].text: "Very experienced"})
    assert by_text == {"experience": "Very experienced"}
    for bad in (
        {},
        {"experience": "expert"},
        {"experience": "New to it", "age": "40"},
        {"experience": "New to it", "aims": "x" * 1001},
    ):
        with pytest.raises(InvalidInput):
            validate_answers(questions, bad)


def test_survey_summary_has_counts_and_no_names() -> None:
    questions = default_questions("LinkedIn")
    answers = [
        {"experience": "New to it", "aims": "Jobs", "barriers": "Anxiety in groups"},
        {"experience": "New to it", "aims": "Connecting with people"},
        {"experience": "Very experienced"},
    ]
    summary = summarise_survey(questions, answers)
    chart = summary.chart
    assert chart is not None
    assert [(c.option, c.count) for c in chart.counts] == [
        ("New to it", 2),
        ("A little experience", 0),
        ("Quite experienced", 0),
        ("Very experienced", 1),
    ]
    assert summary.questions[1].answers == ("Connecting with people", "Jobs")
    assert summary.questions[2].unanswered == 2
    text = survey_summary_text(summary)
    assert "New to it: 2" in text and "Anxiety in groups" in text and "<@" not in text


def test_public_post_lines_carry_counts_and_state() -> None:
    now = NOW.timestamp()
    common = {
        "starts_at": now + 3600,
        "ends_at": now + 7200,
        "closes_at": now + 1800,
        "capacity": 22,
        "priority_until": None,
    }
    fields = dict(public_post_lines(confirmed=12, waiting=3, cancelled=False, now=now, **common))
    assert fields["Places"] == "12 of 22 places booked, 3 on the waiting list"
    assert "How to book" in fields
    closes = int(common["closes_at"])  # type: ignore[call-overload]
    assert f"<t:{closes}:F>" in fields["How to book"] and f"<t:{closes}:R>" in fields["How to book"]
    # Once it has started (or was cancelled) the waiting list is no longer shown as live.
    for later, cancelled in ((now + 3700, False), (now + 7300, False), (now, True)):
        parts = [
            t
            for f in public_post_fields(
                confirmed=22, waiting=3, cancelled=cancelled, now=later, **common
            )
            for t, _ in f.parts
        ]
        assert POST_WAITING not in parts
    assert "Booking closed" in dict(
        public_post_lines(confirmed=1, waiting=0, cancelled=False, now=now + 1900, **common)
    )
    assert "Cancelled" in dict(
        public_post_lines(confirmed=1, waiting=0, cancelled=True, now=now, **common)
    )
    assert capacity_line(1, 1, 0) == "1 of 1 place booked"


def test_ratings_and_evaluation_summary() -> None:
    assert parse_rating("4") == 4 and parse_rating(5) == 5 and parse_rating("3: okay") == 3
    for bad in ("0", "6", "", "good"):
        with pytest.raises(InvalidInput):
            parse_rating(bad)
    summary = summarise_evaluations([(5, "Demo", ""), (4, "", "Slower")], attendees=22)
    assert summary.average == 4.5 and summary.ratings == (0, 0, 0, 1, 1)
    assert "2 of 22" in summary.text()
