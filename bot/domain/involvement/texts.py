"""Member-facing words about the involvement ledger."""

from __future__ import annotations

from bot.domain.wording.templates import template

BENEFITS_NOTE = template(
    "involvement.benefits_note",
    "Payments can affect some benefits. You can choose not to be paid and still have your "
    "expenses covered; ask an organiser if you are unsure.",
    "The note shown with the payment preferences",
)

PREFERENCE_SAVED = template(
    "involvement.preference_saved",
    "Saved: {choice}. Only you and the people who handle payments can see this.\n{note}",
    "The reply when a member chooses paid, voucher or don't pay me",
)

PREFERENCE_NAMES = {
    "paid": "paid (bank transfer or cash, as the community offers)",
    "voucher": "a voucher instead of money",
    "decline": "don't pay me (your time is still recorded)",
}
