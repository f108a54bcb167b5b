"""Sessions with limited places: pure rules (capacity, times, survey questions, answers,
summaries, public texts). No discord and no database here.

Privacy: survey answers are personal (barriers can touch on health or disability). Nothing in
this module that builds a *public* text (the session post, channel notices) takes answers.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from bot.domain.errors import InvalidInput
from bot.domain.wording import Template, template
from bot.timeparse import TIME_EXAMPLES, format_duration, parse_duration, parse_offsets

__all__ = [
    "DEFAULT_DURATION",
    "DEFAULT_PRIORITY",
    "DEFAULT_REMINDERS",
    "EXPERIENCE_LEVELS",
    "MAX_CAPACITY",
    "MAX_QUESTIONS",
    "MAX_TOPIC",
    "MESSAGE_LIMIT",
    "BookButtonState",
    "ChoiceCount",
    "EvaluationSummary",
    "PostField",
    "Question",
    "SurveySummary",
    "book_button",
    "capacity_line",
    "clean_topic",
    "default_questions",
    "discord_ts",
    "fit_message",
    "group_answers",
    "is_full",
    "parse_capacity",
    "parse_optional_positions",
    "parse_question",
    "parse_rating",
    "parse_reminders",
    "parse_session_duration",
    "plain_text",
    "plan_session_reminders",
    "public_post_fields",
    "public_post_lines",
    "questions_from_json",
    "summarise_evaluations",
    "summarise_survey",
    "survey_summary_text",
    "unbook_enabled",
    "validate_answers",
    "validate_session_times",
]

MAX_CAPACITY = 1000
MAX_QUESTIONS = 5
MAX_QUESTION = 100  # Discord: a modal label's description is at most 100 characters
MAX_LABEL = 45  # Discord: a modal label is at most 45 characters
MAX_OPTIONS = 10
MAX_OPTION = 80
MAX_ANSWER = 1000
MAX_COMMENT = 1000
MAX_DURATION = timedelta(days=7)
MAX_REMINDERS = 5
MAX_REMINDER_OFFSET = timedelta(days=30)
DEFAULT_DURATION = timedelta(hours=1)
DEFAULT_REMINDERS = (timedelta(hours=24), timedelta(hours=1))
DEFAULT_PRIORITY = timedelta(hours=48)
DIGEST_LEAD = timedelta(hours=1)  # the organiser digest comes this long before the first reminder

EXPERIENCE_LEVELS = ("New to it", "A little experience", "Quite experienced", "Very experienced")

# -- member-facing wording (organisers can change each one with /wording) ---------------------

BOOKED = template(
    "session.booked",
    "You have a place at **{title}**, {when}. Thank you for booking! If you can't come after "
    "all, press **Cancel my booking** on the session post so someone else can have your place.",
    "Reply when a booking is confirmed",
)
WAITING = template(
    "session.waiting",
    "All places at **{title}** are taken just now, so you are number {position} on the waiting "
    "list. If a place opens up it goes to the next person in order, and I'll tell you at once.",
    "Reply when a member joins the waiting list",
)
ALREADY_CONFIRMED = template(
    "session.already_confirmed",
    "You already have a place at **{title}**, {when}. If you can't come, press "
    "**Cancel my booking**.",
    "Reply when a member with a place presses Book again",
)
ALREADY_WAITING = template(
    "session.already_waiting",
    "You are number {position} on the waiting list for **{title}**. I'll tell you as soon as a "
    "place opens up for you.",
    "Reply when a member on the waiting list presses Book again",
)
ALREADY_CONFIRMED_STARTED = template(
    "session.already_confirmed_started",
    "You have a place at **{title}**, {when}. Bookings can't change once it has started; if "
    "something has come up, please tell an organiser.",
    "Reply when a member with a place presses Book after the start",
)
WAITING_NO_PLACE = template(
    "session.waiting_no_place",
    "I'm sorry: no place came free at **{title}** for you this time, and it has now started. "
    "Thank you for your patience. If we run it again, you'll hear about it first.",
    "Reply when a member still on the waiting list presses Book after the start",
)
BOOKING_CANCELLED = template(
    "session.booking_cancelled",
    "Your booking for **{title}** is cancelled, and your survey answers are deleted. Thank you "
    "for letting us know; you are welcome to book again while booking is open.",
    "Reply when a member cancels their booking while booking is open",
)
BOOKING_CANCELLED_CLOSED = template(
    "session.booking_cancelled_closed",
    "Your booking for **{title}** is cancelled, and your survey answers are deleted. Thank you "
    "for letting us know.",
    "Reply when a member cancels their booking after booking has closed",
)
NOT_BOOKED = template(
    "session.not_booked",
    "You don't have a booking for **{title}**, so there is nothing to cancel. Press "
    "**Book a place** if you'd like to come.",
    "Reply when a member without a booking presses Cancel",
)
NOT_BOOKED_CLOSED = template(
    "session.not_booked_closed",
    "You don't have a booking for **{title}**, so there is nothing to cancel.",
    "Reply when a member without a booking presses Cancel after booking has closed",
)
PROMOTED = template(
    "session.promoted",
    "Good news: a place has opened up at **{title}**, {when}, and it is yours. If you can't "
    "come after all, please press **Cancel my booking** on the session post so someone else "
    "can have it. [Open the session post]({link})",
    "DM to a member who moves from the waiting list to a place",
)
PROMOTED_CHANNEL = template(
    "session.promoted_channel",
    "Good news: a place has opened up at **{title}**, {when}, and it is yours, {mentions}. "
    "If you can't come after all, press **Cancel my booking** on the session post.",
    "Channel note for promoted members whose DMs are closed",
)
REMINDER = template(
    "session.reminder",
    "A friendly reminder: **{title}** starts {when}. We look forward to seeing you! If you "
    "can't come, please press **Cancel my booking** on the session post. "
    "[Open the session post]({link})",
    "Reminder DM to members with a place",
)
REMINDER_CHANNEL = template(
    "session.reminder_channel",
    "A friendly reminder that **{title}** starts {when}. We look forward to seeing you, "
    "{mentions}.",
    "Channel reminder for members with a place whose DMs are closed",
)
MOVED = template(
    "session.moved",
    "**{title}** has a new time: it now starts {when}. Your booking stays as it is. If the new "
    "time doesn't suit you, press **Cancel my booking** on the session post. "
    "[Open the session post]({link})",
    "DM to booked and waiting members when the start changes",
)
MOVED_CHANNEL = template(
    "session.moved_channel",
    "**{title}** has a new time: it now starts {when}. Bookings stay as they are. This note "
    "is for {mentions}.",
    "Channel note about a new start time for members whose DMs are closed",
)
SESSION_CANCELLED = template(
    "session.cancelled",
    "We're sorry: **{title}** ({when}) has been cancelled, so your booking no longer stands. "
    "Thank you for your interest; we hope to see you at another session.",
    "DM to booked and waiting members when a session is cancelled",
)
SESSION_CANCELLED_CHANNEL = template(
    "session.cancelled_channel",
    "We're sorry: **{title}** ({when}) has been cancelled. This note is for {mentions}.",
    "Channel note about a cancelled session for members whose DMs are closed",
)
EVALUATION = template(
    "session.evaluation",
    "Thank you for coming to **{title}**! We'd love to hear how it went, so the next one can be "
    "even better. Press **Give feedback** below; it takes about a minute.",
    "Evaluation invitation after the session",
)
EVALUATION_CHANNEL = template(
    "session.evaluation_channel",
    "Thank you for coming to **{title}**, {mentions}! Press **Give feedback** below to tell us "
    "how it went; only the organisers see what you write.",
    "Channel evaluation invitation for attendees whose DMs are closed",
)
PRIORITY = template(
    "session.priority",
    "You were on the waiting list for **{earlier}**, so you hear first: there is a new "
    "session, **{title}**, {when}. You can book before anyone else until {until}. "
    "Press **Book a place** on the post. [Open the session post]({link})",
    "DM to people left on an earlier waiting list when a repeat is created",
)
PRIORITY_CHANNEL = template(
    "session.priority_channel",
    "There is a new session, **{title}**, {when}. Because you were on the waiting list last "
    "time, you can book before anyone else until {until}. This note is for {mentions}.",
    "Channel note to people from an earlier waiting list whose DMs are closed",
)
WAITING_ENDED = template(
    "session.waiting_ended",
    "**{title}** has now finished. I'm sorry no place came free for you this time. Thank you "
    "for your patience; if we run it again, you'll hear about it first.",
    "DM to people still on the waiting list when the session ends",
)
WAITING_ENDED_CHANNEL = template(
    "session.waiting_ended_channel",
    "**{title}** has now finished. We're sorry no place came free this time; if we run it "
    "again, you'll hear about it first. This note is for {mentions}.",
    "Channel note for people left on the waiting list whose DMs are closed",
)
EVALUATION_THANKS = template(
    "session.evaluation_thanks",
    "Thank you for your feedback on **{title}**. It helps us make the next session better.",
    "Reply after a member gives feedback",
)

# Refusals members may see (booking buttons, the feedback form).
BOOK_CANCELLED = template(
    "session.book_cancelled",
    "**{title}** has been cancelled, so it can't be booked. We're sorry; we hope to see you at "
    "another session.",
    "Reply when a member presses Book on a cancelled session",
)
BOOK_CLOSED = template(
    "session.book_closed",
    "Booking for **{title}** has closed. Thank you for your interest; keep an eye out for the "
    "next one.",
    "Reply when a member presses Book after booking has closed",
)
BOOK_PRIORITY = template(
    "session.book_priority",
    "People who missed out on the last session can book **{title}** first. Booking opens to "
    "everyone at {opens} ({opens_relative}); please come back then.",
    "Reply when a member presses Book during a repeat's priority window",
)
UNBOOK_CANCELLED = template(
    "session.unbook_cancelled",
    "**{title}** has been cancelled, so there is no booking to cancel.",
    "Reply when a member presses Cancel my booking on a cancelled session",
)
UNBOOK_STARTED = template(
    "session.unbook_started",
    "**{title}** has already started, so bookings can't be cancelled now. If you can't be "
    "there, please tell an organiser.",
    "Reply when a member presses Cancel my booking after the start",
)
SESSION_GONE = template(
    "session.gone",
    "This session no longer exists. `/session list` shows the sessions there are.",
    "Reply when a member presses a button of a deleted session",
)
EVALUATION_NOT_ATTENDEE = template(
    "session.evaluation_not_attendee",
    "This feedback form is for the people who had a place at **{title}**. Thank you for "
    "wanting to help; you can tell an organiser your thoughts any time.",
    "Reply when someone without a place presses Give feedback",
)
EVALUATION_TOO_EARLY = template(
    "session.evaluation_too_early",
    "**{title}** hasn't happened yet. You'll be invited to give feedback when it ends.",
    "Reply when someone presses Give feedback before the session",
)
EVALUATION_CANCELLED = template(
    "session.evaluation_cancelled",
    "**{title}** was cancelled, so there is nothing to give feedback on.",
    "Reply when someone gives feedback on a cancelled session",
)

# The public session post: headings, lines and button labels.
POST_WHEN_HEADING = template("session.post_when_heading", "When", "Heading of the time on the session post")
POST_WHEN = template(
    "session.post_when", "{starts} to {ends} ({relative})", "The time on the session post"
)
POST_PLACES_HEADING = template(
    "session.post_places_heading", "Places", "Heading of the places line on the session post"
)
POST_PLACES = template(
    "session.post_places", "{confirmed} of {capacity} places booked",
    "The live places line on the session post",
)
POST_ONE_PLACE = template(
    "session.post_one_place", "{confirmed} of 1 place booked",
    "The live places line on the post of a session with one place",
)
POST_WAITING = template(
    "session.post_waiting", "{waiting} on the waiting list",
    "Added to the places line when people are waiting",
)
POST_HOW_HEADING = template(
    "session.post_how_heading", "How to book", "Heading of the booking instructions on the post"
)
POST_HOW = template(
    "session.post_how",
    "Press **Book a place** to book (a short survey helps the facilitators prepare; only "
    "organisers see your answers). Booking closes {closes}.",
    "Booking instructions on the session post while places are free",
)
POST_HOW_FULL = template(
    "session.post_how_full",
    "All places are taken. Press **Join the waiting list** to wait for a place, first come, "
    "first served: if someone cancels, their place goes to the next person in order. A short "
    "survey helps the facilitators prepare; only organisers see your answers. Booking closes "
    "{closes}.",
    "Booking instructions on the session post when every place is taken",
)
POST_PRIORITY = template(
    "session.post_priority",
    "People who missed out last time can book first, until {until}; then booking opens to "
    "everyone.",
    "Added to the booking instructions of a repeat during its priority window",
)
POST_CLOSED_HEADING = template(
    "session.post_closed_heading", "Booking closed", "Heading on the post once booking has closed"
)
POST_CLOSED = template(
    "session.post_closed", "Booking for this session has closed.",
    "On the session post once booking has closed",
)
POST_FINISHED_HEADING = template(
    "session.post_finished_heading", "Finished", "Heading on the post once the session has ended"
)
POST_FINISHED = template(
    "session.post_finished", "This session has finished. Thank you to everyone who came.",
    "On the session post once the session has ended",
)
POST_CANCELLED_HEADING = template(
    "session.post_cancelled_heading", "Cancelled", "Heading on the post of a cancelled session"
)
POST_CANCELLED = template(
    "session.post_cancelled", "This session has been cancelled. We're sorry.",
    "On the post of a cancelled session",
)
BUTTON_BOOK = template(
    "session.button_book", "Book a place", "The Book button while places are free"
)
BUTTON_JOIN_WAITING = template(
    "session.button_join_waiting", "Join the waiting list",
    "The Book button while booking is open but every place is taken",
)
BUTTON_BOOKING_CLOSED = template(
    "session.button_booking_closed", "Booking closed", "The Book button once booking has closed"
)
BUTTON_FINISHED = template(
    "session.button_finished", "Session finished", "The Book button once the session has ended"
)
BUTTON_CANCELLED = template(
    "session.button_cancelled", "Session cancelled", "The Book button of a cancelled session"
)
BUTTON_UNBOOK = template(
    "session.button_unbook", "Cancel my booking", "The Cancel my booking button on the post"
)
BUTTON_FEEDBACK = template(
    "session.button_feedback", "Give feedback", "The button in evaluation invitations"
)
BOOK_BUTTON_LABELS: dict[str, Template] = {
    "booking open": BUTTON_BOOK,
    "booking closed": BUTTON_BOOKING_CLOSED,
    "happening now": BUTTON_BOOKING_CLOSED,
    "finished": BUTTON_FINISHED,
    "cancelled": BUTTON_CANCELLED,
}

# The booking form (only the member filling it in sees these).
FORM_TITLE = template("session.form_title", "Book: {title}", "Title of the booking form")
FORM_TITLE_FULL = template(
    "session.form_title_full", "Waiting list: {title}",
    "Title of the booking form when every place is taken",
)
FORM_NOTE = template(
    "session.form_note",
    "Your answers help the facilitators prepare. Only the organisers will see them.",
    "Note at the top of the booking form",
)
FORM_NOTE_FULL = template(
    "session.form_note_full",
    "All places are taken just now, so sending this form puts you on the waiting list; I'll "
    "tell you your number. Only the organisers will see your answers.",
    "Note at the top of the booking form when every place is taken",
)
FORM_OPTIONAL = template(
    "session.form_optional", "Optional. Only the organisers will see this.",
    "Placeholder of an optional question in the booking form",
)
FORM_REQUIRED = template(
    "session.form_required", "Only the organisers will see this.",
    "Placeholder of a required written question in the booking form",
)


@dataclass(frozen=True, slots=True)
class BookButtonState:
    label: Template
    enabled: bool


def is_full(confirmed: int, capacity: int, waiting: int) -> bool:
    """A new booking would wait: every place is taken, or people are already waiting."""
    return confirmed >= capacity or waiting > 0


def book_button(state: str, *, confirmed: int, capacity: int, waiting: int) -> BookButtonState:
    """The Book button's label and whether it can be pressed: "Join the waiting list" when
    every place is taken, and greyed out once booking has closed, finished or been cancelled."""
    if state == "booking open":
        full = is_full(confirmed, capacity, waiting)
        return BookButtonState(BUTTON_JOIN_WAITING if full else BUTTON_BOOK, True)
    return BookButtonState(BOOK_BUTTON_LABELS.get(state, BUTTON_BOOKING_CLOSED), False)


def unbook_enabled(state: str) -> bool:
    """Bookings can be cancelled until the start (after booking has closed, too)."""
    return state in ("booking open", "booking closed")

# -- times and numbers --------------------------------------------------------------------------


def discord_ts(seconds: float, style: str = "F") -> str:
    """A Discord timestamp (shown in each reader's own time zone)."""
    return f"<t:{int(seconds)}:{style}>"


def discord_when(seconds: float) -> str:
    return f"{discord_ts(seconds, 'F')} ({discord_ts(seconds, 'R')})"


def parse_capacity(value: int | str) -> int:
    """``22`` or ``"22"`` -> 22; refuses 0, negatives, words and more than MAX_CAPACITY."""
    raw = str(value).strip()
    if not re.fullmatch(r"[+-]?\d+", raw):
        raise InvalidInput(
            f"`{raw or ' '}` is not a number of places. Please give a whole number, like `22`."
        )
    number = int(raw)
    if number < 1:
        raise InvalidInput(
            f"A session needs at least 1 place, not {number}. Please give a whole number like `22`."
        )
    if number > MAX_CAPACITY:
        raise InvalidInput(
            f"{number} places is more than I can look after; the most is {MAX_CAPACITY}."
        )
    return number


def parse_session_duration(value: str | timedelta | None) -> timedelta:
    """``90m``, ``1h30m`` (default 1h); refuses ``forever`` and more than a week."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return DEFAULT_DURATION
    if isinstance(value, timedelta):
        duration = value
        if duration < timedelta(minutes=5):
            raise InvalidInput("A session must last at least 5 minutes.")
    else:
        duration = parse_duration(value, minimum=timedelta(minutes=5))
    if duration > MAX_DURATION:
        raise InvalidInput(
            f"A session can last at most {format_duration(MAX_DURATION)}; "
            f"`{value}` is longer. Try something like `90m` or `2h`."
        )
    return duration


def parse_reminders(value: str | Sequence[timedelta] | None) -> list[timedelta]:
    """``24h, 1h`` -> offsets before the start (largest first). ``none`` means no reminders."""
    if value is None:
        return list(DEFAULT_REMINDERS)
    if isinstance(value, str):
        if not value.strip():
            return list(DEFAULT_REMINDERS)
        if value.strip().lower() in ("none", "no", "off"):
            return []
        offsets = parse_offsets(value)
    else:
        offsets = sorted(set(value), reverse=True)
    if len(offsets) > MAX_REMINDERS:
        raise InvalidInput(f"Please give at most {MAX_REMINDERS} reminder times, like `24h, 1h`.")
    for offset in offsets:
        if offset > MAX_REMINDER_OFFSET or offset <= timedelta(0):
            raise InvalidInput(
                "Reminders can be from 1 minute to 30 days before the start, like `24h, 1h`."
            )
    return offsets


def plan_session_reminders(
    value: str | Sequence[timedelta] | None, *, starts: datetime, now: datetime
) -> list[timedelta]:
    """Reminder offsets for a session starting at ``starts``. Offsets the organiser typed must
    all fit in the time left (refused otherwise); default ones that don't fit are kept (they
    come back if the start moves later) but are not sent: see :func:`reminder_runs`."""
    offsets = parse_reminders(value)
    typed = value is not None and not (isinstance(value, str) and not value.strip())
    left = starts - now
    too_long = [o for o in offsets if o >= left]
    if typed and too_long:
        raise InvalidInput(
            f"A reminder {format_duration(too_long[0])} before the start would be in the past: "
            f"there are only {format_duration(left)} left. Please give shorter reminder times, "
            "like `1h`, or `none`."
        )
    return offsets


def parse_priority(value: str | timedelta | None) -> timedelta:
    if value is None or (isinstance(value, str) and not value.strip()):
        return DEFAULT_PRIORITY
    if isinstance(value, timedelta):
        return value
    return parse_duration(value, minimum=timedelta(minutes=1))


def validate_session_times(
    *, starts: datetime, closes: datetime | None, now: datetime
) -> datetime:
    """Check the start is in the future and booking closes no later than the start.

    Returns when booking closes (default: the start)."""
    if starts <= now:
        raise InvalidInput(
            f"That start time is in the past. Please give a time in the future, like {TIME_EXAMPLES}."
        )
    if closes is None:
        return starts
    if closes > starts:
        raise InvalidInput(
            "Booking can't close after the session starts. Please give a closing time before "
            f"the start ({discord_ts(starts.timestamp())}), or leave it empty to close at the start."
        )
    if closes <= now:
        raise InvalidInput("That closing time is in the past. Please give a time in the future.")
    return closes


def reminder_runs(starts: float, offsets: Iterable[int], now: float) -> list[tuple[int, float]]:
    """``(offset seconds, run at)`` for every reminder still in the future."""
    return [(o, starts - o) for o in sorted(offsets, reverse=True) if starts - o > now]


def digest_time(starts: float, offsets: Iterable[int], now: float) -> float | None:
    """The organiser digest: an hour before the first future reminder (or the start)."""
    runs = reminder_runs(starts, offsets, now)
    first = runs[0][1] if runs else starts
    at = first - DIGEST_LEAD.total_seconds()
    return at if at > now else None


def capacity_line(confirmed: int, capacity: int, waiting: int) -> str:
    """``12 of 22 places booked, 3 on the waiting list`` (commas, not dots: screen readers
    read a middle dot aloud)."""
    text = f"{confirmed} of {capacity} places booked"
    if capacity == 1:
        text = f"{confirmed} of 1 place booked"
    if waiting:
        text += f", {waiting} on the waiting list"
    return text


# -- survey questions ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Question:
    key: str
    text: str
    label: str  # short (<= 45 characters) for the modal; ``text`` is shown below it if longer
    kind: str  # 'choice' or 'text'
    options: tuple[str, ...] = ()
    required: bool = True

    def to_row(self, position: int) -> tuple[int, str, str, str, str, str, int]:
        return (position, self.key, self.text, self.label, self.kind,
                json.dumps(list(self.options), ensure_ascii=False), int(self.required))


def questions_from_json(rows: Iterable[Mapping[str, object]]) -> list[Question]:
    return [
        Question(
            key=str(r["key"]), text=str(r["text"]), label=str(r["label"]), kind=str(r["kind"]),
            options=tuple(json.loads(str(r["options"]))), required=bool(r["required"]),
        )
        for r in rows
    ]


def _short_label(text: str, fallback: str) -> str:
    return text if len(text) <= MAX_LABEL else fallback


MAX_TOPIC = 60


def clean_topic(topic: str | None) -> str | None:
    """What the session is about, for the survey questions (``LinkedIn``); None if not given."""
    if topic is None:
        return None
    text = " ".join(topic.split()).strip(" ?.!")
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
        Question("aims", aims, _short_label(aims, "What would you like from this session?"),
                 "text", (), False),
        Question(
            "barriers",
            "Is there anything that makes it difficult for you, or that we should know to support you?",
            "Anything we should know to support you?", "text", (), False,
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
    return Question(f"q{position}", text, _short_label(text, f"Question {position}"), kind,
                    options, required)


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
        text = (value or "").strip()
        if len(text) > MAX_ANSWER:
            raise InvalidInput(
                f"The answer to “{question.label}” is too long ({len(text)} characters; "
                f"at most {MAX_ANSWER})."
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


# -- summaries (organisers only) ----------------------------------------------------------------


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
            parts.append(QuestionSummary(q, answers=tuple(sorted(given, key=str.lower)),
                                         unanswered=unanswered))
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
            parts.append(QuestionSummary(
                part.question, counts=tuple(ChoiceCount(o, c) for o, c in counts.items()),
                unanswered=part.unanswered, retained=part.retained,
            ))
        else:
            parts.append(QuestionSummary(
                part.question, answers=part.answers, unanswered=part.unanswered,
                retained=part.retained + sum(n for _, n in rows),
            ))
    return SurveySummary(summary.responses + people, tuple(parts))


def survey_summary_text(
    summary: SurveySummary, *, limit_per_question: int = 30, where: str = "in the CSV"
) -> str:
    """Plain text for the facilitators (no names); identical answers are counted together."""
    people = "person" if summary.responses == 1 else "people"
    lines = [f"Survey answers from {summary.responses} {people} with a place or on the waiting list."]
    for part in summary.questions:
        lines.append(f"\n**{part.question.text}**")
        if part.question.kind == "choice":
            for c in part.counts:
                lines.append(f"- {c.option}: {c.count}")
        else:
            lines.extend(grouped_lines(part.answers, limit_per_question, where))
            if part.retained:
                lines.append(f"- {part.retained} earlier answer(s) were deleted after the "
                             "retention period; only their number is kept.")
            if not part.answers and not part.retained:
                lines.append("- No answers yet.")
        if part.unanswered:
            lines.append(f"- Not answered: {part.unanswered}")
    return "\n".join(lines)


def parse_rating(value: int | str) -> int:
    raw = str(value).strip()
    match = re.match(r"^([1-5])\b", raw)
    if not match:
        raise InvalidInput("Please choose a rating from 1 (not useful) to 5 (very useful).")
    return int(match.group(1))


def clean_comment(text: str | None, what: str) -> str:
    text = (text or "").strip()
    if len(text) > MAX_COMMENT:
        raise InvalidInput(f"{what} is too long ({len(text)} characters; at most {MAX_COMMENT}).")
    return text


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
            "Ratings: " + ", ".join(f"{r}: {n}" for r, n in zip(range(1, 6), self.ratings, strict=True)),
        ]
        for heading, items in (("What was most useful", self.useful),
                               ("What could be better", self.better)):
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
        responses=len(rows), attendees=attendees,
        average=sum(ratings) / len(ratings) if ratings else None,
        ratings=tuple(ratings.count(i) for i in range(1, 6)),
        useful=tuple(sorted((u for _, u, _ in rows if u), key=str.lower)),
        better=tuple(sorted((b for _, _, b in rows if b), key=str.lower)),
    )


MESSAGE_LIMIT = 2000  # Discord: characters in one message


def fit_message(text: str, note: str, limit: int = MESSAGE_LIMIT) -> tuple[str, bool]:
    """``(text, False)`` if it fits in one message; otherwise ``(shortened, True)``: whole lines
    up to the limit, then ``note`` (which should say the full text is attached)."""
    if len(text) <= limit:
        return text, False
    room = limit - len(note) - 2
    cut = text.rfind("\n", 0, room)
    head = text[:cut] if cut > 0 else text[:room]
    return f"{head.rstrip()}\n\n{note}", True


_RELATIVE = re.compile(r"\s*\(<t:-?\d+:R>\)")
_TIMESTAMP = re.compile(r"<t:(-?\d+)(?::[A-Za-z])?>")


def plain_text(text: str) -> str:
    """A message as plain text for an attached file: Discord timestamps become UTC times (a
    relative one is dropped) and bold markers go."""
    text = _RELATIVE.sub("", text)
    text = _TIMESTAMP.sub(
        lambda m: datetime.fromtimestamp(int(m.group(1)), UTC).strftime("%Y-%m-%d %H:%M UTC"),
        text,
    )
    return text.replace("**", "")


# -- public texts (never take answers) ----------------------------------------------------------


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
        (POST_ONE_PLACE if capacity == 1 else POST_PLACES,
         {"confirmed": confirmed, "capacity": capacity}),
    ]
    if waiting and not cancelled and now < starts_at:
        places.append((POST_WAITING, {"waiting": waiting}))
    fields = [
        PostField(POST_WHEN_HEADING, ((POST_WHEN, {
            "starts": discord_ts(starts_at, "F"), "ends": discord_ts(ends_at, "t"),
            "relative": discord_ts(starts_at, "R"),
        }),)),
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
            (POST_HOW_FULL if is_full(confirmed, capacity, waiting) else POST_HOW,
             {"closes": discord_when(closes_at)}),
        ]
        if priority_until is not None and now < priority_until:
            how.append((POST_PRIORITY, {"until": discord_ts(priority_until, "F")}))
        fields.append(PostField(POST_HOW_HEADING, tuple(how)))
    return fields


def public_post_lines(**kwargs: object) -> list[tuple[str, str]]:
    """The post's fields as ``(heading, text)`` with the default wording."""
    return [f.default_text() for f in public_post_fields(**kwargs)]  # type: ignore[arg-type]


def jump_link(guild_id: int, channel_id: int, message_id: int | None) -> str:
    if message_id is None:
        return f"https://discord.com/channels/{guild_id}/{channel_id}"
    return f"https://discord.com/channels/{guild_id}/{channel_id}/{message_id}"


def mentions_text(user_ids: Iterable[int]) -> str:
    return " ".join(f"<@{u}>" for u in user_ids)
