"""Evaluations after a session."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from bot.domain.errors import InvalidInput
from bot.domain.sessions.rules import MAX_COMMENT
from bot.domain.sessions.survey import grouped_lines
from bot.textclean import clean_text


def parse_rating(value: int | str) -> int:
    raw = str(value).strip()
    match = re.match(r"^([1-5])\b", raw)
    if not match:
        raise InvalidInput("Please choose a rating from 1 (not useful) to 5 (very useful).")
    return int(match.group(1))


def clean_comment(text: str | None, what: str) -> str:
    return clean_text(text or "", name=what, max_length=MAX_COMMENT, required=False)


@dataclass(frozen=True, slots=True)
class EvaluationSummary:
    responses: int
    attendees: int
    average: float | None
    ratings: tuple[int, ...]  # count per rating 1..5
    useful: tuple[str, ...]
    better: tuple[str, ...]

    def text(self, limit: int = 20) -> str:
        if not self.responses:
            return f"No feedback yet (from {self.attendees} people with a place)."
        lines = [
            f"{self.responses} of {self.attendees} people with a place gave feedback. "
            f"Average rating: {self.average:.1f} out of 5.",
            "Ratings: "
            + ", ".join(f"{r}: {n}" for r, n in zip(range(1, 6), self.ratings, strict=True)),
        ]
        for heading, items in (
            ("What was most useful", self.useful),
            ("What could be better", self.better),
        ):
            lines.append(f"\n**{heading}**")
            lines.extend(grouped_lines(items, limit, "in the CSV"))
            if not items:
                lines.append("- Nothing written yet.")
        return "\n".join(lines)


def summarise_evaluations(
    rows: Sequence[tuple[int, str, str]], attendees: int
) -> EvaluationSummary:
    ratings = [r for r, _, _ in rows]
    return EvaluationSummary(
        responses=len(rows),
        attendees=attendees,
        average=sum(ratings) / len(ratings) if ratings else None,
        ratings=tuple(ratings.count(i) for i in range(1, 6)),
        useful=tuple(sorted((u for _, u, _ in rows if u), key=str.lower)),
        better=tuple(sorted((b for _, _, b in rows if b), key=str.lower)),
    )
