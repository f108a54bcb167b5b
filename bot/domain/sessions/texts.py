"""Member-facing words about sessions."""

from __future__ import annotations

from bot.domain.wording.templates import Template, template

BOOKED = template(
    "session.booked",
    "You have a place at **{title}**, {when}. Thank you for booking! If you can't come after "
    "all, press **Cancel my booking** on the session post so someone else can have your place.",
    "Reply when a booking is confirmed",
)


BOOKED_DM = template(
    "session.booked_dm",
    "Your place at **{title}** is booked: {when}. The calendar file adds it to your calendar "
    "(it updates if the time changes). If you can't come after all, press **Cancel my "
    "booking** on the session post. [Open the session post]({link})",
    "DM confirming a booking, with a calendar file",
)


FORM_NEXT_PAGE = template(
    "session.form_next_page",
    "Thank you! The form has one more page ({page} of {pages}): press **Continue** to finish "
    "booking.",
    "Reply after the first page of a booking form that has a second page",
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
POST_WHEN_HEADING = template(
    "session.post_when_heading", "When", "Heading of the time on the session post"
)


POST_WHEN = template(
    "session.post_when", "{starts} to {ends} ({relative})", "The time on the session post"
)


POST_PLACES_HEADING = template(
    "session.post_places_heading", "Places", "Heading of the places line on the session post"
)


POST_PLACES = template(
    "session.post_places",
    "{confirmed} of {capacity} places booked",
    "The live places line on the session post",
)


POST_ONE_PLACE = template(
    "session.post_one_place",
    "{confirmed} of 1 place booked",
    "The live places line on the post of a session with one place",
)


POST_WAITING = template(
    "session.post_waiting",
    "{waiting} on the waiting list",
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
    "session.post_closed",
    "Booking for this session has closed.",
    "On the session post once booking has closed",
)


POST_FINISHED_HEADING = template(
    "session.post_finished_heading", "Finished", "Heading on the post once the session has ended"
)


POST_FINISHED = template(
    "session.post_finished",
    "This session has finished. Thank you to everyone who came.",
    "On the session post once the session has ended",
)


POST_CANCELLED_HEADING = template(
    "session.post_cancelled_heading", "Cancelled", "Heading on the post of a cancelled session"
)


POST_CANCELLED = template(
    "session.post_cancelled",
    "This session has been cancelled. We're sorry.",
    "On the post of a cancelled session",
)


BUTTON_BOOK = template(
    "session.button_book", "Book a place", "The Book button while places are free"
)


BUTTON_JOIN_WAITING = template(
    "session.button_join_waiting",
    "Join the waiting list",
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
    "session.form_title_full",
    "Waiting list: {title}",
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
    "session.form_optional",
    "Optional. Only the organisers will see this.",
    "Placeholder of an optional question in the booking form",
)


FORM_REQUIRED = template(
    "session.form_required",
    "Only the organisers will see this.",
    "Placeholder of a required written question in the booking form",
)
