from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.errors import InvalidInput
from bot.timeparse import (
    MAX_AHEAD,
    NonexistentTime,
    ParsedTime,
    bounded_int,
    parse_duration,
    parse_offsets,
    parse_when,
    parse_when_detailed,
    validate_timezone,
)

NOW = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)


def test_absolute_in_server_zone() -> None:
    # London is UTC+0 in winter, New York UTC-5.
    assert parse_when("2026-12-03 14:00", tz="Europe/London", now=NOW) == datetime(
        2026, 12, 3, 14, 0, tzinfo=UTC
    )
    assert parse_when("2026-12-03 14:00", tz="America/New_York", now=NOW) == datetime(
        2026, 12, 3, 19, 0, tzinfo=UTC
    )


def test_iso_with_offset() -> None:
    assert parse_when("2026-12-03T14:00+01:00", tz="Europe/London", now=NOW) == datetime(
        2026, 12, 3, 13, 0, tzinfo=UTC
    )


@pytest.mark.parametrize(
    ("text", "delta"),
    [
        ("in 90 minutes", timedelta(minutes=90)),
        ("in 2 hours", timedelta(hours=2)),
        ("in 1 minute", timedelta(minutes=1)),
        ("in 3 days", timedelta(days=3)),
    ],
)
def test_relative(text: str, delta: timedelta) -> None:
    assert parse_when(text, tz="Europe/London", now=NOW) == NOW + delta


def test_tomorrow() -> None:
    assert parse_when("tomorrow 14:00", tz="Europe/London", now=NOW) == datetime(
        2026, 11, 27, 14, 0, tzinfo=UTC
    )


@pytest.mark.parametrize("text", ["yesterday", "not a date", "2020-01-01 10:00", ""])
def test_refused_with_example(text: str) -> None:
    with pytest.raises(InvalidInput) as info:
        parse_when(text, tz="Europe/London", now=NOW)
    assert "in 90 minutes" in str(info.value)


def test_durations_and_offsets() -> None:
    assert parse_duration("90m") == timedelta(minutes=90)
    assert parse_duration("1h30m") == timedelta(minutes=90)
    assert parse_offsets("48h, 24h, 2h") == [
        timedelta(hours=48),
        timedelta(hours=24),
        timedelta(hours=2),
    ]
    for bad in ("forever", "soon", "", "5x"):
        with pytest.raises(InvalidInput):
            parse_duration(bad)


def test_timezones() -> None:
    assert validate_timezone("Europe/Dublin").key == "Europe/Dublin"
    with pytest.raises(InvalidInput):
        validate_timezone("Mars/Olympus")


# --- far future, huge numbers (security review, defect 1) -------------------------------------

LONDON = "Europe/London"
SUMMER = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)  # before both 2026-27 clock changes


@pytest.mark.parametrize(
    ("text", "tz"),
    [
        ("9999-12-31 23:00", "Europe/London"),
        ("9999-12-31 23:00", "America/New_York"),  # overflowed converting to UTC
        ("9999-12-31T23:59-05:00", "Europe/London"),  # ISO with an offset, past year 9999 in UTC
        ("in 999999999999 days", "Europe/London"),
        ("in 9999999 weeks", "Europe/London"),  # seven digits
        ("in 1" + "0" * 40 + " minutes", "Europe/London"),  # float -> inf
        ("in 1" + "0" * 5000 + " minutes", "Europe/London"),  # absurd digit count
        ("31 december 9999", "Europe/London"),  # the dateparser fallback
    ],
)
def test_far_future_and_huge_numbers_are_refused_kindly(text: str, tz: str) -> None:
    with pytest.raises(InvalidInput) as info:
        parse_when(text, tz=tz, now=NOW)
    assert "in 90 minutes" in str(info.value)  # says what to type instead


def test_far_past_is_refused_without_overflow() -> None:
    with pytest.raises(InvalidInput):
        parse_when("0001-01-01 00:00", tz="Asia/Tokyo", now=NOW, future=False)


def test_horizon_is_two_years_and_can_be_overridden() -> None:
    assert MAX_AHEAD == timedelta(days=2 * 366)
    inside = NOW + MAX_AHEAD - timedelta(minutes=1)
    assert parse_when(inside.isoformat(), tz=LONDON, now=NOW) == inside
    beyond = NOW + MAX_AHEAD + timedelta(minutes=1)
    with pytest.raises(InvalidInput) as info:
        parse_when(beyond.isoformat(), tz=LONDON, now=NOW)
    assert "2 years" in str(info.value)
    assert parse_when("in 30 days", tz=LONDON, now=NOW, max_ahead=timedelta(days=31)) == (
        NOW + timedelta(days=30)
    )
    with pytest.raises(InvalidInput):
        parse_when("in 3 days", tz=LONDON, now=NOW, max_ahead=timedelta(days=2))
    assert parse_when("2040-01-01 10:00", tz=LONDON, now=NOW, max_ahead=timedelta(days=9000)) == (
        datetime(2040, 1, 1, 10, 0, tzinfo=UTC)
    )


def test_six_digit_amounts_still_work() -> None:
    assert parse_when("in 999999 minutes", tz=LONDON, now=NOW) == NOW + timedelta(minutes=999999)
    assert parse_when("in 1.5 hours", tz=LONDON, now=NOW) == NOW + timedelta(minutes=90)


@pytest.mark.parametrize(
    "text", ["999999999999w", "1" * 20 + "d", "9" * 5000 + "m", "1000000m", "999999w", "1m" * 300]
)
def test_huge_durations_are_refused_kindly(text: str) -> None:
    with pytest.raises(InvalidInput):
        parse_duration(text)
    with pytest.raises(InvalidInput):
        parse_offsets(f"1h, {text}")


def test_duration_bounds() -> None:
    assert parse_duration("999999m") == timedelta(minutes=999999)
    assert parse_duration("52w") == timedelta(weeks=52)
    with pytest.raises(InvalidInput):
        parse_duration("3d", maximum=timedelta(days=2))
    assert parse_duration("3d", maximum=timedelta(days=3)) == timedelta(days=3)
    assert parse_offsets("2h, 2h,1h", maximum=timedelta(hours=2)) == [
        timedelta(hours=2),
        timedelta(hours=1),
    ]
    with pytest.raises(InvalidInput):
        parse_offsets(", ".join(f"{n}m" for n in range(1, 30)))  # too many reminder times


def test_bounded_int() -> None:
    assert bounded_int(" 42 ", name="places", minimum=1, maximum=50) == 42
    assert bounded_int("-3", name="shift", minimum=-10, maximum=10) == -3
    assert bounded_int("+7", name="places", minimum=1, maximum=50) == 7
    assert bounded_int("００７", name="places", minimum=1, maximum=50) == 7  # full-width digits
    assert bounded_int(str(2**63 - 1), name="id", minimum=0, maximum=2**70) == 2**63 - 1
    for bad in ("", "abc", "4.5", "1e3", "0x10", "51", "0", str(2**63), "9" * 5000, "1 000 000x"):
        with pytest.raises(InvalidInput) as info:
            bounded_int(bad, name="places", minimum=1, maximum=50)
        assert "places" in str(info.value)
        assert "50" in str(info.value)
    with pytest.raises(InvalidInput):
        bounded_int(str(-(2**63) - 1), name="shift", minimum=-(2**80), maximum=0)
    with pytest.raises(ValueError):
        bounded_int("1", name="places", minimum=5, maximum=1)


# --- clock changes (security review, defect 2) ------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["2027-03-28 01:30", "2027-03-28T01:30:00", "march 28 2027 1:30am", "tomorrow 01:30"],
)
def test_spring_forward_gap_is_refused_with_nearest_times(text: str) -> None:
    now = datetime(2027, 3, 27, 12, 0, tzinfo=UTC)
    with pytest.raises(NonexistentTime) as info:
        parse_when(text, tz=LONDON, now=now)
    error = info.value
    assert isinstance(error, InvalidInput)
    before, after = error.suggestions
    assert (before.replace(tzinfo=None), after.replace(tzinfo=None)) == (
        datetime(2027, 3, 28, 0, 59),
        datetime(2027, 3, 28, 2, 0),
    )
    assert "00:59" in str(error)
    assert "02:00" in str(error)
    assert LONDON in str(error)
    # Both suggestions are real times, either side of the gap.
    for suggestion in (before, after):
        stamp = suggestion.strftime("%Y-%m-%d %H:%M")
        assert stamp in str(error)
        assert parse_when(stamp, tz=LONDON, now=now) == suggestion.astimezone(UTC)


def test_gap_elsewhere_new_york() -> None:
    with pytest.raises(NonexistentTime) as info:
        parse_when("2027-03-14 02:30", tz="America/New_York", now=SUMMER)
    assert [s.strftime("%H:%M") for s in info.value.suggestions] == ["01:59", "03:00"]


def test_gap_refusal_does_not_hide_a_time_in_the_past() -> None:
    with pytest.raises(InvalidInput) as info:
        parse_when("2026-03-29 01:30", tz=LONDON, now=SUMMER)
    assert not isinstance(info.value, NonexistentTime)


@pytest.mark.parametrize(
    "text", ["2026-10-25 01:30", "2026-10-25T01:30", "october 25 2026 1:30am", "tomorrow 1:30am"]
)
def test_fall_back_takes_the_first_and_says_so(text: str) -> None:
    now = datetime(2026, 10, 24, 12, 0, tzinfo=UTC)
    first = datetime(2026, 10, 25, 0, 30, tzinfo=UTC)  # 01:30 BST
    second = datetime(2026, 10, 25, 1, 30, tzinfo=UTC)  # 01:30 GMT
    parsed = parse_when_detailed(text, tz=LONDON, now=now)
    assert parsed.when == first
    assert parsed.other == second
    assert parsed.ambiguous_note is not None
    for fact in ("+01:00", "+00:00", "00:30", "01:30", "BST", "GMT"):
        assert fact in parsed.ambiguous_note
    assert parse_when(text, tz=LONDON, now=now) == first


def test_fall_back_second_occurrence_can_be_typed_with_its_offset() -> None:
    now = datetime(2026, 10, 24, 12, 0, tzinfo=UTC)
    parsed = parse_when_detailed("2026-10-25T01:30+00:00", tz=LONDON, now=now)
    assert parsed == ParsedTime(datetime(2026, 10, 25, 1, 30, tzinfo=UTC))


def test_fall_back_uses_the_second_when_only_it_is_still_to_come() -> None:
    now = datetime(2026, 10, 25, 0, 45, tzinfo=UTC)  # 01:45 BST: the first 01:30 has passed
    parsed = parse_when_detailed("today 01:30", tz=LONDON, now=now)
    assert parsed.when == datetime(2026, 10, 25, 1, 30, tzinfo=UTC)
    assert parsed.other == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
    assert parsed.ambiguous_note is not None
    past = parse_when_detailed("today 01:30", tz=LONDON, now=now, future=False)
    assert past.when == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)


def test_unambiguous_times_have_no_note() -> None:
    parsed = parse_when_detailed("2026-12-03 14:00", tz=LONDON, now=NOW)
    assert parsed == ParsedTime(datetime(2026, 12, 3, 14, 0, tzinfo=UTC))


# --- odd characters in typed times -----------------------------------------------------------


def test_invisible_and_full_width_characters_in_times() -> None:
    assert parse_when("2026-12-03 14:00\u202e\u200b", tz=LONDON, now=NOW) == datetime(
        2026, 12, 3, 14, 0, tzinfo=UTC
    )
    assert parse_when("２０２６-１２-０３ １４：００", tz=LONDON, now=NOW) == datetime(
        2026, 12, 3, 14, 0, tzinfo=UTC
    )


def test_refusals_quote_the_input_safely() -> None:
    with pytest.raises(InvalidInput) as info:
        parse_when("`@everyone` " + "x" * 500, tz=LONDON, now=NOW)
    assert "x" * 100 not in str(info.value)
    with pytest.raises(InvalidInput) as info:
        parse_when("soon `@everyone`", tz=LONDON, now=NOW)
    assert "`@everyone`" not in str(info.value)


def test_very_long_text_is_refused_before_any_work() -> None:
    huge = "\ufdfa" * 1_000_000  # NFKC would make this 18 million characters
    for attempt in (
        lambda: parse_when(huge, tz=LONDON, now=NOW),
        lambda: parse_duration(huge),
        lambda: parse_offsets(huge),
        lambda: bounded_int(huge, name="places", minimum=1, maximum=50),
        lambda: validate_timezone(huge),
    ):
        with pytest.raises(InvalidInput):
            attempt()


# --- never anything but InvalidInput --------------------------------------------------------

_PIECES = [
    "in ",
    "tomorrow ",
    "today ",
    "at ",
    " ",
    "-",
    ":",
    ".",
    "T",
    "Z",
    "+",
    "am",
    "pm",
    "h",
    "m",
    "d",
    "w",
    "s",
    "minutes",
    "days",
    "weeks",
    "9999",
    "0001",
    "2026",
    "2027",
    "03-28",
    "10-25",
    "01:30",
    "23:59",
    "99",
    "0",
    "1",
    "9" * 7,
    "9" * 25,
    "\u202e",
    "\u200b",
    "\x00",
    "１",
    "٣",
    ",",
    "e400",
]
_TIMEISH = st.lists(
    st.one_of(st.sampled_from(_PIECES), st.characters(codec="utf-8")), max_size=12
).map("".join)
_ZONES = st.sampled_from(
    [
        "Europe/London",
        "America/New_York",
        "Asia/Tokyo",
        "Pacific/Apia",
        "Pacific/Kiritimati",
        "Australia/Lord_Howe",
        "UTC",
    ]
)
_NOWS = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(text=_TIMEISH, tz=_ZONES, now=_NOWS, future=st.booleans())
def test_property_typed_times_only_raise_invalid_input(
    text: str, tz: str, now: datetime, future: bool
) -> None:
    try:
        parsed = parse_when_detailed(text, tz=tz, now=now, future=future)
    except InvalidInput:
        return
    assert parsed.when.utcoffset() == timedelta(0)
    assert parsed.when - now <= MAX_AHEAD
    if future:
        assert parsed.when > now


@settings(max_examples=300, deadline=None, derandomize=True)
@given(text=_TIMEISH)
def test_property_durations_and_numbers_only_raise_invalid_input(text: str) -> None:
    for attempt in (
        lambda: parse_duration(text),
        lambda: parse_offsets(text),
        lambda: bounded_int(text, name="places", minimum=-(2**70), maximum=2**70),
    ):
        try:
            attempt()
        except InvalidInput:
            pass
