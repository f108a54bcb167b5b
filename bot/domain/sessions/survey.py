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


@dataclass(frozen=True, slots=True)
class Question:
    key: str
    text: str
    label: str  # short (<= 45 characters) for the modal; ``text`` is shown below it if longer
    kind: str  # 'choice' or 'text'
    options: tuple[str, ...] = ()
    required: bool = True

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


def default_questions(topic: str | None = None) -> list[Question]:
    """The story's three questions: experience, what for, and what makes it difficult.

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
    ]


_CHOICES = re.compile(r"^(?P<text>.*?)\s*\[(?P<options>[^\[\]]*)\]\s*$")


def parse_question(raw: str, position: int, *, required: bool) -> Question:
    """``What for?`` (free text) or ``How experienced? [New; Some; Lots]`` (a choice)."""
    text = " ".join(raw.split())
    options: tuple[str, ...] = ()
    kind = "text"
    match = _CHOICES.match(text)
    if match:
        text = match.group("text").strip()
        parts = [" ".join(p.split()) for p in re.split(r"[;,]", match.group("options"))]
        options = tuple(p for p in parts if p)
        if len(options) < 2:
            raise InvalidInput(
                f"Question {position} needs at least two choices in brackets, like "
                "`How experienced are you? [New; Some experience; Very experienced]`."
            )
        if len(options) > MAX_OPTIONS or any(len(o) > MAX_OPTION for o in options):
            raise InvalidInput(
                f"Question {position} can have at most {MAX_OPTIONS} choices of up to "
                f"{MAX_OPTION} characters each."
            )
        if len({o.lower() for o in options}) != len(options):
            raise InvalidInput(f"Question {position} has the same choice twice.")
        kind = "choice"
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


def build_questions(texts: Sequence[str | None], optional: str | None) -> list[Question]:
    given = [t for t in texts if t is not None and t.strip()]
    if not given:
        raise InvalidInput("Please give at least one question.")
    if len(given) > MAX_QUESTIONS:
        raise InvalidInput(f"A survey can have at most {MAX_QUESTIONS} questions.")
    optional_positions = parse_optional_positions(optional, len(given))
    return [
        parse_question(t, i, required=i not in optional_positions)
        for i, t in enumerate(given, start=1)
    ]


def validate_answers(questions: Sequence[Question], answers: Mapping[str, str]) -> dict[str, str]:
    """Match answers to questions (by key or by the question's text); check required ones and
    choices. Returns ``{key: answer}`` with empty optional answers left out."""
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
        text = clean_text(
            value or "", name=f"answer to “{question.label}”", max_length=MAX_ANSWER, required=False
        )
        if text and question.kind == "choice":
            canonical = {o.lower(): o for o in question.options}
            if text.lower() not in canonical:
                raise InvalidInput(
                    f"For “{question.label}” please choose one of: {', '.join(question.options)}."
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
    counts: tuple[ChoiceCount, ...] = ()  # choice questions
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


def summarise_survey(
    questions: Sequence[Question], answers_by_member: Sequence[Mapping[str, str]]
) -> SurveySummary:
    """Counts per choice and the written answers, never who wrote them."""
    parts = []
    for q in questions:
        given = [a[q.key] for a in answers_by_member if a.get(q.key)]
        unanswered = len(answers_by_member) - len(given)
        if q.kind == "choice":
            counts = tuple(ChoiceCount(o, sum(1 for g in given if g == o)) for o in q.options)
            others = [g for g in given if g not in q.options]  # options changed since
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
        if part.question.kind == "choice":
            counts = {c.option: c.count for c in part.counts}
            for answer, n in rows:
                counts[answer] = counts.get(answer, 0) + n
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
        if part.question.kind == "choice":
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
