"""How a session post looks."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Sequence
from dataclasses import dataclass

import discord

from bot.chart import bar_chart
from bot.domain.sessions.evaluation import EvaluationSummary
from bot.domain.sessions.models import SessionDetails
from bot.domain.sessions.rules import FORM_PAGE, is_full
from bot.domain.sessions.survey import Question, SurveySummary, pages
from bot.domain.sessions.texts import (
    POST_CANCELLED,
    POST_CANCELLED_HEADING,
    POST_CLOSED,
    POST_CLOSED_HEADING,
    POST_FINISHED,
    POST_FINISHED_HEADING,
    POST_HOW,
    POST_HOW_FULL,
    POST_HOW_HEADING,
    POST_ONE_PLACE,
    POST_PLACES,
    POST_PLACES_HEADING,
    POST_PRIORITY,
    POST_WAITING,
    POST_WHEN,
    POST_WHEN_HEADING,
)
from bot.domain.wording.service import WordingService
from bot.domain.wording.templates import Template
from bot.render import clip, ts, when
from cogs._layout import LayoutPart, layout_post
from cogs.sessions.views import session_buttons

Part = tuple[Template, dict[str, object]]


@dataclass(frozen=True, slots=True)
class PostField:
    """One field of the public session post: a heading and its text, made of template parts
    (rendered with each server's wording and joined by ``sep``)."""

    heading: Template
    parts: tuple[Part, ...]
    sep: str = "\n"

    def default_text(self) -> tuple[str, str]:
        """The field with the default wording (no server's changes)."""
        return self.heading.default, self.sep.join(
            t.default.format_map(dict(v)) for t, v in self.parts
        )


def public_post_fields(
    *,
    starts_at: float,
    ends_at: float,
    closes_at: float,
    capacity: int,
    confirmed: int,
    waiting: int,
    cancelled: bool,
    priority_until: float | None,
    now: float,
) -> list[PostField]:
    """The session post's fields: times, places and what to do. Never any survey answers.

    Once the session has started (or was cancelled) the waiting list is over, so the post no
    longer shows it as if it were live; those still waiting are told at the end."""
    places: list[Part] = [
        (
            POST_ONE_PLACE if capacity == 1 else POST_PLACES,
            {"confirmed": confirmed, "capacity": capacity},
        ),
    ]
    if waiting and not cancelled and now < starts_at:
        places.append((POST_WAITING, {"waiting": waiting}))
    fields = [
        PostField(
            POST_WHEN_HEADING,
            (
                (
                    POST_WHEN,
                    {
                        "starts": ts(starts_at, "F"),
                        "ends": ts(ends_at, "t"),
                        "relative": ts(starts_at, "R"),
                    },
                ),
            ),
        ),
        PostField(POST_PLACES_HEADING, tuple(places), ", "),
    ]
    if cancelled:
        fields.append(PostField(POST_CANCELLED_HEADING, ((POST_CANCELLED, {}),)))
    elif now >= ends_at:
        fields.append(PostField(POST_FINISHED_HEADING, ((POST_FINISHED, {}),)))
    elif now >= closes_at:
        fields.append(PostField(POST_CLOSED_HEADING, ((POST_CLOSED, {}),)))
    else:
        how: list[Part] = [
            (
                POST_HOW_FULL if is_full(confirmed, capacity, waiting) else POST_HOW,
                {"closes": when(closes_at)},
            ),
        ]
        if priority_until is not None and now < priority_until:
            how.append((POST_PRIORITY, {"until": ts(priority_until, "F")}))
        fields.append(PostField(POST_HOW_HEADING, tuple(how)))
    return fields


def public_post_lines(**kwargs: object) -> list[tuple[str, str]]:
    """The post's fields as ``(heading, text)`` with the default wording."""
    return [f.default_text() for f in public_post_fields(**kwargs)]  # type: ignore[arg-type]  # callers pass its keywords


STATE_COLOURS = {
    "booking open": discord.Colour.green(),
    "booking closed": discord.Colour.orange(),
    "happening now": discord.Colour.blurple(),
    "finished": discord.Colour.dark_grey(),
    "cancelled": discord.Colour.dark_grey(),
}


async def render_session(
    wording: WordingService, details: SessionDetails, state: str, now: float
) -> discord.ui.LayoutView:
    """The public session post, as a layout post with its Book and Cancel buttons: times, places
    (counts in words) and how to book. Never any survey answers."""
    s = details.session
    parts = []
    for item in public_post_fields(
        starts_at=s.starts_at,
        ends_at=s.ends_at,
        closes_at=s.closes_at,
        capacity=s.capacity,
        confirmed=details.confirmed,
        waiting=details.waiting,
        cancelled=s.is_cancelled,
        priority_until=s.priority_until,
        now=now,
    ):
        name = await wording.render(s.guild_id, item.heading)
        value = item.sep.join([await wording.render(s.guild_id, t, **v) for t, v in item.parts])
        parts.append(LayoutPart(clip(name, 256) or "-", value or "-"))
    return layout_post(
        title=f"Session #{s.number}: {s.title}",
        intro=s.description or "",
        parts=parts,
        buttons=await session_buttons(wording, details, state),
        footer=f"Session #{s.number}, {state}",
        colour=STATE_COLOURS.get(state, discord.Colour.blurple()),
    )


KIND_WORDS = {
    "text": "written answer",
    "choice": "choose one of: {options}",
    "multi": "tick any of: {options}",
    "scale": "1 to 5",
}


def questions_text(number: int, questions: Sequence[Question]) -> str:
    """The survey as the organiser set it: each question with its kind and whether it must be
    answered, and how many form pages it takes."""
    lines = [f"Session #{number} now asks:"]
    for i, q in enumerate(questions, start=1):
        kind = KIND_WORDS.get(q.kind, q.kind).format(options=", ".join(q.options))
        need = "required" if q.required else "optional"
        private = ", only organisers see it" if q.is_access else ""
        lines.append(f"{i}. {q.text} ({kind}; {need}{private})")
    count = len(pages(questions, FORM_PAGE))
    if count > 1:
        lines.append(f"The form has {count} pages: members press Continue after the first.")
    return "\n".join(lines)


async def survey_charts(summary: SurveySummary, number: int) -> list[discord.File]:
    """A bar chart per counted question (choice, tick any, 1 to 5), each with alt text saying
    what it shows. Nothing when nobody has answered."""
    if not summary.responses:
        return []
    files = []
    for index, part in enumerate(summary.charts, start=1):
        bars = [(c.option, c.count) for c in part.counts]
        answered = summary.responses - part.unanswered
        drawn = await asyncio.to_thread(
            bar_chart,
            part.question.text,
            bars,
            subtitle="People could tick more than one." if part.question.kind == "multi" else None,
            total=answered,
        )
        files.append(
            discord.File(
                io.BytesIO(drawn.png),
                filename=f"session-{number}-chart-{index}.png",
                description=drawn.alt_text,
            )
        )
    return files


DIGEST_TEXT = 3600  # of a layout post's 4,000 characters: room for headings and markup
MAX_DIGEST_PARTS = 15  # 2 components each: well within 40


def digest_layout(text: str, attached: str | None = None) -> discord.ui.LayoutView:
    """The organisers' digest as a layout post: its first line is the heading, and each block
    that starts with a bold line (a question, the access needs) becomes a part with that line as
    its heading. ``attached``: the name of the attached full text, shown as a file."""
    blocks = [b.strip() for b in text.split("\n\n") if b.strip()]
    first = blocks[0].split("\n", 1) if blocks else [""]
    title = first[0].replace("**", "")
    intro = first[1] if len(first) > 1 else ""
    parts: list[LayoutPart] = []
    for block in blocks[1:]:
        line, _, rest = block.partition("\n")
        if line.startswith("**") and len(parts) < MAX_DIGEST_PARTS:
            head, _, after = line[2:].partition("**")
            body = "\n".join(x for x in (after.strip(" :"), rest) if x)
            parts.append(LayoutPart(head, body or "-"))
        elif parts:
            last = parts[-1]
            parts[-1] = LayoutPart(last.heading, f"{last.text}\n\n{block}")
        else:
            intro = f"{intro}\n\n{block}".strip()
    view = layout_post(title=title, intro=intro, parts=parts)
    if attached is not None:
        container = next(i for i in view.children if isinstance(i, discord.ui.Container))
        container.add_item(discord.ui.File(f"attachment://{attached}"))
    return view


async def evaluation_chart(summary: EvaluationSummary, number: int, title: str) -> discord.File:
    """The ratings (1 to 5) as a bar chart with alt text."""
    drawn = await asyncio.to_thread(
        bar_chart,
        f"How useful was {title}?",
        [(f"{n}", count) for n, count in zip(range(1, 6), summary.ratings, strict=True)],
        subtitle="1 not useful, 5 very useful",
        total=summary.responses,
    )
    return discord.File(
        io.BytesIO(drawn.png),
        filename=f"session-{number}-ratings.png",
        description=drawn.alt_text,
    )
