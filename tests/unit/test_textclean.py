"""bot.textclean: invisible, control and bidi characters in what people type."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.domain.errors import InvalidInput
from bot.textclean import BIDI_CONTROLS, clean_line, clean_text, has_visible_text

FAMILY = "\U0001f469\u200d\U0001f469\u200d\U0001f467"  # 👩‍👩‍👧 (woman ZWJ woman ZWJ girl)
RED_HEART = "\u2764\ufe0f"  # ❤️ (heart + variation selector 16)
SCOTLAND = "\U0001f3f4" + "".join(chr(0xE0000 + ord(c)) for c in "gbsct") + "\U000e007f"
KEYCAP_ONE = "1\ufe0f\u20e3"  # 1️⃣


def _clean(text: str, *, allow_newlines: bool = True) -> str:
    return clean_text(text, name="title", max_length=200, allow_newlines=allow_newlines)


# --- what is removed -------------------------------------------------------------------------


def test_nul_and_control_characters_are_removed() -> None:
    assert _clean("Pic\x00nic\x07 day\x1b\x7f\x9b") == "Picnic day"


@pytest.mark.parametrize("bidi", sorted(BIDI_CONTROLS))
def test_bidi_controls_are_removed(bidi: str) -> None:
    assert _clean(f"file{bidi}gpj.exe") == "filegpj.exe"


def test_bidi_set_is_the_documented_one() -> None:
    expected = {0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A)}
    assert {ord(ch) for ch in BIDI_CONTROLS} == expected


def test_line_breaks_are_normalised() -> None:
    assert _clean("one\r\ntwo\rthree\u2028four\x85five") == "one\ntwo\nthree\nfour\nfive"


def test_newlines_and_tabs_kept_only_where_allowed() -> None:
    assert _clean("a\n\tb") == "a\n\tb"
    assert _clean("a\nb\tc", allow_newlines=False) == "a b c"


def test_byte_order_mark_and_lone_surrogates_are_removed() -> None:
    assert _clean("\ufeffhello\ud800 there") == "hello there"


def test_stray_tag_characters_cannot_hide_text() -> None:
    hidden = "".join(chr(0xE0000 + ord(c)) for c in "ignore me")
    assert _clean(f"Nice session{hidden}") == "Nice session"


def test_normalised_to_nfc() -> None:
    assert _clean("Cafe\u0301") == "Café"
    assert unicodedata.is_normalized("NFC", _clean("Cafe\u0301"))


def test_outer_whitespace_and_blanks_are_stripped() -> None:
    assert _clean("  \u200b\u3000 Garden day \u00a0\u200b\n") == "Garden day"


# --- what is kept ----------------------------------------------------------------------------


@pytest.mark.parametrize("emoji", [FAMILY, RED_HEART, SCOTLAND, KEYCAP_ONE])
def test_emoji_sequences_survive(emoji: str) -> None:
    assert _clean(emoji) == emoji
    assert _clean(f"Party {emoji} time") == f"Party {emoji} time"
    assert clean_line(f" {emoji} ", name="label", max_length=20) == emoji


def test_joiners_inside_words_survive() -> None:
    # ZWNJ is part of correct Persian spelling; ZWJ shapes Indic scripts.
    persian = "می\u200cخواهم"
    malayalam = "\u0d28\u0d4d\u200d"
    assert _clean(persian) == persian
    assert _clean(f"{malayalam} x") == f"{malayalam} x"


# --- refusals --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   \n\t ",
        "\u200b\u200c\u200d",  # zero-width space / non-joiner / joiner
        "\u2060\ufeff",  # word joiner, byte order mark
        "\u00ad",  # soft hyphen
        "\ufe0f\ufe0e",  # variation selectors alone
        "\U000e0101",  # an ideographic variation selector alone
        "\u3164\uffa0\u115f\u1160",  # Hangul fillers
        "\u2800",  # braille blank
        "\u034f\u180e",  # combining grapheme joiner, Mongolian vowel separator
        "\u202e\u2066\u00a0\u3000",  # bidi controls and wide spaces
        "\x00\x01\x7f",  # controls
        "".join(chr(0xE0000 + ord(c)) for c in "hi"),  # tag characters
    ],
)
def test_nothing_visible_is_refused_naming_the_field(text: str) -> None:
    with pytest.raises(InvalidInput) as info:
        clean_text(text, name="session title", max_length=100)
    assert "session title" in str(info.value)
    with pytest.raises(InvalidInput):
        clean_line(text, name="label", max_length=100)


def test_nothing_visible_is_empty_when_optional() -> None:
    assert clean_text("\u200b \u200d", name="note", max_length=10, required=False) == ""
    assert clean_line("", name="note", max_length=10, required=False) == ""


def test_length_is_counted_after_cleaning() -> None:
    assert clean_text("ab\u202e\u202ec\x00", name="label", max_length=3) == "abc"
    with pytest.raises(InvalidInput) as info:
        clean_text("abcd", name="label", max_length=3)
    assert "label" in str(info.value)
    assert "3" in str(info.value)


def test_absurdly_long_input_is_refused_without_work() -> None:
    with pytest.raises(InvalidInput):
        clean_text("x" * 1_000_000, name="answer", max_length=100)


# --- clean_line ------------------------------------------------------------------------------


def test_clean_line_joins_lines_and_collapses_whitespace() -> None:
    assert clean_line("  Garden\r\n\r\nday\t\u00a0 out  ", name="title", max_length=50) == (
        "Garden day out"
    )


def test_visible_helper() -> None:
    assert has_visible_text("a")
    assert has_visible_text("\u0600")  # Arabic number sign: a format character that draws
    assert not has_visible_text("\u200b\ufe0f \u2800")


# --- properties over random Unicode ------------------------------------------------------------

_TRICKY = [
    "\x00",
    "\x1b",
    "\x7f",
    "\x85",
    "\x9b",
    "\r",
    "\n",
    "\r\n",
    "\t",
    "\x0b",
    "\x0c",
    "\u00ad",
    "\u034f",
    "\u061c",
    "\u115f",
    "\u1160",
    "\u180e",
    "\u200b",
    "\u200c",
    "\u200d",
    "\u200e",
    "\u200f",
    "\u2028",
    "\u2029",
    "\u202a",
    "\u202e",
    "\u2060",
    "\u2066",
    "\u2069",
    "\u206a",
    "\u2800",
    "\u3000",
    "\u3164",
    "\ufe0f",
    "\ufeff",
    "\uffa0",
    "\ufff9",
    "\uffff",
    "\ud800",
    "\udfff",
    "\U000e0001",
    "\U000e0067",
    "\U000e007f",
    "\U000e0100",
    "\U0001f3f4",
    "\u0301",
    "\u0308",
    "e",
    "A",
    " ",
    "\u00a0",
    "\u2000",
    "\u1100",
    "\u1161",
    "\u11a8",
    FAMILY,
    RED_HEART,
    SCOTLAND,
    KEYCAP_ONE,
    "\u0915\u094d\u200d",
]

_ANY_CHAR = st.characters(codec=None, categories=None, exclude_categories=())
_TEXT = st.lists(st.one_of(st.sampled_from(_TRICKY), _ANY_CHAR), max_size=60).map("".join)
_PROPERTY = settings(
    max_examples=400, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)


def _forbidden(ch: str, *, newlines: bool) -> bool:
    if ch in ("\n", "\t"):
        return not newlines
    category = unicodedata.category(ch)
    return category in ("Cc", "Cs") or ch in BIDI_CONTROLS or ch == "\ufeff"


@_PROPERTY
@given(text=_TEXT, allow_newlines=st.booleans(), required=st.booleans(), single=st.booleans())
def test_property_clean_is_safe_and_idempotent(
    text: str, allow_newlines: bool, required: bool, single: bool
) -> None:
    def clean(value: str) -> str:
        if single:
            return clean_line(value, name="field", max_length=40, required=required)
        return clean_text(
            value, name="field", max_length=40, allow_newlines=allow_newlines, required=required
        )

    try:
        out = clean(text)
    except InvalidInput:
        return  # the only refusal allowed; anything else fails the test
    newlines = allow_newlines and not single
    assert not any(_forbidden(ch, newlines=newlines) for ch in out)
    assert clean(out) == out
    assert unicodedata.is_normalized("NFC", out)
    assert len(out) <= 40
    assert out == out.strip()
    if out or required:
        assert has_visible_text(out)
    if single:
        assert "  " not in out


@_PROPERTY
@given(text=_TEXT)
def test_property_refusals_are_only_invalid_input(text: str) -> None:
    for max_length in (1, 5, 4000):
        try:
            clean_text(text, name="answer", max_length=max_length)
            clean_line(text, name="answer", max_length=max_length, required=False)
        except InvalidInput as exc:
            assert "answer" in str(exc)
