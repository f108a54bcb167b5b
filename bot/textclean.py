"""Clean free text that people type (titles, labels, answers) before the bot stores or shows it.

Pure functions, no Discord. :func:`clean_text` is for multi-line fields, :func:`clean_line` for
single-line ones. Both:

* turn ``\\r\\n``, lone ``\\r`` and the other line breaks (VT, FF, NEL, U+2028, U+2029) into ``\\n``
  (or into a space where newlines are not allowed);
* remove NUL and every other C0/C1 control character (``\\n`` and ``\\t`` survive only where
  newlines are allowed; elsewhere they become spaces, so words are not glued together);
* remove the bidirectional controls that can make text read differently from how it is stored
  (U+202A-U+202E, U+2066-U+2069, U+200E, U+200F, U+061C), the byte order mark, the deprecated
  format characters U+206A-U+206F, interlinear annotation marks, lone surrogates and
  noncharacters;
* remove tag characters (U+E0000-U+E007F) unless they follow a black flag as part of an emoji
  flag sequence (so they cannot carry hidden text);
* normalise to NFC and strip blank characters from both ends.

Zero-width joiners and variation selectors are kept, so emoji sequences such as 👩‍👩‍👧 and ❤️
survive; they only count as *invisible* when deciding whether anything visible was typed.
Refusals are :class:`~bot.domain.errors.InvalidInput` with a message that names the field.
"""

from __future__ import annotations

import re
import unicodedata

from bot.domain.errors import InvalidInput

__all__ = ["clean_line", "clean_text", "has_visible_text"]

#: Bidirectional embedding, override, isolate and mark characters: always removed.
BIDI_CONTROLS = frozenset(
    {"\u061c", "\u200e", "\u200f"}
    | {chr(cp) for cp in range(0x202A, 0x202F)}
    | {chr(cp) for cp in range(0x2066, 0x206A)}
)

# Other format characters that never belong in what a person types here.
_REMOVED_FORMAT = frozenset(
    {"\ufeff"}  # byte order mark / deprecated zero-width no-break space
    | {chr(cp) for cp in range(0x206A, 0x2070)}  # deprecated: inhibit swapping, digit shapes...
    | {chr(cp) for cp in range(0xFFF9, 0xFFFC)}  # interlinear annotation anchors
)

# Every way of writing a line break, in the order they must be replaced ("\r\n" before "\r").
_LINE_BREAK = re.compile(r"\r\n|[\r\x0b\x0c\x85\u2028\u2029]")

# Kept where they are (they join or shape visible characters) but never count as visible.
_INVISIBLE = frozenset(
    {
        "\u034f",  # combining grapheme joiner
        "\u115f",  # Hangul choseong filler
        "\u1160",  # Hangul jungseong filler
        "\u17b4",  # Khmer vowel inherent AQ
        "\u17b5",  # Khmer vowel inherent AA
        "\u180b",  # Mongolian free variation selectors
        "\u180c",
        "\u180d",
        "\u180f",
        "\u2800",  # braille pattern blank
        "\u3164",  # Hangul filler
        "\uffa0",  # halfwidth Hangul filler
    }
    | {chr(cp) for cp in range(0xFE00, 0xFE10)}  # variation selectors 1-16
    | {chr(cp) for cp in range(0xE0100, 0xE01F0)}  # variation selectors 17-256
)

# Format characters that do draw something (prepended concatenation marks).
_VISIBLE_FORMAT = frozenset(
    {chr(cp) for cp in range(0x0600, 0x0606)}
    | {"\u06dd", "\u070f", "\u0890", "\u0891", "\u08e2", "\U000110bd", "\U000110cd"}
)

# Blank characters stripped from the two ends, besides whitespace.
_EDGE_BLANKS = frozenset(
    {"\u00ad", "\u115f", "\u1160", "\u180e", "\u200b", "\u2060", "\u2800", "\u3164", "\uffa0"}
)

_NOT_VISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zs", "Zl", "Zp"})

_BLACK_FLAG = "\U0001f3f4"
_TAG_FIRST, _TAG_LAST = 0xE0000, 0xE007F

_WHITESPACE_RUN = re.compile(r"\s+")


def _is_tag(ch: str) -> bool:
    return _TAG_FIRST <= ord(ch) <= _TAG_LAST


def _is_noncharacter(cp: int) -> bool:
    return 0xFDD0 <= cp <= 0xFDEF or (cp & 0xFFFE) == 0xFFFE


def _is_visible(ch: str) -> bool:
    """Whether ``ch`` draws something on its own."""
    if ch in _INVISIBLE or ch.isspace():
        return False
    if unicodedata.category(ch) in _NOT_VISIBLE_CATEGORIES:
        return ch in _VISIBLE_FORMAT
    return True


def has_visible_text(text: str) -> bool:
    """True when ``text`` has at least one character that is neither blank nor invisible."""
    return any(_is_visible(ch) for ch in text)


def _drop_controls(text: str, *, allow_newlines: bool) -> str:
    """Remove control, bidi and other unwanted format characters (line breaks already ``\\n``)."""
    out: list[str] = []
    for ch in text:
        cp = ord(ch)
        if ch in ("\n", "\t"):
            out.append(ch if allow_newlines else " ")
        elif ch in BIDI_CONTROLS or ch in _REMOVED_FORMAT or _is_noncharacter(cp):
            continue
        elif unicodedata.category(ch) in ("Cc", "Cs"):
            continue
        else:
            out.append(ch)
    return "".join(out)


def _drop_stray_tags(text: str) -> str:
    """Keep tag characters only in a run that directly follows a black flag (emoji flags)."""
    if not any(_is_tag(ch) for ch in text):
        return text
    out: list[str] = []
    anchored = False
    for ch in text:
        if _is_tag(ch):
            if anchored:
                out.append(ch)
            continue
        out.append(ch)
        anchored = ch == _BLACK_FLAG
    return "".join(out)


def _strip_blanks(text: str) -> str:
    """Strip whitespace and blank invisible characters from both ends."""
    start, end = 0, len(text)
    while start < end and (text[start].isspace() or text[start] in _EDGE_BLANKS):
        start += 1
    while end > start and (text[end - 1].isspace() or text[end - 1] in _EDGE_BLANKS):
        end -= 1
    return text[start:end]


def _field(name: str) -> str:
    return name.strip() or "text"


def _clean(
    text: str,
    *,
    name: str,
    max_length: int,
    allow_newlines: bool,
    required: bool,
    single_line: bool,
) -> str:
    if max_length < 1:
        raise ValueError("max_length must be at least 1")
    # Refuse absurd input before doing any work on it: even if most of it were invisible,
    # nothing this long can clean down to a field of max_length.
    if len(text) > 8 * max_length + 1024:
        raise InvalidInput(
            f"The {_field(name)} is far too long; please keep it to {max_length} characters "
            "or fewer."
        )
    cleaned = _LINE_BREAK.sub("\n", text)
    cleaned = _drop_controls(cleaned, allow_newlines=allow_newlines and not single_line)
    cleaned = _drop_stray_tags(cleaned)
    cleaned = unicodedata.normalize("NFC", cleaned)
    if single_line:
        cleaned = _WHITESPACE_RUN.sub(" ", cleaned)
    cleaned = _strip_blanks(cleaned)
    if not has_visible_text(cleaned):
        if required:
            raise InvalidInput(
                f"The {_field(name)} can't be empty (spaces and invisible characters don't "
                "count). Please type some visible text."
            )
        return ""
    if len(cleaned) > max_length:
        raise InvalidInput(
            f"The {_field(name)} is too long ({len(cleaned)} characters); please keep it to "
            f"{max_length} characters or fewer."
        )
    return cleaned


def clean_text(
    text: str,
    *,
    name: str,
    max_length: int,
    allow_newlines: bool = True,
    required: bool = True,
) -> str:
    """Return ``text`` cleaned for storing and showing (see the module docstring).

    ``name`` is the field as the person knows it (``"title"``, ``"answer"``); it appears in the
    refusal. ``max_length`` counts characters after cleaning. With ``allow_newlines=False``,
    line breaks and tabs become spaces. With ``required=False``, text with nothing visible in it
    gives ``""`` instead of a refusal.

    Raises :class:`~bot.domain.errors.InvalidInput` when nothing visible is left (and
    ``required``), or when the cleaned text is longer than ``max_length``.
    """
    return _clean(
        text,
        name=name,
        max_length=max_length,
        allow_newlines=allow_newlines,
        required=required,
        single_line=False,
    )


def clean_line(text: str, *, name: str, max_length: int, required: bool = True) -> str:
    """Like :func:`clean_text` for single-line fields (titles, labels, places).

    Line breaks and tabs become spaces and every run of whitespace becomes one space.
    """
    return _clean(
        text,
        name=name,
        max_length=max_length,
        allow_newlines=False,
        required=required,
        single_line=True,
    )
