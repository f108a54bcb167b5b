"""Member-facing words about draws (organisers can change them with /wording set)."""

from __future__ import annotations

from bot.domain.wording.templates import template

RESULT_INTRO = template(
    "draw.result.intro",
    "The draw for call #{number}, {title}, is done. Thank you to all {volunteers} of you who "
    "volunteered!",
    "First line of the draw result post",
)


RESULT_REVIEWERS = template(
    "draw.result.reviewers",
    "Everyone who wasn't drawn is warmly invited to review the plan instead: I'll send you a "
    "message. If a place opens up, the next person on that category's reserve list is offered it.",
    "Closing line of the draw result post, about reviewers and reserves",
)


SELECTED_DM = template(
    "draw.selected.dm",
    "Good news: you were drawn for call #{number}, {title}, as {category}! Can you take part? "
    "Please press **Confirm my place** or **I can't take part** below. "
    "[See the draw result]({link})",
    "Direct message to a member drawn for the group",
)


PROMOTED_DM = template(
    "draw.promoted.dm",
    "A place has opened up in call #{number}, {title}, and you were next on the reserve list for "
    "{category}. Would you like it? Please press **Confirm my place** or **I can't take part** "
    "below. [See the draw result]({link})",
    "Direct message to a reserve who is offered a place",
)


REVIEW_INVITE_DM = template(
    "draw.review.invite",
    "Thank you for volunteering for call #{number}, {title}. You weren't drawn this time, but "
    "your view matters to us: would you like to review the session plan instead? You're also "
    "number {position} on the reserve list for {category}, so a place may still come your way.",
    "Direct message inviting a volunteer who wasn't drawn to review the plan",
)


DM_HELP = (
    "(To get messages from me privately next time: open this server's menu → Privacy Settings → "
    "allow direct messages.)"
)


SELECTED_FALLBACK = template(
    "draw.selected.fallback",
    "You were drawn for call #{number}, {title}, but I couldn't send you a direct message. "
    "Please use the buttons below to confirm your place or to say you can't take part. "
    + DM_HELP
    + "\nThis is for: {mentions}",
    "Posted in the call's channel for drawn members whose direct messages are closed",
)


REVIEW_FALLBACK = template(
    "draw.review.fallback",
    "Thank you for volunteering for call #{number}, {title}. I couldn't send you a direct "
    "message: would you like to review the plan instead? Please use the buttons below. "
    + DM_HELP
    + "\nThis is for: {mentions}",
    "Posted in the call's channel for invited reviewers whose direct messages are closed",
)


CONFIRMED = template(
    "draw.confirmed",
    "Thank you! Your place in call #{number}, {title}, is confirmed. We look forward to working "
    "with you.",
    "Reply when a member confirms their place",
)


DECLINED = template(
    "draw.declined",
    "Thank you for letting us know. Your place in call #{number} will be offered to the next "
    "person on the reserve list. We hope to see you another time.",
    "Reply when a member says they can't take part",
)


ALREADY_CONFIRMED = template(
    "draw.confirmed.again",
    "You've already confirmed your place in call #{number}, {title}. Thank you!",
    "Reply when a member presses Confirm my place again",
)


DECLINE_CHECK = template(
    "draw.decline.check",
    "Are you sure you can't take part in call #{number}, {title}? If so, your place will be "
    "offered to the next person on the reserve list, and it can't be given back afterwards. "
    "It's fine either way: please choose below.",
    "Question asked once more before a member gives up their place",
)


PLACE_KEPT = template(
    "draw.decline.kept",
    "Your place in call #{number}, {title}, is kept. Thank you!",
    "Reply when a member decides to keep their place after all",
)


REVIEW_YES = template(
    "draw.review.yes",
    "Thank you! You're now a reviewer for call #{number}, {title}. We'll let you know when the "
    "plan is ready for your feedback.",
    "Reply when a volunteer agrees to review",
)


REVIEW_NO = template(
    "draw.review.no",
    "No problem, thank you for letting us know. You're still number {position} on the reserve "
    "list for {category}.",
    "Reply when a volunteer on the reserve list says no to reviewing",
)


REVIEW_NO_PLAIN = template(
    "draw.review.no.plain",
    "No problem, thank you for letting us know. You're very welcome in future calls.",
    "Reply when a volunteer who is no longer on the reserve list says no to reviewing",
)


# The public announcements never name the member who left: stepping back may be for reasons
# (health, caring, ...) that are nobody else's business.
REPLACED = template(
    "draw.replaced",
    "A place in the group for call for volunteers #{number} ({category}) has opened up. "
    "{promoted} was next on the reserve list and is offered it.",
    "Announcement in the call's channel when a place opens up and a reserve is offered it "
    "(never names who left)",
)


PLACE_OPEN = template(
    "draw.place_open",
    "A place in the group for call for volunteers #{number} ({category}) has opened up. Nobody "
    "is left on that category's reserve list, so the place is open.",
    "Announcement in the call's channel when a place opens up and no reserve is left "
    "(never names who left)",
)


WITHDRAWN_REPLACED = template(
    "draw.withdrawn",
    "A place in the group for call for volunteers #{number} ({category}) has opened up. "
    "{promoted} was next on the reserve list and is offered it.",
    "Announcement when a member of the group deleted their data and a reserve is offered the place",
)


WITHDRAWN_OPEN = template(
    "draw.withdrawn.place_open",
    "A place in the group for call for volunteers #{number} ({category}) has opened up. Nobody "
    "is left on that category's reserve list, so the place is open.",
    "Announcement when a member of the group deleted their data and no reserve is left",
)


YOUR_REF = template(
    "draw.your_ref",
    "Your entry code: {code} — it lets you find yourself in the published list.",
    "Added to the draw messages sent to each volunteer: the start of their own entry reference",
)


RESULT_CHECK = template(
    "draw.result.check",
    "This draw was fair and anyone can check it. You don't need to do anything.",
    "Plain words before the verification data at the end of the draw result post",
)


# What a member's direct message is edited to once they have answered (so the answer stays
# visible, and only the other choice is left as a button).
ANSWER_CONFIRMED = template(
    "draw.answer.confirmed",
    "You confirmed your place in call #{number}, {title}, on {date}. Thank you! If something "
    "changes, you can still press **I can't take part after all** below. "
    "[See the draw result]({link})",
    "The drawn member's message after they confirmed their place",
)


ANSWER_DECLINED = template(
    "draw.answer.declined",
    "You let us know on {date} that you can't take part in call #{number}, {title}. Thank you. "
    "Your place has been offered to the next person on the reserve list.",
    "The drawn member's message after they gave up their place",
)


ANSWER_REVIEW_YES = template(
    "draw.answer.review_yes",
    "You said yes to reviewing the plan for call #{number}, {title}, on {date}. Thank you! We'll "
    "let you know when the plan is ready for your feedback. If you change your mind, press "
    "**No, thanks** below.",
    "The invitation message after the volunteer said yes to reviewing",
)


ANSWER_REVIEW_NO = template(
    "draw.answer.review_no",
    "You said no thanks to reviewing the plan for call #{number}, {title}, on {date}. Thank you "
    "for letting us know. If you change your mind, press **Yes, I'd like to review** below.",
    "The invitation message after the volunteer said no thanks to reviewing",
)


STILL_RESERVE = template(
    "draw.reserve.still",
    "You're still number {position} on the reserve list for {category}.",
    "Added to a volunteer's answered invitation while they are on the reserve list",
)


FREEZE_POST = template(
    "draw.freeze.post",
    "The list of volunteers for call #{number}, {title}, is now frozen: {volunteers} "
    "volunteers, and the places are fixed ({places}). The draw will use public randomness that "
    "doesn't exist yet: {beacon}, which comes out {due}. Because this list was published before "
    "anyone could know that value, nobody, not even whoever runs the bot, can steer who is "
    "drawn. You don't need to do anything. How to check it: {docs}",
    "Posted as a reply to the call post when its roster is frozen (before the draw)",
)


BEACON_WAITING = template(
    "draw.beacon.waiting",
    "The draw for call #{number}, {title}, is waiting for its public randomness ({beacon}): I "
    "can't reach it right now. I'll keep trying and make the draw as soon as I can check the "
    "value. Nothing is drawn until then.",
    "Posted in the call's channel (once) when the beacon can't be reached at draw time",
)


RESULT_CHANGES = template(
    "draw.result.changes",
    "Changes since the draw (by entry code, in order):",
    "Heading of the list of replacements, declines and withdrawals at the end of the result post",
)
