"""Plan feedback rounds: the rules, the questions, the member-facing wording, the summary file.

No discord here: the cog renders these into posts, modals and DMs.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.domain.errors import InvalidInput
from bot.domain.wording import template
from bot.timeparse import format_duration, parse_offsets
from db.repositories.feedback import FeedbackMessage, FeedbackResponse

__all__ = [
    "DEFAULT_CLOSE_AFTER",
    "DEFAULT_REMINDERS",
    "MAX_ANSWER",
    "MAX_PLAN",
    "QUESTIONS",
    "Question",
    "build_summary",
    "clean_answers",
    "local_time_text",
    "parse_changes",
    "plan_reminders",
    "takes_feedback_on_time",
    "validate_plan",
    "validate_title",
]

MAX_TITLE = 100
MAX_PLAN = 3500
MAX_ANSWER = 1000
MAX_CHANGES = 25
DEFAULT_REMINDERS = "24h"
DEFAULT_CLOSE_AFTER = timedelta(days=7)


@dataclass(frozen=True, slots=True)
class Question:
    key: str  # the column it is stored in
    label: str  # at most 45 characters (a Discord modal label)
    placeholder: str


QUESTIONS: tuple[Question, ...] = (
    Question("works_well", "What works well?", "What you like, what feels right"),
    Question("would_change", "What would you change?", "Words, order, timing, anything"),
    Question("missing", "Is anything missing?", "What would help you or others"),
)
MESSAGE_HEADING = "Written in the thread"

# -- wording (organisers can change these with /wording) ----------------------------------------

INTRO = template(
    "feedback.intro",
    "Here is the plan for **{title}**. We'd love to know what you think before {deadline}. "
    "Press **Give feedback** below, or simply write in this thread.",
    "Top of a feedback round's first message while it is open",
)
INTRO_CLOSED = template(
    "feedback.intro_closed",
    "Thank you: this round has closed. You can still add a late comment with **Give feedback** "
    "or by writing in this thread; it is kept, marked as late.",
    "Top of a feedback round's first message once it is closed or past its deadline",
)
COUNTER = template(
    "feedback.counter",
    "Feedback: {responded} of {total}",
    "The live counter on a feedback round's first message",
)
INVITE = template(
    "feedback.invite",
    "You're invited to give feedback on **{title}** by {deadline}. Every view helps: press "
    "**Give feedback** on the first message, or write here.\nFor: {mentions}",
    "Posted once in a new feedback thread, mentioning everyone it is for",
)
REMINDER_DM = template(
    "feedback.reminder_dm",
    "Hello! A gentle reminder: we'd love your feedback on **{title}** by {deadline}. "
    "A few words are enough: [open the feedback thread]({link}).",
    "A DM to members who have not given feedback yet",
)
REMINDER_THREAD = template(
    "feedback.reminder_thread",
    "A gentle reminder: we'd love your feedback on **{title}** by {deadline}. Press "
    "**Give feedback** on the first message, or write here.\nFor: {mentions}",
    "A reminder in the thread for members whose DMs are closed",
)
THANKS = template(
    "feedback.thanks",
    "Thank you! Your feedback on **{title}** is saved. You can press the button again to change it.",
    "Shown privately after someone gives feedback with the button",
)
THANKS_LATE = template(
    "feedback.thanks_late",
    "Thank you! The deadline for **{title}** has passed, but your feedback is saved and the "
    "organisers will see it, marked as late.",
    "Shown privately after feedback that came after the deadline",
)
NOT_AUDIENCE = template(
    "feedback.not_audience",
    "This feedback round is for the co-production group and its reviewers. If you'd like to "
    "take part, please ask an organiser.",
    "Shown privately to someone outside the round who presses Give feedback",
)
REVISED = template(
    "feedback.revised",
    "Thank you for your feedback on **{title}**. Here is version {version} of the plan, "
    "with what changed.\nFor: {mentions}",
    "Posted in the thread with a new version, mentioning everyone who gave feedback",
)
CLOSED = template(
    "feedback.closed",
    "This feedback round is now closed. Thank you to everyone who shared their views.",
    "Posted in the thread when a round is closed",
)

_BULLET = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s*")


def takes_feedback_on_time(round_is_open: bool, closes_at: float, now: datetime) -> bool:
    """Whether a round still asks for feedback before its deadline (not closed, not past it)."""
    return round_is_open and now.timestamp() < closes_at


def local_time_text(moment: float, tz: str) -> str:
    """A time for organisers' files, in the server's time zone with the zone named, e.g.
    ``2026-11-29 10:00 GMT (Europe/London)``."""
    local = datetime.fromtimestamp(moment, ZoneInfo(tz))
    zone = local.tzname() or tz
    return f"{local:%Y-%m-%d %H:%M} {zone}" + ("" if zone == tz else f" ({tz})")


def validate_title(title: str) -> str:
    title = " ".join(title.split())
    if not title:
        raise InvalidInput("Please give the round a title, for example `LinkedIn session plan`.")
    if len(title) > MAX_TITLE:
        raise InvalidInput(f"The title is too long ({len(title)} characters; at most {MAX_TITLE}).")
    return title


def validate_plan(plan: str | None) -> str:
    text = (plan or "").replace("\\n", "\n").strip()
    if not text:
        raise InvalidInput("Please give the plan: its text, or a link to the document.")
    if len(text) > MAX_PLAN:
        raise InvalidInput(
            f"The plan is too long to post ({len(text)} characters; at most {MAX_PLAN}). "
            "Please share a link to the document instead."
        )
    return text


def parse_changes(text: str | None) -> list[str]:
    """``changes`` for a new version: one item per line (``\\n`` or ``;`` also separate)."""
    if text is None or not text.strip():
        return []
    raw = text.replace("\\n", "\n")
    parts = raw.split("\n") if "\n" in raw else raw.split(";")
    items = [_BULLET.sub("", p).strip() for p in parts]
    items = [i for i in items if i]
    if len(items) > MAX_CHANGES:
        raise InvalidInput(f"Please list at most {MAX_CHANGES} changes; you gave {len(items)}.")
    for item in items:
        if len(item) > 300:
            raise InvalidInput(f"The change `{item[:30]}…` is too long (at most 300 characters).")
    return items


def clean_answers(
    works_well: str | None, would_change: str | None, missing: str | None
) -> tuple[str | None, str | None, str | None]:
    """Trim the form's answers; at least one must say something."""
    cleaned = tuple((a or "").strip()[:MAX_ANSWER] or None for a in (works_well, would_change, missing))
    if not any(cleaned):
        raise InvalidInput(
            "Please answer at least one of the questions. A few words are enough; "
            "you can also write in the thread instead."
        )
    return cleaned[0], cleaned[1], cleaned[2]


def plan_reminders(
    text: str | None, *, closes_at: datetime, now: datetime, default: str = DEFAULT_REMINDERS,
    before: str = "the deadline",
) -> list[timedelta]:
    """Reminder offsets before ``closes_at``, largest first.

    Typed offsets must all fall in the future (refused otherwise); default offsets that would
    already have passed are simply left out.
    """
    typed_text = (text or "").strip()
    typed = typed_text != ""
    offsets = parse_offsets(typed_text or default)
    left = closes_at - now
    if not typed:
        return [o for o in offsets if o < left]
    too_long = [o for o in offsets if o >= left]
    if too_long:
        raise InvalidInput(
            f"A reminder {format_duration(too_long[0])} before {before} would be in the past: "
            f"there are only {format_duration(left)} left. Please give shorter reminder times, "
            "like `2h`."
        )
    return offsets


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
