"""Polls: validating a poll create request, the poll object with results, the poll-result embed.

A stored poll (``Message.poll``) is Discord's poll object without ``results``; votes live in
``Message.poll_votes`` (answer id -> voter ids) and ``results`` is computed for every payload.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from .errors import JSON, DiscordError, invalid_form

if TYPE_CHECKING:
    from .state import Message

MAX_ANSWERS = 10
MAX_DURATION_HOURS = 32 * 24
POLL_RESULT_TYPE = 46


def normalize_poll(body: JSON, created: dt.datetime) -> JSON:
    """Validate a poll create request (``question``, ``answers``, ``duration`` hours, ...) and turn
    it into the stored poll object (answers numbered from 1, ``expiry`` = created + duration)."""
    if not isinstance(body, dict):
        raise invalid_form(
            "poll", "MODEL_TYPE_CONVERT", "Only dictionaries may be used in a ModelType"
        )
    question = body.get("question") or {}
    text = str(question.get("text") or "")
    if not text:
        raise invalid_form("poll.question.text", "BASE_TYPE_REQUIRED", "This field is required")
    if len(text) > 300:
        raise invalid_form(
            "poll.question.text", "BASE_TYPE_MAX_LENGTH", "Must be 300 or fewer in length."
        )
    answers = body.get("answers") or []
    if not 1 <= len(answers) <= MAX_ANSWERS:
        raise invalid_form(
            "poll.answers",
            "BASE_TYPE_BAD_LENGTH",
            f"Must be between 1 and {MAX_ANSWERS} in length.",
        )
    stored_answers = []
    for i, answer in enumerate(answers):
        media = dict(answer.get("poll_media") or {})
        if not media.get("text") and not media.get("emoji"):
            raise invalid_form(
                f"poll.answers.{i}.poll_media.text", "BASE_TYPE_REQUIRED", "This field is required"
            )
        if len(str(media.get("text") or "")) > 55:
            raise invalid_form(
                f"poll.answers.{i}.poll_media.text",
                "BASE_TYPE_MAX_LENGTH",
                "Must be 55 or fewer in length.",
            )
        stored_answers.append({"answer_id": i + 1, "poll_media": media})
    duration = float(body.get("duration") or 24)
    if not 1 <= duration <= MAX_DURATION_HOURS:
        raise invalid_form(
            "poll.duration",
            "NUMBER_TYPE_MAX" if duration > 1 else "NUMBER_TYPE_MIN",
            f"duration must be between 1 and {MAX_DURATION_HOURS} hours",
        )
    layout = int(body.get("layout_type") or 1)
    if layout != 1:
        raise invalid_form("poll.layout_type", "ENUM_TYPE_COERCE", f"Value {layout} is not valid.")
    return {
        "question": {"text": text},
        "answers": stored_answers,
        "expiry": (created + dt.timedelta(hours=duration)).isoformat(),
        "allow_multiselect": bool(body.get("allow_multiselect", False)),
        "layout_type": layout,
    }


def poll_expiry(msg: Message) -> dt.datetime:
    """When the poll of ``msg`` ends (or ended)."""
    assert msg.poll is not None
    return dt.datetime.fromisoformat(msg.poll["expiry"])


def answer_ids(msg: Message) -> list[int]:
    """The poll's answer ids."""
    return [int(a["answer_id"]) for a in (msg.poll or {}).get("answers", [])]


def check_answer(msg: Message, answer_id: int | str) -> int:
    """The answer id as int, or Discord's 400 when the poll has no such answer."""
    value = int(answer_id) if str(answer_id).isdigit() else -1
    if value not in answer_ids(msg):
        raise DiscordError(400, 50035, f"Invalid poll answer {answer_id}")
    return value


def poll_payload(msg: Message, me: int) -> JSON:
    """The poll object Discord sends in messages: the stored poll plus ``results``."""
    assert msg.poll is not None
    counts = [
        {"id": aid, "count": len(voters), "me_voted": me in voters}
        for aid, voters in sorted(msg.poll_votes.items())
        if voters
    ]
    return {
        **msg.poll,
        "results": {"is_finalized": msg.poll_finalized, "answer_counts": counts},
    }


def result_embed(msg: Message) -> JSON:
    """The ``poll_result`` embed of Discord's poll-result system message (type 46)."""
    assert msg.poll is not None
    counts = {aid: len(msg.poll_votes.get(aid, [])) for aid in answer_ids(msg)}
    total = sum(counts.values())
    top = max(counts.values(), default=0)
    winners = [aid for aid, n in counts.items() if n == top]
    fields = [
        {"name": "poll_question_text", "value": msg.poll["question"]["text"], "inline": False},
        {"name": "victor_answer_votes", "value": str(top), "inline": False},
        {"name": "total_votes", "value": str(total), "inline": False},
    ]
    if top > 0 and len(winners) == 1:
        answer = next(a for a in msg.poll["answers"] if a["answer_id"] == winners[0])
        media = answer["poll_media"]
        fields.append({"name": "victor_answer_id", "value": str(winners[0]), "inline": False})
        if media.get("text"):
            fields.append({"name": "victor_answer_text", "value": media["text"], "inline": False})
        emoji = media.get("emoji") or {}
        for key in ("id", "name", "animated"):
            if emoji.get(key) is not None:
                value = str(emoji[key]).lower() if key == "animated" else str(emoji[key])
                fields.append(
                    {"name": f"victor_answer_emoji_{key}", "value": value, "inline": False}
                )
    return {"type": "poll_result", "fields": fields}
