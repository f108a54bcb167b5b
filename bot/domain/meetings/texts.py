"""Member-facing words about meetings."""

from __future__ import annotations

from bot.domain.wording.templates import template

POST = template(
    "meeting.post",
    "**{title}**\n{starts} to {ends} ({duration})\nWhere: {where}\n"
    "I'll post a reminder here before it starts. Press **DM me reminders** to also get them by "
    "DM.\nFor: {mentions}",
    "The meeting post, mentioning everyone it is for",
)


REMINDER_POST = template(
    "meeting.reminder_post",
    "A reminder: **{title}** starts {starts}.\nWhere: {where}\nFor: {mentions}",
    "The reminder posted in the meeting's channel",
)


REMINDER_DM = template(
    "meeting.reminder_dm",
    "Hello! A reminder: **{title}** starts {starts}.\nWhere: {where}\n"
    "[See the meeting post]({link})",
    "The reminder DM, only to members who pressed DM me reminders",
)


CANCELLED = template(
    "meeting.cancelled",
    "**{title}** on {starts} is cancelled. Sorry for the change; we'll let you know about a new "
    "date.\nFor: {mentions}",
    "Posted when a meeting is cancelled",
)


DMS_ON = template(
    "meeting.dms_on",
    "Done: you'll get meeting reminders by DM in this server. Press the button again to stop them.",
    "Shown privately when a member turns meeting DMs on",
)


DMS_OFF = template(
    "meeting.dms_off",
    "Done: no more meeting reminders by DM. You'll still see them in the channel.",
    "Shown privately when a member turns meeting DMs off",
)


NOT_AUDIENCE = template(
    "meeting.not_audience",
    "This meeting is for its group. If you think you should be in it, please ask an organiser.",
    "Shown privately to someone outside the meeting who presses its button",
)


POLL_POST = template(
    "meeting.poll_post",
    "When can you come to **{title}**? Vote for every time that works for you in the poll "
    "below (the times are in the server's time zone). It closes {closes}.\nFor: {mentions}",
    "The message with a meeting time poll, mentioning everyone it asks",
)
