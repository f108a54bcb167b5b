"""Attendance: who came to a meeting or session, and for how long."""
