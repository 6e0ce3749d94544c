"""Forms of the money pages: the prepaid top-up (rail and amount, typed as people write money), the
payout, and the stake page's review step."""

from __future__ import annotations

from typing import Any

from django import forms

from tokenomics.models import Asset, Rail
from tokenomics.money import AGR_DECIMALS, USD_DECIMALS, AmountError, format_amount, parse_amount
from tokenomics.selectors.parameters import parameter_get
from tokenomics.services.stripe_rail import CARD_MAXIMUM_CENTS, CARD_MINIMUM_CENTS

# The registry's total AGR supply (in AGR base units) bounds the digits a form can send to the ledger.
AGR_TOTAL_SUPPLY_KEY = "token.total_supply"
_CARD_MINIMUM_TEXT = format_amount(amount=CARD_MINIMUM_CENTS, asset=Asset.USD)  # "$0.50"
_CARD_MAXIMUM_TEXT = format_amount(amount=CARD_MAXIMUM_CENTS, asset=Asset.USD)  # "$999,999.99"


def _typed_amount(
    form: forms.Form, data: dict[str, Any], *, choice_field: str, usd_choice: str
) -> int | None:
    """The amount typed in `form`, in minor units of the currency chosen in `choice_field`: US
    dollars for `usd_choice`, else AGR (at most the total supply). None when either field is
    missing, or when the amount is unusable (its error is then added to the amount field)."""
    choice = data.get(choice_field)
    text = data.get("amount")
    if choice is None or text is None:
        return None
    try:
        if choice == usd_choice:
            return parse_amount(text, decimals=USD_DECIMALS, unit="US dollars")
        minor = parse_amount(text, decimals=AGR_DECIMALS, unit="AGR")
        if minor > parameter_get(AGR_TOTAL_SUPPLY_KEY):
            raise AmountError("That is more AGR than exists.")
    except AmountError as exc:
        form.add_error("amount", str(exc))
        return None
    return minor


class TopUpForm(forms.Form):
    rail = forms.ChoiceField(
        label="Pay with",
        choices=[(Rail.CARD, "Card (US dollars)"), (Rail.AGR, "AGR token (from your linked wallet)")],
        widget=forms.RadioSelect,
        error_messages={"required": "Choose how to pay.", "invalid_choice": "Choose card or AGR."},
    )
    amount = forms.CharField(
        label="Amount",
        max_length=48,
        help_text=(
            f"In US dollars for a card (at least {_CARD_MINIMUM_TEXT}, e.g. 25.00), "
            "or in AGR (e.g. 100 or 1.5)."
        ),
        error_messages={"required": "Enter an amount."},
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off", "placeholder": "25.00"}),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        minor = _typed_amount(self, data, choice_field="rail", usd_choice=Rail.CARD)
        if minor is None:
            return data
        if data["rail"] == Rail.CARD:
            if minor < CARD_MINIMUM_CENTS:
                self.add_error("amount", f"The smallest card top-up is {_CARD_MINIMUM_TEXT}.")
                return data
            if minor > CARD_MAXIMUM_CENTS:
                self.add_error("amount", f"The largest card top-up is {_CARD_MAXIMUM_TEXT}.")
                return data
        data["minor_units"] = minor
        return data


class PayoutForm(forms.Form):
    """An on-demand (instant) payout from a payable balance, typed as people write money. The
    confirmation step carries `reference` (made at the quote), so a double submit pays once."""

    account = forms.ChoiceField(
        label="From",
        choices=[("creator", "Creator earnings"), ("provider", "Provider earnings")],
        initial="creator",
        error_messages={"required": "Choose which earnings to withdraw.", "invalid_choice": "Choose one."},
    )
    asset = forms.ChoiceField(
        label="Currency",
        choices=[("USD", "US dollars (through Stripe)"), ("AGR", "AGR (on chain)")],
        initial="USD",
        error_messages={"required": "Choose a currency.", "invalid_choice": "Choose USD or AGR."},
    )
    amount = forms.CharField(
        label="Amount",
        max_length=48,
        error_messages={"required": "Enter an amount."},
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off", "placeholder": "100"}),
    )
    to_address = forms.RegexField(
        label="Send AGR to",
        regex=r"^0x[0-9a-fA-F]{40}$",
        required=False,
        help_text=(
            "AGR only: one of your linked wallets, once its safety cool-down after linking is over. "
            "Leave empty for your oldest linked wallet."
        ),
        error_messages={"invalid": "Enter an Ethereum address (0x followed by 40 hex digits)."},
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false", "placeholder": "0x…"}),
    )
    reference = forms.RegexField(regex=r"^[0-9a-f]{32}$", required=False, widget=forms.HiddenInput)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        minor = _typed_amount(self, data, choice_field="asset", usd_choice="USD")
        if minor is None:
            return data
        if data["asset"] == "USD" and data.get("to_address"):
            self.add_error("to_address", "An address is only for AGR payouts; USD is paid through Stripe.")
        data["minor_units"] = minor
        return data


class StakeForm(forms.Form):
    """The /stake/ page's review step: stake or unstake an amount of AGR. Nothing moves here, so
    what the holder has is checked against the numbers the page shows: the wallet for a stake,
    the bonded stake for an unstake (the services check again when the AGR moves)."""

    ACTIONS = {"stake": "Stake", "unstake": "Unstake"}

    action = forms.ChoiceField(choices=list(ACTIONS.items()), required=False)
    amount = forms.CharField(label="Amount (AGR)", max_length=48)

    def __init__(self, *args: Any, wallet: int, bonded: int, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "stake-%s")
        super().__init__(*args, **kwargs)
        self.wallet = wallet  # AGR base units
        self.bonded = bonded  # AGR base units

    def chosen_action(self) -> str:
        """The action asked for; anything else is a stake (as the radio's default)."""
        action = self.data.get("action") if self.is_bound else None
        return action if action in self.ACTIONS else "stake"

    def clean_action(self) -> str:
        return self.chosen_action()

    def clean_amount(self) -> int:
        try:
            return parse_amount(self.cleaned_data["amount"], decimals=AGR_DECIMALS, unit="AGR")
        except AmountError as exc:
            raise forms.ValidationError(str(exc)) from exc

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        amount = data.get("amount")
        if amount is None:
            return data
        if data["action"] == "stake" and amount > self.wallet:
            self.add_error("amount", f"Your wallet holds {format_amount(amount=self.wallet, asset='AGR')}.")
        elif data["action"] == "unstake" and amount > self.bonded:
            self.add_error("amount", f"You have {format_amount(amount=self.bonded, asset='AGR')} staked.")
        else:
            data["bonded_after"] = self.bonded + (amount if data["action"] == "stake" else -amount)
        return data
