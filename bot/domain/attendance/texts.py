"""Member-facing words about attendance."""

from __future__ import annotations

from bot.domain.wording.templates import template

BUTTON_HERE = template(
    "attendance.button_here", "I'm here", "The button on a meeting or session post"
)

HERE_THANKS = template(
    "attendance.here_thanks",
    "Thanks, you're marked as here for **{title}**.",
    "The reply when a member presses I'm here",
)

HERE_NOT_NOW = template(
    "attendance.here_not_now",
    "I'm here works while **{title}** is on, from {starts} to {ends}.",
    "The reply when I'm here is pressed outside the event's time",
)

HERE_NOT_EXPECTED = template(
    "attendance.here_not_expected",
    "This is for the people **{title}** is for. If you came, please tell an organiser.",
    "The reply when someone who was not expected presses I'm here",
)

HERE_VOICE = template(
    "attendance.here_voice",
    "**{title}** happens in a voice channel: your time there is counted for you.",
    "The reply when I'm here is pressed for an event in a voice channel",
)
