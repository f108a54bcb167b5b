"""Member-facing words about feedback rounds."""

from __future__ import annotations

from bot.domain.wording.templates import template

MESSAGE_HEADING = "Written in the thread"


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
