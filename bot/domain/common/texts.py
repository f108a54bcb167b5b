"""Member-facing words shared by every feature's buttons and forms (organisers can change them
with /wording set)."""

from __future__ import annotations

from bot.domain.wording.templates import template

BUTTON_GONE = template(
    "buttons.gone",
    "What this button was for no longer exists, so it doesn't do anything now.",
    "Reply when someone presses a button whose call, draw, session or round was deleted",
)
BUTTON_OTHER_SERVER = template(
    "buttons.other_server",
    "This button belongs to another server, so it can't do anything here.",
    "Reply when a button is pressed from a message outside the server it belongs to",
)
BUTTON_IN_SERVER = template(
    "buttons.in_server",
    "This button only works in the server it was posted in.",
    "Reply when a server's button is pressed from a direct message",
)
BUTTON_NOT_YOURS = template(
    "buttons.not_yours",
    "These buttons are for someone else, so I've left them as they are. If you have a question, "
    "please ask an organiser.",
    "Reply when someone presses buttons that were meant for another member",
)


LOCAL_TIME = template(
    "dms.local_time",
    "In your time zone: {local}.",
    "Last line of a DM about a time, for members who set /my-timezone",
)
