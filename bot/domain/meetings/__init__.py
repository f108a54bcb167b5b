"""Group meetings with reminders."""
