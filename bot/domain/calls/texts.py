"""Member-facing words about calls (organisers can change them with /wording set)."""

from __future__ import annotations

from bot.domain.wording.templates import template

# Member-facing words (organisers can change them with /wording set). Plain words for people new
# to Discord: what to click and where, each emoji with its meaning in words, and "call for
# volunteers" in full (a "call" alone can read as a phone call).
CALL_INSTRUCTIONS = template(
    "call.instructions",
    "To volunteer, click the emoji of your group in the reactions under this post: {choices}. "
    "To change your mind, click your emoji again to remove it. Not sure how? Ask an organiser "
    "and they'll help you.",
    "On an open call post: how to volunteer and withdraw ({choices} lists each emoji and its group)",
)


CALL_CLOSES = template(
    "call.closes",
    "Closes {when}.",
    "On an open call post with a closing time",
)


CALL_CLOSED_NOTE = template(
    "call.closed_note",
    "This call is closed. Thank you to everyone who volunteered.",
    "On a closed call post",
)


CALL_SIGNUP_DM = template(
    "call.signup_dm",
    "Thank you for volunteering! You're signed up for call for volunteers #{number} ({title}) "
    "as {category}. If you change your mind, click your emoji under [the call post]({link}) "
    "again to remove it.",
    "DM to a member who volunteered on a call",
)


CALL_MOVED_DM = template(
    "call.moved_dm",
    "You've moved to {category} on call for volunteers #{number} ({title}), so you're no "
    "longer in your other group. To withdraw, click your emoji under [the call post]({link}) "
    "again.",
    "DM to a volunteer who switched to another group on a call",
)


CALL_WITHDRAWN_DM = template(
    "call.withdrawn_dm",
    "You've withdrawn from call for volunteers #{number} ({title}). Thank you for letting us "
    "know. If you change your mind while it is open, click your group's emoji under "
    "[the call post]({link}) again.",
    "DM to a volunteer who withdrew from a call (only after they were told they signed up)",
)


CALL_CLOSED_DM = template(
    "call.closed_dm",
    "Thank you for wanting to take part! Call for volunteers #{number} ({title}) has closed, "
    "so your reaction doesn't sign you up. Keep an eye out for the next one.",
    "DM to a member who reacted after a call closed",
)


NOTICE_TEMPLATES = {
    "joined": CALL_SIGNUP_DM,
    "moved": CALL_MOVED_DM,
    "withdrawn": CALL_WITHDRAWN_DM,
}
