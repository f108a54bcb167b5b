"""Co-production bot: calls for volunteers, fair draws, feedback, bookings and reminders."""
