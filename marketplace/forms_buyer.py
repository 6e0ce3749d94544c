"""Forms of the buyer's pages: checkout (rail and prepaid credit), AGR transaction hash, refund,
dispute, subscription cancellation. They check shape only; the services check the rules."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings

from marketplace.models import Plan, PlanKind
from marketplace.services.pricing import AGR_BALANCE, BALANCE
from tokenomics.models import Asset, Rail
from tokenomics.money import USD_DECIMALS, AmountError, format_amount, parse_amount
from tokenomics.selectors.parameters import parameter_get

RAIL_CHOICES = [(Rail.CARD, "Card (US dollars)"), (Rail.AGR, "AGR token (from your linked wallet)")]
BALANCE_LABELS = {
    BALANCE: ("Prepaid balance", Asset.USD),
    AGR_BALANCE: ("Prepaid AGR balance", Asset.AGR),
}
TX_HASH_LENGTH = 66  # "0x" + 32 bytes of hex
REASON_MAX = 200  # Dispute.reason
EVIDENCE_MAX = 10_000


def _megabytes(size: int) -> str:
    return f"{size / 1024**2:g} MB"


class CheckoutForm(forms.Form):
    """The rail, and for a pay-per-inference plan the prepaid credit typed in US dollars.

    `cleaned_data["credit_cents"]` is the credit in whole cents (None for other plans), parsed from
    the text exactly (string and integer arithmetic, never float): "25" and "25.00" are 2500."""

    rail = forms.ChoiceField(
        label="Pay with",
        choices=RAIL_CHOICES,
        widget=forms.RadioSelect,
        error_messages={"required": "Choose how to pay.", "invalid_choice": "Choose one of the ways listed."},
    )
    credit = forms.CharField(
        label="Prepaid credit (US dollars)",
        max_length=32,
        required=False,
        help_text="e.g. 25 or 25.00 (paid in AGR: the same value at the reference rate).",
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off", "placeholder": "25.00"}),
    )

    def __init__(self, *args: Any, plan: Plan, balances: dict[str, int] | None = None, **kwargs: Any) -> None:
        """`balances`: the buyer's prepaid wallet balance per asset; each one above zero is offered
        (except for per-inference credit, which prepaid balance cannot buy)."""
        super().__init__(*args, **kwargs)
        self.plan = plan
        rail = self.fields["rail"]
        assert isinstance(rail, forms.ChoiceField)
        choices: list[tuple[str, str]] = list(RAIL_CHOICES if plan.listing.accepts_agr else RAIL_CHOICES[:1])
        if plan.kind != PlanKind.PER_INFERENCE:
            for choice, (label, asset) in BALANCE_LABELS.items():
                available = (balances or {}).get(asset, 0)
                if available > 0 and (asset == Asset.USD or plan.listing.accepts_agr):
                    choices.append(
                        (choice, f"{label} ({format_amount(amount=available, asset=asset)} available)")
                    )
        rail.choices = choices
        if plan.kind != PlanKind.PER_INFERENCE:
            del self.fields["credit"]
        else:
            self.credit_minimum = format_amount(
                amount=parameter_get("orders.credit_minimum_cents"), asset=Asset.USD
            )
            self.fields["credit"].help_text = (
                f"At least {self.credit_minimum}, " + self.fields["credit"].help_text
            )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        data["credit_cents"] = None
        if self.plan.kind != PlanKind.PER_INFERENCE:
            return data
        text = data.get("credit") or ""
        if not text.strip():
            self.add_error("credit", f"Enter how much prepaid credit to buy, from {self.credit_minimum}.")
            return data
        try:
            data["credit_cents"] = parse_amount(text, decimals=USD_DECIMALS, unit="US dollars")
        except AmountError as exc:
            self.add_error("credit", str(exc))
        return data


class TxHashForm(forms.Form):
    tx_hash = forms.CharField(
        label="Transaction hash",
        max_length=TX_HASH_LENGTH + 8,
        error_messages={"required": "Paste the hash of your AGR transfer (0x…)."},
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false", "placeholder": "0x…"}),
    )

    def clean_tx_hash(self) -> str:
        return str(self.cleaned_data["tx_hash"]).strip()


class RefundForm(forms.Form):
    reason = forms.CharField(label="Reason (optional)", max_length=REASON_MAX, required=False)


class DisputeForm(forms.Form):
    reason = forms.CharField(
        label="What went wrong",
        max_length=REASON_MAX,
        error_messages={"required": "Say in a line what went wrong."},
    )
    evidence = forms.CharField(
        label="Evidence",
        max_length=EVIDENCE_MAX,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text="What you expected, what happened, and anything that shows it (inputs, outputs, dates).",
        error_messages={"required": "Describe your evidence."},
    )
    evidence_file = forms.FileField(
        label="Evidence file (optional)",
        required=False,
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields[
            "evidence_file"
        ].help_text = (
            f"A screenshot, log or document, up to {_megabytes(settings.DISPUTE_EVIDENCE_MAX_BYTES)}."
        )

    def clean_evidence_file(self) -> Any:
        upload = self.cleaned_data.get("evidence_file")
        limit = settings.DISPUTE_EVIDENCE_MAX_BYTES
        if upload is not None and upload.size > limit:
            raise forms.ValidationError(f"The file is larger than {_megabytes(limit)}.")
        return upload


class SubscriptionCancelForm(forms.Form):
    NOW = "now"
    PERIOD_END = "period_end"

    when = forms.ChoiceField(
        label="Cancel",
        choices=[(NOW, "Now, with the unused days refunded"), (PERIOD_END, "At the end of the period")],
        widget=forms.RadioSelect,
        error_messages={"required": "Choose when to cancel.", "invalid_choice": "Choose now or period end."},
    )
