"""A round's feedback as Markdown for organisers."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from bot.domain.feedback.models import QUESTIONS, FeedbackMessage, FeedbackResponse
from bot.domain.feedback.texts import MESSAGE_HEADING


def _quote(text: str) -> str:
    return "\n".join(f"> {line}" if line else ">" for line in text.strip().splitlines())


def build_summary(
    *,
    number: int,
    title: str,
    version: int,
    closes_at: str,
    audience: Sequence[int],
    responses: Sequence[FeedbackResponse],
    messages: Sequence[FeedbackMessage],
    names: Mapping[int, str],
) -> str:
    """All feedback of a round as Markdown, grouped by question and then by member."""

    def name(user_id: int) -> str:
        return names.get(user_id) or f"Member {user_id}"

    responded = {r.user_id for r in responses}
    lines = [
        f"# Feedback round #{number}: {title}",
        "",
        f"- Plan version: {version}",
        f"- Deadline: {closes_at}",
        f"- Responded: {len(responded)} of {len(audience)}",
    ]
    waiting = [u for u in audience if u not in responded]
    if waiting:
        lines.append(f"- Not yet: {', '.join(name(u) for u in waiting)}")
    for question in QUESTIONS:
        lines += ["", f"## {question.label}", ""]
        answered = [r for r in responses if getattr(r, question.key)]
        if not answered:
            lines.append("_No answers._")
        for r in answered:
            late = " (late)" if r.form_late else ""
            lines += [f"### {name(r.user_id)}{late}", "", _quote(getattr(r, question.key)), ""]
    lines += ["", f"## {MESSAGE_HEADING}", ""]
    if not messages:
        lines.append("_No messages._")
    by_user: dict[int, list[FeedbackMessage]] = {}
    for m in messages:
        by_user.setdefault(m.user_id, []).append(m)
    for user_id, items in by_user.items():
        lines += [f"### {name(user_id)}", ""]
        for m in items:
            late = " (late)" if m.late else ""
            lines += [_quote(m.content) + late, ""]
    return "\n".join(lines).rstrip() + "\n"
