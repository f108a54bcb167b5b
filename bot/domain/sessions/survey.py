"""The private booking survey: questions, answers, summaries."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from bot.domain.errors import InvalidInput
from bot.domain.sessions.rules import (
    MAX_ANSWER,
    MAX_LABEL,
    MAX_OPTION,
    MAX_OPTIONS,
    MAX_QUESTION,
    MAX_QUESTIONS,
)
from bot.textclean import clean_line, clean_text

EXPERIENCE_LEVELS = ("New to it", "A little experience", "Quite experienced", "Very experienced")

KINDS = ("text", "choice", "multi", "scale")
"""``text`` (written), ``choice`` (one option), ``multi`` (any options), ``scale`` (1 to 5)."""

SCALE = ("1", "2", "3", "4", "5")

MULTI_SEPARATOR = "; "
"""How the options chosen in a ``multi`` question are stored and shown (options never hold
``;`` or ``,``: those separate them when an organiser types them)."""

ACCESS_KEY = "access"
ACCESS_OTHER_KEY = "access_other"
ACCESS_KEYS = frozenset({ACCESS_KEY, ACCESS_OTHER_KEY})
"""Access needs: seen by organisers only, grouped by need, before the session."""

ACCESS_NEEDS = (
    "Captions",
    "BSL or another interpreter",
    "Breaks",
    "Materials in advance",
    "Easy read",
    "Camera off is fine",
)


@dataclass(frozen=True, slots=True)
class Question:
    key: str
    text: str
    label: str  # short (<= 45 characters) for the modal; ``text`` is shown below it if longer
    kind: str  # see KINDS
    options: tuple[str, ...] = ()
    required: bool = True

    @property
    def counted(self) -> bool:
        """Answers are options, counted per option in summaries (not written text)."""
        return self.kind in ("choice", "multi", "scale")

    @property
    def choices(self) -> tuple[str, ...]:
        """The options a member picks from (1 to 5 for a scale)."""
        return SCALE if self.kind == "scale" else self.options

    @property
    def is_access(self) -> bool:
        return self.key in ACCESS_KEYS

    def to_row(self, position: int) -> tuple[int, str, str, str, str, str, int]:
        return (
            position,
            self.key,
            self.text,
            self.label,
            self.kind,
            json.dumps(list(self.options), ensure_ascii=False),
            int(self.required),
        )


def _short_label(text: str, fallback: str) -> str:
    return text if len(text) <= MAX_LABEL else fallback


MAX_TOPIC = 60


def clean_topic(topic: str | None) -> str | None:
    """What the session is about, for the survey questions (``LinkedIn``); None if not given."""
    if topic is None:
        return None
    text = clean_line(topic, name="topic", max_length=4 * MAX_TOPIC, required=False).strip(" ?.!")
    if not text:
        return None
    if len(text) > MAX_TOPIC:
        raise InvalidInput(
            f"The topic can be at most {MAX_TOPIC} characters; it is used in the survey question "
            "“How much have you used … before?”. Try something short, like `LinkedIn`."
        )
    return text


def access_questions() -> list[Question]:
    """The access needs question (tick any) and a free-text "other" beside it, both optional.
    Organisers see the answers grouped by need before the session; never in public."""
    return [
        Question(
            ACCESS_KEY,
            "Do you have any access needs? Tick any that apply.",
            "Access needs (only organisers see this)",
            "multi",
            ACCESS_NEEDS,
            False,
        ),
        Question(
            ACCESS_OTHER_KEY,
            "Any other access need, in your own words (only organisers see this)",
            "Other access needs",
            "text",
            (),
            False,
        ),
    ]


def default_questions(topic: str | None = None) -> list[Question]:
    """The story's three questions (experience, what for, and what makes it difficult), then
    the access needs questions.

    ``topic`` (``LinkedIn``) makes them read naturally: "How much have you used LinkedIn
    before?"; without one they speak of "this topic" and "this session"."""
    topic = clean_topic(topic)
    if topic is not None:
        experience = f"How much have you used {topic} before?"
        experience_label = _short_label(experience, "How much have you used it before?")
        aims = f"What would you like to use {topic} for?"
    else:
        experience = "How much experience do you have with this topic?"
        experience_label = "How much experience do you have?"
        aims = "What would you like to get out of this session?"
    return [
        Question("experience", experience, experience_label, "choice", EXPERIENCE_LEVELS, True),
        Question(
            "aims",
            aims,
            _short_label(aims, "What would you like from this session?"),
            "text",
            (),
            False,
        ),
        Question(
            "barriers",
            "Is there anything that makes it difficult for you, or that we should know to support you?",
            "Anything we should know to support you?",
            "text",
            (),
            False,
        ),
        *access_questions(),
    ]


_CHOICES = re.compile(r"^(?P<text>.*?)\s*\[(?P<options>[^\[\]]*)\]\s*$")
_KIND = re.compile(r"^(?P<kind>text|choice|multi|scale)\s*:\s*", re.IGNORECASE)


def parse_question(raw: str, position: int, *, required: bool) -> Question:
    """``What for?`` (free text), ``How experienced? [New; Some; Lots]`` (a choice of one),
    ``multi: What for? [Jobs; Friends; News]`` (tick any), ``scale: How confident are you?``
    (1 to 5). ``text:`` and ``choice:`` may be written too."""
    text = " ".join(raw.split())
    kind_match = _KIND.match(text)
    kind = kind_match.group("kind").lower() if kind_match else ""
    if kind_match:
        text = text[kind_match.end() :]
    options: tuple[str, ...] = ()
    match = _CHOICES.match(text)
    if match and kind in ("", "choice", "multi"):
        text = match.group("text").strip()
        parts = [" ".join(p.split()) for p in re.split(r"[;,]", match.group("options"))]
        options = tuple(p for p in parts if p)
        least = 1 if kind == "multi" else 2
        if len(options) < least:
            raise InvalidInput(
                f"Question {position} needs at least {least} choices in brackets, like "
                "`How experienced are you? [New; Some experience; Very experienced]`."
            )
        if len(options) > MAX_OPTIONS or any(len(o) > MAX_OPTION for o in options):
            raise InvalidInput(
                f"Question {position} can have at most {MAX_OPTIONS} choices of up to "
                f"{MAX_OPTION} characters each."
            )
        if len({o.lower() for o in options}) != len(options):
            raise InvalidInput(f"Question {position} has the same choice twice.")
        kind = kind or "choice"
    elif kind in ("choice", "multi"):
        raise InvalidInput(
            f"Question {position} is a {kind} question: put its choices in brackets, like "
            f"`{kind}: What would you like to use it for? [Finding work; Keeping in touch]`."
        )
    kind = kind or "text"
    if not text:
        raise InvalidInput(f"Question {position} is empty. Please write the question.")
    if len(text) > MAX_QUESTION:
        raise InvalidInput(
            f"Question {position} is too long ({len(text)} characters; at most {MAX_QUESTION})."
        )
    return Question(
        f"q{position}", text, _short_label(text, f"Question {position}"), kind, options, required
    )


def parse_optional_positions(text: str | None, count: int) -> set[int]:
    """``"2, 3"`` -> {2, 3}: which questions may be left empty."""
    if text is None or not text.strip():
        return set()
    found: set[int] = set()
    for part in re.split(r"[,;\s]+", text.strip()):
        if not part:
            continue
        if not part.isdigit() or not 1 <= int(part) <= count:
            raise InvalidInput(
                f"`{part}` is not one of the question numbers (1 to {count}). "
                "Give the optional ones like `2, 3`."
            )
        found.add(int(part))
    return found


def build_questions(
    texts: Sequence[str | None], optional: str | None, *, access: bool = True
) -> list[Question]:
    """The organiser's questions in order, then (unless ``access`` is False) the access needs
    questions."""
    given = [t for t in texts if t is not None and t.strip()]
    if not given:
        raise InvalidInput("Please give at least one question.")
    extra = access_questions() if access else []
    if len(given) + len(extra) > MAX_QUESTIONS:
        raise InvalidInput(
            f"A survey can have at most {MAX_QUESTIONS} questions"
            + (f", {len(extra)} of them about access needs." if extra else ".")
        )
    optional_positions = parse_optional_positions(optional, len(given))
    return [
        parse_question(t, i, required=i not in optional_positions)
        for i, t in enumerate(given, start=1)
    ] + extra


def pages(questions: Sequence[Question], size: int) -> list[list[Question]]:
    """The questions split into form pages of at most ``size`` (Discord: 5 items a form)."""
    return [list(questions[i : i + size]) for i in range(0, len(questions), size)] or [[]]


def split_multi(answer: str) -> list[str]:
    """The options of a stored ``multi`` answer."""
    return [a.strip() for a in answer.split(MULTI_SEPARATOR.strip()) if a.strip()]


def validate_answers(
    questions: Sequence[Question], answers: Mapping[str, str | Sequence[str]]
) -> dict[str, str]:
    """Match answers to questions (by key or by the question's text); check required ones and
    choices. A ``multi`` answer is a list of options (or one text of options joined by ``;``).
    Returns ``{key: answer}`` with empty optional answers left out; a ``multi`` answer is its
    options in the question's order, joined by ``; ``."""
    by_name: dict[str, Question] = {}
    for q in questions:
        by_name[q.key.lower()] = q
        by_name[q.text.lower()] = q
        by_name[q.label.lower()] = q
    clean: dict[str, str] = {}
    for name, value in answers.items():
        question = by_name.get(str(name).strip().lower())
        if question is None:
            raise InvalidInput(f"`{str(name)[:40]}` is not one of this session's questions.")
        if question.kind == "multi":
            picked = split_multi(value) if isinstance(value, str) else list(value)
            canonical = {o.lower(): o for o in question.options}
            chosen = set()
            for item in picked:
                key = " ".join(str(item).split()).lower()
                if key not in canonical:
                    raise InvalidInput(
                        f"For “{question.label}” please tick any of: {', '.join(question.options)}."
                    )
                chosen.add(canonical[key])
            text = MULTI_SEPARATOR.join(o for o in question.options if o in chosen)
        else:
            if not isinstance(value, str):
                value = value[0] if len(value) == 1 else ""
            text = clean_text(
                value or "",
                name=f"answer to “{question.label}”",
                max_length=MAX_ANSWER,
                required=False,
            )
        if text and question.kind in ("choice", "scale"):
            canonical = {o.lower(): o for o in question.choices}
            if text.lower() not in canonical:
                raise InvalidInput(
                    f"For “{question.label}” please choose one of: {', '.join(question.choices)}."
                )
            text = canonical[text.lower()]
        if text:
            clean[question.key] = text
    missing = [q.label for q in questions if q.required and q.key not in clean]
    if missing:
        raise InvalidInput(f"Please answer “{missing[0]}”; it helps the facilitators prepare.")
    return clean


@dataclass(frozen=True, slots=True)
class ChoiceCount:
    option: str
    count: int


def group_answers(answers: Iterable[str]) -> list[tuple[str, int]]:
    """Identical written answers once each with how many gave them (ignoring case, spacing and
    a final full stop), most common first; each shown as its most common spelling."""
    groups: dict[str, dict[str, int]] = {}
    for answer in answers:
        shown = " ".join(answer.split())
        key = shown.casefold().rstrip(".!")
        spellings = groups.setdefault(key, {})
        spellings[shown] = spellings.get(shown, 0) + 1
    result = []
    for spellings in groups.values():
        shown = max(spellings.items(), key=lambda kv: (kv[1], kv[0]))[0]
        result.append((shown, sum(spellings.values())))
    result.sort(key=lambda item: (-item[1], item[0].casefold()))
    return result


def grouped_lines(answers: Sequence[str], limit: int, where: str) -> list[str]:
    """``- “Connecting with people” (27 people)`` lines, at most ``limit`` different answers."""
    groups = group_answers(answers)
    lines = [f"- “{text}”" + (f" ({n} people)" if n > 1 else "") for text, n in groups[:limit]]
    if len(groups) > limit:
        rest = sum(n for _, n in groups[limit:])
        lines.append(f"- … and {rest} more ({where})")
    return lines


@dataclass(frozen=True, slots=True)
class QuestionSummary:
    question: Question
    counts: tuple[ChoiceCount, ...] = ()  # choice, multi and scale questions: per option
    answers: tuple[str, ...] = ()  # text questions: the answers, without names, sorted
    unanswered: int = 0
    retained: int = 0  # text answers removed by the retention period (only their number is kept)

    @property
    def grouped(self) -> list[tuple[str, int]]:
        """The written answers with identical ones counted together."""
        return group_answers(self.answers)


@dataclass(frozen=True, slots=True)
class SurveySummary:
    responses: int
    questions: tuple[QuestionSummary, ...] = field(default_factory=tuple)

    @property
    def chart(self) -> QuestionSummary | None:
        """The first choice question (experience levels), drawn as a bar chart."""
        return next((q for q in self.questions if q.question.kind == "choice"), None)

    @property
    def charts(self) -> tuple[QuestionSummary, ...]:
        """Every question counted per option (choice, multi, scale), in order; the access
        needs are left out (organisers see them grouped by need in the digest)."""
        return tuple(q for q in self.questions if q.question.counted and not q.question.is_access)


def summarise_survey(
    questions: Sequence[Question], answers_by_member: Sequence[Mapping[str, str]]
) -> SurveySummary:
    """Counts per choice and the written answers, never who wrote them."""
    parts = []
    for q in questions:
        given = [a[q.key] for a in answers_by_member if a.get(q.key)]
        unanswered = len(answers_by_member) - len(given)
        if q.counted:
            if q.kind == "multi":  # each ticked option counts once per member
                given = [o for g in given for o in split_multi(g)]
            counts = tuple(ChoiceCount(o, sum(1 for g in given if g == o)) for o in q.choices)
            others = [g for g in given if g not in q.choices]  # options changed since
            if others:
                counts += tuple(ChoiceCount(o, others.count(o)) for o in sorted(set(others)))
            parts.append(QuestionSummary(q, counts=counts, unanswered=unanswered))
        else:
            parts.append(
                QuestionSummary(
                    q, answers=tuple(sorted(given, key=str.lower)), unanswered=unanswered
                )
            )
    return SurveySummary(len(answers_by_member), tuple(parts))


def merge_retained(
    summary: SurveySummary, retained: Sequence[tuple[str, str, int]]
) -> SurveySummary:
    """Add the counts kept after retention deleted the answers (``(key, answer, count)`` rows;
    ``("", "", n)`` is the number of people who answered)."""
    if not retained:
        return summary
    people = sum(n for key, answer, n in retained if key == "" and answer == "")
    parts = []
    for part in summary.questions:
        rows = [(answer, n) for key, answer, n in retained if key == part.question.key]
        if part.question.counted:
            counts = {c.option: c.count for c in part.counts}
            for answer, n in rows:
                picked = split_multi(answer) if part.question.kind == "multi" else [answer]
                for option in picked:
                    counts[option] = counts.get(option, 0) + n
            parts.append(
                QuestionSummary(
                    part.question,
                    counts=tuple(ChoiceCount(o, c) for o, c in counts.items()),
                    unanswered=part.unanswered,
                    retained=part.retained,
                )
            )
        else:
            parts.append(
                QuestionSummary(
                    part.question,
                    answers=part.answers,
                    unanswered=part.unanswered,
                    retained=part.retained + sum(n for _, n in rows),
                )
            )
    return SurveySummary(summary.responses + people, tuple(parts))


def survey_counts_text(summary: SurveySummary, *, pointer: str) -> str:
    """Numbers only, for a DM: how many chose each option, how many wrote something in each
    free-text question, and ``pointer`` to where organisers read the answers. No answer text:
    members write health and access needs here, and a DM is a copy the bot can't take back."""
    people = "person" if summary.responses == 1 else "people"
    lines = [
        f"Survey answers from {summary.responses} {people} with a place or on the waiting list."
    ]
    for part in summary.questions:
        lines.append(f"\n**{part.question.text}**")
        if part.question.kind == "choice":
            lines.extend(f"- {c.option}: {c.count}" for c in part.counts)
        else:
            written = len(part.answers) + part.retained
            lines.append(f"- {written} written answer(s): {pointer}")
        if part.unanswered:
            lines.append(f"- Not answered: {part.unanswered}")
    return "\n".join(lines)


def survey_summary_text(
    summary: SurveySummary, *, limit_per_question: int = 30, where: str = "in the CSV"
) -> str:
    """Plain text for the facilitators (no names); identical answers are counted together."""
    people = "person" if summary.responses == 1 else "people"
    lines = [
        f"Survey answers from {summary.responses} {people} with a place or on the waiting list."
    ]
    for part in summary.questions:
        lines.append(f"\n**{part.question.text}**")
        if part.question.kind == "multi":
            lines.append("(people could tick more than one)")
        if part.question.counted:
            for c in part.counts:
                lines.append(f"- {c.option}: {c.count}")
        else:
            lines.extend(grouped_lines(part.answers, limit_per_question, where))
            if part.retained:
                lines.append(
                    f"- {part.retained} earlier answer(s) were deleted after the "
                    "retention period; only their number is kept."
                )
            if not part.answers and not part.retained:
                lines.append("- No answers yet.")
        if part.unanswered:
            lines.append(f"- Not answered: {part.unanswered}")
    return "\n".join(lines)


def access_groups(
    questions: Sequence[Question], answers_by_member: Mapping[int, Mapping[str, str]]
) -> list[tuple[str, list[int]]]:
    """Access needs grouped by need, for the organisers: ``(need, [member ids])`` for each need
    somebody ticked (in the question's order), then ``(their words, [member id])`` for each
    "other" answer. Empty when the survey has no access question or nobody has a need."""
    keys = {q.key for q in questions}
    groups: list[tuple[str, list[int]]] = []
    access = next((q for q in questions if q.key == ACCESS_KEY), None)
    if access is not None:
        for need in access.options:
            who = [
                uid
                for uid, a in answers_by_member.items()
                if need in split_multi(a.get(ACCESS_KEY, ""))
            ]
            if who:
                groups.append((need, who))
    if ACCESS_OTHER_KEY in keys:
        for uid, a in answers_by_member.items():
            other = " ".join(a.get(ACCESS_OTHER_KEY, "").split())
            if other:
                groups.append((other, [uid]))
    return groups
