"""Pure rules: money in minor units, rounding of minutes, what an entry is worth."""

from __future__ import annotations

import re
from collections.abc import Iterable

from bot.domain.errors import InvalidInput
from bot.domain.involvement.models import (
    Activity,
    Entry,
    EntryState,
    MemberTotals,
    Method,
    Rates,
)

MAX_AMOUNT = 100_000_00  # 100,000.00 in minor units: more is surely a typo
_MONEY = re.compile(r"^\s*(?P<units>\d{1,9})(?:[.,](?P<cents>\d{1,2}))?\s*$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")


def parse_money(text: str | None, what: str = "The amount") -> int | None:
    """``"30"``, ``"30.5"``, ``"30.00"`` -> minor units (3000, 3050, 3000). Empty: None.
    No floats: the digits are read as they are."""
    if text is None or not text.strip():
        return None
    cleaned = text.strip().lstrip("£$€").strip()
    match = _MONEY.match(cleaned)
    if match is None:
        raise InvalidInput(
            f"{what} `{text.strip()[:20]}` is not an amount I can read. Please write it like "
            "`30` or `30.00`."
        )
    cents = (match["cents"] or "0").ljust(2, "0")
    value = int(match["units"]) * 100 + int(cents)
    if value > MAX_AMOUNT:
        raise InvalidInput(f"{what} is more than {money(MAX_AMOUNT)}; please check it.")
    return value


def money(minor: int | None, currency: str = "") -> str:
    """3050 -> ``30.50`` (with the currency code after it when given); None -> ``-``."""
    if minor is None:
        return "-"
    text = f"{minor // 100}.{minor % 100:02d}"
    return f"{text} {currency}" if currency else text


def parse_currency(text: str) -> str:
    code = text.strip().upper()
    if not _CURRENCY.match(code):
        raise InvalidInput("Please give the currency as a three-letter code, like `GBP` or `EUR`.")
    return code


def rounded_minutes(minutes: int, step: int) -> int:
    """Minutes rounded up to a multiple of ``step`` (1: as they are)."""
    if step <= 1 or minutes <= 0:
        return max(minutes, 0)
    return -(-minutes // step) * step


def hourly_amount(rate: int, minutes: int) -> int:
    """``rate`` per hour for ``minutes``, to the nearest minor unit (half up), integers only."""
    return (rate * minutes + 30) // 60


def rate_for(rates: Rates, activity: Activity) -> int | None:
    if activity is Activity.MEETING:
        return rates.meeting_rate
    if activity is Activity.SESSION:
        return rates.session_rate
    if activity is Activity.REVIEW:
        return rates.review_rate
    return None


def terms(
    rates: Rates, activity: Activity, minutes: int, method: Method | None
) -> tuple[int, int | None, EntryState]:
    """(minutes as counted, amount or None, state) of an activity's entry."""
    counted = rounded_minutes(minutes, rates.rounding_minutes) if minutes else 0
    if not rates.payments:
        return counted, None, EntryState.RECORDED
    if method is Method.DECLINE:
        return counted, None, EntryState.DECLINED
    rate = rate_for(rates, activity)
    amount: int | None = None
    if rate is not None and counted:
        amount = hourly_amount(rate, counted)
    if activity is Activity.REVIEW and rates.review_fixed is not None:
        amount = (amount or 0) + rates.review_fixed
    if amount is None:
        return counted, None, EntryState.RECORDED
    return counted, amount, EntryState.OWED


def member_totals(entries: Iterable[Entry]) -> list[MemberTotals]:
    """Per member: minutes (activities, not expenses) and amounts by state."""
    acc: dict[int | None, list[int]] = {}
    for e in entries:
        row = acc.setdefault(e.user_id, [0, 0, 0, 0, 0])
        if e.activity is not Activity.EXPENSE:
            row[0] += e.minutes
        amount = e.amount or 0
        if e.state is EntryState.OWED:
            row[1] += amount
        elif e.state is EntryState.APPROVED:
            row[2] += amount
        elif e.state is EntryState.PAID:
            row[3] += amount
        elif e.state is EntryState.DECLINED:
            row[4] += 1
    return [
        MemberTotals(user, *values)
        for user, values in sorted(acc.items(), key=lambda kv: (kv[0] is None, kv[0] or 0))
    ]


def hours(minutes: int) -> str:
    """125 -> ``2.08`` hours (two decimals, computed in integers)."""
    hundredths = (minutes * 100 + 30) // 60
    return f"{hundredths // 100}.{hundredths % 100:02d}"
