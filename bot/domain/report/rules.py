"""Pure rules: the report's headline numbers for the chart."""

from __future__ import annotations

from bot.domain.report.models import ImpactReport


def headline_bars(report: ImpactReport) -> list[tuple[str, int]]:
    """The numbers the chart shows, in the order of the story (label, value)."""
    bars = [
        ("Volunteers", report.volunteers),
        ("Drawn", report.drawn),
        ("Invited to review", report.reviewers_invited),
        ("Asked for feedback", report.asked),
        ("Replied", report.replied),
        ("Session places", report.places),
        ("Booked", report.booked),
    ]
    if any(s.attended is not None for s in report.sessions):
        bars.append(("Attended", report.attended))
    return bars
