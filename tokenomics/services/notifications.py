"""The money app's transactional email: payouts (requested, sent, failed) and top-up receipts.

Called once by the service that records the event, inside its transaction; the mail is queued
after the commit through `core.mail.email_on_commit`, once per event key (see core/mail.py).
"""

from __future__ import annotations

from typing import Any

from django.urls import reverse

from accounts.models import User
from core.mail import email_on_commit, site_url
from tokenomics.models import Asset, Payment, Payout
from tokenomics.models.ledger import AccountKind
from tokenomics.models.payouts import PayoutStatus
from tokenomics.money import format_amount
from tokenomics.selectors.payments import payment_bonus_granted

# Which mail a payout's status calls for; other statuses (canceled by its owner) send none.
PAYOUT_STATES = {
    PayoutStatus.PROCESSING: "requested",
    PayoutStatus.NEEDS_REVIEW: "review",
    PayoutStatus.PAID: "sent",
    PayoutStatus.FAILED: "failed",
}


def _name(user: User) -> str:
    return user.display_name or user.email.split("@")[0]


def payout_notify(*, payout: Payout) -> None:
    """Tell the payee where their payout stands now: requested (on its way, or held for review),
    sent, or failed (and returned to the payable balance). One mail per payout and state."""
    state = PAYOUT_STATES.get(PayoutStatus(payout.status))
    if state is None:
        return
    asset = payout.asset
    context: dict[str, Any] = {
        "name": _name(payout.user),
        "state": state,
        "amount": format_amount(amount=int(payout.amount), asset=asset),
        "fee": format_amount(amount=int(payout.fee), asset=asset) if payout.fee else "",
        "net": format_amount(amount=int(payout.net), asset=asset),
        "rail": "an AGR transfer on chain" if asset == Asset.AGR else "a bank transfer through Stripe",
        "to_address": payout.to_address,
        "scheduled": not payout.instant,
        "balance_name": "provider" if payout.account_kind == AccountKind.PROVIDER_PAYABLE else "creator",
        "failure_reason": payout.failure_reason,
        "reference": payout.reference,
        "wallet_url": site_url(reverse("tokenomics:wallet")),
    }
    email_on_commit(
        key=f"payout:{payout.pk}:{state}", to=payout.user.email, template="payout", context=context
    )


def top_up_receipt_notify(*, payment: Payment) -> None:
    """A prepaid top-up was paid in full: the receipt, with the bonus the ledger credited."""
    asset = payment.asset
    bonus = payment_bonus_granted(payment=payment)
    received = int(payment.received_amount)
    context = {
        "name": _name(payment.user),
        "amount": format_amount(amount=received, asset=asset),
        "bonus": format_amount(amount=bonus, asset=asset) if bonus else "",
        "credited": format_amount(amount=received + bonus, asset=asset),
        "rail": "card" if payment.rail == "card" else "AGR on chain",
        "reference": payment.reference,
        "paid_on": f"{payment.paid_at:%d %B %Y}" if payment.paid_at else "",
        "wallet_url": site_url(reverse("tokenomics:wallet")),
    }
    email_on_commit(
        key=f"payment:{payment.pk}:top-up-receipt",
        to=payment.user.email,
        template="top_up_receipt",
        context=context,
    )
