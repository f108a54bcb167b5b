"""The impact report as Markdown (a file for funders and the community: counts, no names)."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.domain.involvement.rules import hours, money
from bot.domain.report.models import ImpactReport


def _day(at: float | None, default: str) -> str:
    if at is None:
        return default
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d")


def summary_line(report: ImpactReport) -> str:
    """The headline numbers in one sentence (also in the message, not only in the picture)."""
    parts = [
        f"{report.volunteers} volunteers",
        f"{report.drawn} drawn",
        f"{report.reviewers_invited} invited to review",
        f"{report.replied} of {report.asked} replied to feedback",
        f"{report.places} session places, {report.booked} booked",
    ]
    if any(s.attended is not None for s in report.sessions):
        parts.append(f"{report.attended} attended")
    return "; ".join(parts) + "."


def markdown(report: ImpactReport, title: str = "Impact report") -> str:
    out = [
        f"# {title}",
        "",
        f"Period: {_day(report.since, 'the beginning')} to {_day(report.until, 'now')}. "
        "Counts only: nobody is named.",
        "",
        f"**In short:** {summary_line(report)}",
        "",
        "## Calls and volunteers",
    ]
    if not report.calls:
        out.append("No calls in this period.")
    for call in report.calls:
        split = " + ".join(str(c.volunteers) for c in call.categories)
        out += [
            "",
            f"### Call #{call.number}: {call.title}",
            f"- Volunteers: {call.volunteers} ({split})",
        ]
        for c in call.categories:
            out.append(
                f"- {c.label}: {c.volunteers} volunteered, {c.drawn} drawn, {c.reserves} reserves, "
                f"{c.replaced} replaced, {c.promoted} promoted from the reserves"
            )
        drawn = " + ".join(str(c.drawn) for c in call.categories)
        out.append(f"- Drawn: {call.drawn} ({drawn})")
        out.append(
            f"- Invited to review: {call.reviewers_invited} ({call.reviewers_accepted} accepted, "
            f"{call.reviewers_declined} declined)"
        )
    out += ["", "## Feedback on plans"]
    if not report.rounds:
        out.append("No feedback rounds in this period.")
    for r in report.rounds:
        out += [
            "",
            f"### Round #{r.number}: {r.title}",
            f"- {r.replied} of {r.asked} replied",
            f"- Versions of the plan: {r.versions}",
        ]
        if r.changes:
            out.append("- You said, we did:")
            out += [f"  - {c}" for c in r.changes]
    out += ["", "## Sessions"]
    if not report.sessions:
        out.append("No sessions in this period.")
    for s in report.sessions:
        attended = "not recorded" if s.attended is None else str(s.attended)
        no_shows = "not recorded" if s.no_shows is None else str(s.no_shows)
        out += [
            "",
            f"### Session #{s.number}: {s.title}",
            f"- Places: {s.places}",
            f"- Booked: {s.booked}",
            f"- Waiting list at the end: {s.waiting}",
            f"- Promoted from the waiting list: {s.promoted}",
            f"- Cancelled bookings: {s.cancelled}",
            f"- Attended: {attended}",
            f"- No-shows: {no_shows}",
            f"- Evaluations: {s.evaluations}",
        ]
        if s.evaluations:
            average = s.average_tenths
            assert average is not None
            spread = ", ".join(f"{i + 1}: {n}" for i, n in enumerate(s.ratings))
            out += [
                f"  - How was it (1-5): average {average // 10}.{average % 10} ({spread})",
                f"  - What was most useful: {s.useful_answers} answered",
                f"  - What could be better: {s.better_answers} answered",
            ]
    if report.meetings:
        out += ["", "## Group meetings"]
        for meeting in report.meetings:
            came = "not recorded" if meeting.attended is None else str(meeting.attended)
            out.append(
                f"- Meeting #{meeting.number}: {meeting.title}: {meeting.invited} invited, "
                f"{came} attended"
            )
    out += ["", "## Involvement"]
    if report.money is None or not report.money.entries:
        out.append("No involvement recorded in this period.")
    else:
        m = report.money
        out += [
            f"- Hours: {hours(m.minutes)} by {m.people} people ({m.entries} entries)",
            f"- Owed: {money(m.owed, m.currency)}",
            f"- Approved: {money(m.approved, m.currency)}",
            f"- Paid: {money(m.paid, m.currency)}",
            f"- Expenses claimed: {m.expenses}",
            f"- Entries where the member chose not to be paid: {m.declined_entries}",
        ]
    return "\n".join(out) + "\n"
