"""Sessions with limited places, bookings, a private survey, evaluations."""
