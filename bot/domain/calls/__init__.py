"""Calls for volunteers: categories, sign-ups by reaction, closing."""
